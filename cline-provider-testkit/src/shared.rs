//! Files the tests read from `shared/` beside the workspace (specs, see [`spec`](crate::spec);
//! the original product's fixtures): they are not part of the project, so a checkout may lack
//! them. Locally a
//! missing file skips what needs it, with a note; under CI (`CI=true`) it is a failure, so
//! that a missing spec can never pass vacuously.

use std::path::{Path, PathBuf};

/// `shared/` beside the workspace root (the directory that holds the workspace's checkout).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Whether this runs under CI: `CI` is set to anything but empty, `false` or `0` (as
/// `.ci/run` sets it, and CI services do).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
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
    assert!(
        !under_ci(),
        "{what} is missing at {}: under CI it must be present (is shared/ beside the checkout?)",
        path.display()
    );
    eprintln!("skipped: {what} is missing at {}", path.display());
    false
}
