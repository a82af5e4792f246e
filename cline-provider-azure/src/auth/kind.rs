//! [`ChainCredential`]: the links of the default chain, and the `AZURE_TOKEN_CREDENTIALS`
//! selection among them.

use std::fmt;

use cline_provider_core::{Error, Result};

/// The links of the default chain, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainCredential {
    /// A service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    Environment,
    /// Kubernetes workload identity (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// An Azure managed identity (IMDS, App Service).
    ManagedIdentity,
    /// `az login`.
    AzureCli,
    /// `azd auth login`.
    AzureDeveloperCli,
}

impl ChainCredential {
    /// Every link, in the default order.
    pub const ALL: [ChainCredential; 5] = [
        ChainCredential::Environment,
        ChainCredential::WorkloadIdentity,
        ChainCredential::ManagedIdentity,
        ChainCredential::AzureCli,
        ChainCredential::AzureDeveloperCli,
    ];

    /// The name the Azure SDKs use (and `AZURE_TOKEN_CREDENTIALS` accepts).
    pub fn name(self) -> &'static str {
        match self {
            ChainCredential::Environment => "EnvironmentCredential",
            ChainCredential::WorkloadIdentity => "WorkloadIdentityCredential",
            ChainCredential::ManagedIdentity => "ManagedIdentityCredential",
            ChainCredential::AzureCli => "AzureCliCredential",
            ChainCredential::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }

    /// The links `AZURE_TOKEN_CREDENTIALS` selects (unset or empty: all of them).
    ///
    /// # Errors
    ///
    /// [`InvalidConfig`](cline_provider_core::ErrorKind::InvalidConfig) naming
    /// `AZURE_TOKEN_CREDENTIALS` for a value that is none of the accepted ones.
    ///
    /// ```
    /// use cline_provider_azure::auth::ChainCredential;
    /// assert_eq!(ChainCredential::select(Some("dev"))?, vec![ChainCredential::AzureCli, ChainCredential::AzureDeveloperCli]);
    /// assert_eq!(ChainCredential::select(Some("azureclicredential"))?, vec![ChainCredential::AzureCli]);
    /// assert!(ChainCredential::select(Some("everything")).is_err());
    /// # Ok::<(), cline_provider_core::Error>(())
    /// ```
    pub fn select(value: Option<&str>) -> Result<Vec<ChainCredential>> {
        let v = value.map(str::trim).unwrap_or("");
        if v.is_empty() {
            return Ok(Self::ALL.to_vec());
        }
        let lower = v.to_ascii_lowercase();
        match lower.as_str() {
            "dev" => {
                return Ok(vec![
                    ChainCredential::AzureCli,
                    ChainCredential::AzureDeveloperCli,
                ])
            }
            "prod" => {
                return Ok(vec![
                    ChainCredential::Environment,
                    ChainCredential::WorkloadIdentity,
                    ChainCredential::ManagedIdentity,
                ])
            }
            _ => {}
        }
        if let Some(kind) = Self::ALL
            .iter()
            .find(|k| k.name().eq_ignore_ascii_case(&lower))
        {
            return Ok(vec![*kind]);
        }
        let known_elsewhere = [
            "azurepowershellcredential",
            "visualstudiocodecredential",
            "visualstudiocredential",
            "interactivebrowsercredential",
            "brokercredential",
        ];
        let why = if known_elsewhere.contains(&lower.as_str()) {
            format!("`{v}` exists in other Azure SDKs but not in this one")
        } else {
            format!("`{v}` is not a credential choice")
        };
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
        Err(Error::invalid_config(
            "AZURE_TOKEN_CREDENTIALS",
            format!("{why}; use `dev`, `prod` or one of {}", names.join(", ")),
        ))
    }
}

impl fmt::Display for ChainCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
