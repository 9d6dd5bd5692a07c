//! Reading Mastodon's answers: the app registration and the account.
//!
//! Kept apart from the requests because the answers vary by version (4.3
//! changed the registration's shape) and because what comes back from a
//! server ends up in account ids and `whoami` output, so it is checked
//! rather than trusted.

use broker_core::{ClientId, ClientRegistration, ClientSecret, Identity, RegistrationRequest};
use serde_json::Value;

/// Fields of the account kept for `whoami --json`: public profile facts,
/// nothing from `source` or `role`.
const IDENTITY_FIELDS: &[&str] = &[
    "id",
    "username",
    "acct",
    "display_name",
    "url",
    "locked",
    "bot",
    "created_at",
    "followers_count",
    "following_count",
    "statuses_count",
];

/// Reads a `POST /api/v1/apps` answer. Servers before 4.3 send neither
/// `scopes` nor `redirect_uris`, only the newline-joined `redirect_uri`; a
/// 200 there means the request was accepted as sent.
pub(crate) fn parse_registration(
    body: &[u8],
    req: &RegistrationRequest<'_>,
) -> Result<ClientRegistration, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the answer is not JSON")?;
    let secret_string = |name: &str| -> Result<String, String> {
        match doc.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(format!("the answer has no {name}")),
        }
    };
    let client_id = secret_string("client_id")?;
    let client_secret = secret_string("client_secret")?;
    let list = |name: &str| -> Option<Vec<String>> {
        let a = doc.get(name)?.as_array()?;
        Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        )
    };
    let scopes = list("scopes").unwrap_or_else(|| req.scopes.to_vec());
    let redirect_uris = list("redirect_uris")
        .or_else(|| {
            doc.get("redirect_uri")?.as_str().map(|s| {
                s.split('\n')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
        })
        .unwrap_or_else(|| req.redirect_uris.to_vec());
    Ok(ClientRegistration {
        client_id: ClientId::new(client_id),
        client_secret: ClientSecret::new(client_secret),
        scopes,
        redirect_uris,
    })
}

/// Reads the account from `verify_credentials`. The user name becomes part
/// of an account id (and maybe a file name), so anything but a plain name
/// is refused rather than trusted.
pub(crate) fn parse_identity(body: &[u8]) -> Result<Identity, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the answer is not JSON")?;
    let username = doc
        .get("username")
        .and_then(Value::as_str)
        .ok_or("the answer has no username")?;
    let plain = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !plain {
        return Err("the user name is not a plain name".into());
    }
    let id = match doc.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let display_name = doc
        .get("display_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| broker_core::error::clean_text(s, 100));
    let details: serde_json::Map<String, Value> = IDENTITY_FIELDS
        .iter()
        .filter_map(|k| Some((k.to_string(), doc.get(*k)?.clone())))
        .collect();
    Ok(Identity {
        username: username.to_string(),
        id,
        display_name,
        details: Value::Object(details),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn registration_answers_old_and_new() {
        let uris = crate::registration_redirect_uris();
        let scopes = strings(&["read:accounts"]);
        let req = RegistrationRequest {
            client_name: "broker",
            redirect_uris: &uris,
            scopes: &scopes,
            website: None,
        };
        // 4.3+: CredentialApplication.
        let new = br#"{"id":"563419","name":"broker","scopes":["read","profile"],
            "redirect_uri":"http://127.0.0.1/callback\nurn:ietf:wg:oauth:2.0:oob",
            "redirect_uris":["http://127.0.0.1/callback","urn:ietf:wg:oauth:2.0:oob"],
            "client_id":"TWhM","client_secret":"ZEaF","client_secret_expires_at":0}"#;
        let reg = parse_registration(new, &req).unwrap();
        assert_eq!(reg.client_id.as_str(), "TWhM");
        assert_eq!(reg.client_secret.secret(), "ZEaF");
        assert_eq!(reg.scopes, ["read", "profile"]);
        assert_eq!(reg.redirect_uris, uris);
        // Before 4.3: no scopes, newline-joined redirect_uri.
        let old = br#"{"id":"1","name":"broker","website":null,
            "redirect_uri":"http://127.0.0.1/callback\nurn:ietf:wg:oauth:2.0:oob",
            "client_id":"a","client_secret":"b","vapid_key":"v"}"#;
        let reg = parse_registration(old, &req).unwrap();
        assert_eq!(reg.scopes, ["read:accounts"]);
        assert_eq!(reg.redirect_uris, uris);
        assert!(parse_registration(br#"{"client_id":"a"}"#, &req).is_err());
        assert!(parse_registration(b"<html>", &req).is_err());
    }

    #[test]
    fn identity_keeps_public_fields_and_refuses_odd_names() {
        let body =
            br#"{"id":"109","username":"alice","acct":"alice","display_name":"Alice \u001b[31mA",
            "url":"https://mstdn.jp/@alice","source":{"privacy":"public","note":"x"},
            "role":{"name":"Owner"},"followers_count":3}"#;
        let id = parse_identity(body).unwrap();
        assert_eq!(id.username, "alice");
        assert_eq!(id.id.as_deref(), Some("109"));
        assert_eq!(id.display_name.as_deref(), Some("Alice [31mA"));
        assert!(id.details.get("source").is_none() && id.details.get("role").is_none());
        assert_eq!(id.details["followers_count"], 3);
        for bad in [
            r#"{"id":"1"}"#,
            r#"{"username":""}"#,
            r#"{"username":"../../etc"}"#,
            r#"{"username":"a@b"}"#,
            r#"{"username":"a b"}"#,
        ] {
            assert!(parse_identity(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
