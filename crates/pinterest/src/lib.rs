//! Pinterest as a broker provider: API v5 (current) and v3 (deprecated, for
//! apps that still need it).
//!
//! Both versions share the consent page and the app credentials; they differ
//! in everything after it (token endpoint, method, response shape, scope
//! names, identity call), so each lives in its own module and [`Pinterest`]
//! only dispatches. Protocol facts and their sources are in the project's
//! Pinterest fact sheet; the user-facing story is `docs/pinterest.md`.
//!
//! Every request goes through [`broker_core::HttpClient`], which refuses to
//! follow redirects, retries only what cannot have been processed (a 500 on
//! a code exchange is not retried: the code may be spent), and scrubs what
//! we mark secret from any error it keeps.

#![deny(missing_docs)]

mod errors;
mod scopes;
mod v3;
mod v5;

use async_trait::async_trait;
use broker_core::{
    AccessToken, AuthorizationRequest, ClientSecret, CodeGrant, Endpoint, Error, HttpClient,
    Identity, Provider, RefreshToken, TokenSet,
};
use url::Url;

pub use scopes::{DEFAULT_V3_SCOPES, DEFAULT_V5_SCOPES, V3_SCOPES, V5_SCOPES};

/// Where the browser goes to approve an app (both API versions).
pub const PRODUCTION_AUTHORIZE_URL: &str = "https://www.pinterest.com/oauth/";
/// The API origin; v5 paths are `/v5/...`, v3 paths `/v3/...`.
pub const PRODUCTION_API_BASE: &str = "https://api.pinterest.com";
/// Pinterest's sandbox API origin (`--sandbox`). Consent still happens at
/// [`PRODUCTION_AUTHORIZE_URL`]: no separate sandbox consent page is
/// documented.
pub const SANDBOX_API_BASE: &str = "https://api-sandbox.pinterest.com";
/// The redirect URI Pinterest's own quickstart registers; the app settings
/// must list it character for character.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8085/";

/// The name Pinterest goes by in error messages, whatever the API version.
pub(crate) const PROVIDER_NAME: &str = "Pinterest";

/// Which Pinterest API a login is for. Tokens of one are useless with the
/// other, so each is a provider of its own with its own account ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// API v5, the current one.
    V5,
    /// API v3, deprecated by Pinterest.
    V3,
}

impl ApiVersion {
    /// The provider part of account ids: `pinterest` or `pinterest-v3`.
    pub fn provider_id(self) -> &'static str {
        match self {
            ApiVersion::V5 => "pinterest",
            ApiVersion::V3 => "pinterest-v3",
        }
    }

    /// The scopes a login asks for when the user names none.
    pub fn default_scopes(self) -> Vec<String> {
        let defaults = match self {
            ApiVersion::V5 => DEFAULT_V5_SCOPES,
            ApiVersion::V3 => DEFAULT_V3_SCOPES,
        };
        defaults.iter().map(|s| s.to_string()).collect()
    }

    /// The scope the identity call needs (`/v5/user_account`,
    /// `/v3/users/me/`): broker names accounts after the user, so a login
    /// without it would fail after the user approved.
    pub fn identity_scope(self) -> &'static str {
        match self {
            ApiVersion::V5 => "user_accounts:read",
            ApiVersion::V3 => "read_users",
        }
    }

    /// Checks scope names before anything is sent. An entry may hold several
    /// names separated by commas or spaces. The error ([`Error::Config`])
    /// names each unknown scope, hints when it belongs to the other API
    /// version (or to the retired v1), and lists the valid names.
    pub fn validate_scopes(self, scopes: &[String]) -> Result<(), Error> {
        scopes::validate(self, scopes)
    }

    /// The command that starts a new login for this version, for hints.
    pub(crate) fn login_command(self) -> &'static str {
        match self {
            ApiVersion::V5 => "broker login pinterest",
            ApiVersion::V3 => "broker login pinterest --api v3",
        }
    }
}

/// The app and the endpoints a [`Pinterest`] provider uses.
#[derive(Clone, Debug)]
pub struct PinterestConfig {
    /// The app id from developers.pinterest.com (`PINTEREST_APP_ID`).
    pub app_id: String,
    /// The app secret (`PINTEREST_APP_SECRET`); redacted in `Debug`.
    pub app_secret: ClientSecret,
    /// The consent page.
    pub authorize_url: Endpoint,
    /// The API origin (token, revoke and identity calls).
    pub api_base: Endpoint,
    /// Send PKCE (S256) with v5 logins. Pinterest does not document PKCE,
    /// but accepts it (Auth.js sends it by default); it costs nothing and
    /// protects a code intercepted on its way to the loopback listener.
    /// This switch exists in case Pinterest ever refuses it. Ignored for v3.
    pub pkce: bool,
    /// Ask for a continuous refresh token (60 days, renewed at every
    /// refresh) on v5 code exchanges. Apps created before 2025-09-25 get a
    /// legacy one-year token without it, which Pinterest no longer supports.
    pub continuous_refresh: bool,
}

impl PinterestConfig {
    /// The production endpoints, PKCE and continuous refresh on.
    pub fn new(app_id: impl Into<String>, app_secret: ClientSecret) -> PinterestConfig {
        PinterestConfig {
            app_id: app_id.into(),
            app_secret,
            authorize_url: Endpoint::parse("Pinterest authorization", PRODUCTION_AUTHORIZE_URL)
                .expect("the production authorize URL is https"),
            api_base: Endpoint::parse("Pinterest API", PRODUCTION_API_BASE)
                .expect("the production API base is https"),
            pkce: true,
            continuous_refresh: true,
        }
    }
}

/// Pinterest, one API version of it.
#[derive(Clone, Debug)]
pub struct Pinterest {
    version: ApiVersion,
    config: PinterestConfig,
}

impl Pinterest {
    /// A provider for `version` with `config`.
    pub fn new(version: ApiVersion, config: PinterestConfig) -> Pinterest {
        Pinterest { version, config }
    }

    /// Which API version this provider speaks.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// A token for the app owner's own account without a browser (v5
    /// `client_credentials` grant). No refresh token comes with it: ask
    /// again when it expires. An empty `scopes` means the defaults. v3 has
    /// no such grant ([`Error::Unsupported`]).
    pub async fn client_credentials(
        &self,
        http: &HttpClient,
        scopes: &[String],
    ) -> Result<TokenSet, Error> {
        match self.version {
            ApiVersion::V5 => v5::client_credentials(&self.config, http, scopes).await,
            ApiVersion::V3 => Err(Error::Unsupported(
                "Pinterest API v3 has no client-credentials grant; use API v5 (drop --api v3)"
                    .to_string(),
            )),
        }
    }
}

/// The consent-page URL both versions start from: the documented parameter
/// names (`client_id`, not the quickstart's legacy `consumer_id`), properly
/// encoded, scopes comma-separated. Pinterest has no `force_login`
/// equivalent, so that request field is ignored.
pub(crate) fn base_authorization_url(
    version: ApiVersion,
    config: &PinterestConfig,
    req: &AuthorizationRequest<'_>,
) -> Url {
    let scope = scopes::requested(version, req.scopes).join(",");
    let mut url = config.authorize_url.url().clone();
    url.query_pairs_mut()
        .append_pair("client_id", &config.app_id)
        .append_pair("redirect_uri", req.redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &scope)
        .append_pair("state", req.state.secret());
    url
}

#[async_trait]
impl Provider for Pinterest {
    fn id(&self) -> &'static str {
        self.version.provider_id()
    }

    fn display_name(&self) -> String {
        match self.version {
            ApiVersion::V5 => "Pinterest".to_string(),
            ApiVersion::V3 => "Pinterest (API v3)".to_string(),
        }
    }

    fn instance(&self) -> &Endpoint {
        &self.config.api_base
    }

    fn uses_pkce(&self) -> bool {
        // v3 predates PKCE anywhere at Pinterest; sending it there is a
        // gamble with nothing to win.
        self.config.pkce && self.version == ApiVersion::V5
    }

    fn authorization_url(&self, req: &AuthorizationRequest<'_>) -> Result<Url, Error> {
        Ok(match self.version {
            ApiVersion::V5 => v5::authorization_url(&self.config, req),
            ApiVersion::V3 => v3::authorization_url(&self.config, req),
        })
    }

    async fn exchange_code(
        &self,
        http: &HttpClient,
        grant: CodeGrant<'_>,
    ) -> Result<TokenSet, Error> {
        match self.version {
            ApiVersion::V5 => v5::exchange_code(&self.config, http, grant).await,
            ApiVersion::V3 => v3::exchange_code(&self.config, http, grant).await,
        }
    }

    fn can_refresh(&self) -> bool {
        true
    }

    async fn refresh(
        &self,
        http: &HttpClient,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, Error> {
        match self.version {
            ApiVersion::V5 => v5::refresh(&self.config, http, refresh_token).await,
            ApiVersion::V3 => v3::refresh(&self.config, http, refresh_token).await,
        }
    }

    async fn client_credentials(
        &self,
        http: &HttpClient,
        scopes: &[String],
    ) -> Result<TokenSet, Error> {
        Pinterest::client_credentials(self, http, scopes).await
    }

    async fn identity(&self, http: &HttpClient, token: &AccessToken) -> Result<Identity, Error> {
        match self.version {
            ApiVersion::V5 => v5::identity(&self.config, http, token).await,
            ApiVersion::V3 => v3::identity(&self.config, http, token).await,
        }
    }

    fn can_revoke(&self) -> bool {
        self.version == ApiVersion::V5
    }

    async fn revoke(&self, http: &HttpClient, tokens: &TokenSet) -> Result<(), Error> {
        match self.version {
            ApiVersion::V5 => v5::revoke(&self.config, http, tokens).await,
            ApiVersion::V3 => Err(Error::Unsupported(
                "Pinterest API v3 has no revocation endpoint; remove the app's access in your Pinterest account settings instead"
                    .to_string(),
            )),
        }
    }
}
