//! A strict local stand-in for the provider side of Pinterest (API v5 and
//! the legacy v3) and of a Mastodon instance, served over real HTTP on
//! `127.0.0.1`.
//!
//! It exists so that the broker's client code is tested against the
//! protocols as the real services implement them (their parameter rules,
//! error bodies, token rotation and replay detection) rather than against
//! the client authors' own reading of them. Consent is auto-approved for a
//! configurable "logged-in browser user", faults can be injected per
//! endpoint class, and every request is recorded for assertions. It never
//! makes outbound requests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use broker_sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let token_url = sandbox.base_url().join("v5/oauth/token").unwrap();
//! # let _ = token_url;
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod common;
mod control;
mod faults;
mod http;
mod mastodon;
mod pinterest;
mod server;
mod state;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::server::ClosingListener;
use crate::state::Shared;

/// The 19 scopes of Pinterest API v5.
pub const PINTEREST_V5_SCOPES: &[&str] = &[
    "ads:read",
    "ads:write",
    "billing:read",
    "billing:write",
    "biz_access:read",
    "biz_access:write",
    "boards:read",
    "boards:read_secret",
    "boards:write",
    "boards:write_secret",
    "catalogs:read",
    "catalogs:write",
    "msot:write",
    "pins:read",
    "pins:read_secret",
    "pins:write",
    "pins:write_secret",
    "user_accounts:read",
    "user_accounts:write",
];

/// The scopes of the legacy Pinterest API v3: granular, then composite.
pub const PINTEREST_V3_SCOPES: &[&str] = &[
    "read_domains",
    "read_boards",
    "write_boards",
    "read_pins",
    "write_pins",
    "read_users",
    "write_users",
    "read_secret_boards",
    "read_secret_pins",
    "read_user_followers",
    "write_user_followees",
    "read_advertisers",
    "write_advertisers",
    "read_campaigns",
    "write_campaigns",
    "read_merchants",
    "write_merchants",
    "read_pin_promotions",
    "write_pin_promotions",
    "read_organic",
    "write_organic",
    "manage_organic",
    "read_secret",
    "read_ads",
    "write_ads",
    "manage_merchants",
];

/// Every scope a current (4.3+) Mastodon server knows. A `Legacy` or
/// `HtmlMetadata` sandbox knows all of them except `profile`.
pub const MASTODON_SCOPES: &[&str] = &[
    "profile",
    "push",
    "follow",
    "read",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:collections",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:collections",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

/// How long issued credentials live. Applies to credentials issued after
/// it is set. Mastodon access tokens never expire, whatever this says.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// Authorization codes (both providers); default 600 s.
    pub code: Duration,
    /// Pinterest access tokens (v5, v3, client credentials); default 30 days.
    pub access: Duration,
    /// Pinterest refresh tokens; default 60 days (continuous refresh).
    pub refresh: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: Duration::from_secs(600),
            access: Duration::from_secs(30 * 24 * 3600),
            refresh: Duration::from_secs(60 * 24 * 3600),
        }
    }
}

/// Which Mastodon generation the sandbox instance behaves as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MastodonMode {
    /// 4.3 and later: the metadata document, PKCE (S256 only, enforced when
    /// a challenge was sent), the `profile` scope, `redirect_uris` arrays.
    Modern,
    /// Before 4.3: metadata answers 404, `profile` is an unknown scope,
    /// PKCE parameters at authorize are ignored and any `code_verifier` at
    /// the token endpoint is refused with `invalid_request`.
    Legacy,
    /// Like `Legacy`, but the metadata path answers 200 with an HTML page,
    /// as some non-Mastodon servers do.
    HtmlMetadata,
}

/// Configuration of a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The registered Pinterest app's id.
    pub pinterest_app_id: String,
    /// The registered Pinterest app's secret.
    pub pinterest_app_secret: String,
    /// Redirect URIs registered for the Pinterest app (exact strings).
    pub pinterest_redirect_uris: Vec<String>,
    /// Credential lifetimes.
    pub lifetimes: Lifetimes,
    /// Mastodon generation.
    pub mastodon_mode: MastodonMode,
    /// Mastodon app registrations allowed per 10 minutes (per sandbox).
    pub registration_limit: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            pinterest_app_id: "1234567".to_string(),
            pinterest_app_secret: "sandbox-app-secret-0123456789".to_string(),
            pinterest_redirect_uris: vec!["http://localhost:8085/".to_string()],
            lifetimes: Lifetimes::default(),
            mastodon_mode: MastodonMode::Modern,
            registration_limit: 5,
        }
    }
}

/// Which requests an injected fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// Token endpoints: `/v5/oauth/token`, `/v3/oauth/access_token/`, `/oauth/token`.
    Token,
    /// Identity endpoints: `/v5/user_account`, `/v3/users/me/`,
    /// `/api/v1/accounts/verify_credentials`.
    Identity,
    /// Mastodon app registration: `/api/v1/apps`.
    Registration,
    /// Any request except the `/_sandbox/` control surface.
    Any,
}

/// A failure to inject.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 500 with the provider's error body, without processing the request.
    Status500,
    /// 429 with `Retry-After`, without processing the request.
    TooManyRequests {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`, without processing the request.
    ServiceUnavailable {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// Waits, then processes and answers normally.
    Slow(Duration),
    /// 200 `application/json` with a truncated body, without processing.
    MalformedJson,
    /// Never answers and never processes: a code or refresh token sent
    /// with it stays unspent.
    Hold,
    /// Processes the request (spends the code, rotates the refresh token),
    /// then never answers: the client cannot know what happened.
    ProcessThenHold,
}

/// One request as the sandbox received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/v5/oauth/token`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in arrival order, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy UTF-8).
    pub body: String,
    /// When it arrived.
    pub at: SystemTime,
}

impl RecordedRequest {
    /// The body's parameters: a JSON object flattened to strings (one pair
    /// per array element), otherwise the body parsed as a form.
    pub fn form(&self) -> Vec<(String, String)> {
        if self.body.trim_start().starts_with('{')
            && let Some(pairs) = http::flatten_json_object(self.body.as_bytes())
        {
            return pairs;
        }
        http::parse_form(self.body.as_bytes())
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query string's parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        http::parse_form(self.query.as_deref().unwrap_or("").as_bytes())
    }
}

/// A running sandbox. Dropping it shuts the server down and closes every
/// connection, including held ones and idle keep-alive ones.
pub struct Sandbox {
    shared: Arc<Shared>,
    config: SandboxConfig,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.shared.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Self::start_on_port(config, 0).await
    }

    /// Like [`Sandbox::start`], on a chosen port of `127.0.0.1` (0 picks
    /// one); for the `broker-sandbox` binary's `--port`.
    pub async fn start_on_port(config: SandboxConfig, port: u16) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(&config, base_url, shutdown_rx.clone()));
        let app = axum::Router::new()
            .fallback(server::entry)
            .with_state(Arc::clone(&shared));
        let listener = ClosingListener {
            inner: listener,
            shutdown: shutdown_rx,
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox {
            shared,
            config,
            shutdown_tx,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash. Pinterest's
    /// authorize page and API, and the Mastodon instance, all live here.
    pub fn base_url(&self) -> Url {
        self.shared.base_url.clone()
    }

    /// The configuration the sandbox was started with (later changes made
    /// through setters are not reflected).
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The registered Pinterest app's id.
    pub fn pinterest_app_id(&self) -> &str {
        &self.config.pinterest_app_id
    }

    /// The registered Pinterest app's secret.
    pub fn pinterest_app_secret(&self) -> &str {
        &self.config.pinterest_app_secret
    }

    /// Registers one more exact redirect URI for the Pinterest app.
    pub fn add_pinterest_redirect_uri(&self, uri: &str) {
        self.shared.add_redirect_uri(uri);
    }

    /// The user who approves Pinterest consent from now on.
    pub fn set_pinterest_user(&self, username: &str) {
        self.shared.lock().pinterest_user = username.to_string();
    }

    /// The user who approves Mastodon consent from now on.
    pub fn set_mastodon_user(&self, username: &str) {
        self.shared.lock().mastodon_user = username.to_string();
    }

    /// Switches the Mastodon generation (takes effect immediately).
    pub fn set_mastodon_mode(&self, mode: MastodonMode) {
        self.shared.set_mastodon_mode(mode);
    }

    /// The instance forgets every registered app, with their codes and
    /// tokens: stored client ids then get `invalid_client`.
    pub fn forget_mastodon_apps(&self) {
        self.shared.forget_mastodon_apps();
    }

    /// The next `times` requests matching `target` get `fault`. Injections
    /// queue up and are consumed in order.
    pub fn inject(&self, target: FaultTarget, fault: Fault, times: usize) {
        self.shared.inject(target, fault, times);
    }

    /// The next authorize request (either provider) that passes validation
    /// is denied by the user: `error=access_denied` instead of a code.
    pub fn deny_next_consent(&self) {
        self.shared.lock().deny_next_consent = true;
    }

    /// Lifetimes for credentials issued from now on.
    pub fn set_lifetimes(&self, l: Lifetimes) {
        self.shared.set_lifetimes(l);
    }

    /// Every request received so far (except control requests), in order,
    /// including those that got a fault.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// How many recorded requests had this method and exact path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.shared.count(method, path)
    }

    /// How many token-endpoint requests (any provider) had this `grant_type`.
    pub fn count_grant(&self, grant_type: &str) -> usize {
        self.shared.count_grant(grant_type)
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Whether `token` is an access token this sandbox issued that is still
    /// usable: unexpired and unrevoked (any provider).
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.shared.is_valid_access_token(token)
    }

    /// Stops the server and waits for it to stop.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
