//! A small HTTP/1.1 client over one keep-alive TCP connection: requests are
//! prebuilt byte strings (with `Content-Length`), answers are parsed from the
//! status line, the headers, and a `Content-Length` or chunked body. Enough
//! for talking to mxauth on 127.0.0.1, and cheap enough that the load
//! generator does not become the bottleneck.

use std::{fmt, net::SocketAddr};

use tokio::net::TcpStream;

/// Why an exchange failed.
#[derive(Debug)]
pub enum HttpError {
    Connect(std::io::Error),
    Io(std::io::Error),
    /// The server closed the connection; `partial` when part of an answer
    /// had arrived.
    Closed {
        partial: bool,
    },
    Malformed(String),
}

impl HttpError {
    /// A short name for error counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Io(_) => "io",
            Self::Closed { .. } => "closed",
            Self::Malformed(_) => "malformed",
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Closed { partial: false } => f.write_str("the server closed the connection"),
            Self::Closed { partial: true } => {
                f.write_str("the server closed the connection in the middle of an answer")
            }
            Self::Malformed(what) => write!(f, "malformed answer: {what}"),
        }
    }
}

impl From<HttpError> for crate::error::Error {
    fn from(e: HttpError) -> Self {
        Self::msg(e.to_string())
    }
}

/// An answer: status, headers in order, and the (de-chunked) body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.headers(name).next()
    }

    /// Every header of that name, in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The bytes of one request. A body comes with its content type; `POST`
/// without a body still says `Content-Length: 0`.
pub fn request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.map_or(0, |(_, b)| b.len()));
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    match body {
        Some((content_type, bytes)) => {
            out.extend_from_slice(
                format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(bytes);
        }
        None if method != "GET" && method != "HEAD" => {
            out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        }
        None => out.extend_from_slice(b"\r\n"),
    }
    out
}

/// One keep-alive connection, opened on first use and again after the
/// server closed it.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// How the body of an answer is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Forgets the connection; the next request opens a new one.
    pub fn reset(&mut self) {
        self.stream = None;
        self.buf.clear();
    }

    /// Sends one request and reads its answer. When a kept-alive connection
    /// turns out to have been closed by the server before anything came
    /// back, the request is sent once more on a fresh connection.
    pub async fn send(&mut self, request: &[u8]) -> Result<Response, HttpError> {
        let reused = self.stream.is_some();
        match self.exchange(request).await {
            Ok(response) => Ok(response),
            Err(HttpError::Closed { partial: false }) if reused => {
                self.reset();
                self.exchange(request).await.inspect_err(|_| self.reset())
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// Opens the connection now unless it is open (a burst connects
    /// first, then sends all at once).
    pub async fn connect(&mut self) -> Result<(), HttpError> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(HttpError::Connect)?;
            stream.set_nodelay(true).map_err(HttpError::Connect)?;
            self.stream = Some(stream);
            self.buf.clear();
        }
        Ok(())
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Response, HttpError> {
        self.connect().await?;
        let stream = self
            .stream
            .as_mut()
            .ok_or(HttpError::Closed { partial: false })?;
        write_all(stream, request).await?;
        let is_head = request.starts_with(b"HEAD ");
        loop {
            let response = self.read_response(is_head).await?;
            // 1xx answers precede the real one.
            if !(100..200).contains(&response.status) {
                return Ok(response);
            }
        }
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    async fn read_more(&mut self) -> Result<bool, HttpError> {
        let stream = self
            .stream
            .as_ref()
            .ok_or(HttpError::Closed { partial: false })?;
        // tokio's io-util extension traits are not among this crate's
        // features: wait for readiness and read what is there.
        let len = self.buf.len();
        self.buf.resize(len + 16 * 1024, 0);
        let read = loop {
            if let Err(e) = stream.readable().await {
                break Err(e);
            }
            match stream.try_read(&mut self.buf[len..]) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                other => break other,
            }
        };
        match read {
            Ok(n) => {
                self.buf.truncate(len + n);
                Ok(n > 0)
            }
            Err(e) => {
                self.buf.truncate(len);
                Err(HttpError::Io(e))
            }
        }
    }

    async fn read_response(&mut self, is_head: bool) -> Result<Response, HttpError> {
        let mut searched = 0;
        let head_end = loop {
            if let Some(at) = find(&self.buf[searched..], b"\r\n\r\n") {
                break searched + at;
            }
            searched = self.buf.len().saturating_sub(3);
            if !self.read_more().await? {
                return Err(HttpError::Closed {
                    partial: !self.buf.is_empty(),
                });
            }
        };
        let (status, headers) = parse_head(&self.buf[..head_end])?;
        let body_start = head_end + 4;
        let framing = framing(status, is_head, &headers)?;
        let (body, end) = match framing {
            Framing::None => (Vec::new(), body_start),
            Framing::Length(n) => {
                while self.buf.len() < body_start + n {
                    if !self.read_more().await? {
                        return Err(HttpError::Closed { partial: true });
                    }
                }
                (
                    self.buf[body_start..body_start + n].to_vec(),
                    body_start + n,
                )
            }
            Framing::Chunked => loop {
                if let Some((body, used)) = dechunk(&self.buf[body_start..])? {
                    break (body, body_start + used);
                }
                if !self.read_more().await? {
                    return Err(HttpError::Closed { partial: true });
                }
            },
            Framing::UntilClose => {
                while self.read_more().await? {}
                (self.buf[body_start..].to_vec(), self.buf.len())
            }
        };
        self.buf.drain(..end);
        let close = matches!(framing, Framing::UntilClose)
            || headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close")
            });
        if close {
            self.reset();
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> Result<(), HttpError> {
    while !bytes.is_empty() {
        stream.writable().await.map_err(HttpError::Io)?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(HttpError::Closed { partial: false }),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(HttpError::Io(e)),
        }
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

type Head = (u16, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| HttpError::Malformed("the headers are not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| HttpError::Malformed(format!("status line {status_line:?}")))?;
    let headers = lines
        .map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| HttpError::Malformed(format!("header line {line:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok((status, headers))
}

fn framing(status: u16, is_head: bool, headers: &[(String, String)]) -> Result<Framing, HttpError> {
    if is_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Ok(Framing::Chunked);
    }
    match get("content-length") {
        Some(n) => n
            .parse()
            .map(Framing::Length)
            .map_err(|_| HttpError::Malformed(format!("Content-Length {n:?}"))),
        None => Ok(Framing::UntilClose),
    }
}

/// Decodes a complete chunked body at the start of `data`: the body and the
/// bytes it took, or `None` while it is incomplete.
fn dechunk(data: &[u8]) -> Result<Option<(Vec<u8>, usize)>, HttpError> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_len) = find(&data[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[at..at + line_len])
            .map_err(|_| HttpError::Malformed("chunk size is not text".into()))?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size {line:?}")))?;
        at += line_len + 2;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let Some(len) = find(&data[at..], b"\r\n") else {
                    return Ok(None);
                };
                at += len + 2;
                if len == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        if data.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_a_body_in_pieces() {
        let data = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\nNEXT";
        let (body, used) = dechunk(data).ok().flatten().unwrap_or_default();
        assert_eq!(body, b"Wikipedia");
        assert_eq!(&data[used..], b"NEXT");
        assert!(matches!(dechunk(&data[..10]), Ok(None)));
    }

    #[test]
    fn parses_status_and_headers() {
        let (status, headers) =
            parse_head(b"HTTP/1.1 303 See Other\r\nLocation: /x\r\ncontent-length: 0")
                .unwrap_or_default();
        assert_eq!(status, 303);
        assert_eq!(headers[0], ("Location".to_owned(), "/x".to_owned()));
        assert!(matches!(
            framing(status, false, &headers),
            Ok(Framing::Length(0))
        ));
    }

    #[test]
    fn posts_say_their_length() {
        let bytes = request("POST", "/t", "h", &[], Some(("a/b", b"xyz")));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.ends_with("Content-Type: a/b\r\nContent-Length: 3\r\n\r\nxyz"));
        let bytes = request("POST", "/t", "h", &[], None);
        assert!(String::from_utf8_lossy(&bytes).ends_with("Content-Length: 0\r\n\r\n"));
    }
}
