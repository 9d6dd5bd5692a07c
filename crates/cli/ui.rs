//! Everything broker says to a person goes through here, on stderr; stdout
//! is kept for what scripts read (a token, a JSON document).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How talkative to be, and whether a person is watching.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ui {
    quiet: bool,
    verbose: u8,
    stderr_tty: bool,
}

impl Ui {
    pub(crate) fn new(quiet: bool, verbose: u8) -> Ui {
        Ui {
            quiet,
            verbose,
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// Progress and results meant for people.
    pub(crate) fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// Detail shown with -v.
    pub(crate) fn detail(&self, msg: impl AsRef<str>) {
        if !self.quiet && self.verbose > 0 {
            eprintln!("  {}", msg.as_ref());
        }
    }

    /// Something the user should know even when things work.
    pub(crate) fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("warning: {}", msg.as_ref());
        }
    }

    /// Whether stderr is a terminal (for spinners and QR codes).
    pub(crate) fn is_terminal(&self) -> bool {
        self.stderr_tty && !self.quiet
    }

    /// A spinner on stderr; invisible when nobody watches.
    pub(crate) fn spinner(&self, msg: &str) -> ProgressBar {
        if !self.is_terminal() {
            self.info(msg);
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }

    /// Shows a URL as a QR code when a person is watching, for opening it on
    /// a phone.
    pub(crate) fn qr(&self, url: &str) {
        if !self.is_terminal() {
            return;
        }
        if let Ok(code) = qr2term::generate_qr_string(url) {
            eprintln!("{code}");
        }
    }
}

/// Prints one line on stdout for scripts; a closed pipe is not an error.
pub(crate) fn print_stdout(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// A token shown to people: its public prefix and length, never the secret part.
pub(crate) fn mask(token: &str) -> String {
    let prefix: String = match token.find(['_', '.']) {
        Some(i) if i <= 6 => token[..=i].to_string(),
        _ => String::new(),
    };
    format!("{prefix}{} ({} characters)", "*".repeat(12), token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_public_prefix() {
        assert_eq!(
            mask("pina_SECRETSECRET"),
            "pina_************ (17 characters)"
        );
        assert_eq!(mask("SECRETSECRET"), "************ (12 characters)");
        assert!(!mask("pinr.eyJhbGciOi").contains("eyJ"));
    }
}
