//! Cross-process locks: an exclusive advisory lock on a lock file, so that two programs
//! sharing one file (a sign-in that rotates its refresh token, say) take turns.
//!
//! The lock is `flock(2)` on unix and `LockFileEx` on Windows (through the `fs4` crate), the
//! same calls the Rust standard library's `File::lock` makes, so a program written against
//! either sees the other's lock. It is advisory: it only excludes programs that take it too.
//!
//! A lock belongs to an open file, not to a path: the operating system releases it when the
//! holder closes the file or dies, so a lock file left behind by a crashed process is never
//! "held" and needs no clean-up (the file itself stays, empty, and is reused). Two
//! [`FileLock`]s on the same path exclude each other even inside one process.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> cline_provider_core::Result<()> {
//! use std::time::Duration;
//! use cline_provider_core::lockfile::FileLock;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("auth.lock");
//! let held = FileLock::acquire(&path, Duration::from_secs(5)).await?;
//! assert!(FileLock::try_acquire(&path)?.is_none(), "a second holder must wait");
//! drop(held);
//! assert!(FileLock::try_acquire(&path)?.is_some());
//! # Ok(()) }
//! ```

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// How often [`FileLock::acquire`] tries again while another process holds the lock.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// An exclusive lock on a lock file, released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released as soon as it is dropped"]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock if no one holds it, without waiting: `Ok(None)` when it is held.
    ///
    /// Creates the lock file (mode `0600`, and its directory with mode `0700`) when it does
    /// not exist.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] naming the path when the file cannot be opened or the file system
    /// does not support locks.
    pub fn try_acquire(path: &Path) -> Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(FileLock {
                file,
                path: path.to_path_buf(),
            })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(e)) => Err(lock_error(path, e)),
        }
    }

    /// Takes the lock, trying every [`POLL_INTERVAL`] while another process holds it, for at
    /// most `wait`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] naming the path when the lock is still held after `wait` (the hint
    /// says another program is using the file), or as for [`FileLock::try_acquire`].
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops waiting; no lock is left behind.
    pub async fn acquire(path: &Path, wait: Duration) -> Result<FileLock> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(lock) = FileLock::try_acquire(path)? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "`{}` is still locked by another process after {wait:?}",
                        path.display()
                    ),
                )
                .with_field(path.display().to_string())
                .with_hint(
                    "Another program is using this file and has not let go of it. Wait for it \
                     to finish, or close it, and try again.",
                ));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the release immediate
        // even if something else still holds a duplicate of the descriptor.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fs::create_private_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    // Write access: Windows needs it for LockFileEx; the file is never written.
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| lock_error(path, e))
}

fn lock_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("could not lock `{}`: {e}", path.display()),
    )
    .with_field(path.display().to_string())
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_makes_acquire_wait_then_give_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("x.lock");
        let _held = FileLock::try_acquire(&path).expect("lock").expect("free");
        let err = FileLock::acquire(&path, Duration::from_millis(30))
            .await
            .expect_err("held");
        assert_eq!(err.kind(), &ErrorKind::Io);
        assert!(err.hint().contains("Another program"));
    }

    #[tokio::test]
    async fn acquire_succeeds_once_the_holder_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        let held = FileLock::try_acquire(&path).expect("lock").expect("free");
        let waiter = tokio::spawn({
            let path = path.clone();
            async move { FileLock::acquire(&path, Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(held);
        let _lock = waiter.await.expect("join").expect("acquired");
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        let _held = FileLock::try_acquire(&path).expect("lock").expect("free");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
