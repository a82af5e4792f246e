//! The OpenAI Compatible provider of `cline-provider`: any endpoint that speaks OpenAI's
//! chat-completions API (vLLM, text-generation-inference, LiteLLM, llama.cpp's server,
//! Ollama's `/v1`, an internal gateway, OpenAI itself).
//!
//! The wire format lives in modules that know nothing about URLs or authentication, so
//! other backends (Azure) reuse them as they are:
//!
//! - [`build_body`] maps a [`ChatRequest`](cline_provider_core::ChatRequest) to the request
//!   JSON ([`convert`]);
//! - [`ChatCompletionsDecoder`] turns the streamed chunks into
//!   [`StreamEvent`](cline_provider_core::StreamEvent)s ([`decode`]);
//! - [`errors::stream_error`] turns in-band error events into typed errors (HTTP error
//!   responses go through the core's `default_error_mapper`);
//! - [`models::parse_model_list`] reads `GET /models`;
//! - [`completion::parse_completion`] reads a whole (non-streamed) reply.
//!
//! [`OpenAiProvider`] puts them together with an [`OpenAiConfig`] (base URL, API key, custom
//! headers) over the shared streaming engine.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod completion;
pub mod config;
pub mod convert;
pub mod decode;
pub mod errors;
mod fast_chunk;
pub mod models;
pub mod provider;
pub mod wire;

pub use config::{ConfigWarning, OpenAiConfig};
pub use convert::{build_body, build_body_with, BodyOptions};
pub use decode::ChatCompletionsDecoder;
pub use provider::OpenAiProvider;
