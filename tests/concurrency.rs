//! Many `broker token` processes at once, and processes that die in the
//! middle of a refresh.

use std::process::Stdio;
use std::time::Duration;

use broker_sandbox::{Fault, FaultTarget, Lifetimes};

use crate::util::*;

fn lifetimes(access_secs: u64) -> Lifetimes {
    Lifetimes {
        code: Duration::from_secs(600),
        access: Duration::from_secs(access_secs),
        refresh: Duration::from_secs(3600),
    }
}

/// Logs in with an access token that is already due for refresh, then makes
/// the provider issue long-lived ones.
fn logged_in_and_due(env: &Env) {
    env.sandbox.set_lifetimes(lifetimes(60));
    env.login_pinterest();
    env.sandbox.set_lifetimes(lifetimes(3600));
}

#[test]
fn fifty_processes_asking_at_once_cause_one_refresh_and_agree() {
    let env = Env::new();
    logged_in_and_due(&env);
    let children: Vec<_> = (0..50)
        .map(|_| {
            env.broker()
                .args(["token", "pinterest"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_success(out);
    }
    let first = stdout(&outputs[0]);
    assert!(
        outputs.iter().all(|o| stdout(o) == first),
        "all processes print the same token"
    );
    assert_eq!(env.sandbox.count_grant("refresh_token"), 1);
    assert!(env.sandbox.is_valid_access_token(first.trim()));
}

#[test]
fn a_process_killed_while_refreshing_leaves_a_usable_account() {
    let env = Env::new();
    logged_in_and_due(&env);
    // The provider sits on the refresh request without processing it.
    env.kill_during_refresh("pinterest", Fault::Hold);

    let out = env.run(&["token", "pinterest"]);
    assert_success(&out);
    assert!(env.sandbox.is_valid_access_token(stdout(&out).trim()));
    assert_eq!(env.sandbox.count_grant("refresh_token"), 2);
}

#[test]
fn a_dead_provider_does_not_break_a_token_that_still_works() {
    let env = Env::new();
    logged_in_and_due(&env);
    let before = stdout(&env.run(&["list", "--json"]));
    env.sandbox.inject(FaultTarget::Token, Fault::Status500, 1);
    let out = env.run(&["token", "pinterest"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("could not refresh"),
        "{}",
        stderr(&out)
    );
    assert!(env.sandbox.is_valid_access_token(stdout(&out).trim()));
    // Nothing was lost or changed; the next call refreshes.
    assert_eq!(stdout(&env.run(&["list", "--json"])), before);
    assert_success(&env.run(&["token", "pinterest"]));
    assert_eq!(env.sandbox.count_grant("refresh_token"), 2);
}

#[test]
fn a_corrupt_secrets_file_is_reported_and_kept() {
    let env = Env::new();
    env.login_pinterest();
    let path = env.home().join("secrets.json");
    std::fs::write(&path, "{\"version\":1,\"secr").unwrap();
    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("secrets.json"), "{}", stderr(&out));
    assert_eq!(read(&path), "{\"version\":1,\"secr");
}

#[test]
fn a_refresh_answer_that_never_arrives_ends_in_a_clear_request_to_log_in() {
    // The provider rotates the refresh token, then the answer is lost with
    // the process: the one window no client can close (see accounts.rs).
    let env = Env::new();
    logged_in_and_due(&env);
    env.kill_during_refresh("pinterest", Fault::ProcessThenHold);

    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("run `broker login pinterest`"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_script_without_app_credentials_still_gets_refreshed_tokens() {
    // cron runs `broker token` without PINTEREST_APP_* in its environment:
    // the app secret stored at login serves.
    let mut env = Env::new();
    logged_in_and_due(&env);
    env.set_env("PINTEREST_APP_ID", "");
    env.set_env("PINTEREST_APP_SECRET", "");
    let out = env.run(&["token", "pinterest"]);
    assert_success(&out);
    assert_eq!(env.sandbox.count_grant("refresh_token"), 1);
    assert!(env.sandbox.is_valid_access_token(stdout(&out).trim()));
    // And the app secret is not in the index.
    assert!(!read(&env.home().join("accounts.toml")).contains(env.sandbox.pinterest_app_secret()));
}
