//! The loopback listener: a tiny web server on 127.0.0.1 (and `[::1]`) that
//! waits for the browser to come back with a code (RFC 8252 §7.3).
//!
//! It is deliberately unforgiving. It binds loopback addresses only, without
//! `SO_REUSEADDR` so no other program can share the port; it answers only
//! `GET` on the exact callback path with a loopback `Host` (against DNS
//! rebinding); a wrong or missing `state` gets a 400 page and the wait goes
//! on, so a stray or hostile request can neither finish nor abort the login.
//! Everything else (favicon, other paths, other methods) is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oauth2::{AuthorizationCode, CsrfToken};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{mpsc, watch};
use url::{Host, Url};

use super::paste::CallbackParams;
use crate::error::{Error, PasteError};

/// A bound listener, not yet serving: bind it before opening the browser,
/// so a taken port fails the login early.
pub struct LoopbackListener {
    listeners: Vec<std::net::TcpListener>,
    redirect_uri: Url,
    port: u16,
}

impl std::fmt::Debug for LoopbackListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackListener")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("addrs", &self.local_addrs())
            .finish()
    }
}

impl LoopbackListener {
    /// Binds the host and port of `redirect_uri`, which must be
    /// `http://127.0.0.1`, `http://[::1]` or `http://localhost`. Port 0
    /// picks a free port; [`redirect_uri`](Self::redirect_uri) then tells
    /// which. `localhost` binds 127.0.0.1 and, when the machine has IPv6,
    /// `[::1]` on the same port, since browsers may try either.
    pub fn bind(redirect_uri: &str) -> Result<LoopbackListener, Error> {
        let refuse = |reason: &str| Error::InvalidUrl {
            what: "redirect".into(),
            url: redirect_uri.to_string(),
            reason: reason.into(),
        };
        let mut url = Url::parse(redirect_uri).map_err(|e| refuse(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(refuse("a loopback redirect must use http"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse(
                "a loopback redirect must not carry a query or fragment",
            ));
        }
        let port = url.port().unwrap_or(80);
        let (primary, also_v6) = match url.host() {
            Some(Host::Ipv4(ip)) if ip.is_loopback() => (IpAddr::V4(ip), false),
            Some(Host::Ipv6(ip)) if ip.is_loopback() => (IpAddr::V6(ip), false),
            Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                (IpAddr::V4(Ipv4Addr::LOCALHOST), true)
            }
            _ => {
                return Err(refuse(
                    "the redirect host must be 127.0.0.1, [::1] or localhost",
                ));
            }
        };
        let first = bind_exclusive(SocketAddr::new(primary, port))?;
        let port = first
            .local_addr()
            .map_err(|e| listener_error(primary, port, e))?
            .port();
        let mut listeners = vec![first];
        if also_v6 {
            // A machine without IPv6 still has 127.0.0.1. But a port taken
            // on [::1] is another program waiting for our browser there
            // (browsers may try ::1 first): fail before any browser opens.
            match bind_exclusive(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)) {
                Ok(v6) => listeners.push(v6),
                Err(e @ Error::Listener { .. }) if is_addr_in_use(&e) => return Err(e),
                Err(_) => {}
            }
        }
        let _ = url.set_port(Some(port));
        Ok(LoopbackListener {
            listeners,
            redirect_uri: url,
            port,
        })
    }

    /// The redirect URI with the port actually bound.
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// The addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until a callback with the right `state` arrives or `timeout`
    /// passes; the port is closed when this returns (or is dropped).
    pub async fn wait(
        self,
        expected_state: &CsrfToken,
        timeout: Duration,
    ) -> Result<AuthorizationCode, Error> {
        self.wait_checked(expected_state, None, timeout).await
    }

    /// Like [`wait`](Self::wait), and a callback carrying `iss` must name
    /// `issuer` when it is known (RFC 9207); one that does not is refused
    /// like a wrong `state`, and the wait goes on.
    pub async fn wait_checked(
        self,
        expected_state: &CsrfToken,
        issuer: Option<&str>,
        timeout: Duration,
    ) -> Result<AuthorizationCode, Error> {
        let (outcome_tx, mut outcome_rx) = mpsc::channel(1);
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            path: self.redirect_uri.path().to_string(),
            port: self.port,
            state: CsrfToken::new(expected_state.secret().clone()),
            issuer: issuer.map(str::to_string),
            outcome: Mutex::new(Some(outcome_tx)),
        });
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let mut servers = TaskGuard(Vec::new());
        for std_listener in self.listeners {
            let addr = std_listener.local_addr().ok();
            let listener = tokio::net::TcpListener::from_std(std_listener)
                .map_err(|e| listener_error_at(addr, e))?;
            let mut stop = stop_rx.clone();
            let app = app.clone();
            servers.0.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        let outcome = match tokio::time::timeout(timeout, outcome_rx.recv()).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => Err(Error::Protocol {
                what: "the loopback listener".into(),
                detail: "stopped unexpectedly".into(),
            }),
            Err(_) => Err(Error::LoginTimeout {
                secs: timeout.as_secs(),
            }),
        };
        // Let the browser receive its page, then close the port for good.
        let _ = stop_tx.send(true);
        for handle in servers.0.iter_mut() {
            let _ = tokio::time::timeout(Duration::from_millis(500), handle).await;
        }
        outcome
    }
}

/// Aborts the server tasks when the wait ends in any way, Ctrl-C included,
/// so the port never outlives the login.
struct TaskGuard(Vec<tokio::task::JoinHandle<()>>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

type Outcome = Result<AuthorizationCode, Error>;

struct Shared {
    path: String,
    port: u16,
    state: CsrfToken,
    issuer: Option<String>,
    outcome: Mutex<Option<mpsc::Sender<Outcome>>>,
}

impl Shared {
    fn finish(&self, outcome: Outcome) {
        if let Some(tx) = self
            .outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = tx.try_send(outcome);
        }
    }

    fn host_is_ours(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        [
            format!("127.0.0.1:{}", self.port),
            format!("[::1]:{}", self.port),
            format!("localhost:{}", self.port),
        ]
        .contains(&host)
            || (self.port == 80 && ["127.0.0.1", "[::1]", "localhost"].contains(&host.as_str()))
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response {
    if req.method() != Method::GET {
        // Never read a body: nothing but a GET redirect belongs here.
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Not here",
            "This address only takes the browser's return from the login.",
        );
    }
    if !shared.host_is_ours(req.headers()) {
        return page(
            StatusCode::BAD_REQUEST,
            "Wrong host",
            "This request was not addressed to the loopback listener.",
        );
    }
    if req.uri().path() != shared.path {
        // Favicon and other strays: ignored, the login goes on.
        return page(StatusCode::NOT_FOUND, "Not found", "Nothing here.");
    }
    let params = match CallbackParams::parse(req.uri().query().unwrap_or("")) {
        Ok(p) => p,
        Err(PasteError::RepeatedParameter(name)) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Rejected",
                &format!("The parameter {name} appears twice."),
            );
        }
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Rejected",
                "Unreadable parameters.",
            );
        }
    };
    match params.into_code(&shared.state, shared.issuer.as_deref()) {
        Ok(code) => {
            shared.finish(Ok(code));
            page(
                StatusCode::OK,
                "Logged in",
                "broker received the authorization. You can close this tab and return to the terminal.",
            )
        }
        Err(denied @ Error::Denied { .. }) => {
            let text = denied.to_string();
            shared.finish(Err(denied));
            page(
                StatusCode::OK,
                "Login refused",
                &format!("{text}. You can close this tab; the terminal says what to do next."),
            )
        }
        // Wrong or missing state, or no code: not this login's answer. The
        // wait goes on.
        Err(_) => page(
            StatusCode::BAD_REQUEST,
            "Rejected",
            "This response does not belong to the login in progress; it was ignored.",
        ),
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>broker: {t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape_html(title),
        m = escape_html(message)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body,
    )
        .into_response()
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Binds so that no other socket can share the address while we listen
/// (RFC 8252 B.5). On BSD and macOS `SO_REUSEADDR` would let another
/// program bind the same port on a more specific address, so it stays off
/// there (std and tokio turn it on). On Linux it only allows binding over
/// connections in TIME_WAIT, never a second listener; without it a second
/// login on a fixed port (Pinterest's 8085) within a minute of the first
/// would fail.
fn bind_exclusive(addr: SocketAddr) -> Result<std::net::TcpListener, Error> {
    let err = |e| listener_error(addr.ip(), addr.port(), e);
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    #[cfg(target_os = "linux")]
    socket.set_reuse_address(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(16).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    Ok(socket.into())
}

fn is_addr_in_use(e: &Error) -> bool {
    matches!(e, Error::Listener { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse)
}

fn listener_error(ip: IpAddr, port: u16, source: std::io::Error) -> Error {
    Error::Listener {
        addr: SocketAddr::new(ip, port).to_string(),
        source,
    }
}

fn listener_error_at(addr: Option<SocketAddr>, source: std::io::Error) -> Error {
    Error::Listener {
        addr: addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "loopback".into()),
        source,
    }
}
