//! Injected faults, recording, shutdown, and the `/_sandbox/` control
//! surface (in-process and through the `broker-sandbox` binary).

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use broker_sandbox::{Fault, FaultTarget};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn code_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.to_string()),
        ("redirect_uri", PIN_REDIRECT.into()),
    ]
}

async fn post_token(
    sb: &broker_sandbox::Sandbox,
    http: &reqwest::Client,
    code: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(url(sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(sb))
        .form(&code_form(code))
        .send()
        .await
}

#[tokio::test]
async fn status500_does_not_spend_the_code() {
    let (sb, http) = start().await;
    let code = pin_code(&sb, &http, "pins:read", None).await;
    sb.inject(FaultTarget::Token, Fault::Status500, 1);
    let resp = post_token(&sb, &http, &code).await.unwrap();
    assert!(resp.headers().contains_key("x-pinterest-rid"));
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({"code": 0, "message": "Internal error"}));
    let (status, _) = body_json(post_token(&sb, &http, &code).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // Both attempts were recorded.
    assert_eq!(sb.count("POST", "/v5/oauth/token"), 2);
    assert_eq!(sb.count_grant("authorization_code"), 2);
}

#[tokio::test]
async fn too_many_requests_and_unavailable_carry_retry_after() {
    let (sb, http) = start().await;
    sb.inject(
        FaultTarget::Token,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    sb.inject(
        FaultTarget::Token,
        Fault::ServiceUnavailable {
            retry_after_secs: 3,
        },
        1,
    );
    let send = || {
        http.post(url(&sb, "/oauth/token"))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "7");
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "3");
    // Then the real answer (no such client).
    assert_eq!(send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mastodon_500_shape() {
    let (sb, http) = start().await;
    sb.inject(FaultTarget::Registration, Fault::Status500, 2);
    for _ in 0..2 {
        let resp = http
            .post(url(&sb, "/api/v1/apps"))
            .json(&json!({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}))
            .send()
            .await
            .unwrap();
        assert!(!resp.headers().contains_key("x-pinterest-rid"));
        let (status, body) = body_json(resp).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "server_error"}));
    }
    masto_register(&sb, &http, json!("urn:ietf:wg:oauth:2.0:oob"), "read").await;
}

#[tokio::test]
async fn hold_never_answers_and_leaves_the_code_unspent() {
    let (sb, http) = start().await;
    let code = pin_code(&sb, &http, "pins:read", None).await;
    sb.inject(FaultTarget::Token, Fault::Hold, 1);
    let started = Instant::now();
    let err = http
        .post(url(&sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(&sb))
        .form(&code_form(&code))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, _) = body_json(post_token(&sb, &http, &code).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn process_then_hold_spends_the_code() {
    let (sb, http) = start().await;
    let code = pin_code(&sb, &http, "pins:read", None).await;
    sb.inject(FaultTarget::Token, Fault::ProcessThenHold, 1);
    let err = http
        .post(url(&sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(&sb))
        .form(&code_form(&code))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let (status, body) = body_json(post_token(&sb, &http, &code).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 283);
}

#[tokio::test]
async fn process_then_hold_rotates_the_refresh_token() {
    let (sb, http) = start().await;
    let tokens = pin_login(&sb, &http, "pins:read").await;
    let refresh = s(&tokens, "refresh_token");
    sb.inject(FaultTarget::Token, Fault::ProcessThenHold, 1);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let err = http
        .post(url(&sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(&sb))
        .form(&form)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let (status, _) = pin_token(&sb, &http, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_and_slow() {
    let (sb, http) = start().await;
    sb.inject(FaultTarget::Identity, Fault::MalformedJson, 1);
    sb.inject(
        FaultTarget::Identity,
        Fault::Slow(Duration::from_millis(200)),
        1,
    );
    let tokens = pin_login(&sb, &http, "user_accounts:read").await;
    let access = s(&tokens, "access_token");
    let resp = http
        .get(url(&sb, "/v5/user_account"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let text = resp.text().await.unwrap();
    assert_eq!(text, "{\"access_token\": \"tru");
    assert!(serde_json::from_str::<Value>(&text).is_err());
    let started = Instant::now();
    let (status, me) = get_bearer(&sb, &http, "/v5/user_account", &access).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "sandbox_pinner");
}

#[tokio::test]
async fn any_target_and_fault_order() {
    let (sb, http) = start().await;
    sb.inject(
        FaultTarget::Any,
        Fault::ServiceUnavailable {
            retry_after_secs: 1,
        },
        1,
    );
    sb.inject(FaultTarget::Identity, Fault::Status500, 1);
    // The first request of any kind takes the first fault...
    let resp = http.get(url(&sb, "/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    // ...and non-identity requests pass the identity fault by.
    let resp = http.get(url(&sb, "/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = http
        .get(url(&sb, "/api/v1/accounts/verify_credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    sb.clear_requests();
    assert!(sb.requests().is_empty());
}

#[tokio::test]
async fn dropping_the_sandbox_closes_connections() {
    let (sb, http) = start().await;
    let probe = url(&sb, "/.well-known/oauth-authorization-server");
    // Keep-alive connection in the client's pool.
    assert_eq!(
        http.get(probe.clone()).send().await.unwrap().status(),
        StatusCode::OK
    );
    // A request that is being held.
    sb.inject(FaultTarget::Any, Fault::Hold, 1);
    let held = tokio::spawn({
        let http = http.clone();
        let probe = probe.clone();
        async move { http.get(probe).send().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    drop(sb);
    let held = held.await.unwrap();
    assert!(held.is_err(), "held request must fail, not be answered");
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(http.get(probe).send().await.is_err());
}

#[tokio::test]
async fn shutdown_is_awaitable() {
    let (sb, http) = start().await;
    let probe = url(&sb, "/.well-known/oauth-authorization-server");
    assert!(http.get(probe.clone()).send().await.is_ok());
    sb.shutdown().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(http.get(probe).send().await.is_err());
}

#[tokio::test]
async fn control_surface_in_process() {
    let (sb, http) = start().await;
    let ctl = |path: &str| url(&sb, &format!("/_sandbox/{path}"));
    let (status, _) = body_json(
        http.post(ctl("inject"))
            .json(&json!({"target": "token", "fault": "too_many_requests", "times": 1, "retry_after_secs": 9}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let resp = http
        .post(url(&sb, "/v5/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "9");

    let resp = http
        .post(ctl("redirect_uri"))
        .form(&[("uri", "http://127.0.0.1:7777/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let loc = location(
        &pin_authorize(
            &sb,
            &http,
            &[
                ("client_id", sb.pinterest_app_id()),
                ("redirect_uri", "http://127.0.0.1:7777/cb"),
                ("response_type", "code"),
                ("scope", "pins:read"),
            ],
        )
        .await,
    );
    assert!(param(&loc, "code").is_some());

    let resp = http
        .post(ctl("lifetimes"))
        .json(&json!({"access_secs": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, body) = pin_token(
        &sb,
        &http,
        &[("grant_type", "client_credentials"), ("scope", "pins:read")],
    )
    .await;
    assert_eq!(body["expires_in"], 42);

    let (_, count) = body_json(
        http.get(ctl("count"))
            .query(&[("method", "POST"), ("path", "/v5/oauth/token")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(count, json!({"count": 2}));
    let (_, requests) = body_json(http.get(ctl("requests")).send().await.unwrap()).await;
    let requests = requests.as_array().unwrap();
    // Control requests are not recorded.
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/_sandbox"))
    );
    assert_eq!(requests[1]["method"], "GET");
    assert_eq!(requests.len(), sb.requests().len());

    let resp = http
        .post(ctl("inject"))
        .json(&json!({"target": "token", "fault": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn binary_prints_one_json_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_broker-sandbox"))
        .args([
            "--port",
            "0",
            "--access-ttl",
            "77",
            "--mastodon-mode",
            "legacy",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        let info: Value = serde_json::from_str(line.trim()).unwrap();
        let base = info["base_url"].as_str().unwrap().to_string();
        assert!(base.starts_with("http://127.0.0.1:") && base.ends_with('/'));
        assert_eq!(info["pinterest_app_id"], "1234567");
        assert_eq!(
            info["pinterest_app_secret"],
            "sandbox-app-secret-0123456789"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let http = client();
            let resp = http
                .get(format!("{base}.well-known/oauth-authorization-server"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
            let resp = http
                .post(format!("{base}v5/oauth/token"))
                .header(
                    "authorization",
                    basic("1234567", "sandbox-app-secret-0123456789"),
                )
                .form(&[("grant_type", "client_credentials"), ("scope", "pins:read")])
                .send()
                .await
                .unwrap();
            assert_eq!(body_json(resp).await.1["expires_in"], 77);
            let (_, count) = body_json(
                http.get(format!(
                    "{base}_sandbox/count?method=POST&path=/v5/oauth/token"
                ))
                .send()
                .await
                .unwrap(),
            )
            .await;
            assert_eq!(count["count"], 1);
        });
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_broker-sandbox"))
        .args(["--mastodon-mode", "ancient"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
