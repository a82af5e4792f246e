//! OpenAI Codex for `cline-provider`: "Sign in with OpenAI", so that requests run on the
//! person's ChatGPT Plus, Pro or Team subscription instead of an API key.
//!
//! This crate holds the sign-in ([`auth`]): the browser flow (authorization code + PKCE,
//! callback on `127.0.0.1:1455`), the device-code flow for machines without a browser, a
//! manual variant that takes the pasted redirect URL, a token store (a `0600` file written
//! atomically, or the OS keyring behind the `keyring` feature) that also shares an existing
//! Codex CLI sign-in in place, and a refresh manager that never spends a refresh token twice,
//! even across processes.
//!
//! On top of the sign-in, [`CodexProvider`] sends requests to the ChatGPT backend's Codex
//! endpoint (`https://chatgpt.com/backend-api/codex/responses`), which speaks the Responses
//! API and stores nothing: [`responses`] builds the body from the history (encrypted reasoning
//! carried between turns) and decodes the stream; [`models`] holds the subscription's model
//! catalog and reads the endpoint's own listing. The behaviour follows the original product,
//! Cline, and the Codex CLI it borrows its client from.
//!
//! ```no_run
//! use cline_provider_codex::{CodexAuth, CodexProvider};
//! use cline_provider_core::{ChatRequest, Message, Provider};
//!
//! # async fn run() -> cline_provider_core::Result<()> {
//! // CLINE_CODEX_ISSUER, CLINE_CODEX_BASE_URL, CLINE_PROVIDER_HOME and CODEX_HOME move the
//! // defaults.
//! let auth = CodexAuth::from_env()?;
//! if !auth.status()?.signed_in {
//!     let login = auth.login_browser(true).await?;
//!     eprintln!("Sign in at {}", login.url());
//!     login.wait().await?;
//! }
//! let provider = CodexProvider::new(auth)?;
//! let first = ChatRequest::new("gpt-5.5").message(Message::user("What is 2 + 2?"));
//! let reply = provider.complete(first.clone()).await?;
//! // The next turn carries the reply's reasoning back: the endpoint keeps nothing.
//! let next = first
//!     .message(Message::assistant(reply.text).with_reasoning(reply.reasoning_items))
//!     .message(Message::user("And times 3?"));
//! let again = provider.complete(next).await?;
//! println!("{} (usage: {:?})", again.text, again.usage);
//! # Ok(()) }
//! ```
//!
//! # Where tokens live
//!
//! - The SDK's own sign-in: `codex-auth.json` in the SDK's directory (`$CLINE_PROVIDER_HOME`,
//!   else `~/.config/cline-provider` on Linux), mode `0600`; or the OS keyring (service
//!   `cline-provider`, entry `openai-codex-oauth-credentials`) with `TokenStorage::Keyring`
//!   (feature `keyring`). [`CodexAuth::logout`] deletes it and revokes the refresh token.
//! - A Codex CLI sign-in: `$CODEX_HOME/auth.json` (default `~/.codex/auth.json`), used in
//!   place with the CLI's own locks and never deleted by this SDK (`codex logout` ends it).
//!   On unix it is refreshed like the SDK's own; elsewhere it is used read-only (its access
//!   token while it lasts, then a hint to run `codex` or to sign in here).
//!
//! No password is ever stored: the person enters it on OpenAI's page only.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
mod config;
pub mod models;
mod provider;
pub mod responses;

pub use auth::{
    BrowserLogin, CodexAuth, CodexToken, DeviceLogin, LogoutOutcome, ManualLogin, SignInStatus,
    StoreLocation,
};
pub use config::{
    CodexConfig, IssuerEndpoints, TokenStorage, CLIENT_ID, DEFAULT_BASE_URL, DEFAULT_CALLBACK_PORT,
    DEFAULT_ISSUER, DEFAULT_LOGIN_COMMAND, DEFAULT_ORIGINATOR, FALLBACK_CALLBACK_PORT, SCOPES,
};
pub use models::{catalog, DEFAULT_MODEL};
pub use provider::CodexProvider;
