//! Binding the configured listeners and serving them until shutdown: one
//! accept loop per socket, at most `http.limits.max_connections` connections
//! each (see `conn` for what happens on one connection).

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use axum::Router;
use thiserror::Error;
use tokio::{
    net::{TcpListener, UnixListener},
    sync::{watch, Semaphore},
    task::JoinSet,
};
use tokio_rustls::{rustls, TlsAcceptor};

use super::{
    conn::{serve_connection, Deadlines},
    tls,
};
use mxauth_config::{BindConfig, HttpLimits, ListenerConfig};

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot listen on {what}: {source}")]
    Bind {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
}

/// A socket that is bound and ready to serve one listener's router.
pub enum BoundListener {
    Tcp {
        listener: TcpListener,
        address: SocketAddr,
        index: usize,
    },
    Tls {
        listener: TcpListener,
        acceptor: TlsAcceptor,
        address: SocketAddr,
        index: usize,
    },
    Unix {
        listener: UnixListener,
        path: PathBuf,
        index: usize,
    },
}

impl BoundListener {
    /// Which entry of `http.listeners` this socket belongs to.
    pub fn listener_index(&self) -> usize {
        match self {
            Self::Tcp { index, .. } | Self::Tls { index, .. } | Self::Unix { index, .. } => *index,
        }
    }

    /// `http://127.0.0.1:8080`, `https://…` or `unix:/path`, for the
    /// start-up banner.
    pub fn display_base(&self) -> String {
        let host_port = |address: &SocketAddr| match address.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", address.port()),
            ip => format!("{ip}:{}", address.port()),
        };
        match self {
            Self::Tcp { address, .. } => format!("http://{}", host_port(address)),
            Self::Tls { address, .. } => format!("https://{}", host_port(address)),
            Self::Unix { path, .. } => format!("unix:{}", path.display()),
        }
    }
}

async fn bind_tcp(
    index: usize,
    addresses: Vec<SocketAddr>,
    tls: Option<&Arc<rustls::ServerConfig>>,
    out: &mut Vec<BoundListener>,
) -> Result<(), ServeError> {
    for address in addresses {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind {
                what: address.to_string(),
                source,
            })?;
        let address = listener.local_addr().unwrap_or(address);
        out.push(match tls {
            Some(config) => BoundListener::Tls {
                listener,
                acceptor: TlsAcceptor::from(config.clone()),
                address,
                index,
            },
            None => BoundListener::Tcp {
                listener,
                address,
                index,
            },
        });
    }
    Ok(())
}

async fn bind_one(
    index: usize,
    bind: &BindConfig,
    tls: Option<&Arc<rustls::ServerConfig>>,
    out: &mut Vec<BoundListener>,
) -> Result<(), ServeError> {
    if let Some(address) = &bind.address {
        let parsed: SocketAddr = address.parse().map_err(|_| ServeError::Bind {
            what: address.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not an address of the form 127.0.0.1:8080 or [::]:8080",
            ),
        })?;
        return bind_tcp(index, vec![parsed], tls, out).await;
    }
    if let Some(port) = bind.port {
        let host = bind.host.as_deref().unwrap_or("::");
        let what = format!("{host}:{port}");
        let mut addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| ServeError::Bind {
                what: what.clone(),
                source,
            })?
            .collect();
        addresses.dedup();
        return bind_tcp(index, addresses, tls, out).await;
    }
    if let Some(socket) = &bind.socket {
        if tls.is_some() {
            return Err(ServeError::Unsupported(format!(
                "http.listeners[{index}]: tls is not available on unix socket binds"
            )));
        }
        let path = PathBuf::from(socket);
        // A socket file left by an earlier run would make bind fail.
        if path.exists() {
            let _ = std::fs::remove_file(&path);
        }
        let listener = UnixListener::bind(&path).map_err(|source| ServeError::Bind {
            what: socket.clone(),
            source,
        })?;
        if let Some(mode) = bind.mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(
                |source| ServeError::Bind {
                    what: socket.clone(),
                    source,
                },
            )?;
        }
        out.push(BoundListener::Unix {
            listener,
            path,
            index,
        });
        return Ok(());
    }
    Err(ServeError::Unsupported(format!(
        "http.listeners[{index}]: socket activation (fd binds) is not built in mxauth yet; use address, host/port or socket"
    )))
}

/// Binds every bind of every listener, failing on the first that cannot be
/// bound (nothing is served half-way).
pub async fn bind_listeners(
    listeners: &[ListenerConfig],
) -> Result<Vec<BoundListener>, ServeError> {
    let mut bound = Vec::new();
    for (index, listener) in listeners.iter().enumerate() {
        let tls = match &listener.tls {
            Some(tls) => Some(tls::server_config(index, tls)?),
            None => None,
        };
        for bind in &listener.binds {
            bind_one(index, bind, tls.as_ref(), &mut bound).await?;
        }
    }
    Ok(bound)
}

/// Serves each bound socket with the router of its listener until `shutdown`
/// turns true, then lets in-flight requests finish.
pub async fn serve_listeners(
    bound: Vec<BoundListener>,
    routers: Vec<Router>,
    limits: &HttpLimits,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let mut tasks = JoinSet::new();
    for socket in bound {
        let router = routers[socket.listener_index()].clone();
        tasks.spawn(accept_loop(socket, router, *limits, shutdown.clone()));
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Accepts connections on one socket while it holds a free slot, and hands
/// each to its own task.
async fn accept_loop(
    socket: BoundListener,
    router: Router,
    limits: HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let what = socket.display_base();
    let deadlines = Deadlines::from(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut connections = JoinSet::new();
    let mut at_cap = false;
    loop {
        while connections.try_join_next().is_some() {}
        // At the cap, new connections wait in the kernel's accept queue.
        if slots.available_permits() == 0 && !at_cap {
            tracing::warn!(
                "{what}: {} connections open (http.limits.max_connections); new ones wait",
                limits.max_connections
            );
        }
        at_cap = slots.available_permits() == 0;
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = accept(&socket) => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (io, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off.
                tracing::warn!(error = %e, "{what}: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (router, shutdown) = (router.clone(), shutdown.clone());
        let tls = match &socket {
            BoundListener::Tls { acceptor, .. } => Some(acceptor.clone()),
            _ => None,
        };
        connections.spawn(async move {
            let _slot = slot;
            match io {
                Accepted::Tcp(tcp) => match tls {
                    Some(acceptor) => {
                        let Some(peer) = peer else { return };
                        let handshake = tls::handshake(&acceptor, tcp, peer, deadlines.header_read);
                        if let Some(stream) = handshake.await {
                            serve_connection(stream, router, Some(peer), deadlines, shutdown).await;
                        }
                    }
                    None => serve_connection(tcp, router, peer, deadlines, shutdown).await,
                },
                Accepted::Unix(unix) => {
                    serve_connection(unix, router, None, deadlines, shutdown).await;
                }
            }
        });
    }
    drop(socket);
    while connections.join_next().await.is_some() {}
}

enum Accepted {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(socket: &BoundListener) -> std::io::Result<(Accepted, Option<SocketAddr>)> {
    match socket {
        BoundListener::Tcp { listener, .. } | BoundListener::Tls { listener, .. } => {
            let (tcp, peer) = listener.accept().await?;
            Ok((Accepted::Tcp(tcp), Some(peer)))
        }
        BoundListener::Unix { listener, .. } => {
            let (unix, _) = listener.accept().await?;
            Ok((Accepted::Unix(unix), None))
        }
    }
}
