//! The token model: what a provider hands back, with expiry as absolute
//! instants so that a token read from disk a week later still knows when it
//! dies.

use std::time::{Duration, SystemTime};

use oauth2::{AccessToken, RefreshToken};
use serde_json::Value;

use crate::Error;

/// Access token, optional refresh token, and what we know about them.
///
/// `Debug` shows `AccessToken([redacted])`: the secrets come from `oauth2`'s
/// newtypes, which have no `Display`.
#[derive(Clone, Debug)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: AccessToken,
    /// Present where the provider issues one (Pinterest); it may rotate.
    pub refresh_token: Option<RefreshToken>,
    /// Usually `bearer`.
    pub token_type: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the access token dies; `None` when it does not expire (Mastodon)
    /// or the provider did not say.
    pub expires_at: Option<SystemTime>,
    /// When the refresh token dies, where the provider says.
    pub refresh_expires_at: Option<SystemTime>,
}

impl TokenSet {
    /// Whether the access token is expired or will be within `skew`.
    pub fn expires_within(&self, now: SystemTime, skew: Duration) -> bool {
        self.expires_at.is_some_and(|at| at <= now + skew)
    }

    /// Reads an RFC 6749 §5.1 token response strictly: a string
    /// `access_token`, a bearer `token_type`, `expires_in` as a number or a
    /// numeric string. Also reads the `refresh_token_expires_in` and
    /// `refresh_token_expires_at` extensions. `what` names the call in errors.
    pub fn from_json(what: &str, body: &[u8], now: SystemTime) -> Result<TokenSet, Error> {
        let value: Value = serde_json::from_slice(body).map_err(|_| Error::Protocol {
            what: what.to_string(),
            detail: "the token response is not JSON".to_string(),
        })?;
        let map = value.as_object().ok_or_else(|| Error::Protocol {
            what: what.to_string(),
            detail: "the token response is not a JSON object".to_string(),
        })?;
        TokenSet::from_object(what, map, now)
    }

    /// Like [`from_json`](Self::from_json), for an answer already parsed
    /// (and reshaped by a provider whose answer nests its fields).
    pub fn from_object(
        what: &str,
        map: &serde_json::Map<String, Value>,
        now: SystemTime,
    ) -> Result<TokenSet, Error> {
        let protocol = |detail: &str| Error::Protocol {
            what: what.to_string(),
            detail: detail.to_string(),
        };
        if map.contains_key("error") {
            return Err(protocol("the token response carries an error"));
        }
        let access = match map.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => AccessToken::new(s.clone()),
            _ => return Err(protocol("the token response has no access_token")),
        };
        let token_type = match map.get("token_type") {
            None | Some(Value::Null) => "bearer".to_string(),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => t.to_ascii_lowercase(),
            Some(_) => return Err(protocol("the token type is not bearer")),
        };
        let refresh_token = match map.get("refresh_token") {
            Some(Value::String(s)) if !s.is_empty() => Some(RefreshToken::new(s.clone())),
            None | Some(Value::Null) => None,
            Some(_) => return Err(protocol("the refresh_token is not a string")),
        };
        let after = |secs: u64| now.checked_add(Duration::from_secs(secs));
        let expires_at = match seconds(map.get("expires_in"))
            .map_err(|_| protocol("expires_in is not a number"))?
        {
            Some(s) => Some(after(s).ok_or_else(|| protocol("expires_in is out of range"))?),
            None => None,
        };
        let refresh_expires_at = match seconds(map.get("refresh_token_expires_at"))
            .map_err(|_| protocol("refresh_token_expires_at is not a number"))?
        {
            Some(at) => Some(
                SystemTime::UNIX_EPOCH
                    .checked_add(Duration::from_secs(at))
                    .ok_or_else(|| protocol("refresh_token_expires_at is out of range"))?,
            ),
            None => match seconds(map.get("refresh_token_expires_in"))
                .map_err(|_| protocol("refresh_token_expires_in is not a number"))?
            {
                Some(s) => Some(
                    after(s).ok_or_else(|| protocol("refresh_token_expires_in is out of range"))?,
                ),
                None => None,
            },
        };
        let scopes = match map.get("scope") {
            Some(Value::String(s)) => parse_scopes(s),
            _ => Vec::new(),
        };
        Ok(TokenSet {
            access_token: access,
            refresh_token,
            token_type,
            scopes,
            expires_at,
            refresh_expires_at,
        })
    }
}

/// A number of seconds given as a JSON number or a numeric string; null or
/// absent means unknown.
fn seconds(v: Option<&Value>) -> Result<Option<u64>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or(()),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// Splits a scope string on spaces, commas and `+`, dropping empties and
/// duplicates, keeping the order.
pub fn parse_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split([' ', ',', '+']).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == part) {
            out.push(part.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn reads_a_pinterest_v5_response() {
        let body = br#"{"access_token":"pina_abc","refresh_token":"pinr.xyz","response_type":"authorization_code",
            "token_type":"bearer","expires_in":2592000,"refresh_token_expires_in":5184000,
            "refresh_token_expires_at":1705184000,"scope":"boards:read pins:read"}"#;
        let t = TokenSet::from_json("token", body, now()).unwrap();
        assert_eq!(t.access_token.secret(), "pina_abc");
        assert_eq!(t.refresh_token.as_ref().unwrap().secret(), "pinr.xyz");
        assert_eq!(t.scopes, ["boards:read", "pins:read"]);
        assert_eq!(t.expires_at, Some(now() + Duration::from_secs(2_592_000)));
        assert_eq!(
            t.refresh_expires_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_705_184_000))
        );
    }

    #[test]
    fn reads_a_mastodon_response_without_expiry() {
        let body = br#"{"access_token":"ZA-Yj3","token_type":"Bearer","scope":"read write","created_at":1573979017}"#;
        let t = TokenSet::from_json("token", body, now()).unwrap();
        assert_eq!(t.expires_at, None);
        assert!(t.refresh_token.is_none());
        assert!(!t.expires_within(now(), Duration::from_secs(3600)));
    }

    #[test]
    fn strict_parsing_table() {
        let cases: &[(&[u8], bool)] = &[
            (br#"{"access_token":"a","expires_in":"3600"}"#, true),
            (br#"{"access_token":"a","expires_in":null}"#, true),
            (br#"{"access_token":"a","token_type":"BEARER"}"#, true),
            (br#"{"access_token":"a","token_type":"mac"}"#, false),
            (br#"{"access_token":7}"#, false),
            (br#"{"access_token":""}"#, false),
            (br#"{"token_type":"bearer"}"#, false),
            (br#"{"access_token":"a","error":"invalid_grant"}"#, false),
            (br#"{"access_token":"a","expires_in":"soon"}"#, false),
            (br#"{"access_token": "tru"#, false),
            (br#"[]"#, false),
            (
                br#"{"access_token":"a","expires_in":18446744073709551615}"#,
                false,
            ),
        ];
        for (body, ok) in cases {
            let got = TokenSet::from_json("token", body, now());
            assert_eq!(got.is_ok(), *ok, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn expiry_skew_boundary() {
        let t =
            TokenSet::from_json("t", br#"{"access_token":"a","expires_in":120}"#, now()).unwrap();
        let skew = Duration::from_secs(60);
        assert!(!t.expires_within(now() + Duration::from_secs(59), skew));
        assert!(t.expires_within(now() + Duration::from_secs(60), skew));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = TokenSet::from_json(
            "t",
            br#"{"access_token":"pina_SECRET","refresh_token":"pinr.SECRET"}"#,
            now(),
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("SECRET"));
    }

    #[test]
    fn scopes_split_on_any_separator() {
        assert_eq!(parse_scopes("a,b c+d  a"), ["a", "b", "c", "d"]);
    }
}
