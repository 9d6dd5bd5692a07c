//! Errors as data: every variant is something a caller can act on, and
//! [`Error::class`] tells the CLI which exit code a user should see.
//!
//! No variant ever holds a secret. Provider error bodies are scrubbed of the
//! secrets we sent before they are kept (see [`crate::http`]).

use std::fmt;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL was refused before any request was made.
    #[error("the {what} URL {url} is refused: {reason}")]
    InvalidUrl {
        /// Which URL ("instance", "token endpoint").
        what: String,
        /// The URL as given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// Something the user must configure is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// The callback's `state` did not match the one we sent.
    #[error(
        "the authorization response carries a state that does not match this login: it may come from another login or from an attacker; start the login again"
    )]
    StateMismatch,
    /// The response names another authorization server (`iss`, RFC 9207)
    /// than the one this login went to.
    #[error(
        "the authorization response comes from another server ({got}) than this login's ({expected}); start the login again"
    )]
    IssuerMismatch {
        /// The issuer of this login's server.
        expected: String,
        /// The `iss` in the response, control characters removed.
        got: String,
    },
    /// The provider refused the authorization in its redirect (`error=...`).
    #[error("the provider refused the authorization: {error}{}", describe(.description))]
    Denied {
        /// The `error` code, e.g. `access_denied`.
        error: String,
        /// The `error_description`, control characters removed.
        description: Option<String>,
    },
    /// The provider answered an API call with an error.
    #[error("{0}")]
    Provider(ProviderError),
    /// The provider could not be reached, or stopped answering.
    #[error("could not reach {host}: {detail}; check the network and try again")]
    Network {
        /// The host we tried.
        host: String,
        /// What failed (never contains a URL query or a secret).
        detail: String,
    },
    /// The provider answered something that is not the protocol.
    #[error("{what} answered something unexpected: {detail}")]
    Protocol {
        /// Which call.
        what: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// Nothing came back to the loopback listener in time.
    #[error(
        "no authorization arrived within {secs} s; run the login again (use --timeout to wait longer, or --no-browser to paste the result)"
    )]
    LoginTimeout {
        /// How long we waited.
        secs: u64,
    },
    /// The loopback listener could not be set up.
    #[error("could not listen on {addr}: {source}{}", port_hint(.source))]
    Listener {
        /// The address we tried to bind.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A pasted line could not be used.
    #[error("{0}")]
    Paste(#[from] PasteError),
    /// The pending login is too old to finish.
    #[error("this login was started more than {minutes} minutes ago; start it again")]
    PendingExpired {
        /// The limit.
        minutes: u64,
    },
    /// The provider cannot do this (for example refresh a Mastodon token).
    #[error("{0}")]
    Unsupported(String),
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(d) => format!(" ({d})"),
        None => String::new(),
    }
}

fn port_hint(source: &std::io::Error) -> &'static str {
    if source.kind() == std::io::ErrorKind::AddrInUse {
        "; another program (or another broker login) is using that port: stop it, or use --no-browser"
    } else {
        ""
    }
}

/// How the CLI should treat an error: each class is one exit code of the
/// contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad input or configuration (exit 2).
    Usage,
    /// The account needs a new login (exit 3).
    NeedsLogin,
    /// The provider refused, or the callback failed its checks (exit 4).
    AuthorizationFailed,
    /// Network or provider unavailable (exit 5).
    Unavailable,
    /// Anything else (exit 1).
    Other,
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::InvalidUrl { .. } | Error::Config(_) | Error::Unsupported(_) => {
                ErrorClass::Usage
            }
            Error::StateMismatch
            | Error::IssuerMismatch { .. }
            | Error::Denied { .. }
            | Error::Paste(_)
            | Error::PendingExpired { .. } => ErrorClass::AuthorizationFailed,
            Error::Provider(p) => p.class(),
            Error::Network { .. } | Error::Protocol { .. } => ErrorClass::Unavailable,
            Error::LoginTimeout { .. } | Error::Listener { .. } => ErrorClass::Other,
        }
    }
}

/// Which call a provider error answered; the same refusal means different
/// things during a login and during a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Exchanging an authorization code.
    CodeExchange,
    /// Refreshing an access token.
    Refresh,
    /// A client-credentials grant.
    ClientCredentials,
    /// Asking who the user is.
    Identity,
    /// Revoking a token.
    Revoke,
    /// Registering a client (Mastodon apps).
    Registration,
    /// Reading server metadata.
    Discovery,
}

impl Operation {
    fn describe(self) -> &'static str {
        match self {
            Operation::CodeExchange => "the code exchange",
            Operation::Refresh => "the token refresh",
            Operation::ClientCredentials => "the client-credentials request",
            Operation::Identity => "the identity request",
            Operation::Revoke => "the revocation",
            Operation::Registration => "the app registration",
            Operation::Discovery => "the metadata request",
        }
    }
}

/// An error answer from a provider, in either shape we meet: RFC 6749's
/// `{"error": ..., "error_description": ...}` or Pinterest's
/// `{"code": N, "message": ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    /// Who answered ("Pinterest", "mstdn.jp").
    pub provider: String,
    /// Which call it answered.
    pub operation: Operation,
    /// The HTTP status.
    pub status: u16,
    /// `error` (RFC 6749) or `code` (Pinterest), as text.
    pub code: Option<String>,
    /// `error_description` or `message`, control characters removed.
    pub description: Option<String>,
    /// Pinterest's `x-pinterest-rid`, for support requests.
    pub request_id: Option<String>,
    /// `Retry-After`, in seconds, when the provider said.
    pub retry_after: Option<u64>,
}

impl ProviderError {
    /// Reads an error body. Unknown shapes keep only the status: a body we do
    /// not understand is not shown, since it could echo what we sent.
    pub fn from_body(provider: &str, operation: Operation, status: u16, body: &[u8]) -> Self {
        let mut err = ProviderError {
            provider: provider.to_string(),
            operation,
            status,
            code: None,
            description: None,
            request_id: None,
            retry_after: None,
        };
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(code) = map.get("error").and_then(text) {
                // Mastodon sometimes puts a sentence in `error` with no
                // description ("The access token is invalid").
                if code.contains(' ') && !map.contains_key("error_description") {
                    err.description = Some(code);
                } else {
                    err.code = Some(code);
                    err.description = map.get("error_description").and_then(text);
                }
            } else if let Some(code) = map.get("code").and_then(text) {
                err.code = Some(code);
                err.description = map
                    .get("message")
                    .and_then(text)
                    .or_else(|| map.get("data").and_then(text));
            }
        }
        // Only control characters go here; the length is bounded when the
        // error is shown, after `scrub`, so a secret is never cut in half
        // before it could be recognised.
        err.description = err.description.map(|d| clean_text(&d, usize::MAX));
        err.code = err.code.map(|c| clean_text(&c, usize::MAX));
        err
    }

    /// Replaces every occurrence of the given secrets in the texts we keep.
    pub fn scrub(mut self, secrets: &[&str]) -> Self {
        for field in [&mut self.code, &mut self.description] {
            if let Some(text) = field.as_mut() {
                for secret in secrets.iter().filter(|s| s.len() >= 4) {
                    // As sent, and as a server might echo a form value.
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                    *text = text
                        .replace(secret, "[redacted]")
                        .replace(&encoded, "[redacted]");
                }
            }
        }
        self
    }

    /// The grant (code or refresh token) was refused: RFC 6749
    /// `invalid_grant`, or Pinterest's code 283.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self.code.as_deref(), Some("invalid_grant") | Some("283"))
    }

    /// The client (app id and secret) was refused.
    pub fn is_invalid_client(&self) -> bool {
        self.code.as_deref() == Some("invalid_client")
            || (self.status == 401
                && self.code.as_deref() == Some("2")
                && self.operation != Operation::Identity)
    }

    /// The provider is (maybe briefly) unable to answer.
    pub fn is_transient(&self) -> bool {
        matches!(self.status, 408 | 429 | 500..=599)
            || matches!(
                self.code.as_deref(),
                Some("server_error") | Some("temporarily_unavailable")
            )
    }

    /// The exit-code class.
    pub fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::Unavailable
        } else if (self.operation == Operation::Refresh && self.is_invalid_grant())
            || (self.operation == Operation::Identity && self.status == 401)
        {
            ErrorClass::NeedsLogin
        } else {
            ErrorClass::AuthorizationFailed
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} refused {} (HTTP {}",
            self.provider,
            self.operation.describe(),
            self.status
        )?;
        if let Some(code) = &self.code {
            write!(f, ", {}", clean_text(code, 80))?;
        }
        f.write_str(")")?;
        if let Some(d) = &self.description {
            write!(f, ": {}", clean_text(d, 300))?;
        }
        if let Some(rid) = &self.request_id {
            write!(f, " [request id {rid}]")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl ProviderError {
    fn hint(&self) -> Option<&'static str> {
        if self.is_transient()
            && self.operation == Operation::CodeExchange
            && self.status != 429
            && self.status != 503
        {
            // The code may have been spent before the failure: it cannot be
            // sent again.
            Some("the provider failed while exchanging the code; run the login again")
        } else if self.is_transient() {
            Some("the provider is busy or failing; try again later")
        } else if self.is_invalid_client() {
            Some("check the app id and secret (or the app registration)")
        } else if self.is_invalid_grant() && self.operation == Operation::CodeExchange {
            Some(
                "the code was refused (expired, already used, or the redirect URI differs); log in again",
            )
        } else {
            None
        }
    }
}

/// Why a pasted line was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasteError {
    /// Nothing was pasted.
    #[error("nothing was pasted; paste the code, or the whole address the browser ended on")]
    Empty,
    /// More than 4 KiB.
    #[error("the pasted text is too long to be a code or a redirect address")]
    TooLong,
    /// Not a code, URL or query string.
    #[error(
        "the pasted text is neither a code nor a redirect address; paste the code, or the whole address from the browser's address bar"
    )]
    Garbage,
    /// A URL for another redirect target.
    #[error("the pasted address is not this login's redirect address (expected {expected})")]
    WrongRedirect {
        /// The redirect URI of this login.
        expected: String,
    },
    /// Parameters, but no `code`.
    #[error(
        "the pasted address has no code; paste the address the browser ended on after you approved"
    )]
    MissingCode,
    /// Parameters, but no `state`.
    #[error("the pasted address has no state; paste the whole address, not a part of it")]
    MissingState,
    /// A parameter appears twice.
    #[error("the pasted address repeats the parameter {0}")]
    RepeatedParameter(String),
}

/// Keeps printable text only (no escape sequences for the terminal) and
/// bounds its length.
pub fn clean_text(s: &str, max_chars: usize) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).collect();
    if cleaned.chars().count() > max_chars {
        let cut: String = cleaned.chars().take(max_chars).collect();
        format!("{cut}...")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_error_shapes() {
        let e = ProviderError::from_body(
            "Pinterest",
            Operation::Refresh,
            401,
            br#"{"code":283,"message":"The authorization grant is invalid"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("283"));
        assert!(e.is_invalid_grant());
        assert_eq!(e.class(), ErrorClass::NeedsLogin);

        let e = ProviderError::from_body(
            "mstdn.jp",
            Operation::CodeExchange,
            400,
            br#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("invalid_grant"));
        assert_eq!(e.class(), ErrorClass::AuthorizationFailed);
        assert!(e.to_string().contains("log in again"), "{e}");

        let e = ProviderError::from_body(
            "x",
            Operation::Identity,
            401,
            br#"{"error":"The access token is invalid"}"#,
        );
        assert_eq!(e.code, None);
        assert_eq!(
            e.description.as_deref(),
            Some("The access token is invalid")
        );
        assert_eq!(e.class(), ErrorClass::NeedsLogin);
    }

    #[test]
    fn unknown_bodies_are_not_echoed_and_secrets_are_scrubbed() {
        let e = ProviderError::from_body(
            "x",
            Operation::Refresh,
            400,
            b"<html>refresh=SECRETVALUE</html>",
        );
        assert!(!e.to_string().contains("SECRETVALUE"));
        let e = ProviderError::from_body(
            "x",
            Operation::Refresh,
            400,
            br#"{"error":"invalid_grant","error_description":"token SECRETVALUE is bad\u001b[31m"}"#,
        )
        .scrub(&["SECRETVALUE"]);
        let shown = e.to_string();
        assert!(!shown.contains("SECRETVALUE"), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }

    #[test]
    fn a_long_description_is_scrubbed_before_it_is_shortened() {
        let secret = "S".repeat(40);
        let body = format!(
            r#"{{"error":"invalid_grant","error_description":"{}{secret}"}}"#,
            "x".repeat(280)
        );
        let e = ProviderError::from_body("x", Operation::Refresh, 400, body.as_bytes())
            .scrub(&[&secret]);
        assert!(!e.to_string().contains("SSSS"), "{e}");
        let encoded = ProviderError::from_body(
            "x",
            Operation::Refresh,
            400,
            br#"{"error":"invalid_grant","error_description":"got a%2Bb%2Fc%3D%3D"}"#,
        )
        .scrub(&["a+b/c=="]);
        assert!(!encoded.to_string().contains("a%2Bb"), "{encoded}");
    }

    #[test]
    fn transient_errors_are_unavailable() {
        let e = ProviderError::from_body("x", Operation::CodeExchange, 503, b"");
        assert_eq!(e.class(), ErrorClass::Unavailable);
    }
}
