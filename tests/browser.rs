//! Browser mode: `BROWSER` names a program that gets the authorization URL,
//! as a desktop browser would.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

/// Writes an executable script into the test's folder.
fn script(env: &Env, name: &str, body: &str) -> std::path::PathBuf {
    let path = env.dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn browser_mode_catches_the_redirect_on_the_loopback_listener() {
    let mut env = Env::new();
    // The "browser" hands the URL to this test, which plays the person.
    let urls = env.dir.path().join("opened-urls");
    let browser = script(
        &env,
        "fake-browser",
        &format!("printf '%s\\n' \"$1\" >> '{}'", urls.display()),
    );
    env.set_env("BROWSER", browser.to_str().unwrap());
    let child = env
        .broker()
        .args(["login", "pinterest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        let text = read(&urls);
        if let Some(line) = text.lines().next() {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "the browser was never opened");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    let location = env.approve(&url);
    assert!(location.starts_with(&env.redirect), "{location}");
    assert_eq!(env.visit(&location), 200);

    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert!(
        stderr(&out).contains("Logged in as pinterest/sandbox_pinner"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_real_headless_chromium_completes_the_login() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(chromium) = chromium else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have chromium (see .ci/run)"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let mut env = Env::new();
    let profile = env.dir.path().join("chromium-profile");
    // Flags keep Chromium from reaching out to the network on its own.
    let browser = script(
        &env,
        "headless-chromium",
        &format!(
            "exec {chromium} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync \
             --user-data-dir='{}' --dump-dom \"$1\" >/dev/null 2>&1",
            profile.display()
        ),
    );
    env.set_env("BROWSER", browser.to_str().unwrap());
    let out = env.run(&["login", "pinterest", "--timeout", "60"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Logged in as pinterest/sandbox_pinner"),
        "{}",
        stderr(&out)
    );
    let token = env.run(&["token", "pinterest/sandbox_pinner"]);
    assert_success(&token);
    assert!(env.sandbox.is_valid_access_token(stdout(&token).trim()));
}
