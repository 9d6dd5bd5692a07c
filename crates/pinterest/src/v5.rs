//! API v5, the current Pinterest API: an OAuth2 server close to RFC 6749
//! with a few Pinterest habits.
//!
//! - The token endpoint takes the app credentials only as HTTP Basic, and
//!   a form body.
//! - Scopes go out comma-separated but come back space-separated (core's
//!   `parse_scopes` reads both).
//! - The refresh token rotates at every refresh; the new one is in the
//!   returned set, and the old one is spent.
//! - `continuous_refresh=true` on the code exchange asks for the 60-day,
//!   renewable refresh token; apps created before 2025-09-25 otherwise get
//!   the legacy one-year token, which Pinterest has retired.
//! - Revocation exists (`/v5/oauth/token/revoke`), though Pinterest says it
//!   works only for some apps.

use std::time::SystemTime;

use broker_core::error::{Operation, clean_text};
use broker_core::{
    AccessToken, AuthorizationRequest, CodeGrant, Endpoint, Error, FormRequest, HttpClient,
    Identity, Method, RefreshToken, TokenSet,
};
use serde_json::Value;
use url::Url;

use crate::errors::explain;
use crate::{ApiVersion, PROVIDER_NAME, PinterestConfig, base_authorization_url, scopes};

/// Names the token endpoint in protocol errors.
const TOKEN_CALL: &str = "Pinterest's token endpoint";

/// The consent URL, with the PKCE challenge when the flow made one.
pub(crate) fn authorization_url(config: &PinterestConfig, req: &AuthorizationRequest<'_>) -> Url {
    let mut url = base_authorization_url(ApiVersion::V5, config, req);
    if let Some(challenge) = req.pkce_challenge {
        url.query_pairs_mut()
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", challenge.method().as_str());
    }
    url
}

fn token_endpoint(config: &PinterestConfig) -> Endpoint {
    config.api_base.join("v5/oauth/token")
}

/// A token call: Basic client authentication plus the grant's fields.
fn token_request<'a>(
    config: &'a PinterestConfig,
    url: &'a Endpoint,
    operation: Operation,
    grant_type: &'a str,
) -> FormRequest<'a> {
    FormRequest::new(PROVIDER_NAME, operation, Method::Post, url)
        .basic_auth(&config.app_id, config.app_secret.secret())
        .field("grant_type", grant_type)
}

async fn send_token_request(http: &HttpClient, req: FormRequest<'_>) -> Result<TokenSet, Error> {
    let resp = http
        .send(&req)
        .await
        .map_err(|e| explain(ApiVersion::V5, e))?;
    TokenSet::from_json(TOKEN_CALL, &resp.body, SystemTime::now())
}

/// `grant_type=authorization_code`.
pub(crate) async fn exchange_code(
    config: &PinterestConfig,
    http: &HttpClient,
    grant: CodeGrant<'_>,
) -> Result<TokenSet, Error> {
    let url = token_endpoint(config);
    let mut req = token_request(config, &url, Operation::CodeExchange, "authorization_code")
        .secret("code", grant.code.secret())
        .field("redirect_uri", grant.redirect_uri);
    if config.continuous_refresh {
        req = req.field("continuous_refresh", "true");
    }
    if let Some(verifier) = &grant.pkce_verifier {
        req = req.secret("code_verifier", verifier.secret());
    }
    send_token_request(http, req).await
}

/// `grant_type=refresh_token`. The answer carries the rotated refresh token;
/// should it ever carry none, the set has none and the caller keeps the old
/// one (we cannot tell whether the old one still works).
pub(crate) async fn refresh(
    config: &PinterestConfig,
    http: &HttpClient,
    refresh_token: &RefreshToken,
) -> Result<TokenSet, Error> {
    let url = token_endpoint(config);
    let req = token_request(config, &url, Operation::Refresh, "refresh_token")
        .secret("refresh_token", refresh_token.secret());
    send_token_request(http, req).await
}

/// `grant_type=client_credentials`: the app owner's own token, no browser.
pub(crate) async fn client_credentials(
    config: &PinterestConfig,
    http: &HttpClient,
    scopes: &[String],
) -> Result<TokenSet, Error> {
    let scope = scopes::requested(ApiVersion::V5, scopes).join(",");
    let url = token_endpoint(config);
    let req = token_request(
        config,
        &url,
        Operation::ClientCredentials,
        "client_credentials",
    )
    .field("scope", &scope);
    send_token_request(http, req).await
}

/// `GET /v5/user_account`.
pub(crate) async fn identity(
    config: &PinterestConfig,
    http: &HttpClient,
    token: &AccessToken,
) -> Result<Identity, Error> {
    let url = config.api_base.join("v5/user_account");
    let req = FormRequest::new(PROVIDER_NAME, Operation::Identity, Method::Get, &url)
        .bearer(token.secret());
    let resp = http
        .send(&req)
        .await
        .map_err(|e| explain(ApiVersion::V5, e))?;
    identity_from_json(&resp.body)
}

fn identity_from_json(body: &[u8]) -> Result<Identity, Error> {
    let protocol = |detail: &str| Error::Protocol {
        what: "Pinterest's user_account endpoint".to_string(),
        detail: detail.to_string(),
    };
    let details: Value =
        serde_json::from_slice(body).map_err(|_| protocol("the answer is not JSON"))?;
    let id = text(details.get("id"));
    let username = text(details.get("username"))
        .or_else(|| id.clone())
        .ok_or_else(|| protocol("the answer has neither a username nor an id"))?;
    Ok(Identity {
        username,
        id,
        display_name: text(details.get("business_name")),
        details,
    })
}

/// A non-empty string or number, as printable text.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s = clean_text(s.trim(), 200);
    (!s.is_empty()).then_some(s)
}

/// RFC 7009-style revocation: the refresh token first (it can mint new
/// access tokens, so it matters most), then the access token. Both are
/// tried even if the first fails; the first failure is returned.
pub(crate) async fn revoke(
    config: &PinterestConfig,
    http: &HttpClient,
    tokens: &TokenSet,
) -> Result<(), Error> {
    let url = config.api_base.join("v5/oauth/token/revoke");
    let mut targets: Vec<(&str, &str)> = Vec::new();
    if let Some(refresh) = &tokens.refresh_token {
        targets.push((refresh.secret(), "refresh_token"));
    }
    targets.push((tokens.access_token.secret(), "access_token"));
    let mut first_error = None;
    for (token, hint) in targets {
        let req = FormRequest::new(PROVIDER_NAME, Operation::Revoke, Method::Post, &url)
            .basic_auth(&config.app_id, config.app_secret.secret())
            .secret("token", token)
            .field("token_type_hint", hint);
        // A 200 means done; its body, if any, means nothing.
        if let Err(e) = http.send(&req).await {
            first_error.get_or_insert(explain(ApiVersion::V5, e));
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_reads_the_account_and_falls_back_to_the_id() {
        let who = identity_from_json(
            br#"{"username":"alice","id":"123","business_name":"Alice Co","account_type":"BUSINESS"}"#,
        )
        .unwrap();
        assert_eq!(who.username, "alice");
        assert_eq!(who.id.as_deref(), Some("123"));
        assert_eq!(who.display_name.as_deref(), Some("Alice Co"));
        assert_eq!(who.details["account_type"], "BUSINESS");

        let who = identity_from_json(br#"{"id":123,"username":"","business_name":null}"#).unwrap();
        assert_eq!(who.username, "123");
        assert_eq!(who.display_name, None);

        assert!(matches!(
            identity_from_json(br#"{"about":"x"}"#),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(
            identity_from_json(b"<html>"),
            Err(Error::Protocol { .. })
        ));
    }
}
