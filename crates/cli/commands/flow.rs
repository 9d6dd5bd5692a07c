//! The interactive part of a login, shared by every provider: browser mode
//! (loopback listener) or paste mode (a line on stdin), then the code
//! exchange and the identity check.

use std::io::{BufRead, IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use broker_core::flow::{LoopbackListener, OOB_REDIRECT_URI, PendingAuthorization};
use broker_core::{AuthorizationCode, HttpClient, Identity, Provider, TokenSet};

use crate::browser;
use crate::ui::Ui;

/// Where the provider sends the browser back.
#[derive(Clone, Debug)]
pub(crate) enum Redirect {
    /// A loopback address we listen on (`http://localhost:8085/`, or port 0
    /// for any free port).
    Loopback(String),
    /// The provider shows the code on a page (`urn:ietf:wg:oauth:2.0:oob`).
    OutOfBand,
}

/// How the code comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Open a browser, catch the redirect on the loopback listener.
    Browser,
    /// Print the URL, read the result from stdin (and still catch a redirect
    /// that arrives through an SSH port forward).
    Paste,
}

impl Mode {
    pub(crate) fn choose(no_browser: bool, ui: &Ui) -> Mode {
        if no_browser {
            Mode::Paste
        } else if browser::can_open() {
            Mode::Browser
        } else {
            ui.info("No browser can be opened here (no display, or an SSH session): switching to paste mode.");
            Mode::Paste
        }
    }
}

pub(crate) struct LoginRequest<'a> {
    pub(crate) provider: &'a dyn Provider,
    pub(crate) redirect: Redirect,
    pub(crate) scopes: &'a [String],
    pub(crate) force_login: bool,
    pub(crate) mode: Mode,
    pub(crate) timeout: Duration,
    /// Extra lines printed with the URL in paste mode (e.g. the SSH tunnel
    /// recipe).
    pub(crate) paste_hints: Vec<String>,
}

pub(crate) struct LoginResult {
    pub(crate) tokens: TokenSet,
    pub(crate) identity: Identity,
}

/// Ctrl-C during a login: exit code 130.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; nothing was stored")
    }
}

impl std::error::Error for Interrupted {}

/// Runs the login up to a verified identity. Nothing is stored here.
pub(crate) async fn login(
    req: LoginRequest<'_>,
    http: &HttpClient,
    ui: &Ui,
) -> Result<LoginResult> {
    // Ctrl-C is caught for the whole login, exchange and prompts included,
    // so it always ends the command at once with exit code 130.
    tokio::select! {
        result = login_inner(req, http, ui) => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
    }
}

async fn login_inner(req: LoginRequest<'_>, http: &HttpClient, ui: &Ui) -> Result<LoginResult> {
    let (code, state_checked, pending) = match (&req.redirect, req.mode) {
        (Redirect::Loopback(template), Mode::Browser) => {
            // Bind first: a taken port fails before a browser opens.
            let listener = LoopbackListener::bind(template)?;
            let pending = PendingAuthorization::new(
                req.provider,
                listener.redirect_uri(),
                req.scopes,
                req.force_login,
            )?;
            ui.detail(format!("listening on {}", listener.redirect_uri()));
            if let Err(e) = browser::open(pending.authorize_url()) {
                ui.warn(format!(
                    "could not open a browser ({e}); open this URL yourself:"
                ));
                ui.info(pending.authorize_url().as_str());
            } else {
                ui.info(
                    "Opened the authorization page in your browser. If it did not appear, open:",
                );
                ui.info(format!("  {}", pending.authorize_url()));
            }
            let spinner = ui.spinner("Waiting for the browser to come back (Ctrl-C to cancel)");
            let code = pending.receive(listener, req.timeout).await;
            spinner.finish_and_clear();
            (code?, true, pending)
        }
        (Redirect::OutOfBand, Mode::Browser) => {
            let pending = PendingAuthorization::new(
                req.provider,
                OOB_REDIRECT_URI,
                req.scopes,
                req.force_login,
            )?;
            if browser::open(pending.authorize_url()).is_err() {
                ui.info("Open this URL in a browser:");
            } else {
                ui.info(
                    "Opened the authorization page in your browser. If it did not appear, open:",
                );
            }
            ui.info(format!("  {}", pending.authorize_url()));
            let (code, checked) = paste_loop(&pending, None, ui, req.timeout).await?;
            (code, checked, pending)
        }
        (redirect, Mode::Paste) => {
            let redirect_uri = match redirect {
                Redirect::Loopback(r) => r.clone(),
                Redirect::OutOfBand => OOB_REDIRECT_URI.to_string(),
            };
            // Still listen when we can: a user with `ssh -L` gets the
            // redirect delivered without pasting anything.
            let listener = match redirect {
                Redirect::Loopback(r) if !r.contains(":0/") => LoopbackListener::bind(r).ok(),
                _ => None,
            };
            let pending = PendingAuthorization::new(
                req.provider,
                &redirect_uri,
                req.scopes,
                req.force_login,
            )?;
            ui.info("Open this URL in a browser (on any machine):");
            ui.info(format!("\n  {}\n", pending.authorize_url()));
            ui.qr(pending.authorize_url().as_str());
            for hint in &req.paste_hints {
                ui.info(hint);
            }
            let (code, checked) = paste_loop(&pending, listener, ui, req.timeout).await?;
            (code, checked, pending)
        }
    };

    let tokens = pending.complete(req.provider, http, code).await?;
    let identity = req
        .provider
        .identity(http, &tokens.access_token)
        .await
        .context("the login worked, but asking the provider who you are failed")?;
    if !state_checked {
        // A bare code carries no state: show whose account this is before
        // anything is stored, and let a person say no.
        ui.info(format!(
            "This code logs in as {} on {}.",
            identity.username,
            req.provider.display_name()
        ));
        if std::io::stdin().is_terminal() && !confirm("Store this account? [Y/n] ", true).await? {
            bail!("not stored, as you asked");
        }
    }
    Ok(LoginResult { tokens, identity })
}

/// Reads one line from stdin (racing the listener when there is one).
async fn paste_loop(
    pending: &PendingAuthorization,
    listener: Option<LoopbackListener>,
    ui: &Ui,
    timeout: Duration,
) -> Result<(AuthorizationCode, bool)> {
    if std::io::stdin().is_terminal() {
        eprint!("Paste the code, or the address the browser ended on, then press Enter: ");
    } else {
        ui.info("Reading the code, or the address the browser ended on, from standard input.");
    }
    let line = read_line();
    let outcome = match listener {
        Some(listener) => tokio::select! {
            line = line => Err(line),
            code = pending.receive(listener, timeout) => Ok(code),
        },
        None => Err(line.await),
    };
    match outcome {
        Ok(code) => Ok((code?, true)),
        Err(line) => {
            let pasted = pending.accept_paste(&line?)?;
            Ok((pasted.code, pasted.state_checked))
        }
    }
}

/// One line from stdin, at most [`MAX_LINE`] bytes, read on a thread of its
/// own: a blocked read must neither hold up Ctrl-C nor keep the process
/// alive once the login has finished another way (a redirect through an SSH
/// tunnel). The thread dies with the process.
pub(crate) async fn read_line() -> Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(MAX_LINE)
            .read_line(&mut line)
            .map(|_| line);
        let _ = tx.send(read);
    });
    rx.await
        .context("reading standard input failed")?
        .context("reading standard input failed")
}

/// A line longer than this is refused by the paste parser anyway.
const MAX_LINE: u64 = 8192;

/// Asks a yes/no question on the terminal; Enter means `default`.
pub(crate) async fn confirm(question: &str, default: bool) -> Result<bool> {
    eprint!("{question}");
    let answer = read_line().await?.trim().to_ascii_lowercase();
    Ok(match answer.as_str() {
        "" => default,
        a => a == "y" || a == "yes",
    })
}
