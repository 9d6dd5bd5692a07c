//! URLs we are about to send secrets to, parsed and checked once at the edge.
//!
//! The rule from the contract: `https` everywhere, except loopback hosts
//! (`127.0.0.1`, `[::1]`, `localhost`), which may use `http` for development
//! and tests. An [`Endpoint`] can only be built through that check, so code
//! that holds one never has to ask again.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::Error;

/// A URL that passed the https-except-loopback rule: no user info, no
/// fragment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint(Url);

impl Endpoint {
    /// Parses and checks `input`; `what` names it in the error ("token
    /// endpoint", "instance").
    pub fn parse(what: &str, input: &str) -> Result<Endpoint, Error> {
        let url = Url::parse(input.trim()).map_err(|e| Error::InvalidUrl {
            what: what.to_string(),
            url: input.to_string(),
            reason: e.to_string(),
        })?;
        Endpoint::from_url(what, url)
    }

    /// Checks an already parsed URL.
    pub fn from_url(what: &str, url: Url) -> Result<Endpoint, Error> {
        let refuse = |reason: &str| Error::InvalidUrl {
            what: what.to_string(),
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("a URL with user info is not accepted"));
        }
        if url.fragment().is_some() {
            return Err(refuse("a URL with a fragment (#...) is not accepted"));
        }
        match url.scheme() {
            "https" => {}
            "http" if url.host().is_some_and(|h| is_loopback_host(&h)) => {}
            "http" => {
                return Err(refuse(
                    "only https is accepted, except for loopback hosts (127.0.0.1, [::1], localhost)",
                ));
            }
            _ => return Err(refuse("only https URLs are accepted")),
        }
        if url.host().is_none() {
            return Err(refuse("the URL has no host"));
        }
        Ok(Endpoint(url))
    }

    /// The checked URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Joins a path onto this endpoint; the result stays on the same origin
    /// because `path` is relative.
    pub fn join(&self, path: &str) -> Endpoint {
        let relative = path.trim_start_matches('/');
        let mut base = self.0.clone();
        if !base.path().ends_with('/') {
            let with_slash = format!("{}/", base.path());
            base.set_path(&with_slash);
        }
        let joined = base.join(relative).unwrap_or_else(|_| self.0.clone());
        Endpoint(joined)
    }

    /// The origin, `scheme://host[:port]`, without a trailing slash.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.0)
    }
}

/// Whether a host is one of the loopback names the contract allows over
/// plain http.
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_and_http_only_on_loopback() {
        assert!(Endpoint::parse("api", "https://api.pinterest.com").is_ok());
        assert!(Endpoint::parse("api", "http://127.0.0.1:3000/").is_ok());
        assert!(Endpoint::parse("api", "http://[::1]:3000/").is_ok());
        assert!(Endpoint::parse("api", "http://localhost:8085/").is_ok());
        let err = Endpoint::parse("api", "http://mstdn.jp").unwrap_err();
        assert!(err.to_string().contains("only https"), "{err}");
        assert!(Endpoint::parse("api", "ftp://x.example").is_err());
        assert!(Endpoint::parse("api", "https://u:p@x.example").is_err());
        assert!(Endpoint::parse("api", "https://x.example/#frag").is_err());
        assert!(Endpoint::parse("api", "javascript:alert(1)").is_err());
        assert!(Endpoint::parse("api", "file:///etc/passwd").is_err());
    }

    #[test]
    fn join_keeps_the_base_path() {
        let e = Endpoint::parse("api", "http://127.0.0.1:9/base").unwrap();
        assert_eq!(
            e.join("/v5/oauth/token").url().as_str(),
            "http://127.0.0.1:9/base/v5/oauth/token"
        );
        let e = Endpoint::parse("api", "https://api.pinterest.com").unwrap();
        assert_eq!(
            e.join("v5/user_account").url().as_str(),
            "https://api.pinterest.com/v5/user_account"
        );
        assert_eq!(e.origin(), "https://api.pinterest.com");
    }
}
