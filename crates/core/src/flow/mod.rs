//! The authorization-code flow (RFC 6749 §4.1 with PKCE, RFC 7636), in three
//! steps: [`PendingAuthorization::new`] builds the URL the user opens; the
//! code comes back through the [`LoopbackListener`] or a pasted line; and
//! [`PendingAuthorization::complete`] exchanges it, once.
//!
//! A pending authorization is single-use (`complete` takes it by value, and
//! the PKCE verifier cannot be cloned) and short-lived (10 minutes, well
//! within the providers' code lifetimes).

mod loopback;
mod paste;

use std::time::{Duration, Instant};

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeVerifier};
use url::Url;

pub use loopback::LoopbackListener;
pub use paste::{PastedCode, parse_paste};

use crate::{AuthorizationRequest, CodeGrant, Endpoint, Error, HttpClient, Provider, TokenSet};

/// How long a started login may take before it must be started again.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// The out-of-band redirect URI: the provider shows the code on a page.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// A login in progress: the URL to open and the values that check what comes
/// back.
#[derive(Debug)]
pub struct PendingAuthorization {
    state: CsrfToken,
    verifier: Option<PkceCodeVerifier>,
    redirect_uri: String,
    authorize_url: Url,
    issuer: Option<String>,
    started: Instant,
}

impl PendingAuthorization {
    /// Starts a login with fresh `state` (and PKCE when the provider takes
    /// it). The authorization URL must be https (or loopback http), since the
    /// user types their password on it.
    pub fn new(
        provider: &dyn Provider,
        redirect_uri: &str,
        scopes: &[String],
        force_login: bool,
    ) -> Result<PendingAuthorization, Error> {
        let state = crate::new_state();
        let (challenge, verifier) = if provider.uses_pkce() {
            let (c, v) = crate::new_pkce_pair();
            (Some(c), Some(v))
        } else {
            (None, None)
        };
        let authorize_url = provider.authorization_url(&AuthorizationRequest {
            redirect_uri,
            scopes,
            state: &state,
            pkce_challenge: challenge.as_ref(),
            force_login,
        })?;
        let authorize_url = Endpoint::from_url("authorization", authorize_url)?
            .url()
            .clone();
        Ok(PendingAuthorization {
            state,
            verifier,
            redirect_uri: redirect_uri.to_string(),
            authorize_url,
            issuer: provider.issuer(),
            started: Instant::now(),
        })
    }

    /// The URL the user opens.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The redirect URI of this login.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether PKCE is in use.
    pub fn uses_pkce(&self) -> bool {
        self.verifier.is_some()
    }

    /// Waits for the browser to come back to `listener`.
    pub async fn receive(
        &self,
        listener: LoopbackListener,
        timeout: Duration,
    ) -> Result<AuthorizationCode, Error> {
        listener
            .wait_checked(&self.state, self.issuer.as_deref(), timeout)
            .await
    }

    /// Reads a pasted line (bare code, redirect address or query string).
    pub fn accept_paste(&self, line: &str) -> Result<PastedCode, Error> {
        self.check_age()?;
        parse_paste(
            line,
            &self.state,
            &self.redirect_uri,
            self.issuer.as_deref(),
        )
    }

    /// Exchanges the code. Takes the pending login by value: a code and a
    /// verifier are used once.
    pub async fn complete(
        self,
        provider: &dyn Provider,
        http: &HttpClient,
        code: AuthorizationCode,
    ) -> Result<TokenSet, Error> {
        self.check_age()?;
        provider
            .exchange_code(
                http,
                CodeGrant {
                    code,
                    redirect_uri: &self.redirect_uri,
                    pkce_verifier: self.verifier,
                },
            )
            .await
    }

    fn check_age(&self) -> Result<(), Error> {
        if self.started.elapsed() > PENDING_LIFETIME {
            Err(Error::PendingExpired {
                minutes: PENDING_LIFETIME.as_secs() / 60,
            })
        } else {
            Ok(())
        }
    }
}
