//! Files the tests read from `shared/` beside the workspace (specs, the original product's
//! fixtures): they are not part of the project, so a checkout may lack them. Locally a
//! missing file skips what needs it, with a note; under CI (`CI=true`) it is a failure, so
//! that a missing spec can never pass vacuously.

use std::path::{Path, PathBuf};

/// `shared/` beside the workspace root (the directory that holds the workspace's checkout).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Whether `path` exists. When it does not, says so on stderr, or panics under `CI=true`.
///
/// # Panics
///
/// Under `CI=true` when `path` is missing: CI must test what it claims to.
///
/// ```
/// use cline_provider_testkit::shared;
/// let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
/// assert!(shared::present(&here, "the testkit's manifest"));
/// ```
pub fn present(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{what} is missing at {}: under CI it must be present (is shared/ beside the checkout?)",
        path.display()
    );
    eprintln!("skipped: {what} is missing at {}", path.display());
    false
}
