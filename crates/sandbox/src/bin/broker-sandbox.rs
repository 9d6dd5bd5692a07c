//! Runs the sandbox as a standalone process for shell scripts, benchmarks
//! and `broker demo` outside Rust tests. It prints one line of JSON with
//! what a client needs to find it, then serves until killed; everything
//! else is driven over HTTP through `/_sandbox/`.

use std::process::ExitCode;
use std::time::Duration;

use broker_sandbox::{MastodonMode, Sandbox, SandboxConfig};

const USAGE: &str =
    "usage: broker-sandbox [--port N] [--access-ttl SECS] [--mastodon-mode modern|legacy|html]";

fn parse_args() -> Result<(SandboxConfig, u16), String> {
    let mut config = SandboxConfig::default();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                port = value()?
                    .parse()
                    .map_err(|_| "--port must be a number from 0 to 65535".to_string())?;
            }
            "--access-ttl" => {
                let secs: u64 = value()?
                    .parse()
                    .map_err(|_| "--access-ttl must be a number of seconds".to_string())?;
                config.lifetimes.access = Duration::from_secs(secs);
            }
            "--mastodon-mode" => {
                config.mastodon_mode = match value()?.as_str() {
                    "modern" => MastodonMode::Modern,
                    "legacy" => MastodonMode::Legacy,
                    "html" => MastodonMode::HtmlMetadata,
                    other => return Err(format!("unknown --mastodon-mode {other}")),
                };
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((config, port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (config, port) = match parse_args() {
        Ok(v) => v,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("broker-sandbox: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match Sandbox::start_on_port(config, port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("broker-sandbox: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let line = serde_json::json!({
        "base_url": sandbox.base_url().as_str(),
        "pinterest_app_id": sandbox.pinterest_app_id(),
        "pinterest_app_secret": sandbox.pinterest_app_secret(),
    });
    // One line, flushed at once: the parent process reads it to find us.
    println!("{line}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
