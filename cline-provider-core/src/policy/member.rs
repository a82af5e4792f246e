//! [`MemberSettings`]: the member's own choices, and how they are stored.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use super::headers::Headers;
use super::json;
use super::provider_id::ProviderId;
use super::remote::{in_file, model_fields, model_fields_to_json};
use crate::error::{Error, Result};
use crate::model::ModelInfo;
use crate::request::ReasoningEffort;
use crate::secrets::SecretStore;

/// The member's own settings. The API key is not part of them: it lives in a
/// [`SecretStore`](crate::secrets::SecretStore). Neither do the values of credential-like
/// custom headers (`X-Api-Key`, `Authorization`, …, see
/// [`is_credential_header`](crate::http::is_credential_header)) once saved:
/// [`save`](MemberSettings::save) puts them in the secret store and lists only their names in
/// the file, and [`load`](MemberSettings::load) reads them back.
///
/// These are plain data: what the member chose, whether or not the organization lets it take
/// effect. [`resolve`](super::resolve) combines them with the organization's policy, and
/// [`EffectiveSettings::edit`](super::EffectiveSettings::edit) is the checked way to change
/// them. A value the organization overrides stays here, so clearing the policy brings it back.
///
/// Stored as JSON with the original product's key names (`openAiBaseUrl`, `openAiHeaders`,
/// `azureApiVersion`, `azureIdentity`, `openAiModelId`, `openAiModelInfo`, …).
///
/// ```
/// use cline_provider_core::policy::MemberSettings;
/// let m = MemberSettings::from_json(r#"{"openAiBaseUrl": "https://llm.example.com/v1", "openAiModelId": "gpt-4o"}"#)?;
/// assert_eq!(m.model_id.as_deref(), Some("gpt-4o"));
/// assert_eq!(MemberSettings::from_json(&m.to_json())?, m);
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Default)]
pub struct MemberSettings {
    /// `apiProvider`: the provider the member picked.
    pub provider: Option<ProviderId>,
    /// `openAiBaseUrl`.
    pub base_url: Option<Url>,
    /// `openAiHeaders`; empty when the member set none.
    pub headers: Headers,
    /// `azureApiVersion`.
    pub azure_api_version: Option<String>,
    /// `azureIdentity`.
    pub azure_identity: Option<bool>,
    /// `openAiModelId`.
    pub model_id: Option<String>,
    /// `openAiModelInfo`: the member's own description of the model (context window, prices, …).
    pub model_info: Option<ModelInfo>,
    /// `reasoningEffort`.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Keys this version does not know, kept so that saving does not drop them.
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for MemberSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Unknown keys are shown by name only: their values are nobody's business in a log.
        let extra: Vec<&String> = self.extra.keys().collect();
        f.debug_struct("MemberSettings")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("headers", &self.headers)
            .field("azure_api_version", &self.azure_api_version)
            .field("azure_identity", &self.azure_identity)
            .field("model_id", &self.model_id)
            .field("model_info", &self.model_info)
            .field("reasoning_effort", &self.reasoning_effort)
            .field("extra", &extra)
            .finish()
    }
}

/// The settings file's list of custom headers whose values live in the secret store.
const SECRET_HEADERS_KEY: &str = "openAiSecretHeaders";

/// The secret store key holding the value of the member's custom header `name`.
pub(crate) fn header_secret_key(name: &str) -> String {
    format!("openAiHeaders.{name}")
}

const KNOWN_KEYS: [&str; 9] = [
    SECRET_HEADERS_KEY,
    "apiProvider",
    "openAiBaseUrl",
    "openAiHeaders",
    "azureApiVersion",
    "azureIdentity",
    "openAiModelId",
    "openAiModelInfo",
    "reasoningEffort",
];

impl MemberSettings {
    /// Reads settings from JSON text, in the form [`to_json`](MemberSettings::to_json) writes.
    /// Errors name the JSON path.
    ///
    /// A saved settings file whose header values live in the secret store
    /// (`openAiSecretHeaders`) is refused here: read it with [`load`](MemberSettings::load),
    /// which has the store.
    pub fn from_json(text: &str) -> Result<Self> {
        let (m, secret_headers) = Self::from_file_json(text)?;
        if let Some(name) = secret_headers.first() {
            return Err(Error::invalid_config(
                json::join("openAiHeaders", name),
                "the value of this header is kept in the secret store; read these settings \
                 with MemberSettings::load, which takes the store",
            ));
        }
        Ok(m)
    }

    /// Reads the file form: the settings, and the names of the headers whose values are in the
    /// secret store.
    fn from_file_json(text: &str) -> Result<(Self, Vec<String>)> {
        let doc = json::parse_document(text, "the member settings")?;
        let root = json::object(&doc, "")?;
        let mut m = MemberSettings::default();
        let mut secret_headers = Vec::new();
        if let Some(v) = json::get(root, SECRET_HEADERS_KEY) {
            let Value::Array(names) = v else {
                return Err(json::wrong_type(
                    SECRET_HEADERS_KEY,
                    "an array of header names",
                    v,
                ));
            };
            for (i, name) in names.iter().enumerate() {
                let path = json::index(SECRET_HEADERS_KEY, i);
                let Value::String(name) = name else {
                    return Err(json::wrong_type(&path, "a header name", name));
                };
                crate::http::validate_header(name, "").map_err(|e| json::relabel(&e, &path))?;
                secret_headers.push(name.clone());
            }
        }

        if let Some(s) = json::opt_str(root, "apiProvider", "")? {
            m.provider = Some(s.parse().map_err(|e| json::relabel(&e, "apiProvider"))?);
        }
        if let Some(s) = json::opt_str(root, "openAiBaseUrl", "")? {
            m.base_url = Some(json::base_url(s, "openAiBaseUrl")?);
        }
        if let Some(v) = json::get(root, "openAiHeaders") {
            let obj = json::object(v, "openAiHeaders")?;
            for (name, value) in obj {
                let path = json::join("openAiHeaders", name);
                let Value::String(value) = value else {
                    return Err(json::wrong_type(&path, "a string", value));
                };
                json::header(name, value, &path)?;
                m.headers.insert(name.clone(), value.clone())?;
            }
        }
        if let Some(s) = json::opt_str(root, "azureApiVersion", "")? {
            if !s.trim().is_empty() {
                m.azure_api_version = Some(json::api_version(s, "azureApiVersion")?);
            }
        }
        m.azure_identity = json::opt_bool(root, "azureIdentity", "")?;
        if let Some(s) = json::opt_str(root, "openAiModelId", "")? {
            if !s.trim().is_empty() {
                m.model_id = Some(json::model_id(s, "openAiModelId")?);
            }
        }
        if let Some(v) = json::get(root, "openAiModelInfo") {
            let obj = json::object(v, "openAiModelInfo")?;
            let id = m.model_id.clone().unwrap_or_default();
            m.model_info = Some(model_fields(obj, "openAiModelInfo", id)?);
        }
        if let Some(s) = json::opt_str(root, "reasoningEffort", "")? {
            m.reasoning_effort = Some(
                s.parse()
                    .map_err(|e| json::relabel(&e, "reasoningEffort"))?,
            );
        }
        m.extra = root
            .iter()
            .filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok((m, secret_headers))
    }

    /// The settings as pretty JSON, in the form [`from_json`](MemberSettings::from_json) reads,
    /// every header value included: this is the in-memory form, for an application that keeps
    /// settings its own way. To write them to disk, use [`save`](MemberSettings::save), which
    /// keeps credential-like header values out of the file.
    pub fn to_json(&self) -> String {
        self.to_json_with(|_| false)
    }

    /// The file form: headers for which `secret` holds are listed by name only.
    fn to_json_with(&self, secret: impl Fn(&str) -> bool) -> String {
        let mut o = self.extra.clone();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.to_owned(), v);
            }
        };
        put("apiProvider", self.provider.map(|p| Value::from(p.id())));
        put(
            "openAiBaseUrl",
            self.base_url.as_ref().map(|u| Value::from(u.as_str())),
        );
        let (hidden, shown): (Vec<_>, Vec<_>) = self.headers.iter().partition(|(k, _)| secret(k));
        put(
            "openAiHeaders",
            (!shown.is_empty()).then(|| {
                Value::Object(
                    shown
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), Value::from(v)))
                        .collect(),
                )
            }),
        );
        put(
            SECRET_HEADERS_KEY,
            (!hidden.is_empty())
                .then(|| Value::Array(hidden.into_iter().map(|(k, _)| Value::from(k)).collect())),
        );
        put(
            "azureApiVersion",
            self.azure_api_version.as_deref().map(Value::from),
        );
        put("azureIdentity", self.azure_identity.map(Value::from));
        put("openAiModelId", self.model_id.as_deref().map(Value::from));
        put(
            "openAiModelInfo",
            self.model_info
                .as_ref()
                .map(|m| Value::Object(model_fields_to_json(m))),
        );
        put(
            "reasoningEffort",
            self.reasoning_effort.map(|r| Value::from(r.as_str())),
        );
        // Serializing a map of plain JSON values cannot fail.
        serde_json::to_string_pretty(&Value::Object(o)).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The settings as [`save`](MemberSettings::save) writes and [`load`](MemberSettings::load)
    /// reads them back, through the file form, without touching the disk: the values kept in
    /// the secret store are carried over as the store would.
    pub(crate) fn through_file_form(&self) -> Result<MemberSettings> {
        let (mut m, secret_headers) =
            Self::from_file_json(&self.to_json_with(crate::http::is_credential_header))?;
        for name in secret_headers {
            if let Some(value) = self.headers.get(&name) {
                m.headers.insert(name, value)?;
            }
        }
        Ok(m)
    }

    /// Reads the settings file at `path`, with the values of its credential-like headers from
    /// `secrets`; a missing file gives the defaults.
    ///
    /// # Errors
    ///
    /// A damaged file is an [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
    /// error naming the JSON path (and the file in the message); the file is left as it is. A
    /// header whose value the store has lost is an error naming `openAiHeaders.<name>`, never
    /// a header silently dropped.
    pub fn load(path: &Path, secrets: &dyn SecretStore) -> Result<Self> {
        let Some(bytes) = crate::fs::read_optional(path)? else {
            return Ok(Self::default());
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::invalid_config("$", format!("`{}` is not UTF-8 text", path.display()))
        })?;
        let (mut m, secret_headers) = Self::from_file_json(&text).map_err(|e| in_file(e, path))?;
        for name in secret_headers {
            let Some(value) = secrets.get(&header_secret_key(&name))? else {
                return Err(Error::invalid_config(
                    json::join("openAiHeaders", &name),
                    format!(
                        "the value of this header is kept in the secret store, which has none \
                         (settings in {}); enter the header again",
                        path.display()
                    ),
                ));
            };
            m.headers.insert(name, value.expose_secret())?;
        }
        Ok(m)
    }

    /// Saves the settings to `path` atomically with mode `0600` (see [`crate::fs`]), the
    /// values of credential-like custom headers going to `secrets` instead of the file (which
    /// lists their names under `openAiSecretHeaders`). Values of headers removed since the last
    /// save are deleted from `secrets`.
    ///
    /// # Errors
    ///
    /// A failure to write the secrets or the file is an error and leaves the previous file
    /// intact. The secrets are written first, so the file never names a value the store lacks.
    pub fn save(&self, path: &Path, secrets: &dyn SecretStore) -> Result<()> {
        let secret = crate::http::is_credential_header;
        let before: Vec<String> = crate::fs::read_optional(path)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|text| Self::from_file_json(&text).ok())
            .map(|(_, names)| names)
            .unwrap_or_default();
        for (name, value) in self.headers.iter().filter(|(k, _)| secret(k)) {
            secrets.set(&header_secret_key(name), SecretString::from(value))?;
        }
        crate::fs::write_atomic(path, self.to_json_with(secret).as_bytes())?;
        for gone in before.iter().filter(|n| {
            !self
                .headers
                .iter()
                .any(|(k, _)| k == n.as_str() && secret(k))
        }) {
            if let Err(e) = secrets.delete(&header_secret_key(gone)) {
                tracing::warn!(header = %gone, error = %e, "could not delete a removed header's value from the secret store");
            }
        }
        Ok(())
    }
}

/// Where the SDK keeps its files: member settings, the file secret store and the policy cache.
///
/// ```
/// use cline_provider_core::policy::ConfigDir;
/// let dir = ConfigDir::new("/tmp/example");
/// assert!(dir.member_settings_path().ends_with("settings.json"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDir {
    root: PathBuf,
}

impl ConfigDir {
    /// A config directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ConfigDir { root: root.into() }
    }

    /// The platform's config directory for this SDK (for example
    /// `~/.config/cline-provider` on Linux), from the `directories` crate.
    pub fn platform_default() -> Result<Self> {
        directories::ProjectDirs::from("bot", "cline", "cline-provider")
            .map(|d| ConfigDir::new(d.config_dir()))
            .ok_or_else(|| {
                Error::invalid_config(
                    "config_dir",
                    "no home directory was found to hold the settings; pass a directory explicitly",
                )
            })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `settings.json`: the member settings.
    pub fn member_settings_path(&self) -> PathBuf {
        self.root.join("settings.json")
    }

    /// `secrets.json`: the file secret store.
    pub fn secrets_path(&self) -> PathBuf {
        self.root.join("secrets.json")
    }

    /// `cache/`: the organizations' last known good policies.
    pub fn policy_cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Reads the member settings (defaults when the file does not exist yet), with the values
    /// of credential-like headers from `secrets` (see [`MemberSettings::load`]).
    pub fn load_member_settings(&self, secrets: &dyn SecretStore) -> Result<MemberSettings> {
        MemberSettings::load(&self.member_settings_path(), secrets)
    }

    /// Saves the member settings atomically with mode `0600`, the values of credential-like
    /// headers going to `secrets` (see [`MemberSettings::save`]).
    pub fn save_member_settings(
        &self,
        settings: &MemberSettings,
        secrets: &dyn SecretStore,
    ) -> Result<()> {
        settings.save(&self.member_settings_path(), secrets)
    }

    /// The file secret store kept in this directory.
    pub fn file_secret_store(&self) -> crate::secrets::FileSecretStore {
        crate::secrets::FileSecretStore::new(self.secrets_path())
    }
}
