//! Mastodon scopes: which exist, which to ask for by default, and whether an
//! app registration allows a request.
//!
//! Two facts shape this module.
//!
//! - The default is the least that names the account: `profile` (Mastodon
//!   4.3+, grants only `verify_credentials` and `userinfo`), else
//!   `read:accounts`. The broker must learn who logged in; anything more is
//!   the user's explicit choice (`--scope`), because the token is printed to
//!   scripts and sits in a store for good (Mastodon tokens never expire).
//! - At `/oauth/authorize` Mastodon (Doorkeeper's `ScopeChecker`) accepts
//!   only scopes the app was registered with, compared **as strings**: an
//!   app registered with `read` cannot ask for `read:accounts`
//!   (mastodon/mastodon#22140, open, and called intended by a maintainer).
//!   The hierarchy (`read` covers `read:*`) holds only when a token is used
//!   on the API. So [`covers`] is a plain subset test.

use broker_core::Error;

use crate::ServerInfo;

/// The default for a server that lists `profile` (Mastodon 4.3+).
pub const DEFAULT_SCOPES_MODERN: &[&str] = &["profile"];

/// The default for an older server: the narrowest scope that still allows
/// `GET /api/v1/accounts/verify_credentials`.
pub const DEFAULT_SCOPES_LEGACY: &[&str] = &["read:accounts"];

/// Every scope Mastodon knows (4.6). A server without metadata is checked
/// against this list; one with metadata against its own `scopes_supported`.
pub const MASTODON_SCOPES: &[&str] = &[
    "profile",
    "read",
    "write",
    "push",
    "follow",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:collections",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:collections",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

/// The scopes to ask for when the user names none: `profile` where the
/// server lists it, else `read:accounts`.
pub fn default_scopes(info: &ServerInfo) -> Vec<String> {
    let modern = info
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "profile"));
    let chosen = if modern {
        DEFAULT_SCOPES_MODERN
    } else {
        DEFAULT_SCOPES_LEGACY
    };
    chosen.iter().map(|s| s.to_string()).collect()
}

/// `scopes`, plus what `verify_credentials` needs when they do not already
/// grant it: broker names every account after who logged in, so a login
/// with only, say, `read:statuses` would fail after the user approved.
/// Returns the scopes and whether one was added.
pub fn with_identity_scope(scopes: &[String], info: &ServerInfo) -> (Vec<String>, bool) {
    let grants_identity = scopes
        .iter()
        .any(|s| matches!(s.as_str(), "profile" | "read" | "read:accounts"));
    if grants_identity {
        return (scopes.to_vec(), false);
    }
    (union(scopes, &default_scopes(info)), true)
}

/// Checks requested scopes before anything is sent: an unknown scope would
/// otherwise fail the registration (422) or leave the user on the
/// instance's error page. Refuses an empty list, since Mastodon would then
/// silently grant its own default, `read`.
pub fn validate_scopes(scopes: &[String], info: &ServerInfo) -> Result<(), Error> {
    if scopes.is_empty() {
        return Err(Error::Config(
            "no scope was requested; name at least one, for example --scope profile".into(),
        ));
    }
    let known: Vec<&str> = match &info.scopes_supported {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => MASTODON_SCOPES.to_vec(),
    };
    let server = info
        .authorization_endpoint
        .url()
        .host_str()
        .unwrap_or("the instance")
        .to_string();
    for scope in scopes {
        if scope == "profile" && info.scopes_supported.is_none() {
            // Every server with `profile` (4.3+) publishes metadata; without
            // it the registration would fail with a 422.
            return Err(Error::Config(format!(
                "{server} publishes no OAuth metadata, so it is older than Mastodon 4.3 and \
                 has no profile scope; use --scope read:accounts"
            )));
        }
        if known.contains(&scope.as_str()) {
            continue;
        }
        let source = if info.scopes_supported.is_some() {
            format!("{server} does not offer the scope {scope:?}")
        } else {
            format!("{scope:?} is not a Mastodon scope")
        };
        let group = scope.rsplit_once(':').map(|(g, _)| g);
        let similar: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| match group {
                Some(g) => k.rsplit_once(':').is_some_and(|(kg, _)| kg == g),
                None => !k.contains(':'),
            })
            .collect();
        let hint = if similar.is_empty() {
            format!("known scopes: {}", known.join(" "))
        } else {
            format!("did you mean one of: {}", similar.join(" "))
        };
        return Err(Error::Config(format!("{source} ({hint})")));
    }
    Ok(())
}

/// Whether an app registered with `registered` may ask for `requested` at
/// the authorization endpoint. A plain subset test: Mastodon compares scope
/// strings there, so `read` does **not** cover `read:accounts` (see the
/// module docs). When this is false the app must be registered again with
/// the union of both lists.
pub fn covers(registered: &[String], requested: &[String]) -> bool {
    requested.iter().all(|r| registered.contains(r))
}

/// The union of two scope lists, in order, without duplicates: what to
/// register when a stored registration does not cover a new request.
pub fn union(registered: &[String], requested: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(registered.len() + requested.len());
    for s in registered.iter().chain(requested) {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Instance;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn legacy() -> ServerInfo {
        ServerInfo::classic(&Instance::parse("mstdn.jp").unwrap())
    }

    fn modern(supported: &[&str]) -> ServerInfo {
        ServerInfo {
            scopes_supported: Some(strings(supported)),
            pkce_s256: true,
            from_metadata: true,
            ..legacy()
        }
    }

    #[test]
    fn defaults_follow_the_server() {
        assert_eq!(default_scopes(&modern(&["read", "profile"])), ["profile"]);
        assert_eq!(
            default_scopes(&modern(&["read", "write"])),
            ["read:accounts"]
        );
        assert_eq!(default_scopes(&legacy()), ["read:accounts"]);
    }

    #[test]
    fn unknown_scopes_are_named() {
        assert!(validate_scopes(&strings(&["read", "write:statuses"]), &legacy()).is_ok());
        let err = validate_scopes(&strings(&["read", "read:account"]), &legacy()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Config(_)));
        assert!(text.contains("\"read:account\""), "{text}");
        assert!(text.contains("read:accounts"), "{text}");
        let err = validate_scopes(&strings(&["admin"]), &legacy()).unwrap_err();
        assert!(err.to_string().contains("\"admin\""), "{err}");
        // A server's own list wins over the built-in one.
        let err = validate_scopes(&strings(&["push"]), &modern(&["read", "profile"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("mstdn.jp does not offer the scope \"push\""),
            "{err}"
        );
        assert!(validate_scopes(&strings(&["profile"]), &modern(&["profile"])).is_ok());
        assert!(validate_scopes(&[], &legacy()).is_err());
        let err = validate_scopes(&strings(&["profile"]), &legacy()).unwrap_err();
        assert!(err.to_string().contains("read:accounts"), "{err}");
    }

    #[test]
    fn covers_is_a_plain_subset() {
        let reg = strings(&["read", "profile", "write:statuses"]);
        assert!(covers(&reg, &strings(&["profile"])));
        assert!(covers(&reg, &strings(&["read", "write:statuses"])));
        assert!(covers(&reg, &[]));
        // Mastodon refuses these at /oauth/authorize (mastodon#22140).
        assert!(!covers(&reg, &strings(&["read:accounts"])));
        assert!(!covers(&strings(&["write"]), &strings(&["write:media"])));
        assert!(!covers(&reg, &strings(&["push"])));
    }

    #[test]
    fn union_keeps_order_without_duplicates() {
        assert_eq!(
            union(&strings(&["profile", "read"]), &strings(&["read", "push"])),
            ["profile", "read", "push"]
        );
    }
}

#[cfg(test)]
mod identity_scope_tests {
    use super::*;
    use crate::{Instance, ServerInfo};

    #[test]
    fn the_identity_scope_is_added_only_when_missing() {
        let info = ServerInfo::classic(&Instance::parse("mstdn.jp").unwrap());
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_identity_scope(&s(&["read"]), &info),
            (s(&["read"]), false)
        );
        assert_eq!(
            with_identity_scope(&s(&["write:statuses"]), &info),
            (s(&["write:statuses", "read:accounts"]), true)
        );
    }
}
