//! The request as the protocol modules see it (already buffered, so it can
//! be recorded and then processed), parameter parsing in the two dialects
//! the providers speak, and response builders.
//!
//! Pinterest is strict about parameters (a repeated one is an error), while
//! Mastodon is a Rails app: query and body merge, the last repeated key
//! wins, `key[]` builds a list and JSON bodies are accepted.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// A fully buffered request.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type without parameters, lowercased.
    pub(crate) fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        parse_form(self.query.as_deref().unwrap_or("").as_bytes())
    }

    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `(id, secret)` from `Authorization: Basic`, as sent (not decoded).
    pub(crate) fn basic_credentials(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let (scheme, rest) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }

    /// Whether Basic credentials name this client. RFC 6749 section 2.3.1
    /// has clients form-encode id and secret before base64, which changes
    /// nothing for plain values, so both spellings are accepted.
    pub(crate) fn basic_matches(&self, id: &str, secret: &str) -> bool {
        match self.basic_credentials() {
            Some((i, s)) => {
                (i == id && s == secret) || (form_decode(&i) == id && form_decode(&s) == secret)
            }
            None => false,
        }
    }

    /// The token from `Authorization: Bearer`, never from elsewhere.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, rest) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = rest.trim();
        (!token.is_empty()).then_some(token)
    }
}

pub(crate) fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Decodes one `application/x-www-form-urlencoded` component.
pub(crate) fn form_decode(s: &str) -> String {
    if s.contains('&') || s.contains('=') {
        return s.to_string();
    }
    parse_form(format!("v={s}").as_bytes())
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Parameters where every name may appear at most once (RFC 6749 section
/// 3.1 and 3.2), as Pinterest requires.
pub(crate) struct StrictParams(Vec<(String, String)>);

impl StrictParams {
    /// Fails with the first repeated name.
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Result<Self, String> {
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(p, _)| p == k) {
                return Err(k.clone());
            }
        }
        Ok(Self(pairs))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Like `get`, but an empty value counts as absent.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// One Rails parameter value.
#[derive(Clone, Debug)]
pub(crate) enum PVal {
    One(String),
    Many(Vec<String>),
}

/// Parameters the way Rails sees them.
#[derive(Default)]
pub(crate) struct RailsParams(HashMap<String, PVal>);

impl RailsParams {
    /// Query parameters, then body parameters on top (a body value wins,
    /// as in Rails' `params`). A JSON body is used when the request says
    /// so; anything else is read as a form.
    pub(crate) fn from_request(req: &Req) -> Result<Self, String> {
        let mut params = Self::default();
        params.add_form(&req.query_pairs());
        if req.media_type().as_deref() == Some("application/json") {
            let value: Value = serde_json::from_slice(&req.body)
                .map_err(|e| format!("Error occurred while parsing request parameters: {e}"))?;
            if let Value::Object(map) = value {
                for (k, v) in map {
                    match v {
                        Value::Null | Value::Object(_) => {}
                        Value::Array(items) => {
                            params
                                .0
                                .insert(k, PVal::Many(items.iter().map(json_scalar).collect()));
                        }
                        other => {
                            params.0.insert(k, PVal::One(json_scalar(&other)));
                        }
                    }
                }
            }
        } else {
            params.add_form(&parse_form(&req.body));
        }
        Ok(params)
    }

    fn add_form(&mut self, pairs: &[(String, String)]) {
        for (k, v) in pairs {
            if let Some(base) = k.strip_suffix("[]") {
                match self.0.get_mut(base) {
                    Some(PVal::Many(list)) => list.push(v.clone()),
                    _ => {
                        self.0.insert(base.to_string(), PVal::Many(vec![v.clone()]));
                    }
                }
            } else {
                self.0.insert(k.clone(), PVal::One(v.clone()));
            }
        }
    }

    pub(crate) fn raw(&self, name: &str) -> Option<&PVal> {
        self.0.get(name)
    }

    /// A scalar parameter; a list where a scalar is expected is dropped, as
    /// Rails' strong parameters do.
    pub(crate) fn scalar(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(PVal::One(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A scalar that is not blank (Rails' `present?`).
    pub(crate) fn present(&self, name: &str) -> Option<&str> {
        self.scalar(name).filter(|s| !s.trim().is_empty())
    }
}

fn json_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Flattens a JSON object body to string pairs (arrays give one pair per
/// element), for recording and for the v3 endpoint.
pub(crate) fn flatten_json_object(body: &[u8]) -> Option<Vec<(String, String)>> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut out = Vec::new();
    for (k, v) in map {
        match v {
            Value::Array(items) => {
                for item in items {
                    out.push((k.clone(), json_scalar(&item)));
                }
            }
            other => out.push((k, json_scalar(&other))),
        }
    }
    Some(out)
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A JSON response that must not be cached (RFC 6749 section 5.1).
pub(crate) fn json_no_store(status: StatusCode, value: &Value) -> Response {
    let mut resp = json(status, value);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) fn html(status: StatusCode, title: &str, body_html: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{}\n</body></html>\n",
        crate::common::html_escape(title),
        body_html
    );
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

pub(crate) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// A 302 to `location`. A location that cannot be a header value (it came
/// from a registered URI, so this means a sandbox bug) becomes a 500.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut resp = empty(StatusCode::FOUND);
            resp.headers_mut().insert(header::LOCATION, v);
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub(crate) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: Option<&str>, ct: Option<&str>, body: &str) -> Req {
        let mut headers = HeaderMap::new();
        if let Some(ct) = ct {
            headers.insert("content-type", HeaderValue::from_str(ct).unwrap());
        }
        Req {
            method: Method::POST,
            path: "/x".into(),
            query: query.map(str::to_string),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn strict_params_reject_repeats() {
        assert!(StrictParams::new(parse_form(b"a=1&b=2")).is_ok());
        assert_eq!(
            StrictParams::new(parse_form(b"a=1&a=2")).err().as_deref(),
            Some("a")
        );
    }

    #[test]
    fn rails_params_merge_and_lists() {
        let r = req(
            Some("a=q&b=q"),
            Some("application/x-www-form-urlencoded"),
            "b=body&l[]=1&l[]=2&c=1&c=2",
        );
        let p = RailsParams::from_request(&r).unwrap();
        assert_eq!(p.scalar("a"), Some("q"));
        assert_eq!(p.scalar("b"), Some("body"));
        assert_eq!(p.scalar("c"), Some("2"));
        assert!(matches!(p.raw("l"), Some(PVal::Many(v)) if v == &["1", "2"]));
        assert_eq!(p.scalar("l"), None);
    }

    #[test]
    fn rails_params_json() {
        let r = req(
            None,
            Some("application/json"),
            r#"{"s":"x y","a":["p","q"],"n":5,"z":null}"#,
        );
        let p = RailsParams::from_request(&r).unwrap();
        assert_eq!(p.scalar("s"), Some("x y"));
        assert_eq!(p.scalar("n"), Some("5"));
        assert!(p.raw("z").is_none());
        assert!(matches!(p.raw("a"), Some(PVal::Many(v)) if v.len() == 2));
        let bad = req(None, Some("application/json"), "{");
        assert!(RailsParams::from_request(&bad).is_err());
    }

    #[test]
    fn basic_and_bearer() {
        let mut r = req(None, None, "");
        r.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("basic {}", STANDARD.encode("a%20b:s"))).unwrap(),
        );
        assert!(r.basic_matches("a b", "s"));
        assert!(r.basic_matches("a%20b", "s"));
        assert!(!r.basic_matches("a b", "t"));
        r.headers
            .insert("authorization", HeaderValue::from_static("Bearer tok"));
        assert_eq!(r.bearer(), Some("tok"));
        assert!(r.basic_credentials().is_none());
    }
}
