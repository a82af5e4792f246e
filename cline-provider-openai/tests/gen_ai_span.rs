//! Every model call is one GenAI span, fielded after OpenTelemetry's conventions, with no
//! prompt, reply or key unless the application opts in.

use std::time::Duration;

use cline_provider_core::http::{HttpConfig, RetryPolicy};
use cline_provider_core::telemetry::{fields, RecordedSpan, SpanRecorder, SPAN_NAME};
use cline_provider_core::{ChatRequest, Message, Provider};
use cline_provider_openai::{OpenAiConfig, OpenAiProvider};
use cline_provider_testkit::{openai, Reply, TestServer};
use futures_util::StreamExt;
use tracing::instrument::WithSubscriber;

const KEY: &str = "sk-span-test-key-0123456789";
const PROMPT: &str = "the secret plan is blue";

fn provider(server: &TestServer, capture_content: bool) -> OpenAiProvider {
    let http = HttpConfig {
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        },
        capture_content,
        ..HttpConfig::default()
    };
    OpenAiProvider::new(
        OpenAiConfig::new(&format!("{}/v1", server.url()))
            .unwrap()
            .api_key(KEY)
            .http(http),
    )
    .unwrap()
}

fn request() -> ChatRequest {
    let mut r = ChatRequest::new("gpt-test").message(Message::user(PROMPT));
    r.max_output_tokens = Some(64);
    r
}

async fn stream_all(p: &OpenAiProvider) -> cline_provider_core::Result<String> {
    let mut stream = p.stream(request()).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let cline_provider_core::StreamEvent::TextDelta { text: t } = event? {
            text.push_str(&t);
        }
    }
    Ok(text)
}

fn only_span(recorder: &SpanRecorder) -> RecordedSpan {
    let spans = recorder.spans();
    assert_eq!(
        spans.len(),
        1,
        "one span per request, not per attempt: {spans:?}"
    );
    spans.into_iter().next().unwrap()
}

fn all_text(span: &RecordedSpan) -> String {
    format!("{:?}", span.fields)
}

#[tokio::test]
async fn a_streamed_call_with_a_retry_is_one_span_with_the_conventions_fields() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::json(503, openai::error_body("busy", "server_error", None)),
    );
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream(
            "gpt-test-2024",
            &["Hel", "lo"],
            "stop",
            Some((12, 5)),
        )),
    );
    let p = provider(&server, false);
    let recorder = SpanRecorder::new();
    let text = stream_all(&p)
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert_eq!(text, "Hello");
    assert_eq!(server.requests().len(), 2, "the 503 was retried");

    let span = only_span(&recorder);
    assert_eq!(span.name, SPAN_NAME);
    assert_eq!(span.str("otel.name"), Some("chat gpt-test"));
    assert_eq!(span.str("otel.kind"), Some("client"));
    assert_eq!(span.str(fields::OPERATION_NAME), Some("chat"));
    assert_eq!(span.str(fields::PROVIDER_NAME), Some("openai"));
    assert_eq!(span.str(fields::REQUEST_MODEL), Some("gpt-test"));
    assert_eq!(span.u64("gen_ai.request.max_tokens"), Some(64));
    assert_eq!(span.str("server.address"), Some("127.0.0.1"));
    assert_eq!(
        span.u64("server.port"),
        Some(u64::from(server.addr().port()))
    );
    assert_eq!(span.str(fields::RESPONSE_MODEL), Some("gpt-test-2024"));
    assert_eq!(span.str(fields::FINISH_REASONS), Some("stop"));
    assert_eq!(span.u64(fields::INPUT_TOKENS), Some(12));
    assert_eq!(span.u64(fields::OUTPUT_TOKENS), Some(5));
    assert_eq!(span.u64(fields::RESEND_COUNT), Some(1));
    assert!(span
        .f64(fields::TIME_TO_FIRST_CHUNK)
        .is_some_and(|t| t >= 0.0));
    assert!(span
        .f64(fields::OUTPUT_TOKENS_PER_SECOND)
        .is_some_and(|t| t > 0.0));
    assert_eq!(span.str(fields::ERROR_TYPE), None);
    let shown = all_text(&span);
    assert!(
        !shown.contains(PROMPT),
        "no prompt without opting in: {shown}"
    );
    assert!(
        !shown.contains("Hello"),
        "no reply without opting in: {shown}"
    );
    assert!(!shown.contains(KEY), "never the key: {shown}");
}

#[tokio::test]
async fn content_is_recorded_only_when_the_application_opts_in() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream(
            "gpt-test",
            &["Hi"],
            "stop",
            Some((3, 1)),
        )),
    );
    let p = provider(&server, true);
    let recorder = SpanRecorder::new();
    stream_all(&p)
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    let span = only_span(&recorder);
    assert!(span
        .str(fields::INPUT_MESSAGES)
        .is_some_and(|m| m.contains(PROMPT)));
    let output = span.str(fields::OUTPUT_MESSAGES).expect("the reply");
    assert!(output.contains("\"content\":\"Hi\""), "{output}");
    assert!(!all_text(&span).contains(KEY));
}

#[tokio::test]
async fn a_rejected_key_ends_the_span_with_the_error_type_and_no_key() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::json(
            401,
            openai::error_body(
                &format!("Incorrect API key provided: {KEY}"),
                "invalid_request_error",
                "invalid_api_key",
            ),
        ),
    );
    let p = provider(&server, false);
    let recorder = SpanRecorder::new();
    let err = stream_all(&p)
        .with_subscriber(recorder.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &cline_provider_core::ErrorKind::InvalidApiKey);
    let span = only_span(&recorder);
    assert_eq!(span.str(fields::ERROR_TYPE), Some("invalid_api_key"));
    assert_eq!(span.str("otel.status_code"), Some("ERROR"));
    assert_eq!(span.u64(fields::RESEND_COUNT), None, "not retried");
    assert!(!all_text(&span).contains(KEY), "{:?}", span.fields);
}

#[tokio::test]
async fn a_whole_reply_records_its_usage_and_finish_reason() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::json(
            200,
            openai::completion("gpt-test-x", "Hi", "length", (7, 2)),
        ),
    );
    let p = provider(&server, false);
    let recorder = SpanRecorder::new();
    let reply = p
        .complete(request())
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert_eq!(reply.text, "Hi");
    let span = only_span(&recorder);
    assert_eq!(
        span.fields.get("gen_ai.request.streaming"),
        Some(&cline_provider_core::telemetry::FieldValue::Bool(false))
    );
    assert_eq!(span.u64(fields::INPUT_TOKENS), Some(7));
    assert_eq!(span.u64(fields::OUTPUT_TOKENS), Some(2));
    assert_eq!(span.str(fields::FINISH_REASONS), Some("length"));
    assert_eq!(span.str(fields::RESPONSE_MODEL), Some("gpt-test-x"));
    assert_eq!(span.f64(fields::TIME_TO_FIRST_CHUNK), None, "streams only");
}

#[tokio::test]
async fn a_model_list_is_no_gen_ai_span() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        "/v1/models",
        Reply::json(200, openai::models(&["m"])),
    );
    let p = provider(&server, false);
    let recorder = SpanRecorder::new();
    p.list_models()
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert!(recorder.spans().is_empty());
}
