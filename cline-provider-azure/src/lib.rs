//! The azure backend of `cline-provider`. **Not built yet**: this crate has no provider in it
//! so far, and the facade's `azure` feature only reserves its place. See the README's feature table.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
