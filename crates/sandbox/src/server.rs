//! The HTTP plumbing: a loopback listener whose connections die when the
//! sandbox does, and the single entry point every request goes through
//! (buffer, record, apply faults, dispatch to a provider).
//!
//! axum's `serve` spawns each connection as its own task, which would
//! outlive an aborted server: a client's pooled keep-alive connection could
//! still be answered by a "dropped" sandbox, and a held request would keep
//! its socket open for an hour. Each accepted stream is therefore wrapped
//! so that it fails all I/O once shutdown is signalled.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::{now, random_hex};
use crate::faults::{self, Provider};
use crate::http::{Req, empty, set_header};
use crate::state::Shared;
use crate::{Fault, RecordedRequest, control, mastodon, pinterest};

/// Request bodies larger than this are refused; no OAuth request needs it.
const MAX_BODY: usize = 1 << 20;

/// A `TcpListener` whose streams close when shutdown is signalled.
pub(crate) struct ClosingListener {
    pub(crate) inner: TcpListener,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl axum::serve::Listener for ClosingListener {
    type Io = ClosingStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let mut rx = self.shutdown.clone();
                    let closed: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
                        let _ = rx.wait_for(|down| *down).await;
                    });
                    return (
                        ClosingStream {
                            inner: stream,
                            closed,
                            is_closed: false,
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: back off briefly
                // rather than spin.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that errors on every operation after shutdown; polling it
/// also registers for the shutdown wake-up, so idle connections notice.
pub(crate) struct ClosingStream {
    inner: TcpStream,
    closed: Pin<Box<dyn Future<Output = ()> + Send>>,
    is_closed: bool,
}

impl ClosingStream {
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.is_closed && self.closed.as_mut().poll(cx).is_ready() {
            self.is_closed = true;
        }
        if self.is_closed {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "sandbox shut down",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for ClosingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClosingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Every request enters here.
pub(crate) async fn entry(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return empty(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    };
    if req.path == "/_sandbox" || req.path.starts_with("/_sandbox/") {
        return control::handle(&shared, &req);
    }

    let fault = {
        let mut st = shared.lock();
        st.requests.push(record(&req));
        faults::take(&mut st.faults, &req.path)
    };
    let provider = faults::provider_of(&req.path);
    let mut resp = match fault {
        None => dispatch(&shared, &req),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            dispatch(&shared, &req)
        }
        Some(Fault::Hold) => {
            faults::hold(shared.shutdown.clone()).await;
            // Only reached at shutdown; the closed stream drops this.
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
        Some(Fault::ProcessThenHold) => {
            drop(dispatch(&shared, &req));
            faults::hold(shared.shutdown.clone()).await;
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
        Some(other) => faults::respond(&other, provider).unwrap_or_else(|| dispatch(&shared, &req)),
    };
    if provider == Provider::Pinterest {
        set_header(&mut resp, "x-pinterest-rid", &random_hex(8));
    }
    resp
}

fn dispatch(shared: &Shared, req: &Req) -> Response {
    match faults::provider_of(&req.path) {
        Provider::Pinterest => pinterest::handle(shared, req),
        Provider::Mastodon => mastodon::handle(shared, req),
    }
}

fn record(req: &Req) -> RecordedRequest {
    RecordedRequest {
        method: req.method.as_str().to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: req.body_text(),
        at: now(),
    }
}
