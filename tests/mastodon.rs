//! Mastodon through the `broker` binary: one sandbox plays one instance.

use std::process::Output;

use broker_sandbox::{MastodonMode, SandboxConfig};

use crate::util::*;

/// The instance as users type it: host and port, no scheme.
fn instance(env: &Env) -> String {
    let base = env.sandbox.base_url();
    format!("{}:{}", base.host_str().unwrap(), base.port().unwrap())
}

/// Out-of-band: the instance shows the code on a page; the user pastes it.
fn login_oob(env: &Env, args: &[&str]) -> Output {
    let rt_handle = env.rt.handle().clone();
    env.login_paste(args, move |location| {
        assert!(location.contains("/oauth/authorize/native"), "{location}");
        let page = rt_handle
            .block_on(async { reqwest::get(location).await.unwrap().text().await.unwrap() });
        assert!(page.contains("Copy this authorization code"), "{page}");
        let after = page.split("class=\"oauth-code\"").nth(1).unwrap();
        after
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    })
}

/// The plain headless login to the sandbox instance.
fn login_oob_here(env: &Env) -> Output {
    login_oob(
        env,
        &[
            "login",
            "mastodon",
            "--instance",
            &instance(env),
            "--no-browser",
        ],
    )
}

fn accounts(env: &Env) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&env.run(&["list", "--json"]).stdout).unwrap();
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn browser_login_with_pkce_registers_once_and_reuses_the_app() {
    let mut env = Env::new();
    let host = instance(&env);
    let (out, url) = env.login_browser(&["login", "mastodon", "--instance", &host]);
    assert_success(&out);
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(
        stderr(&out).contains(&format!(
            "Logged in as mastodon/sandbox_tooter@{host} (scopes: profile)"
        )),
        "{}",
        stderr(&out)
    );
    let exchange = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| {
            r.path == "/oauth/token"
                && r.form()
                    .iter()
                    .any(|(k, v)| k == "grant_type" && v == "authorization_code")
        })
        .unwrap();
    assert!(exchange.form().iter().any(|(k, _)| k == "code_verifier"));

    // The token works and never expires; there is nothing to refresh.
    let token = env.run(&["token", "mastodon"]);
    assert_success(&token);
    assert!(env.sandbox.is_valid_access_token(stdout(&token).trim()));
    assert_exit(&env.run(&["refresh", "mastodon"]), 2);

    // A second account on the same instance: same registration, and the
    // login form is forced so the browser's session does not pick the first.
    env.sandbox.set_mastodon_user("bob");
    let (out, url) = env.login_browser(&[
        "login",
        "mastodon",
        "--instance",
        &format!("http://{host}/"),
    ]);
    assert_success(&out);
    assert!(url.contains("force_login=true"), "{url}");
    assert_eq!(
        env.sandbox.count("POST", "/api/v1/apps"),
        1,
        "registered once"
    );
    let mut ids = accounts(&env);
    ids.sort();
    assert_eq!(
        ids,
        [
            format!("mastodon/bob@{host}"),
            format!("mastodon/sandbox_tooter@{host}")
        ]
    );
    assert_no_secret(&out, &[stdout(&token).trim()]);
}

#[test]
fn headless_oob_login_pastes_the_code_from_the_instance_page() {
    let env = Env::new();
    let out = login_oob(
        &env,
        &[
            "login",
            "mastodon",
            "--instance",
            &format!("@sandbox_tooter@{}", instance(&env)),
            "--no-browser",
        ],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("This code logs in as sandbox_tooter"),
        "{}",
        stderr(&out)
    );
    let authorize = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/authorize")
        .unwrap();
    assert!(
        authorize
            .query
            .unwrap()
            .contains("redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob")
    );
}

#[test]
fn a_forgotten_registration_is_made_again_once() {
    let env = Env::new();
    let host = instance(&env);
    assert_success(&login_oob(
        &env,
        &["login", "mastodon", "--instance", &host, "--no-browser"],
    ));
    env.sandbox.forget_mastodon_apps();
    let out = login_oob(
        &env,
        &[
            "login",
            "mastodon",
            "--instance",
            &host.to_uppercase(),
            "--no-browser",
        ],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("registering again"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.sandbox.count("POST", "/api/v1/apps"), 2);
}

#[test]
fn an_instance_before_4_3_gets_no_pkce_and_still_logs_in() {
    let env = Env::with_config(SandboxConfig {
        mastodon_mode: MastodonMode::Legacy,
        ..SandboxConfig::default()
    });
    let out = login_oob_here(&env);
    assert_success(&out);
    assert!(
        stderr(&out).contains("(scopes: read:accounts)"),
        "{}",
        stderr(&out)
    );
    assert!(
        env.sandbox
            .requests()
            .iter()
            .all(|r| !r.form().iter().any(|(k, _)| k == "code_verifier"))
    );
}

#[test]
fn plain_http_to_a_real_host_is_refused_before_any_request() {
    let env = Env::new();
    // "localhost." (trailing dot) is not a loopback name to broker, yet it
    // resolves to the sandbox: a request made by mistake would be seen.
    let port = env.sandbox.base_url().port().unwrap();
    let out = env.run(&[
        "login",
        "mastodon",
        "--instance",
        &format!("http://localhost.:{port}"),
        "--no-browser",
    ]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("https"), "{}", stderr(&out));
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn logout_with_revoke_kills_the_token_at_the_instance() {
    let env = Env::new();
    assert_success(&login_oob_here(&env));
    let token = stdout(&env.run(&["token", "mastodon"])).trim().to_string();
    assert!(env.sandbox.is_valid_access_token(&token));
    let out = env.run(&["logout", "mastodon", "--revoke"]);
    assert_success(&out);
    assert!(!env.sandbox.is_valid_access_token(&token));
    assert!(accounts(&env).is_empty());
}

#[test]
fn a_failed_revocation_forgets_nothing_without_force() {
    let env = Env::new();
    assert_success(&login_oob_here(&env));
    env.sandbox.inject(
        broker_sandbox::FaultTarget::Any,
        broker_sandbox::Fault::Status500,
        10,
    );
    let out = env.run(&["logout", "mastodon", "--revoke"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(accounts(&env).len(), 1);
    // With --force the account is forgotten locally, and the user is told.
    let out = env.run(&["logout", "mastodon", "--revoke", "--force"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("revocation failed"),
        "{}",
        stderr(&out)
    );
    assert!(accounts(&env).is_empty());
}

#[test]
fn asking_for_more_scopes_registers_again_with_the_union() {
    let env = Env::new();
    let host = instance(&env);
    assert_success(&login_oob(
        &env,
        &["login", "mastodon", "--instance", &host, "--no-browser"],
    ));
    let out = login_oob(
        &env,
        &[
            "login",
            "mastodon",
            "--instance",
            &host,
            "--no-browser",
            "--scope",
            "read:statuses",
        ],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("does not cover read:statuses"),
        "{}",
        stderr(&out)
    );
    let registrations: Vec<_> = env
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/apps")
        .collect();
    assert_eq!(registrations.len(), 2);
    let scopes = registrations[1]
        .form()
        .into_iter()
        .find(|(k, _)| k == "scopes")
        .unwrap()
        .1;
    assert_eq!(scopes, "profile read:statuses");
    assert!(
        stderr(&out).contains("Adding the scope profile"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_registration_whose_secret_is_gone_is_made_again() {
    let env = Env::new();
    let host = instance(&env);
    assert_success(&login_oob(
        &env,
        &["login", "mastodon", "--instance", &host, "--no-browser"],
    ));
    // The secrets vanish (a wiped keyring); the index still lists the app.
    std::fs::remove_file(env.home().join("secrets.json")).unwrap();
    let out = login_oob(
        &env,
        &["login", "mastodon", "--instance", &host, "--no-browser"],
    );
    assert_success(&out);
    assert_eq!(env.sandbox.count("POST", "/api/v1/apps"), 2);
}

#[test]
fn no_secret_reaches_any_output_even_at_full_verbosity() {
    let env = Env::new();
    let host = instance(&env);
    let mut outputs = Vec::new();
    let login = login_oob(
        &env,
        &[
            "-vvv",
            "login",
            "mastodon",
            "--instance",
            &host,
            "--no-browser",
        ],
    );
    assert_success(&login);
    outputs.push(format!("{}{}", stdout(&login), stderr(&login)));
    for args in [
        &["-vvv", "list", "--json"][..],
        &["-vvv", "status"],
        &["-vvv", "whoami", "mastodon", "--json"],
        &["-vvv", "logout", "mastodon", "--revoke"],
    ] {
        let out = env.run(args);
        assert_success(&out);
        outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
    }
    assert_nothing_sent_is_shown(&env.sandbox, &outputs);
}

#[test]
fn every_way_of_writing_the_instance_reaches_the_same_registration() {
    let env = Env::new();
    let host = instance(&env);
    for form in [
        host.clone(),
        format!("http://{host}/"),
        format!("@sandbox_tooter@{host}"),
        format!("HTTP://{host}"),
    ] {
        let out = login_oob(
            &env,
            &["login", "mastodon", "--instance", &form, "--no-browser"],
        );
        assert_success(&out);
        assert!(
            stderr(&out).contains(&format!("Logged in as mastodon/sandbox_tooter@{host}")),
            "{form}: {}",
            stderr(&out)
        );
    }
    assert_eq!(env.sandbox.count("POST", "/api/v1/apps"), 1);
    assert_eq!(accounts(&env).len(), 1);
}
