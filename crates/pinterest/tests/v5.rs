//! API v5 against the sandbox: the login with and without PKCE, rotating
//! refreshes, client credentials, identity and revocation.

mod support;

use std::time::{Duration, SystemTime};

use broker_core::{ErrorClass, PkceCodeChallenge, PkceCodeVerifier, Provider, verifier_is_valid};
use broker_pinterest::{ApiVersion, DEFAULT_V5_SCOPES};
use broker_sandbox::Lifetimes;
use support::{Env, REDIRECT, attempt_login, form, login, query_param, recorded, strings};

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn v5_login_with_pkce_sends_exactly_the_documented_requests() {
    let env = Env::start().await;
    env.sandbox.set_pinterest_user("alice_pins");
    let provider = env.provider(ApiVersion::V5);
    assert_eq!(provider.id(), "pinterest");
    assert_eq!(provider.display_name(), "Pinterest");
    assert_eq!(provider.instance().to_string(), env.base());
    assert!(provider.uses_pkce());
    let (attempt, tokens) = login(&env, &provider, &provider.version().default_scopes()).await;

    // The consent URL: documented names, properly encoded.
    let url = &attempt.authorize_url;
    let raw = url.as_str();
    assert!(raw.starts_with(&format!("{}oauth/?", env.base())), "{raw}");
    assert!(
        raw.contains(&format!("client_id={}&", env.app_id())),
        "{raw}"
    );
    assert!(
        raw.contains("redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F&"),
        "{raw}"
    );
    assert!(raw.contains("response_type=code&"), "{raw}");
    assert!(
        raw.contains("scope=user_accounts%3Aread%2Cpins%3Aread%2Cboards%3Aread&"),
        "{raw}"
    );
    assert!(raw.contains("code_challenge_method=S256"), "{raw}");
    assert!(!raw.contains("consumer_id"), "{raw}");
    assert!(!raw.contains("refreshable"), "{raw}");
    let state = query_param(url, "state").unwrap();
    assert!(state.len() >= 43);
    let challenge = query_param(url, "code_challenge").unwrap();

    // Exactly one token request, with Basic auth and a form body.
    let calls = recorded(&env, "POST", "/v5/oauth/token");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        call.header("authorization").map(str::to_string),
        Some(env.expected_basic())
    );
    assert_eq!(
        call.header("content-type").map(str::to_string).as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(call.query.as_deref().unwrap_or("").is_empty());
    let fields = form(call);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "code",
            "redirect_uri",
            "continuous_refresh",
            "code_verifier"
        ]
    );
    assert_eq!(
        field(&fields, "grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(field(&fields, "code"), Some(attempt.code.clone()));
    assert_eq!(field(&fields, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(
        field(&fields, "continuous_refresh").as_deref(),
        Some("true")
    );
    let verifier = field(&fields, "code_verifier").unwrap();
    assert!(verifier_is_valid(&verifier));
    assert_eq!(
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier)).as_str(),
        challenge
    );

    // The token set: scopes read from the space-separated answer, both
    // expiry times known.
    assert!(tokens.access_token.secret().starts_with("pina_"));
    assert!(
        tokens
            .refresh_token
            .as_ref()
            .unwrap()
            .secret()
            .starts_with("pinr.")
    );
    assert_eq!(tokens.scopes, strings(DEFAULT_V5_SCOPES));
    assert_eq!(tokens.token_type, "bearer");
    let now = SystemTime::now();
    assert!(tokens.expires_at.unwrap() > now);
    assert!(tokens.refresh_expires_at.unwrap() > now);
    assert!(
        env.sandbox
            .is_valid_access_token(tokens.access_token.secret())
    );

    // Who it is.
    let who = provider
        .identity(&env.http, &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(who.username, "alice_pins");
    assert!(
        who.id
            .as_deref()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert_eq!(who.details["username"], "alice_pins");
    let identity_calls = recorded(&env, "GET", "/v5/user_account");
    assert_eq!(identity_calls.len(), 1);
    assert_eq!(
        identity_calls[0]
            .header("authorization")
            .map(str::to_string),
        Some(format!("Bearer {}", tokens.access_token.secret()))
    );

    // No token or code ever travelled in a URL.
    for r in env.sandbox.requests() {
        let query = r.query.clone().unwrap_or_default();
        for secret in [
            tokens.access_token.secret(),
            &attempt.code,
            &env.app_secret(),
        ] {
            assert!(!query.contains(secret.as_str()), "{} {query}", r.path);
        }
    }
}

#[tokio::test]
async fn without_pkce_no_challenge_and_no_verifier_are_sent() {
    let env = Env::start().await;
    let mut config = env.config();
    config.pkce = false;
    config.continuous_refresh = false;
    let provider = broker_pinterest::Pinterest::new(ApiVersion::V5, config);
    assert!(!provider.uses_pkce());
    let (attempt, _tokens) = login(&env, &provider, &[]).await;
    assert!(query_param(&attempt.authorize_url, "code_challenge").is_none());
    assert!(query_param(&attempt.authorize_url, "code_challenge_method").is_none());
    let calls = recorded(&env, "POST", "/v5/oauth/token");
    let fields = form(&calls[0]);
    assert!(field(&fields, "code_verifier").is_none());
    assert!(field(&fields, "continuous_refresh").is_none());
    assert_eq!(
        query_param(&attempt.authorize_url, "scope").as_deref(),
        Some("user_accounts:read,pins:read,boards:read"),
        "no scope means the defaults"
    );
}

#[tokio::test]
async fn the_refresh_token_rotates_and_a_spent_one_needs_a_login() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    assert!(provider.can_refresh());
    let (_, t0) = login(&env, &provider, &[]).await;
    let r0 = t0.refresh_token.clone().unwrap();

    let t1 = provider.refresh(&env.http, &r0).await.unwrap();
    let r1 = t1.refresh_token.clone().expect("a rotated refresh token");
    assert_ne!(r1.secret(), r0.secret());
    assert_ne!(t1.access_token.secret(), t0.access_token.secret());
    assert_eq!(t1.scopes, strings(DEFAULT_V5_SCOPES));
    assert!(t1.expires_at.is_some() && t1.refresh_expires_at.is_some());

    let t2 = provider.refresh(&env.http, &r1).await.unwrap();
    let r2 = t2.refresh_token.clone().unwrap();
    assert_ne!(r2.secret(), r1.secret());
    assert!(env.sandbox.is_valid_access_token(t2.access_token.secret()));

    let fields = form(&recorded(&env, "POST", "/v5/oauth/token")[2]);
    assert_eq!(
        fields,
        [
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), r1.secret().clone()),
        ]
    );

    // The first refresh token is spent.
    let err = provider.refresh(&env.http, &r0).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsLogin, "{err}");
    let shown = err.to_string();
    assert!(shown.contains("283"), "{shown}");
    assert!(shown.contains("broker login pinterest`"), "{shown}");
    assert_eq!(env.sandbox.count_grant("refresh_token"), 3);
    support::assert_no_secret(
        &err,
        &[r0.secret(), r1.secret(), r2.secret(), &env.app_secret()],
    );
}

#[tokio::test]
async fn an_expired_refresh_token_needs_a_login() {
    let env = Env::start().await;
    env.sandbox.set_lifetimes(Lifetimes {
        code: Duration::from_secs(600),
        access: Duration::from_secs(3600),
        refresh: Duration::from_secs(1),
    });
    let provider = env.provider(ApiVersion::V5);
    let (_, tokens) = login(&env, &provider, &[]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = provider
        .refresh(&env.http, tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsLogin, "{err}");
    assert!(err.to_string().contains("broker login pinterest`"), "{err}");
}

#[tokio::test]
async fn client_credentials_need_no_browser_and_give_no_refresh_token() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let tokens = provider
        .client_credentials(&env.http, &strings(DEFAULT_V5_SCOPES))
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.scopes, strings(DEFAULT_V5_SCOPES));
    assert!(tokens.expires_at.is_some());
    assert_eq!(env.sandbox.count("GET", "/oauth/"), 0);

    let calls = recorded(&env, "POST", "/v5/oauth/token");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].header("authorization").map(str::to_string),
        Some(env.expected_basic())
    );
    let body = calls[0].body.clone();
    assert_eq!(
        body,
        "grant_type=client_credentials&scope=user_accounts%3Aread%2Cpins%3Aread%2Cboards%3Aread"
    );

    // The token acts as the app owner.
    let who = provider
        .identity(&env.http, &tokens.access_token)
        .await
        .unwrap();
    assert!(!who.username.is_empty());

    // v3 has no such grant.
    let err = env
        .provider(ApiVersion::V3)
        .client_credentials(&env.http, &[])
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Usage);
}

#[tokio::test]
async fn revoke_sends_the_refresh_token_first_then_the_access_token() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    assert!(provider.can_revoke());
    let (_, tokens) = login(&env, &provider, &[]).await;
    provider.revoke(&env.http, &tokens).await.unwrap();

    let calls = recorded(&env, "POST", "/v5/oauth/token/revoke");
    assert_eq!(calls.len(), 2);
    let hints: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            let f = form(c);
            assert_eq!(
                c.header("authorization").map(str::to_string),
                Some(env.expected_basic())
            );
            (
                f.iter().find(|(k, _)| k == "token").unwrap().1.clone(),
                f.iter()
                    .find(|(k, _)| k == "token_type_hint")
                    .unwrap()
                    .1
                    .clone(),
            )
        })
        .collect();
    assert_eq!(
        hints,
        [
            (
                tokens.refresh_token.as_ref().unwrap().secret().clone(),
                "refresh_token".to_string()
            ),
            (
                tokens.access_token.secret().clone(),
                "access_token".to_string()
            ),
        ]
    );
    assert!(
        !env.sandbox
            .is_valid_access_token(tokens.access_token.secret())
    );
    let err = provider
        .refresh(&env.http, tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsLogin);
}

#[tokio::test]
async fn a_token_without_user_accounts_read_gets_a_scope_explanation() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let (_, tokens) = login(&env, &provider, &strings(&["pins:read"])).await;
    assert_eq!(tokens.scopes, ["pins:read"]);
    let err = provider
        .identity(&env.http, &tokens.access_token)
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("HTTP 401, 3"), "{shown}");
    assert!(shown.contains("user_accounts:read"), "{shown}");
    support::assert_no_secret(&err, &[tokens.access_token.secret()]);
}

#[tokio::test]
async fn a_denied_consent_is_the_providers_refusal() {
    let env = Env::start().await;
    env.sandbox.deny_next_consent();
    let provider = env.provider(ApiVersion::V5);
    let pending =
        broker_core::flow::PendingAuthorization::new(&provider, REDIRECT, &[], false).unwrap();
    let location = support::consent(pending.authorize_url()).await;
    let err = pending.accept_paste(&location).unwrap_err();
    assert!(matches!(err, broker_core::Error::Denied { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
    assert_eq!(env.sandbox.count("POST", "/v5/oauth/token"), 0);
    // A fresh attempt works.
    assert!(attempt_login(&env, &provider, &[]).await.result.is_ok());
}
