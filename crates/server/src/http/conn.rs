//! One accepted connection, served as HTTP/1.1 under `http.limits`: a
//! deadline for the request head, one for the request body and one for
//! idling between requests. A watchdog closes the socket when the deadline
//! of the connection's current phase passes, so a client that sends half a
//! request, or nothing, cannot hold a socket for ever. Time spent in our own
//! handlers (database, password hashing) counts against no deadline.

use std::{
    convert::Infallible,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{Request, Response},
    Router,
};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{watch, Notify},
    time::Instant,
};
use tower::ServiceExt;

use mxauth_config::HttpLimits;

/// The deadlines of `http.limits`, as durations.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
}

impl From<&HttpLimits> for Deadlines {
    fn from(limits: &HttpLimits) -> Self {
        Self {
            header_read: limits.header_read(),
            body_read: limits.body_read(),
            idle: limits.idle(),
        }
    }
}

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The client's request head (from the connection's start, or from the
    /// first byte after an idle spell).
    Head,
    /// The rest of the request body.
    Body,
    /// Our handler: no deadline.
    Busy,
    /// The next request on a kept-alive connection.
    Idle,
}

/// The phase of one connection and when it began, shared by the socket,
/// the request and response bodies, and the watchdog.
struct Activity {
    state: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new((Phase::Head, Instant::now())),
            changed: Notify::new(),
        })
    }

    fn snapshot(&self) -> (Phase, Instant) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enters `to`; with `from`, only when the connection is in `from`.
    fn enter(&self, from: Option<Phase>, to: Phase) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if from.is_none_or(|from| state.0 == from) {
            *state = (to, Instant::now());
            self.changed.notify_one();
        }
    }

    fn deadline(&self, deadlines: &Deadlines) -> (Phase, Instant, Option<Instant>) {
        let (phase, since) = self.snapshot();
        let allowance = match phase {
            Phase::Head => Some(deadlines.header_read),
            Phase::Body => Some(deadlines.body_read),
            Phase::Idle => Some(deadlines.idle),
            Phase::Busy => None,
        };
        (phase, since, allowance.map(|a| since + a))
    }
}

/// Serves HTTP/1.1 on `io` until the client is done, a deadline passes, or
/// `shutdown` turns true (then in-flight requests finish first).
pub async fn serve_connection<I>(
    io: I,
    router: Router,
    peer: Option<SocketAddr>,
    deadlines: Deadlines,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = TokioIo::new(TrackedIo {
        inner: io,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| {
            handle(router.clone(), peer, activity.clone(), request)
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    loop {
        let (phase, since, deadline) = activity.deadline(&deadlines);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(?peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = sleep_until(deadline) => {
                if activity.snapshot() == (phase, since) {
                    tracing::debug!(?peer, ?phase, "closing a connection: the client took too long");
                    return;
                }
            }
            _ = shutdown.wait_for(|stop| *stop), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn handle(
    router: Router,
    peer: Option<SocketAddr>,
    activity: Arc<Activity>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let has_body = !request.body().is_end_stream();
    activity.enter(None, if has_body { Phase::Body } else { Phase::Busy });
    let mut request = request.map(|inner| {
        Body::new(RequestBody {
            inner,
            activity: activity.clone(),
            done: !has_body,
        })
    });
    if let Some(peer) = peer {
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(response.map(|inner| ResponseBody { inner, activity }))
}

/// The request body: leaves [`Phase::Body`] once it is read, failed, or
/// dropped by a handler that does not need it.
struct RequestBody {
    inner: Incoming,
    activity: Arc<Activity>,
    done: bool,
}

impl RequestBody {
    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.activity.enter(Some(Phase::Body), Phase::Busy);
        }
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            Poll::Pending => false,
        };
        if ended {
            this.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The response body: hyper drops it once it is written, and the
/// connection is idle from then on.
struct ResponseBody {
    inner: Body,
    activity: Arc<Activity>,
}

impl hyper::body::Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.activity.enter(None, Phase::Idle);
    }
}

/// The socket: the first byte after an idle spell starts a request head.
struct TrackedIo<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for TrackedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.enter(Some(Phase::Idle), Phase::Head);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
