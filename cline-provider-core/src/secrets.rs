//! Where the member's credentials live: the [`SecretStore`] trait and its stores.
//!
//! - [`FileSecretStore`]: a JSON map in one file, mode `0600`, written atomically (the default);
//! - [`MemorySecretStore`]: in memory only, for tests and short-lived programs;
//! - `KeyringSecretStore`: the operating system's keyring, behind the `keyring` feature.
//!
//! Values are [`SecretString`]s end to end: they never appear in `Debug`, in errors or in logs.
//!
//! ```
//! use cline_provider_core::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let store = MemorySecretStore::new();
//! store.set(OPENAI_API_KEY, SecretString::from("sk-test-1234"))?;
//! let key = store.get(OPENAI_API_KEY)?.expect("stored");
//! assert_eq!(key.expose_secret(), "sk-test-1234");
//! assert!(!format!("{store:?}").contains("sk-test"));
//! # Ok::<(), cline_provider_core::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind, Result};

/// What every redacted value is shown as: in `Debug` output, URLs, errors and logs.
pub const REDACTED: &str = "[redacted]";

/// The key under which the OpenAI Compatible API key is stored (the original product's name).
pub const OPENAI_API_KEY: &str = "openAiApiKey";

/// A place to keep credentials. Object-safe: pass it around as `&dyn SecretStore`.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The secret stored under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<SecretString>>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set(&self, key: &str, value: SecretString) -> Result<()>;
    /// Removes the secret under `key`; removing a missing key is not an error.
    fn delete(&self, key: &str) -> Result<()>;
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 128 || key.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_config(
            "secret key",
            "a secret's key must be 1 to 128 characters without control characters",
        ));
    }
    Ok(())
}

/// Keeps secrets in memory only; they are gone when it is dropped.
#[derive(Default)]
pub struct MemorySecretStore {
    map: Mutex<HashMap<String, SecretString>>,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = match self.map.lock() {
            Ok(map) => {
                let mut k: Vec<String> = map.keys().cloned().collect();
                k.sort();
                k
            }
            Err(_) => Vec::new(),
        };
        f.debug_struct("MemorySecretStore")
            .field("keys", &keys)
            .finish()
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        check_key(key)?;
        let map = self.map.lock().map_err(|_| poisoned())?;
        Ok(map.get(key).map(|s| SecretString::from(s.expose_secret())))
    }

    fn set(&self, key: &str, value: SecretString) -> Result<()> {
        check_key(key)?;
        self.map
            .lock()
            .map_err(|_| poisoned())?
            .insert(key.to_owned(), value);
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.map.lock().map_err(|_| poisoned())?.remove(key);
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::new(
        ErrorKind::Io,
        "the secret store is unusable because a thread panicked while using it",
    )
}

/// Keeps secrets as a JSON object (`{"openAiApiKey": "…"}`) in one file with mode `0600`,
/// rewritten atomically on every change.
///
/// A missing file is an empty store. A file that is not a JSON object of strings is an
/// [`ErrorKind::InvalidConfig`] error naming the file, and is never overwritten by `set` or
/// `delete`, so a damaged file can still be repaired by hand.
///
/// Concurrent use from several threads of one process is safe; two processes changing the
/// same file at the same moment may lose one of the two changes (the file itself stays valid).
pub struct FileSecretStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileSecretStore {
    /// A store kept in the file at `path` (created on the first `set`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSecretStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<BTreeMap<String, SecretString>> {
        let Some(mut bytes) = crate::fs::read_optional(&self.path)? else {
            return Ok(BTreeMap::new());
        };
        warn_if_shared(&self.path);
        let parsed: std::result::Result<BTreeMap<String, String>, _> =
            serde_json::from_slice(&bytes);
        bytes.zeroize();
        match parsed {
            Ok(map) => Ok(map
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect()),
            // The serde message may quote part of the file, i.e. a secret: keep only its position.
            Err(e) => Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "the secrets file `{}` is not a JSON object of strings (line {}, column {}); \
                     fix or remove it",
                    self.path.display(),
                    e.line(),
                    e.column()
                ),
            )
            .with_field(self.path.display().to_string())),
        }
    }

    fn store(&self, map: &BTreeMap<String, SecretString>) -> Result<()> {
        let plain: BTreeMap<&str, &str> = map
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let mut bytes = serde_json::to_vec_pretty(&plain)
            .map_err(|e| Error::new(ErrorKind::Io, format!("could not encode the secrets: {e}")))?;
        let result = crate::fs::write_atomic(&self.path, &bytes);
        bytes.zeroize();
        result
    }
}

impl fmt::Debug for FileSecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSecretStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        check_key(key)?;
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        Ok(self.load()?.remove(key))
    }

    fn set(&self, key: &str, value: SecretString) -> Result<()> {
        check_key(key)?;
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        let mut map = self.load()?;
        map.insert(key.to_owned(), value);
        self.store(&map)
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        let mut map = self.load()?;
        if map.remove(key).is_some() {
            self.store(&map)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the secrets file is readable by other users; it is rewritten with mode 0600 on the next change"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
pub use keyring_store::KeyringSecretStore;

#[cfg(feature = "keyring")]
mod keyring_store {
    use super::*;

    /// Keeps secrets in the operating system's keyring (macOS Keychain, Windows Credential
    /// Manager, the Secret Service on Linux and BSD), one entry per key under one service name.
    ///
    /// Needs a running keyring service: on a headless Linux machine without a Secret Service,
    /// [`KeyringSecretStore::new`] fails with a hint to use [`FileSecretStore`] instead.
    pub struct KeyringSecretStore {
        service: String,
    }

    impl KeyringSecretStore {
        /// The service name used when none is given.
        pub const DEFAULT_SERVICE: &'static str = "cline-provider";

        /// A store whose entries live under `service` in the OS keyring.
        pub fn new(service: impl Into<String>) -> Result<Self> {
            let service = service.into();
            if service.is_empty() {
                return Err(Error::invalid_config(
                    "keyring service",
                    "the service name is empty",
                ));
            }
            if let Err(e) = keyring::Entry::store_status() {
                return Err(unavailable(e));
            }
            Ok(KeyringSecretStore { service })
        }

        fn entry(&self, key: &str) -> Result<keyring::Entry> {
            check_key(key)?;
            keyring::Entry::new(&self.service, key).map_err(|e| keyring_error("open", key, &e))
        }
    }

    impl fmt::Debug for KeyringSecretStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("KeyringSecretStore")
                .field("service", &self.service)
                .finish()
        }
    }

    impl SecretStore for KeyringSecretStore {
        fn get(&self, key: &str) -> Result<Option<SecretString>> {
            match self.entry(key)?.get_password() {
                Ok(value) => Ok(Some(SecretString::from(value))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error("read", key, &e)),
            }
        }

        fn set(&self, key: &str, value: SecretString) -> Result<()> {
            self.entry(key)?
                .set_password(value.expose_secret())
                .map_err(|e| keyring_error("write", key, &e))
        }

        fn delete(&self, key: &str) -> Result<()> {
            match self.entry(key)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error("delete", key, &e)),
            }
        }
    }

    fn unavailable(e: &keyring::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "the operating system keyring is not available ({e}); on a machine without a \
                 keyring service use the file secret store instead"
            ),
        )
        .with_field("keyring")
    }

    fn keyring_error(action: &str, key: &str, e: &keyring::Error) -> Error {
        // keyring's error messages describe the platform failure, never the stored value.
        Error::new(
            ErrorKind::Io,
            format!("could not {action} the secret `{key}` in the OS keyring: {e}"),
        )
        .with_field(key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_delete() {
        let store = MemorySecretStore::new();
        assert!(store.get("k").expect("get").is_none());
        store.set("k", SecretString::from("v")).expect("set");
        assert_eq!(
            store.get("k").expect("get").expect("some").expose_secret(),
            "v"
        );
        store.delete("k").expect("delete");
        store.delete("k").expect("delete twice");
        assert!(store.get("k").expect("get").is_none());
    }

    #[test]
    fn empty_key_is_refused() {
        let store = MemorySecretStore::new();
        let err = store
            .set("", SecretString::from("v"))
            .expect_err("empty key");
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    }
}
