//! The Pinterest side: the consent page at `/oauth/` (auto-approved for the
//! configured user), the v5 token and revocation endpoints, the legacy v3
//! token endpoint, and one identity endpoint per API version.
//!
//! Rules follow the fact sheet: Basic client authentication only, a form
//! body for v5, errors as `{"code","message"}` (v5) or the legacy
//! `{"status":"failure",…}` envelope (v3), refresh tokens that rotate on
//! every v5 refresh, and a code or rotated refresh token presented twice
//! is treated as stolen, which revokes everything issued from that grant.

use std::time::{Duration, SystemTime};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::common::{
    append_query, display_name, epoch_secs, html_escape, is_valid_s256_challenge, now, numeric_id,
    pkce_matches, random_b64url, random_hex, random_upper_alnum,
};
use crate::http::{
    Req, StrictParams, empty, flatten_json_object, html, json, json_no_store, parse_form, redirect,
    set_header,
};
use crate::state::{PinAccess, PinApi, PinCode, PinRefresh, PinTokenKind, Shared, State};
use crate::{PINTEREST_V3_SCOPES, PINTEREST_V5_SCOPES};

/// The user a client-credentials token acts as.
const APP_OWNER: &str = "sandbox_app_owner";
const GRANT_INVALID: &str = "The authorization grant is invalid";
const AUTH_FAILED: &str = "Authentication failed.";
const INSUFFICIENT_SCOPE: &str = "Your token does not have sufficient permissions to perform this operation. Please ensure your token is authorized with the correct set of scopes.";
const FORM: &str = "application/x-www-form-urlencoded";

/// Routes a Pinterest path.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Response {
    let (method, handler): (Method, fn(&Shared, &Req) -> Response) = match req.path.as_str() {
        "/oauth/" | "/oauth" => (Method::GET, authorize),
        "/v5/oauth/token" => (Method::POST, token_v5),
        "/v5/oauth/token/revoke" => (Method::POST, revoke_v5),
        "/v5/user_account" => (Method::GET, user_account_v5),
        "/v3/oauth/access_token/" => (Method::PUT, token_v3),
        "/v3/users/me/" => (Method::GET, me_v3),
        _ => return v5_error(StatusCode::NOT_FOUND, 404, "Not found"),
    };
    if req.method != method {
        let mut resp = v5_error(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed");
        set_header(&mut resp, "allow", method.as_str());
        return resp;
    }
    handler(shared, req)
}

fn v5_error(status: StatusCode, code: i64, message: &str) -> Response {
    json(status, &json!({"code": code, "message": message}))
}

fn v3_error(status: StatusCode, code: i64, data: &str, message: &str, endpoint: &str) -> Response {
    json(
        status,
        &json!({"status": "failure", "code": code, "data": data, "message": message, "endpoint_name": endpoint}),
    )
}

/// The consent page's error page. It never redirects: the redirect URI
/// may be the attacker's.
fn oops(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        "Pinterest",
        &format!("<h1>Oops! {}</h1>", html_escape(message)),
    )
}

/// Scopes as Pinterest reads them: comma separated, but spaces (or `+`,
/// already decoded to spaces) are tolerated; duplicates collapse.
fn parse_scopes(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Which API version a scope list belongs to; a list must use one
/// vocabulary only.
fn classify(scopes: &[String]) -> Result<PinApi, String> {
    if scopes.is_empty() {
        return Err("Missing required parameter: scope".into());
    }
    if let Some(unknown) = scopes.iter().find(|s| {
        !PINTEREST_V5_SCOPES.contains(&s.as_str()) && !PINTEREST_V3_SCOPES.contains(&s.as_str())
    }) {
        return Err(format!("Unknown scope: {unknown}"));
    }
    if scopes
        .iter()
        .all(|s| PINTEREST_V5_SCOPES.contains(&s.as_str()))
    {
        Ok(PinApi::V5)
    } else if scopes
        .iter()
        .all(|s| PINTEREST_V3_SCOPES.contains(&s.as_str()))
    {
        Ok(PinApi::V3)
    } else {
        Err("Scopes of API v5 and API v3 cannot be mixed in one request".into())
    }
}

/// `GET /oauth/`: validates, then auto-approves for the current user.
fn authorize(shared: &Shared, req: &Req) -> Response {
    let params = match StrictParams::new(req.query_pairs()) {
        Ok(p) => p,
        Err(name) => return oops(&format!("The parameter {name} was sent more than once.")),
    };
    // `consumer_id` is the legacy name the official quickstart still sends.
    let client = match (
        params.non_empty("client_id"),
        params.non_empty("consumer_id"),
    ) {
        (Some(a), Some(b)) if a != b => {
            return oops("client_id and consumer_id name different apps.");
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return oops("You must pass a value for client_id"),
    };
    if client != shared.app_id {
        return oops(&format!("There is no app with client_id {client}."));
    }
    let mut st = shared.lock();
    let Some(redirect_uri) = params.non_empty("redirect_uri") else {
        return oops("You must pass a value for redirect_uri");
    };
    if !st.redirect_uris.iter().any(|u| u == redirect_uri) {
        return oops(&format!(
            "The redirect_uri {redirect_uri} is not registered for this app; it must be literally the same as a registered one."
        ));
    }

    let state = params.get("state");
    let back = |pairs: &[(&str, &str)]| {
        let mut all = pairs.to_vec();
        if let Some(s) = state {
            all.push(("state", s));
        }
        redirect(&append_query(redirect_uri, &all))
    };
    let fail = |error: &str, description: &str| {
        back(&[("error", error), ("error_description", description)])
    };

    match params.get("response_type") {
        Some("code") => {}
        None | Some("") => {
            return fail(
                "invalid_request",
                "Missing required parameter: response_type",
            );
        }
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "Only response_type=code is supported",
            );
        }
    }
    let scopes = parse_scopes(params.get("scope").unwrap_or(""));
    let api = match classify(&scopes) {
        Ok(api) => api,
        Err(description) => return fail("invalid_scope", &description),
    };
    let challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(c), Some("S256")) if is_valid_s256_challenge(c) => Some(c.to_string()),
        (Some(_), Some("S256")) => {
            return fail(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier",
            );
        }
        (Some(_), None) => {
            return fail(
                "invalid_request",
                "code_challenge_method is required; only S256 is supported",
            );
        }
        (Some(_), Some(_)) => {
            return fail(
                "invalid_request",
                "Only code_challenge_method=S256 is supported",
            );
        }
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            );
        }
    };
    let refreshable = params
        .get("refreshable")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));

    if st.deny_next_consent {
        st.deny_next_consent = false;
        return fail("access_denied", "The user denied access to the app");
    }

    let code = random_hex(20);
    let expires_at = now() + st.lifetimes.code;
    let user = st.pinterest_user.clone();
    st.pin.codes.insert(
        code.clone(),
        PinCode {
            api,
            user,
            scopes,
            redirect_uri: redirect_uri.to_string(),
            challenge,
            refreshable,
            expires_at,
            used: false,
            family: None,
        },
    );
    back(&[("code", &code)])
}

/// Why a grant was refused; rendered per API version.
enum GrantError {
    Missing(&'static str),
    /// The grant itself is bad (code 283); the detail goes to v3's `data`.
    Invalid(&'static str),
    BadRequest(String),
}

/// Tokens issued for one successful grant.
struct Issued {
    access: String,
    refresh: Option<(String, SystemTime)>,
    scopes: Vec<String>,
}

fn issue_access(
    st: &mut State,
    kind: PinTokenKind,
    user: &str,
    scopes: &[String],
    family: Option<u64>,
) -> String {
    let token = match kind {
        PinTokenKind::V5User | PinTokenKind::AppOwner => format!("pina_{}", random_upper_alnum(96)),
        PinTokenKind::V3User => random_b64url(40),
    };
    let expires_at = now() + st.lifetimes.access;
    st.pin.access.insert(
        token.clone(),
        PinAccess {
            kind,
            user: user.to_string(),
            scopes: scopes.to_vec(),
            expires_at,
            revoked: false,
            family,
        },
    );
    token
}

fn issue_refresh(
    st: &mut State,
    api: PinApi,
    user: &str,
    scopes: &[String],
    family: u64,
) -> (String, SystemTime) {
    let token = match api {
        PinApi::V5 => format!("pinr.{}", random_b64url(32)),
        PinApi::V3 => random_b64url(40),
    };
    let expires_at = now() + st.lifetimes.refresh;
    st.pin.refresh.insert(
        token.clone(),
        PinRefresh {
            api,
            user: user.to_string(),
            scopes: scopes.to_vec(),
            expires_at,
            rotated: false,
            revoked: false,
            family,
        },
    );
    (token, expires_at)
}

/// The authorization-code grant, shared by v5 and v3. A failed attempt
/// leaves the code unspent; a replayed code revokes its grant's tokens.
fn redeem_code(st: &mut State, api: PinApi, p: &StrictParams) -> Result<Issued, GrantError> {
    let code = p.non_empty("code").ok_or(GrantError::Missing("code"))?;
    let redirect_uri = p
        .non_empty("redirect_uri")
        .ok_or(GrantError::Missing("redirect_uri"))?;
    let verifier = p.get("code_verifier");

    let Some(c) = st.pin.codes.get(code) else {
        return Err(GrantError::Invalid("Unknown authorization code"));
    };
    if c.api != api {
        return Err(GrantError::Invalid(
            "The authorization code was issued for another API version",
        ));
    }
    if c.used {
        if let Some(family) = c.family {
            st.pin.revoke_family(family);
        }
        return Err(GrantError::Invalid(
            "The authorization code was already used",
        ));
    }
    if now() >= c.expires_at {
        return Err(GrantError::Invalid("The authorization code has expired"));
    }
    if c.redirect_uri != redirect_uri {
        return Err(GrantError::Invalid(
            "redirect_uri does not match the one sent with the authorization request",
        ));
    }
    match (&c.challenge, verifier) {
        (None, None) => {}
        (Some(challenge), Some(v)) if pkce_matches(v, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(GrantError::Invalid(
                "code_verifier does not match code_challenge",
            ));
        }
        (Some(_), None) => return Err(GrantError::Invalid("Missing code_verifier")),
        (None, Some(_)) => {
            return Err(GrantError::Invalid(
                "code_verifier sent but no code_challenge was sent with the authorization request",
            ));
        }
    }

    let (user, scopes, refreshable) = (c.user.clone(), c.scopes.clone(), c.refreshable);
    let family = st.pin.new_family();
    if let Some(c) = st.pin.codes.get_mut(code) {
        c.used = true;
        c.family = Some(family);
    }
    let kind = match api {
        PinApi::V5 => PinTokenKind::V5User,
        PinApi::V3 => PinTokenKind::V3User,
    };
    let access = issue_access(st, kind, &user, &scopes, Some(family));
    // v5 always returns a refresh token; v3 only when asked for one.
    let refresh =
        (api == PinApi::V5 || refreshable).then(|| issue_refresh(st, api, &user, &scopes, family));
    Ok(Issued {
        access,
        refresh,
        scopes,
    })
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

fn render_v5_error(e: GrantError, invalid_status: StatusCode) -> Response {
    match e {
        GrantError::Missing(p) => v5_error(
            StatusCode::BAD_REQUEST,
            1,
            &format!("Missing required parameter: {p}"),
        ),
        GrantError::Invalid(_) => v5_error(invalid_status, 283, GRANT_INVALID),
        GrantError::BadRequest(m) => v5_error(StatusCode::BAD_REQUEST, 1, &m),
    }
}

/// Common preamble of the v5 form endpoints: client authentication, then
/// the body's media type, then its parameters.
fn v5_form(shared: &Shared, req: &Req) -> Result<StrictParams, Box<Response>> {
    if !req.basic_matches(&shared.app_id, &shared.app_secret) {
        return Err(Box::new(v5_error(StatusCode::UNAUTHORIZED, 2, AUTH_FAILED)));
    }
    if req.media_type().as_deref() != Some(FORM) {
        return Err(Box::new(v5_error(
            StatusCode::BAD_REQUEST,
            1,
            "Content-Type must be application/x-www-form-urlencoded",
        )));
    }
    StrictParams::new(parse_form(&req.body)).map_err(|name| {
        Box::new(v5_error(
            StatusCode::BAD_REQUEST,
            1,
            &format!("Parameter {name} was sent more than once"),
        ))
    })
}

/// `POST /v5/oauth/token`.
fn token_v5(shared: &Shared, req: &Req) -> Response {
    let p = match v5_form(shared, req) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let mut st = shared.lock();
    match p.non_empty("grant_type") {
        None => render_v5_error(GrantError::Missing("grant_type"), StatusCode::BAD_REQUEST),
        Some("authorization_code") => match redeem_code(&mut st, PinApi::V5, &p) {
            Ok(issued) => {
                let (access_ttl, refresh_ttl) = (st.lifetimes.access, st.lifetimes.refresh);
                let (refresh, refresh_at) = match issued.refresh {
                    Some((token, at)) => (Value::String(token), Value::from(epoch_secs(at))),
                    None => (Value::Null, Value::Null),
                };
                json_no_store(
                    StatusCode::OK,
                    &json!({
                        "access_token": issued.access,
                        "refresh_token": refresh,
                        "response_type": "authorization_code",
                        "token_type": "bearer",
                        "expires_in": secs(access_ttl),
                        "refresh_token_expires_in": secs(refresh_ttl),
                        "refresh_token_expires_at": refresh_at,
                        "scope": issued.scopes.join(" "),
                    }),
                )
            }
            Err(e) => render_v5_error(e, StatusCode::BAD_REQUEST),
        },
        Some("refresh_token") => match refresh_v5(&mut st, &p) {
            Ok(resp) => resp,
            Err(e) => render_v5_error(e, StatusCode::UNAUTHORIZED),
        },
        Some("client_credentials") => {
            let scopes = parse_scopes(p.get("scope").unwrap_or(""));
            if scopes.is_empty() {
                return render_v5_error(GrantError::Missing("scope"), StatusCode::BAD_REQUEST);
            }
            if let Some(bad) = scopes
                .iter()
                .find(|s| !PINTEREST_V5_SCOPES.contains(&s.as_str()))
            {
                return v5_error(StatusCode::BAD_REQUEST, 1, &format!("Invalid scope: {bad}"));
            }
            let access = issue_access(&mut st, PinTokenKind::AppOwner, APP_OWNER, &scopes, None);
            json_no_store(
                StatusCode::OK,
                &json!({
                    "access_token": access,
                    "response_type": "client_credentials",
                    "token_type": "bearer",
                    "expires_in": secs(st.lifetimes.access),
                    "scope": scopes.join(" "),
                }),
            )
        }
        Some(other) => v5_error(
            StatusCode::BAD_REQUEST,
            1,
            &format!("Unsupported grant_type: {other}"),
        ),
    }
}

/// The v5 refresh grant: rotates the refresh token on every use.
fn refresh_v5(st: &mut State, p: &StrictParams) -> Result<Response, GrantError> {
    let presented = p
        .non_empty("refresh_token")
        .ok_or(GrantError::Missing("refresh_token"))?;
    let Some(r) = st.pin.refresh.get(presented) else {
        return Err(GrantError::Invalid("Unknown refresh token"));
    };
    if r.api != PinApi::V5 || r.revoked || st.pin.family_revoked(Some(r.family)) {
        return Err(GrantError::Invalid("Refresh token revoked"));
    }
    if r.rotated {
        let family = r.family;
        st.pin.revoke_family(family);
        return Err(GrantError::Invalid("Refresh token was already used"));
    }
    if now() >= r.expires_at {
        return Err(GrantError::Invalid("Refresh token expired"));
    }
    let (user, granted, family) = (r.user.clone(), r.scopes.clone(), r.family);
    let scopes = match p.non_empty("scope") {
        None => granted.clone(),
        Some(raw) => {
            let requested = parse_scopes(raw);
            if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
                return Err(GrantError::BadRequest(format!(
                    "Scope {extra} was not granted to this refresh token"
                )));
            }
            requested
        }
    };
    if let Some(r) = st.pin.refresh.get_mut(presented) {
        r.rotated = true;
    }
    let (refresh, refresh_at) = issue_refresh(st, PinApi::V5, &user, &granted, family);
    let access = issue_access(st, PinTokenKind::V5User, &user, &scopes, Some(family));
    Ok(json_no_store(
        StatusCode::OK,
        &json!({
            "access_token": access,
            "refresh_token": refresh,
            "response_type": "refresh_token",
            "token_type": "bearer",
            "expires_in": secs(st.lifetimes.access),
            "refresh_token_expires_in": secs(st.lifetimes.refresh),
            "refresh_token_expires_at": epoch_secs(refresh_at),
            "scope": scopes.join(" "),
        }),
    ))
}

/// `POST /v5/oauth/token/revoke` (RFC 7009 semantics: unknown tokens are
/// not an error; revoking a refresh token ends its whole grant).
fn revoke_v5(shared: &Shared, req: &Req) -> Response {
    let p = match v5_form(shared, req) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let Some(token) = p.non_empty("token") else {
        return render_v5_error(GrantError::Missing("token"), StatusCode::BAD_REQUEST);
    };
    let mut st = shared.lock();
    if let Some(t) = st.pin.access.get_mut(token) {
        t.revoked = true;
    }
    if let Some(family) = st.pin.refresh.get(token).map(|r| r.family) {
        st.pin.revoke_family(family);
    }
    empty(StatusCode::OK)
}

/// Resolves the bearer token of an API call: header only, never the query.
fn api_token<'a>(st: &'a State, req: &Req) -> Option<&'a PinAccess> {
    if req.query_pairs().iter().any(|(k, _)| k == "access_token") {
        return None;
    }
    st.pin.live_access(req.bearer()?)
}

/// `GET /v5/user_account`.
fn user_account_v5(shared: &Shared, req: &Req) -> Response {
    let st = shared.lock();
    let Some(t) = api_token(&st, req) else {
        return v5_error(StatusCode::UNAUTHORIZED, 2, AUTH_FAILED);
    };
    match t.kind {
        PinTokenKind::V3User => return v5_error(StatusCode::UNAUTHORIZED, 2, AUTH_FAILED),
        PinTokenKind::V5User if !t.scopes.iter().any(|s| s == "user_accounts:read") => {
            return v5_error(StatusCode::UNAUTHORIZED, 3, INSUFFICIENT_SCOPE);
        }
        PinTokenKind::V5User | PinTokenKind::AppOwner => {}
    }
    json(
        StatusCode::OK,
        &json!({
            "username": t.user,
            "id": numeric_id("pinterest", &t.user),
            "account_type": "PINNER",
            "profile_image": "https://s.pinimg.com/images/user/default_600.png",
            "website_url": "",
            "business_name": Value::Null,
            "board_count": 0,
            "pin_count": 0,
            "follower_count": 0,
            "following_count": 0,
            "monthly_views": 0,
            "about": "",
        }),
    )
}

/// `PUT /v3/oauth/access_token/`: JSON or form body (the quickstart's
/// clients differ); the v3 refresh grant does not rotate.
fn token_v3(shared: &Shared, req: &Req) -> Response {
    const EP: &str = "oauth_connect";
    if !req.basic_matches(&shared.app_id, &shared.app_secret) {
        return v3_error(
            StatusCode::UNAUTHORIZED,
            283,
            "Invalid Application ID",
            GRANT_INVALID,
            EP,
        );
    }
    let pairs = if req.media_type().as_deref() == Some("application/json") {
        match flatten_json_object(&req.body) {
            Some(pairs) => pairs,
            None => {
                return v3_error(
                    StatusCode::BAD_REQUEST,
                    1,
                    "Request body is not a JSON object",
                    "Invalid parameters",
                    EP,
                );
            }
        }
    } else {
        parse_form(&req.body)
    };
    let p = match StrictParams::new(pairs) {
        Ok(p) => p,
        Err(name) => {
            return v3_error(
                StatusCode::BAD_REQUEST,
                1,
                &format!("Parameter {name} was sent more than once"),
                "Invalid parameters",
                EP,
            );
        }
    };
    let render = |e: GrantError, invalid_status: StatusCode| match e {
        GrantError::Missing(name) => v3_error(
            StatusCode::BAD_REQUEST,
            1,
            &format!("Missing required parameter: {name}"),
            "Invalid parameters",
            EP,
        ),
        GrantError::Invalid(detail) => v3_error(invalid_status, 283, detail, GRANT_INVALID, EP),
        GrantError::BadRequest(m) => {
            v3_error(StatusCode::BAD_REQUEST, 1, &m, "Invalid parameters", EP)
        }
    };
    let mut st = shared.lock();
    match p.non_empty("grant_type") {
        None => render(GrantError::Missing("grant_type"), StatusCode::BAD_REQUEST),
        Some("authorization_code") => match redeem_code(&mut st, PinApi::V3, &p) {
            Ok(issued) => {
                let data = match issued.refresh {
                    Some((refresh, _)) => json!({"refresh_token": refresh}),
                    None => json!({}),
                };
                json_no_store(
                    StatusCode::OK,
                    &json!({
                        "status": "success",
                        "scope": issued.scopes.join(","),
                        "access_token": issued.access,
                        "data": data,
                    }),
                )
            }
            Err(e) => render(e, StatusCode::BAD_REQUEST),
        },
        Some("refresh_token") => {
            let Some(presented) = p.non_empty("refresh_token") else {
                return render(
                    GrantError::Missing("refresh_token"),
                    StatusCode::BAD_REQUEST,
                );
            };
            let live = st.pin.refresh.get(presented).filter(|r| {
                r.api == PinApi::V3
                    && !r.revoked
                    && now() < r.expires_at
                    && !st.pin.family_revoked(Some(r.family))
            });
            let Some(r) = live else {
                return render(
                    GrantError::Invalid("Invalid refresh token"),
                    StatusCode::UNAUTHORIZED,
                );
            };
            let (user, scopes, family) = (r.user.clone(), r.scopes.clone(), r.family);
            let access = issue_access(&mut st, PinTokenKind::V3User, &user, &scopes, Some(family));
            json_no_store(
                StatusCode::OK,
                &json!({"status": "success", "access_token": access}),
            )
        }
        Some(other) => render(
            GrantError::BadRequest(format!("Unsupported grant_type: {other}")),
            StatusCode::BAD_REQUEST,
        ),
    }
}

/// `GET /v3/users/me/`.
fn me_v3(shared: &Shared, req: &Req) -> Response {
    const EP: &str = "v3_get_user_me";
    let st = shared.lock();
    let Some(t) = api_token(&st, req).filter(|t| t.kind == PinTokenKind::V3User) else {
        return v3_error(
            StatusCode::UNAUTHORIZED,
            2,
            "Invalid access token",
            AUTH_FAILED,
            EP,
        );
    };
    if !t.scopes.iter().any(|s| s == "read_users") {
        return v3_error(
            StatusCode::UNAUTHORIZED,
            3,
            "Missing scope read_users",
            INSUFFICIENT_SCOPE,
            EP,
        );
    }
    json(
        StatusCode::OK,
        &json!({"data": {
            "id": numeric_id("pinterest", &t.user),
            "full_name": display_name(&t.user),
            "about": "",
            "profile_url": format!("https://www.pinterest.com/{}/", t.user),
            "pin_count": 0,
        }}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scope_parsing_and_vocabulary() {
        assert_eq!(
            parse_scopes("user_accounts:read,pins:read pins:read,"),
            v(&["user_accounts:read", "pins:read"])
        );
        assert_eq!(classify(&v(&["boards:read"])), Ok(PinApi::V5));
        assert_eq!(
            classify(&v(&["read_users", "read_organic"])),
            Ok(PinApi::V3)
        );
        assert!(classify(&v(&["boards:read", "read_users"])).is_err());
        assert!(classify(&v(&["read_public"])).is_err());
        assert!(classify(&[]).is_err());
    }
}
