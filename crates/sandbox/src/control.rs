//! The `/_sandbox/` control surface: the same knobs as the Rust API, over
//! HTTP, for shell scripts and benchmarks driving the `broker-sandbox`
//! binary. Control requests are neither recorded nor subject to faults, so
//! they never disturb what a test observes.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::common::epoch_millis;
use crate::http::{Req, flatten_json_object, json, parse_form};
use crate::state::Shared;
use crate::{Fault, FaultTarget, MastodonMode};

pub(crate) fn handle(shared: &Shared, req: &Req) -> Response {
    let route = req.path.trim_start_matches("/_sandbox").trim_matches('/');
    let result = match (&req.method, route) {
        (&Method::GET, "requests") => Ok(requests(shared)),
        (&Method::GET, "count") => count(shared, req),
        (&Method::GET, "count_grant") => {
            let q = query(req);
            q.get("grant_type")
                .map(|g| json!({"count": shared.count_grant(g)}))
                .ok_or_else(|| "grant_type is required".to_string())
        }
        (&Method::GET, "token_valid") => {
            let q = query(req);
            q.get("token")
                .map(|t| json!({"valid": shared.is_valid_access_token(t)}))
                .ok_or_else(|| "token is required".to_string())
        }
        (&Method::GET, "config") => Ok(config(shared)),
        (&Method::POST, "inject") => inject(shared, req),
        (&Method::POST, "redirect_uri") => body(req).get("uri").map_or_else(
            || Err("uri is required".to_string()),
            |uri| {
                shared.add_redirect_uri(uri);
                Ok(json!({"ok": true}))
            },
        ),
        (&Method::POST, "lifetimes") => lifetimes(shared, req),
        (&Method::POST, "clear_requests") => {
            shared.lock().requests.clear();
            Ok(json!({"ok": true}))
        }
        (&Method::POST, "deny_next_consent") => {
            shared.lock().deny_next_consent = true;
            Ok(json!({"ok": true}))
        }
        (&Method::POST, "forget_mastodon_apps") => {
            shared.forget_mastodon_apps();
            Ok(json!({"ok": true}))
        }
        (&Method::POST, "mastodon_mode") => body(req)
            .get("mode")
            .and_then(|m| parse_mode(m))
            .map(|mode| {
                shared.set_mastodon_mode(mode);
                json!({"ok": true})
            })
            .ok_or_else(|| "mode must be modern, legacy or html".to_string()),
        (&Method::POST, "user") => user(shared, req),
        _ => {
            return json(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("no control endpoint {} {}", req.method, req.path)}),
            );
        }
    };
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(message) => json(StatusCode::BAD_REQUEST, &json!({"error": message})),
    }
}

/// `modern`, `legacy` or `html` (also `html_metadata`).
fn parse_mode(s: &str) -> Option<MastodonMode> {
    match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "modern" => Some(MastodonMode::Modern),
        "legacy" => Some(MastodonMode::Legacy),
        "html" | "htmlmetadata" => Some(MastodonMode::HtmlMetadata),
        _ => None,
    }
}

fn query(req: &Req) -> HashMap<String, String> {
    req.query_pairs().into_iter().collect()
}

/// A JSON object or a form, as string pairs.
fn body(req: &Req) -> HashMap<String, String> {
    flatten_json_object(&req.body)
        .unwrap_or_else(|| parse_form(&req.body))
        .into_iter()
        .collect()
}

fn requests(shared: &Shared) -> Value {
    Value::Array(
        shared
            .requests()
            .into_iter()
            .map(|r| {
                json!({
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "headers": r.headers,
                    "body": r.body,
                    "at_ms": epoch_millis(r.at) as u64,
                })
            })
            .collect(),
    )
}

fn count(shared: &Shared, req: &Req) -> Result<Value, String> {
    let q = query(req);
    match (q.get("method"), q.get("path")) {
        (Some(m), Some(p)) => Ok(json!({"count": shared.count(m, p)})),
        _ => Err("method and path are required".into()),
    }
}

fn config(shared: &Shared) -> Value {
    let st = shared.lock();
    json!({
        "base_url": shared.base_url.as_str(),
        "pinterest_app_id": shared.app_id,
        "pinterest_app_secret": shared.app_secret,
        "pinterest_redirect_uris": st.redirect_uris,
        "pinterest_user": st.pinterest_user,
        "mastodon_user": st.mastodon_user,
        "mastodon_mode": format!("{:?}", st.mastodon_mode),
        "lifetimes": {
            "code_secs": st.lifetimes.code.as_secs(),
            "access_secs": st.lifetimes.access.as_secs(),
            "refresh_secs": st.lifetimes.refresh.as_secs(),
        },
    })
}

fn number(map: &HashMap<String, String>, key: &str) -> Result<Option<u64>, String> {
    map.get(key)
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("{key} must be a non-negative integer"))
        })
        .transpose()
}

fn inject(shared: &Shared, req: &Req) -> Result<Value, String> {
    let b = body(req);
    let target = match b.get("target").map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("token") => FaultTarget::Token,
        Some("identity") => FaultTarget::Identity,
        Some("registration") => FaultTarget::Registration,
        Some("any") | None => FaultTarget::Any,
        Some(other) => return Err(format!("unknown target {other}")),
    };
    let retry_after_secs = number(&b, "retry_after_secs")?.unwrap_or(1);
    let millis = number(&b, "millis")?.unwrap_or(1000);
    let name = b
        .get("fault")
        .ok_or("fault is required")?
        .to_ascii_lowercase()
        .replace(['-', '_'], "");
    let fault = match name.as_str() {
        "status500" | "500" => Fault::Status500,
        "toomanyrequests" | "429" => Fault::TooManyRequests { retry_after_secs },
        "serviceunavailable" | "503" => Fault::ServiceUnavailable { retry_after_secs },
        "slow" => Fault::Slow(Duration::from_millis(millis)),
        "malformedjson" => Fault::MalformedJson,
        "hold" => Fault::Hold,
        "processthenhold" => Fault::ProcessThenHold,
        _ => return Err(format!("unknown fault {name}")),
    };
    let times = number(&b, "times")?.unwrap_or(1);
    shared.inject(target, fault, usize::try_from(times).unwrap_or(usize::MAX));
    Ok(json!({"ok": true}))
}

fn lifetimes(shared: &Shared, req: &Req) -> Result<Value, String> {
    let b = body(req);
    let mut l = shared.lock().lifetimes;
    if let Some(s) = number(&b, "access_secs")? {
        l.access = Duration::from_secs(s);
    }
    if let Some(s) = number(&b, "refresh_secs")? {
        l.refresh = Duration::from_secs(s);
    }
    if let Some(s) = number(&b, "code_secs")? {
        l.code = Duration::from_secs(s);
    }
    shared.set_lifetimes(l);
    Ok(json!({"ok": true}))
}

fn user(shared: &Shared, req: &Req) -> Result<Value, String> {
    let b = body(req);
    let username = b
        .get("username")
        .filter(|u| !u.is_empty())
        .ok_or("username is required")?
        .clone();
    let mut st = shared.lock();
    match b.get("provider").map(String::as_str) {
        Some("pinterest") => st.pinterest_user = username,
        Some("mastodon") => st.mastodon_user = username,
        _ => return Err("provider must be pinterest or mastodon".into()),
    }
    Ok(json!({"ok": true}))
}
