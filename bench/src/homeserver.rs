//! A stub homeserver for `matrix.endpoint`: on its own thread, it answers
//! every HTTP/1.1 request on 127.0.0.1 with `200 {}` over keep-alive
//! connections (a compat login creates its device on the homeserver before
//! answering), and counts the calls by method and path. MAS 1.22's
//! reference figures were measured against such a stub too.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    thread::JoinHandle,
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

use crate::error::{Context, Result};

const ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

/// Calls by `METHOD /path` (query left out).
pub type Calls = BTreeMap<String, u64>;

/// The running stub; stopped when dropped.
pub struct StubHomeserver {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Calls>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StubHomeserver {
    /// On a free port of 127.0.0.1.
    pub fn start() -> Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// On `addr` (`--stub-homeserver`: a port the targets' configs name).
    pub fn start_on(addr: SocketAddr) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the stub homeserver's runtime")?;
        // Bound here so that the port is known and bind errors are ours;
        // registered with the stub's own runtime on its thread.
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .with_context(|| format!("binding the stub homeserver to {addr}"))?;
        let addr = listener.local_addr()?;
        let calls = Arc::new(Mutex::new(Calls::new()));
        let (stop, stopped) = oneshot::channel();
        let counts = calls.clone();
        let thread = std::thread::Builder::new()
            .name("stub-homeserver".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, counts, stopped).await,
                        Err(e) => eprintln!("error: the stub homeserver cannot listen: {e}"),
                    }
                })
            })
            .context("starting the stub homeserver's thread")?;
        Ok(Self {
            addr,
            calls,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `matrix.endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn calls(&self) -> Calls {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for StubHomeserver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    calls: Arc<Mutex<Calls>>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, calls.clone()));
                }
            }
        }
    }
}

/// Answers the requests of one connection until the peer closes it.
async fn connection(stream: TcpStream, calls: Arc<Mutex<Calls>>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (used, call, close) = loop {
            match parse(&buf) {
                Parsed::Complete { used, call, close } => break (used, call, close),
                Parsed::Incomplete => {}
                Parsed::Bad => return,
            }
            if !read_more(&stream, &mut buf).await {
                return;
            }
        };
        buf.drain(..used);
        if let Ok(mut calls) = calls.lock() {
            *calls.entry(call).or_default() += 1;
        }
        if !write_all(&stream, ANSWER).await || close {
            return;
        }
    }
}

enum Parsed {
    Incomplete,
    Bad,
    /// Bytes of the request, `METHOD /path`, and whether to close after.
    Complete {
        used: usize,
        call: String,
        close: bool,
    },
}

/// One request at the start of `buf`: head, then a `Content-Length` body
/// (or a chunked one, read to its last chunk).
fn parse(buf: &[u8]) -> Parsed {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return Parsed::Incomplete;
    };
    let Ok(head) = std::str::from_utf8(&buf[..head_end]) else {
        return Parsed::Bad;
    };
    let mut lines = head.split("\r\n");
    let mut words = lines.next().unwrap_or_default().split(' ');
    let method = words.next().unwrap_or_default();
    let path = words.next().unwrap_or_default().split('?').next();
    let call = format!("{method} {}", path.unwrap_or_default());
    let (mut length, mut chunked, mut close) = (0, false, false);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => match value.parse() {
                Ok(n) => length = n,
                Err(_) => return Parsed::Bad,
            },
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => close = value == "close",
            _ => {}
        }
    }
    let body = head_end + 4;
    let used = if chunked {
        match find(&buf[body..], b"0\r\n\r\n") {
            Some(at) => body + at + 5,
            None => return Parsed::Incomplete,
        }
    } else if buf.len() >= body + length {
        body + length
    } else {
        return Parsed::Incomplete;
    };
    Parsed::Complete { used, call, close }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Appends what the peer sent; `false` at end of stream or on error.
async fn read_more(stream: &TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        if stream.readable().await.is_err() {
            return false;
        }
        match stream.try_read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        if stream.writable().await.is_err() {
            return false;
        }
        match stream.try_write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_one_after_another() {
        let two = b"POST /_synapse/mas/upsert_device HTTP/1.1\r\nContent-Length: 3\r\n\r\n{}\nGET /_synapse/mas/query_user?localpart=a HTTP/1.1\r\n\r\n";
        let Parsed::Complete { used, call, close } = parse(two) else {
            panic!("the first request is complete");
        };
        assert_eq!(call, "POST /_synapse/mas/upsert_device");
        assert!(!close);
        let Parsed::Complete { call, .. } = parse(&two[used..]) else {
            panic!("the second request is complete");
        };
        assert_eq!(call, "GET /_synapse/mas/query_user");
        assert!(matches!(parse(&two[..60]), Parsed::Incomplete));
    }
}
