//! Injected failures. Clients must tell apart failures where the server
//! cannot have acted on the request (500 here, 429, 503, a request held
//! before processing) from ones where it may have (a response lost after
//! processing), because a code or rotating refresh token must never be
//! replayed in the second case. This module decides which fault a request
//! gets and renders the ones that replace the normal answer.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tokio::sync::watch;

use crate::common::{iso8601, now};
use crate::http::{json, set_header};
use crate::{Fault, FaultTarget};

/// `remaining` more requests matching `target` get `fault`.
pub(crate) struct Injection {
    pub(crate) target: FaultTarget,
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
}

/// Which provider's error dialect a path speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    Pinterest,
    Mastodon,
}

pub(crate) fn provider_of(path: &str) -> Provider {
    if path == "/oauth/" || path == "/oauth" || path.starts_with("/v5/") || path.starts_with("/v3/")
    {
        Provider::Pinterest
    } else {
        Provider::Mastodon
    }
}

fn matches(target: FaultTarget, path: &str) -> bool {
    // Mastodon (Rails) routes tolerate a trailing slash; the fault must
    // follow the route, not the spelling.
    let mastodon_path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    match target {
        FaultTarget::Any => true,
        FaultTarget::Token => {
            path == "/v5/oauth/token"
                || path == "/v3/oauth/access_token/"
                || mastodon_path == "/oauth/token"
        }
        FaultTarget::Identity => {
            path == "/v5/user_account"
                || path == "/v3/users/me/"
                || mastodon_path == "/api/v1/accounts/verify_credentials"
        }
        FaultTarget::Registration => mastodon_path == "/api/v1/apps",
    }
}

/// Takes the first pending fault that applies to `path`, oldest first.
pub(crate) fn take(queue: &mut std::collections::VecDeque<Injection>, path: &str) -> Option<Fault> {
    let idx = queue.iter().position(|i| matches(i.target, path))?;
    let inj = &mut queue[idx];
    inj.remaining -= 1;
    let fault = inj.fault.clone();
    if inj.remaining == 0 {
        queue.remove(idx);
    }
    Some(fault)
}

/// The response for a fault that replaces processing; `None` for the
/// faults that let the request be processed (or never answer).
pub(crate) fn respond(fault: &Fault, provider: Provider) -> Option<Response> {
    let resp = match fault {
        Fault::Status500 => match provider {
            Provider::Pinterest => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"code": 0, "message": "Internal error"}),
            ),
            Provider::Mastodon => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "server_error"}),
            ),
        },
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = match provider {
                Provider::Pinterest => json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({"code": 8, "message": "You have exceeded your rate limit. Try again later."}),
                ),
                Provider::Mastodon => {
                    let mut r = json(
                        StatusCode::TOO_MANY_REQUESTS,
                        &json!({"error": "Too many requests"}),
                    );
                    let reset = now() + Duration::from_secs(*retry_after_secs);
                    set_header(&mut r, "x-ratelimit-limit", "300");
                    set_header(&mut r, "x-ratelimit-remaining", "0");
                    set_header(&mut r, "x-ratelimit-reset", &iso8601(reset));
                    r
                }
            };
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::ServiceUnavailable { retry_after_secs } => {
            let mut resp = match provider {
                Provider::Pinterest => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"code": 0, "message": "Service unavailable"}),
                ),
                Provider::Mastodon => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"error": "temporarily_unavailable"}),
                ),
            };
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::MalformedJson => {
            let mut resp = Response::new(axum::body::Body::from("{\"access_token\": \"tru"));
            set_header(&mut resp, "content-type", "application/json");
            resp
        }
        Fault::Slow(_) | Fault::Hold | Fault::ProcessThenHold => return None,
    };
    Some(resp)
}

/// Waits "forever" (an hour), or until the sandbox shuts down so that a
/// held request cannot keep a dropped sandbox's connections alive.
pub(crate) async fn hold(mut shutdown: watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        _ = shutdown.wait_for(|down| *down) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn faults_are_consumed_in_order_per_target() {
        let mut q = VecDeque::new();
        q.push_back(Injection {
            target: FaultTarget::Identity,
            fault: Fault::Status500,
            remaining: 1,
        });
        q.push_back(Injection {
            target: FaultTarget::Token,
            fault: Fault::Hold,
            remaining: 2,
        });
        assert!(take(&mut q, "/api/v1/apps").is_none());
        assert!(matches!(take(&mut q, "/oauth/token"), Some(Fault::Hold)));
        assert!(matches!(
            take(&mut q, "/v5/user_account"),
            Some(Fault::Status500)
        ));
        assert!(matches!(take(&mut q, "/v5/oauth/token"), Some(Fault::Hold)));
        assert!(take(&mut q, "/v5/oauth/token").is_none());
        assert!(q.is_empty());
    }

    #[test]
    fn providers_by_path() {
        assert_eq!(provider_of("/oauth/"), Provider::Pinterest);
        assert_eq!(provider_of("/v3/users/me/"), Provider::Pinterest);
        assert_eq!(provider_of("/oauth/token"), Provider::Mastodon);
    }
}
