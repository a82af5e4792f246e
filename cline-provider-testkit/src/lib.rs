//! Fake LLM server for tests (in progress).
#![warn(missing_docs)]
