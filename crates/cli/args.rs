//! The command line, as clap types and nothing else: parsing only validates.
//! Everything that touches the disk or the network happens after, in
//! `settings` and `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Gets, keeps and refreshes OAuth2 access tokens for Pinterest and Mastodon.
#[derive(Debug, Parser)]
#[command(
    name = "broker",
    version,
    about,
    after_help = "Examples:\n  broker login pinterest\n  broker login mastodon --instance mstdn.jp\n  curl -H \"Authorization: Bearer $(broker token pinterest)\" \\\n       https://api.pinterest.com/v5/user_account\n  broker demo"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Config file [default: $BROKER_HOME/config.toml, else the platform config dir]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Where secrets go: the OS keyring, a 0600 file, or the keyring when it answers
    #[arg(long, global = true, value_enum, value_name = "STORE")]
    pub(crate) store: Option<StoreArg>,
    /// More detail on stderr (repeat for more); never shows secrets
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreArg {
    Auto,
    Keyring,
    File,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in to a provider and store the tokens
    #[command(subcommand)]
    Login(LoginCommand),
    /// Print a valid access token (refreshing it first if needed)
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(broker token pinterest)\" \\\n       https://api.pinterest.com/v5/user_account"
    )]
    Token(AccountArg),
    /// List the accounts broker knows
    #[command(after_help = "Example:\n  broker list --json | jq -r '.accounts[].id'")]
    List(JsonArg),
    /// Like list, plus a live check against the provider
    #[command(after_help = "Example:\n  broker status pinterest --json")]
    Status(StatusArgs),
    /// Ask the provider who the account's token belongs to
    #[command(after_help = "Example:\n  broker whoami mastodon/alice@mstdn.jp --json")]
    Whoami(WhoamiArgs),
    /// Force a token refresh (where the provider issues refresh tokens)
    #[command(after_help = "Example:\n  broker refresh pinterest")]
    Refresh(AccountArg),
    /// Forget an account locally; --revoke also revokes it at the provider
    #[command(after_help = "Example:\n  broker logout mastodon/alice@mstdn.jp --revoke")]
    Logout(LogoutArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  broker completions bash > ~/.local/share/bash-completion/completions/broker"
    )]
    Completions(CompletionsArgs),
    /// Run the whole login flow against the built-in sandbox provider
    #[command(
        after_help = "Example:\n  broker demo\n\nStarts a local stand-in for Pinterest on 127.0.0.1, logs in through the real\nflow (loopback listener, state, PKCE), stores the token, refreshes it,\nthen removes the demo account again (unless --keep)."
    )]
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum LoginCommand {
    /// Log in to Pinterest (API v5, or the deprecated v3)
    #[command(
        after_help = "Examples:\n  export PINTEREST_APP_ID=... PINTEREST_APP_SECRET=...\n  broker login pinterest\n  broker login pinterest --no-browser --scope pins:read --scope boards:read\n  broker login pinterest --client-credentials"
    )]
    Pinterest(PinterestLogin),
    /// Log in to a Mastodon instance (registers an app there once)
    #[command(
        after_help = "Examples:\n  broker login mastodon --instance mstdn.jp\n  broker login mastodon --instance @alice@mastodon.social --oob"
    )]
    Mastodon(MastodonLogin),
}

/// Flags every login takes.
#[derive(Debug, Args)]
pub(crate) struct CommonLogin {
    /// Scope to request (repeat for several) [default: the provider's default set]
    #[arg(long = "scope", value_name = "S")]
    pub(crate) scopes: Vec<String>,
    /// Name the account PROVIDER/NAME instead of after the provider's user name
    #[arg(long, value_name = "NAME")]
    pub(crate) account: Option<String>,
    /// Do not open a browser: print the URL and read the result from stdin
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// How long to wait for the browser, in seconds (at most 600: a started
    /// login expires after ten minutes)
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct PinterestLogin {
    #[command(flatten)]
    pub(crate) common: CommonLogin,
    /// Pinterest API version
    #[arg(long, value_enum, default_value_t = ApiArg::V5)]
    pub(crate) api: ApiArg,
    /// Redirect URI registered for the app [default: http://localhost:8085/]
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Option<String>,
    /// Use Pinterest's sandbox API host (api-sandbox.pinterest.com)
    #[arg(long)]
    pub(crate) sandbox: bool,
    /// App-only token (client credentials grant), no browser
    #[arg(long)]
    pub(crate) client_credentials: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApiArg {
    V5,
    V3,
}

#[derive(Debug, Args)]
pub(crate) struct MastodonLogin {
    #[command(flatten)]
    pub(crate) common: CommonLogin,
    /// The instance: a host (mstdn.jp), a URL, or @user@host
    #[arg(long, value_name = "HOST_OR_URL")]
    pub(crate) instance: String,
    /// Out-of-band: the instance shows a code to paste (default in paste mode)
    #[arg(long)]
    pub(crate) oob: bool,
    /// Show the instance's login form even when the browser is logged in
    #[arg(long)]
    pub(crate) force_login: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AccountArg {
    /// Account id (pinterest/alice), a unique prefix, or a provider name
    pub(crate) account: String,
}

#[derive(Debug, Args)]
pub(crate) struct JsonArg {
    /// One JSON document on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Account id, prefix or provider name [default: all accounts]
    pub(crate) account: Option<String>,
    /// One JSON document on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WhoamiArgs {
    /// Account id, prefix or provider name
    pub(crate) account: String,
    /// One JSON document on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// Account id, prefix or provider name
    pub(crate) account: String,
    /// Also revoke the tokens at the provider
    #[arg(long)]
    pub(crate) revoke: bool,
    /// Forget locally even if the revocation could not be confirmed
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo account instead of removing it at the end
    #[arg(long)]
    pub(crate) keep: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("broker").chain(args.iter().copied()))
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn login_pinterest_defaults() {
        let Cli {
            command: Command::Login(LoginCommand::Pinterest(p)),
            ..
        } = parse(&["login", "pinterest"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.api, ApiArg::V5);
        assert_eq!(p.common.timeout, 300);
        assert!(p.common.scopes.is_empty() && !p.common.no_browser && !p.sandbox);
    }

    #[test]
    fn login_mastodon_needs_an_instance() {
        assert!(parse(&["login", "mastodon"]).is_err());
        let Cli {
            command: Command::Login(LoginCommand::Mastodon(m)),
            ..
        } = parse(&[
            "login",
            "mastodon",
            "--instance",
            "mstdn.jp",
            "--scope",
            "read",
            "--scope",
            "write",
            "--oob",
        ])
        .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.common.scopes, ["read", "write"]);
        assert!(m.oob);
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["token", "pinterest", "--store", "file", "-vv"]).unwrap();
        assert_eq!(cli.global.store, Some(StoreArg::File));
        assert_eq!(cli.global.verbose, 2);
    }

    #[test]
    fn no_secret_can_be_given_as_an_argument() {
        // Secrets on the command line end up in `ps` and shell history.
        for flag in [
            "--app-secret",
            "--client-secret",
            "--code",
            "--token",
            "--refresh-token",
        ] {
            assert!(parse(&["login", "pinterest", flag, "x"]).is_err(), "{flag}");
        }
    }

    #[test]
    fn every_command_has_an_example() {
        let mut cmd = Cli::command();
        cmd.build();
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let has = |c: &clap::Command| {
                c.get_after_help()
                    .is_some_and(|h| h.to_string().contains("broker "))
            };
            if sub.get_subcommands().count() > 0 {
                for s in sub.get_subcommands().filter(|s| s.get_name() != "help") {
                    assert!(has(s), "{} {}", sub.get_name(), s.get_name());
                }
            } else {
                assert!(has(sub), "{}", sub.get_name());
            }
        }
    }
}
