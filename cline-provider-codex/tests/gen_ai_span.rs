//! A Codex request is one GenAI span opened by the engine, like every backend's: provider,
//! request and response model, tokens, finish reason, time to first token, retries, and no
//! prompt, reply or token.

mod common;

use std::time::Duration;

use cline_provider_codex::CodexProvider;
use cline_provider_core::http::{HttpConfig, RetryPolicy};
use cline_provider_core::telemetry::{fields, RecordedSpan, SpanRecorder, SPAN_NAME};
use cline_provider_core::{ChatRequest, Message, Provider, StreamEvent};
use cline_provider_testkit::responses::Turn;
use common::Codex;
use futures_util::StreamExt;
use serde_json::json;
use tracing::instrument::WithSubscriber;

const PROMPT: &str = "the secret plan is blue";

async fn stream_all(provider: &CodexProvider) -> cline_provider_core::Result<String> {
    let request = ChatRequest::new("gpt-5.4").message(Message::user(PROMPT));
    let mut stream = provider.stream(request).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text: t } = event? {
            text.push_str(&t);
        }
    }
    Ok(text)
}

fn retrying() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        },
        ..Codex::http()
    }
}

fn shown(span: &RecordedSpan) -> String {
    format!("{:?}", span.fields)
}

#[tokio::test]
async fn a_codex_call_with_a_retry_is_one_span_with_the_conventions_fields() {
    let codex = Codex::signed_in().await;
    codex.backend.push(Turn::http_error(
        503,
        json!({"error": {"type": "server_error", "message": "busy"}}),
    ));
    codex
        .backend
        .push(Turn::text(&["Hel", "lo"]).usage(12, 0, 5, 0));
    let provider = codex.provider_with(retrying());
    let recorder = SpanRecorder::new();
    let text = stream_all(&provider)
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert_eq!(text, "Hello");
    assert_eq!(
        codex.backend.responses_requests().len(),
        2,
        "the 503 was retried"
    );

    let spans = recorder.spans();
    assert_eq!(
        spans.len(),
        1,
        "one span per call, not per attempt: {spans:?}"
    );
    let span = &spans[0];
    assert_eq!(span.name, SPAN_NAME);
    assert_eq!(span.str("otel.name"), Some("chat gpt-5.4"));
    assert_eq!(span.str(fields::OPERATION_NAME), Some("chat"));
    assert_eq!(span.str(fields::PROVIDER_NAME), Some("openai"));
    assert_eq!(span.str(fields::REQUEST_MODEL), Some("gpt-5.4"));
    assert_eq!(span.str(fields::RESPONSE_MODEL), Some("gpt-5.4"));
    assert!(span.str(fields::RESPONSE_ID).is_some(), "{}", shown(span));
    assert_eq!(span.str("server.address"), Some("127.0.0.1"));
    assert_eq!(span.u64(fields::INPUT_TOKENS), Some(12));
    assert_eq!(span.u64(fields::OUTPUT_TOKENS), Some(5));
    assert_eq!(span.str(fields::FINISH_REASONS), Some("stop"));
    assert_eq!(span.u64(fields::RESEND_COUNT), Some(1));
    assert!(span
        .f64(fields::TIME_TO_FIRST_CHUNK)
        .is_some_and(|t| t >= 0.0));
    assert!(span
        .f64(fields::OUTPUT_TOKENS_PER_SECOND)
        .is_some_and(|t| t > 0.0));
    assert_eq!(span.str(fields::ERROR_TYPE), None);
    let all = shown(span);
    assert!(!all.contains(PROMPT), "no prompt without opting in: {all}");
    assert!(!all.contains("Hello"), "no reply without opting in: {all}");
    assert!(
        !all.contains(codex.access_token()),
        "never the token: {all}"
    );
}

#[tokio::test]
async fn a_resend_after_a_renewed_sign_in_counts_in_the_answered_calls_span() {
    let codex = Codex::signed_in().await;
    codex.backend.reject_token(codex.access_token());
    // With the renewed token: one 503, retried by the engine, then the answer.
    codex.backend.push(Turn::http_error(
        503,
        json!({"error": {"type": "server_error", "message": "busy"}}),
    ));
    codex.backend.push(Turn::text(&["OK"]).usage(3, 0, 1, 0));
    let provider = codex.provider_with(retrying());
    let recorder = SpanRecorder::new();
    let text = stream_all(&provider)
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert_eq!(text, "OK");
    assert_eq!(codex.backend.responses_requests().len(), 3);
    assert_eq!(codex.setup.issuer.refresh_requests(), 1);

    // The refused attempt says why; the answered call counts it and the engine's retry as
    // resends.
    let spans = recorder.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!(spans[0].str("otel.status_code"), Some("ERROR"));
    assert!(spans[0].str(fields::ERROR_TYPE).is_some(), "{:?}", spans[0]);
    assert_eq!(spans[1].u64(fields::RESEND_COUNT), Some(2));
    assert_eq!(spans[1].str(fields::FINISH_REASONS), Some("stop"));
    assert_eq!(spans[1].str(fields::ERROR_TYPE), None);
    for span in &spans {
        assert!(!shown(span).contains(codex.access_token()));
    }
}
