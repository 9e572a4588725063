//! Owner directories and the sweep of dead owners' files.
//!
//! Each process that pools objects writes them into its own directory,
//! `owner-<host>-<pid>-<start>`, and holds an exclusive `flock` on the `lock`
//! file inside for as long as it lives. The kernel drops the lock when the
//! process dies, however it dies (kill -9 included), so a directory whose lock
//! can be taken belongs to nobody and can be removed. A live owner's lock
//! cannot be taken, so its files are never touched. A forked child shares its
//! parent's lock (same open file description), which keeps the directory alive
//! while either still runs.
//!
//! A directory is created under a `.claim-` name, locked, and only then
//! renamed to its `owner-` name, so a sweeper never sees an unlocked owner
//! directory that is still being set up.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::sys;
use crate::error::{MmError, Result};

pub const OWNER_PREFIX: &str = "owner-";
const CLAIM_PREFIX: &str = ".claim-";
pub const LOCK_FILE: &str = "lock";

/// The directory of a live owner; the lock is held while this value lives.
#[derive(Debug)]
pub struct OwnerDir {
    path: PathBuf,
    _lock: File,
}

impl OwnerDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and everything in it (the owner is done).
    pub fn remove(self) -> Result<()> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(MmError::Io { op: "removing the pool directory", path: self.path.clone(), source: e }),
        }
    }
}

fn pool_err(what: &str, path: &Path, e: std::io::Error) -> MmError {
    MmError::Pool(format!("cannot {what} '{}': {e}", path.display()))
}

/// Creates and locks `root/owner-<name>`.
pub fn claim(root: &Path, name: &str) -> Result<OwnerDir> {
    fs::create_dir_all(root).map_err(|e| pool_err("create the pool directory", root, e))?;
    let claim = root.join(format!("{CLAIM_PREFIX}{name}"));
    let dest = root.join(format!("{OWNER_PREFIX}{name}"));
    if dest.exists() {
        return Err(MmError::Pool(format!("the pool directory '{}' is already in use", dest.display())));
    }
    match fs::create_dir(&claim) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(pool_err("create", &claim, e)),
    }
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(claim.join(LOCK_FILE))
        .map_err(|e| pool_err("create the lock file in", &claim, e))?;
    if !sys::try_lock(&lock).map_err(|e| pool_err("lock", &claim, e))? {
        return Err(MmError::Pool(format!("the pool directory '{}' is locked by another process", claim.display())));
    }
    fs::rename(&claim, &dest).map_err(|e| pool_err("rename the new pool directory", &claim, e))?;
    let _ = sys::sync_dir(root);
    Ok(OwnerDir { path: dest, _lock: lock })
}

/// Whether the owner of `dir` is alive (its lock is held). A directory with no
/// lock file is a leftover and counts as dead.
pub fn is_alive(dir: &Path) -> Result<bool> {
    let lock = match OpenOptions::new().write(true).open(dir.join(LOCK_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(pool_err("open the lock file in", dir, e)),
    };
    Ok(!sys::try_lock(&lock).map_err(|e| pool_err("lock", dir, e))?)
}

/// Removes every dead owner's directory under `root` (and dead half-made
/// claims). `mine` is never touched. Directories we may not read or remove
/// (another user's) are skipped. Returns the directories removed.
pub fn sweep(root: &Path, mine: Option<&Path>) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(listing) = fs::read_dir(root) else { return removed };
    for item in listing.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(OWNER_PREFIX) || name.starts_with(CLAIM_PREFIX)) {
            continue;
        }
        let dir = item.path();
        if mine.is_some_and(|m| m == dir) || !item.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // A claim without its lock file yet may be in the middle of being made.
        if name.starts_with(CLAIM_PREFIX) && !dir.join(LOCK_FILE).exists() {
            continue;
        }
        // Hold the dead owner's lock while removing, so two sweepers (or a
        // sweeper and a restarting owner) do not interleave.
        let Ok(lock) = OpenOptions::new().write(true).open(dir.join(LOCK_FILE)) else {
            if name.starts_with(OWNER_PREFIX) && fs::remove_dir_all(&dir).is_ok() {
                removed.push(dir);
            }
            continue;
        };
        if let Ok(true) = sys::try_lock(&lock) {
            if fs::remove_dir_all(&dir).is_ok() {
                removed.push(dir);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_owners_are_kept_dead_ones_swept() {
        let root = tempfile::tempdir().unwrap();
        let live = claim(root.path(), "live-1").unwrap();
        fs::write(live.path().join("1.pool"), b"x").unwrap();
        let dead = claim(root.path(), "dead-2").unwrap();
        let dead_path = dead.path().to_path_buf();
        fs::write(dead_path.join("2.pool"), b"y").unwrap();
        drop(dead); // the lock goes as if the process died
        // a leftover without a lock file, and unrelated files
        fs::create_dir(root.path().join("owner-nolock")).unwrap();
        fs::write(root.path().join("user-file"), b"keep").unwrap();
        assert!(is_alive(live.path()).unwrap());
        assert!(!is_alive(&dead_path).unwrap());
        let mut removed = sweep(root.path(), None);
        removed.sort();
        assert_eq!(removed, vec![dead_path.clone(), root.path().join("owner-nolock")]);
        assert!(live.path().join("1.pool").exists());
        assert!(root.path().join("user-file").exists());
        assert!(!dead_path.exists());
        // the live owner may remove its own directory
        let p = live.path().to_path_buf();
        live.remove().unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn a_name_in_use_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let _a = claim(root.path(), "same").unwrap();
        assert_eq!(claim(root.path(), "same").unwrap_err().class(), "mmap_error_pool");
    }

    #[test]
    fn a_held_lock_in_another_process_keeps_the_directory() {
        // flock is per open file description: a lock taken through another
        // descriptor of the same file behaves like another process's lock.
        let root = tempfile::tempdir().unwrap();
        let a = claim(root.path(), "other").unwrap();
        let p = a.path().to_path_buf();
        let second = OpenOptions::new().write(true).open(p.join(LOCK_FILE)).unwrap();
        drop(a);
        assert!(sys::try_lock(&second).unwrap());
        assert!(sweep(root.path(), None).is_empty());
        assert!(p.exists());
        drop(second);
        assert_eq!(sweep(root.path(), None), vec![p]);
    }
}
