//! The Responses API on the Codex endpoint, in pieces that know nothing about URLs or
//! sign-ins:
//!
//! - [`build_body`] turns a [`ChatRequest`](cline_provider_core::ChatRequest) into the request
//!   body ([`request`]: history conversion, reasoning, tools, what is never sent);
//! - [`ResponsesDecoder`] turns the streamed events into
//!   [`StreamEvent`](cline_provider_core::StreamEvent)s ([`decode`]), with in-stream failures
//!   typed by code ([`failure`]) and the plan-limit headers read
//!   ([`rate_limits_from_headers`]);
//! - [`wire`] holds the JSON types of both directions.
//!
//! [`CodexProvider`](crate::CodexProvider) puts them together with the sign-in.

pub mod decode;
pub mod failure;
mod rate_limits;
pub mod request;
pub mod wire;

pub use decode::ResponsesDecoder;
pub use rate_limits::rate_limits_from_headers;
pub use request::{build_body, build_body_bytes, BodyOptions, REFUSED_FIELDS};

/// The provider id that tags this backend's reasoning items
/// ([`ProviderKind::OpenAiCodex`](cline_provider_core::ProviderKind::OpenAiCodex)'s id).
pub const PROVIDER_ID: &str = "openai-codex";
