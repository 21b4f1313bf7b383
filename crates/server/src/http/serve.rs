//! Binding the configured listeners and serving them until shutdown.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{extract::ConnectInfo, Extension, Router};
use thiserror::Error;
use tokio::net::{TcpListener, UnixListener};

use tokio_rustls::rustls;

use super::tls::{self, TlsListener};
use crate::config::{BindConfig, ListenerConfig};

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
    #[error("serving {what} failed: {source}")]
    Serve {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// A socket that is bound and ready to serve one listener's router.
pub enum BoundListener {
    Tcp {
        listener: TcpListener,
        address: SocketAddr,
        index: usize,
    },
    Tls {
        listener: TlsListener,
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
                listener: TlsListener::new(listener, config.clone()),
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
/// resolves, then lets in-flight requests finish.
pub async fn serve_listeners(
    bound: Vec<BoundListener>,
    routers: Vec<Router>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let mut tasks = tokio::task::JoinSet::new();
    for socket in bound {
        let router = routers[socket.listener_index()].clone();
        let what = socket.display_base();
        let mut shutdown = shutdown.clone();
        let signal = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tasks.spawn(async move {
            let result = match socket {
                BoundListener::Tcp { listener, .. } => {
                    axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(signal)
                    .await
                }
                BoundListener::Tls { listener, .. } => {
                    // axum only knows the peer address of plain TCP
                    // listeners; hand it to the handlers the same way.
                    let per_connection = tower::service_fn(
                        move |incoming: axum::serve::IncomingStream<'_, TlsListener>| {
                            let peer = ConnectInfo(*incoming.remote_addr());
                            let router = router.clone().layer(Extension(peer));
                            async move { Ok::<_, std::convert::Infallible>(router) }
                        },
                    );
                    axum::serve(listener, per_connection)
                        .with_graceful_shutdown(signal)
                        .await
                }
                BoundListener::Unix { listener, .. } => {
                    axum::serve(listener, router.into_make_service())
                        .with_graceful_shutdown(signal)
                        .await
                }
            };
            result.map_err(|source| ServeError::Serve { what, source })
        });
    }
    while let Some(result) = tasks.join_next().await {
        if let Ok(Err(e)) = result {
            return Err(e);
        }
    }
    Ok(())
}
