//! Crash-safe replacement of a whole file, shared by the index and the file
//! store so that there is exactly one place that gets the steps right.
//!
//! A reader (another broker process) must only ever see the old or the new
//! content, and a crash at any step must leave one of the two on disk: write
//! a new file beside the target, fsync it, rename it over the target, then
//! fsync the folder so that the rename itself survives a power cut.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::StoreError;

/// Makes temporary names unique between threads of one process; the pid in
/// the name separates processes.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes`, atomically, as a file readable and writable
/// by the owner only (0600 on unix, whatever the umask).
///
/// The permissions are set when the temporary file is created, never changed
/// afterwards, so the content is not exposed even for a moment; since the
/// target is replaced rather than rewritten, an old file with looser
/// permissions ends up 0600 too.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp_path, mut tmp) = create_temp(dir, path)?;
    let result = (|| {
        tmp.write_all(bytes)
            .and_then(|()| tmp.sync_all())
            .map_err(|e| StoreError::io("write", &tmp_path, e))?;
        drop(tmp);
        std::fs::rename(&tmp_path, path).map_err(|e| StoreError::io("replace", path, e))?;
        sync_dir(dir).map_err(|e| StoreError::io("sync the folder", dir, e))
    })();
    if result.is_err() {
        // Best effort: a leftover temporary file is harmless (hidden, 0600,
        // never read), but there is no reason to keep it.
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

/// Creates a fresh temporary file next to `target` with `create_new`, so an
/// existing file (or a symlink planted there) is never reused.
fn create_temp(dir: &Path, target: &Path) -> Result<(PathBuf, File), StoreError> {
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "broker".to_owned());
    let mut last_err = None;
    // A name can only be taken by a temporary file left by a crashed process
    // whose pid we now have, so a few attempts are plenty.
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_path = dir.join(format!(".{base}.{}.{n}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp_path) {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some((tmp_path, e)),
            Err(e) => return Err(StoreError::io("create", tmp_path, e)),
        }
    }
    let (tmp_path, e) = last_err.expect("the loop ran at least once");
    Err(StoreError::io("create", tmp_path, e))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

// Windows cannot open a folder as a file; its rename is journaled by NTFS.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.txt")]);
    }

    #[test]
    fn a_leftover_temporary_file_does_not_block_writes() {
        // What a crash between "create the temporary file" and "rename"
        // leaves behind: the target still holds the old version.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        write_atomic(&path, b"old").unwrap();
        // Plant the next few names so that the writer must skip them.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 4 {
            let name = format!(".f.txt.{}.{n}.tmp", std::process::id());
            std::fs::write(dir.path().join(name), b"half").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_loose_file_gives_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
