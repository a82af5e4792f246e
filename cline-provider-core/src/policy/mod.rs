//! Organization policy: what an administrator sets once for every member, what each member
//! chooses, and how the two combine.
//!
//! - [`RemoteConfig`] reads the organization's JSON document (the original product's schema);
//!   [`Policy`] pairs it with its [`Organization`];
//! - [`MemberSettings`] are the member's own choices, saved atomically with mode `0600`
//!   ([`ConfigDir`]); the API key and the values of credential-like headers live apart, in a
//!   [`SecretStore`](crate::secrets::SecretStore);
//! - [`resolve`] gives [`EffectiveSettings`]: every field an [`Effective`] value with its
//!   [`Origin`] and lock;
//! - [`EffectiveSettings::edit`] is the one way to change settings: a locked field, a provider
//!   the organization does not allow or a model it does not offer is a [`PolicyError`];
//! - [`RemoteConfigClient`] fetches the policy from the admin API (only an explicit answer
//!   clears it; a bad one keeps it), keeps a last known good copy per organization
//!   ([`PolicyCache`]) and refreshes on a [`RefreshSchedule`];
//! - [`Connection::new`] puts a backend behind the one enforcement point, [`EnforcedProvider`]:
//!   every request is checked against the offered models and the locked headers before a byte
//!   is sent (the facade's `connect_with` builds the backend, with [`ConnectOptions`]);
//! - [`ManagedConnection`] keeps all of it live for a long-running program: refreshes, swaps
//!   the provider when the policy changes, saves the member's edits, and tells subscribers what
//!   changed ([`SettingsUpdate`], [`SettingChange`]);
//! - [`EffectiveSettings::report`] and [`verify`](EffectiveSettings::verify) give a
//!   [`SettingsReport`] for a settings screen, with [`Check`]s that fail when their condition
//!   fails.
//!
//! ```
//! use cline_provider_core::policy::{resolve, ConfigDir, Edit, MemberSettings, Organization, Policy};
//! use cline_provider_core::ErrorKind;
//!
//! let policy = Policy::from_json(r#"{
//!   "version": "7",
//!   "providerSettings": {"OpenAiCompatible": {
//!     "openAiBaseUrl": "https://llm.acme.example/v1",
//!     "openAiHeaders": {"X-Team": "platform"},
//!     "azureIdentity": false,
//!     "models": [{"id": "gpt-4o", "contextWindow": 128000}, {"id": "gpt-4o-mini"}]
//!   }}
//! }"#, Organization::new("org-42").with_name("Acme"))?;
//!
//! let dir = tempfile::tempdir()?;
//! let config = ConfigDir::new(dir.path());
//! let secrets = config.file_secret_store();
//! let mut settings = resolve(Some(&policy), &config.load_member_settings(&secrets)?);
//!
//! settings.edit(Edit::Model(Some("gpt-4o-mini".into())))?;
//! let refused = settings.edit(Edit::BaseUrl(Some("https://elsewhere.example/v1".into()))).unwrap_err();
//! assert_eq!(refused.kind(), &ErrorKind::LockedByOrganization);
//! assert_eq!(refused.field(), Some("openAiBaseUrl"));
//!
//! config.save_member_settings(settings.member(), &secrets)?;
//! println!("{}", settings.report());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admin_api;
mod azure_rule;
mod cache;
mod change;
mod checks;
mod connection;
mod credential;
mod edit;
mod effective;
mod enforce;
mod error;
mod fetch;
mod field;
mod headers;
mod json;
mod managed;
mod member;
mod outcome;
mod provider_id;
mod refresher;
mod remote;
mod report;
mod schedule;

pub use azure_rule::AZURE_DEFAULT_API_VERSION;
pub use cache::PolicyCache;
pub use change::{ChangeSubject, SettingChange};
pub use checks::{Check, CheckContext, CheckStatus};
pub use connection::{Backend, ConnectOptions, Connection, Connector};
pub use credential::Credential;
pub use edit::Edit;
pub use effective::{resolve, EffectiveSettings};
pub use enforce::EnforcedProvider;
pub use error::{PolicyError, PolicyErrorReason};
pub use fetch::RemoteConfigClient;
pub use field::{Effective, Field, Origin};
pub use headers::Headers;
pub use managed::{ManagedConnection, SettingsUpdate, UpdateCause};
pub use member::{ConfigDir, MemberSettings};
pub use outcome::{ClearReason, RefreshOutcome};
pub use provider_id::ProviderId;
pub use refresher::{spawn_refresher, RefresherHandle};
pub use remote::{OpenAiCompatibleSettings, Organization, Policy, PolicySource, RemoteConfig};
pub use report::{mask_secret, FieldReport, ProviderReport, SettingsReport};
pub use schedule::RefreshSchedule;
