//! Everything the sandbox remembers: the registered apps, issued codes and
//! tokens, the injected faults and the request log. One `std::sync::Mutex`
//! guards it all; every handler does its work synchronously under the lock
//! and never awaits while holding it, so requests see a consistent world
//! (a code is spent exactly once even under concurrent exchanges).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::watch;
use url::Url;

use crate::common::now;
use crate::faults::Injection;
use crate::{Fault, FaultTarget, Lifetimes, MastodonMode, RecordedRequest, SandboxConfig};

/// State shared by the server tasks and the `Sandbox` handle.
pub(crate) struct Shared {
    pub(crate) app_id: String,
    pub(crate) app_secret: String,
    /// `http://127.0.0.1:PORT/`, also the Mastodon instance origin.
    pub(crate) base_url: Url,
    /// Flips to `true` (or its sender drops) when the sandbox shuts down;
    /// held requests and open connections watch it.
    pub(crate) shutdown: watch::Receiver<bool>,
    state: Mutex<State>,
}

/// Which Pinterest API a grant belongs to; codes and tokens of one are
/// worthless at the other's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PinApi {
    V5,
    V3,
}

pub(crate) struct PinCode {
    pub(crate) api: PinApi,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) refreshable: bool,
    pub(crate) expires_at: SystemTime,
    pub(crate) used: bool,
    /// The grant family created when the code was redeemed, so that a
    /// replay can revoke what it produced (RFC 6749 section 4.1.2).
    pub(crate) family: Option<u64>,
}

/// Who a Pinterest access token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PinTokenKind {
    V5User,
    V3User,
    /// A v5 client-credentials token: acts as the app owner.
    AppOwner,
}

pub(crate) struct PinAccess {
    pub(crate) kind: PinTokenKind,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: SystemTime,
    pub(crate) revoked: bool,
    pub(crate) family: Option<u64>,
}

pub(crate) struct PinRefresh {
    pub(crate) api: PinApi,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: SystemTime,
    /// Replaced by a newer refresh token; presenting it again is treated as
    /// theft and revokes the family.
    pub(crate) rotated: bool,
    pub(crate) revoked: bool,
    pub(crate) family: u64,
}

#[derive(Default)]
pub(crate) struct PinterestState {
    pub(crate) codes: HashMap<String, PinCode>,
    pub(crate) access: HashMap<String, PinAccess>,
    pub(crate) refresh: HashMap<String, PinRefresh>,
    pub(crate) revoked_families: HashSet<u64>,
    pub(crate) next_family: u64,
}

impl PinterestState {
    pub(crate) fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    pub(crate) fn family_revoked(&self, family: Option<u64>) -> bool {
        family.is_some_and(|f| self.revoked_families.contains(&f))
    }

    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.revoked_families.insert(family);
        for t in self
            .access
            .values_mut()
            .filter(|t| t.family == Some(family))
        {
            t.revoked = true;
        }
        for t in self.refresh.values_mut().filter(|t| t.family == family) {
            t.revoked = true;
        }
    }

    /// The access token if it is usable right now.
    pub(crate) fn live_access(&self, token: &str) -> Option<&PinAccess> {
        self.access
            .get(token)
            .filter(|t| !t.revoked && now() < t.expires_at && !self.family_revoked(t.family))
    }
}

pub(crate) struct MastoApp {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) website: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) client_secret: String,
    pub(crate) vapid_key: String,
}

pub(crate) struct MastoCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) user: String,
    pub(crate) challenge: Option<String>,
    pub(crate) expires_at: SystemTime,
    pub(crate) used: bool,
}

pub(crate) struct MastoToken {
    pub(crate) client_id: String,
    /// `None` for a client-credentials (app) token.
    pub(crate) user: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_at: u64,
    pub(crate) revoked: bool,
}

#[derive(Default)]
pub(crate) struct MastodonState {
    pub(crate) apps: HashMap<String, MastoApp>,
    pub(crate) next_app_id: u64,
    pub(crate) codes: HashMap<String, MastoCode>,
    pub(crate) tokens: HashMap<String, MastoToken>,
    /// Times of registration requests inside the rate-limit window.
    pub(crate) registrations: VecDeque<SystemTime>,
}

impl MastodonState {
    /// The token if it is usable: Mastodon tokens never expire, they are
    /// only revoked or die with their app.
    pub(crate) fn live_token(&self, token: &str) -> Option<&MastoToken> {
        self.tokens
            .get(token)
            .filter(|t| !t.revoked && self.apps.contains_key(&t.client_id))
    }
}

pub(crate) struct State {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) mastodon_mode: MastodonMode,
    pub(crate) registration_limit: u32,
    pub(crate) pinterest_user: String,
    pub(crate) mastodon_user: String,
    pub(crate) deny_next_consent: bool,
    pub(crate) faults: VecDeque<Injection>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) pin: PinterestState,
    pub(crate) masto: MastodonState,
}

/// Token endpoints of every provider, for `count_grant`.
pub(crate) const TOKEN_PATHS: &[&str] = &[
    "/v5/oauth/token",
    "/v3/oauth/access_token/",
    "/oauth/token",
    "/oauth/token/",
];

impl Shared {
    pub(crate) fn new(
        config: &SandboxConfig,
        base_url: Url,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            app_id: config.pinterest_app_id.clone(),
            app_secret: config.pinterest_app_secret.clone(),
            base_url,
            shutdown,
            state: Mutex::new(State {
                redirect_uris: config.pinterest_redirect_uris.clone(),
                lifetimes: config.lifetimes,
                mastodon_mode: config.mastodon_mode,
                registration_limit: config.registration_limit,
                pinterest_user: "sandbox_pinner".to_string(),
                mastodon_user: "sandbox_tooter".to_string(),
                deny_next_consent: false,
                faults: VecDeque::new(),
                requests: Vec::new(),
                pin: PinterestState {
                    next_family: 0,
                    ..PinterestState::default()
                },
                masto: MastodonState {
                    next_app_id: 563_419,
                    ..MastodonState::default()
                },
            }),
        }
    }

    /// The state; a panic in another handler must not wedge the sandbox,
    /// so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The base URL without its trailing slash, for building endpoint URLs.
    pub(crate) fn origin(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_string()
    }

    pub(crate) fn add_redirect_uri(&self, uri: &str) {
        let mut st = self.lock();
        if !st.redirect_uris.iter().any(|u| u == uri) {
            st.redirect_uris.push(uri.to_string());
        }
    }

    pub(crate) fn inject(&self, target: FaultTarget, fault: Fault, times: usize) {
        if times > 0 {
            self.lock().faults.push_back(Injection {
                target,
                fault,
                remaining: times,
            });
        }
    }

    pub(crate) fn set_lifetimes(&self, l: Lifetimes) {
        self.lock().lifetimes = l;
    }

    pub(crate) fn set_mastodon_mode(&self, mode: MastodonMode) {
        self.lock().mastodon_mode = mode;
    }

    pub(crate) fn forget_mastodon_apps(&self) {
        let mut st = self.lock();
        st.masto.apps.clear();
        st.masto.codes.clear();
        st.masto.tokens.clear();
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    pub(crate) fn count_grant(&self, grant_type: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| TOKEN_PATHS.contains(&r.path.as_str()))
            .filter(|r| {
                r.form()
                    .iter()
                    .any(|(k, v)| k == "grant_type" && v == grant_type)
            })
            .count()
    }

    pub(crate) fn is_valid_access_token(&self, token: &str) -> bool {
        let st = self.lock();
        st.pin.live_access(token).is_some() || st.masto.live_token(token).is_some()
    }
}
