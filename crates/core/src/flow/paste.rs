//! Paste mode: the user opened the authorization URL elsewhere and pastes
//! back what they got: a bare code (Mastodon's out-of-band page shows one),
//! the whole address the browser ended on, or just its query string.

use oauth2::{AuthorizationCode, CsrfToken};
use url::Url;

use crate::error::{Error, PasteError, clean_text};
use crate::pkce::states_match;

/// Longest line we consider; a redirect address is far shorter.
const MAX_PASTE: usize = 4096;

/// A code taken from a pasted line.
#[derive(Debug)]
pub struct PastedCode {
    /// The authorization code.
    pub code: AuthorizationCode,
    /// Whether the line carried a `state` that matched. A bare code carries
    /// none, so the caller shows the identity before storing anything.
    pub state_checked: bool,
}

/// The parameters of a redirect, each at most once. No `Debug`: the code
/// and state are secrets.
#[derive(Default)]
pub(crate) struct CallbackParams {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
    pub(crate) iss: Option<String>,
}

impl CallbackParams {
    /// Parses a query string; a repeated parameter is refused (RFC 6749
    /// §3.1), since it is how one smuggles a second code or state.
    pub(crate) fn parse(query: &str) -> Result<CallbackParams, PasteError> {
        let mut p = CallbackParams::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut p.code,
                "state" => &mut p.state,
                "error" => &mut p.error,
                "error_description" => &mut p.error_description,
                "iss" => &mut p.iss,
                _ => continue,
            };
            if slot.is_some() {
                return Err(PasteError::RepeatedParameter(k.into_owned()));
            }
            *slot = Some(v.into_owned());
        }
        Ok(p)
    }

    /// Checks the state, then turns the parameters into a code or the
    /// provider's refusal. The state is checked first, even for an error, so
    /// that nobody but the real provider can end a login.
    pub(crate) fn into_code(
        self,
        expected: &CsrfToken,
        issuer: Option<&str>,
    ) -> Result<AuthorizationCode, Error> {
        match &self.state {
            None => return Err(PasteError::MissingState.into()),
            Some(s) if !states_match(expected, s) => return Err(Error::StateMismatch),
            Some(_) => {}
        }
        // RFC 9207: a server that names itself must be this login's server.
        // A response without `iss` is accepted: Mastodon does not send it.
        if let (Some(got), Some(want)) = (&self.iss, issuer)
            && got != want
        {
            return Err(Error::IssuerMismatch {
                expected: want.to_string(),
                got: clean_text(got, 200),
            });
        }
        if let Some(error) = self.error {
            return Err(Error::Denied {
                error: clean_text(&error, 80),
                description: self.error_description.map(|d| clean_text(&d, 300)),
            });
        }
        match self.code {
            Some(code) if !code.is_empty() => Ok(AuthorizationCode::new(code)),
            _ => Err(PasteError::MissingCode.into()),
        }
    }
}

/// Reads one pasted line. `redirect_uri` is this login's redirect URI; a
/// pasted address must point at it (scheme, host, port and path).
/// `issuer`, when known, is what an `iss` in the line must equal.
pub fn parse_paste(
    line: &str,
    expected_state: &CsrfToken,
    redirect_uri: &str,
    issuer: Option<&str>,
) -> Result<PastedCode, Error> {
    let line = line.trim();
    if line.is_empty() {
        return Err(PasteError::Empty.into());
    }
    if line.len() > MAX_PASTE {
        return Err(PasteError::TooLong.into());
    }
    if line.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(PasteError::Garbage.into());
    }

    let query = if line.contains("://") || (line.contains('?') && !line.starts_with('?')) {
        // A whole address; browsers may hide the scheme when copying.
        let with_scheme = if line.contains("://") {
            line.to_string()
        } else {
            format!("http://{line}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| PasteError::Garbage)?;
        if !same_target(&url, redirect_uri) {
            return Err(PasteError::WrongRedirect {
                expected: redirect_uri.to_string(),
            }
            .into());
        }
        url.query().unwrap_or("").to_string()
    } else if line.contains('=') {
        line.trim_start_matches('?').to_string()
    } else {
        return bare_code(line);
    };

    let params = CallbackParams::parse(&query)?;
    let code = params.into_code(expected_state, issuer)?;
    Ok(PastedCode {
        code,
        state_checked: true,
    })
}

fn bare_code(line: &str) -> Result<PastedCode, Error> {
    let plausible = line.len() <= 1024
        && line.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !plausible {
        return Err(PasteError::Garbage.into());
    }
    Ok(PastedCode {
        code: AuthorizationCode::new(line.to_string()),
        state_checked: false,
    })
}

fn same_target(pasted: &Url, redirect_uri: &str) -> bool {
    let Ok(expected) = Url::parse(redirect_uri) else {
        return false; // out-of-band logins expect a bare code, not an address
    };
    pasted.scheme() == expected.scheme()
        && pasted.host_str().map(str::to_ascii_lowercase)
            == expected.host_str().map(str::to_ascii_lowercase)
        && pasted.port_or_known_default() == expected.port_or_known_default()
        && pasted.path() == expected.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIRECT: &str = "http://localhost:8085/";

    fn state() -> CsrfToken {
        CsrfToken::new("S7a7e".to_string())
    }

    fn paste(line: &str) -> Result<PastedCode, Error> {
        parse_paste(line, &state(), REDIRECT, Some("https://as.example/"))
    }

    #[test]
    fn bare_code_is_accepted_unchecked() {
        let p = paste("  abc123-_.~  \n").unwrap();
        assert_eq!(p.code.secret(), "abc123-_.~");
        assert!(!p.state_checked);
    }

    #[test]
    fn full_url_is_accepted_with_state() {
        let p = paste("http://localhost:8085/?code=c0de&state=S7a7e").unwrap();
        assert_eq!(p.code.secret(), "c0de");
        assert!(p.state_checked);
        // Copied without the scheme.
        let p = paste("localhost:8085/?code=c0de&state=S7a7e").unwrap();
        assert_eq!(p.code.secret(), "c0de");
    }

    #[test]
    fn query_string_is_accepted() {
        for line in ["code=c0de&state=S7a7e", "?state=S7a7e&code=c0de"] {
            let p = paste(line).unwrap();
            assert_eq!(p.code.secret(), "c0de");
            assert!(p.state_checked);
        }
    }

    #[test]
    fn error_in_url_is_the_providers_refusal() {
        let err = paste(
            "http://localhost:8085/?error=access_denied&error_description=User+said+no&state=S7a7e",
        )
        .unwrap_err();
        match &err {
            Error::Denied { error, description } => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("User said no"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.class(), crate::ErrorClass::AuthorizationFailed);
    }

    #[test]
    fn wrong_state_is_refused_even_for_an_error() {
        assert!(matches!(
            paste("code=c0de&state=other"),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            paste("error=access_denied&state=other"),
            Err(Error::StateMismatch)
        ));
    }

    #[test]
    fn empty_garbage_and_oddities_are_refused() {
        let cases: &[(&str, PasteError)] = &[
            ("", PasteError::Empty),
            ("   \n", PasteError::Empty),
            ("hello world", PasteError::Garbage),
            ("<script>", PasteError::Garbage),
            ("c\u{1b}[31m", PasteError::Garbage),
            ("code=c0de", PasteError::MissingState),
            ("state=S7a7e", PasteError::MissingCode),
            (
                "code=a&code=b&state=S7a7e",
                PasteError::RepeatedParameter("code".into()),
            ),
            (
                "http://localhost:9999/?code=c&state=S7a7e",
                PasteError::WrongRedirect {
                    expected: REDIRECT.into(),
                },
            ),
            (
                "http://localhost:8085/other?code=c&state=S7a7e",
                PasteError::WrongRedirect {
                    expected: REDIRECT.into(),
                },
            ),
            (
                "https://localhost:8085/?code=c&state=S7a7e",
                PasteError::WrongRedirect {
                    expected: REDIRECT.into(),
                },
            ),
        ];
        for (line, want) in cases {
            match paste(line) {
                Err(Error::Paste(got)) => assert_eq!(&got, want, "{line:?}"),
                other => panic!("{line:?}: {other:?}"),
            }
        }
        assert!(matches!(
            paste(&"a".repeat(5000)),
            Err(Error::Paste(PasteError::TooLong))
        ));
    }

    #[test]
    fn an_iss_must_name_this_logins_server() {
        let p = paste("code=c&state=S7a7e&iss=https%3A%2F%2Fas.example%2F").unwrap();
        assert_eq!(p.code.secret(), "c");
        let err = paste("code=c&state=S7a7e&iss=https%3A%2F%2Fevil.example%2F").unwrap_err();
        assert!(matches!(err, Error::IssuerMismatch { .. }), "{err:?}");
        assert!(err.to_string().contains("evil.example"), "{err}");
        // Unknown issuer (no metadata): nothing to compare with.
        assert!(parse_paste("code=c&state=S7a7e&iss=x", &state(), REDIRECT, None).is_ok());
    }

    #[test]
    fn oob_logins_take_only_bare_codes() {
        let oob = "urn:ietf:wg:oauth:2.0:oob";
        assert!(parse_paste("Zm9vYmFy", &state(), oob, None).is_ok());
        assert!(matches!(
            parse_paste(
                "http://localhost:8085/?code=c&state=S7a7e",
                &state(),
                oob,
                None
            ),
            Err(Error::Paste(PasteError::WrongRedirect { .. }))
        ));
    }
}
