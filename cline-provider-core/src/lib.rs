//! Core of `cline-provider`: everything the backends share, and nothing that names one.
//!
//! - [`Provider`], the object-safe trait every connection mode implements;
//! - [`ChatRequest`] / [`Message`] / [`Tool`] on the way in, [`StreamEvent`] and
//!   [`ChatResponse`] on the way out, with the [`Collector`] between them;
//! - [`ModelInfo`];
//! - [`Error`], one type with an [`ErrorKind`], retryability and a [`hint`](Error::hint) for
//!   the person;
//! - [`http`], the HTTP plumbing shared by the backends;
//! - [`policy`], the organization's policy over the member's settings;
//! - [`secrets`], where credentials live; [`fs`], crash-safe private files; [`lockfile`],
//!   cross-process locks;
//! - [`tool_loop`], the stream → run tools → send results loop an agent needs;
//! - [`telemetry`], the OpenTelemetry-shaped span of every model call.
//!
//! Features: `keyring` (the OS keyring as a [`SecretStore`]), `schemars` (a [`Tool`] from a
//! type's JSON Schema).
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod error;
pub mod fs;
pub mod http;
pub mod json;
pub mod lockfile;
pub mod model;
pub mod policy;
pub mod provider;
pub mod rate_limits;
pub mod request;
pub mod secrets;
pub mod stream;
pub mod telemetry;
pub mod tool_loop;
pub mod wire;

/// Re-exported for implementing [`Provider`]: `#[async_trait] impl Provider for … {}`.
pub use async_trait::async_trait;

pub use error::{Error, ErrorKind, Result, TimeoutPhase};
pub use model::ModelInfo;
pub use policy::{
    resolve, ConnectOptions, Connection, EffectiveSettings, ManagedConnection, MemberSettings,
    PolicyError, RemoteConfig,
};
pub use provider::{Provider, ProviderInfo, ProviderKind};
pub use rate_limits::{RateLimitWindow, RateLimits};
pub use request::{
    CancelToken, ChatRequest, ContentPart, ImageSource, Message, ReasoningEffort, ReasoningItem,
    Role, Tool, ToolCall, ToolChoice,
};
pub use secrets::SecretStore;
pub use stream::{
    Billing, ChatResponse, Collector, CompletedToolCall, EventStream, FinishReason, StreamEvent,
    ToolArguments, Usage,
};
pub use tokio_util::sync::CancellationToken;
pub use tool_loop::{run_tool_loop, ToolLoopOutcome};
