//! The instance a user names, parsed once at the edge.
//!
//! People name a Mastodon server in many ways: `mstdn.jp`,
//! `https://mstdn.jp/`, `MSTDN.JP`, their handle `@alice@mstdn.jp`, a
//! development server `127.0.0.1:3000`. All of them become one canonical
//! origin here, because that origin keys the app registration and the
//! accounts: two spellings of one server must never register twice or hold
//! two copies of one account.
//!
//! Everything that would send the app secret or a token somewhere unsafe is
//! refused here, before any request: plain http to a non-loopback host,
//! user info, paths, queries and fragments (security checklist item 12).

use broker_core::{Endpoint, Error, is_loopback_host};
use url::Url;

/// A Mastodon server, as the user named it, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// `scheme://host[:port]/`: https, or http for a loopback host.
    pub origin: Endpoint,
    /// Lowercase, punycode, with `:port` when the port is not the
    /// scheme's default: `mstdn.jp`, `xn--bcher-kva.example`,
    /// `127.0.0.1:3000`.
    pub host: String,
    /// The user part of a handle (`alice` from `@alice@mstdn.jp`); the CLI
    /// may compare it with the account that logs in.
    pub user_hint: Option<String>,
}

impl Instance {
    /// Parses what the user typed.
    ///
    /// Accepted: a host (`mstdn.jp`, any case, internationalised names
    /// become punycode), a URL with at most a `/` path, a handle
    /// (`@alice@mstdn.jp` or `alice@mstdn.jp`), a loopback host with or
    /// without a scheme (`127.0.0.1:3000` means `http://127.0.0.1:3000`).
    /// A host without a scheme means `https://`.
    ///
    /// Refused with [`Error::InvalidUrl`]: nothing at all, plain http to a
    /// non-loopback host, schemes other than http(s), user info, a path
    /// other than `/`, a query, a fragment.
    pub fn parse(input: &str) -> Result<Instance, Error> {
        let shown = display_safe(input.trim());
        let refuse = |reason: &str| Error::InvalidUrl {
            what: "instance".to_string(),
            url: shown.clone(),
            reason: reason.to_string(),
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(refuse(
                "nothing was given; name the server, for example mstdn.jp",
            ));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(refuse("it contains spaces or control characters"));
        }

        let (user_hint, url) = if text.contains("://") {
            let url = Url::parse(text).map_err(|e| refuse(&e.to_string()))?;
            (None, url)
        } else {
            let (user, rest) = split_handle(text).map_err(|r| refuse(&r))?;
            (user, without_scheme(rest).map_err(|r| refuse(&r))?)
        };

        let loopback = url.host().is_some_and(|h| is_loopback_host(&h));
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(refuse(
                    "plain http is accepted only for loopback hosts (127.0.0.1, [::1], localhost): \
                     the app secret and your tokens would cross the network in clear; use https://",
                ));
            }
            _ => return Err(refuse("only https:// instances are accepted")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(if url.password().is_none() {
                "a URL with user info is not accepted; to name an account, write alice@host without https://"
            } else {
                "a URL with user info (a password) is not accepted"
            }));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(refuse("there is no host name"));
        };
        if url.path() != "/" {
            return Err(refuse(&format!(
                "an instance is a server, not a page: drop the path {}",
                url.path()
            )));
        }
        if url.query().is_some() {
            return Err(refuse("an instance URL takes no query (?...)"));
        }
        if url.fragment().is_some() {
            return Err(refuse("an instance URL takes no fragment (#...)"));
        }

        let host = match url.port() {
            // `url` already drops a port equal to the scheme's default.
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let origin = Endpoint::from_url("instance", url)?;
        Ok(Instance {
            origin,
            host,
            user_hint,
        })
    }

    /// The origin without a trailing slash (`https://mstdn.jp`): the key
    /// the CLI files the app registration under.
    pub fn key(&self) -> String {
        self.origin.origin()
    }
}

/// Splits `@alice@host` or `alice@host` into the user and the host part.
fn split_handle(text: &str) -> Result<(Option<String>, &str), String> {
    let without_at = text.strip_prefix('@').unwrap_or(text);
    // Only an @ before any path counts: `mstdn.jp/@alice` is a profile page.
    let authority_end = without_at.find(['/', '?', '#']).unwrap_or(without_at.len());
    let at = without_at[..authority_end].rfind('@');
    match at.map(|i| (&without_at[..i], &without_at[i + 1..])) {
        None if without_at.len() != text.len() => Err(
            "this looks like a handle without a server; write @alice@mstdn.jp, or just mstdn.jp"
                .into(),
        ),
        None => Ok((None, text)),
        Some((user, host)) => {
            let valid_user = !user.is_empty()
                && user.len() <= 64
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid_user {
                return Err(format!(
                    "{user:?} is not a user name; write @alice@mstdn.jp, or just mstdn.jp"
                ));
            }
            if host.is_empty() {
                return Err("the handle has no server after the @".into());
            }
            Ok((Some(user.to_string()), host))
        }
    }
}

/// A host without a scheme: `https://`, except for a loopback host, where a
/// development server rarely has TLS (the contract's rule).
fn without_scheme(rest: &str) -> Result<Url, String> {
    let http = Url::parse(&format!("http://{rest}")).map_err(|e| e.to_string())?;
    if http.host().is_some_and(|h| is_loopback_host(&h)) {
        return Ok(http);
    }
    // Parse again rather than switch the scheme, so that an explicit :80 is
    // kept and an explicit :443 dropped, as the user would expect.
    Url::parse(&format!("https://{rest}")).map_err(|e| e.to_string())
}

/// The input for error messages: user info (which may hold a password) is
/// replaced, since error texts end up on screens and in logs.
fn display_safe(input: &str) -> String {
    match input.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://[redacted]{}", &rest[at..]),
                None => input.to_string(),
            }
        }
        None => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> (String, String, Option<String>) {
        let i = Instance::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        (i.origin.to_string(), i.host, i.user_hint)
    }

    fn refused(input: &str) -> String {
        match Instance::parse(input) {
            Err(e @ Error::InvalidUrl { .. }) => e.to_string(),
            other => panic!("{input:?} should be refused: {other:?}"),
        }
    }

    #[test]
    fn accepted_forms() {
        /// Input, then the origin, host and user hint it gives.
        type Row = (
            &'static str,
            (&'static str, &'static str, Option<&'static str>),
        );
        let table: &[Row] = &[
            ("mstdn.jp", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("  mstdn.jp \n", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("https://mstdn.jp", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("https://mstdn.jp/", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("HTTPS://MSTDN.JP/", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("MSTDN.JP", ("https://mstdn.jp/", "mstdn.jp", None)),
            ("mstdn.jp/", ("https://mstdn.jp/", "mstdn.jp", None)),
            (
                "https://mstdn.jp:443/",
                ("https://mstdn.jp/", "mstdn.jp", None),
            ),
            (
                "https://mstdn.jp:8443",
                ("https://mstdn.jp:8443/", "mstdn.jp:8443", None),
            ),
            ("mstdn.jp:80", ("https://mstdn.jp:80/", "mstdn.jp:80", None)),
            (
                "@alice@mstdn.jp",
                ("https://mstdn.jp/", "mstdn.jp", Some("alice")),
            ),
            (
                "alice@mstdn.jp",
                ("https://mstdn.jp/", "mstdn.jp", Some("alice")),
            ),
            (
                "@Alice_B@MSTDN.jp",
                ("https://mstdn.jp/", "mstdn.jp", Some("Alice_B")),
            ),
            (
                "Bücher.example",
                (
                    "https://xn--bcher-kva.example/",
                    "xn--bcher-kva.example",
                    None,
                ),
            ),
            (
                "https://mastodon.日本/",
                ("https://mastodon.xn--wgv71a/", "mastodon.xn--wgv71a", None),
            ),
            (
                "@bob@bücher.example",
                (
                    "https://xn--bcher-kva.example/",
                    "xn--bcher-kva.example",
                    Some("bob"),
                ),
            ),
            (
                "127.0.0.1:3000",
                ("http://127.0.0.1:3000/", "127.0.0.1:3000", None),
            ),
            (
                "http://127.0.0.1:3000/",
                ("http://127.0.0.1:3000/", "127.0.0.1:3000", None),
            ),
            (
                "https://127.0.0.1:3000",
                ("https://127.0.0.1:3000/", "127.0.0.1:3000", None),
            ),
            (
                "http://localhost:3000",
                ("http://localhost:3000/", "localhost:3000", None),
            ),
            (
                "localhost:3000",
                ("http://localhost:3000/", "localhost:3000", None),
            ),
            ("[::1]:3000", ("http://[::1]:3000/", "[::1]:3000", None)),
            (
                "@alice@127.0.0.1:3000",
                ("http://127.0.0.1:3000/", "127.0.0.1:3000", Some("alice")),
            ),
            ("203.0.113.5", ("https://203.0.113.5/", "203.0.113.5", None)),
        ];
        for (input, (origin, host, user)) in table {
            let got = ok(input);
            assert_eq!(
                got,
                (
                    origin.to_string(),
                    host.to_string(),
                    user.map(str::to_string)
                ),
                "{input:?}"
            );
        }
    }

    #[test]
    fn key_has_no_trailing_slash_and_spellings_agree() {
        let keys: Vec<String> = [
            "mstdn.jp",
            "https://MSTDN.JP/",
            "@alice@mstdn.jp",
            "bob@mstdn.jp",
        ]
        .iter()
        .map(|i| Instance::parse(i).unwrap().key())
        .collect();
        assert!(keys.iter().all(|k| k == "https://mstdn.jp"), "{keys:?}");
        assert_eq!(
            Instance::parse("127.0.0.1:3000").unwrap().key(),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn refusals_say_why() {
        let table: &[(&str, &str)] = &[
            ("", "nothing was given"),
            ("   ", "nothing was given"),
            ("http://mstdn.jp", "in clear"),
            ("http://mstdn.jp:3000/", "in clear"),
            ("http://203.0.113.5/", "in clear"),
            ("ftp://mstdn.jp", "only https"),
            ("javascript://mstdn.jp", "only https"),
            ("https://alice@mstdn.jp", "user info"),
            ("https://u:hunter2@mstdn.jp", "password"),
            ("https://mstdn.jp/about", "drop the path /about"),
            ("mstdn.jp/@alice", "drop the path"),
            ("https://mstdn.jp/?x=1", "no query"),
            ("https://mstdn.jp/?", "no query"),
            ("https://mstdn.jp/#top", "no fragment"),
            ("https://mstdn.jp/#", "no fragment"),
            ("mstdn .jp", "spaces"),
            ("@alice", "without a server"),
            ("alice@", "no server"),
            ("al ice@mstdn.jp", "spaces"),
            ("al!ice@mstdn.jp", "not a user name"),
            ("al/ice@mstdn.jp", "drop the path"),
            ("a@b@mstdn.jp", "not a user name"),
            ("https://", "instance URL"),
        ];
        for (input, why) in table {
            let text = refused(input);
            assert!(text.contains(why), "{input:?}: {text}");
        }
    }

    #[test]
    fn a_password_in_the_input_is_not_echoed() {
        let text = refused("https://u:hunter2@mstdn.jp/");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[redacted]@mstdn.jp"), "{text}");
    }
}
