//! Helpers shared by the integration tests: an HTTP client that never
//! follows redirects (the tests inspect them), PKCE pairs, and the
//! Pinterest and Mastodon flows' repetitive steps.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use broker_sandbox::{Sandbox, SandboxConfig};
use rand::RngCore as _;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

pub const PIN_REDIRECT: &str = "http://localhost:8085/";

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn start() -> (Sandbox, Client) {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> (Sandbox, Client) {
    (Sandbox::start(config).await.unwrap(), client())
}

pub fn url(sb: &Sandbox, path: &str) -> Url {
    sb.base_url().join(path.trim_start_matches('/')).unwrap()
}

/// A random RFC 7636 verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub fn pin_basic(sb: &Sandbox) -> String {
    basic(sb.pinterest_app_id(), sb.pinterest_app_secret())
}

/// The redirect target of a 302.
pub fn location(resp: &Response) -> Url {
    assert_eq!(resp.status(), StatusCode::FOUND, "expected a redirect");
    let loc = resp
        .headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .unwrap();
    Url::parse(loc).unwrap()
}

pub fn param(u: &Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub async fn body_json(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

/// `GET /oauth/` with these parameters.
pub async fn pin_authorize(sb: &Sandbox, http: &Client, params: &[(&str, &str)]) -> Response {
    http.get(url(sb, "/oauth/"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// Runs Pinterest consent and returns the code, checking state.
pub async fn pin_code(sb: &Sandbox, http: &Client, scope: &str, challenge: Option<&str>) -> String {
    let mut params = vec![
        ("client_id", sb.pinterest_app_id()),
        ("redirect_uri", PIN_REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st-123"),
    ];
    if let Some(c) = challenge {
        params.push(("code_challenge", c));
        params.push(("code_challenge_method", "S256"));
    }
    let resp = pin_authorize(sb, http, &params).await;
    let loc = location(&resp);
    assert!(loc.as_str().starts_with(PIN_REDIRECT), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    param(&loc, "code").expect("code in redirect")
}

/// `POST /v5/oauth/token` with app Basic auth and a form body.
pub async fn pin_token(sb: &Sandbox, http: &Client, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = http
        .post(url(sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(sb))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("x-pinterest-rid"));
    body_json(resp).await
}

/// Code for v5 scopes, exchanged; returns the token response.
pub async fn pin_login(sb: &Sandbox, http: &Client, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let code = pin_code(sb, http, scope, Some(&challenge)).await;
    let (status, body) = pin_token(
        sb,
        http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn get_bearer(
    sb: &Sandbox,
    http: &Client,
    path: &str,
    token: &str,
) -> (StatusCode, Value) {
    let resp = http
        .get(url(sb, path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    body_json(resp).await
}

/// Registers a Mastodon app with a JSON body; returns the response body.
pub async fn masto_register(
    sb: &Sandbox,
    http: &Client,
    redirect_uris: Value,
    scopes: &str,
) -> Value {
    let resp = http
        .post(url(sb, "/api/v1/apps"))
        .json(&serde_json::json!({
            "client_name": "broker tests",
            "redirect_uris": redirect_uris,
            "scopes": scopes,
            "website": "https://example.org/",
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn masto_authorize(sb: &Sandbox, http: &Client, params: &[(&str, &str)]) -> Response {
    http.get(url(sb, "/oauth/authorize"))
        .query(params)
        .send()
        .await
        .unwrap()
}

pub async fn masto_token(
    sb: &Sandbox,
    http: &Client,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = http
        .post(url(sb, "/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    body_json(resp).await
}

pub fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_string()
}
