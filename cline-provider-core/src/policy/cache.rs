//! [`PolicyCache`]: the last known good policy of each organization, on disk.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::remote::{read_text, Organization, Policy, PolicySource, RemoteConfig};
use crate::error::{Error, ErrorKind, Result};

/// The last known good policy of each organization, one file per organization
/// (`remote_config_<orgId>.json`, mode `0600`, written atomically), plus a note of the last
/// organization whose policy was in effect, so a program that starts while the admin API is
/// down still enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCache {
    dir: PathBuf,
}

impl PolicyCache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PolicyCache { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `organization_id`'s policy. Characters other than ASCII letters,
    /// digits, `-` and `_` are percent-encoded, so an id can never reach outside the directory.
    pub fn path_for(&self, organization_id: &str) -> PathBuf {
        let mut name = String::from("remote_config_");
        for b in organization_id.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    fn marker_path(&self) -> PathBuf {
        self.dir.join("last_organization.json")
    }

    /// Writes `raw`, a document that was just validated, as `organization`'s last known good
    /// copy, and notes `organization` as the last one in effect.
    pub fn store(&self, organization: &Organization, raw: &str) -> Result<()> {
        crate::fs::write_atomic(&self.path_for(&organization.id), raw.as_bytes())?;
        let marker = serde_json::json!({
            "organizationId": organization.id,
            "name": organization.name,
        });
        crate::fs::write_atomic(&self.marker_path(), marker.to_string().as_bytes())
    }

    /// `organization`'s cached policy; `Ok(None)` when there is none. A damaged file is an
    /// [`ErrorKind::InvalidConfig`] error naming the file and the JSON path.
    pub fn load(&self, organization: &Organization) -> Result<Option<Policy>> {
        let path = self.path_for(&organization.id);
        if !path.exists() {
            return Ok(None);
        }
        let text = read_text(&path)?;
        let config = RemoteConfig::from_json(&text)
            .map_err(|e| super::remote::in_file(e, &path))
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("the cached policy is damaged: {}", e.message()),
                )
                .with_field(e.field().unwrap_or("$").to_owned())
            })?;
        Ok(Some(Policy {
            organization: organization.clone(),
            config,
            source: PolicySource::Cache(path),
        }))
    }

    /// The organization last noted by [`store`](PolicyCache::store), if any.
    pub fn last_organization(&self) -> Result<Option<Organization>> {
        let path = self.marker_path();
        let Some(bytes) = crate::fs::read_optional(&path)? else {
            return Ok(None);
        };
        let damaged = || {
            Error::invalid_config(
                path.display().to_string(),
                "the note of the last organization is damaged",
            )
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
        let id = v
            .get("organizationId")
            .and_then(Value::as_str)
            .ok_or_else(damaged)?;
        let mut org = Organization::new(id);
        org.name = v.get("name").and_then(Value::as_str).map(str::to_owned);
        Ok(Some(org))
    }

    /// Deletes `organization_id`'s cached policy (and the note, if it names it).
    pub fn remove(&self, organization_id: &str) -> Result<()> {
        crate::fs::remove_if_exists(&self.path_for(organization_id))?;
        if self
            .last_organization()
            .ok()
            .flatten()
            .is_some_and(|o| o.id == organization_id)
        {
            crate::fs::remove_if_exists(&self.marker_path())?;
        }
        Ok(())
    }
}
