//! `cargo fuzz run jwt_claims`: see [`cline_provider_fuzz::jwt_claims`] for the input format and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cline_provider_fuzz::jwt_claims(data));
