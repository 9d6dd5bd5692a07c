//! Secrets in the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) through the `keyring` crate.
//!
//! Every call runs on its own thread and is abandoned after a timeout: a
//! locked Secret Service collection can wait forever for an unlock prompt
//! nobody sees, and a CLI must never hang on that. The threads also keep
//! `keyring`'s internal runtime away from any runtime the caller may run.
//! With this crate's features `keyring` never falls back to an in-memory
//! store (without a D-Bus session it returns an error); [`KeyringStore`]
//! checks that at run time too, because a silent in-memory store loses
//! tokens.

use std::sync::mpsc;
use std::time::Duration;

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::{SecretKey, SecretStore, StoreError, StoreKind};

/// Secrets in the OS keyring, one entry per secret: service = the given
/// service name, user = [`SecretKey::name`].
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
    timeout: Duration,
}

impl KeyringStore {
    /// A store for entries of `service` (normally `broker`; tests use random
    /// names). Each keyring call gives up after `timeout`.
    pub fn new(service: impl Into<String>, timeout: Duration) -> KeyringStore {
        KeyringStore {
            service: service.into(),
            timeout,
        }
    }

    /// Checks that the keyring can store a secret right now, by writing,
    /// reading back and deleting a throwaway entry, all within the timeout.
    ///
    /// A write, not just a read: a locked collection still answers searches,
    /// and would only be noticed when the real tokens are saved, after the
    /// login they came from.
    pub fn probe(&self) -> Result<(), StoreError> {
        let user = format!("broker-probe-{}", random_suffix());
        self.call(user, |entry| {
            let value = format!("probe-{}", random_suffix());
            entry.set_password(&value).map_err(from_keyring)?;
            let back = entry.get_password().map_err(from_keyring);
            entry.delete_credential().map_err(from_keyring)?;
            if back? != value {
                return Err(StoreError::KeyringUnavailable {
                    reason: "it did not return the value just written".to_owned(),
                });
            }
            Ok(())
        })
    }

    /// Runs `op` on the entry for `user` on a new thread, waiting at most the
    /// timeout. On timeout the thread is left behind: it cannot be cancelled,
    /// and it ends when the keyring answers or the process exits.
    fn call<T: Send + 'static>(
        &self,
        user: String,
        op: impl FnOnce(&keyring::Entry) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let service = self.service.clone();
        // Capacity 1, so that a late answer never blocks the abandoned thread.
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("broker-keyring".to_owned())
            .spawn(move || {
                let result = keyring::Entry::new(&service, &user)
                    .map_err(from_keyring)
                    .and_then(|entry| {
                        ensure_persistent(&entry)?;
                        op(&entry)
                    });
                let _ = tx.send(result);
            })
            .map_err(|e| StoreError::Keyring {
                reason: format!("could not start a thread for the keyring call: {e}"),
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::KeyringTimeout {
                secs: self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Keyring {
                reason: "the keyring call failed unexpectedly (its thread panicked)".to_owned(),
            }),
        }
    }
}

/// Refuses `keyring`'s in-memory mock store, which it uses on platforms
/// without a native backend: a secret stored there vanishes at exit.
fn ensure_persistent(entry: &keyring::Entry) -> Result<(), StoreError> {
    if entry.get_credential().is::<keyring::mock::MockCredential>() {
        return Err(StoreError::KeyringUnavailable {
            reason: "this build has no keyring backend for this platform".to_owned(),
        });
    }
    Ok(())
}

/// Maps a `keyring` error to ours. Never formats the error with `Debug`:
/// `BadEncoding` carries the stored bytes, which are a secret.
fn from_keyring(e: keyring::Error) -> StoreError {
    use keyring::Error as K;
    match e {
        K::NoStorageAccess(err) | K::PlatformFailure(err) => StoreError::KeyringUnavailable {
            reason: err.to_string(),
        },
        K::BadEncoding(mut bytes) => {
            bytes.zeroize();
            StoreError::Keyring {
                reason: "the stored value is not UTF-8 text".to_owned(),
            }
        }
        K::TooLong(what, limit) => StoreError::Keyring {
            reason: format!("the {what} is longer than the platform limit of {limit}"),
        },
        K::Invalid(what, why) => StoreError::Keyring {
            reason: format!("the {what} is invalid: {why}"),
        },
        K::Ambiguous(items) => StoreError::Keyring {
            reason: format!(
                "{} keyring entries match one name; remove the extra ones with your keyring tool",
                items.len()
            ),
        },
        K::NoEntry => StoreError::Keyring {
            reason: "no such entry".to_owned(),
        },
        other => StoreError::Keyring {
            reason: other.to_string(),
        },
    }
}

/// Sixteen hex digits that differ between calls and processes, for names of
/// throwaway entries (std's `RandomState` is seeded randomly per process).
pub(crate) fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>, StoreError> {
        self.call(key.name(), |entry| match entry.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(from_keyring(e)),
        })
    }

    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<(), StoreError> {
        let value = value.clone();
        self.call(key.name(), move |entry| {
            entry
                .set_password(value.expose_secret())
                .map_err(from_keyring)
        })
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        self.call(key.name(), |entry| match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(from_keyring(e)),
        })
    }

    fn describe(&self) -> String {
        format!("keyring (service {})", self.service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{child_env, keyring_tests_enabled, random_name, run_child};
    use crate::{FileStore, Home, StoreChoice, open_for_write};
    use std::sync::Mutex;
    use std::time::Instant;

    /// The Secret Service copes badly with many clients at once, and these
    /// tests measure time, so they take turns.
    static REAL_KEYRING: Mutex<()> = Mutex::new(());

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn real_store() -> KeyringStore {
        KeyringStore::new(random_name("broker-test"), TIMEOUT)
    }

    #[test]
    fn bad_encoding_errors_do_not_carry_the_bytes() {
        let err = from_keyring(keyring::Error::BadEncoding(b"s3cr3t\xff".to_vec()));
        assert!(!err.to_string().contains("s3cr3t"));
        assert!(!format!("{err:?}").contains("s3cr3t"));
        assert!(
            !format!("{err:?}").contains("115, 51"),
            "bytes as numbers: {err:?}"
        );
    }

    #[test]
    fn no_entry_and_errors_map_as_documented() {
        let boxed = |s: &str| -> Box<dyn std::error::Error + Send + Sync> { s.into() };
        assert!(matches!(
            from_keyring(keyring::Error::NoStorageAccess(boxed("locked"))),
            StoreError::KeyringUnavailable { reason } if reason == "locked"
        ));
        assert!(matches!(
            from_keyring(keyring::Error::PlatformFailure(boxed("no bus"))),
            StoreError::KeyringUnavailable { .. }
        ));
        let err = from_keyring(keyring::Error::TooLong("password".into(), 2560));
        assert!(err.to_string().contains("2560") && err.to_string().contains("--store file"));
    }

    #[test]
    fn random_suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
    }

    /// Without a session bus the keyring must fail fast, never pretend to
    /// store in memory, and `auto` must fall back to the file with a warning.
    #[cfg(target_os = "linux")]
    #[test]
    fn without_a_session_bus_the_keyring_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tempfile::tempdir().unwrap();
        let out = child_env("keyring_store::tests::child_no_bus", "no-bus", dir.path())
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            // zbus falls back to $XDG_RUNTIME_DIR/bus; make sure there is none.
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("NO-BUS-CHECKED"),
            "the child did not run: {stdout}"
        );
    }

    /// Helper process for `without_a_session_bus_the_keyring_is_unavailable`.
    #[test]
    fn child_no_bus() {
        run_child("no-bus", |home| {
            let store = KeyringStore::new(random_name("broker-test"), TIMEOUT);
            let start = Instant::now();
            let err = store.probe().unwrap_err();
            assert!(
                matches!(err, StoreError::KeyringUnavailable { .. }),
                "{err:?}"
            );
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{:?}",
                start.elapsed()
            );
            let key = SecretKey::Access("p/u".into());
            assert!(store.set(&key, &SecretString::from("v")).is_err());
            assert!(
                store.get(&key).is_err(),
                "a get must not find an in-memory value"
            );

            let (chosen, warning) =
                open_for_write(StoreChoice::Auto, &home, "broker-test", TIMEOUT).unwrap();
            assert_eq!(chosen.kind(), StoreKind::File);
            let warning = warning.expect("auto fallback warns");
            let file = FileStore::new(&home);
            assert!(
                warning.contains(&file.path().display().to_string()),
                "{warning}"
            );
            assert!(!warning.contains('\n'));

            let err = open_for_write(StoreChoice::Keyring, &home, "broker-test", TIMEOUT)
                .err()
                .expect("--store keyring without a keyring is an error");
            assert!(err.to_string().contains("--store file"), "{err}");
            println!("NO-BUS-CHECKED: {err}");
        });
    }

    /// A keyring that never answers (a socket that accepts and stays silent)
    /// must give a timeout with guidance, not a hang.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_silent_keyring_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        // Accept and hold connections without ever answering; the thread
        // ends with the test process.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                held.push(stream);
            }
        });
        let out = child_env(
            "keyring_store::tests::child_silent_bus",
            "silent-bus",
            dir.path(),
        )
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("SILENT-BUS-CHECKED"),
            "the child did not run: {stdout}"
        );
    }

    /// Helper process for `a_silent_keyring_times_out`.
    #[test]
    fn child_silent_bus() {
        run_child("silent-bus", |_home| {
            let store = KeyringStore::new("broker-test", Duration::from_millis(300));
            let start = Instant::now();
            let err = store.get(&SecretKey::Access("p/u".into())).unwrap_err();
            let elapsed = start.elapsed();
            assert!(
                matches!(err, StoreError::KeyringTimeout { secs: 1 }),
                "{err:?}"
            );
            assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3));
            assert!(err.to_string().contains("is it locked?"), "{err}");
            assert!(matches!(
                store.probe(),
                Err(StoreError::KeyringTimeout { .. })
            ));
            println!("SILENT-BUS-CHECKED: {err}");
        });
    }

    #[test]
    fn real_keyring_round_trip() {
        if !keyring_tests_enabled() {
            return;
        }
        let _turn = REAL_KEYRING.lock().unwrap_or_else(|e| e.into_inner());
        let store = real_store();
        store.probe().unwrap();
        let access = SecretKey::Access("pinterest/alice".into());
        let refresh = SecretKey::Refresh("pinterest/alice".into());
        assert!(store.get(&access).unwrap().is_none());
        store.delete(&access).unwrap();

        store.set(&access, &SecretString::from("a1")).unwrap();
        store
            .set(&refresh, &SecretString::from("r1 ünïcødé"))
            .unwrap();
        store.set(&access, &SecretString::from("a2")).unwrap();
        let got = |k| store.get(k).unwrap().map(|s| s.expose_secret().to_owned());
        assert_eq!(got(&access).as_deref(), Some("a2"));
        assert_eq!(got(&refresh).as_deref(), Some("r1 ünïcødé"));

        // Another instance (as another process would) sees the same entries.
        let other = KeyringStore::new(store.service.clone(), TIMEOUT);
        assert_eq!(
            other
                .get(&access)
                .unwrap()
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("a2")
        );

        store.delete(&access).unwrap();
        store.delete(&refresh).unwrap();
        assert!(store.get(&access).unwrap().is_none());
        assert!(store.get(&refresh).unwrap().is_none());
        assert_eq!(store.kind(), StoreKind::Keyring);
        assert_eq!(
            store.describe(),
            format!("keyring (service {})", store.service)
        );
    }

    #[test]
    fn real_keyring_is_chosen_by_auto() {
        if !keyring_tests_enabled() {
            return;
        }
        let _turn = REAL_KEYRING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_path_buf());
        let service = random_name("broker-test");
        for choice in [StoreChoice::Auto, StoreChoice::Keyring] {
            let (store, warning) = open_for_write(choice, &home, &service, TIMEOUT).unwrap();
            assert_eq!(store.kind(), StoreKind::Keyring);
            assert_eq!(warning, None);
        }
        assert!(!dir.path().join("secrets.json").exists());
    }

    /// Not an assertion on time: prints how long one read takes from each
    /// store, for the record (run with `--nocapture` to see it).
    #[test]
    fn real_keyring_get_vs_file_get_timing() {
        if !keyring_tests_enabled() {
            return;
        }
        let _turn = REAL_KEYRING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let file = FileStore::new(&Home::new(dir.path().to_path_buf()));
        let keyring = real_store();
        let key = SecretKey::Access("pinterest/alice".into());
        let value = SecretString::from("x".repeat(200));
        file.set(&key, &value).unwrap();
        keyring.set(&key, &value).unwrap();

        let time = |store: &dyn SecretStore| {
            let runs = 20;
            let start = Instant::now();
            for _ in 0..runs {
                assert!(store.get(&key).unwrap().is_some());
            }
            start.elapsed() / runs
        };
        let (k, f) = (time(&keyring), time(&file));
        eprintln!("timing: one keyring get {k:?}, one file get {f:?} (mean of 20)");
        keyring.delete(&key).unwrap();
    }
}
