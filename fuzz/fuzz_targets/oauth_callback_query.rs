//! `cargo fuzz run oauth_callback_query`: see [`cline_provider_fuzz::oauth_callback_query`] for the input format and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cline_provider_fuzz::oauth_callback_query(data));
