//! Pinterest v5 and v3 against the running sandbox, over real HTTP.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broker_sandbox::Lifetimes;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn v5_happy_path_with_pkce() {
    let (sb, http) = start().await;
    let (verifier, challenge) = pkce();
    let code = pin_code(&sb, &http, "user_accounts:read,pins:read", Some(&challenge)).await;
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &verifier),
            ("continuous_refresh", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = s(&body, "access_token");
    assert!(access.starts_with("pina_"));
    assert!(s(&body, "refresh_token").starts_with("pinr."));
    assert_eq!(body["response_type"], "authorization_code");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 2_592_000);
    assert_eq!(body["refresh_token_expires_in"], 60 * 24 * 3600);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = body["refresh_token_expires_at"].as_u64().unwrap();
    assert!(at.abs_diff(now + 60 * 24 * 3600) < 10);
    assert_eq!(body["scope"], "user_accounts:read pins:read");
    assert!(sb.is_valid_access_token(&access));

    let (status, me) = get_bearer(&sb, &http, "/v5/user_account", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "sandbox_pinner");
    assert_eq!(me["account_type"], "PINNER");
    assert!(s(&me, "id").bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(me["business_name"], Value::Null);

    assert_eq!(sb.count("POST", "/v5/oauth/token"), 1);
    assert_eq!(sb.count_grant("authorization_code"), 1);
    assert_eq!(sb.count("GET", "/oauth/"), 1);
    let token_req = sb
        .requests()
        .into_iter()
        .find(|r| r.path == "/v5/oauth/token")
        .unwrap();
    assert_eq!(
        token_req.header("Authorization"),
        Some(pin_basic(&sb).as_str())
    );
    assert!(
        token_req
            .form()
            .contains(&("code_verifier".to_string(), verifier.clone()))
    );
}

#[tokio::test]
async fn wrong_client_authentication_is_401_code_2() {
    let (sb, http) = start().await;
    let code = pin_code(&sb, &http, "user_accounts:read", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PIN_REDIRECT),
    ];
    let expected = json!({"code": 2, "message": "Authentication failed."});
    for auth in [
        Some(basic(sb.pinterest_app_id(), "wrong")),
        Some(basic("7654321", sb.pinterest_app_secret())),
        None,
    ] {
        let mut rb = http.post(url(&sb, "/v5/oauth/token")).form(&form);
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let (status, body) = body_json(rb.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, expected);
    }
    // Credentials in the body are not client authentication here.
    let mut with_body = form.to_vec();
    with_body.push(("client_id", sb.pinterest_app_id()));
    with_body.push(("client_secret", sb.pinterest_app_secret()));
    let resp = http
        .post(url(&sb, "/v5/oauth/token"))
        .form(&with_body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The code survived all that.
    let (status, _) = pin_token(&sb, &http, &form).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_requires_a_form_body() {
    let (sb, http) = start().await;
    let resp = http
        .post(url(&sb, "/v5/oauth/token"))
        .header("authorization", pin_basic(&sb))
        .json(&json!({"grant_type": "client_credentials", "scope": "pins:read"}))
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 1);
    let (status, body) = pin_token(&sb, &http, &[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 1);
}

#[tokio::test]
async fn code_reuse_is_rejected_and_revokes_its_tokens() {
    let (sb, http) = start().await;
    let code = pin_code(&sb, &http, "user_accounts:read", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PIN_REDIRECT),
    ];
    let (status, first) = pin_token(&sb, &http, &form).await;
    assert_eq!(status, StatusCode::OK);
    let access = s(&first, "access_token");
    let refresh = s(&first, "refresh_token");
    let (status, body) = pin_token(&sb, &http, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": 283, "message": "The authorization grant is invalid"})
    );
    assert!(!sb.is_valid_access_token(&access));
    let (status, _) = get_bearer(&sb, &http, "/v5/user_account", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = pin_token(
        &sb,
        &http,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn code_exchange_checks_redirect_uri_and_pkce() {
    let (sb, http) = start().await;
    sb.add_pinterest_redirect_uri("http://127.0.0.1:9999/cb");
    let (verifier, challenge) = pkce();
    let code = pin_code(&sb, &http, "pins:read", Some(&challenge)).await;
    let attempts: [&[(&str, &str)]; 4] = [
        &[
            ("redirect_uri", "http://127.0.0.1:9999/cb"),
            ("code_verifier", &verifier),
        ],
        &[("redirect_uri", PIN_REDIRECT)],
        &[
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &"x".repeat(43)),
        ],
        &[
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &verifier[..42]),
        ],
    ];
    for extra in attempts {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        form.extend_from_slice(extra);
        let (status, body) = pin_token(&sb, &http, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra:?}");
        assert_eq!(body["code"], 283, "{extra:?}");
    }
    // Failed attempts leave the code unspent.
    let (status, _) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A verifier without a challenge is refused too.
    let code = pin_code(&sb, &http, "pins:read", None).await;
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PIN_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 283);
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_a_page_not_a_redirect() {
    let (sb, http) = start().await;
    for redirect in [
        "http://localhost:8086/",
        "http://localhost:8085",
        "http://localhost:8085/?x=1",
        "https://evil.example/",
    ] {
        let resp = pin_authorize(
            &sb,
            &http,
            &[
                ("client_id", sb.pinterest_app_id()),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "pins:read"),
                ("state", "s"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(resp.headers().get("location").is_none());
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    sb.add_pinterest_redirect_uri("http://localhost:8086/");
    let resp = pin_authorize(
        &sb,
        &http,
        &[
            ("client_id", sb.pinterest_app_id()),
            ("redirect_uri", "http://localhost:8086/"),
            ("response_type", "code"),
            ("scope", "pins:read"),
        ],
    )
    .await;
    let loc = location(&resp);
    assert!(loc.as_str().starts_with("http://localhost:8086/?code="));
    assert_eq!(param(&loc, "state"), None);
}

#[tokio::test]
async fn authorize_client_id_rules() {
    let (sb, http) = start().await;
    let resp = pin_authorize(
        &sb,
        &http,
        &[
            ("redirect_uri", PIN_REDIRECT),
            ("response_type", "code"),
            ("scope", "pins:read"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Oops! You must pass a value for client_id")
    );
    let resp = pin_authorize(
        &sb,
        &http,
        &[
            ("client_id", "999"),
            ("redirect_uri", PIN_REDIRECT),
            ("response_type", "code"),
            ("scope", "pins:read"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The quickstart's legacy spelling, unencoded, with refreshable=True.
    let raw = format!(
        "{}oauth/?consumer_id={}&redirect_uri=http://localhost:8085/&response_type=code&refreshable=True&scope=user_accounts:read,pins:read,boards:read&state=abc",
        sb.base_url(),
        sb.pinterest_app_id()
    );
    let resp = http.get(raw).send().await.unwrap();
    let loc = location(&resp);
    assert_eq!(param(&loc, "state").as_deref(), Some("abc"));
    // Repeated parameters are refused.
    let raw = format!(
        "{}oauth/?client_id={id}&client_id={id}&redirect_uri=http://localhost:8085/&response_type=code&scope=pins:read",
        sb.base_url(),
        id = sb.pinterest_app_id()
    );
    let resp = http.get(raw).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn authorize_errors_redirect_with_state() {
    let (sb, http) = start().await;
    let base = [
        ("client_id", sb.pinterest_app_id()),
        ("redirect_uri", PIN_REDIRECT),
        ("response_type", "code"),
        ("state", "S T"),
    ];
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("scope", "pins:read,read_users")], "invalid_scope"),
        (&[("scope", "read_public")], "invalid_scope"),
        (
            &[
                ("scope", "pins:read"),
                ("code_challenge", "abc"),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("scope", "pins:read"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
            ],
            "invalid_request",
        ),
        (&[], "invalid_scope"),
    ];
    for (extra, error) in cases {
        let mut params = base.to_vec();
        params.extend_from_slice(extra);
        let loc = location(&pin_authorize(&sb, &http, &params).await);
        assert!(loc.as_str().starts_with(PIN_REDIRECT));
        assert_eq!(param(&loc, "error").as_deref(), Some(error), "{extra:?}");
        assert!(param(&loc, "error_description").is_some());
        assert_eq!(param(&loc, "state").as_deref(), Some("S T"));
        assert_eq!(param(&loc, "code"), None);
    }
    // Spaces (or `+`) between scopes are tolerated.
    let mut params = base.to_vec();
    params.push(("scope", "pins:read boards:read"));
    let loc = location(&pin_authorize(&sb, &http, &params).await);
    assert!(param(&loc, "code").is_some());
}

#[tokio::test]
async fn deny_next_consent_redirects_access_denied() {
    let (sb, http) = start().await;
    sb.deny_next_consent();
    let params = [
        ("client_id", sb.pinterest_app_id()),
        ("redirect_uri", PIN_REDIRECT),
        ("response_type", "code"),
        ("scope", "pins:read"),
        ("state", "abc"),
    ];
    let loc = location(&pin_authorize(&sb, &http, &params).await);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("abc"));
    assert_eq!(param(&loc, "code"), None);
    // Only the next one.
    let loc = location(&pin_authorize(&sb, &http, &params).await);
    assert!(param(&loc, "code").is_some());
}

#[tokio::test]
async fn refresh_rotates_over_two_cycles_and_replay_revokes_family() {
    let (sb, http) = start().await;
    let first = pin_login(&sb, &http, "user_accounts:read,pins:read").await;
    let r0 = s(&first, "refresh_token");

    let refresh = |token: String| {
        let (sb, http) = (&sb, &http);
        async move {
            pin_token(
                sb,
                http,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let (status, second) = refresh(r0.clone()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["response_type"], "refresh_token");
    let r1 = s(&second, "refresh_token");
    assert_ne!(r1, r0);
    assert!(r1.starts_with("pinr."));
    assert!(second["refresh_token_expires_at"].as_u64().is_some());
    assert_eq!(second["scope"], "user_accounts:read pins:read");
    let a1 = s(&second, "access_token");
    assert_eq!(
        get_bearer(&sb, &http, "/v5/user_account", &a1).await.0,
        StatusCode::OK
    );

    let (status, third) = refresh(r1.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let r2 = s(&third, "refresh_token");
    let a2 = s(&third, "access_token");
    assert!(sb.is_valid_access_token(&a2));
    assert_eq!(sb.count_grant("refresh_token"), 2);

    // Replaying a rotated token: refused, and the whole family dies.
    let (status, body) = refresh(r0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"code": 283, "message": "The authorization grant is invalid"})
    );
    assert!(!sb.is_valid_access_token(&a2));
    assert_eq!(refresh(r2).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh("pinr.unknown".into()).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_scope_may_narrow_but_not_widen() {
    let (sb, http) = start().await;
    let first = pin_login(&sb, &http, "user_accounts:read,pins:read").await;
    let (status, _) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&first, "refresh_token")),
            ("scope", "pins:write"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&first, "refresh_token")),
            ("scope", "pins:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "pins:read");
    // Narrowed to pins:read only: no user_accounts:read.
    let (status, body) =
        get_bearer(&sb, &http, "/v5/user_account", &s(&body, "access_token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], 3);
}

#[tokio::test]
async fn client_credentials_act_as_the_app_owner() {
    let (sb, http) = start().await;
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "user_accounts:read,pins:read,boards:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response_type"], "client_credentials");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "user_accounts:read pins:read boards:read");
    let (status, me) = get_bearer(&sb, &http, "/v5/user_account", &s(&body, "access_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "sandbox_app_owner");

    let (status, body) = pin_token(&sb, &http, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 1);
}

#[tokio::test]
async fn user_account_auth_rules() {
    let (sb, http) = start().await;
    let pins_only = pin_login(&sb, &http, "pins:read").await;
    let (status, body) = get_bearer(
        &sb,
        &http,
        "/v5/user_account",
        &s(&pins_only, "access_token"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], 3);
    assert!(s(&body, "message").starts_with("Your token does not have sufficient permissions"));

    let good = s(
        &pin_login(&sb, &http, "user_accounts:read").await,
        "access_token",
    );
    for resp in [
        http.get(url(&sb, "/v5/user_account")).send().await.unwrap(),
        http.get(url(&sb, "/v5/user_account"))
            .query(&[("access_token", good.as_str())])
            .send()
            .await
            .unwrap(),
        http.get(url(&sb, "/v5/user_account"))
            .bearer_auth("pina_nope")
            .send()
            .await
            .unwrap(),
    ] {
        let (status, body) = body_json(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"code": 2, "message": "Authentication failed."})
        );
    }
}

#[tokio::test]
async fn short_lifetimes_expire_codes_and_tokens() {
    let (sb, http) = start().await;
    sb.set_lifetimes(Lifetimes {
        code: Duration::from_millis(150),
        access: Duration::from_millis(150),
        refresh: Duration::from_millis(150),
    });
    let stale_code = pin_code(&sb, &http, "user_accounts:read", None).await;
    let tokens = pin_login(&sb, &http, "user_accounts:read").await;
    let access = s(&tokens, "access_token");
    assert!(sb.is_valid_access_token(&access));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!sb.is_valid_access_token(&access));
    assert_eq!(
        get_bearer(&sb, &http, "/v5/user_account", &access).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &stale_code),
            ("redirect_uri", PIN_REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(283))
    );
    let (status, _) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoke_access_and_refresh_tokens() {
    let (sb, http) = start().await;
    let tokens = pin_login(&sb, &http, "user_accounts:read").await;
    let revoke = |token: String| {
        let (sb, http) = (&sb, &http);
        async move {
            http.post(url(sb, "/v5/oauth/token/revoke"))
                .header("authorization", pin_basic(sb))
                .form(&[
                    ("token", token.as_str()),
                    ("token_type_hint", "refresh_token"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let access = s(&tokens, "access_token");
    let resp = revoke(s(&tokens, "refresh_token")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().is_empty());
    assert!(!sb.is_valid_access_token(&access));
    assert_eq!(revoke("unknown".into()).await.status(), StatusCode::OK);
    let resp = http
        .post(url(&sb, "/v5/oauth/token/revoke"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn v3_code(
    sb: &broker_sandbox::Sandbox,
    http: &reqwest::Client,
    refreshable: &str,
) -> String {
    let resp = pin_authorize(
        sb,
        http,
        &[
            ("consumer_id", sb.pinterest_app_id()),
            ("redirect_uri", PIN_REDIRECT),
            ("response_type", "code"),
            ("refreshable", refreshable),
            ("scope", "read_users,read_pins"),
            ("state", "v3"),
        ],
    )
    .await;
    param(&location(&resp), "code").unwrap()
}

#[tokio::test]
async fn v3_put_with_json_and_with_form() {
    let (sb, http) = start().await;
    let endpoint = url(&sb, "/v3/oauth/access_token/");

    // JSON body, refreshable: the refresh token is nested under data.
    let code = v3_code(&sb, &http, "True").await;
    let resp = http
        .put(endpoint.clone())
        .header("authorization", pin_basic(&sb))
        .json(&json!({"grant_type": "authorization_code", "code": code, "redirect_uri": PIN_REDIRECT}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("x-pinterest-rid"));
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["scope"], "read_users,read_pins");
    assert!(body.get("expires_in").is_none());
    let access = s(&body, "access_token");
    let refresh = s(&body["data"], "refresh_token");
    let (status, me) = get_bearer(&sb, &http, "/v3/users/me/", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        me["data"]["profile_url"],
        "https://www.pinterest.com/sandbox_pinner/"
    );
    // A v3 token is no good at v5.
    assert_eq!(
        get_bearer(&sb, &http, "/v5/user_account", &access).await.0,
        StatusCode::UNAUTHORIZED
    );

    // v3 refresh does not rotate: the same refresh token works twice.
    for _ in 0..2 {
        let resp = http
            .put(endpoint.clone())
            .header("authorization", pin_basic(&sb))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "success");
        assert!(sb.is_valid_access_token(&s(&body, "access_token")));
        assert!(body.get("refresh_token").is_none());
    }

    // Form body, not refreshable: no refresh token.
    let code = v3_code(&sb, &http, "False").await;
    let resp = http
        .put(endpoint.clone())
        .header("authorization", pin_basic(&sb))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PIN_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"].get("refresh_token").is_none());

    // Reuse, wrong app, and a v5 code: the legacy envelope.
    let resp = http
        .put(endpoint.clone())
        .header("authorization", pin_basic(&sb))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PIN_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "failure");
    assert_eq!(body["code"], 283);
    assert_eq!(body["message"], "The authorization grant is invalid");
    assert_eq!(body["endpoint_name"], "oauth_connect");

    let resp = http
        .put(endpoint.clone())
        .header("authorization", basic("1", "2"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", PIN_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["data"], "Invalid Application ID");

    let v5_code = pin_code(&sb, &http, "pins:read", None).await;
    let resp = http
        .put(endpoint.clone())
        .header("authorization", pin_basic(&sb))
        .json(&json!({"grant_type": "authorization_code", "code": v5_code, "redirect_uri": PIN_REDIRECT}))
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(resp).await.1["code"], 283);
    // ...and a v3 code at v5.
    let v3 = v3_code(&sb, &http, "true").await;
    let (status, body) = pin_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &v3),
            ("redirect_uri", PIN_REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(283))
    );

    // Only PUT.
    let resp = http
        .post(endpoint)
        .header("authorization", pin_basic(&sb))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn set_pinterest_user_changes_who_consents() {
    let (sb, http) = start().await;
    sb.set_pinterest_user("second_pinner");
    let tokens = pin_login(&sb, &http, "user_accounts:read").await;
    let (_, me) = get_bearer(&sb, &http, "/v5/user_account", &s(&tokens, "access_token")).await;
    assert_eq!(me["username"], "second_pinner");
}
