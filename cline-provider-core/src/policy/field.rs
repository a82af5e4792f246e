//! The vocabulary of a resolved setting: which [`Field`] it is, where its value came from
//! ([`Origin`]), and the value with its lock ([`Effective`]).

use std::fmt;

use serde::Serialize;

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The organization's policy set it.
    Organization,
    /// The member chose it.
    Member,
    /// Nobody set it; the SDK's default applies.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Organization => "organization",
            Origin::Member => "member",
            Origin::Default => "default",
        })
    }
}

/// A setting as it takes effect: its value, where it came from, and whether the member may
/// change it.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective<T> {
    /// The value in effect.
    pub value: T,
    /// Where the value came from.
    pub origin: Origin,
    /// Whether the organization fixed it: no member edit can change the value. (The model
    /// info under an allow-list is the organization's info of whichever allowed model is
    /// chosen, so it follows the model choice.)
    pub locked: bool,
    /// The member's own value, when the organization's replaces it. It is kept in the member's
    /// settings and takes effect again when the policy is cleared.
    pub overridden: Option<T>,
}

impl<T> Effective<T> {
    pub(super) fn member(value: T) -> Self {
        Effective {
            value,
            origin: Origin::Member,
            locked: false,
            overridden: None,
        }
    }

    pub(super) fn default(value: T) -> Self {
        Effective {
            value,
            origin: Origin::Default,
            locked: false,
            overridden: None,
        }
    }
}

/// A setting a member has, named as the original product stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `apiProvider`.
    Provider,
    /// `openAiBaseUrl`.
    BaseUrl,
    /// `openAiHeaders`.
    Headers,
    /// `azureApiVersion`.
    AzureApiVersion,
    /// `azureIdentity`.
    AzureIdentity,
    /// `openAiModelId`.
    Model,
    /// `openAiModelInfo`.
    ModelInfo,
    /// `reasoningEffort`.
    ReasoningEffort,
}

impl Field {
    /// Every field, in the order a settings screen shows them.
    pub const ALL: [Field; 8] = [
        Field::Provider,
        Field::BaseUrl,
        Field::Headers,
        Field::AzureApiVersion,
        Field::AzureIdentity,
        Field::Model,
        Field::ModelInfo,
        Field::ReasoningEffort,
    ];

    /// The key in settings files and errors (`openAiBaseUrl`).
    pub fn key(self) -> &'static str {
        match self {
            Field::Provider => "apiProvider",
            Field::BaseUrl => "openAiBaseUrl",
            Field::Headers => "openAiHeaders",
            Field::AzureApiVersion => "azureApiVersion",
            Field::AzureIdentity => "azureIdentity",
            Field::Model => "openAiModelId",
            Field::ModelInfo => "openAiModelInfo",
            Field::ReasoningEffort => "reasoningEffort",
        }
    }

    /// The name a person sees.
    pub fn label(self) -> &'static str {
        match self {
            Field::Provider => "Provider",
            Field::BaseUrl => "Base URL",
            Field::Headers => "Custom headers",
            Field::AzureApiVersion => "Azure API version",
            Field::AzureIdentity => "Azure Identity",
            Field::Model => "Model",
            Field::ModelInfo => "Model configuration",
            Field::ReasoningEffort => "Reasoning effort",
        }
    }

    /// "your base URL", for sentences.
    pub(crate) fn yours(self) -> &'static str {
        match self {
            Field::Provider => "your provider",
            Field::BaseUrl => "your base URL",
            Field::Headers => "your custom headers",
            Field::AzureApiVersion => "your Azure API version",
            Field::AzureIdentity => "your Azure Identity choice",
            Field::Model => "your model",
            Field::ModelInfo => "your model configuration",
            Field::ReasoningEffort => "your reasoning effort",
        }
    }

    /// "the base URL", for sentences.
    pub(crate) fn noun(self) -> String {
        self.yours().replacen("your ", "the ", 1)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}
