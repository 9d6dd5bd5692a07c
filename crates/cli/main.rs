//! The `broker` command line: parse, load settings, run one command, turn
//! the outcome into an exit code.

mod accounts;
mod args;
mod browser;
mod commands;
mod env;
mod providers;
mod settings;
mod ui;

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command, LoginCommand};
use crate::settings::{Settings, UsageError};
use crate::ui::Ui;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::new(cli.global.quiet, cli.global.verbose);
    match run(cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(exit_code(&err))
        }
    }
}

fn run(cli: Cli, ui: &Ui) -> Result<()> {
    if let Command::Completions(c) = &cli.command {
        clap_complete::generate(
            c.shell,
            &mut Cli::command(),
            "broker",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let settings = Settings::load(&cli.global)?;
    match &cli.command {
        Command::Login(LoginCommand::Pinterest(args)) => {
            commands::login::pinterest(&settings, ui, args)
        }
        Command::Login(LoginCommand::Mastodon(args)) => {
            commands::login::mastodon(&settings, ui, args)
        }
        Command::Token(a) => commands::accounts::token(&settings, ui, &a.account),
        Command::List(a) => commands::accounts::list(&settings, a.json),
        Command::Status(a) => {
            commands::accounts::status(&settings, ui, a.account.as_deref(), a.json)
        }
        Command::Whoami(a) => commands::accounts::whoami(&settings, ui, &a.account, a.json),
        Command::Refresh(a) => commands::accounts::refresh(&settings, ui, &a.account),
        Command::Logout(a) => {
            commands::accounts::logout(&settings, ui, &a.account, a.revoke, a.force)
        }
        Command::Demo(_) => commands::demo::demo(&settings, ui),
        Command::Completions(_) => unreachable!("handled above"),
    }
}

/// A runtime for the commands that talk to the network. `broker token`
/// builds one only when a refresh is due.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub(crate) fn http_client() -> Result<broker_core::HttpClient> {
    Ok(broker_core::HttpClient::new(
        broker_core::HttpConfig::default(),
    )?)
}

/// Prints the error and its causes, one per line. No error type in broker
/// carries a secret, so this is safe to show and to log.
fn report(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  because: {cause}");
    }
}

/// The contract's exit codes: 2 usage, 3 needs login, 4 authorization
/// failed, 5 unavailable, 130 interrupted, 1 anything else.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<commands::flow::Interrupted>() {
            return 130;
        }
        if cause.is::<accounts::NeedsLogin>() {
            return 3;
        }
        if cause.is::<UsageError>() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<broker_core::Error>() {
            return match e.class() {
                broker_core::ErrorClass::Usage => 2,
                broker_core::ErrorClass::NeedsLogin => 3,
                broker_core::ErrorClass::AuthorizationFailed => 4,
                broker_core::ErrorClass::Unavailable => 5,
                broker_core::ErrorClass::Other => 1,
            };
        }
    }
    1
}
