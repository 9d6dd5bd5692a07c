//! Logging in to Pinterest in paste mode: what a user on a headless machine
//! does, and everything that can go wrong on the way.

use crate::util::*;

fn account_ids(env: &Env) -> Vec<String> {
    let out = env.run(&["list", "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pasting_the_address_the_browser_ended_on_logs_in() {
    let env = Env::new();
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |location| {
        location.to_string()
    });
    assert_success(&out);
    assert!(
        stderr(&out).contains("Logged in as pinterest/sandbox_pinner (scopes: user_accounts:read pins:read boards:read)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("ssh -L"),
        "the SSH tunnel recipe is offered"
    );
    assert_eq!(account_ids(&env), ["pinterest/sandbox_pinner"]);

    let token = env.run(&["token", "pinterest"]);
    assert_success(&token);
    let printed = stdout(&token);
    assert!(printed.ends_with('\n') && printed.lines().count() == 1);
    assert!(env.sandbox.is_valid_access_token(printed.trim()));
    assert_no_secret(&out, &[printed.trim(), env.sandbox.pinterest_app_secret()]);
}

#[test]
fn pasting_only_the_query_string_logs_in() {
    let env = Env::new();
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |location| {
        location.split_once('?').unwrap().1.to_string()
    });
    assert_success(&out);
}

#[test]
fn pasting_a_bare_code_shows_the_identity_before_storing() {
    let env = Env::new();
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |location| {
        let url = url::Url::parse(location).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    });
    assert_success(&out);
    assert!(
        stderr(&out).contains("This code logs in as sandbox_pinner"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pasted_address_with_another_state_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |location| {
        let url = url::Url::parse(location).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        format!("{}?code={code}&state=forged", env_redirect(location))
    });
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("does not match this login"),
        "{}",
        stderr(&out)
    );
    assert!(account_ids(&env).is_empty());
    assert_eq!(
        env.sandbox.count("POST", "/v5/oauth/token"),
        0,
        "no exchange after a bad state"
    );
}

fn env_redirect(location: &str) -> String {
    location.split_once('?').unwrap().0.to_string()
}

#[test]
fn garbage_and_empty_pastes_get_clear_errors() {
    let env = Env::new();
    for (paste, expected) in [
        ("this is not it", "neither a code nor"),
        ("", "nothing was pasted"),
    ] {
        let out = env.login_paste(&["login", "pinterest", "--no-browser"], |_| {
            paste.to_string()
        });
        assert_exit(&out, 4);
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    assert!(account_ids(&env).is_empty());
}

#[test]
fn a_refused_consent_is_reported_as_the_providers_refusal() {
    let env = Env::new();
    env.sandbox.deny_next_consent();
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |location| {
        location.to_string()
    });
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("access_denied"), "{}", stderr(&out));
}

#[test]
fn missing_app_credentials_say_where_to_get_them() {
    let mut env = Env::new();
    env.set_env("PINTEREST_APP_ID", "");
    let out = env.run(&["login", "pinterest", "--no-browser"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("developers.pinterest.com/apps"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_plain_http_endpoint_is_refused_before_any_request() {
    let env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        format!(
            "store = \"file\"\n[pinterest]\napi_base = \"http://localhost.:{}/\"\n",
            env.sandbox.base_url().port().unwrap()
        ),
    )
    .unwrap();
    let out = env.run(&["login", "pinterest", "--no-browser"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("only https"), "{}", stderr(&out));
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn unknown_accounts_and_ambiguous_selectors() {
    let env = Env::new();
    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 3);
    assert!(stdout(&out).is_empty());

    env.login_pinterest();
    env.sandbox.set_pinterest_user("bob");
    env.login_pinterest();
    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("pinterest/bob") && err.contains("pinterest/sandbox_pinner"),
        "{err}"
    );
    assert_success(&env.run(&["token", "pinterest/b"]));
}

#[test]
fn an_explicit_config_file_is_used_and_must_exist() {
    let env = Env::new();
    let missing = env.dir.path().join("nope.toml");
    let out = env.run(&["--config", missing.to_str().unwrap(), "list"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("nope.toml"), "{}", stderr(&out));

    // A config elsewhere wins over BROKER_HOME's: here it sends secrets to
    // a keyring, which is not reachable in this environment.
    let elsewhere = env.dir.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, "store = \"keyring\"\n").unwrap();
    let out = env.run(&["--config", elsewhere.to_str().unwrap(), "demo"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("keyring"), "{}", stderr(&out));
}
