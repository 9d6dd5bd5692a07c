//! The loopback listener, driven by a real TCP client the way a browser (or
//! an attacker on the same machine) would drive it.

use std::time::Duration;

use broker_core::flow::LoopbackListener;
use broker_core::{CsrfToken, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one raw HTTP/1.1 request and returns the status code.
async fn raw(port: u16, request: String) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn get(port: u16, path_and_query: &str) -> u16 {
    raw(
        port,
        format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

fn state() -> CsrfToken {
    CsrfToken::new("expected-state".to_string())
}

fn listener() -> (LoopbackListener, u16) {
    let l = LoopbackListener::bind("http://127.0.0.1:0/callback").unwrap();
    let port = l.local_addrs()[0].port();
    assert!(
        l.redirect_uri()
            .starts_with(&format!("http://127.0.0.1:{port}/callback"))
    );
    (l, port)
}

#[tokio::test]
async fn the_right_callback_yields_the_code_after_strays_are_ignored() {
    let (l, port) = listener();
    let client = tokio::spawn(async move {
        let favicon = get(port, "/favicon.ico").await;
        let wrong_state = get(port, "/callback?code=evil&state=attacker").await;
        let no_state = get(port, "/callback?code=evil").await;
        let post = raw(port, format!("POST /callback?code=c&state=expected-state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")).await;
        let rebinding = raw(port, "GET /callback?code=c&state=expected-state HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".to_string()).await;
        let repeated = get(port, "/callback?code=a&code=b&state=expected-state").await;
        let good = get(port, "/callback?code=the-code&state=expected-state").await;
        (
            favicon,
            wrong_state,
            no_state,
            post,
            rebinding,
            repeated,
            good,
        )
    });
    let code = l.wait(&state(), Duration::from_secs(10)).await.unwrap();
    assert_eq!(code.secret(), "the-code");
    assert_eq!(client.await.unwrap(), (404, 400, 400, 405, 400, 400, 200));
}

#[tokio::test]
async fn localhost_host_header_is_accepted() {
    let l = LoopbackListener::bind("http://localhost:0/").unwrap();
    let port = l.local_addrs()[0].port();
    assert_eq!(l.redirect_uri(), format!("http://localhost:{port}/"));
    let client = tokio::spawn(async move {
        raw(port, format!("GET /?code=c&state=expected-state HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n")).await
    });
    assert!(l.wait(&state(), Duration::from_secs(10)).await.is_ok());
    assert_eq!(client.await.unwrap(), 200);
}

#[tokio::test]
async fn an_error_with_the_right_state_ends_the_flow_as_a_refusal() {
    let (l, port) = listener();
    let client = tokio::spawn(async move {
        get(
            port,
            "/callback?error=access_denied&error_description=no%3Cscript%3E&state=expected-state",
        )
        .await
    });
    let err = l.wait(&state(), Duration::from_secs(10)).await.unwrap_err();
    match &err {
        Error::Denied { error, description } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("no<script>"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.await.unwrap(), 200);
}

#[tokio::test]
async fn an_error_with_a_wrong_state_does_not_end_the_flow() {
    let (l, port) = listener();
    let client = tokio::spawn(async move {
        let forged = get(port, "/callback?error=access_denied&state=forged").await;
        let good = get(port, "/callback?code=c&state=expected-state").await;
        (forged, good)
    });
    assert!(l.wait(&state(), Duration::from_secs(10)).await.is_ok());
    assert_eq!(client.await.unwrap(), (400, 200));
}

#[tokio::test]
async fn a_silent_browser_times_out_and_the_port_closes() {
    let (l, port) = listener();
    let err = l
        .wait(&state(), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LoginTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains("no authorization arrived"));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_slow_client_does_not_block_the_callback() {
    let (l, port) = listener();
    // Opens a connection and sends half a request, then sits there.
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(b"GET /callback?code=x").await.unwrap();
    let client =
        tokio::spawn(async move { get(port, "/callback?code=c&state=expected-state").await });
    assert!(l.wait(&state(), Duration::from_secs(10)).await.is_ok());
    assert_eq!(client.await.unwrap(), 200);
}

#[test]
fn binds_loopback_only_and_exclusively() {
    for bad in [
        "http://0.0.0.0:0/",
        "http://192.168.1.2:0/",
        "https://127.0.0.1:0/",
        "http://example.com:0/",
    ] {
        assert!(LoopbackListener::bind(bad).is_err(), "{bad}");
    }
    let l = LoopbackListener::bind("http://127.0.0.1:0/").unwrap();
    let addr = l.local_addrs()[0];
    assert!(addr.ip().is_loopback());
    // A second binder on the same address is refused, with a hint.
    let err = LoopbackListener::bind(&format!("http://127.0.0.1:{}/", addr.port())).unwrap_err();
    assert!(err.to_string().contains("another program"), "{err}");
    // So is an ordinary std bind (which sets SO_REUSEADDR on Unix).
    assert!(std::net::TcpListener::bind(addr).is_err());
}

#[tokio::test]
async fn a_fixed_port_can_be_used_again_right_after_a_login() {
    // The first login leaves its connections in TIME_WAIT on the port.
    let (l, port) = listener();
    let client =
        tokio::spawn(async move { get(port, "/callback?code=c&state=expected-state").await });
    assert!(l.wait(&state(), Duration::from_secs(10)).await.is_ok());
    assert_eq!(client.await.unwrap(), 200);
    let again = LoopbackListener::bind(&format!("http://127.0.0.1:{port}/callback")).unwrap();
    assert_eq!(again.local_addrs()[0].port(), port);
}

#[test]
fn localhost_fails_when_another_program_holds_the_ipv6_port() {
    // Another program listens on [::1]:PORT; a browser trying ::1 first
    // would hand it the code.
    let Ok(squatter) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let port = squatter.local_addr().unwrap().port();
    let err = LoopbackListener::bind(&format!("http://localhost:{port}/")).unwrap_err();
    assert!(err.to_string().contains("another program"), "{err}");
}

#[tokio::test]
async fn a_callback_naming_another_server_is_refused_and_the_wait_goes_on() {
    let (l, port) = listener();
    let client = tokio::spawn(async move {
        let mixed_up = get(
            port,
            "/callback?code=c&state=expected-state&iss=https%3A%2F%2Fevil.example%2F",
        )
        .await;
        let good = get(
            port,
            "/callback?code=good&state=expected-state&iss=https%3A%2F%2Fmstdn.jp%2F",
        )
        .await;
        (mixed_up, good)
    });
    let code = l
        .wait_checked(&state(), Some("https://mstdn.jp/"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(code.secret(), "good");
    assert_eq!(client.await.unwrap(), (400, 200));
}
