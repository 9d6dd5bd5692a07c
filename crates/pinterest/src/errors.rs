//! Pinterest's refusals in words a user can act on.
//!
//! Core already reads Pinterest's `{"code": N, "message": ...}` bodies, keeps
//! the `x-pinterest-rid` request id and classes the error (a refused refresh
//! is "needs login", exit 3). What it cannot know is what Pinterest's
//! numeric codes mean for this CLI, so we add that to the description here,
//! leaving the variant, the code and the class untouched. Core's own hints
//! (bad app credentials, a spent code, a busy server) are not repeated.

use broker_core::error::Operation;
use broker_core::{Error, ProviderError};

use crate::ApiVersion;

/// Adds a Pinterest-specific explanation to a provider error; any other
/// error passes through unchanged.
pub(crate) fn explain(version: ApiVersion, err: Error) -> Error {
    match err {
        Error::Provider(p) => Error::Provider(explain_provider(version, p)),
        other => other,
    }
}

fn explain_provider(version: ApiVersion, mut p: ProviderError) -> ProviderError {
    let Some(extra) = explanation(version, &p) else {
        return p;
    };
    p.description = Some(match p.description.take() {
        Some(d) => format!("{} ({extra})", d.trim_end_matches('.')),
        None => extra,
    });
    p
}

fn explanation(version: ApiVersion, p: &ProviderError) -> Option<String> {
    let login = version.login_command();
    if p.operation == Operation::Refresh && p.is_invalid_grant() {
        // The class stays NeedsLogin; this says what to type.
        let why = match version {
            ApiVersion::V5 => {
                "the refresh token has expired, was revoked, or was already used \
                 (Pinterest replaces it at every refresh)"
            }
            ApiVersion::V3 => "the refresh token has expired or was revoked",
        };
        return Some(format!("{why}; run `{login}` to log in again"));
    }
    if described_as(p, "application id") {
        // v3 says so for a wrong app id or secret, under the code it uses
        // for a spent grant, so core's hint alone would mislead.
        return Some(
            "Pinterest did not accept the app credentials: check PINTEREST_APP_ID and \
             PINTEREST_APP_SECRET (or app_id and app_secret in [pinterest]) against the \
             app at developers.pinterest.com"
                .to_string(),
        );
    }
    if described_as(p, "redirect") {
        return Some(
            "the redirect URI must be listed in the app's settings at \
             developers.pinterest.com exactly as broker sends it (for example \
             http://localhost:8085/, trailing slash included), and be the same at \
             the consent page and the code exchange"
                .to_string(),
        );
    }
    match p.code.as_deref() {
        Some("3") => Some(format!(
            "the token lacks a scope this call needs{}; run `{login} --scope ...` with every scope you need",
            match (p.operation, version) {
                (Operation::Identity, ApiVersion::V5) => ", here user_accounts:read",
                (Operation::Identity, ApiVersion::V3) => ", here read_users",
                _ => "",
            }
        )),
        Some("29") if p.operation == Operation::Revoke => Some(
            "Pinterest revokes only some apps' tokens; the token stays valid until it \
             expires unless you remove the app's access in your Pinterest account settings"
                .to_string(),
        ),
        _ => None,
    }
}

fn described_as(p: &ProviderError, words: &str) -> bool {
    p.description
        .as_deref()
        .is_some_and(|d| d.to_ascii_lowercase().contains(words))
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::ErrorClass;

    fn provider_error(op: Operation, status: u16, body: &str) -> Error {
        Error::Provider(ProviderError::from_body(
            crate::PROVIDER_NAME,
            op,
            status,
            body.as_bytes(),
        ))
    }

    #[test]
    fn a_refused_refresh_says_how_to_log_in_and_stays_needs_login() {
        let err = explain(
            ApiVersion::V5,
            provider_error(
                Operation::Refresh,
                401,
                r#"{"code":283,"message":"The authorization grant is invalid"}"#,
            ),
        );
        assert_eq!(err.class(), ErrorClass::NeedsLogin);
        let shown = err.to_string();
        assert!(shown.contains("broker login pinterest`"), "{shown}");
        assert!(shown.contains("283"), "{shown}");
        let err = explain(
            ApiVersion::V3,
            provider_error(
                Operation::Refresh,
                401,
                r#"{"status":"failure","code":283,"message":"The authorization grant is invalid"}"#,
            ),
        );
        assert!(
            err.to_string().contains("broker login pinterest --api v3`"),
            "{err}"
        );
    }

    #[test]
    fn missing_scope_and_redirect_mismatch_are_explained() {
        let err = explain(
            ApiVersion::V5,
            provider_error(
                Operation::Identity,
                401,
                r#"{"code":3,"message":"Your token does not have sufficient permissions to perform this operation."}"#,
            ),
        );
        assert!(err.to_string().contains("user_accounts:read"), "{err}");
        let err = explain(
            ApiVersion::V5,
            provider_error(
                Operation::CodeExchange,
                400,
                r#"{"code":7,"message":"The provided redirect_uri does not match"}"#,
            ),
        );
        assert!(
            err.to_string().contains("developers.pinterest.com"),
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let err = provider_error(Operation::CodeExchange, 503, "");
        let before = err.to_string();
        assert_eq!(explain(ApiVersion::V5, err).to_string(), before);
    }
}
