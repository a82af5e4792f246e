//! A decoder sees the 2xx response's headers before its first event, once per stream, on both
//! ways of streaming (`stream_sse` and `events_from_response`).

use std::time::Duration;

use cline_provider_core::http::sse::{SseDecoder, SseEvent};
use cline_provider_core::http::{default_error_mapper, HttpClient, HttpConfig, RequestSpec};
use cline_provider_core::{Result, StreamEvent};
use cline_provider_testkit::{Reply, SseFrame, TestServer};
use futures_util::StreamExt;

/// Emits the `x-limit` header it saw as text with the first event, then each event's data.
#[derive(Default)]
struct HeaderEcho {
    seen: Vec<String>,
}

impl SseDecoder for HeaderEcho {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
        for text in self.seen.drain(..) {
            out.push(StreamEvent::TextDelta { text });
        }
        if event.data == "[DONE]" {
            return Ok(true);
        }
        out.push(StreamEvent::TextDelta {
            text: event.data.clone(),
        });
        Ok(false)
    }

    fn on_response_headers(&mut self, headers: &http::HeaderMap) {
        let value = headers
            .get("x-limit")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        self.seen.push(format!("limit={value}"));
    }
}

async fn texts(mut stream: cline_provider_core::EventStream) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(event) = stream.next().await {
        match event.expect("clean stream") {
            StreamEvent::TextDelta { text } => out.push(text),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

#[tokio::test]
async fn the_decoder_sees_the_headers_before_the_first_event() {
    let server = TestServer::start().await.unwrap();
    let reply = Reply::sse(vec![
        SseFrame::data("a"),
        SseFrame::data("b"),
        SseFrame::done(),
    ])
    .header("x-limit", "42");
    server.route("POST", "/s", reply);
    let client = HttpClient::with_env(
        HttpConfig {
            idle_timeout: Duration::from_secs(5),
            ..HttpConfig::default()
        },
        &|_| None,
    )
    .unwrap();
    let url = format!("{}/s", server.url());
    let build = |c: &reqwest::Client| Ok(c.post(&url).body("{}"));
    let spec = RequestSpec::new(&build, &default_error_mapper);

    let new_decoder = || -> Box<dyn SseDecoder> { Box::new(HeaderEcho::default()) };
    let stream = client.stream_sse(&spec, &new_decoder).await.unwrap();
    assert_eq!(texts(stream).await, ["limit=42", "a", "b"]);

    let response = client.send(&spec).await.unwrap();
    let stream = client.events_from_response(response, Box::new(HeaderEcho::default()), None);
    assert_eq!(texts(stream).await, ["limit=42", "a", "b"]);
}
