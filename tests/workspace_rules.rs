//! Rules every crate of the workspace follows, checked on the files themselves: no library
//! crate may use `unsafe`, and docs.rs documents every feature (so `KeyringSecretStore`, the
//! `schemars` helpers and the backends show).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The library crates: the facade and every workspace member.
fn library_crates() -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("a members list");
    let mut crates = vec![root()];
    crates.extend(
        members
            .split(',')
            .map(|m| m.trim().trim_matches('"'))
            .filter(|m| !m.is_empty())
            .map(|m| root().join(m)),
    );
    crates
}

#[test]
fn every_library_crate_forbids_unsafe_code() {
    let crates = library_crates();
    assert!(crates.len() >= 6, "{crates:?}");
    for dir in crates {
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            lib.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"),
            "{} does not forbid unsafe code",
            dir.join("src/lib.rs").display()
        );
    }
}

#[test]
fn docs_rs_builds_every_feature_of_the_crates_that_have_them() {
    for dir in [root(), root().join("cline-provider-core")] {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let section = manifest
            .split("[package.metadata.docs.rs]")
            .nth(1)
            .unwrap_or_else(|| panic!("{} has no docs.rs section", dir.display()));
        let section = section.split("\n[").next().unwrap_or("");
        assert!(section.contains("all-features = true"), "{}", dir.display());
        assert!(
            section.contains("\"--cfg\", \"docsrs\""),
            "{}",
            dir.display()
        );
        let lib = std::fs::read_to_string(Path::new(&dir).join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#![cfg_attr(docsrs, feature(doc_cfg))]"),
            "{}: feature badges need doc_cfg",
            dir.display()
        );
    }
}
