//! Crash-safe private files: atomic writes with mode `0600`, capped reads.
//!
//! A save goes through two steps so that a crash at any moment leaves either the old file or
//! the new one, never a torn mix:
//!
//! 1. [`write_temp`] creates a fresh temporary file next to the target (same directory, so the
//!    rename stays on one file system), with mode `0600` from the moment it exists on unix,
//!    writes the bytes and fsyncs them;
//! 2. [`PendingWrite::commit`] renames it over the target and fsyncs the directory so the rename
//!    itself survives a power cut.
//!
//! [`write_atomic`] does both. The split exists so tests (and careful callers) can stop
//! between the two steps.
//!
//! ```
//! # fn main() -> cline_provider_core::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("settings.json");
//! cline_provider_core::fs::write_atomic(&path, b"{}")?;
//! assert_eq!(std::fs::read(&path)?, b"{}");
//! # Ok(()) }
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Files this SDK reads (settings, policies, secrets) are small; anything larger than this is
/// refused rather than read into memory.
pub const MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// A temporary file holding the complete new contents, not yet renamed over its target.
///
/// Dropping it without [`commit`](PendingWrite::commit) removes the temporary file and leaves
/// the target untouched.
#[derive(Debug)]
#[must_use = "the new contents only replace the target once `commit` is called"]
pub struct PendingWrite {
    temp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl PendingWrite {
    /// The temporary file.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The file that [`commit`](PendingWrite::commit) replaces.
    pub fn target_path(&self) -> &Path {
        &self.target
    }

    /// Renames the temporary file over the target and makes the rename durable.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.temp, &self.target)
            .map_err(|e| io_error("replace", &self.target, e))?;
        self.done = true;
        sync_dir(&self.target)
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: a leftover temp file is harmless (the next save uses a new name).
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically, with mode `0600` on unix. Creates the parent
/// directory (mode `0700`) when it is missing.
///
/// On failure the previous contents of `path`, if any, are intact and an
/// [`ErrorKind::Io`] error names the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_temp(path, bytes)?.commit()
}

/// The first half of [`write_atomic`]: writes and fsyncs the new contents to a temporary file
/// beside `path` without touching `path` itself.
pub fn write_temp(path: &Path, bytes: &[u8]) -> Result<PendingWrite> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::invalid_config(path.display().to_string(), "not a file path"))?;
    let dir = parent_dir(path);
    create_private_dir(&dir)?;

    let mut last_err = None;
    // A few attempts only guard against a name collision with a leftover temp file.
    for _ in 0..8 {
        let temp = dir.join(format!(
            ".{}.{}.{:016x}.tmp",
            file_name.to_string_lossy(),
            std::process::id(),
            fastrand::u64(..)
        ));
        match create_new_private(&temp) {
            Ok(mut file) => {
                let pending = PendingWrite {
                    temp,
                    target: path.to_path_buf(),
                    done: false,
                };
                file.write_all(bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_error("write", &pending.temp, e))?;
                return Ok(pending);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(io_error("create a temporary file for", path, e)),
        }
    }
    Err(io_error(
        "create a temporary file for",
        path,
        last_err.unwrap_or_else(|| std::io::Error::other("name collision")),
    ))
}

/// Reads a whole file of at most [`MAX_FILE_SIZE`] bytes. `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, e)),
    };
    let mut buf = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_error("read", path, e))?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "`{}` is larger than {} MiB; refusing to read it",
                path.display(),
                MAX_FILE_SIZE / (1024 * 1024)
            ),
        )
        .with_field(path.display().to_string()));
    }
    Ok(Some(buf))
}

/// Removes a file; a file that is already gone is not an error.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", path, e)),
    }
}

/// Creates `dir` and its missing parents; on unix the directories this creates get mode
/// `0700`. An existing directory keeps its mode.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("create the directory", dir, e))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_new_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the secret is never readable by others, not even briefly.
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(unix)]
fn sync_dir(target: &Path) -> Result<()> {
    let dir = parent_dir(target);
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync the directory of", target, e))
}

#[cfg(not(unix))]
fn sync_dir(_target: &Path) -> Result<()> {
    // Windows offers no portable directory fsync; the rename itself is already durable there.
    Ok(())
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("could not {action} `{}`: {e}", path.display()),
    )
    .with_field(path.display().to_string())
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_pending_write_removes_the_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.json");
        let pending = write_temp(&path, b"new").expect("write_temp");
        let temp = pending.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(pending);
        assert!(!temp.exists());
        assert!(!path.exists());
    }

    #[test]
    fn a_path_without_file_name_is_refused() {
        let err = write_atomic(Path::new("/"), b"x").expect_err("no file name");
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    }
}
