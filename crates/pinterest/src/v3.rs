//! API v3, deprecated by Pinterest but still used by older apps. It shares
//! v5's consent page and app credentials, and little else:
//!
//! - the token endpoint is `PUT /v3/oauth/access_token/`, for both the code
//!   exchange and the refresh;
//! - the answer wraps its data in a `{"status": ..., "data": ...}` envelope,
//!   with the refresh token nested in `data` and the scopes comma-separated;
//! - there is no expiry in the answer (so `expires_at` stays unknown), and
//!   the refresh token does not rotate;
//! - the consent URL needs `refreshable=true`, or no refresh token comes
//!   back at all;
//! - there is no PKCE, no client-credentials grant and no revocation.

use std::time::SystemTime;

use broker_core::error::{Operation, clean_text};
use broker_core::{
    AccessToken, AuthorizationRequest, CodeGrant, Endpoint, Error, FormRequest, HttpClient,
    Identity, Method, RefreshToken, Response, TokenSet,
};
use serde_json::{Map, Value};
use url::Url;

use crate::errors::explain;
use crate::v5::text;
use crate::{ApiVersion, PROVIDER_NAME, PinterestConfig, base_authorization_url};

const TOKEN_CALL: &str = "Pinterest's v3 token endpoint";

/// The consent URL; `refreshable=true` is what makes v3 issue a refresh
/// token.
pub(crate) fn authorization_url(config: &PinterestConfig, req: &AuthorizationRequest<'_>) -> Url {
    let mut url = base_authorization_url(ApiVersion::V3, config, req);
    url.query_pairs_mut().append_pair("refreshable", "true");
    url
}

fn token_endpoint(config: &PinterestConfig) -> Endpoint {
    config.api_base.join("v3/oauth/access_token/")
}

/// A token call. The body is a form, not JSON: Pinterest's quickstart
/// disagrees with itself (its bash script says JSON "is necessary", its
/// Python client sends a form and its tests assert that), but a form is what
/// RFC 6749 specifies, what v5 takes, and what the Python client that
/// Pinterest tested against the live API sent.
fn token_request<'a>(
    config: &'a PinterestConfig,
    url: &'a Endpoint,
    operation: Operation,
    grant_type: &'a str,
) -> FormRequest<'a> {
    FormRequest::new(PROVIDER_NAME, operation, Method::Put, url)
        .basic_auth(&config.app_id, config.app_secret.secret())
        .field("grant_type", grant_type)
}

/// `grant_type=authorization_code`.
pub(crate) async fn exchange_code(
    config: &PinterestConfig,
    http: &HttpClient,
    grant: CodeGrant<'_>,
) -> Result<TokenSet, Error> {
    let url = token_endpoint(config);
    let req = token_request(config, &url, Operation::CodeExchange, "authorization_code")
        .secret("code", grant.code.secret())
        .field("redirect_uri", grant.redirect_uri);
    let secrets = [config.app_secret.secret().as_str(), grant.code.secret()];
    let resp = send(http, &req, &secrets).await?;
    token_from_json(&resp.body, SystemTime::now())
}

/// `grant_type=refresh_token`. v3 answers with a new access token only; the
/// refresh token stays valid, so the returned set carries the one we used
/// (the caller cannot tell a non-rotating provider from a lost token).
pub(crate) async fn refresh(
    config: &PinterestConfig,
    http: &HttpClient,
    refresh_token: &RefreshToken,
) -> Result<TokenSet, Error> {
    let url = token_endpoint(config);
    let req = token_request(config, &url, Operation::Refresh, "refresh_token")
        .secret("refresh_token", refresh_token.secret());
    let secrets = [config.app_secret.secret().as_str(), refresh_token.secret()];
    let resp = send(http, &req, &secrets).await?;
    let mut tokens = token_from_json(&resp.body, SystemTime::now())?;
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = Some(refresh_token.clone());
    }
    Ok(tokens)
}

/// `GET /v3/users/me/`.
pub(crate) async fn identity(
    config: &PinterestConfig,
    http: &HttpClient,
    token: &AccessToken,
) -> Result<Identity, Error> {
    let url = config.api_base.join("v3/users/me/");
    let req = FormRequest::new(PROVIDER_NAME, Operation::Identity, Method::Get, &url)
        .bearer(token.secret());
    let resp = send(http, &req, &[token.secret()]).await?;
    identity_from_json(&resp.body)
}

/// Sends a v3 call. v3 can report a failure inside a 200 (`"status":
/// "failure"`), which becomes the same provider error as a non-2xx answer.
/// Its envelope puts the specific reason in `data` ("Invalid Application
/// ID", "The authorization code has expired") next to a generic `message`,
/// and core keeps only the message, so the reason is added here, scrubbed
/// of `secrets` (what the request carried) like the rest.
async fn send(
    http: &HttpClient,
    req: &FormRequest<'_>,
    secrets: &[&str],
) -> Result<Response, Error> {
    let resp = http
        .send_any(req)
        .await
        .map_err(|e| explain(ApiVersion::V3, e))?;
    let body: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let reported_failure = body
        .as_ref()
        .and_then(|v| v.get("status"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("failure"));
    if (200..300).contains(&resp.status) && !reported_failure {
        return Ok(resp);
    }
    let mut err = http.provider_error(req, &resp);
    let data = body
        .as_ref()
        .and_then(|v| v.get("data"))
        .and_then(Value::as_str)
        .map(|d| clean_text(d.trim(), 200))
        .filter(|d| !d.is_empty() && err.description.as_deref() != Some(d.as_str()));
    if let Some(data) = data {
        err.description = Some(match err.description.take() {
            Some(d) => format!("{}: {data}", d.trim_end_matches('.')),
            None => data,
        });
        err = err.scrub(secrets);
    }
    Err(explain(ApiVersion::V3, Error::Provider(err)))
}

/// Reshapes a v3 token answer into RFC 6749's, then reads it with core's
/// strict parser, so both versions obey the same rules.
fn token_from_json(body: &[u8], now: SystemTime) -> Result<TokenSet, Error> {
    let protocol = |detail: &str| Error::Protocol {
        what: TOKEN_CALL.to_string(),
        detail: detail.to_string(),
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| protocol("the token response is not JSON"))?;
    let map = value
        .as_object()
        .ok_or_else(|| protocol("the token response is not a JSON object"))?;
    let mut flat = Map::new();
    for key in ["access_token", "token_type", "scope", "expires_in"] {
        if let Some(v) = map.get(key) {
            flat.insert(key.to_string(), v.clone());
        }
    }
    let refresh = map
        .get("data")
        .and_then(|d| d.get("refresh_token"))
        .or_else(|| map.get("refresh_token"));
    if let Some(r) = refresh {
        flat.insert("refresh_token".to_string(), r.clone());
    }
    TokenSet::from_object(TOKEN_CALL, &flat, now)
}

fn identity_from_json(body: &[u8]) -> Result<Identity, Error> {
    let protocol = |detail: &str| Error::Protocol {
        what: "Pinterest's v3 users/me endpoint".to_string(),
        detail: detail.to_string(),
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| protocol("the answer is not JSON"))?;
    let data = value
        .get("data")
        .filter(|d| d.is_object())
        .cloned()
        .ok_or_else(|| protocol("the answer has no data object"))?;
    let id = text(data.get("id"));
    // v3 has no username field; the profile URL ends with it
    // (https://www.pinterest.com/alice/).
    let from_profile = text(data.get("profile_url")).and_then(|u| {
        Url::parse(&u)
            .ok()?
            .path_segments()?
            .rfind(|s| !s.is_empty())
            .map(str::to_owned)
    });
    let username = from_profile
        .or_else(|| id.clone())
        .ok_or_else(|| protocol("the answer has neither a profile_url nor an id"))?;
    Ok(Identity {
        username,
        id,
        display_name: text(data.get("full_name")),
        details: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nested_refresh_token_and_comma_scopes_are_read() {
        let t = token_from_json(
            br#"{"status":"success","scope":"read_users,read_pins","access_token":"AT","data":{"refresh_token":"RT"}}"#,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(t.access_token.secret(), "AT");
        assert_eq!(t.refresh_token.unwrap().secret(), "RT");
        assert_eq!(t.scopes, ["read_users", "read_pins"]);
        assert_eq!(t.expires_at, None);
        assert!(token_from_json(br#"{"status":"success","data":{}}"#, SystemTime::now()).is_err());
    }

    #[test]
    fn the_username_comes_from_the_profile_url() {
        let who = identity_from_json(
            br#"{"data":{"id":"42","full_name":"Alice A","profile_url":"https://www.pinterest.com/alice/"}}"#,
        )
        .unwrap();
        assert_eq!(who.username, "alice");
        assert_eq!(who.id.as_deref(), Some("42"));
        assert_eq!(who.display_name.as_deref(), Some("Alice A"));
        let who = identity_from_json(br#"{"data":{"id":42}}"#).unwrap();
        assert_eq!(who.username, "42");
        assert!(identity_from_json(br#"{"data":{}}"#).is_err());
    }
}
