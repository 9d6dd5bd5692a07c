//! The test rig: a sandbox provider, a private home, and a way to run
//! `broker` in it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use broker_sandbox::{Sandbox, SandboxConfig};

pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) sandbox: Sandbox,
    /// The Pinterest redirect URI registered for this test (a free port).
    pub(crate) redirect: String,
    pub(crate) keyring_service: String,
    extra_env: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env::with_config(SandboxConfig::default())
    }

    pub(crate) fn with_config(config: SandboxConfig) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(Sandbox::start(config)).unwrap();
        let port = free_port();
        let redirect = format!("http://localhost:{port}/");
        sandbox.add_pinterest_redirect_uri(&redirect);
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "broker", "xdg-config", "xdg-data", "xdg-cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let base = sandbox.base_url();
        std::fs::write(
            dir.path().join("broker/config.toml"),
            format!(
                "store = \"file\"\n[pinterest]\nauthorize_url = \"{base}oauth/\"\napi_base = \"{base}\"\nredirect_uri = \"{redirect}\"\n"
            ),
        )
        .unwrap();
        let keyring_service = format!("broker-test-{}", random_suffix());
        Env {
            dir,
            rt,
            sandbox,
            redirect,
            keyring_service,
            extra_env: Vec::new(),
        }
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("broker")
    }

    pub(crate) fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// `broker` with a clean environment: no display, no browser, no SSH,
    /// no D-Bus (tests that want the keyring pass it on themselves).
    pub(crate) fn broker(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker"));
        let d = self.dir.path();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("xdg-config"))
            .env("XDG_DATA_HOME", d.join("xdg-data"))
            .env("XDG_CACHE_HOME", d.join("xdg-cache"))
            .env("BROKER_HOME", self.home())
            .env("BROKER_KEYRING_SERVICE", &self.keyring_service)
            .env("BROKER_KEYRING_TIMEOUT", "3")
            .env("PINTEREST_APP_ID", self.sandbox.pinterest_app_id())
            .env("PINTEREST_APP_SECRET", self.sandbox.pinterest_app_secret())
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.broker().args(args).output().unwrap()
    }

    /// A paste-mode login: reads the authorization URL from stderr, plays
    /// the browser against the sandbox, pastes `transform(location)`.
    pub(crate) fn login_paste(
        &self,
        args: &[&str],
        transform: impl FnOnce(&str) -> String,
    ) -> Output {
        let mut child = self
            .broker()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (url, mut seen, rest) = read_url_from_stderr(&mut child);
        let location = self.approve(&url);
        let line = transform(&location);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        seen.extend(rest.iter());
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: seen.into_bytes(),
        }
    }

    /// Plays the person at the browser: GET the authorization page (the
    /// sandbox approves at once) and return where it redirects.
    pub(crate) fn approve(&self, authorize_url: &str) -> String {
        self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let resp = client.get(authorize_url).send().await.unwrap();
            assert!(
                resp.status().is_redirection(),
                "authorize answered {}",
                resp.status()
            );
            resp.headers()["location"].to_str().unwrap().to_string()
        })
    }

    /// GETs a URL (the loopback listener) and returns the status.
    pub(crate) fn visit(&self, url: &str) -> u16 {
        self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            client.get(url).send().await.unwrap().status().as_u16()
        })
    }

    /// Logs in to Pinterest v5 through paste mode and checks it worked.
    pub(crate) fn login_pinterest(&self) {
        let out = self.login_paste(&["login", "pinterest", "--no-browser"], |l| l.to_string());
        assert_success(&out);
    }
}

/// Reads stderr until the authorization URL shows up; returns it, the text
/// seen so far, and the channel the rest of stderr arrives on.
fn read_url_from_stderr(child: &mut Child) -> (String, String, Receiver<String>) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if tx.send(std::mem::take(&mut line)).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                seen.push_str(&line);
                let url = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http") && w.contains("oauth"));
                if let Some(url) = url {
                    return (url.to_string(), seen, rx);
                }
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no authorization URL on stderr; saw:\n{seen}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}", h.finish())
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
pub(crate) fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

#[track_caller]
pub(crate) fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Fails if any of `secrets` appears in the output.
#[track_caller]
pub(crate) fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for s in secrets {
        assert!(
            !s.is_empty() && !all.contains(s),
            "a secret leaked into the output:\n{all}"
        );
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The session bus to reach the real Secret Service through. Without one
/// the keyring tests are skipped, except in CI, where they must run.
pub(crate) fn session_bus() -> Option<String> {
    match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        Ok(addr) if !addr.is_empty() => Some(addr),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the keyring tests inside a D-Bus session (see .ci/run)"
            );
            eprintln!("skipped: no D-Bus session bus, so no Secret Service to test against");
            None
        }
    }
}

impl Env {
    /// Lets `broker` reach the session bus, and stores in the keyring.
    pub(crate) fn use_keyring(&mut self, bus: &str, store: &str) {
        self.set_env("DBUS_SESSION_BUS_ADDRESS", bus);
        let config = read(&self.home().join("config.toml"))
            .replace("store = \"file\"", &format!("store = \"{store}\""));
        std::fs::write(self.home().join("config.toml"), config).unwrap();
    }
}

/// Every secret the sandbox saw broker send: codes, verifiers, tokens,
/// client secrets, and the credentials in `Authorization` headers.
pub(crate) fn secrets_sent(sandbox: &Sandbox) -> Vec<String> {
    let mut out = vec![sandbox.pinterest_app_secret().to_string()];
    for r in sandbox.requests() {
        for (k, v) in r.form() {
            if [
                "code",
                "code_verifier",
                "refresh_token",
                "token",
                "client_secret",
            ]
            .contains(&k.as_str())
            {
                out.push(v);
            }
        }
        for (k, v) in r.query_pairs() {
            if ["state", "code_challenge"].contains(&k.as_str()) {
                // Shown in the printed authorization URL by design; not a
                // secret once the browser has it.
                continue;
            }
            if k == "code" {
                out.push(v);
            }
        }
        if let Some(auth) = r.header("authorization") {
            out.push(
                auth.split_whitespace()
                    .last()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    out.retain(|s| s.len() >= 8);
    out.sort();
    out.dedup();
    out
}

/// Fails if any secret the sandbox saw appears in these outputs.
#[track_caller]
pub(crate) fn assert_nothing_sent_is_shown(sandbox: &Sandbox, outputs: &[String]) {
    let secrets = secrets_sent(sandbox);
    assert!(
        secrets.len() >= 5,
        "the sweep found too few secrets to mean anything: {}",
        secrets.len()
    );
    for text in outputs {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked:\n{text}");
        }
    }
}

/// Writes an executable script into the test's folder.
pub(crate) fn script(env: &Env, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

impl Env {
    /// A browser-mode login: `BROWSER` is a script that hands the URL to
    /// this test, which plays the person: approve, then follow the redirect
    /// to broker's listener. Returns broker's output and the opened URL.
    pub(crate) fn login_browser(&mut self, args: &[&str]) -> (Output, String) {
        let urls = self.dir.path().join(format!("opened-{}", random_suffix()));
        let browser = script(
            self,
            &format!("browser-{}", random_suffix()),
            &format!("printf '%s\\n' \"$1\" >> '{}'", urls.display()),
        );
        self.set_env("BROWSER", browser.to_str().unwrap());
        let child = self
            .broker()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Some(line) = read(&urls).lines().next() {
                break line.to_string();
            }
            if Instant::now() > deadline {
                let out = child.wait_with_output().unwrap();
                panic!("the browser was never opened:\n{}", stderr(&out));
            }
            std::thread::sleep(Duration::from_millis(30));
        };
        let location = self.approve(&url);
        assert_eq!(self.visit(&location), 200, "{location}");
        (child.wait_with_output().unwrap(), url)
    }

    /// Runs `broker token ACCOUNT` with `fault` on the provider's token
    /// endpoint and kills it (SIGKILL, no cleanup) once its refresh request
    /// has reached the provider.
    pub(crate) fn kill_during_refresh(&self, account: &str, fault: broker_sandbox::Fault) {
        self.sandbox
            .inject(broker_sandbox::FaultTarget::Token, fault, 1);
        let before = self.sandbox.count_grant("refresh_token");
        let mut child = self
            .broker()
            .args(["token", account])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.sandbox.count_grant("refresh_token") == before {
            assert!(
                Instant::now() < deadline,
                "the refresh never reached the provider"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the provider process it, where the fault says it does.
        std::thread::sleep(Duration::from_millis(100));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
