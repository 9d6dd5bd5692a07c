//! Where broker keeps what it knows: the account index (non-secret metadata,
//! TOML), the secrets (OS keyring or a 0600 file) and the cross-process locks
//! that keep concurrent refreshes from fighting.
//!
//! It depends on no other broker crate and needs no async runtime, so the
//! fast `broker token` path can read a token without starting one.
//!
//! - [`Home`]: the `BROKER_HOME` folder layout.
//! - [`Index`]: accounts and app registrations, never a secret.
//! - [`SecretStore`]: [`KeyringStore`] or [`FileStore`], chosen with
//!   [`open_for_write`] for new secrets and [`open_kind`] for existing ones.
//! - [`AccountLock`]: hold it around read → refresh → write.
#![deny(missing_docs)]

mod atomic;
mod error;
mod file;
mod home;
mod index;
mod keyring_store;
mod lock;
mod secret;
#[cfg(test)]
mod test_support;

use std::time::Duration;

pub use error::StoreError;
pub use file::FileStore;
pub use home::Home;
pub use index::{AccountRecord, AppRecord, Index, SelectError};
pub use keyring_store::KeyringStore;
pub use lock::AccountLock;
pub use secrecy::{ExposeSecret, SecretString};
pub use secret::{SecretKey, SecretStore, StoreChoice, StoreKind};

/// Opens the store that new secrets go to, following `--store`:
///
/// - `Auto`: the keyring if [`KeyringStore::probe`] succeeds within
///   `timeout`, otherwise the file store and `Some(warning)`: one line,
///   without a `warning:` prefix, naming the file and why.
/// - `Keyring`: the keyring, or the probe's error (unavailable, timeout or
///   refusal), which carries a hint.
/// - `File`: the file store.
///
/// Record the returned store's [`SecretStore::kind`] in the index, so that
/// later reads go to the same place.
pub fn open_for_write(
    choice: StoreChoice,
    home: &Home,
    keyring_service: &str,
    timeout: Duration,
) -> Result<(Box<dyn SecretStore>, Option<String>), StoreError> {
    let keyring = || KeyringStore::new(keyring_service, timeout);
    match choice {
        StoreChoice::File => Ok((Box::new(FileStore::new(home)), None)),
        StoreChoice::Keyring => {
            let store = keyring();
            store.probe()?;
            Ok((Box::new(store), None))
        }
        StoreChoice::Auto => {
            let store = keyring();
            match store.probe() {
                Ok(()) => Ok((Box::new(store), None)),
                Err(e) => {
                    let file = FileStore::new(home);
                    let warning = format!(
                        "the keyring is not usable, so secrets will be stored in the file {} \
                         (mode 0600): {e}",
                        file.path().display()
                    );
                    Ok((Box::new(file), Some(warning)))
                }
            }
        }
    }
}

/// Opens the store that an index record names, for reading (and replacing)
/// the secrets already there. Does not touch the keyring or the disk.
pub fn open_kind(
    kind: StoreKind,
    home: &Home,
    keyring_service: &str,
    timeout: Duration,
) -> Box<dyn SecretStore> {
    match kind {
        StoreKind::Keyring => Box::new(KeyringStore::new(keyring_service, timeout)),
        StoreKind::File => Box::new(FileStore::new(home)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_choice_opens_the_file_store_without_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_path_buf());
        let (store, warning) =
            open_for_write(StoreChoice::File, &home, "unused", Duration::from_secs(1)).unwrap();
        assert_eq!(store.kind(), StoreKind::File);
        assert_eq!(warning, None);
        assert!(!home.secrets_path().exists(), "opening writes nothing");
    }

    #[test]
    fn open_kind_follows_the_record() {
        let home = Home::new("/nonexistent/broker".into());
        let timeout = Duration::from_secs(1);
        let file = open_kind(StoreKind::File, &home, "svc", timeout);
        assert_eq!(file.kind(), StoreKind::File);
        assert_eq!(file.describe(), "file /nonexistent/broker/secrets.json");
        let keyring = open_kind(StoreKind::Keyring, &home, "svc", timeout);
        assert_eq!(keyring.kind(), StoreKind::Keyring);
        assert_eq!(keyring.describe(), "keyring (service svc)");
    }

    #[test]
    fn home_layout() {
        let home = Home::new("/h".into());
        assert_eq!(home.root(), std::path::Path::new("/h"));
        assert_eq!(home.index_path(), std::path::Path::new("/h/accounts.toml"));
        assert_eq!(home.secrets_path(), std::path::Path::new("/h/secrets.json"));
        assert_eq!(home.locks_dir(), std::path::Path::new("/h/locks"));
    }
}
