//! The one interface through which secrets are read and written, whatever
//! holds them, and the names under which they are kept.
//!
//! Each secret is its own entry (never a bundle): a single Windows credential
//! holds at most 2560 bytes, and separate entries let a refresh replace the
//! access token without touching the refresh token.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Which backend holds an account's (or app's) secrets; recorded in the index
/// so that reads go straight to the right place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// The 0600 file under `BROKER_HOME`.
    File,
}

/// The user's `--store` choice for new secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    /// The keyring if it answers, else the file (with a warning).
    Auto,
    /// The keyring or an error.
    Keyring,
    /// The file.
    File,
}

/// Which secret of an account or app.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretKey {
    /// The access token of an account (by account id).
    Access(String),
    /// The refresh token of an account (by account id).
    Refresh(String),
    /// The client secret of an app registration (by instance URL).
    ClientSecret(String),
}

impl SecretKey {
    /// The entry name: the keyring user name and the file store key, e.g.
    /// `pinterest/alice#access` or `app:https://mstdn.jp#client_secret`.
    pub fn name(&self) -> String {
        match self {
            SecretKey::Access(id) => format!("{id}#access"),
            SecretKey::Refresh(id) => format!("{id}#refresh"),
            SecretKey::ClientSecret(instance) => format!("app:{instance}#client_secret"),
        }
    }
}

/// A place that keeps secrets. Implementations never put a value into an
/// error, a `Debug` output or a log.
pub trait SecretStore: Send + Sync {
    /// Which kind of store this is (to record in the index).
    fn kind(&self) -> StoreKind;
    /// The secret, or `None` if there is none under this key.
    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>, StoreError>;
    /// Stores (or replaces) the secret; durable when this returns.
    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<(), StoreError>;
    /// Removes the secret; a missing one is not an error.
    fn delete(&self, key: &SecretKey) -> Result<(), StoreError>;
    /// Where the secrets are, for messages: `keyring (service broker)` or
    /// `file /path/secrets.json`.
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn key_names() {
        assert_eq!(
            SecretKey::Access("pinterest/alice".into()).name(),
            "pinterest/alice#access"
        );
        assert_eq!(
            SecretKey::Refresh("mastodon/alice@mstdn.jp".into()).name(),
            "mastodon/alice@mstdn.jp#refresh"
        );
        assert_eq!(
            SecretKey::ClientSecret("https://mstdn.jp".into()).name(),
            "app:https://mstdn.jp#client_secret"
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = SecretString::from("tok-123-very-secret");
        assert!(!format!("{s:?}").contains("tok-123"));
        assert_eq!(s.expose_secret(), "tok-123-very-secret");
    }

    #[test]
    fn store_kind_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&StoreKind::Keyring).unwrap(),
            "\"keyring\""
        );
        assert_eq!(serde_json::to_string(&StoreKind::File).unwrap(), "\"file\"");
    }
}
