//! Browser mode: `BROWSER` names a program that gets the authorization URL,
//! as a desktop browser would.

use crate::util::*;

#[test]
fn browser_mode_catches_the_redirect_on_the_loopback_listener() {
    let mut env = Env::new();
    let (out, url) = env.login_browser(&["login", "pinterest"]);
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    assert!(url.contains(&url_encode(&env.redirect)), "{url}");
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

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
