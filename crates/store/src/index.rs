//! The account index: what the broker knows about each account and app
//! registration apart from the secrets (ids, provider, instance, scopes,
//! expiry, which store holds the secret).
//!
//! It is plain TOML so a person can read it, it is versioned so that a newer
//! format is refused instead of misread, and by type it cannot hold a secret:
//! secrets go through [`crate::SecretStore`] only.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Home, StoreError, StoreKind, atomic, lock};

/// The index format this code reads and writes.
const VERSION: u32 = 1;

/// How long [`Index::update`] waits for another process's update; updates
/// take milliseconds, so this only runs out if a process is stuck.
const UPDATE_WAIT: Duration = Duration::from_secs(10);

/// Non-secret metadata, stored as TOML at [`Home::index_path`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Index {
    /// Format version, always 1 for now.
    pub version: u32,
    /// Logged-in accounts, sorted by id.
    #[serde(default)]
    pub accounts: Vec<AccountRecord>,
    /// Client registrations (Mastodon apps), one per instance.
    #[serde(default)]
    pub apps: Vec<AppRecord>,
}

impl Default for Index {
    /// An empty index of the current version (so that saving it gives a
    /// file that loads again).
    fn default() -> Index {
        Index {
            version: VERSION,
            accounts: Vec::new(),
            apps: Vec::new(),
        }
    }
}

/// What the index says about one account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AccountRecord {
    /// `PROVIDER/USER`, e.g. `pinterest/alice`, `mastodon/alice@mstdn.jp`.
    pub id: String,
    /// `pinterest`, `pinterest-v3` or `mastodon`.
    pub provider: String,
    /// The API base or instance origin URL.
    pub instance: String,
    /// The user name as the provider reports it.
    pub username: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Usually `bearer`.
    pub token_type: String,
    /// When the access token expires (unix seconds); `None` if it does not
    /// expire or the provider did not say.
    pub expires_at: Option<u64>,
    /// When the refresh token expires (unix seconds), where the provider says.
    pub refresh_expires_at: Option<u64>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// Where this account's secrets live.
    pub store: StoreKind,
    /// Last change (unix seconds).
    pub updated_at: u64,
    /// Provider-specific non-secret details (e.g. a Mastodon `client_id`).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// A client registration (Mastodon `POST /api/v1/apps`), one per instance.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AppRecord {
    /// The instance origin URL.
    pub instance: String,
    /// The public client id (the client secret is in a [`crate::SecretStore`]).
    pub client_id: String,
    /// Scopes the app was registered with.
    pub scopes: Vec<String>,
    /// Redirect URIs the app was registered with.
    pub redirect_uris: Vec<String>,
    /// Where the client secret lives.
    pub store: StoreKind,
    /// Registration time (unix seconds).
    pub created_at: u64,
}

/// Why a selector did not pick exactly one account.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// Nothing matches.
    #[error("no account matches \"{selector}\"; {}", known_hint(known))]
    NotFound {
        /// What the user typed.
        selector: String,
        /// Every account id in the index.
        known: Vec<String>,
    },
    /// More than one account matches.
    #[error(
        "\"{selector}\" matches several accounts: {}; give one of these ids",
        candidates.join(", ")
    )]
    Ambiguous {
        /// What the user typed.
        selector: String,
        /// The matching account ids.
        candidates: Vec<String>,
    },
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        "there are no accounts yet: log in first with `broker login`".to_owned()
    } else {
        format!("known accounts: {}", known.join(", "))
    }
}

impl Index {
    /// Reads the index. A missing file is an empty index; a file that is not
    /// valid TOML or has another version is [`StoreError::Corrupt`] and is
    /// left as it is.
    pub fn load(home: &Home) -> Result<Index, StoreError> {
        let path = home.index_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.clone(),
            reason,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            corrupt(format!(
                "expected TOML with `version = 1`: {}",
                describe_toml_error(&e, &text)
            ))
        })?;
        match table.get("version").and_then(toml::Value::as_integer) {
            Some(v) if v == i64::from(VERSION) => {}
            Some(v) => {
                return Err(corrupt(format!(
                    "unknown version {v}; this broker reads version {VERSION}, so it may have \
                     been written by a newer broker"
                )));
            }
            None => return Err(corrupt("no `version = 1` line".to_owned())),
        }
        table
            .try_into()
            .map_err(|e: toml::de::Error| corrupt(format!("unexpected content: {}", e.message())))
    }

    /// Writes the index atomically with mode 0600, creating `home` if needed.
    ///
    /// Prefer [`Index::update`] when other broker processes may be writing:
    /// it re-reads under a lock so that no process loses another's change.
    pub fn save(&self, home: &Home) -> Result<(), StoreError> {
        home.ensure()?;
        let text = toml::to_string(self).map_err(|e| StoreError::Corrupt {
            path: home.index_path(),
            reason: format!("the index could not be encoded as TOML: {e}"),
        })?;
        atomic::write_atomic(&home.index_path(), text.as_bytes())
    }

    /// Loads, changes and saves the index under an exclusive lock, so that
    /// concurrent broker processes (a login here, a refresh there) never
    /// overwrite each other's changes. Returns what `change` returns.
    pub fn update<T>(home: &Home, change: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        home.ensure()?;
        let lock_path = home.root().join("accounts.toml.lock");
        let _lock = lock::lock_exclusive(&lock_path, "the account index", UPDATE_WAIT)?;
        let mut index = Index::load(home)?;
        let result = change(&mut index);
        index.save(home)?;
        Ok(result)
    }

    /// The account with exactly this id.
    pub fn account(&self, id: &str) -> Option<&AccountRecord> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Adds the account, or replaces the one with the same id.
    pub fn upsert_account(&mut self, rec: AccountRecord) {
        match self.accounts.iter_mut().find(|a| a.id == rec.id) {
            Some(slot) => *slot = rec,
            None => {
                self.accounts.push(rec);
                self.accounts.sort_by(|a, b| a.id.cmp(&b.id));
            }
        }
    }

    /// Removes and returns the account with this id.
    pub fn remove_account(&mut self, id: &str) -> Option<AccountRecord> {
        let pos = self.accounts.iter().position(|a| a.id == id)?;
        Some(self.accounts.remove(pos))
    }

    /// The app registration for this instance.
    pub fn app(&self, instance: &str) -> Option<&AppRecord> {
        self.apps.iter().find(|a| a.instance == instance)
    }

    /// Adds the app registration, or replaces the one for the same instance.
    pub fn upsert_app(&mut self, rec: AppRecord) {
        match self.apps.iter_mut().find(|a| a.instance == rec.instance) {
            Some(slot) => *slot = rec,
            None => {
                self.apps.push(rec);
                self.apps.sort_by(|a, b| a.instance.cmp(&b.instance));
            }
        }
    }

    /// Removes and returns the app registration for this instance.
    pub fn remove_app(&mut self, instance: &str) -> Option<AppRecord> {
        let pos = self.apps.iter().position(|a| a.instance == instance)?;
        Some(self.apps.remove(pos))
    }

    /// Resolves what the user typed as ACCOUNT: an exact id, else the one id
    /// it is a prefix of, else a bare provider name (`pinterest`) when
    /// exactly one account has that provider.
    pub fn resolve(&self, selector: &str) -> Result<&AccountRecord, SelectError> {
        if let Some(exact) = self.account(selector) {
            return Ok(exact);
        }
        let by_prefix: Vec<&AccountRecord> = if selector.is_empty() {
            Vec::new()
        } else {
            self.accounts
                .iter()
                .filter(|a| a.id.starts_with(selector))
                .collect()
        };
        if let [one] = by_prefix[..] {
            return Ok(one);
        }
        // "pinterest" is a prefix of both `pinterest/alice` and
        // `pinterest-v3/bob`, so the provider name gets its own chance.
        let by_provider: Vec<&AccountRecord> = self
            .accounts
            .iter()
            .filter(|a| a.provider == selector)
            .collect();
        if let [one] = by_provider[..] {
            return Ok(one);
        }
        let candidates = if by_provider.is_empty() {
            by_prefix
        } else {
            by_provider
        };
        if candidates.is_empty() {
            return Err(SelectError::NotFound {
                selector: selector.to_owned(),
                known: self.accounts.iter().map(|a| a.id.clone()).collect(),
            });
        }
        Err(SelectError::Ambiguous {
            selector: selector.to_owned(),
            candidates: candidates.iter().map(|a| a.id.clone()).collect(),
        })
    }
}

/// A one-line description of a TOML error: its message and line number
/// (the default rendering quotes the source over several lines).
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{} at line {line}", e.message().trim_end())
        }
        None => e.message().trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, provider: &str) -> AccountRecord {
        AccountRecord {
            id: id.to_owned(),
            provider: provider.to_owned(),
            instance: "https://api.pinterest.com".to_owned(),
            username: id.rsplit('/').next().unwrap().to_owned(),
            scopes: vec!["boards:read".to_owned(), "pins:read".to_owned()],
            token_type: "bearer".to_owned(),
            expires_at: Some(1_800_000_000),
            refresh_expires_at: None,
            has_refresh_token: true,
            store: StoreKind::File,
            updated_at: 1_700_000_000,
            extra: BTreeMap::new(),
        }
    }

    fn sample() -> Index {
        let mut index = Index::default();
        index.upsert_account(account("pinterest/alice", "pinterest"));
        index.upsert_account(account("pinterest-v3/bob", "pinterest-v3"));
        let mut m = account("mastodon/alice@mstdn.jp", "mastodon");
        m.instance = "https://mstdn.jp".to_owned();
        m.extra.insert("client_id".to_owned(), "abc".to_owned());
        m.store = StoreKind::Keyring;
        index.upsert_account(m);
        index.upsert_app(AppRecord {
            instance: "https://mstdn.jp".to_owned(),
            client_id: "abc".to_owned(),
            scopes: vec!["read".to_owned()],
            redirect_uris: vec!["urn:ietf:wg:oauth:2.0:oob".to_owned()],
            store: StoreKind::Keyring,
            created_at: 1_700_000_000,
        });
        index
    }

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("broker"));
        (dir, home)
    }

    #[test]
    fn missing_file_is_an_empty_version_1_index() {
        let (_dir, home) = home();
        let index = Index::load(&home).unwrap();
        assert_eq!(index, Index::default());
        assert_eq!(index.version, 1);
        assert!(!home.root().exists(), "loading must not create anything");
    }

    #[test]
    fn save_then_load_round_trips() {
        let (_dir, home) = home();
        let index = sample();
        index.save(&home).unwrap();
        assert_eq!(Index::load(&home).unwrap(), index);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(home.index_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(home.root()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn serialized_index_has_only_metadata_keys() {
        let text = toml::to_string(&sample()).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let top: Vec<&str> = table.keys().map(String::as_str).collect();
        assert_eq!(top, ["accounts", "apps", "version"]);
        let account_keys = [
            "expires_at",
            "extra",
            "has_refresh_token",
            "id",
            "instance",
            "provider",
            "scopes",
            "store",
            "token_type",
            "updated_at",
            "username",
        ];
        for account in table["accounts"].as_array().unwrap() {
            let keys: Vec<&str> = account
                .as_table()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            for key in &keys {
                assert!(
                    account_keys.contains(key),
                    "unexpected key {key} in\n{text}"
                );
            }
        }
        for app in table["apps"].as_array().unwrap() {
            let keys: Vec<&str> = app.as_table().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "client_id",
                    "created_at",
                    "instance",
                    "redirect_uris",
                    "scopes",
                    "store"
                ]
            );
        }
        for word in ["secret", "access_token", "password"] {
            assert!(!text.contains(word), "{word} in\n{text}");
        }
    }

    #[test]
    fn corrupt_or_unknown_version_is_reported_and_left_alone() {
        let (_dir, home) = home();
        home.ensure().unwrap();
        for bad in [
            "version = 1\n[[accounts]\n",
            "version = 2\n",
            "accounts = []\n",
            "version = 1\naccounts = 5\n",
        ] {
            std::fs::write(home.index_path(), bad).unwrap();
            let err = Index::load(&home).unwrap_err();
            assert!(
                matches!(err, StoreError::Corrupt { ref path, .. } if *path == home.index_path())
            );
            let msg = err.to_string();
            assert!(
                msg.contains("accounts.toml") && msg.contains("left untouched"),
                "{msg}"
            );
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(Index::update(&home, |_| ()).is_err());
            assert_eq!(std::fs::read_to_string(home.index_path()).unwrap(), bad);
        }
    }

    #[test]
    fn update_from_many_threads_loses_nothing() {
        let (_dir, home) = home();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let home = home.clone();
                std::thread::spawn(move || {
                    Index::update(&home, |index| {
                        index.upsert_account(account(&format!("pinterest/u{i}"), "pinterest"))
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(Index::load(&home).unwrap().accounts.len(), 8);
    }

    #[test]
    fn upsert_replaces_and_remove_removes() {
        let mut index = sample();
        let mut changed = account("pinterest/alice", "pinterest");
        changed.expires_at = None;
        index.upsert_account(changed.clone());
        assert_eq!(index.accounts.len(), 3);
        assert_eq!(index.account("pinterest/alice"), Some(&changed));
        let ids: Vec<&str> = index.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "mastodon/alice@mstdn.jp",
                "pinterest-v3/bob",
                "pinterest/alice"
            ]
        );
        assert_eq!(index.remove_account("pinterest/alice"), Some(changed));
        assert_eq!(index.remove_account("pinterest/alice"), None);
        assert!(index.app("https://mstdn.jp").is_some());
        assert!(index.remove_app("https://mstdn.jp").is_some());
        assert!(index.app("https://mstdn.jp").is_none());
    }

    #[test]
    fn resolve_exact_prefix_and_provider() {
        let index = sample();
        let id = |s: &str| index.resolve(s).map(|a| a.id.as_str());
        assert_eq!(id("pinterest/alice"), Ok("pinterest/alice"));
        assert_eq!(id("pinterest/a"), Ok("pinterest/alice"));
        assert_eq!(id("mastodon"), Ok("mastodon/alice@mstdn.jp"));
        assert_eq!(id("mastodon/alice"), Ok("mastodon/alice@mstdn.jp"));
        // A prefix of two ids, but the provider of only one.
        assert_eq!(id("pinterest"), Ok("pinterest/alice"));
        assert_eq!(id("pinterest-v3"), Ok("pinterest-v3/bob"));
    }

    #[test]
    fn resolve_ambiguous_lists_candidates() {
        let mut index = sample();
        index.upsert_account(account("pinterest/alex", "pinterest"));
        let err = index.resolve("pinterest/al").unwrap_err();
        assert_eq!(
            err,
            SelectError::Ambiguous {
                selector: "pinterest/al".to_owned(),
                candidates: vec!["pinterest/alex".to_owned(), "pinterest/alice".to_owned()],
            }
        );
        assert_eq!(
            err.to_string(),
            "\"pinterest/al\" matches several accounts: pinterest/alex, pinterest/alice; \
             give one of these ids"
        );
        let err = index.resolve("pinterest").unwrap_err();
        assert!(matches!(err, SelectError::Ambiguous { ref candidates, .. }
            if candidates == &["pinterest/alex", "pinterest/alice"]));
    }

    #[test]
    fn resolve_unknown_lists_known_accounts() {
        let index = sample();
        let err = index.resolve("github").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no account matches \"github\"; known accounts: mastodon/alice@mstdn.jp, \
             pinterest-v3/bob, pinterest/alice"
        );
        assert!(matches!(
            index.resolve(""),
            Err(SelectError::NotFound { .. })
        ));
        let err = Index::default().resolve("pinterest").unwrap_err();
        assert!(err.to_string().contains("no accounts yet"), "{err}");
    }
}
