//! Cross-process locks, so that two broker processes never refresh the same
//! account at once (a rotating refresh token used twice kills the session)
//! and never lose each other's writes to a shared file.
//!
//! The locks are advisory OS file locks (`flock` on unix, `LockFileEx` on
//! Windows) taken through `fd-lock`. The OS drops them when the file is
//! closed, including when the holder dies, so a lock file left on disk never
//! blocks anyone: there are no stale locks to clean up.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::home::create_private_dir;
use crate::{Home, StoreError};

/// How often a waiting process retries; short, because holders only keep a
/// lock for one refresh or one file rewrite.
const POLL: Duration = Duration::from_millis(20);

/// An exclusive lock on one account (or app), held around
/// read → refresh → write and released when dropped.
///
/// After acquiring it, re-read the stored secrets: another process may have
/// refreshed while we waited. Never hold it while waiting for the user.
#[derive(Debug)]
pub struct AccountLock {
    // Closing this file releases the lock.
    _file: File,
    path: PathBuf,
}

impl AccountLock {
    /// Takes the lock named `name` (an account id or an app's instance),
    /// waiting up to `wait` for another holder to release it; after that the
    /// result is [`StoreError::Busy`].
    pub fn acquire(home: &Home, name: &str, wait: Duration) -> Result<AccountLock, StoreError> {
        let dir = home.locks_dir();
        home.ensure()?;
        create_private_dir(&dir)?;
        let path = dir.join(lock_file_name(name));
        let file = lock_exclusive(&path, name, wait)?;
        Ok(AccountLock { _file: file, path })
    }

    /// The lock file (it stays on disk after the lock is released).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens (creating if needed) `path` and takes an exclusive lock on it,
/// polling until `wait` has passed. The returned file holds the lock until
/// it is closed.
pub(crate) fn lock_exclusive(path: &Path, name: &str, wait: Duration) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|e| StoreError::io("open the lock file", path, e))?;
    let mut lock = fd_lock::RwLock::new(file);
    let start = Instant::now();
    loop {
        let taken = match lock.try_write() {
            Ok(guard) => {
                // The guard borrows the RwLock, which cannot be kept next to
                // it in one struct without unsafe code. Forgetting the guard
                // skips only its explicit unlock; the OS lock stays held
                // until the file is closed, which is exactly the lifetime we
                // want (the file moves into the returned value).
                std::mem::forget(guard);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) => return Err(StoreError::io("lock", path, e)),
        };
        if taken {
            return Ok(lock.into_inner());
        }
        let waited = start.elapsed();
        if waited >= wait {
            return Err(StoreError::Busy {
                name: name.to_owned(),
            });
        }
        std::thread::sleep(POLL.min(wait - waited));
    }
}

/// A file name for a lock: readable (the name with unsafe characters
/// replaced) plus a stable hash of the exact name, so that `a/b` and `a_b`
/// never share a lock and long names stay short.
fn lock_file_name(name: &str) -> String {
    let readable: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{readable}.{:016x}.lock", fnv1a(name.as_bytes()))
}

/// FNV-1a: tiny and, unlike std's hasher, the same in every process and build.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{child_env, run_child};
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    #[test]
    fn lock_file_names_are_safe_and_distinct() {
        let a = lock_file_name("mastodon/alice@mstdn.jp");
        assert!(a.starts_with("mastodon_alice@mstdn.jp."), "{a}");
        assert!(a.ends_with(".lock"));
        assert_ne!(lock_file_name("a/b"), lock_file_name("a_b"));
        assert_eq!(lock_file_name("a/b"), lock_file_name("a/b"));
        let long = lock_file_name(&"x".repeat(500));
        assert!(long.len() < 100);
        assert!(!lock_file_name("../../etc/passwd").contains('/'));
    }

    #[test]
    fn second_acquire_waits_then_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_path_buf());
        let _held = AccountLock::acquire(&home, "pinterest/alice", Duration::ZERO).unwrap();
        let home2 = home.clone();
        let (elapsed, result) = std::thread::spawn(move || {
            let start = Instant::now();
            let r = AccountLock::acquire(&home2, "pinterest/alice", Duration::from_millis(300));
            (start.elapsed(), r)
        })
        .join()
        .unwrap();
        match result {
            Err(StoreError::Busy { name }) => assert_eq!(name, "pinterest/alice"),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        // Other names are independent.
        AccountLock::acquire(&home, "pinterest/bob", Duration::ZERO).unwrap();
    }

    #[test]
    fn released_on_drop_and_a_waiter_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_path_buf());
        let held = AccountLock::acquire(&home, "mastodon/a@b", Duration::ZERO).unwrap();
        let path = held.path().to_path_buf();
        let home2 = home.clone();
        let waiter = std::thread::spawn(move || {
            AccountLock::acquire(&home2, "mastodon/a@b", Duration::from_secs(10))
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        waiter.join().unwrap().unwrap();
        assert!(path.exists(), "the lock file stays on disk");
        AccountLock::acquire(&home, "mastodon/a@b", Duration::ZERO).unwrap();
    }

    #[test]
    fn a_dead_holder_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_path_buf());
        let mut child = child_env("lock::tests::child_hold_lock", "hold-lock", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The test harness prints its own lines first.
        let locked = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .any(|line| line.unwrap().ends_with("LOCKED"));
        assert!(locked, "the child never took the lock");
        assert!(matches!(
            AccountLock::acquire(&home, "pinterest/alice", Duration::from_millis(50)),
            Err(StoreError::Busy { .. })
        ));
        // Kill the holder without giving it a chance to unlock.
        child.kill().unwrap();
        child.wait().unwrap();
        AccountLock::acquire(&home, "pinterest/alice", Duration::from_secs(5)).unwrap();
    }

    /// Helper process for `a_dead_holder_does_not_block`: takes the lock,
    /// says so, then sleeps until killed. A no-op in a normal test run.
    #[test]
    fn child_hold_lock() {
        run_child("hold-lock", |home| {
            let _lock = AccountLock::acquire(&home, "pinterest/alice", Duration::ZERO).unwrap();
            println!("LOCKED");
            std::thread::sleep(Duration::from_secs(60));
        });
    }
}
