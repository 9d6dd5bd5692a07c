//! Settings: the command line, the environment and the config file merged
//! once, in that order of precedence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use broker_store::{Home, StoreChoice};
use serde::Deserialize;

use crate::args::{GlobalArgs, StoreArg};
use crate::env;

/// The config file (see `config/config.example.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// `auto`, `keyring` or `file`.
    pub(crate) store: Option<String>,
    #[serde(default)]
    pub(crate) pinterest: PinterestSection,
    #[serde(default)]
    pub(crate) mastodon: MastodonSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinterestSection {
    pub(crate) app_id: Option<String>,
    /// A secret: `ClientSecret` keeps it out of `Debug`.
    pub(crate) app_secret: Option<broker_core::ClientSecret>,
    pub(crate) authorize_url: Option<String>,
    pub(crate) api_base: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) pkce: Option<bool>,
    pub(crate) continuous_refresh: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MastodonSection {
    pub(crate) client_name: Option<String>,
    pub(crate) website: Option<String>,
}

/// Everything a command needs to know about where things are.
pub(crate) struct Settings {
    pub(crate) home: Home,
    pub(crate) config_path: PathBuf,
    pub(crate) config: ConfigFile,
    pub(crate) store: StoreChoice,
    pub(crate) keyring_service: String,
    pub(crate) keyring_timeout: Duration,
}

impl Settings {
    pub(crate) fn load(global: &GlobalArgs) -> Result<Settings> {
        let dirs = directories::ProjectDirs::from("", "", "broker");
        let home_root = match env::var(env::BROKER_HOME) {
            Some(h) => PathBuf::from(h),
            None => dirs
                .as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .context("no home folder found; set BROKER_HOME to a folder broker may write to")?,
        };
        let (config_path, explicit) = match &global.config {
            Some(p) => (p.clone(), true),
            None if env::var(env::BROKER_HOME).is_some() => (home_root.join("config.toml"), false),
            None => (
                dirs.as_ref()
                    .map(|d| d.config_dir().join("config.toml"))
                    .unwrap_or_else(|| home_root.join("config.toml")),
                false,
            ),
        };
        let config = read_config(&config_path, explicit)?;
        let store = match (global.store, config.store.as_deref()) {
            (Some(StoreArg::Auto), _) => StoreChoice::Auto,
            (Some(StoreArg::Keyring), _) => StoreChoice::Keyring,
            (Some(StoreArg::File), _) => StoreChoice::File,
            (None, None | Some("auto")) => StoreChoice::Auto,
            (None, Some("keyring")) => StoreChoice::Keyring,
            (None, Some("file")) => StoreChoice::File,
            (None, Some(other)) => bail!(
                "{}: store = \"{other}\" is not one of auto, keyring, file",
                config_path.display()
            ),
        };
        let keyring_timeout = env::var(env::BROKER_KEYRING_TIMEOUT)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(5));
        Ok(Settings {
            home: Home::new(home_root),
            config_path,
            config,
            store,
            keyring_service: env::var(env::BROKER_KEYRING_SERVICE)
                .unwrap_or_else(|| "broker".into()),
            keyring_timeout,
        })
    }
}

fn read_config(path: &Path, explicit: bool) -> Result<ConfigFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(ConfigFile::default());
        }
        Err(e) => {
            return Err(UsageError(format!(
                "could not read the config file {}: {e}",
                path.display()
            ))
            .into());
        }
    };
    toml::from_str(&text).map_err(|e| {
        // toml's message points at the line; it never holds more than the file.
        anyhow::anyhow!(UsageError(format!(
            "the config file {} is not valid: {}",
            path.display(),
            e.message()
        )))
    })
}

/// An error that is the user's input: exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_config_parses() {
        let text = include_str!("../../config/config.example.toml");
        let c: ConfigFile = toml::from_str(text).unwrap();
        assert!(
            c.pinterest.app_secret.is_none(),
            "the example must not carry a secret"
        );
    }

    #[test]
    fn the_app_secret_is_redacted_in_debug() {
        let c: ConfigFile = toml::from_str("[pinterest]\napp_secret = \"s3cr3t-value\"\n").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ConfigFile>("[pinterest]\napp_idd = \"x\"\n").is_err());
    }
}
