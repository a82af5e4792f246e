//! OpenAI Compatible provider (in progress).
#![warn(missing_docs)]
