//! `broker demo`: the newcomer's first command.

use crate::util::*;

#[test]
fn demo_logs_in_against_the_sandbox_and_cleans_up() {
    let env = Env::new();
    let out = env.run(&["demo"]);
    assert_success(&out);
    let stdout = stdout(&out);
    assert!(
        stdout.starts_with("Demo login worked: logged in as sandbox_pinner"),
        "{stdout}"
    );
    let stderr = stderr(&out);
    for step in [
        "1. Started the sandbox",
        "3. The browser was approved",
        "6. Refreshed",
        "7. Removed",
    ] {
        assert!(stderr.contains(step), "missing {step:?} in:\n{stderr}");
    }
    // The demo account is gone again.
    let list = env.run(&["list", "--json"]);
    assert_success(&list);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v["accounts"].as_array().unwrap().len(), 0);
}

#[test]
fn demo_with_the_default_store_falls_back_to_a_file_with_one_warning() {
    // No D-Bus session in this environment: `auto` cannot use a keyring.
    let env = Env::new();
    std::fs::remove_file(env.home().join("config.toml")).unwrap();
    let out = env.run(&["demo"]);
    assert_success(&out);
    let stderr = stderr(&out);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(stderr.contains("secrets.json"), "{stderr}");
}
