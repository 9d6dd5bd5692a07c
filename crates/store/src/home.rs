//! Where the broker keeps its files. One folder (`BROKER_HOME`) holds the
//! account index, the file store and the lock files, so that tests can point
//! everything at a temporary folder and users can see what the broker owns.

use std::path::{Path, PathBuf};

use crate::StoreError;

/// The `BROKER_HOME` layout: everything the broker writes lives below `root`:
///
/// ```text
/// accounts.toml        the index (plus accounts.toml.lock for Index::update)
/// secrets.json         the file store (plus secrets.json.lock for its writers)
/// locks/*.lock         one AccountLock file per account or app
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Names the folder; nothing is created until something is written.
    pub fn new(root: PathBuf) -> Home {
        Home { root }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the folder (mode 0700 on unix) if it is missing.
    ///
    /// An existing folder is left as it is: it may be one the user chose and
    /// shares with other files, and the secrets file is 0600 on its own.
    pub fn ensure(&self) -> Result<(), StoreError> {
        create_private_dir(&self.root)
    }

    /// The account index (non-secret metadata).
    pub fn index_path(&self) -> PathBuf {
        self.root.join("accounts.toml")
    }

    /// The file store for secrets.
    pub fn secrets_path(&self) -> PathBuf {
        self.root.join("secrets.json")
    }

    /// The folder for per-account lock files.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }
}

/// Creates `dir` and its missing parents, readable by the owner only.
///
/// The mode is given at creation (not set afterwards), so there is no moment
/// when the folder is open to others.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| StoreError::io("create the folder", dir, e))
}
