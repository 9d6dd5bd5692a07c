//! One Mastodon instance as a [`Provider`]: app registration, the
//! authorization URL, the code exchange, identity and revocation.
//!
//! Every request goes through [`HttpClient`], which retries only what the
//! server cannot have processed and scrubs what we sent from error texts.
//! Mastodon specifics live here:
//!
//! - An app (client id and secret) is registered per instance; the caller
//!   keeps it and hands it back through [`Mastodon::new`] or
//!   [`Mastodon::with_registration`].
//! - Tokens never expire and come without a refresh token, so nothing here
//!   invents an expiry: `expires_at` stays `None` unless a future server
//!   sends `expires_in`.
//! - PKCE only where the metadata advertises it (see [`crate::discovery`]).

use std::time::SystemTime;

use async_trait::async_trait;
use broker_core::error::Operation;
use broker_core::{
    AccessToken, AuthorizationRequest, ClientRegistration, CodeGrant, Endpoint, Error, FormRequest,
    HttpClient, Identity, Method, Provider, RegistrationRequest, Response, TokenSet,
};
use url::Url;

use crate::answers::{parse_identity, parse_registration};
use crate::{Instance, ServerInfo, covers, redirect_registered};

/// The identity endpoint (every Mastodon since 1.0).
const VERIFY_CREDENTIALS: &str = "api/v1/accounts/verify_credentials";

/// A Mastodon instance, with its app registration once there is one.
#[derive(Clone, Debug)]
pub struct Mastodon {
    instance: Instance,
    info: ServerInfo,
    registration: Option<ClientRegistration>,
}

impl Mastodon {
    /// A provider for `instance`, whose endpoints [`crate::discover`] found.
    /// `registration` is the stored app, if any.
    pub fn new(
        instance: Instance,
        info: ServerInfo,
        registration: Option<ClientRegistration>,
    ) -> Mastodon {
        Mastodon {
            instance,
            info,
            registration,
        }
    }

    /// The instance.
    pub fn instance_ref(&self) -> &Instance {
        &self.instance
    }

    /// Its endpoints and capabilities.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The app registration in use, if any.
    pub fn registration(&self) -> Option<&ClientRegistration> {
        self.registration.as_ref()
    }

    /// The same instance with a (new) app registration.
    pub fn with_registration(self, reg: ClientRegistration) -> Mastodon {
        Mastodon {
            registration: Some(reg),
            ..self
        }
    }

    /// Whether the instance still knows the stored app: `Ok(false)` when it
    /// answers `invalid_client`. One `client_credentials` request, made
    /// before the browser opens, because an unknown `client_id` at
    /// `/oauth/authorize` strands the user on an error page that never comes
    /// back to us.
    ///
    /// It also keeps an app alive on servers before 4.3, which deleted
    /// ("vacuumed") apps that held no token: the app token obtained here is
    /// that token. Mastodon hands the same one out again
    /// (`reuse_access_token`), so repeated checks do not pile tokens up.
    pub async fn verify_app(&self, http: &HttpClient) -> Result<bool, Error> {
        let reg = self.registration_or_err()?;
        let mut req = FormRequest::new(
            &self.instance.host,
            Operation::ClientCredentials,
            Method::Post,
            &self.info.token_endpoint,
        )
        .field("grant_type", "client_credentials")
        .field("client_id", reg.client_id.as_str())
        .secret("client_secret", reg.client_secret.secret());
        // Without `scope` the server asks for `read`, which an app registered
        // with only `profile` does not have: ask for one it does have.
        if let Some(scope) = reg.scopes.first() {
            req = req.field("scope", scope);
        }
        match http.send(&req).await {
            Ok(_) => Ok(true),
            Err(Error::Provider(p)) if p.is_invalid_client() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn registration_or_err(&self) -> Result<&ClientRegistration, Error> {
        self.registration.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "no app is registered with {} yet; register one first",
                self.instance.host
            ))
        })
    }

    fn protocol(&self, what: &str, detail: impl Into<String>) -> Error {
        Error::Protocol {
            what: format!("{} ({what})", self.instance.host),
            detail: detail.into(),
        }
    }

    /// A 429 from the registration endpoint, explained: Mastodon allows
    /// few registrations per address (5 per 10 minutes in recent versions).
    fn rate_limited(&self, http: &HttpClient, req: &FormRequest<'_>, resp: &Response) -> Error {
        let mut err = http.provider_error(req, resp);
        let reset = resp
            .headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .map(|s| broker_core::error::clean_text(s, 40));
        let when = match reset {
            Some(at) => format!("try again after {at}"),
            None => "try again in about ten minutes".to_string(),
        };
        err.description = Some(format!(
            "{} limits app registrations from one address (Mastodon allows about 5 per 10 minutes); {when}",
            self.instance.host
        ));
        Error::Provider(err)
    }
}

#[async_trait]
impl Provider for Mastodon {
    fn id(&self) -> &'static str {
        "mastodon"
    }

    fn display_name(&self) -> String {
        self.instance.host.clone()
    }

    fn instance(&self) -> &Endpoint {
        &self.instance.origin
    }

    fn issuer(&self) -> Option<String> {
        self.info.issuer.clone()
    }

    fn uses_pkce(&self) -> bool {
        // Servers before 4.3 refuse a code_verifier at the token endpoint.
        self.info.pkce_s256
    }

    fn authorization_url(&self, req: &AuthorizationRequest<'_>) -> Result<Url, Error> {
        let reg = self.registration_or_err()?;
        if req.scopes.is_empty() {
            return Err(Error::Config("no scope was requested".into()));
        }
        // These two would strand the user on the instance's error page, which
        // never comes back to us: catch them here. Empty lists mean "not
        // known" (a registration kept without them) and are not checked.
        if !reg.scopes.is_empty() && !covers(&reg.scopes, req.scopes) {
            return Err(Error::Config(format!(
                "the app registered with {} allows the scopes {:?}, not {:?}; register again with both",
                self.instance.host,
                reg.scopes.join(" "),
                req.scopes.join(" ")
            )));
        }
        if !reg.redirect_uris.is_empty()
            && !redirect_registered(&reg.redirect_uris, req.redirect_uri)
        {
            return Err(Error::Config(format!(
                "the app registered with {} does not allow the redirect URI {}; register again",
                self.instance.host, req.redirect_uri
            )));
        }
        let mut url = self.info.authorization_endpoint.url().clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", reg.client_id.as_str())
                .append_pair("redirect_uri", req.redirect_uri)
                .append_pair("scope", &req.scopes.join(" "))
                .append_pair("state", req.state.secret());
            if let Some(challenge) = req.pkce_challenge {
                q.append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", challenge.method().as_str());
            }
            if req.force_login {
                // Shows the login form even with a session, so that a second
                // account can log in (Mastodon 2.6+).
                q.append_pair("force_login", "true");
            }
        }
        Ok(url)
    }

    async fn exchange_code(
        &self,
        http: &HttpClient,
        grant: CodeGrant<'_>,
    ) -> Result<TokenSet, Error> {
        let reg = self.registration_or_err()?;
        let mut req = FormRequest::new(
            &self.instance.host,
            Operation::CodeExchange,
            Method::Post,
            &self.info.token_endpoint,
        )
        .field("grant_type", "authorization_code")
        .secret("code", grant.code.secret())
        .field("redirect_uri", grant.redirect_uri)
        .field("client_id", reg.client_id.as_str())
        .secret("client_secret", reg.client_secret.secret());
        if let Some(verifier) = &grant.pkce_verifier {
            req = req.secret("code_verifier", verifier.secret());
        }
        let resp = http.send(&req).await?;
        TokenSet::from_json(
            &format!("{} (the code exchange)", self.instance.host),
            &resp.body,
            SystemTime::now(),
        )
    }

    async fn identity(&self, http: &HttpClient, token: &AccessToken) -> Result<Identity, Error> {
        let url = self.instance.origin.join(VERIFY_CREDENTIALS);
        let req = FormRequest::new(&self.instance.host, Operation::Identity, Method::Get, &url)
            .bearer(token.secret());
        let resp = http.send(&req).await?;
        parse_identity(&resp.body).map_err(|d| self.protocol("the identity request", d))
    }

    fn needs_registration(&self) -> bool {
        true
    }

    async fn register_client(
        &self,
        http: &HttpClient,
        req: &RegistrationRequest<'_>,
    ) -> Result<ClientRegistration, Error> {
        // One string each: the server takes the first element of an array
        // of scopes, and only 4.3+ takes an array of redirect URIs.
        let redirect_uris = req.redirect_uris.join("\n");
        let scopes = req.scopes.join(" ");
        let mut form = FormRequest::new(
            &self.instance.host,
            Operation::Registration,
            Method::Post,
            &self.info.registration_endpoint,
        )
        .field("client_name", req.client_name)
        .field("redirect_uris", &redirect_uris)
        .field("scopes", &scopes);
        if let Some(website) = req.website {
            form = form.field("website", website);
        }
        let resp = http.send_any(&form).await?;
        match resp.status {
            200..=299 => parse_registration(&resp.body, req)
                .map_err(|d| self.protocol("the app registration", d)),
            429 => Err(self.rate_limited(http, &form, &resp)),
            _ => Err(Error::Provider(http.provider_error(&form, &resp))),
        }
    }

    fn can_revoke(&self) -> bool {
        true
    }

    async fn revoke(&self, http: &HttpClient, tokens: &TokenSet) -> Result<(), Error> {
        let reg = self.registration_or_err()?;
        let req = FormRequest::new(
            &self.instance.host,
            Operation::Revoke,
            Method::Post,
            &self.info.revocation_endpoint,
        )
        .field("client_id", reg.client_id.as_str())
        .secret("client_secret", reg.client_secret.secret())
        .secret("token", tokens.access_token.secret());
        // RFC 7009 §2.2: a 200 means done, whatever the body says.
        http.send(&req).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn registration() -> ClientRegistration {
        ClientRegistration {
            client_id: ClientId::new("cid".into()),
            client_secret: ClientSecret::new("APPSECRET".into()),
            scopes: strings(&["profile", "read"]),
            redirect_uris: crate::registration_redirect_uris(),
        }
    }

    fn provider(pkce: bool) -> Mastodon {
        let instance = Instance::parse("mstdn.jp").unwrap();
        let mut info = ServerInfo::classic(&instance);
        info.pkce_s256 = pkce;
        Mastodon::new(instance, info, Some(registration()))
    }

    fn request<'a>(
        redirect_uri: &'a str,
        scopes: &'a [String],
        state: &'a CsrfToken,
        challenge: Option<&'a PkceCodeChallenge>,
        force_login: bool,
    ) -> AuthorizationRequest<'a> {
        AuthorizationRequest {
            redirect_uri,
            scopes,
            state,
            pkce_challenge: challenge,
            force_login,
        }
    }

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn authorization_url_shape() {
        let state = CsrfToken::new("st".into());
        let scopes = strings(&["profile", "read"]);
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let url = provider(true)
            .authorization_url(&request(
                "http://127.0.0.1:4711/callback",
                &scopes,
                &state,
                Some(&challenge),
                true,
            ))
            .unwrap();
        assert_eq!(url.path(), "/oauth/authorize");
        assert_eq!(
            query(&url),
            [
                ("response_type", "code"),
                ("client_id", "cid"),
                ("redirect_uri", "http://127.0.0.1:4711/callback"),
                ("scope", "profile read"),
                ("state", "st"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                ),
                ("code_challenge_method", "S256"),
                ("force_login", "true"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(!url.as_str().contains("APPSECRET"));

        let url = provider(false)
            .authorization_url(&request(crate::OOB, &scopes, &state, None, false))
            .unwrap();
        let keys: Vec<String> = query(&url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state"
            ]
        );
    }

    #[test]
    fn authorization_url_refuses_what_the_instance_would_strand() {
        let state = CsrfToken::new("st".into());
        let p = provider(false);
        let err = p
            .authorization_url(&request(
                crate::OOB,
                &strings(&["read:accounts"]),
                &state,
                None,
                false,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("register again"), "{err}");
        let err = p
            .authorization_url(&request(
                "http://localhost:8085/",
                &strings(&["read"]),
                &state,
                None,
                false,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("redirect URI"), "{err}");
        let unregistered = Mastodon::new(p.instance.clone(), p.info.clone(), None);
        assert!(matches!(
            unregistered.authorization_url(&request(
                crate::OOB,
                &strings(&["read"]),
                &state,
                None,
                false
            )),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn provider_basics() {
        let p = provider(true);
        assert_eq!(p.id(), "mastodon");
        assert_eq!(p.display_name(), "mstdn.jp");
        assert_eq!(p.instance().to_string(), "https://mstdn.jp/");
        assert!(p.uses_pkce() && !provider(false).uses_pkce());
        assert!(p.needs_registration() && p.can_revoke() && !p.can_refresh());
        assert!(!format!("{p:?}").contains("APPSECRET"));
    }
}
