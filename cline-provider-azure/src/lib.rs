//! The Azure Foundry (Azure OpenAI) provider of `cline-provider`: deployment URLs,
//! `api-version`, the `api-key` header, and Microsoft Entra ID with no API key at all.
//!
//! - [`AzureEndpoint`] reads every endpoint form an administrator may paste ([`url`]);
//! - [`versions`] keeps the table of what each API version accepts in a body;
//! - [`auth`] signs requests: the `api-key` header, or an Entra ID token from the default
//!   credential chain ([`auth::CredentialChain`], built on `azure_identity`'s own credentials)
//!   or any `azure_core` credential, behind the core's refreshing token cache;
//! - [`errors`] and [`content_filter`] turn Azure's answers into typed errors with hints;
//! - [`AzureProvider`] puts them together over the OpenAI crate's wire format.
//!
//! This is the Azure mode of Cline's "OpenAI Compatible" provider, rebuilt for Rust: the
//! same URL and routing rules, with the default API version and the credential chain as
//! documented in [`versions`] and [`auth::chain`].
//!
//! ```no_run
//! use cline_provider_azure::{AzureConfig, AzureProvider};
//! use cline_provider_core::{ChatRequest, Message, Provider};
//!
//! # async fn run() -> cline_provider_core::Result<()> {
//! // With a key:
//! let keyed = AzureProvider::new(
//!     AzureConfig::new("https://acme.openai.azure.com/openai")?.api_key("…"),
//! )?;
//! // With the member's own sign-in (az login, managed identity, workload identity, …):
//! let signed_in = AzureProvider::new(AzureConfig::new("https://acme.openai.azure.com")?)?;
//! let reply = signed_in
//!     .complete(ChatRequest::new("gpt-4o-prod").message(Message::user("Hello")))
//!     .await?;
//! # let _ = (keyed, reply);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod content_filter;
mod decode;
pub mod errors;
pub mod provider;
pub mod url;
pub mod versions;

pub use auth::{AzureAuth, EntraId};
pub use config::AzureConfig;
pub use provider::AzureProvider;
pub use url::AzureEndpoint;
pub use versions::DEFAULT_API_VERSION;
