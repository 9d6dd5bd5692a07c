//! API v3 against the sandbox: the PUT token endpoint, the nested refresh
//! token, identity from the profile URL, and a refresh that does not rotate.

mod support;

use broker_core::{ErrorClass, Provider};
use broker_pinterest::{ApiVersion, DEFAULT_V3_SCOPES};
use support::{Env, REDIRECT, form, login, query_param, recorded, strings};

#[tokio::test]
async fn v3_login_uses_put_and_reads_the_nested_refresh_token() {
    let env = Env::start().await;
    env.sandbox.set_pinterest_user("bob_v3");
    let provider = env.provider(ApiVersion::V3);
    assert_eq!(provider.id(), "pinterest-v3");
    assert_eq!(provider.display_name(), "Pinterest (API v3)");
    assert!(!provider.uses_pkce(), "v3 never sends PKCE");
    assert!(!provider.can_revoke());
    let (attempt, tokens) = login(&env, &provider, &provider.version().default_scopes()).await;

    let raw = attempt.authorize_url.as_str();
    assert!(
        raw.contains("scope=read_users%2Cread_pins%2Cread_boards&"),
        "{raw}"
    );
    assert_eq!(
        query_param(&attempt.authorize_url, "refreshable").as_deref(),
        Some("true")
    );
    assert!(query_param(&attempt.authorize_url, "code_challenge").is_none());

    let calls = recorded(&env, "PUT", "/v3/oauth/access_token/");
    assert_eq!(calls.len(), 1);
    assert_eq!(env.sandbox.count("POST", "/v5/oauth/token"), 0);
    assert_eq!(
        calls[0].header("authorization").map(str::to_string),
        Some(env.expected_basic())
    );
    assert_eq!(
        calls[0]
            .header("content-type")
            .map(str::to_string)
            .as_deref(),
        Some("application/x-www-form-urlencoded"),
        "v3 gets a form body, like v5"
    );
    assert_eq!(
        form(&calls[0]),
        [
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), attempt.code.clone()),
            ("redirect_uri".to_string(), REDIRECT.to_string()),
        ]
    );

    assert!(tokens.refresh_token.is_some(), "the nested refresh token");
    assert_eq!(tokens.expires_at, None, "v3 says nothing about expiry");
    assert_eq!(tokens.scopes, strings(DEFAULT_V3_SCOPES));

    let who = provider
        .identity(&env.http, &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(who.username, "bob_v3", "from the profile URL");
    assert!(who.id.is_some());
    assert!(who.display_name.is_some());
    assert_eq!(env.sandbox.count("GET", "/v3/users/me/"), 1);
}

#[tokio::test]
async fn v3_refresh_keeps_the_same_refresh_token() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V3);
    let (_, t0) = login(&env, &provider, &[]).await;
    let r0 = t0.refresh_token.clone().unwrap();

    let t1 = provider.refresh(&env.http, &r0).await.unwrap();
    assert_eq!(t1.refresh_token.as_ref().unwrap().secret(), r0.secret());
    assert_ne!(t1.access_token.secret(), t0.access_token.secret());
    assert!(env.sandbox.is_valid_access_token(t1.access_token.secret()));
    // It still works: v3 does not rotate.
    let t2 = provider.refresh(&env.http, &r0).await.unwrap();
    assert!(env.sandbox.is_valid_access_token(t2.access_token.secret()));

    let calls = recorded(&env, "PUT", "/v3/oauth/access_token/");
    assert_eq!(
        form(&calls[1]),
        [
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), r0.secret().clone()),
        ]
    );

    let err = provider
        .refresh(
            &env.http,
            &broker_core::RefreshToken::new("not-a-real-token".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsLogin, "{err}");
    assert!(
        err.to_string().contains("broker login pinterest --api v3`"),
        "{err}"
    );
}

#[tokio::test]
async fn v3_errors_keep_the_specific_reason() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V3);
    let (attempt, _) = login(&env, &provider, &[]).await;

    // The same code again.
    let err = provider
        .exchange_code(
            &env.http,
            broker_core::CodeGrant {
                code: broker_core::AuthorizationCode::new(attempt.code.clone()),
                redirect_uri: REDIRECT,
                pkce_verifier: None,
            },
        )
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("283"), "{shown}");
    assert!(shown.contains("already used"), "{shown}");
    assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
    support::assert_no_secret(&err, &[&attempt.code, &env.app_secret()]);

    // A wrong app secret: v3 calls it an invalid application id.
    let mut config = env.config();
    config.app_secret = broker_core::ClientSecret::new("wrong-secret-value".into());
    let wrong = broker_pinterest::Pinterest::new(ApiVersion::V3, config);
    let attempt = support::attempt_login(&env, &wrong, &[]).await;
    let err = attempt.result.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("Invalid Application ID"), "{shown}");
    assert!(shown.contains("PINTEREST_APP_SECRET"), "{shown}");
    support::assert_no_secret(&err, &["wrong-secret-value", &attempt.code]);
}
