//! One error type for everything the store does, so that the CLI can pick an
//! exit code and a hint per case instead of parsing text.
//!
//! No variant carries a secret value: only paths, names and reasons that come
//! from the operating system or the keyring, which never contain the value.

use std::path::PathBuf;

/// What went wrong while reading or writing the index, the secrets or a lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or folder operation failed; `source` says why.
    #[error("could not {action} {}", path.display())]
    Io {
        /// What the store was doing, as a verb: "read", "write", "create", ...
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but cannot be understood; it is never overwritten.
    #[error(
        "the file {} is corrupt ({reason}); it was left untouched: move it away or fix it, \
         then log in again",
        path.display()
    )]
    Corrupt {
        /// The file that could not be parsed.
        path: PathBuf,
        /// What was expected and where parsing stopped (never the file's content).
        reason: String,
    },
    /// The keyring cannot be reached or refuses access (no D-Bus session, no
    /// Secret Service, locked collection, dismissed prompt, ...).
    #[error(
        "the keyring is not available ({reason}); start or unlock it (on Linux a Secret \
         Service such as gnome-keyring), or use --store file"
    )]
    KeyringUnavailable {
        /// The platform's reason.
        reason: String,
    },
    /// A keyring call did not return in time, typically because an unlock
    /// prompt is waiting where nobody can see it.
    #[error(
        "the keyring did not answer within {secs}s; is it locked? unlock it, or use --store file"
    )]
    KeyringTimeout {
        /// The timeout that ran out, rounded up to whole seconds.
        secs: u64,
    },
    /// The keyring answered but refused this operation.
    #[error(
        "the keyring refused the operation ({reason}); use --store file to keep secrets in a file instead"
    )]
    Keyring {
        /// The platform's reason.
        reason: String,
    },
    /// Another process held a lock for longer than we were willing to wait.
    #[error(
        "another broker process is holding the lock for {name}; wait for it to finish, then \
         try again"
    )]
    Busy {
        /// What is locked: an account id, an app, or the secrets file.
        name: String,
    },
}

impl StoreError {
    /// Builds an [`StoreError::Io`]; a helper because every file call needs one.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
