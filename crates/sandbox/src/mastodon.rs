//! The Mastodon side: one instance whose origin is the sandbox base URL.
//! App registration, the (auto-approved) authorize page, the Doorkeeper
//! token and revocation endpoints, RFC 8414 metadata and the identity
//! endpoints.
//!
//! Behaviour follows Mastodon and the Doorkeeper gem it uses, including the
//! rough edges clients trip over: scopes sent as a JSON array register only
//! their first element, the authorize scope check is a literal subset test
//! against the app's registered scopes, pre-authorization errors are HTML
//! pages (never redirects), loopback IP redirect URIs match on any port
//! (RFC 8252 section 7.3) while `localhost` does not, and a pre-4.3 server
//! rejects any `code_verifier` with `invalid_request`.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use url::Url;

use crate::common::{
    display_name, epoch_secs, html_escape, iso8601, now, numeric_id, random_b64url, s256,
};
use crate::http::{
    PVal, RailsParams, Req, form_decode, html, json, json_no_store, redirect, set_header,
};
use crate::state::{MastoApp, MastoCode, MastoToken, Shared, State};
use crate::{MASTODON_SCOPES, MastodonMode};

const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_SCOPE: &str = "The requested scope is invalid, unknown, or malformed.";
const INVALID_REDIRECT: &str =
    "The requested redirect uri is malformed or doesn't match client redirect URI.";
const ACCESS_DENIED: &str = "The resource owner or authorization server denied the request.";
const NOT_SUPPORT_PKCE: &str = "The authorization server does not support PKCE";
const TOKEN_INVALID: &str = "The access token is invalid";
const OUTSIDE_SCOPES: &str = "This action is outside the authorized scopes";
const REGISTRATION_WINDOW: Duration = Duration::from_secs(600);

/// Routes a non-Pinterest path.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Response {
    // Rails routes ignore one trailing slash (toot requests `/oauth/authorize/`).
    let path = req
        .path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&req.path);
    let modern = shared.lock().mastodon_mode == MastodonMode::Modern;
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match path {
        "/.well-known/oauth-authorization-server" if get => metadata(shared),
        "/api/v1/apps" if post => register(shared, req),
        "/api/v1/apps/verify_credentials" if get => app_credentials(shared, req),
        "/oauth/authorize" if get => authorize(shared, req),
        "/oauth/authorize/native" if get => native(req),
        "/oauth/token" if post => token(shared, req),
        "/oauth/revoke" if post => revoke(shared, req),
        "/oauth/userinfo" if modern && (get || post) => userinfo(shared, req),
        "/api/v1/accounts/verify_credentials" if get => verify_credentials(shared, req),
        _ => not_found(),
    }
}

fn not_found() -> Response {
    json(StatusCode::NOT_FOUND, &json!({"error": "Record not found"}))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = json_no_store(
        status,
        &json!({"error": error, "error_description": description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        set_header(
            &mut resp,
            "www-authenticate",
            &format!(
                "Bearer realm=\"Doorkeeper\", error=\"{error}\", error_description=\"{description}\""
            ),
        );
    }
    resp
}

fn invalid_client() -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT)
}

fn invalid_grant() -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT)
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Doorkeeper's pre-authorization error page.
fn error_page(error: &str, description: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        "An error has occurred",
        &format!(
            "<h1>An error has occurred</h1>\n<p class=\"error\">{}</p>\n<p class=\"error-description\">{}</p>",
            html_escape(error),
            html_escape(description)
        ),
    )
}

/// The scopes this server knows; `profile` arrived with 4.3.
fn server_scopes(mode: MastodonMode) -> Vec<&'static str> {
    MASTODON_SCOPES
        .iter()
        .copied()
        .filter(|s| mode == MastodonMode::Modern || *s != "profile")
        .collect()
}

fn split_scopes(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Same set of scopes, whatever the order (Doorkeeper's token reuse test).
fn same_scopes(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|s| b.contains(s))
}

/// Doorkeeper's `ScopeChecker`: a non-empty, literal subset of both the
/// server's and the app's scopes. Hierarchy (`read` covering
/// `read:accounts`) applies when a token is used, not here.
fn scopes_allowed(
    requested: &str,
    app_scopes: &[String],
    mode: MastodonMode,
) -> Option<Vec<String>> {
    if requested.contains(['\n', '\r', '\t']) {
        return None;
    }
    let scopes = split_scopes(requested);
    let server = server_scopes(mode);
    let ok = !scopes.is_empty()
        && scopes
            .iter()
            .all(|s| server.contains(&s.as_str()) && app_scopes.contains(s));
    ok.then_some(scopes)
}

/// The default scope (`read`) narrowed to what the app registered.
fn default_scope(app_scopes: &[String]) -> String {
    if app_scopes.iter().any(|s| s == "read") {
        "read".to_string()
    } else {
        String::new()
    }
}

fn is_loopback_ip(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Doorkeeper's `URIChecker.matches?`: URIs compare after normalisation; a
/// query on the registered URI must be matched exactly, otherwise the
/// requested URI's query is ignored; between two loopback IP literals the
/// port is ignored.
fn uri_matches(requested: &str, registered: &str) -> bool {
    if requested == registered {
        return true;
    }
    let (Ok(mut req), Ok(mut reg)) = (Url::parse(requested), Url::parse(registered)) else {
        return false;
    };
    if let Some(reg_query) = reg.query() {
        let mut want: Vec<&str> = reg_query.split('&').collect();
        let mut got: Vec<&str> = req.query().unwrap_or("").split('&').collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            return false;
        }
        reg.set_query(None);
    }
    if is_loopback_ip(&req) && is_loopback_ip(&reg) {
        let _ = req.set_port(None);
        let _ = reg.set_port(None);
    }
    req.set_query(None);
    req == reg
}

/// Doorkeeper's redirect URI validation, first problem only.
fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri == OOB {
        return None;
    }
    match Url::parse(uri) {
        Err(url::ParseError::RelativeUrlWithoutBase) => Some("must be an absolute URI."),
        Err(_) => Some("must be a valid URI."),
        Ok(u) if matches!(u.scheme(), "javascript" | "data" | "vbscript") => {
            Some("is forbidden by the server.")
        }
        Ok(u) if u.fragment().is_some() => Some("cannot contain a fragment."),
        // `localhost:8080/cb` parses with scheme "localhost"; Doorkeeper
        // sees no real scheme there, nor in opaque URIs like `app:cb`.
        Ok(u) if u.cannot_be_a_base() || u.scheme() == "localhost" => {
            Some("must be an absolute URI.")
        }
        Ok(_) => None,
    }
}

/// `GET /.well-known/oauth-authorization-server`.
fn metadata(shared: &Shared) -> Response {
    let mode = shared.lock().mastodon_mode;
    let base = shared.base_url.as_str();
    match mode {
        MastodonMode::Modern => json(
            StatusCode::OK,
            &json!({
                "issuer": base,
                "service_documentation": "https://docs.joinmastodon.org/",
                "authorization_endpoint": format!("{base}oauth/authorize"),
                "token_endpoint": format!("{base}oauth/token"),
                "revocation_endpoint": format!("{base}oauth/revoke"),
                "userinfo_endpoint": format!("{base}oauth/userinfo"),
                "app_registration_endpoint": format!("{base}api/v1/apps"),
                "scopes_supported": MASTODON_SCOPES,
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }),
        ),
        MastodonMode::Legacy => not_found(),
        MastodonMode::HtmlMetadata => html(
            StatusCode::OK,
            "Sandbox instance",
            "<h1>Sandbox instance</h1>\n<p>Welcome! This page is not an OAuth metadata document.</p>",
        ),
    }
}

/// Counts a registration against the per-window limit; `Err` carries the
/// 429. Rejected requests are not counted, so the window does not slide.
fn throttle(st: &mut State) -> Result<(u32, usize, std::time::SystemTime), Box<Response>> {
    let t = now();
    while let Some(first) = st.masto.registrations.front() {
        if t.duration_since(*first).unwrap_or_default() >= REGISTRATION_WINDOW {
            st.masto.registrations.pop_front();
        } else {
            break;
        }
    }
    let limit = st.registration_limit;
    let used = st.masto.registrations.len();
    let reset = st.masto.registrations.front().copied().unwrap_or(t) + REGISTRATION_WINDOW;
    if used >= limit as usize {
        let mut resp = json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": "Too many requests"}),
        );
        set_header(&mut resp, "x-ratelimit-limit", &limit.to_string());
        set_header(&mut resp, "x-ratelimit-remaining", "0");
        set_header(&mut resp, "x-ratelimit-reset", &iso8601(reset));
        let wait = reset.duration_since(t).unwrap_or_default().as_secs() + 1;
        set_header(&mut resp, "retry-after", &wait.to_string());
        return Err(Box::new(resp));
    }
    st.masto.registrations.push_back(t);
    Ok((limit, limit as usize - used - 1, reset))
}

/// `POST /api/v1/apps`.
fn register(shared: &Shared, req: &Req) -> Response {
    let mut st = shared.lock();
    let (limit, remaining, reset) = match throttle(&mut st) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut resp = register_app(&mut st, req);
    set_header(&mut resp, "x-ratelimit-limit", &limit.to_string());
    set_header(&mut resp, "x-ratelimit-remaining", &remaining.to_string());
    set_header(&mut resp, "x-ratelimit-reset", &iso8601(reset));
    resp
}

fn register_app(st: &mut State, req: &Req) -> Response {
    let mode = st.mastodon_mode;
    let params = match RailsParams::from_request(req) {
        Ok(p) => p,
        Err(e) => return json(StatusCode::BAD_REQUEST, &json!({"error": e})),
    };
    let mut errors: Vec<String> = Vec::new();

    let name = params
        .scalar("client_name")
        .unwrap_or("")
        .trim()
        .to_string();
    if name.is_empty() {
        errors.push("Application name can't be blank".into());
    } else if name.chars().count() > 60 {
        errors.push("Application name is too long (maximum is 60 characters)".into());
    }

    // Lists arrived in 4.3; an older server's strong parameters drop them.
    let redirect_uris: Vec<String> = match params.raw("redirect_uris") {
        Some(PVal::One(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(PVal::Many(list)) if mode == MastodonMode::Modern => list
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if redirect_uris.is_empty() {
        errors.push("Redirect URI can't be blank".into());
    } else if let Some(problem) = redirect_uris.iter().find_map(|u| redirect_uri_problem(u)) {
        errors.push(format!("Redirect URI {problem}"));
    } else if redirect_uris.join("\n").len() > 2000 {
        errors.push("Redirect URI is too long (maximum is 2000 characters)".into());
    }

    // `Array(params[:scopes]).first`: an array registers its first element.
    let scope_str = match params.raw("scopes") {
        Some(PVal::One(s)) => s.clone(),
        Some(PVal::Many(list)) => list.first().cloned().unwrap_or_default(),
        None => String::new(),
    };
    let scope_str = if scope_str.trim().is_empty() {
        "read".to_string()
    } else {
        scope_str
    };
    let scopes = split_scopes(&scope_str);
    let server = server_scopes(mode);
    if scopes.iter().any(|s| !server.contains(&s.as_str())) {
        errors.push("Scopes doesn't match configured on the server.".into());
    }

    let website = params.present("website").map(str::to_string);
    if let Some(w) = &website {
        let ok = Url::parse(w)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok || w.len() > 2000 {
            errors.push("Website is invalid".into());
        }
    }

    if !errors.is_empty() {
        return json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"error": format!("Validation failed: {}", errors.join(", "))}),
        );
    }

    let app = MastoApp {
        id: st.masto.next_app_id.to_string(),
        name,
        website,
        redirect_uris,
        scopes,
        client_secret: random_b64url(32),
        vapid_key: format!("B{}=", random_b64url(64)),
    };
    st.masto.next_app_id += 1;
    let client_id = random_b64url(32);
    let body = if mode == MastodonMode::Modern {
        json!({
            "id": app.id,
            "name": app.name,
            "website": app.website,
            "scopes": app.scopes,
            "redirect_uri": app.redirect_uris.join("\n"),
            "redirect_uris": app.redirect_uris,
            "vapid_key": app.vapid_key,
            "client_id": client_id,
            "client_secret": app.client_secret,
            "client_secret_expires_at": 0,
        })
    } else {
        json!({
            "id": app.id,
            "name": app.name,
            "website": app.website,
            "redirect_uri": app.redirect_uris.join("\n"),
            "client_id": client_id,
            "client_secret": app.client_secret,
            "vapid_key": app.vapid_key,
        })
    };
    st.masto.apps.insert(client_id, app);
    json(StatusCode::OK, &body)
}

/// `GET /oauth/authorize`: validates in Doorkeeper's order, then approves
/// for the logged-in user.
fn authorize(shared: &Shared, req: &Req) -> Response {
    // Rails: the last of repeated parameters wins.
    let q: HashMap<String, String> = req.query_pairs().into_iter().collect();
    let present = |k: &str| {
        q.get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let mut st = shared.lock();
    let mode = st.mastodon_mode;

    let Some(client_id) = present("client_id") else {
        return error_page("invalid_request", "Missing required parameter: client_id.");
    };
    let Some(app) = st.masto.apps.get(client_id) else {
        return error_page("invalid_client", INVALID_CLIENT);
    };
    let Some(redirect_uri) = present("redirect_uri") else {
        return error_page("invalid_redirect_uri", INVALID_REDIRECT);
    };
    if !app
        .redirect_uris
        .iter()
        .any(|r| uri_matches(redirect_uri, r))
    {
        return error_page("invalid_redirect_uri", INVALID_REDIRECT);
    }
    match present("response_type") {
        Some("code") => {}
        None => {
            return error_page(
                "invalid_request",
                "Missing required parameter: response_type.",
            );
        }
        Some(_) => {
            return error_page(
                "unsupported_response_type",
                "The authorization server does not support this response type.",
            );
        }
    }
    let requested = present("scope").map_or_else(|| default_scope(&app.scopes), str::to_string);
    let Some(scopes) = scopes_allowed(&requested, &app.scopes, mode) else {
        return error_page("invalid_scope", INVALID_SCOPE);
    };
    // Before 4.3 the server does not know PKCE and ignores its parameters.
    let challenge = if mode == MastodonMode::Modern {
        match present("code_challenge") {
            None => None,
            Some(c) if present("code_challenge_method") == Some("S256") => Some(c.to_string()),
            Some(_) => {
                return error_page(
                    "invalid_code_challenge_method",
                    "The code challenge method must be S256.",
                );
            }
        }
    } else {
        None
    };

    let state = present("state");
    if st.deny_next_consent {
        st.deny_next_consent = false;
        if redirect_uri == OOB {
            return html(
                StatusCode::BAD_REQUEST,
                "An error has occurred",
                &format!(
                    "<h1>Access denied</h1>\n<p class=\"error-description\">{ACCESS_DENIED}</p>"
                ),
            );
        }
        let mut pairs = vec![
            ("error", "access_denied"),
            ("error_description", ACCESS_DENIED),
        ];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        return redirect(&crate::common::append_query(redirect_uri, &pairs));
    }

    let code = random_b64url(32);
    let record = MastoCode {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        scopes,
        user: st.mastodon_user.clone(),
        challenge,
        expires_at: now() + st.lifetimes.code,
        used: false,
    };
    st.masto.codes.insert(code.clone(), record);
    if redirect_uri == OOB {
        let mut target = shared.base_url.clone();
        target.set_path("/oauth/authorize/native");
        target.query_pairs_mut().append_pair("code", &code);
        return redirect(target.as_str());
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect(&crate::common::append_query(redirect_uri, &pairs))
}

/// `GET /oauth/authorize/native`: the out-of-band code page.
fn native(req: &Req) -> Response {
    let q: HashMap<String, String> = req.query_pairs().into_iter().collect();
    let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
        return not_found();
    };
    let code = html_escape(code);
    html(
        StatusCode::OK,
        "Authorization code",
        &format!(
            "<div class=\"form-container\">\n<h2>Authorization code</h2>\n\
             <p class=\"hint\">Copy this authorization code and paste it to the application.</p>\n\
             <input class=\"oauth-code\" readonly value=\"{code}\" type=\"text\">\n\
             <button type=\"button\">Copy</button>\n</div>"
        ),
    )
}

/// The authenticated client id: HTTP Basic if present, else the body.
fn authenticate(st: &State, req: &Req, p: &RailsParams) -> Option<String> {
    let (id, secret) = match req.basic_credentials() {
        Some((i, s)) => (form_decode(&i), form_decode(&s)),
        None => (
            p.present("client_id")?.to_string(),
            p.present("client_secret")?.to_string(),
        ),
    };
    let app = st.masto.apps.get(&id)?;
    (app.client_secret == secret).then_some(id)
}

/// Doorkeeper's `reuse_access_token`: a live token for the same client,
/// user and scopes is handed out again.
fn find_or_create_token(
    st: &mut State,
    client_id: &str,
    user: Option<String>,
    scopes: Vec<String>,
) -> (String, u64, Vec<String>) {
    let existing = st.masto.tokens.iter().find(|(_, t)| {
        !t.revoked && t.client_id == client_id && t.user == user && same_scopes(&t.scopes, &scopes)
    });
    if let Some((token, t)) = existing {
        return (token.clone(), t.created_at, t.scopes.clone());
    }
    let token = random_b64url(32);
    let created_at = epoch_secs(now());
    st.masto.tokens.insert(
        token.clone(),
        MastoToken {
            client_id: client_id.to_string(),
            user,
            scopes: scopes.clone(),
            created_at,
            revoked: false,
        },
    );
    (token, created_at, scopes)
}

fn token_response(token: String, created_at: u64, scopes: &[String]) -> Response {
    json_no_store(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "scope": scopes.join(" "),
            "created_at": created_at,
        }),
    )
}

/// `POST /oauth/token`.
fn token(shared: &Shared, req: &Req) -> Response {
    let p = match RailsParams::from_request(req) {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    let mut st = shared.lock();
    match p.present("grant_type") {
        None => invalid_request("Missing required parameter: grant_type."),
        Some("authorization_code") => code_grant(&mut st, req, &p),
        Some("client_credentials") => client_credentials_grant(&mut st, req, &p),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

/// The authorization-code grant, validated in Doorkeeper's order: PKCE
/// support, parameters, client, grant, redirect URI, verifier.
fn code_grant(st: &mut State, req: &Req, p: &RailsParams) -> Response {
    let mode = st.mastodon_mode;
    let code = p.present("code").unwrap_or("");
    let verifier = p.present("code_verifier");
    let grant = st.masto.codes.get(code);
    if mode != MastodonMode::Modern && grant.is_some() && verifier.is_some() {
        return invalid_request(NOT_SUPPORT_PKCE);
    }
    if grant.is_some_and(|g| g.challenge.is_some()) && verifier.is_none() {
        return invalid_request("Missing required parameter: code_verifier.");
    }
    let Some(redirect_uri) = p.present("redirect_uri") else {
        return invalid_request("Missing required parameter: redirect_uri.");
    };
    let Some(client_id) = authenticate(st, req, p) else {
        return invalid_client();
    };
    let Some(g) = st
        .masto
        .codes
        .get(code)
        .filter(|g| !g.used && now() < g.expires_at && g.client_id == client_id)
    else {
        return invalid_grant();
    };
    if !uri_matches(redirect_uri, &g.redirect_uri) {
        return invalid_grant();
    }
    match (&g.challenge, verifier) {
        (Some(challenge), Some(v)) if s256(v) == *challenge => {}
        (None, None) => {}
        _ => return invalid_grant(),
    }
    let (user, scopes) = (g.user.clone(), g.scopes.clone());
    if let Some(g) = st.masto.codes.get_mut(code) {
        g.used = true;
    }
    let (token, created_at, scopes) = find_or_create_token(st, &client_id, Some(user), scopes);
    token_response(token, created_at, &scopes)
}

fn client_credentials_grant(st: &mut State, req: &Req, p: &RailsParams) -> Response {
    let Some(client_id) = authenticate(st, req, p) else {
        return invalid_client();
    };
    let mode = st.mastodon_mode;
    let app_scopes = st
        .masto
        .apps
        .get(&client_id)
        .map(|a| a.scopes.clone())
        .unwrap_or_default();
    let requested = p
        .present("scope")
        .map_or_else(|| default_scope(&app_scopes), str::to_string);
    let Some(scopes) = scopes_allowed(&requested, &app_scopes, mode) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", INVALID_SCOPE);
    };
    let (token, created_at, scopes) = find_or_create_token(st, &client_id, None, scopes);
    token_response(token, created_at, &scopes)
}

/// `POST /oauth/revoke` (RFC 7009: unknown tokens are fine).
fn revoke(shared: &Shared, req: &Req) -> Response {
    let p = match RailsParams::from_request(req) {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    let mut st = shared.lock();
    let Some(client_id) = authenticate(&st, req, &p) else {
        return invalid_client();
    };
    if let Some(t) = p
        .present("token")
        .and_then(|tok| st.masto.tokens.get_mut(tok))
    {
        if t.client_id != client_id {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                "You are not authorized to revoke this token",
            );
        }
        t.revoked = true;
    }
    json(StatusCode::OK, &json!({}))
}

fn token_invalid() -> Response {
    let mut resp = json(StatusCode::UNAUTHORIZED, &json!({"error": TOKEN_INVALID}));
    set_header(
        &mut resp,
        "www-authenticate",
        &format!(
            "Bearer realm=\"Doorkeeper\", error=\"invalid_token\", error_description=\"{TOKEN_INVALID}\""
        ),
    );
    resp
}

fn outside_scopes() -> Response {
    json(StatusCode::FORBIDDEN, &json!({"error": OUTSIDE_SCOPES}))
}

fn requires_user() -> Response {
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"error": "This method requires an authenticated user"}),
    )
}

/// `GET /api/v1/accounts/verify_credentials`: scope first (403), then the
/// need for a user (422), as Mastodon's before-actions run.
fn verify_credentials(shared: &Shared, req: &Req) -> Response {
    let st = shared.lock();
    let Some(t) = req.bearer().and_then(|b| st.masto.live_token(b)) else {
        return token_invalid();
    };
    if !t
        .scopes
        .iter()
        .any(|s| matches!(s.as_str(), "read" | "read:accounts" | "profile"))
    {
        return outside_scopes();
    }
    let Some(user) = &t.user else {
        return requires_user();
    };
    let origin = shared.origin();
    json(
        StatusCode::OK,
        &json!({
            "id": numeric_id("mastodon", user),
            "username": user,
            "acct": user,
            "display_name": display_name(user),
            "locked": false,
            "bot": false,
            "discoverable": true,
            "group": false,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": format!("{origin}/@{user}"),
            "uri": format!("{origin}/users/{user}"),
            "avatar": format!("{origin}/avatars/original/missing.png"),
            "avatar_static": format!("{origin}/avatars/original/missing.png"),
            "header": format!("{origin}/headers/original/missing.png"),
            "header_static": format!("{origin}/headers/original/missing.png"),
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 0,
            "last_status_at": Value::Null,
            "emojis": [],
            "fields": [],
            "source": {
                "privacy": "public",
                "sensitive": false,
                "language": "",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            },
        }),
    )
}

/// `GET /api/v1/apps/verify_credentials`: any live token of the app.
fn app_credentials(shared: &Shared, req: &Req) -> Response {
    let st = shared.lock();
    let Some(app) = req
        .bearer()
        .and_then(|b| st.masto.live_token(b))
        .and_then(|t| st.masto.apps.get(&t.client_id))
    else {
        return token_invalid();
    };
    let body = if st.mastodon_mode == MastodonMode::Modern {
        json!({
            "id": app.id,
            "name": app.name,
            "website": app.website,
            "scopes": app.scopes,
            "redirect_uri": app.redirect_uris.join("\n"),
            "redirect_uris": app.redirect_uris,
            "vapid_key": app.vapid_key,
        })
    } else {
        json!({"name": app.name, "website": app.website, "vapid_key": app.vapid_key})
    };
    json(StatusCode::OK, &body)
}

/// `GET|POST /oauth/userinfo` (4.4): OpenID Connect claims; needs `profile`.
fn userinfo(shared: &Shared, req: &Req) -> Response {
    let st = shared.lock();
    let Some(t) = req.bearer().and_then(|b| st.masto.live_token(b)) else {
        return token_invalid();
    };
    if !t.scopes.iter().any(|s| s == "profile") {
        return outside_scopes();
    }
    let Some(user) = &t.user else {
        return requires_user();
    };
    let origin = shared.origin();
    json(
        StatusCode::OK,
        &json!({
            "iss": shared.base_url.as_str(),
            "sub": format!("{origin}/users/{user}"),
            "name": display_name(user),
            "preferred_username": user,
            "profile": format!("{origin}/@{user}"),
            "picture": format!("{origin}/avatars/original/missing.png"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_are_ignored_only_for_ip_literals() {
        assert!(uri_matches(
            "http://127.0.0.1:5555/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(uri_matches(
            "http://127.0.0.1:5555/cb",
            "http://127.0.0.1:1/cb"
        ));
        assert!(uri_matches("http://[::1]:5555/cb", "http://[::1]/cb"));
        assert!(!uri_matches(
            "http://localhost:5555/cb",
            "http://localhost/cb"
        ));
        assert!(!uri_matches(
            "http://127.0.0.1:5555/other",
            "http://127.0.0.1/cb"
        ));
        assert!(!uri_matches(
            "https://example.com:444/cb",
            "https://example.com/cb"
        ));
        assert!(uri_matches(OOB, OOB));
        assert!(uri_matches(
            "https://a.example/cb?x=1",
            "https://a.example/cb"
        ));
        assert!(!uri_matches(
            "https://a.example/cb?x=2",
            "https://a.example/cb?x=1"
        ));
    }

    #[test]
    fn redirect_uri_validation() {
        assert_eq!(redirect_uri_problem("http://127.0.0.1/cb"), None);
        assert_eq!(redirect_uri_problem(OOB), None);
        assert_eq!(redirect_uri_problem("myapp://cb"), None);
        assert!(redirect_uri_problem("/cb").is_some());
        assert!(redirect_uri_problem("javascript:alert(1)").is_some());
        assert!(redirect_uri_problem("https://a/#x").is_some());
        assert!(redirect_uri_problem("localhost:8080/cb").is_some());
    }

    #[test]
    fn scope_checks_are_literal() {
        let app = vec!["read".to_string(), "write".to_string()];
        assert!(scopes_allowed("read write", &app, MastodonMode::Modern).is_some());
        assert!(scopes_allowed("read:accounts", &app, MastodonMode::Modern).is_none());
        assert!(scopes_allowed("", &app, MastodonMode::Modern).is_none());
        let with_profile = vec!["profile".to_string()];
        assert!(scopes_allowed("profile", &with_profile, MastodonMode::Modern).is_some());
        assert!(scopes_allowed("profile", &with_profile, MastodonMode::Legacy).is_none());
    }
}
