//! PKCE (RFC 7636) and `state`: the two values that tie an authorization
//! response to the request that asked for it.
//!
//! We lean on the `oauth2` crate's types: its verifier is not `Clone` (a
//! verifier must be used once) and its secrets print `[redacted]` in `Debug`.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use subtle::ConstantTimeEq;

/// Makes a fresh S256 challenge and its verifier (32 random bytes, so a
/// 43-character verifier, the shortest RFC 7636 allows with full entropy).
pub fn new_pkce_pair() -> (PkceCodeChallenge, PkceCodeVerifier) {
    PkceCodeChallenge::new_random_sha256()
}

/// Makes a fresh `state`: 32 random bytes (256 bits), base64url.
pub fn new_state() -> CsrfToken {
    CsrfToken::new_random_len(32)
}

/// Compares a received `state` with the expected one in constant time, so a
/// local attacker timing the listener learns nothing about the expected value.
pub fn states_match(expected: &CsrfToken, received: &str) -> bool {
    let expected = expected.secret().as_bytes();
    let received = received.as_bytes();
    // `ct_eq` on slices of different lengths returns false without looking at
    // the bytes; the length of a random state is not a secret.
    bool::from(expected.ct_eq(received))
}

/// Whether a string is a valid RFC 7636 verifier: 43 to 128 characters from
/// the unreserved set `[A-Za-z0-9-._~]`.
pub fn verifier_is_valid(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier =
            PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(
            challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(challenge.method().as_str(), "S256");
    }

    #[test]
    fn fresh_verifiers_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let (challenge, verifier) = new_pkce_pair();
            assert!(
                verifier_is_valid(verifier.secret()),
                "{}",
                verifier.secret().len()
            );
            assert_eq!(
                PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str(),
                challenge.as_str()
            );
            assert!(seen.insert(verifier.secret().clone()));
        }
    }

    #[test]
    fn verifier_bounds_and_charset() {
        assert!(!verifier_is_valid(&"a".repeat(42)));
        assert!(verifier_is_valid(&"a".repeat(43)));
        assert!(verifier_is_valid(&"a".repeat(128)));
        assert!(!verifier_is_valid(&"a".repeat(129)));
        assert!(!verifier_is_valid(&format!("{}+", "a".repeat(43))));
        assert!(!verifier_is_valid(&format!("{} ", "a".repeat(43))));
    }

    #[test]
    fn state_has_at_least_128_bits_and_compares_exactly() {
        let state = new_state();
        // 32 bytes of randomness, base64url without padding.
        assert_eq!(state.secret().len(), 43);
        assert!(states_match(&state, &state.secret().clone()));
        assert!(!states_match(&state, ""));
        assert!(!states_match(&state, &state.secret()[..42]));
        let mut flipped = state.secret().clone().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        assert!(!states_match(
            &state,
            std::str::from_utf8(&flipped).unwrap()
        ));
        assert_ne!(new_state().secret(), state.secret());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let state = new_state();
        let (_, verifier) = new_pkce_pair();
        assert!(!format!("{state:?}").contains(state.secret()));
        assert!(!format!("{verifier:?}").contains(verifier.secret()));
    }
}
