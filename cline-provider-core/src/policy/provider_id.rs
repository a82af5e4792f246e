//! [`ProviderId`]: every provider a member can pick or an organization can configure.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::provider::ProviderKind;

/// A provider as settings and policies name it: the three this SDK serves, plus the other
/// providers an organization's policy may configure (which this SDK does not implement).
///
/// ```
/// use cline_provider_core::policy::ProviderId;
/// use cline_provider_core::ProviderKind;
/// let p: ProviderId = "openai".parse()?;
/// assert_eq!(p.kind(), Some(ProviderKind::OpenAiCompatible));
/// assert_eq!(ProviderId::AwsBedrock.kind(), None);
/// # Ok::<(), cline_provider_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum ProviderId {
    /// OpenAI Compatible (`openai`), remote block `OpenAiCompatible`.
    OpenAiCompatible,
    /// Azure Foundry (`azure`). In the original product Azure is a mode of OpenAI Compatible;
    /// a policy therefore never names it.
    AzureFoundry,
    /// OpenAI Codex (`openai-codex`).
    OpenAiCodex,
    /// AWS Bedrock (`bedrock`), remote block `AwsBedrock`. Not implemented by this SDK.
    AwsBedrock,
    /// Cline (`cline`), remote block `Cline`. Not implemented by this SDK.
    Cline,
    /// LiteLLM (`litellm`), remote block `LiteLLM`. Not implemented by this SDK.
    LiteLlm,
    /// Google Vertex AI (`vertex`), remote block `Vertex`. Not implemented by this SDK.
    Vertex,
    /// Anthropic (`anthropic`), remote block `Anthropic`. Not implemented by this SDK.
    Anthropic,
}

impl ProviderId {
    /// Every id, the served ones first.
    pub const ALL: [ProviderId; 8] = [
        ProviderId::OpenAiCompatible,
        ProviderId::AzureFoundry,
        ProviderId::OpenAiCodex,
        ProviderId::AwsBedrock,
        ProviderId::Cline,
        ProviderId::LiteLlm,
        ProviderId::Vertex,
        ProviderId::Anthropic,
    ];

    /// The `providerSettings` blocks in the order the original product applies them.
    pub const REMOTE_BLOCKS: [ProviderId; 6] = [
        ProviderId::OpenAiCompatible,
        ProviderId::AwsBedrock,
        ProviderId::Cline,
        ProviderId::LiteLlm,
        ProviderId::Vertex,
        ProviderId::Anthropic,
    ];

    /// The id used in settings files.
    pub fn id(self) -> &'static str {
        match self {
            ProviderId::OpenAiCompatible => "openai",
            ProviderId::AzureFoundry => "azure",
            ProviderId::OpenAiCodex => "openai-codex",
            ProviderId::AwsBedrock => "bedrock",
            ProviderId::Cline => "cline",
            ProviderId::LiteLlm => "litellm",
            ProviderId::Vertex => "vertex",
            ProviderId::Anthropic => "anthropic",
        }
    }

    /// The name a person sees.
    pub fn label(self) -> &'static str {
        match self.kind() {
            Some(kind) => kind.label(),
            None => match self {
                ProviderId::AwsBedrock => "AWS Bedrock",
                ProviderId::Cline => "Cline",
                ProviderId::LiteLlm => "LiteLLM",
                ProviderId::Vertex => "Google Vertex AI",
                _ => "Anthropic",
            },
        }
    }

    /// The key of this provider's block under `providerSettings`, if a policy can configure it.
    pub fn remote_block(self) -> Option<&'static str> {
        match self {
            ProviderId::OpenAiCompatible => Some("OpenAiCompatible"),
            ProviderId::AwsBedrock => Some("AwsBedrock"),
            ProviderId::Cline => Some("Cline"),
            ProviderId::LiteLlm => Some("LiteLLM"),
            ProviderId::Vertex => Some("Vertex"),
            ProviderId::Anthropic => Some("Anthropic"),
            ProviderId::AzureFoundry | ProviderId::OpenAiCodex => None,
        }
    }

    /// The provider for a `providerSettings` key.
    pub fn from_remote_block(key: &str) -> Option<ProviderId> {
        Self::REMOTE_BLOCKS
            .into_iter()
            .find(|p| p.remote_block() == Some(key))
    }

    /// The connection mode this SDK uses for it, or `None` when this SDK does not implement it.
    pub fn kind(self) -> Option<ProviderKind> {
        match self {
            ProviderId::OpenAiCompatible => Some(ProviderKind::OpenAiCompatible),
            ProviderId::AzureFoundry => Some(ProviderKind::AzureFoundry),
            ProviderId::OpenAiCodex => Some(ProviderKind::OpenAiCodex),
            _ => None,
        }
    }

    /// Whether this SDK can connect to it.
    pub fn is_supported(self) -> bool {
        self.kind().is_some()
    }
}

impl From<ProviderKind> for ProviderId {
    fn from(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::OpenAiCompatible => ProviderId::OpenAiCompatible,
            ProviderKind::AzureFoundry => ProviderId::AzureFoundry,
            ProviderKind::OpenAiCodex => ProviderId::OpenAiCodex,
        }
    }
}

impl From<ProviderId> for &'static str {
    fn from(p: ProviderId) -> Self {
        p.id()
    }
}

impl TryFrom<String> for ProviderId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl FromStr for ProviderId {
    type Err = Error;
    /// Accepts the settings ids (`openai`, `azure`, …) and the policy block names
    /// (`OpenAiCompatible`, `AwsBedrock`, …).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.id().eq_ignore_ascii_case(t))
            .or_else(|| Self::from_remote_block(t))
            .ok_or_else(|| {
                Error::invalid_config(
                    "provider",
                    format!(
                        "`{t}` is not a known provider; known: {}",
                        Self::ALL.map(ProviderId::id).join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
