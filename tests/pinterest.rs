//! Pinterest specifics through the binary: API v3, app-only tokens, scopes
//! and the provider's refusals in words.

use crate::util::*;

#[test]
fn v3_login_is_deprecated_but_works_and_refreshes() {
    let env = Env::new();
    let out = env.login_paste(
        &["login", "pinterest", "--api", "v3", "--no-browser"],
        |l| l.to_string(),
    );
    assert_success(&out);
    let err = stderr(&out);
    assert_eq!(err.matches("deprecated").count(), 1, "{err}");
    assert!(
        err.contains(
            "Logged in as pinterest-v3/sandbox_pinner (scopes: read_users read_pins read_boards)"
        ),
        "{err}"
    );
    let exchange = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.path == "/v3/oauth/access_token/")
        .unwrap();
    assert_eq!(exchange.method, "PUT");

    let before = stdout(&env.run(&["token", "pinterest-v3"]));
    assert_success(&env.run(&["refresh", "pinterest-v3"]));
    let after = stdout(&env.run(&["token", "pinterest-v3"]));
    assert_ne!(before, after);
    assert!(env.sandbox.is_valid_access_token(after.trim()));
    // "pinterest" is a unique prefix of the only account, so it selects it.
    assert_eq!(stdout(&env.run(&["token", "pinterest"])), after);
}

#[test]
fn client_credentials_get_an_app_token_without_a_browser() {
    let env = Env::new();
    let out = env.run(&["login", "pinterest", "--client-credentials"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Logged in as pinterest/sandbox_app_owner"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.sandbox.count_grant("client_credentials"), 1);
    assert_eq!(
        env.sandbox.count("GET", "/oauth/"),
        0,
        "no authorization page"
    );
    let token = env.run(&["token", "pinterest"]);
    assert!(env.sandbox.is_valid_access_token(stdout(&token).trim()));
}

#[test]
fn an_expiring_app_only_token_is_renewed_by_the_same_grant() {
    let env = Env::new();
    env.sandbox.set_lifetimes(broker_sandbox::Lifetimes {
        access: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    assert_success(&env.run(&["login", "pinterest", "--client-credentials"]));
    let first = stdout(&env.run(&["token", "pinterest"]));
    assert_eq!(env.sandbox.count_grant("client_credentials"), 2);
    assert!(env.sandbox.is_valid_access_token(first.trim()));
    assert_success(&env.run(&["refresh", "pinterest"]));
    assert_eq!(env.sandbox.count_grant("client_credentials"), 3);
}

#[test]
fn an_unknown_scope_is_named_before_anything_happens() {
    let env = Env::new();
    let out = env.run(&[
        "login",
        "pinterest",
        "--scope",
        "pins:read",
        "--scope",
        "read_pins",
        "--no-browser",
    ]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("read_pins") && stderr(&out).contains("--api v3"),
        "{}",
        stderr(&out)
    );
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn a_wrong_app_secret_is_explained_with_the_providers_code_and_request_id() {
    let mut env = Env::new();
    env.set_env("PINTEREST_APP_SECRET", "not-the-secret");
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |l| l.to_string());
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 401, 2")
            && err.contains("request id")
            && err.contains("app id and secret"),
        "{err}"
    );
    assert_no_secret(
        &out,
        &["not-the-secret", env.sandbox.pinterest_app_secret()],
    );
}

#[test]
fn the_sandbox_flag_points_at_pinterests_sandbox_api() {
    // No request is made: the paste is empty, so the login ends before the
    // exchange (and no test may reach the real Pinterest anyway).
    let env = Env::new();
    let out = env.run(&["login", "pinterest", "--sandbox", "--no-browser", "-v"]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("Pinterest API at https://api-sandbox.pinterest.com/"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_custom_redirect_uri_is_used_for_the_whole_login() {
    // --redirect-uri must name a registered URI: the sandbox refuses others
    // on its authorization page, so the login never gets a code.
    let env = Env::new();
    let other = format!("http://127.0.0.1:{}/callback", free_port());
    env.sandbox.add_pinterest_redirect_uri(&other);
    let out = env.login_paste(
        &[
            "login",
            "pinterest",
            "--no-browser",
            "--redirect-uri",
            &other,
        ],
        |l| l.to_string(),
    );
    assert_success(&out);
    let exchange = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.path == "/v5/oauth/token")
        .unwrap();
    assert!(
        exchange
            .form()
            .contains(&("redirect_uri".to_string(), other.clone()))
    );
}

#[test]
fn the_identity_scope_is_added_when_the_user_leaves_it_out() {
    let env = Env::new();
    let out = env.login_paste(
        &["login", "pinterest", "--no-browser", "--scope", "pins:read"],
        |l| l.to_string(),
    );
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("Adding the scope user_accounts:read"), "{err}");
    assert!(
        err.contains("(scopes: pins:read user_accounts:read)"),
        "{err}"
    );
}

#[test]
fn no_secret_reaches_any_output_even_at_full_verbosity() {
    let env = Env::new();
    env.sandbox.set_lifetimes(broker_sandbox::Lifetimes {
        access: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    let mut outputs = Vec::new();
    let login = env.login_paste(&["-vvv", "login", "pinterest", "--no-browser"], |l| {
        l.to_string()
    });
    assert_success(&login);
    outputs.push(format!("{}{}", stdout(&login), stderr(&login)));
    // `token` prints the access token on stdout by design; its stderr and
    // every other command's output must hold no secret.
    let token = env.run(&["-vvv", "token", "pinterest"]);
    assert_success(&token);
    outputs.push(stderr(&token));
    for args in [
        &["-vvv", "refresh", "pinterest"][..],
        &["-vvv", "list", "--json"],
        &["-vvv", "status", "--json"],
        &["-vvv", "whoami", "pinterest", "--json"],
        &["-vvv", "logout", "pinterest", "--revoke"],
    ] {
        let out = env.run(args);
        assert_success(&out);
        outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
    }
    assert_nothing_sent_is_shown(&env.sandbox, &outputs);
}

#[test]
fn v3_browser_login_and_every_request_names_broker() {
    let mut env = Env::new();
    let (out, url) = env.login_browser(&["login", "pinterest", "--api", "v3"]);
    assert_success(&out);
    assert!(
        url.contains("refreshable=true") && url.contains("read_users"),
        "{url}"
    );
    assert!(
        stderr(&out).contains("Logged in as pinterest-v3/sandbox_pinner"),
        "{}",
        stderr(&out)
    );
    // Every request broker itself sent carries its User-Agent (the test's
    // own "browser" requests are the authorize page).
    for r in env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path != "/oauth/")
    {
        let ua = r.header("user-agent").unwrap_or_default();
        assert!(ua.starts_with("broker/"), "{} {}: {ua}", r.method, r.path);
    }
}
