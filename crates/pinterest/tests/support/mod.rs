//! Set-up shared by the tests against the sandbox: a fresh sandbox per test,
//! a provider pointed at it, and a "browser" that approves the consent page
//! and hands the address it lands on to core's paste flow, so the tests run
//! the same code path as `broker login --no-browser`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use broker_core::flow::PendingAuthorization;
use broker_core::{ClientSecret, Endpoint, Error, HttpClient, HttpConfig, TokenSet};
use broker_pinterest::{ApiVersion, DEFAULT_REDIRECT_URI, Pinterest, PinterestConfig};
use broker_sandbox::{Sandbox, SandboxConfig};
use url::Url;

pub(crate) const REDIRECT: &str = DEFAULT_REDIRECT_URI;

/// A running sandbox and an HTTP client with short retry waits.
pub(crate) struct Env {
    pub(crate) sandbox: Sandbox,
    pub(crate) http: HttpClient,
}

impl Env {
    pub(crate) async fn start() -> Env {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("the sandbox starts");
        sandbox.add_pinterest_redirect_uri(REDIRECT);
        let http = HttpClient::new(HttpConfig {
            base_backoff: Duration::from_millis(10),
            max_retry_wait: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
            ..HttpConfig::default()
        })
        .expect("the HTTP client builds");
        Env { sandbox, http }
    }

    pub(crate) fn base(&self) -> String {
        self.sandbox.base_url().to_string()
    }

    pub(crate) fn app_id(&self) -> String {
        self.sandbox.pinterest_app_id().to_string()
    }

    pub(crate) fn app_secret(&self) -> String {
        self.sandbox.pinterest_app_secret().to_string()
    }

    /// The configuration the CLI would build for `[pinterest]` pointing at
    /// the sandbox.
    pub(crate) fn config(&self) -> PinterestConfig {
        let base = self.base();
        PinterestConfig {
            app_id: self.app_id(),
            app_secret: ClientSecret::new(self.app_secret()),
            authorize_url: Endpoint::parse("authorize", &format!("{base}oauth/")).unwrap(),
            api_base: Endpoint::parse("api", &base).unwrap(),
            pkce: true,
            continuous_refresh: true,
        }
    }

    pub(crate) fn provider(&self, version: ApiVersion) -> Pinterest {
        Pinterest::new(version, self.config())
    }

    /// `Authorization: Basic base64(app_id:app_secret)`.
    pub(crate) fn expected_basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.app_id(), self.app_secret()))
        )
    }
}

/// What one login did, whether or not the exchange succeeded.
pub(crate) struct Attempt {
    pub(crate) authorize_url: Url,
    /// The address the browser landed on.
    pub(crate) location: String,
    pub(crate) code: String,
    pub(crate) result: Result<TokenSet, Error>,
}

/// Plays the browser: opens the consent URL (the sandbox approves at once)
/// and returns the redirect target without following it.
pub(crate) async fn consent(url: &Url) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(url.clone()).send().await.unwrap();
    assert!(
        resp.status().is_redirection(),
        "the consent page answered {}",
        resp.status()
    );
    resp.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Runs the real flow: core's pending authorization, the consent, the
/// pasted address (state checked), then the code exchange.
pub(crate) async fn attempt_login(env: &Env, provider: &Pinterest, scopes: &[String]) -> Attempt {
    let pending = PendingAuthorization::new(provider, REDIRECT, scopes, false).unwrap();
    let authorize_url = pending.authorize_url().clone();
    let location = consent(&authorize_url).await;
    let pasted = pending
        .accept_paste(&location)
        .expect("the redirect carries a code");
    assert!(pasted.state_checked);
    let code = pasted.code.secret().clone();
    let result = pending.complete(provider, &env.http, pasted.code).await;
    Attempt {
        authorize_url,
        location,
        code,
        result,
    }
}

/// A login that must succeed.
pub(crate) async fn login(
    env: &Env,
    provider: &Pinterest,
    scopes: &[String],
) -> (Attempt, TokenSet) {
    let mut attempt = attempt_login(env, provider, scopes).await;
    let result = std::mem::replace(&mut attempt.result, Err(Error::Config("taken".to_string())));
    let tokens = result.unwrap_or_else(|e| panic!("login failed: {e}"));
    (attempt, tokens)
}

pub(crate) fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The query parameter `name` of `url`, decoded.
pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The requests the sandbox saw for `method` and `path`.
pub(crate) fn recorded(
    env: &Env,
    method: &str,
    path: &str,
) -> Vec<broker_sandbox::RecordedRequest> {
    env.sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method.to_string().eq_ignore_ascii_case(method) && r.path == path)
        .collect()
}

/// The decoded form fields of a recorded request, in order.
pub(crate) fn form(r: &broker_sandbox::RecordedRequest) -> Vec<(String, String)> {
    r.form()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts that none of `secrets` shows in an error's `Display` or `Debug`.
pub(crate) fn assert_no_secret(err: &Error, secrets: &[&str]) {
    let shown = format!("{err} | {err:?}");
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        assert!(
            !shown.contains(secret),
            "a secret shows in the error: {shown}"
        );
    }
}
