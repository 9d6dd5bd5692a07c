//! The Mastodon provider against the sandbox instance, end to end: real
//! HTTP, the real core flow (loopback listener and paste), and a reqwest
//! client standing in for the browser (redirects not followed, so each hop
//! is visible).

use std::time::Duration;

use broker_core::error::Operation;
use broker_core::flow::{LoopbackListener, PendingAuthorization};
use broker_core::{
    CodeGrant, Error, ErrorClass, HttpClient, HttpConfig, Provider, RegistrationRequest, TokenSet,
};
use broker_mastodon::{
    Instance, Mastodon, OOB, ServerInfo, account_user, default_scopes, discover,
    loopback_redirect_template, registration_redirect_uris,
};
use broker_sandbox::{Fault, FaultTarget, MastodonMode, Sandbox, SandboxConfig};

const WAIT: Duration = Duration::from_secs(10);

async fn sandbox(mode: MastodonMode) -> Sandbox {
    Sandbox::start(SandboxConfig {
        mastodon_mode: mode,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

/// Retries fast, so that tests of 429 handling take milliseconds.
fn http() -> HttpClient {
    HttpClient::new(HttpConfig {
        base_backoff: Duration::from_millis(10),
        max_retry_wait: Duration::from_millis(50),
        ..HttpConfig::default()
    })
    .unwrap()
}

fn instance(sb: &Sandbox) -> Instance {
    Instance::parse(sb.base_url().as_str()).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Discovers the sandbox and registers an app for `scopes`.
async fn registered(sb: &Sandbox, http: &HttpClient, scopes: &[String]) -> Mastodon {
    let (unregistered, reg) = try_register(sb, http, scopes).await;
    unregistered.with_registration(reg.unwrap())
}

/// Registers an app; returns the unregistered provider and the outcome.
async fn try_register(
    sb: &Sandbox,
    http: &HttpClient,
    scopes: &[String],
) -> (Mastodon, Result<broker_core::ClientRegistration, Error>) {
    let instance = instance(sb);
    let info = discover(http, &instance).await.unwrap();
    let unregistered = Mastodon::new(instance, info, None);
    let uris = registration_redirect_uris();
    let reg = unregistered
        .register_client(
            http,
            &RegistrationRequest {
                client_name: "broker tests",
                redirect_uris: &uris,
                scopes,
                website: Some("https://example.org/broker"),
            },
        )
        .await;
    (unregistered, reg)
}

/// The browser: opens `url`, returns where the instance redirects.
async fn browse(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let resp = client.get(url).send().await.unwrap();
    assert!(
        resp.status().is_redirection(),
        "{url} answered {}",
        resp.status()
    );
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// A whole browser login through the loopback listener.
async fn loopback_login(
    m: &Mastodon,
    http: &HttpClient,
    scopes: &[String],
    force_login: bool,
) -> Result<TokenSet, Error> {
    let listener = LoopbackListener::bind(loopback_redirect_template()).unwrap();
    let pending = PendingAuthorization::new(m, listener.redirect_uri(), scopes, force_login)?;
    let location = browse(pending.authorize_url().as_str()).await;
    let browser = tokio::spawn(async move {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        client
            .get(location)
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let code = pending.receive(listener, WAIT).await;
    let _ = browser.await;
    pending.complete(m, http, code?).await
}

/// Asserts that none of `secrets` shows in the error's text or debug form.
fn assert_no_secrets(err: &Error, secrets: &[&str]) {
    let text = format!("{err} {err:?}");
    for s in secrets {
        assert!(!text.contains(s), "secret {s:?} leaked into: {text}");
    }
}

fn secret_of(m: &Mastodon) -> String {
    m.registration().unwrap().client_secret.secret().to_string()
}

// ---------------------------------------------------------------- input

#[tokio::test]
async fn http_to_a_remote_host_is_refused_before_any_request() {
    let sb = sandbox(MastodonMode::Modern).await;
    let port = instance(&sb).origin.url().port().unwrap();
    // The sandbox's own port on a non-loopback name: refused at parsing.
    for input in [
        format!("http://sandbox.example:{port}"),
        format!("http://192.0.2.1:{port}/"),
    ] {
        let err = Instance::parse(&input).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
        assert!(err.to_string().contains("in clear"), "{err}");
        assert_eq!(err.class(), ErrorClass::Usage);
    }
    assert!(sb.requests().is_empty());
}

// ---------------------------------------------------------------- discovery

#[tokio::test]
async fn modern_instances_publish_metadata() {
    let sb = sandbox(MastodonMode::Modern).await;
    let instance = instance(&sb);
    let info = discover(&http(), &instance).await.unwrap();
    assert!(info.from_metadata && info.pkce_s256);
    let base = instance.key();
    assert_eq!(
        info.token_endpoint.to_string(),
        format!("{base}/oauth/token")
    );
    assert_eq!(
        info.registration_endpoint.to_string(),
        format!("{base}/api/v1/apps")
    );
    let scopes = info.scopes_supported.as_ref().unwrap();
    assert!(scopes.iter().any(|s| s == "profile"), "{scopes:?}");
    assert_eq!(default_scopes(&info), ["profile"]);
}

#[tokio::test]
async fn legacy_and_html_instances_get_the_classic_paths() {
    for mode in [MastodonMode::Legacy, MastodonMode::HtmlMetadata] {
        let sb = sandbox(mode).await;
        let instance = instance(&sb);
        let info = discover(&http(), &instance).await.unwrap();
        assert_eq!(info, ServerInfo::classic(&instance), "{mode:?}");
        assert!(!info.pkce_s256 && info.scopes_supported.is_none());
        assert_eq!(default_scopes(&info), ["read:accounts"]);
    }
}

#[tokio::test]
async fn metadata_for_another_origin_is_ignored() {
    // The sandbox's issuer is http://127.0.0.1:PORT/; reached as localhost,
    // the same server is another origin, so its document is not trusted.
    let sb = sandbox(MastodonMode::Modern).await;
    let port = instance(&sb).origin.url().port().unwrap();
    let as_localhost = Instance::parse(&format!("localhost:{port}")).unwrap();
    let info = discover(&http(), &as_localhost).await.unwrap();
    assert!(!info.from_metadata && !info.pkce_s256);
    assert_eq!(
        info.authorization_endpoint.to_string(),
        format!("http://localhost:{port}/oauth/authorize")
    );
}

#[tokio::test]
async fn a_dead_instance_is_an_error_not_a_fallback() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let instance = Instance::parse(&format!("127.0.0.1:{port}")).unwrap();
    let err = discover(&http(), &instance).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failing_metadata_endpoint_is_an_error_not_a_fallback() {
    let sb = sandbox(MastodonMode::Modern).await;
    sb.inject(FaultTarget::Any, Fault::Status500, 1);
    let err = discover(&http(), &instance(&sb)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Unavailable, "{err}");
}

// ---------------------------------------------------------------- registration

#[tokio::test]
async fn registration_sends_one_string_per_list() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let m = registered(&sb, &http, &strings(&["profile", "read:accounts"])).await;
    let reg = m.registration().unwrap();
    assert_eq!(reg.scopes, ["profile", "read:accounts"]);
    assert_eq!(reg.redirect_uris, registration_redirect_uris());

    let apps: Vec<_> = sb
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/apps")
        .collect();
    assert_eq!(apps.len(), 1);
    let form = apps[0].form();
    let field = |k: &str| {
        form.iter()
            .filter(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(field("scopes"), ["profile read:accounts"]);
    assert_eq!(
        field("redirect_uris"),
        ["http://127.0.0.1/callback\nurn:ietf:wg:oauth:2.0:oob"]
    );
    assert_eq!(field("client_name"), ["broker tests"]);
    assert_eq!(field("website"), ["https://example.org/broker"]);
    assert!(
        apps[0]
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn a_legacy_registration_answer_is_read_too() {
    let sb = sandbox(MastodonMode::Legacy).await;
    let m = registered(&sb, &http(), &strings(&["read:accounts", "write"])).await;
    let reg = m.registration().unwrap();
    assert_eq!(reg.scopes, ["read:accounts", "write"]);
    assert_eq!(reg.redirect_uris, registration_redirect_uris());
}

#[tokio::test]
async fn a_refused_registration_says_why() {
    let sb = sandbox(MastodonMode::Legacy).await;
    let http = http();
    // `profile` does not exist before 4.3.
    let err = try_register(&sb, &http, &strings(&["profile"]))
        .await
        .1
        .unwrap_err();
    let Error::Provider(p) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((p.status, p.operation), (422, Operation::Registration));
    let text = err.to_string();
    assert!(
        text.contains("app registration")
            && text.contains("422")
            && text.contains("Scopes doesn't match configured on the server"),
        "{text}"
    );
    assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
}

#[tokio::test]
async fn the_registration_rate_limit_is_explained() {
    let sb = Sandbox::start(SandboxConfig {
        mastodon_mode: MastodonMode::Modern,
        registration_limit: 1,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let http = http();
    let _first = registered(&sb, &http, &strings(&["profile"])).await;
    let err = try_register(&sb, &http, &strings(&["profile"]))
        .await
        .1
        .unwrap_err();
    // One success, then one refused attempt: the instance asks us to come
    // back in ten minutes, longer than broker waits, so it reports at once.
    assert_eq!(sb.count("POST", "/api/v1/apps"), 2);
    let Error::Provider(p) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p.status, 429);
    assert!(p.retry_after.is_some());
    let text = err.to_string();
    assert!(
        text.contains("limits app registrations") && text.contains("try again after 20"),
        "{text}"
    );
    assert_eq!(err.class(), ErrorClass::Unavailable);
}

#[tokio::test]
async fn a_single_429_is_retried_away() {
    let sb = sandbox(MastodonMode::Modern).await;
    sb.inject(
        FaultTarget::Registration,
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        1,
    );
    // One 429, then success: the retry hides it.
    let m = registered(&sb, &http(), &strings(&["profile"])).await;
    assert!(m.registration().is_some());
    assert_eq!(sb.count("POST", "/api/v1/apps"), 2);
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn browser_login_with_pkce_on_a_modern_instance() {
    let sb = sandbox(MastodonMode::Modern).await;
    sb.set_mastodon_user("alice");
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    assert!(m.uses_pkce());

    let tokens = loopback_login(&m, &http, &scopes, false).await.unwrap();
    assert_eq!(tokens.scopes, ["profile"]);
    assert_eq!(tokens.expires_at, None, "Mastodon tokens do not expire");
    assert!(tokens.refresh_token.is_none());
    assert!(sb.is_valid_access_token(tokens.access_token.secret()));

    let authorize = sb
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/authorize")
        .unwrap();
    let query = authorize.query.clone().unwrap();
    assert!(query.contains("code_challenge_method=S256"), "{query}");
    assert!(!query.contains("force_login"), "{query}");
    let exchange = sb
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/token")
        .unwrap();
    let form = exchange.form();
    let has = |k: &str| form.iter().any(|(name, _)| name == k);
    assert!(has("code_verifier") && has("client_secret") && has("redirect_uri"));
    assert!(
        exchange.header("authorization").is_none(),
        "client_secret_post"
    );

    let me = m.identity(&http, &tokens.access_token).await.unwrap();
    assert_eq!(me.username, "alice");
    assert_eq!(
        account_user(&me.username, m.instance_ref()),
        format!("alice@{}", m.instance_ref().host)
    );
    assert!(me.details.get("source").is_none());
}

#[tokio::test]
async fn one_registration_serves_any_loopback_port() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    // Two logins, two listeners on two ephemeral ports, one registration.
    let a = loopback_login(&m, &http, &scopes, false).await.unwrap();
    sb.set_mastodon_user("bob");
    let b = loopback_login(&m, &http, &scopes, true).await.unwrap();
    assert_ne!(a.access_token.secret(), b.access_token.secret());
    assert_eq!(sb.count("POST", "/api/v1/apps"), 1);
    let redirects: Vec<String> = sb
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .flat_map(|r| r.form())
        .filter(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(redirects.len(), 2);
    assert_ne!(redirects[0], redirects[1], "distinct ports: {redirects:?}");
    let second = sb
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/authorize")
        .nth(1)
        .unwrap();
    assert!(second.query.unwrap().contains("force_login=true"));
}

#[tokio::test]
async fn legacy_instances_get_no_pkce_and_still_log_in() {
    let sb = sandbox(MastodonMode::Legacy).await;
    let http = http();
    let m = registered(&sb, &http, &strings(&["read:accounts"])).await;
    let scopes = default_scopes(m.info());
    assert!(!m.uses_pkce());
    let tokens = loopback_login(&m, &http, &scopes, false).await.unwrap();
    assert_eq!(tokens.scopes, ["read:accounts"]);
    for r in sb.requests() {
        let everything = format!("{:?} {}", r.query, r.body);
        assert!(!everything.contains("code_challenge"), "{everything}");
        assert!(!everything.contains("code_verifier"), "{everything}");
    }
    let me = m.identity(&http, &tokens.access_token).await.unwrap();
    assert!(!me.username.is_empty());
}

#[tokio::test]
async fn oob_login_with_a_pasted_code() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    let pending = PendingAuthorization::new(&m, OOB, &scopes, false).unwrap();
    let location = browse(pending.authorize_url().as_str()).await;
    assert!(
        location.contains("/oauth/authorize/native?code="),
        "{location}"
    );
    let native = if location.starts_with("http") {
        location
    } else {
        format!("{}{}", m.instance_ref().key(), location)
    };
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(native)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = scrape_code(&page);
    let pasted = pending.accept_paste(&format!("  {code}\n")).unwrap();
    assert!(!pasted.state_checked, "a bare code carries no state");
    let tokens = pending.complete(&m, &http, pasted.code).await.unwrap();
    assert!(sb.is_valid_access_token(tokens.access_token.secret()));
}

/// The value of `<input class="oauth-code" ... value="CODE">`.
fn scrape_code(page: &str) -> String {
    let input = page
        .split('<')
        .find(|tag| tag.starts_with("input") && tag.contains("oauth-code"))
        .expect("the native page has the code field");
    let after = input.split("value=\"").nth(1).unwrap();
    after.split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_denied_consent_is_reported_as_a_refusal() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    sb.deny_next_consent();
    let err = loopback_login(&m, &http, &scopes, false).await.unwrap_err();
    assert!(
        matches!(&err, Error::Denied { error, .. } if error == "access_denied"),
        "{err:?}"
    );
    assert_eq!(sb.count("POST", "/oauth/token"), 0);
}

#[tokio::test]
async fn a_registered_read_does_not_cover_read_accounts() {
    // Mastodon compares scope strings at /oauth/authorize, so `covers` is a
    // plain subset test and the provider refuses before the browser opens.
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let m = registered(&sb, &http, &strings(&["read"])).await;
    let narrower = strings(&["read:accounts"]);
    assert!(!broker_mastodon::covers(
        &m.registration().unwrap().scopes,
        &narrower
    ));
    let err = PendingAuthorization::new(&m, OOB, &narrower, false).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");

    // Without that check the instance strands the browser on an error page
    // that never comes back to the broker.
    let mut reg = m.registration().unwrap().clone();
    reg.scopes.clear();
    let unchecked = m.clone().with_registration(reg);
    let pending = PendingAuthorization::new(&unchecked, OOB, &narrower, false).unwrap();
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
        .get(pending.authorize_url().as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
}

// ---------------------------------------------------------------- refusals

#[tokio::test]
async fn a_forgotten_app_is_invalid_client() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    assert!(m.verify_app(&http).await.unwrap());

    // Authorize while the app exists, then the instance forgets it.
    let pending = PendingAuthorization::new(&m, OOB, &scopes, false).unwrap();
    let location = browse(pending.authorize_url().as_str()).await;
    let code = location.split("code=").nth(1).unwrap().to_string();
    sb.forget_mastodon_apps();

    assert!(!m.verify_app(&http).await.unwrap());
    let pasted = pending.accept_paste(&code).unwrap();
    let err = pending.complete(&m, &http, pasted.code).await.unwrap_err();
    let Error::Provider(p) = &err else {
        panic!("{err:?}")
    };
    assert!(p.is_invalid_client(), "{p:?}");
    assert_eq!(p.operation, Operation::CodeExchange);
    assert_no_secrets(&err, &[&secret_of(&m), &code]);
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant() {
    let sb = sandbox(MastodonMode::Legacy).await;
    let http = http();
    let scopes = strings(&["read:accounts"]);
    let m = registered(&sb, &http, &scopes).await;
    let pending = PendingAuthorization::new(&m, OOB, &scopes, false).unwrap();
    let location = browse(pending.authorize_url().as_str()).await;
    let code = location.split("code=").nth(1).unwrap().to_string();
    let pasted = pending.accept_paste(&code).unwrap();
    let tokens = pending.complete(&m, &http, pasted.code).await.unwrap();

    let err = m
        .exchange_code(
            &http,
            CodeGrant {
                code: broker_core::AuthorizationCode::new(code.clone()),
                redirect_uri: OOB,
                pkce_verifier: None,
            },
        )
        .await
        .unwrap_err();
    let Error::Provider(p) = &err else {
        panic!("{err:?}")
    };
    assert!(p.is_invalid_grant(), "{p:?}");
    assert!(err.to_string().contains("log in again"), "{err}");
    assert_no_secrets(&err, &[&secret_of(&m), &code, tokens.access_token.secret()]);
}

#[tokio::test]
async fn a_pkce_login_without_its_verifier_is_refused() {
    // What the sandbox does with a missing verifier, through our exchange.
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    let pending = PendingAuthorization::new(&m, OOB, &scopes, false).unwrap();
    assert!(pending.uses_pkce());
    let location = browse(pending.authorize_url().as_str()).await;
    let code = location.split("code=").nth(1).unwrap().to_string();
    let err = m
        .exchange_code(
            &http,
            CodeGrant {
                code: broker_core::AuthorizationCode::new(code),
                redirect_uri: OOB,
                pkce_verifier: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Provider(_)), "{err:?}");
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn revoking_kills_the_token() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    let tokens = loopback_login(&m, &http, &scopes, false).await.unwrap();
    let token = tokens.access_token.secret().to_string();
    assert!(sb.is_valid_access_token(&token));

    m.revoke(&http, &tokens).await.unwrap();
    assert!(!sb.is_valid_access_token(&token));
    // Revoking again is harmless (RFC 7009).
    m.revoke(&http, &tokens).await.unwrap();

    let err = m.identity(&http, &tokens.access_token).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsLogin, "{err}");
    assert_no_secrets(&err, &[&token, &secret_of(&m)]);
    let revoke = sb
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/revoke")
        .unwrap();
    let form = revoke.form();
    let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["client_id", "client_secret", "token"]);
}

#[tokio::test]
async fn a_failing_identity_endpoint_is_transient() {
    let sb = sandbox(MastodonMode::Modern).await;
    let http = http();
    let scopes = strings(&["profile"]);
    let m = registered(&sb, &http, &scopes).await;
    let tokens = loopback_login(&m, &http, &scopes, false).await.unwrap();
    sb.inject(FaultTarget::Identity, Fault::Status500, 1);
    let err = m.identity(&http, &tokens.access_token).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Unavailable, "{err}");
    assert_no_secrets(&err, &[tokens.access_token.secret()]);
    // A malformed answer is a protocol error, not a panic or a bad name.
    sb.inject(FaultTarget::Identity, Fault::MalformedJson, 1);
    let err = m.identity(&http, &tokens.access_token).await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol { .. } | Error::Provider(_)),
        "{err:?}"
    );
}
