//! `cargo fuzz run remote_config`: see [`cline_provider_fuzz::remote_config`] for the input format and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cline_provider_fuzz::remote_config(data));
