//! The file store: every secret in one JSON file under `BROKER_HOME`, for
//! machines without a usable keyring (headless servers, containers, CI) or
//! when the user asks for it with `--store file`.
//!
//! Format: `{"version":1,"secrets":{"<key name>":"<value>"}}`. The file is
//! 0600 from the moment it exists, replaced atomically (see `atomic`), and
//! rewritten only under an exclusive lock so that two processes saving
//! different accounts keep each other's secrets. A file that cannot be
//! parsed is reported and never replaced: it may hold someone's only copy of
//! a refresh token.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Home, SecretKey, SecretStore, StoreError, StoreKind, atomic, lock};

/// The file format this code reads and writes.
const VERSION: u32 = 1;

/// How long a write waits for another process's write (which takes
/// milliseconds) before giving up with [`StoreError::Busy`].
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// Secrets in a 0600 JSON file (see the module docs).
#[derive(Clone, Debug)]
pub struct FileStore {
    home: Home,
    path: PathBuf,
    lock_path: PathBuf,
}

/// The file's content. Values are wiped from memory when it is dropped, and
/// its `Debug` shows only the key names.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    version: u32,
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile")
            .field("version", &self.version)
            .field("keys", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for SecretsFile {
    fn drop(&mut self) {
        for value in self.secrets.values_mut() {
            value.zeroize();
        }
    }
}

impl FileStore {
    /// The file store of `home` (at [`Home::secrets_path`]); nothing is read
    /// or created until it is used.
    pub fn new(home: &Home) -> FileStore {
        let path = home.secrets_path();
        let mut lock_name = path.file_name().unwrap_or_default().to_owned();
        lock_name.push(".lock");
        FileStore {
            home: home.clone(),
            lock_path: path.with_file_name(lock_name),
            path,
        }
    }

    /// The secrets file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file; `None` if it does not exist. Reads need no
    /// lock: writers replace the file in one rename, so a reader sees either
    /// the old or the new file, whole.
    fn load(&self) -> Result<Option<SecretsFile>, StoreError> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("read", &self.path, e)),
        };
        repair_permissions(&file);
        // Sized up front so that growing the buffer leaves no unwiped copies.
        let len = file.metadata().map(|m| m.len()).unwrap_or_default();
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or_default() + 1);
        let read = file.read_to_end(&mut bytes);
        let parsed = read
            .map_err(|e| StoreError::io("read", &self.path, e))
            .and_then(|_| self.parse(&bytes));
        bytes.zeroize();
        parsed.map(Some)
    }

    fn parse(&self, bytes: &[u8]) -> Result<SecretsFile, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        // serde_json's messages can quote the offending value, which may be a
        // secret, so only the kind of error and its position are reported.
        let file: SecretsFile = serde_json::from_slice(bytes).map_err(|e| {
            use serde_json::error::Category;
            let what = match e.classify() {
                Category::Eof => "it ends too early, perhaps truncated",
                Category::Syntax => "invalid JSON",
                Category::Data => "unexpected fields or types",
                Category::Io => "unreadable",
            };
            corrupt(format!(
                "expected JSON {{\"version\":1,\"secrets\":{{...}}}}: {what} at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        if file.version != VERSION {
            return Err(corrupt(format!(
                "unknown version {}; this broker reads version {VERSION}, so it may have been \
                 written by a newer broker",
                file.version
            )));
        }
        Ok(file)
    }

    /// Read-modify-write under the file lock. The file is re-read inside the
    /// lock, so changes other processes made since our last read are kept.
    fn modify(&self, change: impl FnOnce(&mut SecretsFile) -> bool) -> Result<(), StoreError> {
        self.home.ensure()?;
        let name = format!("the secrets file {}", self.path.display());
        let _lock = lock::lock_exclusive(&self.lock_path, &name, WRITE_WAIT)?;
        let existed = self.load()?;
        let mut file = existed.unwrap_or_else(|| SecretsFile {
            version: VERSION,
            secrets: BTreeMap::new(),
        });
        if !change(&mut file) {
            return Ok(());
        }
        // A struct of a number and a map of strings always encodes.
        let mut bytes = serde_json::to_vec(&file).expect("secrets encode as JSON");
        let written = atomic::write_atomic(&self.path, &bytes);
        bytes.zeroize();
        written
    }
}

/// Makes an existing secrets file private again if someone loosened it
/// (security item 38). Best effort: if we may not change it, reading it still
/// works and the next write replaces it with a 0600 file anyway.
#[cfg(unix)]
fn repair_permissions(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn repair_permissions(_file: &std::fs::File) {}

impl SecretStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>, StoreError> {
        let Some(mut file) = self.load()? else {
            return Ok(None);
        };
        Ok(file.secrets.remove(&key.name()).map(SecretString::from))
    }

    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<(), StoreError> {
        self.modify(|file| {
            let old = file
                .secrets
                .insert(key.name(), value.expose_secret().to_owned());
            if let Some(mut old) = old {
                old.zeroize();
            }
            true
        })
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        if !self.path.exists() {
            return Ok(());
        }
        self.modify(|file| match file.secrets.remove(&key.name()) {
            Some(mut old) => {
                old.zeroize();
                true
            }
            None => false,
        })
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{child_env, run_child};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        (dir, FileStore::new(&home))
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    fn get(store: &FileStore, key: &SecretKey) -> Option<String> {
        store
            .get(key)
            .unwrap()
            .map(|s| s.expose_secret().to_owned())
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn round_trip() {
        let (_dir, store) = store();
        let access = SecretKey::Access("pinterest/alice".into());
        let refresh = SecretKey::Refresh("pinterest/alice".into());
        assert_eq!(get(&store, &access), None);
        store.delete(&access).unwrap();
        assert!(
            !store.path().exists(),
            "reads and no-op deletes create nothing"
        );

        store.set(&access, &secret("a1")).unwrap();
        store
            .set(&refresh, &secret("r1 ünïcødé \"quoted\""))
            .unwrap();
        assert_eq!(get(&store, &access).as_deref(), Some("a1"));
        store.set(&access, &secret("a2")).unwrap();
        assert_eq!(get(&store, &access).as_deref(), Some("a2"));
        assert_eq!(
            get(&store, &refresh).as_deref(),
            Some("r1 ünïcødé \"quoted\"")
        );

        store.delete(&access).unwrap();
        store.delete(&access).unwrap();
        assert_eq!(get(&store, &access), None);
        assert!(get(&store, &refresh).is_some());

        let text = std::fs::read_to_string(store.path()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        assert!(json["secrets"]["pinterest/alice#refresh"].is_string());
        assert_eq!(store.kind(), StoreKind::File);
        assert!(
            store.describe().starts_with("file ") && store.describe().ends_with("secrets.json")
        );
    }

    #[cfg(unix)]
    #[test]
    fn created_0600_in_a_0700_folder() {
        let (_dir, store) = store();
        store
            .set(&SecretKey::Access("x/y".into()), &secret("v"))
            .unwrap();
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(store.path().parent().unwrap()), 0o700);
        assert_eq!(mode(&store.lock_path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn created_0600_even_with_umask_000() {
        // The umask is per process, so a child sets it and writes.
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let child = child_env("file::tests::child_umask", "umask", &home);
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(child.get_program())
            .args(child.get_args());
        for (name, value) in child.get_envs() {
            cmd.env(name, value.unwrap());
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store = FileStore::new(&Home::new(home.clone()));
        assert_eq!(
            get(&store, &SecretKey::Access("x/y".into())).as_deref(),
            Some("v")
        );
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&Home::new(home).index_path()), 0o600);
    }

    /// Helper process for `created_0600_even_with_umask_000`.
    #[test]
    fn child_umask() {
        run_child("umask", |home| {
            FileStore::new(&home)
                .set(&SecretKey::Access("x/y".into()), &secret("v"))
                .unwrap();
            crate::Index::default().save(&home).unwrap();
        });
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_repaired() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, store) = store();
        let key = SecretKey::Access("x/y".into());
        store.set(&key, &secret("v")).unwrap();
        let loosen = || {
            std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap()
        };
        loosen();
        store
            .set(&SecretKey::Refresh("x/y".into()), &secret("r"))
            .unwrap();
        assert_eq!(mode(store.path()), 0o600, "fixed by the next write");
        loosen();
        assert_eq!(get(&store, &key).as_deref(), Some("v"));
        assert_eq!(mode(store.path()), 0o600, "fixed by a read too");
    }

    #[test]
    fn corrupt_file_is_reported_and_never_overwritten() {
        let (_dir, store) = store();
        let key = SecretKey::Access("x/y".into());
        store.set(&key, &secret("v")).unwrap();
        let full = std::fs::read(store.path()).unwrap();
        let truncated = full[..full.len() / 2].to_vec();
        for bad in [
            truncated,
            b"not json".to_vec(),
            br#"{"version":2,"secrets":{}}"#.to_vec(),
            br#"{"version":"s3cr3t-value","secrets":{}}"#.to_vec(),
            br#"{"version":1,"secrets":{"k":42},"x":"s3cr3t-value"}"#.to_vec(),
        ] {
            std::fs::write(store.path(), &bad).unwrap();
            for err in [
                store.get(&key).unwrap_err(),
                store.set(&key, &secret("new")).unwrap_err(),
                store.delete(&key).unwrap_err(),
            ] {
                assert!(
                    matches!(err, StoreError::Corrupt { ref path, .. } if path == store.path())
                );
                let msg = err.to_string();
                assert!(
                    msg.contains("secrets.json") && msg.contains("left untouched"),
                    "{msg}"
                );
                assert!(!msg.contains("s3cr3t"), "a value leaked into: {msg}");
                assert!(!format!("{err:?}").contains("s3cr3t"));
            }
            assert_eq!(
                std::fs::read(store.path()).unwrap(),
                bad,
                "the file was changed"
            );
        }
    }

    #[test]
    fn readers_never_see_a_partial_file() {
        let (_dir, store) = store();
        let key = SecretKey::Access("x/y".into());
        store.set(&key, &secret("start")).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (path, done) = (store.path().to_path_buf(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) {
                    let bytes = std::fs::read(&path).unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("partial file after {reads} reads: {e}"));
                    assert_eq!(json["version"], 1);
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..200 {
            // Sizes vary so that a torn write would show.
            store
                .set(&key, &secret(&"x".repeat(1 + (i * 37) % 5000)))
                .unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let reads = reader.join().unwrap();
        assert!(reads > 0);
    }

    #[test]
    fn concurrent_writers_in_threads_keep_each_others_secrets() {
        let (_dir, store) = store();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                // Separate instances: only the file lock keeps them apart.
                let store = FileStore::new(&store.home);
                std::thread::spawn(move || {
                    for i in 0..15 {
                        let key = SecretKey::Access(format!("p/t{t}-{i}"));
                        store.set(&key, &secret(&format!("v{t}-{i}"))).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0..4 {
            for i in 0..15 {
                let key = SecretKey::Access(format!("p/t{t}-{i}"));
                assert_eq!(get(&store, &key), Some(format!("v{t}-{i}")));
            }
        }
    }

    #[test]
    fn concurrent_writers_in_processes_keep_each_others_secrets() {
        let (dir, store) = store();
        let home = dir.path().join("home");
        let children: Vec<_> = ["a", "b"]
            .iter()
            .map(|who| {
                child_env("file::tests::child_writer", "writer", &home)
                    .env("BROKER_STORE_TEST_WHO", who)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for i in 0..20 {
            store
                .set(&SecretKey::Access(format!("p/parent-{i}")), &secret("v"))
                .unwrap();
        }
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        for who in ["parent", "a", "b"] {
            for i in 0..20 {
                let key = SecretKey::Access(format!("p/{who}-{i}"));
                assert_eq!(get(&store, &key).as_deref(), Some("v"), "{who}-{i} lost");
            }
        }
    }

    /// Helper process for `concurrent_writers_in_processes_keep_each_others_secrets`.
    #[test]
    fn child_writer() {
        run_child("writer", |home| {
            let who = std::env::var("BROKER_STORE_TEST_WHO").unwrap();
            let store = FileStore::new(&home);
            for i in 0..20 {
                store
                    .set(&SecretKey::Access(format!("p/{who}-{i}")), &secret("v"))
                    .unwrap();
            }
        });
    }
}
