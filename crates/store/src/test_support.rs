//! Helpers for tests that need a second process: the test binary re-runs
//! itself with one test selected and a role in the environment, because file
//! locks, umask and D-Bus settings are per process.

use std::path::Path;
use std::process::Command;

use crate::Home;

const ROLE: &str = "BROKER_STORE_TEST_CHILD";
const HOME: &str = "BROKER_STORE_TEST_HOME";

/// A command that runs only the test `test` of this binary as a child with
/// `role`, using `home` as its broker home.
pub(crate) fn child_env(test: &str, role: &str, home: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(HOME, home);
    cmd
}

/// Runs `body` when this process was started by [`child_env`] with `role`;
/// in a normal test run it does nothing.
pub(crate) fn run_child(role: &str, body: impl FnOnce(Home)) {
    if std::env::var(ROLE).as_deref() == Ok(role) {
        let home = std::env::var_os(HOME).expect("child started without a home");
        body(Home::new(home.into()));
    }
}

/// Whether the real-keyring tests can run here. Without a D-Bus session bus
/// they are skipped, except under CI, which must run them.
pub(crate) fn keyring_tests_enabled() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but there is no D-Bus session bus: the keyring tests must run in CI \
             (wrap cargo test in dbus-run-session and start gnome-keyring-daemon --unlock)"
        );
    }
    eprintln!("skipped: no D-Bus session bus");
    false
}

/// A name no other test run uses, so that keyring entries never collide.
pub(crate) fn random_name(prefix: &str) -> String {
    format!("{prefix}-{}", crate::keyring_store::random_suffix())
}
