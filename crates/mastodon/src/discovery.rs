//! What an instance can do: its OAuth endpoints, its scopes, and whether it
//! takes PKCE.
//!
//! Mastodon 4.3 added an RFC 8414 metadata document at
//! `/.well-known/oauth-authorization-server`; older servers answer 404, and
//! other software may answer an HTML page. The document decides PKCE: a
//! server before 4.3 ignores a challenge at `/oauth/authorize` but refuses a
//! `code_verifier` at `/oauth/token` (`invalid_request`), so PKCE is sent
//! only where the metadata advertises `S256`, and `state` protects the rest.
//!
//! The document is trusted only if its `issuer` is the instance itself and
//! every endpoint it names lives on that same origin (RFC 8414 §3.3;
//! security checklist item 21). Otherwise a compromised or confused page
//! could send the user's password form, or our client secret, elsewhere.
//! An untrusted document is ignored and the classic paths are used, which
//! every Mastodon has had since 0.1. A network failure is not a reason to
//! guess: it is returned as an error.

use broker_core::error::Operation;
use broker_core::{Endpoint, Error, FormRequest, HttpClient, Method};
use serde_json::Value;
use url::Url;

use crate::Instance;

/// The metadata document's place (RFC 8414 §3).
const METADATA_PATH: &str = ".well-known/oauth-authorization-server";

/// Where an instance's OAuth endpoints are, and what it supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// Where the browser goes (`/oauth/authorize`).
    pub authorization_endpoint: Endpoint,
    /// Where codes are exchanged (`/oauth/token`).
    pub token_endpoint: Endpoint,
    /// Where tokens are revoked (`/oauth/revoke`).
    pub revocation_endpoint: Endpoint,
    /// Where apps are registered (`/api/v1/apps`).
    pub registration_endpoint: Endpoint,
    /// The scopes the server lists, when it publishes metadata.
    pub scopes_supported: Option<Vec<String>>,
    /// Whether the server takes PKCE with S256 (Mastodon 4.3+).
    pub pkce_s256: bool,
    /// Whether this came from a trusted metadata document rather than the
    /// classic paths.
    pub from_metadata: bool,
    /// The `issuer` of a trusted metadata document, exactly as published:
    /// an `iss` in an authorization response must equal it (RFC 9207).
    pub issuer: Option<String>,
}

impl ServerInfo {
    /// The classic paths every Mastodon has, without PKCE: what a server
    /// older than 4.3 (or one whose metadata we do not trust) gets.
    pub fn classic(instance: &Instance) -> ServerInfo {
        let at = |path: &str| instance.origin.join(path);
        ServerInfo {
            authorization_endpoint: at("oauth/authorize"),
            token_endpoint: at("oauth/token"),
            revocation_endpoint: at("oauth/revoke"),
            registration_endpoint: at("api/v1/apps"),
            scopes_supported: None,
            pkce_s256: false,
            issuer: None,
            from_metadata: false,
        }
    }
}

/// Reads the instance's metadata document, falling back to the classic
/// paths when there is none (404, an HTML page, not JSON) or when it fails
/// the checks (another issuer, an endpoint on another origin).
///
/// Errors: the network ([`Error::Network`]); a 429 or 5xx that outlasted
/// the retries ([`Error::Provider`]), since a failing server is no evidence
/// that it lacks PKCE and falling back would silently drop it.
pub async fn discover(http: &HttpClient, instance: &Instance) -> Result<ServerInfo, Error> {
    let url = instance.origin.join(METADATA_PATH);
    let req = FormRequest::new(&instance.host, Operation::Discovery, Method::Get, &url);
    let resp = http.send_any(&req).await?;
    if resp.status == 429 || resp.status >= 500 {
        return Err(Error::Provider(http.provider_error(&req, &resp)));
    }
    if resp.status == 200
        && let Ok(info) = from_metadata(instance, &resp.body)
    {
        return Ok(info);
    }
    Ok(ServerInfo::classic(instance))
}

/// Reads and checks a metadata document; the error says why it is not
/// trusted (kept for tests and debugging, never shown with secrets).
pub(crate) fn from_metadata(instance: &Instance, body: &[u8]) -> Result<ServerInfo, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "not JSON".to_string())?;
    let doc = doc.as_object().ok_or("not a JSON object")?;
    let origin = instance.origin.url().origin();

    let issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or("no issuer")?;
    let issuer_url = Url::parse(issuer).map_err(|_| format!("issuer {issuer:?} is not a URL"))?;
    // Mastodon's issuer is its root URL, with a trailing slash; the origin
    // comparison normalises case, default ports and punycode.
    let issuer_is_instance = issuer_url.origin() == origin
        && matches!(issuer_url.path(), "" | "/")
        && issuer_url.query().is_none()
        && issuer_url.fragment().is_none()
        && issuer_url.username().is_empty();
    if !issuer_is_instance {
        return Err(format!(
            "issuer {issuer:?} is not {}",
            instance.origin.origin()
        ));
    }

    let classic = ServerInfo::classic(instance);
    let endpoint = |name: &str, fallback: &Endpoint| -> Result<Endpoint, String> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(fallback.clone()),
            Some(Value::String(s)) => {
                let e = Endpoint::parse(name, s).map_err(|e| e.to_string())?;
                if e.url().origin() != origin {
                    return Err(format!("{name} {s:?} is on another origin"));
                }
                if e.url().query().is_some() {
                    return Err(format!("{name} {s:?} carries a query"));
                }
                Ok(e)
            }
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    for required in ["authorization_endpoint", "token_endpoint"] {
        if !doc.get(required).is_some_and(Value::is_string) {
            return Err(format!("no {required}"));
        }
    }
    let strings = |name: &str| -> Option<Vec<String>> {
        doc.get(name)?.as_array().map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    };
    Ok(ServerInfo {
        authorization_endpoint: endpoint(
            "authorization_endpoint",
            &classic.authorization_endpoint,
        )?,
        token_endpoint: endpoint("token_endpoint", &classic.token_endpoint)?,
        revocation_endpoint: endpoint("revocation_endpoint", &classic.revocation_endpoint)?,
        registration_endpoint: endpoint(
            "app_registration_endpoint",
            &classic.registration_endpoint,
        )?,
        scopes_supported: strings("scopes_supported"),
        pkce_s256: strings("code_challenge_methods_supported")
            .is_some_and(|m| m.iter().any(|x| x == "S256")),
        from_metadata: true,
        issuer: Some(issuer.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance() -> Instance {
        Instance::parse("mstdn.jp").unwrap()
    }

    /// A document as Mastodon 4.4 renders it, with `issuer` and the
    /// endpoints replaceable.
    fn doc(issuer: &str, token: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","service_documentation":"https://docs.joinmastodon.org/",
            "authorization_endpoint":"https://mstdn.jp/oauth/authorize",
            "token_endpoint":"{token}",
            "revocation_endpoint":"https://mstdn.jp/oauth/revoke",
            "userinfo_endpoint":"https://mstdn.jp/oauth/userinfo",
            "scopes_supported":["read","write","profile","read:accounts"],
            "response_types_supported":["code"],
            "code_challenge_methods_supported":["S256"],
            "grant_types_supported":["authorization_code","client_credentials"],
            "token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],
            "app_registration_endpoint":"https://mstdn.jp/api/v1/apps"}}"#
        )
    }

    #[test]
    fn a_mastodon_document_is_trusted() {
        let info = from_metadata(
            &instance(),
            doc("https://mstdn.jp/", "https://mstdn.jp/oauth/token").as_bytes(),
        )
        .unwrap();
        assert!(info.pkce_s256 && info.from_metadata);
        assert_eq!(
            info.token_endpoint.to_string(),
            "https://mstdn.jp/oauth/token"
        );
        assert_eq!(
            info.registration_endpoint.to_string(),
            "https://mstdn.jp/api/v1/apps"
        );
        assert_eq!(
            info.scopes_supported.as_deref().unwrap(),
            ["read", "write", "profile", "read:accounts"]
        );
        // Without the trailing slash, in another case: the same origin.
        assert!(
            from_metadata(
                &instance(),
                doc("HTTPS://MSTDN.JP", "https://mstdn.jp/oauth/token").as_bytes()
            )
            .is_ok()
        );
    }

    #[test]
    fn untrusted_documents_are_refused() {
        let cases = [
            doc("https://evil.example/", "https://mstdn.jp/oauth/token"),
            doc(
                "https://mstdn.jp.evil.example/",
                "https://mstdn.jp/oauth/token",
            ),
            doc("http://mstdn.jp/", "https://mstdn.jp/oauth/token"),
            doc("https://mstdn.jp:8443/", "https://mstdn.jp/oauth/token"),
            doc("https://mstdn.jp/tenant", "https://mstdn.jp/oauth/token"),
            doc("https://mstdn.jp/", "https://evil.example/oauth/token"),
            doc("https://mstdn.jp/", "http://mstdn.jp/oauth/token"),
            doc("https://mstdn.jp/", "https://mstdn.jp/oauth/token?x=1"),
            r#"{"authorization_endpoint":"https://mstdn.jp/oauth/authorize"}"#.to_string(),
            r#"{"issuer":"https://mstdn.jp/","token_endpoint":"https://mstdn.jp/oauth/token"}"#
                .to_string(),
            "<!doctype html><html>Not found</html>".to_string(),
            "[]".to_string(),
        ];
        for body in cases {
            assert!(
                from_metadata(&instance(), body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn missing_optional_endpoints_take_the_classic_paths() {
        let body = r#"{"issuer":"https://mstdn.jp/",
            "authorization_endpoint":"https://mstdn.jp/oauth/authorize",
            "token_endpoint":"https://mstdn.jp/oauth/token"}"#;
        let info = from_metadata(&instance(), body.as_bytes()).unwrap();
        assert_eq!(
            info.revocation_endpoint.to_string(),
            "https://mstdn.jp/oauth/revoke"
        );
        assert!(
            !info.pkce_s256,
            "no code_challenge_methods_supported, no PKCE"
        );
        assert_eq!(info.scopes_supported, None);
    }

    #[test]
    fn classic_paths() {
        let info = ServerInfo::classic(&Instance::parse("127.0.0.1:3000").unwrap());
        assert_eq!(
            info.authorization_endpoint.to_string(),
            "http://127.0.0.1:3000/oauth/authorize"
        );
        assert_eq!(
            info.registration_endpoint.to_string(),
            "http://127.0.0.1:3000/api/v1/apps"
        );
        assert!(!info.pkce_s256 && !info.from_metadata);
    }
}
