//! `cargo fuzz run responses_decoder`: see [`cline_provider_fuzz::responses_decoder`] for the input format and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cline_provider_fuzz::responses_decoder(data));
