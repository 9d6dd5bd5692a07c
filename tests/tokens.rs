//! `broker token` in scripts: a valid token on stdout, refreshed when due,
//! with the rotated refresh token kept.

use std::time::Duration;

use broker_sandbox::Lifetimes;

use crate::util::*;

fn short_lived(env: &Env) {
    // Shorter than broker's refresh skew: every `broker token` must refresh.
    env.sandbox.set_lifetimes(Lifetimes {
        code: Duration::from_secs(600),
        access: Duration::from_secs(60),
        refresh: Duration::from_secs(3600),
    });
}

#[test]
fn an_expiring_token_is_refreshed_and_the_rotated_refresh_token_is_kept() {
    let env = Env::new();
    short_lived(&env);
    env.login_pinterest();
    let first = env.run(&["token", "pinterest"]);
    assert_success(&first);
    let second = env.run(&["token", "pinterest"]);
    assert_success(&second);
    // Two refreshes, each with the refresh token the previous one returned:
    // the sandbox refuses a spent refresh token.
    assert_eq!(env.sandbox.count_grant("refresh_token"), 2);
    assert_ne!(stdout(&first), stdout(&second));
    assert!(env.sandbox.is_valid_access_token(stdout(&second).trim()));
}

#[test]
fn a_valid_token_is_printed_without_any_request() {
    let env = Env::new();
    env.login_pinterest();
    env.sandbox.clear_requests();
    let out = env.run(&["token", "pinterest"]);
    assert_success(&out);
    assert!(env.sandbox.requests().is_empty());
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_refused_refresh_asks_for_a_new_login() {
    let env = Env::new();
    short_lived(&env);
    env.login_pinterest();
    env.sandbox.set_lifetimes(Lifetimes {
        code: Duration::from_secs(600),
        access: Duration::from_secs(60),
        refresh: Duration::from_secs(0),
    });
    // The refresh token issued at login lived an hour; spend it, then the
    // next one (issued with no lifetime) is refused.
    assert_success(&env.run(&["token", "pinterest"]));
    std::thread::sleep(Duration::from_millis(1100));
    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("broker login pinterest"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn refresh_forces_a_refresh_and_logout_forgets() {
    let env = Env::new();
    env.login_pinterest();
    let before = stdout(&env.run(&["token", "pinterest"]));
    assert_success(&env.run(&["refresh", "pinterest"]));
    let after = stdout(&env.run(&["token", "pinterest"]));
    assert_ne!(before, after);
    let out = env.run(&["logout", "pinterest", "--revoke"]);
    assert_success(&out);
    assert!(!env.sandbox.is_valid_access_token(after.trim()));
    assert_exit(&env.run(&["token", "pinterest"]), 3);
}

#[test]
fn list_json_has_the_contract_fields_and_no_secret() {
    let env = Env::new();
    env.login_pinterest();
    let token = stdout(&env.run(&["token", "pinterest"]));
    let out = env.run(&["list", "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v["accounts"][0];
    assert_eq!(a["id"], "pinterest/sandbox_pinner");
    assert_eq!(a["provider"], "pinterest");
    assert_eq!(a["store"], "file");
    assert!(a["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a["scopes"].as_array().unwrap().len(), 3);
    assert_no_secret(&out, &[token.trim()]);
    // The index on disk has no secret either.
    let index = read(&env.home().join("accounts.toml"));
    assert!(!index.is_empty() && !index.contains(token.trim()));
}
