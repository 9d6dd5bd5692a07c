//! The OS keyring for real: gnome-keyring over D-Bus in CI, written by one
//! `broker` process and read by another.

use std::process::Command;
use std::sync::Mutex;

use crate::util::*;

/// The keyring tests share one Secret Service, and one of them locks and
/// restarts it: they take turns.
static KEYRING: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    KEYRING.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_token_written_by_one_process_is_read_by_another_from_the_keyring() {
    let Some(bus) = session_bus() else { return };
    let _turn = turn();
    let mut env = Env::new();
    env.use_keyring(&bus, "keyring");
    env.login_pinterest();

    let token = env.run(&["token", "pinterest"]);
    assert_success(&token);
    let token = stdout(&token).trim().to_string();
    assert!(env.sandbox.is_valid_access_token(&token));

    let list = env.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v["accounts"][0]["store"], "keyring");
    // Nothing secret went to disk.
    assert!(
        !env.home().join("secrets.json").exists()
            || !read(&env.home().join("secrets.json")).contains(&token)
    );
    assert!(!read(&env.home().join("accounts.toml")).contains(&token));

    // Logging out removes the entries (and cleans up the test's service).
    assert_success(&env.run(&["logout", "pinterest"]));
    assert_exit(&env.run(&["token", "pinterest"]), 3);
}

#[test]
fn auto_uses_the_keyring_when_it_answers_without_a_warning() {
    let Some(bus) = session_bus() else { return };
    let _turn = turn();
    let mut env = Env::new();
    env.use_keyring(&bus, "auto");
    let out = env.login_paste(&["login", "pinterest", "--no-browser"], |l| l.to_string());
    assert_success(&out);
    assert!(!stderr(&out).contains("warning:"), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&env.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(v["accounts"][0]["store"], "keyring");
    assert_success(&env.run(&["logout", "pinterest"]));
}

#[test]
fn a_keyring_that_is_not_there_fails_the_login_before_the_user_consents() {
    // No bus at all: `--store keyring` must fail, not fall back silently,
    // and before a browser opens or a code is spent.
    let env = Env::new();
    let out = env.run(&["login", "pinterest", "--no-browser", "--store", "keyring"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--store file"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Open this URL"), "{}", stderr(&out));
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn a_locked_keyring_is_a_clear_error_and_loses_nothing() {
    let Some(bus) = session_bus() else { return };
    let _turn = turn();
    let mut env = Env::new();
    env.use_keyring(&bus, "keyring");
    env.login_pinterest();
    let before = stdout(&env.run(&["token", "pinterest"]));

    // Lock the collection, as a screen lock or a timeout would.
    let locked = Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.secrets"])
        .args(["--object-path", "/org/freedesktop/secrets"])
        .args(["--method", "org.freedesktop.Secret.Service.Lock"])
        .arg("['/org/freedesktop/secrets/collection/login']")
        .output()
        .expect("gdbus (libglib2.0-bin) runs");
    assert!(
        locked.status.success(),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    let out = env.run(&["token", "pinterest"]);
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("unlock it"), "{}", stderr(&out));

    // Unlocked again (the daemon restarted with the password), the same
    // token comes back: nothing was lost or rewritten.
    let mut unlock = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--replace", "--components=secrets"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    unlock
        .stdin
        .take()
        .unwrap()
        .write_all(KEYRING_PASSWORD.as_bytes())
        .unwrap();
    assert!(unlock.wait().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let out = env.run(&["token", "pinterest"]);
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_success(&after);
    assert_eq!(stdout(&after), before);
    assert_success(&env.run(&["logout", "pinterest"]));
}

/// The password `.ci/run` unlocks the login collection with.
const KEYRING_PASSWORD: &str = "ci-keyring-password";
