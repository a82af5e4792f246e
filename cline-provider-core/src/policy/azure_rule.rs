//! The original product's rule for when OpenAI Compatible settings mean Azure OpenAI, and the
//! API version Azure mode sends.

use super::effective::EffectiveSettings;
use super::provider_id::ProviderId;

/// The API version used in Azure mode when none is configured: `2024-10-21`, the newest
/// generally available one (the original product used the preview `2024-08-01-preview`).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

impl EffectiveSettings {
    /// Whether requests go to Azure OpenAI, by the original product's rule: the provider is
    /// Azure Foundry, or it is OpenAI Compatible and either an Azure API version is set or the
    /// base URL is an Azure domain (`azure.com`, `azure.us`) and the model id does not contain
    /// `deepseek` (DeepSeek models on Azure AI speak the plain OpenAI protocol).
    ///
    /// ```
    /// use cline_provider_core::policy::{resolve, MemberSettings};
    /// let m = MemberSettings::from_json(r#"{"openAiBaseUrl": "https://r.openai.azure.com/openai", "openAiModelId": "gpt-4o"}"#)?;
    /// assert!(resolve(None, &m).uses_azure());
    /// let m = MemberSettings::from_json(r#"{"openAiBaseUrl": "https://r.services.ai.azure.com/models", "openAiModelId": "DeepSeek-R1"}"#)?;
    /// assert!(!resolve(None, &m).uses_azure());
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn uses_azure(&self) -> bool {
        match self.provider().value {
            ProviderId::AzureFoundry => true,
            ProviderId::OpenAiCompatible => {
                if self
                    .azure_api_version()
                    .value
                    .as_deref()
                    .is_some_and(|v| !v.trim().is_empty())
                {
                    return true;
                }
                let url = self
                    .base_url()
                    .value
                    .as_ref()
                    .map(|u| u.as_str().to_ascii_lowercase())
                    .unwrap_or_default();
                let azure_domain = url.contains("azure.com") || url.contains("azure.us");
                let deepseek = self
                    .model_id()
                    .value
                    .as_deref()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("deepseek"));
                azure_domain && !deepseek
            }
            _ => false,
        }
    }

    /// The Azure API version to send: the configured one, or [`AZURE_DEFAULT_API_VERSION`].
    pub fn azure_api_version_or_default(&self) -> &str {
        self.azure_api_version()
            .value
            .as_deref()
            .unwrap_or(AZURE_DEFAULT_API_VERSION)
    }
}
