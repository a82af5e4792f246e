//! [`MemberSettings`]: the member's own choices, and how they are stored.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use url::Url;

use super::headers::Headers;
use super::json;
use super::provider_id::ProviderId;
use super::remote::{in_file, model_fields, model_fields_to_json};
use crate::error::{Error, Result};
use crate::model::ModelInfo;
use crate::request::ReasoningEffort;

/// The member's own settings. Secrets are not part of them: the API key lives in a
/// [`SecretStore`](crate::secrets::SecretStore).
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

const KNOWN_KEYS: [&str; 8] = [
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
    /// Reads settings from JSON text. Errors name the JSON path.
    pub fn from_json(text: &str) -> Result<Self> {
        let doc = json::parse_document(text, "the member settings")?;
        let root = json::object(&doc, "")?;
        let mut m = MemberSettings::default();

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
        Ok(m)
    }

    /// The settings as pretty JSON, in the form [`from_json`](MemberSettings::from_json) reads.
    pub fn to_json(&self) -> String {
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
        put(
            "openAiHeaders",
            (!self.headers.is_empty()).then(|| {
                Value::Object(
                    self.headers
                        .iter()
                        .map(|(k, v)| (k.to_owned(), Value::from(v)))
                        .collect(),
                )
            }),
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

    /// Reads the settings file at `path`; a missing file gives the defaults.
    ///
    /// A damaged file is an [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
    /// error naming the JSON path (and the file in the message); the file is left as it is.
    pub fn load(path: &Path) -> Result<Self> {
        match crate::fs::read_optional(path)? {
            None => Ok(Self::default()),
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::invalid_config("$", format!("`{}` is not UTF-8 text", path.display()))
                })?;
                Self::from_json(&text).map_err(|e| in_file(e, path))
            }
        }
    }

    /// Saves the settings to `path` atomically with mode `0600` (see [`crate::fs`]). A failure
    /// is an error and leaves the previous file intact.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fs::write_atomic(path, self.to_json().as_bytes())
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

    /// Reads the member settings (defaults when the file does not exist yet).
    pub fn load_member_settings(&self) -> Result<MemberSettings> {
        MemberSettings::load(&self.member_settings_path())
    }

    /// Saves the member settings atomically with mode `0600`.
    pub fn save_member_settings(&self, settings: &MemberSettings) -> Result<()> {
        settings.save(&self.member_settings_path())
    }

    /// The file secret store kept in this directory.
    pub fn file_secret_store(&self) -> crate::secrets::FileSecretStore {
        crate::secrets::FileSecretStore::new(self.secrets_path())
    }
}
