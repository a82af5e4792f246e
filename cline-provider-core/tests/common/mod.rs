//! What the engine tests share: a small text protocol, fast settings, a recording client.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider_core::http::sse::{SseDecoder, SseEvent};
use cline_provider_core::http::{
    classify_in_band, default_error_mapper, ErrorDetails, HttpClient, HttpConfig, RequestSpec,
    RetryInfo, RetryPolicy,
};
use cline_provider_core::{CancellationToken, Error, ErrorKind, EventStream, Result, StreamEvent};
use cline_provider_testkit::{SseFrame, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

pub const PATH: &str = "/v1/chat/completions";

/// `{"text": "..."}` → a text delta; `{"error": {...}}` → an in-band error classified by the
/// engine's rules; `[DONE]` ends.
pub struct TextDecoder;

pub fn text_decoder() -> Box<dyn SseDecoder> {
    Box::new(TextDecoder)
}

impl SseDecoder for TextDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
        if event.data == "[DONE]" {
            return Ok(true);
        }
        let v: Value = serde_json::from_str(&event.data)
            .map_err(|e| Error::new(ErrorKind::Protocol, format!("bad event: {e}")))?;
        if let Some(err) = v.get("error") {
            let details = ErrorDetails::from_value(err);
            let code = err["code"].as_str().unwrap_or("unknown");
            return Err(Error::new(classify_in_band(&details), details.message).with_code(code));
        }
        if let Some(text) = v["text"].as_str() {
            out.push(StreamEvent::TextDelta {
                text: text.to_owned(),
            });
        }
        Ok(false)
    }
}

pub fn text(t: &str) -> SseFrame {
    SseFrame::json(&json!({ "text": t }))
}

pub fn frames(words: &[&str]) -> Vec<SseFrame> {
    let mut f: Vec<SseFrame> = words.iter().map(|w| text(w)).collect();
    f.push(SseFrame::done());
    f
}

/// Short timeouts and fast retries, so that every test runs in well under a second or two.
pub fn fast_config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        header_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(5),
            retry_header_timeout: false,
        },
        ..HttpConfig::default()
    }
}

pub fn client(config: HttpConfig) -> HttpClient {
    HttpClient::with_env(config, &|_| None).expect("valid config")
}

/// A client that records every retry it announces.
pub fn recording_client(config: HttpConfig) -> (HttpClient, Arc<Mutex<Vec<RetryInfo>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let client = client(config).with_retry_callback(Arc::new(move |info: &RetryInfo| {
        sink.lock().expect("not poisoned").push(info.clone());
    }));
    (client, seen)
}

pub async fn server() -> TestServer {
    TestServer::start().await.expect("test server starts")
}

/// Streams a POST to `url` and collects the text deltas and the error that ended it.
pub async fn run(
    client: &HttpClient,
    url: &str,
    cancel: Option<CancellationToken>,
) -> Result<(Vec<String>, Option<Error>)> {
    let build = |c: &reqwest::Client| Ok(c.post(url).body(r#"{"stream":true}"#));
    let spec = RequestSpec::new(&build, &default_error_mapper).with_cancel(cancel);
    let stream = client.stream_sse(&spec, &text_decoder).await?;
    Ok(drain(stream).await)
}

pub async fn drain(mut stream: EventStream) -> (Vec<String>, Option<Error>) {
    let mut texts = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::TextDelta { text }) => texts.push(text),
            Ok(other) => panic!("unexpected event {other:?}"),
            Err(e) => {
                assert!(error.is_none(), "the stream yields at most one error");
                error = Some(e);
            }
        }
    }
    (texts, error)
}

pub fn url(server: &TestServer) -> String {
    format!("{}{PATH}", server.url())
}
