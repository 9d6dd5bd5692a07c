//! Scope names, and the check that catches a typo or a scope from the wrong
//! API version before the browser opens.
//!
//! Pinterest answers an unknown scope with an error page in the browser,
//! far from the terminal that caused it, so the CLI checks first and says
//! which names are valid. The commonest mistake is mixing versions (`read_pins`
//! is v3, `pins:read` is v5), or copying v1 names from an old tutorial, so
//! those get a hint of their own.

use broker_core::Error;

use crate::ApiVersion;

/// Every v5 scope (the `pinterest_oauth2` security scheme of Pinterest's
/// OpenAPI description, v5.23).
pub const V5_SCOPES: &[&str] = &[
    "ads:read",
    "ads:write",
    "billing:read",
    "billing:write",
    "biz_access:read",
    "biz_access:write",
    "boards:read",
    "boards:read_secret",
    "boards:write",
    "boards:write_secret",
    "catalogs:read",
    "catalogs:write",
    "msot:write",
    "pins:read",
    "pins:read_secret",
    "pins:write",
    "pins:write_secret",
    "user_accounts:read",
    "user_accounts:write",
];

/// Every v3 scope: the granular ones, then the composite ones (api-quickstart
/// v1.1 `oauth_scope.py`).
pub const V3_SCOPES: &[&str] = &[
    "read_domains",
    "read_boards",
    "write_boards",
    "read_pins",
    "write_pins",
    "read_users",
    "write_users",
    "read_secret_boards",
    "read_secret_pins",
    "read_user_followers",
    "write_user_followees",
    "read_advertisers",
    "write_advertisers",
    "read_campaigns",
    "write_campaigns",
    "read_merchants",
    "write_merchants",
    "read_pin_promotions",
    "write_pin_promotions",
    "read_organic",
    "write_organic",
    "manage_organic",
    "read_secret",
    "read_ads",
    "write_ads",
    "manage_merchants",
];

/// What a login asks for when the user names no scope: enough to name the
/// account and read pins and boards (Pinterest's quickstart default).
pub const DEFAULT_V5_SCOPES: &[&str] = &["user_accounts:read", "pins:read", "boards:read"];

/// The v3 equivalent of [`DEFAULT_V5_SCOPES`].
pub const DEFAULT_V3_SCOPES: &[&str] = &["read_users", "read_pins", "read_boards"];

/// v1 names, which neither v5 nor v3 accepts; old tutorials still use them.
const V1_SCOPES: &[&str] = &[
    "read_public",
    "write_public",
    "read_relationships",
    "write_relationships",
];

/// The scopes as single names: a user may write `--scope a,b` or paste the
/// space-separated list a token response shows, and Pinterest wants one
/// comma-separated list either way.
pub(crate) fn normalize(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in scopes.iter().flat_map(|s| broker_core::parse_scopes(s)) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The scopes to send: the given ones, or the defaults when none is given
/// (Pinterest refuses an authorization without a scope).
pub(crate) fn requested(version: ApiVersion, scopes: &[String]) -> Vec<String> {
    let scopes = normalize(scopes);
    if scopes.is_empty() {
        version.default_scopes()
    } else {
        scopes
    }
}

pub(crate) fn known(version: ApiVersion) -> &'static [&'static str] {
    match version {
        ApiVersion::V5 => V5_SCOPES,
        ApiVersion::V3 => V3_SCOPES,
    }
}

/// Checks every name against `version`'s list; see [`ApiVersion::validate_scopes`].
pub(crate) fn validate(version: ApiVersion, scopes: &[String]) -> Result<(), Error> {
    let valid = known(version);
    let unknown: Vec<String> = normalize(scopes)
        .into_iter()
        .filter(|s| !valid.contains(&s.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let described: Vec<String> = unknown
        .iter()
        .map(|s| match hint(version, s) {
            Some(h) => format!("\"{s}\" ({h})"),
            None => format!("\"{s}\""),
        })
        .collect();
    let (plural, api) = (
        if unknown.len() == 1 { "" } else { "s" },
        match version {
            ApiVersion::V5 => "v5",
            ApiVersion::V3 => "v3",
        },
    );
    Err(Error::Config(format!(
        "unknown Pinterest API {api} scope{plural}: {}. Valid {api} scopes: {}",
        described.join(", "),
        valid.join(", ")
    )))
}

fn hint(version: ApiVersion, scope: &str) -> Option<&'static str> {
    match version {
        ApiVersion::V5 if V3_SCOPES.contains(&scope) => {
            Some("looks like a v3 scope; use --api v3, or the v5 name")
        }
        ApiVersion::V3 if V5_SCOPES.contains(&scope) => {
            Some("looks like a v5 scope; drop --api v3, or use the v3 name")
        }
        _ if V1_SCOPES.contains(&scope) => {
            Some("a scope of the retired API v1, which Pinterest no longer accepts")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lists_match_the_fact_sheet() {
        assert_eq!(V5_SCOPES.len(), 19);
        assert_eq!(V3_SCOPES.len(), 19 + 7);
        for d in DEFAULT_V5_SCOPES {
            assert!(V5_SCOPES.contains(d));
        }
        for d in DEFAULT_V3_SCOPES {
            assert!(V3_SCOPES.contains(d));
        }
        // No name is valid in both versions, so the cross-version hint is
        // never wrong.
        assert!(V5_SCOPES.iter().all(|s| !V3_SCOPES.contains(s)));
    }

    #[test]
    fn normalize_splits_and_dedups() {
        assert_eq!(
            normalize(&strings(&[
                "pins:read,boards:read",
                "pins:read boards:write"
            ])),
            strings(&["pins:read", "boards:read", "boards:write"])
        );
        assert_eq!(
            requested(ApiVersion::V5, &[]),
            strings(DEFAULT_V5_SCOPES),
            "no scope means the defaults"
        );
    }

    #[test]
    fn v1_scopes_get_their_own_hint() {
        let err = validate(ApiVersion::V5, &strings(&["read_public"])).unwrap_err();
        assert!(err.to_string().contains("API v1"), "{err}");
    }
}
