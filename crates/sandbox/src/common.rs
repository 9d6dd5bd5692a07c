//! Small helpers both providers need: secret generation, PKCE arithmetic,
//! clock conversions and HTML escaping. They live apart from the protocol
//! modules so that a provider module reads as protocol rules only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

/// Random bytes from the operating system: tokens must be unguessable even
/// in a sandbox, because the client's tests may assert on their entropy.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// `n` random bytes as base64url without padding (32 bytes -> 43 chars).
pub(crate) fn random_b64url(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` random characters from `[A-Z0-9]`, the alphabet of real `pina_`
/// tokens. Rejection sampling keeps the distribution uniform.
pub(crate) fn random_upper_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes(len) {
            // 252 = 7 * 36: bytes above it would bias the first letters.
            if b < 252 && out.len() < len {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// BASE64URL-NOPAD(SHA256(verifier)), RFC 7636 section 4.2.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 section 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub(crate) fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is always the 43-character base64url of a SHA-256.
pub(crate) fn is_valid_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether `verifier` is well formed and hashes to `challenge`.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    is_valid_verifier(verifier) && s256(verifier) == challenge
}

pub(crate) fn now() -> SystemTime {
    SystemTime::now()
}

pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

pub(crate) fn epoch_millis(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}

/// `t` as ISO 8601 in UTC with microseconds, the way Rails' `iso8601(6)`
/// renders `X-RateLimit-Reset`.
pub(crate) fn iso8601(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// Escapes text for HTML element content and double-quoted attributes:
/// error pages echo request parameters, which must stay inert.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A stable numeric id for a user name, so that the same user gets the same
/// id in every run (clients key accounts by it).
pub(crate) fn numeric_id(namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{namespace}:{name}").as_bytes());
    let mut n = 0u64;
    for b in &digest[..8] {
        n = (n << 8) | u64::from(*b);
    }
    // 18 digits, never starting with 0, like Pinterest and Mastodon ids.
    (100_000_000_000_000_000 + n % 900_000_000_000_000_000).to_string()
}

/// "sandbox_pinner" -> "Sandbox Pinner", for display-name fields.
pub(crate) fn display_name(username: &str) -> String {
    username
        .split(['_', '.', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Appends query parameters to a redirect URI, keeping any query it already
/// has (both providers do so instead of replacing it).
pub(crate) fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let extra = ser.finish();
    let mut out = String::from(base);
    if !extra.is_empty() {
        if !base.contains('?') {
            out.push('?');
        } else if !base.ends_with('?') && !base.ends_with('&') {
            out.push('&');
        }
        out.push_str(&extra);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_valid_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn verifier_bounds() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn iso8601_known_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(t), "2000-02-29T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        assert_eq!(iso8601(t), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn append_query_keeps_existing_query() {
        assert_eq!(
            append_query("http://a/cb", &[("code", "x"), ("state", "a b")]),
            "http://a/cb?code=x&state=a+b"
        );
        assert_eq!(
            append_query("http://a/cb?k=v", &[("code", "x")]),
            "http://a/cb?k=v&code=x"
        );
    }

    #[test]
    fn random_tokens_have_expected_shapes() {
        assert_eq!(random_b64url(32).len(), 43);
        assert_eq!(random_hex(8).len(), 16);
        let t = random_upper_alnum(64);
        assert_eq!(t.len(), 64);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_ne!(random_b64url(32), random_b64url(32));
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("sandbox_pinner"), "Sandbox Pinner");
        assert_eq!(numeric_id("p", "x"), numeric_id("p", "x"));
        assert_eq!(numeric_id("p", "x").len(), 18);
    }
}
