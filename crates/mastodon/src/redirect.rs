//! Which redirect URIs to register, and how Mastodon matches them.
//!
//! An app is registered once per instance, so its redirect URIs must serve
//! every later login: the browser flow on whatever port the loopback
//! listener gets, and the out-of-band page for headless machines.
//!
//! Mastodon uses Doorkeeper's matching: an exact match against the
//! registered list, except that for loopback **IP literals** (`127.0.0.1`,
//! `::1`) the port is ignored (RFC 8252 §7.3). `localhost` gets no such
//! exception. So registering `http://127.0.0.1/callback` once lets every
//! login bind port 0 and send `http://127.0.0.1:<port>/callback`, both at
//! the authorization and at the token endpoint.

use broker_core::flow::OOB_REDIRECT_URI;
use url::{Host, Url};

/// The out-of-band redirect URI: the instance shows the code on a page.
pub const OOB: &str = OOB_REDIRECT_URI;

/// The loopback redirect as registered: no port, since Mastodon ignores the
/// port of a loopback IP literal.
const LOOPBACK_REGISTERED: &str = "http://127.0.0.1/callback";

/// What to hand `LoopbackListener::bind`: port 0 picks a free port, and the
/// bound URI still matches [`registration_redirect_uris`].
pub fn loopback_redirect_template() -> &'static str {
    "http://127.0.0.1:0/callback"
}

/// The redirect URIs to register, once per instance: the port-less loopback
/// callback and [`OOB`].
pub fn registration_redirect_uris() -> Vec<String> {
    vec![LOOPBACK_REGISTERED.to_string(), OOB.to_string()]
}

/// Whether `redirect_uri` would be accepted by an app registered with
/// `registered`, by Mastodon's (Doorkeeper's) rule.
pub fn redirect_registered(registered: &[String], redirect_uri: &str) -> bool {
    let Ok(wanted) = Url::parse(redirect_uri) else {
        return false;
    };
    registered.iter().any(|r| {
        let Ok(candidate) = Url::parse(r) else {
            return false;
        };
        if is_loopback_ip(&wanted) && is_loopback_ip(&candidate) {
            without_port(wanted.clone()) == without_port(candidate)
        } else {
            wanted == candidate
        }
    })
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fn without_port(mut url: Url) -> Url {
    let _ = url.set_port(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::flow::LoopbackListener;

    #[test]
    fn any_bound_port_matches_the_registration() {
        let registered = registration_redirect_uris();
        let listener = LoopbackListener::bind(loopback_redirect_template()).unwrap();
        let bound = listener.redirect_uri().to_string();
        assert_ne!(listener.local_addrs()[0].port(), 0);
        assert!(redirect_registered(&registered, &bound), "{bound}");
        assert!(redirect_registered(&registered, OOB));
        assert!(redirect_registered(
            &registered,
            "http://127.0.0.1:65000/callback"
        ));
    }

    #[test]
    fn other_uris_do_not_match() {
        let registered = registration_redirect_uris();
        for uri in [
            "http://127.0.0.1:8080/other",
            "http://localhost:8080/callback",
            "https://127.0.0.1/callback",
            "http://127.0.0.2/callback",
            "urn:ietf:wg:oauth:2.0:oob:auto",
            "not a uri",
        ] {
            assert!(!redirect_registered(&registered, uri), "{uri}");
        }
        // localhost gets no port exception.
        let localhost = vec!["http://localhost:8085/".to_string()];
        assert!(redirect_registered(&localhost, "http://localhost:8085/"));
        assert!(!redirect_registered(&localhost, "http://localhost:9000/"));
    }
}
