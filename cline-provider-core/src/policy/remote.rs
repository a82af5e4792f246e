//! The organization's document: [`RemoteConfig`], read exactly as the original schema defines
//! it, and [`Policy`], a document together with the organization it belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::headers::Headers;
use super::json;
use super::provider_id::ProviderId;
use crate::error::{Error, Result};
use crate::model::ModelInfo;

const OPENAI_PATH: &str = "providerSettings.OpenAiCompatible";

/// An organization's remote configuration (`{"version": …, "providerSettings": {…}, …}`).
///
/// Reading is strict where this SDK acts and lenient elsewhere, like the original's schema:
/// - a wrong type in a field this SDK reads rejects the whole document, with an
///   [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) error whose
///   [`field`](Error::field) is the JSON path (`providerSettings.OpenAiCompatible.openAiHeaders.X-Team`);
/// - other top-level keys (telemetry, MCP, rules, …) are kept as raw JSON in
///   [`extra`](RemoteConfig::extra) and otherwise ignored;
/// - the other providers' blocks (`AwsBedrock`, `Cline`, `LiteLLM`, `Vertex`, `Anthropic`) are
///   kept as raw JSON: they still make those providers organization-configured;
/// - an unknown key under `providerSettings` is an error, because a misspelt block name
///   (`OpenAICompatible`) would otherwise silently leave every member unmanaged.
///
/// ```
/// use cline_provider_core::policy::RemoteConfig;
/// let cfg: RemoteConfig = r#"{
///   "version": "v1",
///   "providerSettings": {"OpenAiCompatible": {
///     "openAiBaseUrl": "https://llm.example.com/v1",
///     "models": [{"id": "gpt-4o", "contextWindow": 128000}]
///   }}
/// }"#.parse()?;
/// let openai = cfg.openai_compatible.as_ref().expect("block");
/// assert_eq!(openai.base_url.as_ref().map(|u| u.as_str()), Some("https://llm.example.com/v1"));
///
/// let err = r#"{"version": "v1", "providerSettings": {"OpenAiCompatible": {"azureIdentity": "yes"}}}"#
///     .parse::<RemoteConfig>().unwrap_err();
/// assert_eq!(err.field(), Some("providerSettings.OpenAiCompatible.azureIdentity"));
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct RemoteConfig {
    /// The document's `version` (required).
    pub version: String,
    /// `providerSettings.OpenAiCompatible`, when present.
    pub openai_compatible: Option<OpenAiCompatibleSettings>,
    /// The other providers' blocks, as raw JSON.
    pub other_providers: BTreeMap<ProviderId, Value>,
    /// Every other top-level key (policy fields this SDK does not enforce), as raw JSON.
    pub extra: Map<String, Value>,
}

/// `providerSettings.OpenAiCompatible`: what the organization sets for OpenAI Compatible.
/// A field that is `Some` is locked for every member.
#[derive(Clone, PartialEq, Default)]
pub struct OpenAiCompatibleSettings {
    /// `models`: the only models members may choose, with their info. Never empty when read
    /// from a document (an empty list is refused there); an empty list set by hand offers no
    /// model at all.
    pub models: Option<Vec<ModelInfo>>,
    /// `openAiBaseUrl`.
    pub base_url: Option<Url>,
    /// `openAiHeaders`.
    pub headers: Option<Headers>,
    /// `azureApiVersion`. An empty string in the document counts as unset.
    pub azure_api_version: Option<String>,
    /// `azureIdentity`.
    pub azure_identity: Option<bool>,
    /// Keys of the block this SDK does not read, as raw JSON.
    pub extra: Map<String, Value>,
}

/// Raw JSON kept for fields this SDK does not read may hold credentials (remote MCP server
/// headers, say), so `Debug` lists only their keys.
fn raw_keys<'a, K: fmt::Display + 'a>(keys: impl Iterator<Item = &'a K>) -> Vec<String> {
    keys.map(ToString::to_string).collect()
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("version", &self.version)
            .field("openai_compatible", &self.openai_compatible)
            .field("other_providers", &raw_keys(self.other_providers.keys()))
            .field("extra", &raw_keys(self.extra.keys()))
            .finish()
    }
}

impl fmt::Debug for OpenAiCompatibleSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatibleSettings")
            .field("models", &self.models)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("headers", &self.headers)
            .field("azure_api_version", &self.azure_api_version)
            .field("azure_identity", &self.azure_identity)
            .field("extra", &raw_keys(self.extra.keys()))
            .finish()
    }
}

impl RemoteConfig {
    /// Reads a document from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_value(&json::parse_document(text, "the remote configuration")?)
    }

    /// Reads a document from a JSON file. Errors name the JSON path in
    /// [`field`](Error::field) and the file in the message.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = read_text(path)?;
        Self::from_json(&text).map_err(|e| in_file(e, path))
    }

    /// Reads a document from a parsed JSON value.
    pub fn from_value(doc: &Value) -> Result<Self> {
        let root = json::object(doc, "")?;
        let version = match json::get(root, "version") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(json::wrong_type("version", "a string", v)),
            None => {
                return Err(Error::invalid_config(
                    "version",
                    "the required field is missing",
                ))
            }
        };

        let mut openai_compatible = None;
        let mut other_providers = BTreeMap::new();
        if let Some(ps) = json::get(root, "providerSettings") {
            let ps = json::object(ps, "providerSettings")?;
            for (key, block) in ps {
                let path = json::join("providerSettings", key);
                let Some(provider) = ProviderId::from_remote_block(key) else {
                    return Err(Error::invalid_config(
                        path,
                        format!(
                            "unknown provider block `{key}`; known blocks: {}",
                            ProviderId::REMOTE_BLOCKS
                                .iter()
                                .filter_map(|p| p.remote_block())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                };
                if block.is_null() {
                    continue;
                }
                json::object(block, &path)?;
                if provider == ProviderId::OpenAiCompatible {
                    openai_compatible = Some(OpenAiCompatibleSettings::from_value(block)?);
                } else {
                    other_providers.insert(provider, block.clone());
                }
            }
        }

        let extra = root
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "version" | "providerSettings"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(RemoteConfig {
            version,
            openai_compatible,
            other_providers,
            extra,
        })
    }

    /// The providers the document configures, in the order the original applies them.
    /// Empty when the document configures none (members then choose freely).
    pub fn configured_providers(&self) -> Vec<ProviderId> {
        ProviderId::REMOTE_BLOCKS
            .into_iter()
            .filter(|p| match p {
                ProviderId::OpenAiCompatible => self.openai_compatible.is_some(),
                other => self.other_providers.contains_key(other),
            })
            .collect()
    }

    /// A top-level policy field this SDK keeps but does not enforce (`telemetryEnabled`,
    /// `globalRules`, …).
    pub fn policy_field(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }
}

impl FromStr for RemoteConfig {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_json(s)
    }
}

impl OpenAiCompatibleSettings {
    fn from_value(block: &Value) -> Result<Self> {
        let obj = json::object(block, OPENAI_PATH)?;
        let mut out = OpenAiCompatibleSettings::default();

        if let Some(v) = json::get(obj, "models") {
            let path = json::join(OPENAI_PATH, "models");
            let Value::Array(items) = v else {
                return Err(json::wrong_type(&path, "an array of models", v));
            };
            if items.is_empty() {
                return Err(Error::invalid_config(
                    path,
                    "the model list is empty, which would allow no model; leave `models` out to \
                     let members choose any model",
                ));
            }
            let mut seen = BTreeSet::new();
            let mut models = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let model = parse_model(item, &json::index(&path, i))?;
                if !seen.insert(model.id.clone()) {
                    return Err(Error::invalid_config(
                        json::join(&json::index(&path, i), "id"),
                        format!("the model `{}` is listed twice", model.id),
                    ));
                }
                models.push(model);
            }
            out.models = Some(models);
        }

        if let Some(s) = json::opt_str(obj, "openAiBaseUrl", OPENAI_PATH)? {
            out.base_url = Some(json::base_url(
                s,
                &json::join(OPENAI_PATH, "openAiBaseUrl"),
            )?);
        }

        if let Some(v) = json::get(obj, "openAiHeaders") {
            let path = json::join(OPENAI_PATH, "openAiHeaders");
            let map = json::object(v, &path)?;
            let mut plain = BTreeMap::new();
            for (name, value) in map {
                let hpath = json::join(&path, name);
                let Value::String(value) = value else {
                    return Err(json::wrong_type(&hpath, "a string", value));
                };
                json::header(name, value, &hpath)?;
                plain.insert(name.clone(), value.clone());
            }
            out.headers = Some(Headers::try_from(plain)?);
        }

        if let Some(s) = json::opt_str(obj, "azureApiVersion", OPENAI_PATH)? {
            if !s.trim().is_empty() {
                out.azure_api_version = Some(json::api_version(
                    s,
                    &json::join(OPENAI_PATH, "azureApiVersion"),
                )?);
            }
        }

        out.azure_identity = json::opt_bool(obj, "azureIdentity", OPENAI_PATH)?;

        out.extra = obj
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "models"
                        | "openAiBaseUrl"
                        | "openAiHeaders"
                        | "azureApiVersion"
                        | "azureIdentity"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(out)
    }

    /// The organization's info for `model_id`, when it lists that model.
    pub fn model(&self, model_id: &str) -> Option<&ModelInfo> {
        self.models.as_ref()?.iter().find(|m| m.id == model_id)
    }
}

fn parse_model(item: &Value, path: &str) -> Result<ModelInfo> {
    let obj = json::object(item, path)?;
    let id = match json::get(obj, "id") {
        Some(Value::String(s)) => json::model_id(s, &json::join(path, "id"))?,
        Some(v) => return Err(json::wrong_type(&json::join(path, "id"), "a string", v)),
        None => {
            return Err(Error::invalid_config(
                json::join(path, "id"),
                "the model id is missing",
            ))
        }
    };
    model_fields(obj, path, id)
}

/// Reads the model-info fields the original names in camelCase (`contextWindow`, `maxTokens`,
/// `supportsImages`, `inputPrice`, `outputPrice`, `temperature`, `isR1FormatRequired`, plus
/// `supportsTools` and `supportsReasoningEffort`).
pub(crate) fn model_fields(obj: &Map<String, Value>, path: &str, id: String) -> Result<ModelInfo> {
    let mut m = ModelInfo::new(id);
    m.temperature = json::opt_non_negative(obj, "temperature", path)?.map(|t| t as f32);
    m.max_output_tokens = json::opt_tokens(obj, "maxTokens", path, true)?;
    m.context_window = json::opt_tokens(obj, "contextWindow", path, false)?;
    m.input_price = json::opt_non_negative(obj, "inputPrice", path)?;
    m.output_price = json::opt_non_negative(obj, "outputPrice", path)?;
    m.supports_images = json::opt_bool(obj, "supportsImages", path)?;
    m.supports_tools = json::opt_bool(obj, "supportsTools", path)?;
    m.supports_reasoning = json::opt_bool(obj, "supportsReasoningEffort", path)?;
    // Present in v3.89.2 of the original schema, removed later; read it when it is there.
    m.r1_format = json::opt_bool(obj, "isR1FormatRequired", path)?;
    Ok(m)
}

/// Writes the fields [`model_fields`] reads.
pub(crate) fn model_fields_to_json(m: &ModelInfo) -> Map<String, Value> {
    let mut o = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.to_owned(), v);
        }
    };
    put("contextWindow", m.context_window.map(Value::from));
    put("maxTokens", m.max_output_tokens.map(Value::from));
    put("supportsImages", m.supports_images.map(Value::from));
    put("supportsTools", m.supports_tools.map(Value::from));
    put(
        "supportsReasoningEffort",
        m.supports_reasoning.map(Value::from),
    );
    put("inputPrice", m.input_price.map(Value::from));
    put("outputPrice", m.output_price.map(Value::from));
    // Through the shortest decimal form, so 0.2f32 is written as 0.2, not 0.20000000298.
    put(
        "temperature",
        m.temperature
            .and_then(|t| t.to_string().parse::<f64>().ok())
            .map(Value::from),
    );
    put("isR1FormatRequired", m.r1_format.map(Value::from));
    o
}

/// The organization a policy belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Organization {
    /// The organization id (`organizationId`).
    pub id: String,
    /// Its display name, when known.
    pub name: Option<String>,
}

impl Organization {
    /// An organization known by id.
    pub fn new(id: impl Into<String>) -> Self {
        Organization {
            id: id.into(),
            name: None,
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The name, or the id when no name is known.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

impl fmt::Display for Organization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) if name != &self.id => write!(f, "{name} ({})", self.id),
            _ => f.write_str(&self.id),
        }
    }
}

/// Where a [`Policy`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// Fetched from the admin API just now.
    AdminApi,
    /// The last known good copy on disk, used because the admin API failed.
    Cache(PathBuf),
    /// A local file (distributed by device management).
    File(PathBuf),
    /// A string handed over by the application.
    Inline,
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::AdminApi => f.write_str("fetched from the admin API"),
            PolicySource::Cache(p) => write!(f, "last known good copy ({})", p.display()),
            PolicySource::File(p) => write!(f, "local file {}", p.display()),
            PolicySource::Inline => f.write_str("provided by the application"),
        }
    }
}

/// An organization's policy: its [`RemoteConfig`], whose it is, and where it came from.
///
/// ```
/// use cline_provider_core::policy::{Organization, Policy};
/// let policy = Policy::from_json(
///     r#"{"version": "1", "providerSettings": {"OpenAiCompatible": {"azureIdentity": true}}}"#,
///     Organization::new("org-1").with_name("Acme"),
/// )?;
/// assert_eq!(policy.organization.display_name(), "Acme");
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The organization whose policy this is.
    pub organization: Organization,
    /// The document.
    pub config: RemoteConfig,
    /// Where it came from.
    pub source: PolicySource,
}

impl Policy {
    /// A policy from JSON text handed over by the application.
    pub fn from_json(text: &str, organization: Organization) -> Result<Self> {
        Ok(Policy {
            organization,
            config: RemoteConfig::from_json(text)?,
            source: PolicySource::Inline,
        })
    }

    /// A policy from a local JSON file, for organizations that distribute it by device
    /// management.
    pub fn from_file(path: &Path, organization: Organization) -> Result<Self> {
        Ok(Policy {
            organization,
            config: RemoteConfig::from_file(path)?,
            source: PolicySource::File(path.to_path_buf()),
        })
    }
}

pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = crate::fs::read_optional(path)?.ok_or_else(|| {
        Error::new(
            crate::ErrorKind::Io,
            format!("the file `{}` does not exist", path.display()),
        )
        .with_field(path.display().to_string())
    })?;
    String::from_utf8(bytes)
        .map_err(|_| Error::invalid_config("$", format!("`{}` is not UTF-8 text", path.display())))
}

/// Adds the file name to a parse error, keeping the JSON path as the field.
pub(crate) fn in_file(e: Error, path: &Path) -> Error {
    let field = e.field().unwrap_or("$");
    Error::invalid_config(
        field,
        format!("{} (in {})", json::reason(&e), path.display()),
    )
}
