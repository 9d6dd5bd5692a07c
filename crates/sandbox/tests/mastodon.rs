//! The Mastodon instance against the running sandbox, over real HTTP.

mod common;

use broker_sandbox::{MastodonMode, SandboxConfig};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CB: &str = "http://127.0.0.1/callback";

#[tokio::test]
async fn modern_full_flow() {
    let (sb, http) = start().await;
    let base = sb.base_url().to_string();

    let (status, meta) = body_json(
        http.get(url(&sb, "/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["issuer"], base.as_str());
    assert!(base.ends_with('/'));
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{base}oauth/authorize")
    );
    assert_eq!(meta["token_endpoint"], format!("{base}oauth/token"));
    assert_eq!(meta["revocation_endpoint"], format!("{base}oauth/revoke"));
    assert_eq!(
        meta["app_registration_endpoint"],
        format!("{base}api/v1/apps")
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["grant_types_supported"],
        json!(["authorization_code", "client_credentials"])
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("profile"))
    );

    let app = masto_register(&sb, &http, json!([CB]), "read write profile").await;
    assert_eq!(app["scopes"], json!(["read", "write", "profile"]));
    assert_eq!(app["redirect_uris"], json!([CB]));
    assert_eq!(app["redirect_uri"], CB);
    assert_eq!(app["client_secret_expires_at"], 0);
    assert!(app["vapid_key"].is_string());
    let client_id = s(&app, "client_id");
    let client_secret = s(&app, "client_secret");
    assert_eq!(client_id.len(), 43);

    // The loopback port is ignored against the registered URI.
    let redirect = "http://127.0.0.1:54321/callback";
    let (verifier, challenge) = pkce();
    let resp = masto_authorize(
        &sb,
        &http,
        &[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", redirect),
            ("scope", "read profile"),
            ("state", "st8"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("force_login", "true"),
        ],
    )
    .await;
    let loc = location(&resp);
    assert!(loc.as_str().starts_with(redirect), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("st8"));
    let code = param(&loc, "code").unwrap();
    let recorded = sb
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/authorize")
        .unwrap();
    assert!(
        recorded
            .query_pairs()
            .contains(&("force_login".into(), "true".into()))
    );

    let (status, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read profile");
    assert!(token["created_at"].is_u64());
    assert!(token.get("expires_in").is_none());
    assert!(token.get("refresh_token").is_none());
    let access = s(&token, "access_token");
    assert!(sb.is_valid_access_token(&access));

    let (status, me) = get_bearer(&sb, &http, "/api/v1/accounts/verify_credentials", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "sandbox_tooter");
    assert_eq!(me["acct"], "sandbox_tooter");
    assert_eq!(me["url"], format!("{base}@sandbox_tooter"));
    assert!(me["source"].is_object());
    let (status, app_info) =
        get_bearer(&sb, &http, "/api/v1/apps/verify_credentials", &access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app_info["name"], "broker tests");

    // Code reuse.
    let (status, body) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // Revoke, twice.
    for _ in 0..2 {
        let (status, body) = body_json(
            http.post(url(&sb, "/oauth/revoke"))
                .form(&[
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.as_str()),
                    ("token", access.as_str()),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({}));
    }
    assert!(!sb.is_valid_access_token(&access));
    let (status, body) =
        get_bearer(&sb, &http, "/api/v1/accounts/verify_credentials", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": "The access token is invalid"}));
}

async fn app_and_code(
    sb: &broker_sandbox::Sandbox,
    http: &reqwest::Client,
    scopes: &str,
    extra: &[(&str, &str)],
) -> (String, String, String) {
    let app = masto_register(sb, http, json!(CB), scopes).await;
    let (id, secret) = (s(&app, "client_id"), s(&app, "client_secret"));
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", CB),
    ];
    params.extend_from_slice(extra);
    let loc = location(&masto_authorize(sb, http, &params).await);
    (id, secret, param(&loc, "code").unwrap())
}

#[tokio::test]
async fn modern_pkce_errors() {
    let (sb, http) = start().await;
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let (id, secret, code) = app_and_code(&sb, &http, "read", &pk).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, body) = masto_token(&sb, &http, &base).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let mut wrong = base.to_vec();
    let other = pkce().0;
    wrong.push(("code_verifier", &other));
    let (status, body) = masto_token(&sb, &http, &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let mut right = base.to_vec();
    right.push(("code_verifier", &verifier));
    assert_eq!(masto_token(&sb, &http, &right).await.0, StatusCode::OK);

    // A verifier without a challenge.
    let (id, secret, code) = app_and_code(&sb, &http, "read", &[]).await;
    let (status, body) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );

    // plain is not supported: an error page, no redirect.
    let app = masto_register(&sb, &http, json!(CB), "read").await;
    let resp = masto_authorize(
        &sb,
        &http,
        &[
            ("response_type", "code"),
            ("client_id", &s(&app, "client_id")),
            ("redirect_uri", CB),
            ("code_challenge", "abc"),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn token_client_auth_by_basic_and_errors() {
    let (sb, http) = start().await;
    let (id, secret, code) =
        app_and_code(&sb, &http, "read write", &[("scope", "read write")]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
    ];
    for auth in [basic(&id, "nope"), basic("nobody", &secret)] {
        let resp = http
            .post(url(&sb, "/oauth/token"))
            .header("authorization", auth)
            .form(&form)
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(
            body["error_description"],
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
        );
    }
    let (status, body) = masto_token(&sb, &http, &form).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    // Redirect URI must match the authorize one.
    let resp = http
        .post(url(&sb, "/oauth/token"))
        .header("authorization", basic(&id, &secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1/other"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
    );
    let resp = http
        .post(url(&sb, "/oauth/token"))
        .header("authorization", basic(&id, &secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read write");

    let (status, body) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn legacy_mode_metadata_404_and_verifier_rejected() {
    let (sb, http) = start_with(SandboxConfig {
        mastodon_mode: MastodonMode::Legacy,
        ..SandboxConfig::default()
    })
    .await;
    let resp = http
        .get(url(&sb, "/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "Record not found"}));

    // No `profile` before 4.3.
    let resp = http
        .post(url(&sb, "/api/v1/apps"))
        .form(&[
            ("client_name", "x"),
            ("redirect_uris", CB),
            ("scopes", "read profile"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": "Validation failed: Scopes doesn't match configured on the server."})
    );

    // PKCE parameters at authorize are ignored; a verifier at token is not.
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let (id, secret, code) = app_and_code(&sb, &http, "read", &pk).await;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let mut with_verifier = form.clone();
    with_verifier.push(("code_verifier", &verifier));
    let (status, body) = masto_token(&sb, &http, &with_verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].is_string());
    // Without it, the same code still works.
    let (status, token) = masto_token(&sb, &http, &form).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    form.clear();
    let (status, me) = get_bearer(
        &sb,
        &http,
        "/api/v1/accounts/verify_credentials",
        &s(&token, "access_token"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "sandbox_tooter");
}

#[tokio::test]
async fn html_metadata_mode() {
    let (sb, http) = start_with(SandboxConfig {
        mastodon_mode: MastodonMode::HtmlMetadata,
        ..SandboxConfig::default()
    })
    .await;
    let resp = http
        .get(url(&sb, "/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(serde_json::from_str::<Value>(&resp.text().await.unwrap()).is_err());
    // Switching at runtime.
    sb.set_mastodon_mode(MastodonMode::Modern);
    let resp = http
        .get(url(&sb, "/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(resp).await.1["issuer"], sb.base_url().as_str());
}

#[tokio::test]
async fn loopback_port_ignored_for_ip_literals_not_localhost() {
    let (sb, http) = start().await;
    let app = masto_register(
        &sb,
        &http,
        json!("http://127.0.0.1/cb\nhttp://localhost:8080/cb\nhttp://[::1]/cb"),
        "read",
    )
    .await;
    assert_eq!(app["redirect_uris"].as_array().unwrap().len(), 3);
    let id = s(&app, "client_id");
    let try_redirect = |redirect: &'static str| {
        let (sb, http, id) = (&sb, &http, id.clone());
        async move {
            masto_authorize(
                sb,
                http,
                &[
                    ("response_type", "code"),
                    ("client_id", &id),
                    ("redirect_uri", redirect),
                ],
            )
            .await
        }
    };
    for ok in [
        "http://127.0.0.1/cb",
        "http://127.0.0.1:4444/cb",
        "http://[::1]:5555/cb",
        "http://localhost:8080/cb",
    ] {
        let resp = try_redirect(ok).await;
        assert!(location(&resp).as_str().starts_with(ok), "{ok}");
    }
    for bad in [
        "http://localhost:9999/cb",
        "http://localhost/cb",
        "http://127.0.0.1:4444/other",
        "https://127.0.0.1/cb",
    ] {
        let resp = try_redirect(bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(resp.headers().get("location").is_none());
        assert!(resp.text().await.unwrap().contains("An error has occurred"));
    }
}

#[tokio::test]
async fn oob_native_page() {
    let (sb, http) = start().await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let app = masto_register(&sb, &http, json!(oob), "read write follow").await;
    let (id, secret) = (s(&app, "client_id"), s(&app, "client_secret"));
    // toot's spelling: trailing slash, no state.
    let resp = http
        .get(url(&sb, "/oauth/authorize/"))
        .query(&[
            ("response_type", "code"),
            ("redirect_uri", oob),
            ("scope", "read write follow"),
            ("client_id", &id),
        ])
        .send()
        .await
        .unwrap();
    let loc = location(&resp);
    assert_eq!(loc.path(), "/oauth/authorize/native");
    assert_eq!(loc.origin(), sb.base_url().origin());
    let page = http.get(loc.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Copy this authorization code and paste it to the application."));
    let code = param(&loc, "code").unwrap();
    assert!(html.contains(&format!(
        "<input class=\"oauth-code\" readonly value=\"{code}\""
    )));
    let (status, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", oob),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["scope"], "read write follow");

    // Denied consent on oob: a page, not a redirect.
    sb.deny_next_consent();
    let resp = masto_authorize(
        &sb,
        &http,
        &[
            ("response_type", "code"),
            ("client_id", &id),
            ("redirect_uri", oob),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn deny_next_consent_redirects_with_state() {
    let (sb, http) = start().await;
    let app = masto_register(&sb, &http, json!(CB), "read").await;
    sb.deny_next_consent();
    let loc = location(
        &masto_authorize(
            &sb,
            &http,
            &[
                ("response_type", "code"),
                ("client_id", &s(&app, "client_id")),
                ("redirect_uri", CB),
                ("state", "zz"),
            ],
        )
        .await,
    );
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert!(param(&loc, "error_description").is_some());
    assert_eq!(param(&loc, "state").as_deref(), Some("zz"));
    assert_eq!(param(&loc, "code"), None);
}

#[tokio::test]
async fn authorize_scope_must_be_registered() {
    let (sb, http) = start().await;
    let app = masto_register(&sb, &http, json!(CB), "read write").await;
    let id = s(&app, "client_id");
    for scope in ["read follow", "profile", "read:accounts"] {
        let resp = masto_authorize(
            &sb,
            &http,
            &[
                ("response_type", "code"),
                ("client_id", &id),
                ("redirect_uri", CB),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{scope}");
        assert!(resp.headers().get("location").is_none());
    }
    // Unknown client: a page too.
    let resp = masto_authorize(
        &sb,
        &http,
        &[
            ("response_type", "code"),
            ("client_id", "nope"),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Default scope is read.
    let app = masto_register(&sb, &http, json!(CB), "read write").await;
    let (id, secret) = (s(&app, "client_id"), s(&app, "client_secret"));
    let loc = location(
        &masto_authorize(
            &sb,
            &http,
            &[
                ("response_type", "code"),
                ("client_id", &id),
                ("redirect_uri", CB),
            ],
        )
        .await,
    );
    let (_, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &param(&loc, "code").unwrap()),
            ("redirect_uri", CB),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(token["scope"], "read");
}

#[tokio::test]
async fn registration_validation() {
    let (sb, http) = start_with(SandboxConfig {
        registration_limit: 100,
        ..SandboxConfig::default()
    })
    .await;
    let register = |body: Value| {
        let (sb, http) = (&sb, &http);
        async move {
            body_json(
                http.post(url(sb, "/api/v1/apps"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, body) = register(json!({"redirect_uris": CB})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": "Validation failed: Application name can't be blank"})
    );
    let (status, body) = register(json!({"client_name": "x", "redirect_uris": "/relative"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": "Validation failed: Redirect URI must be an absolute URI."})
    );
    for bad in ["javascript:alert(1)", "https://a.example/#frag"] {
        let (status, body) = register(json!({"client_name": "x", "redirect_uris": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(s(&body, "error").starts_with("Validation failed: Redirect URI"));
    }
    let (status, _) = register(json!({"client_name": "x".repeat(61), "redirect_uris": CB})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) =
        register(json!({"client_name": "x", "redirect_uris": CB, "scopes": "read bogus"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": "Validation failed: Scopes doesn't match configured on the server."})
    );
    // A JSON array of scopes registers only its first element.
    let (status, body) =
        register(json!({"client_name": "x", "redirect_uris": CB, "scopes": ["read", "write"]}))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scopes"], json!(["read"]));
    // Default scope, and a form body.
    let resp = http
        .post(url(&sb, "/api/v1/apps"))
        .form(&[
            ("client_name", "form app"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scopes"], json!(["read"]));
    assert_eq!(body["website"], Value::Null);
}

#[tokio::test]
async fn registration_rate_limit() {
    let (sb, http) = start_with(SandboxConfig {
        registration_limit: 2,
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..2 {
        masto_register(&sb, &http, json!(CB), "read").await;
    }
    let resp = http
        .post(url(&sb, "/api/v1/apps"))
        .json(&json!({"client_name": "x", "redirect_uris": CB}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = resp.headers().clone();
    assert_eq!(h["x-ratelimit-limit"], "2");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let reset = h["x-ratelimit-reset"].to_str().unwrap();
    assert!(reset.ends_with('Z') && reset.contains('T'), "{reset}");
    assert_eq!(
        body_json(resp).await.1,
        json!({"error": "Too many requests"})
    );
    assert_eq!(sb.count("POST", "/api/v1/apps"), 3);
}

#[tokio::test]
async fn forgotten_apps_get_invalid_client() {
    let (sb, http) = start().await;
    let (id, secret, code) = app_and_code(&sb, &http, "read", &[]).await;
    let (_, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    let access = s(&token, "access_token");
    sb.forget_mastodon_apps();
    let (status, body) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(!sb.is_valid_access_token(&access));
    let resp = masto_authorize(
        &sb,
        &http,
        &[
            ("response_type", "code"),
            ("client_id", &id),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn app_tokens_and_scopes_at_verify_credentials() {
    let (sb, http) = start().await;
    let app = masto_register(&sb, &http, json!(CB), "read write").await;
    let (id, secret) = (s(&app, "client_id"), s(&app, "client_secret"));
    let (status, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let app_token = s(&token, "access_token");
    let (status, body) = get_bearer(
        &sb,
        &http,
        "/api/v1/accounts/verify_credentials",
        &app_token,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"error": "This method requires an authenticated user"})
    );
    let (status, _) = get_bearer(&sb, &http, "/api/v1/apps/verify_credentials", &app_token).await;
    assert_eq!(status, StatusCode::OK);

    // A user token without any reading scope.
    let loc = location(
        &masto_authorize(
            &sb,
            &http,
            &[
                ("response_type", "code"),
                ("client_id", &id),
                ("redirect_uri", CB),
                ("scope", "write"),
            ],
        )
        .await,
    );
    let (_, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &param(&loc, "code").unwrap()),
            ("redirect_uri", CB),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    let (status, body) = get_bearer(
        &sb,
        &http,
        "/api/v1/accounts/verify_credentials",
        &s(&token, "access_token"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"error": "This action is outside the authorized scopes"})
    );

    // Another app may not revoke it.
    let other = masto_register(&sb, &http, json!(CB), "read").await;
    let resp = http
        .post(url(&sb, "/oauth/revoke"))
        .form(&[
            ("client_id", s(&other, "client_id").as_str()),
            ("client_secret", s(&other, "client_secret").as_str()),
            ("token", s(&token, "access_token").as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "unauthorized_client");
    let resp = http
        .post(url(&sb, "/oauth/revoke"))
        .form(&[("client_id", "x"), ("client_secret", "y"), ("token", "z")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn set_mastodon_user_changes_who_consents() {
    let (sb, http) = start().await;
    sb.set_mastodon_user("other_tooter");
    let (id, secret, code) = app_and_code(&sb, &http, "read", &[]).await;
    let (_, token) = masto_token(
        &sb,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    let (_, me) = get_bearer(
        &sb,
        &http,
        "/api/v1/accounts/verify_credentials",
        &s(&token, "access_token"),
    )
    .await;
    assert_eq!(me["username"], "other_tooter");
}
