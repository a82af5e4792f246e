//! What is known about a model: [`ModelInfo`].

use serde::{Deserialize, Serialize};

/// A model's capabilities and prices. Fields the endpoint or administrator did not state are
/// `None`.
///
/// ```
/// use cline_provider_core::ModelInfo;
/// let m = ModelInfo::new("gpt-4o-mini").context_window(128_000);
/// assert_eq!(m.context_window, Some(128_000));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model id (on Azure: the deployment name).
    pub id: String,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
    /// The most output tokens per reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Accepts images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_images: Option<bool>,
    /// Accepts tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_tools: Option<bool>,
    /// A reasoning model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_reasoning: Option<bool>,
    /// USD per million input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_price: Option<f64>,
    /// USD per million output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_price: Option<f64>,
    /// USD per million input tokens served from the provider's prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_price: Option<f64>,
    /// Default sampling temperature for this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Send messages in DeepSeek-R1 format (system as user, same-role turns merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r1_format: Option<bool>,
    /// Who publishes the model, when the endpoint says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

impl ModelInfo {
    /// A model known only by id.
    pub fn new(id: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            ..Default::default()
        }
    }
    /// Sets the context window.
    pub fn context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }
    /// Sets the output limit.
    pub fn max_output_tokens(mut self, tokens: u32) -> Self {
        self.max_output_tokens = Some(tokens);
        self
    }
    /// Fills every field this one leaves unset from `other`.
    pub fn or(mut self, other: &ModelInfo) -> Self {
        macro_rules! fill {
            ($($f:ident),*) => {$( if self.$f.is_none() { self.$f = other.$f.clone(); } )*};
        }
        fill!(
            context_window,
            max_output_tokens,
            supports_images,
            supports_tools,
            supports_reasoning,
            input_price,
            output_price,
            cached_input_price,
            temperature,
            r1_format,
            owned_by
        );
        self
    }
}
