//! `cargo fuzz run sse_framer`: see [`cline_provider_fuzz::sse_framer`] for the input format and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cline_provider_fuzz::sse_framer(data));
