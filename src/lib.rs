//! `cline-provider`: reach LLM endpoints the way your organization configured them.
#![warn(missing_docs)]

pub use cline_provider_core::*;
