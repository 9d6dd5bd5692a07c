//! How failures reach the user: scope mistakes caught before the browser,
//! Pinterest's refusals in words with their code, retries only where the
//! request cannot have been processed, and no secret in any message.

mod support;

use broker_core::{AuthorizationCode, CodeGrant, Error, ErrorClass, Provider};
use broker_pinterest::{ApiVersion, V3_SCOPES, V5_SCOPES};
use broker_sandbox::{Fault, FaultTarget};
use support::{Env, REDIRECT, assert_no_secret, attempt_login, login, strings};

#[test]
fn unknown_scopes_are_named_with_the_valid_list() {
    assert!(ApiVersion::V5.validate_scopes(&strings(V5_SCOPES)).is_ok());
    assert!(ApiVersion::V3.validate_scopes(&strings(V3_SCOPES)).is_ok());
    assert!(ApiVersion::V5.validate_scopes(&[]).is_ok());
    assert!(
        ApiVersion::V5
            .validate_scopes(&strings(&["pins:read,boards:read"]))
            .is_ok()
    );

    let err = ApiVersion::V5
        .validate_scopes(&strings(&["pins:read", "pins:raed", "read_pins"]))
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Usage);
    let shown = err.to_string();
    assert!(shown.contains("\"pins:raed\""), "{shown}");
    assert!(
        shown.contains("\"read_pins\" (looks like a v3 scope; use --api v3"),
        "{shown}"
    );
    assert!(!shown.contains("\"pins:read\""), "{shown}");
    assert!(
        shown.contains("user_accounts:write"),
        "lists valid: {shown}"
    );

    let err = ApiVersion::V3
        .validate_scopes(&strings(&["boards:read"]))
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("looks like a v5 scope"), "{shown}");
    assert!(shown.contains("read_secret_boards"), "{shown}");
}

#[tokio::test]
async fn a_wrong_app_secret_is_reported_as_bad_app_credentials() {
    let env = Env::start().await;
    let mut config = env.config();
    config.app_secret = broker_core::ClientSecret::new("not-the-secret-42".into());
    let provider = broker_pinterest::Pinterest::new(ApiVersion::V5, config);
    let attempt = attempt_login(&env, &provider, &[]).await;
    let err = attempt.result.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("Pinterest refused the code exchange (HTTP 401, 2)"),
        "{shown}"
    );
    assert!(shown.contains("check the app id and secret"), "{shown}");
    // Pinterest's request id, for a support request.
    assert!(shown.contains("[request id "), "{shown}");
    assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
    assert_no_secret(&err, &["not-the-secret-42", &attempt.code]);
    match &err {
        Error::Provider(p) => assert!(p.is_invalid_client()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reused_code_is_reported_as_a_spent_code() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let (attempt, tokens) = login(&env, &provider, &[]).await;
    let err = provider
        .exchange_code(
            &env.http,
            CodeGrant {
                code: AuthorizationCode::new(attempt.code.clone()),
                redirect_uri: REDIRECT,
                pkce_verifier: None,
            },
        )
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("(HTTP 400, 283)"), "{shown}");
    assert!(shown.contains("already used"), "{shown}");
    assert_eq!(err.class(), ErrorClass::AuthorizationFailed);
    assert_no_secret(
        &err,
        &[
            &attempt.code,
            &env.app_secret(),
            tokens.access_token.secret(),
        ],
    );
}

#[tokio::test]
async fn a_different_redirect_uri_at_the_exchange_is_explained() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let mut config = env.config();
    config.pkce = false;
    let no_pkce = broker_pinterest::Pinterest::new(ApiVersion::V5, config);
    let pending =
        broker_core::flow::PendingAuthorization::new(&no_pkce, REDIRECT, &[], false).unwrap();
    let location = support::consent(pending.authorize_url()).await;
    let code = pending.accept_paste(&location).unwrap().code;
    let err = provider
        .exchange_code(
            &env.http,
            CodeGrant {
                code,
                redirect_uri: "http://127.0.0.1:8085/",
                pkce_verifier: None,
            },
        )
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("283"), "{shown}");
    assert!(shown.contains("redirect URI"), "{shown}");
}

#[tokio::test]
async fn a_500_on_the_code_exchange_is_not_retried() {
    let env = Env::start().await;
    env.sandbox.inject(FaultTarget::Token, Fault::Status500, 1);
    let provider = env.provider(ApiVersion::V5);
    let attempt = attempt_login(&env, &provider, &[]).await;
    let err = attempt.result.unwrap_err();
    assert_eq!(env.sandbox.count("POST", "/v5/oauth/token"), 1);
    assert_eq!(err.class(), ErrorClass::Unavailable, "{err}");
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert_no_secret(&err, &[&attempt.code, &env.app_secret()]);
}

#[tokio::test]
async fn a_503_on_the_code_exchange_is_retried() {
    let env = Env::start().await;
    env.sandbox.inject(
        FaultTarget::Token,
        Fault::ServiceUnavailable {
            retry_after_secs: 0,
        },
        1,
    );
    let provider = env.provider(ApiVersion::V5);
    let attempt = attempt_login(&env, &provider, &[]).await;
    let tokens = attempt.result.unwrap();
    assert_eq!(env.sandbox.count("POST", "/v5/oauth/token"), 2);
    assert!(
        env.sandbox
            .is_valid_access_token(tokens.access_token.secret())
    );
}

#[tokio::test]
async fn a_malformed_token_answer_is_a_protocol_error() {
    let env = Env::start().await;
    env.sandbox
        .inject(FaultTarget::Token, Fault::MalformedJson, 1);
    let provider = env.provider(ApiVersion::V5);
    let attempt = attempt_login(&env, &provider, &[]).await;
    let err = attempt.result.unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert_no_secret(&err, &[&attempt.code, &env.app_secret()]);
}

#[tokio::test]
async fn no_secret_shows_in_any_error_or_debug_output() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let (attempt, tokens) = login(&env, &provider, &[]).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let app_secret = env.app_secret();
    let secrets = [
        app_secret.as_str(),
        attempt.code.as_str(),
        tokens.access_token.secret().as_str(),
        refresh.secret().as_str(),
    ];

    // Debug of everything a caller might log.
    for shown in [
        format!("{provider:?}"),
        format!("{:?}", env.config()),
        format!("{tokens:?}"),
    ] {
        for s in secrets {
            assert!(!shown.contains(s), "{shown}");
        }
    }

    let mut errors = Vec::new();
    // Refresh with a wrong app secret.
    let mut config = env.config();
    config.app_secret = broker_core::ClientSecret::new(format!("{app_secret}x"));
    let wrong = broker_pinterest::Pinterest::new(ApiVersion::V5, config);
    errors.push(wrong.refresh(&env.http, &refresh).await.unwrap_err());
    // Identity with a dead token, revoke with a wrong secret, the code
    // again, and a refresh behind a 500.
    errors.push(
        provider
            .identity(
                &env.http,
                &broker_core::AccessToken::new(format!("{}x", tokens.access_token.secret())),
            )
            .await
            .unwrap_err(),
    );
    errors.push(wrong.revoke(&env.http, &tokens).await.unwrap_err());
    errors.push(
        provider
            .exchange_code(
                &env.http,
                CodeGrant {
                    code: AuthorizationCode::new(attempt.code.clone()),
                    redirect_uri: REDIRECT,
                    pkce_verifier: None,
                },
            )
            .await
            .unwrap_err(),
    );
    env.sandbox.inject(FaultTarget::Token, Fault::Status500, 1);
    errors.push(provider.refresh(&env.http, &refresh).await.unwrap_err());
    for err in &errors {
        assert_no_secret(err, &secrets);
    }
}

#[tokio::test]
async fn a_refresh_whose_answer_is_lost_is_not_retried_and_is_not_a_login_problem() {
    let env = Env::start().await;
    let provider = env.provider(ApiVersion::V5);
    let (_, tokens) = login(&env, &provider, &[]).await;
    // The sandbox rotates the token, then never answers: the client cannot
    // know whether the old token is spent, so it must neither resend it
    // nor tell the caller to throw the account away.
    env.sandbox
        .inject(FaultTarget::Token, Fault::ProcessThenHold, 1);
    let impatient = broker_core::HttpClient::new(broker_core::HttpConfig {
        timeout: std::time::Duration::from_millis(300),
        ..broker_core::HttpConfig::default()
    })
    .unwrap();
    let refresh = tokens.refresh_token.clone().unwrap();
    let err = provider.refresh(&impatient, &refresh).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Unavailable);
    assert_eq!(env.sandbox.count_grant("refresh_token"), 1);
    assert_no_secret(&err, &[refresh.secret(), &env.app_secret()]);
}
