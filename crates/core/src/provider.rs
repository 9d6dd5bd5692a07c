//! What a provider is: the few things that differ between Pinterest v5,
//! Pinterest v3 and a Mastodon instance. The flow engine and the CLI only
//! speak to this trait.

use async_trait::async_trait;
use oauth2::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RefreshToken,
};
use url::Url;

use crate::{Endpoint, Error, HttpClient, TokenSet};

/// What goes into an authorization URL.
pub struct AuthorizationRequest<'a> {
    /// Where the provider sends the browser back.
    pub redirect_uri: &'a str,
    /// Requested scopes.
    pub scopes: &'a [String],
    /// The anti-CSRF value.
    pub state: &'a CsrfToken,
    /// Present when the provider takes PKCE.
    pub pkce_challenge: Option<&'a PkceCodeChallenge>,
    /// Ask the provider to show its login form even with a session
    /// (Mastodon `force_login`), for a second account.
    pub force_login: bool,
}

/// A code to exchange.
pub struct CodeGrant<'a> {
    /// The code from the callback or the paste.
    pub code: AuthorizationCode,
    /// The exact redirect URI used at the authorization step.
    pub redirect_uri: &'a str,
    /// The PKCE verifier, when a challenge was sent.
    pub pkce_verifier: Option<PkceCodeVerifier>,
}

/// Who a token belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    /// The user name the account is named after.
    pub username: String,
    /// The provider's id for the user.
    pub id: Option<String>,
    /// A display name, where there is one.
    pub display_name: Option<String>,
    /// The provider's answer, for `whoami --json` (never contains a secret).
    pub details: serde_json::Value,
}

/// A request to register a client (Mastodon `POST /api/v1/apps`).
pub struct RegistrationRequest<'a> {
    /// Shown to the user on the consent page.
    pub client_name: &'a str,
    /// Every redirect URI the client will use.
    pub redirect_uris: &'a [String],
    /// Every scope the client may ask for.
    pub scopes: &'a [String],
    /// The client's home page.
    pub website: Option<&'a str>,
}

/// A registered client.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    /// The public id.
    pub client_id: ClientId,
    /// The secret; redacted in `Debug`.
    pub client_secret: ClientSecret,
    /// Scopes the registration covers.
    pub scopes: Vec<String>,
    /// Redirect URIs the registration covers.
    pub redirect_uris: Vec<String>,
}

/// One OAuth2 provider (or one API version of one).
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider part of account ids: `pinterest`, `pinterest-v3`,
    /// `mastodon`.
    fn id(&self) -> &'static str;

    /// A name for people and error messages ("Pinterest", "mstdn.jp").
    fn display_name(&self) -> String;

    /// The API base or instance origin this provider talks to.
    fn instance(&self) -> &Endpoint;

    /// The authorization server's issuer identifier, when known (from RFC
    /// 8414 metadata). An authorization response carrying `iss` must name
    /// it (RFC 9207): the defence against a mix-up between servers.
    fn issuer(&self) -> Option<String> {
        None
    }

    /// Whether to send PKCE (S256) with the authorization request.
    fn uses_pkce(&self) -> bool;

    /// The authorization URL the browser opens.
    fn authorization_url(&self, req: &AuthorizationRequest<'_>) -> Result<Url, Error>;

    /// Exchanges an authorization code for tokens.
    async fn exchange_code(
        &self,
        http: &HttpClient,
        grant: CodeGrant<'_>,
    ) -> Result<TokenSet, Error>;

    /// Whether tokens from this provider can be refreshed.
    fn can_refresh(&self) -> bool {
        false
    }

    /// Uses a refresh token. Where the provider rotates refresh tokens, the
    /// returned set carries the new one, and the old one is spent.
    async fn refresh(
        &self,
        _http: &HttpClient,
        _refresh_token: &RefreshToken,
    ) -> Result<TokenSet, Error> {
        Err(Error::Unsupported(format!(
            "{} does not issue refresh tokens; log in again instead",
            self.display_name()
        )))
    }

    /// Gets an app-only token with the client-credentials grant, where the
    /// provider offers one; it is also how such a token is renewed, since
    /// it comes without a refresh token.
    async fn client_credentials(
        &self,
        _http: &HttpClient,
        _scopes: &[String],
    ) -> Result<TokenSet, Error> {
        Err(Error::Unsupported(format!(
            "{} does not offer app-only tokens to this app",
            self.display_name()
        )))
    }

    /// Asks the provider who the token belongs to.
    async fn identity(&self, http: &HttpClient, token: &AccessToken) -> Result<Identity, Error>;

    /// Whether this provider needs a client registered before a login
    /// (Mastodon registers an app per instance).
    fn needs_registration(&self) -> bool {
        false
    }

    /// Registers a client; the caller keeps the result and reuses it.
    async fn register_client(
        &self,
        _http: &HttpClient,
        _req: &RegistrationRequest<'_>,
    ) -> Result<ClientRegistration, Error> {
        Err(Error::Unsupported(format!(
            "{} does not register clients; create an app on its developer site",
            self.display_name()
        )))
    }

    /// Whether tokens can be revoked at the provider.
    fn can_revoke(&self) -> bool {
        false
    }

    /// Revokes tokens at the provider.
    async fn revoke(&self, _http: &HttpClient, _tokens: &TokenSet) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "{} does not offer token revocation to this app",
            self.display_name()
        )))
    }
}
