//! The provider against the testkit server: what goes on the wire, what comes back, and
//! every error mapping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider_core::http::{HttpConfig, RetryPolicy};
use cline_provider_core::{
    CancellationToken, ChatRequest, Collector, ErrorKind, FinishReason, Message, ModelInfo,
    Provider, ProviderKind, StreamEvent,
};
use cline_provider_openai::{ConfigWarning, OpenAiConfig, OpenAiProvider};
use cline_provider_testkit::openai::{self, ToolCall};
use cline_provider_testkit::{Reply, SseFrame, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

const CHAT: &str = "/v1/chat/completions";
const MODELS: &str = "/v1/models";

/// Short timeouts and no retries, so error tests are fast and see the first answer.
fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        header_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        retry: RetryPolicy::never(),
        ..HttpConfig::default()
    }
}

fn config(server: &TestServer) -> OpenAiConfig {
    OpenAiConfig::new(&format!("{}/v1", server.url()))
        .unwrap()
        .http(http())
}

fn provider(config: OpenAiConfig) -> OpenAiProvider {
    OpenAiProvider::new(config).unwrap()
}

fn hello() -> ChatRequest {
    ChatRequest::new("gpt-test").message(Message::user("Hello"))
}

async fn collect(
    p: &OpenAiProvider,
    req: ChatRequest,
) -> cline_provider_core::Result<Vec<StreamEvent>> {
    let mut stream = p.stream(req).await?;
    let mut out = Vec::new();
    while let Some(e) = stream.next().await {
        out.push(e?);
    }
    Ok(out)
}

#[tokio::test]
async fn streams_text_and_usage_and_sends_the_expected_request() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream(
            "gpt-test",
            &["Hel", "lo"],
            "stop",
            Some((5, 2)),
        )),
    );
    let p = provider(config(&server).api_key("sk-test-123"));
    let mut seen = 0;
    let reply = p
        .stream_collect(
            ChatRequest::new("gpt-test")
                .message(Message::system("Be brief."))
                .message(Message::user("Hi")),
            &mut |_| seen += 1,
        )
        .await
        .unwrap();
    // Metadata, two text deltas, finish, usage.
    assert_eq!(seen, 5);
    assert_eq!(reply.id.as_deref(), Some(openai::ID));
    assert_eq!(reply.model.as_deref(), Some("gpt-test"));
    assert_eq!(reply.text, "Hello");
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    let usage = reply.usage.unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (5, 2));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", CHAT));
    assert_eq!(r.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert!(r
        .header("user-agent")
        .unwrap()
        .starts_with("cline-provider/"));
    let body = r.json().unwrap();
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
}

#[tokio::test]
async fn reasoning_and_tool_calls_stream_through() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::reasoning_text_stream(
            "m",
            &["Think", "ing"],
            &["Done"],
            "stop",
            None,
        )),
    );
    // Replies to one route are served in the order they were queued.
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::tool_call_stream(
            "m",
            &[
                ToolCall {
                    id: "call_1",
                    name: "get_weather",
                    arguments: &["{\"city\":", "\"Paris\"}"],
                },
                ToolCall {
                    id: "call_2",
                    name: "get_time",
                    arguments: &["{}"],
                },
            ],
            Some((10, 5)),
        ))
        .chunk_size(7),
    );
    let p = provider(config(&server));
    let r = p.complete(hello()).await.unwrap();
    assert_eq!(
        (r.reasoning.as_str(), r.text.as_str()),
        ("Thinking", "Done")
    );
    let r = p.complete(hello()).await.unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(r.tool_calls.len(), 2);
    assert_eq!(r.tool_calls[0].name, "get_weather");
    assert_eq!(r.tool_calls[0].raw_arguments(), r#"{"city":"Paris"}"#);
    assert_eq!(r.tool_calls[1].id, "call_2");
}

#[tokio::test]
async fn header_precedence() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    let mut http = http();
    http.default_headers = vec![
        ("X-Layer".into(), "sdk".into()),
        ("X-Sdk-Only".into(), "1".into()),
    ];
    let p = provider(
        config(&server)
            .http(http)
            .api_key("sk-key")
            .header("X-Layer", "configured")
            .header("X-Team", "org")
            .header("User-Agent", "org-agent/1"),
    );
    p.complete(hello().header("X-Team", "request").header("X-Req", "r"))
        .await
        .unwrap();
    let r = &server.requests()[0];
    // SDK defaults < configured headers < per-request headers; each name sent once.
    assert_eq!(r.header_all("x-layer"), ["configured"]);
    assert_eq!(r.header_all("x-team"), ["request"]);
    assert_eq!(r.header("x-sdk-only"), Some("1"));
    assert_eq!(r.header("x-req"), Some("r"));
    assert_eq!(r.header_all("user-agent"), ["org-agent/1"]);
    assert_eq!(r.header_all("authorization"), ["Bearer sk-key"]);
}

#[tokio::test]
async fn configured_authorization_wins_over_the_api_key_and_requests_win_over_both() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    let cfg = config(&server)
        .api_key("sk-key")
        .header("Authorization", "Basic b3Jn");
    assert_eq!(
        cfg.warnings(),
        vec![ConfigWarning::AuthorizationHeaderReplacesApiKey]
    );
    let p = provider(cfg);
    p.complete(hello()).await.unwrap();
    p.complete(hello().header("authorization", "Bearer per-request"))
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].header_all("authorization"), ["Basic b3Jn"]);
    assert_eq!(reqs[1].header_all("authorization"), ["Bearer per-request"]);
}

#[tokio::test]
async fn no_key_sends_no_authorization() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    provider(config(&server)).complete(hello()).await.unwrap();
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn extra_body_default_model_and_model_info() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    let mut info = ModelInfo::new("local-model").max_output_tokens(128);
    info.temperature = Some(0.4);
    let p = provider(
        config(&server)
            .default_model("local-model")
            .model_info(info),
    );
    let req = ChatRequest::new("")
        .message(Message::user("x"))
        .body_field("top_k", json!(40));
    p.complete(req).await.unwrap();
    let body = server.requests()[0].json().unwrap();
    assert_eq!(body["model"], "local-model");
    assert_eq!(body["top_k"], 40);
    assert_eq!(body["max_tokens"], 128);
    assert!((body["temperature"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    assert_eq!(p.info().kind, ProviderKind::OpenAiCompatible);
    assert_eq!(p.info().default_model.as_deref(), Some("local-model"));
}

#[tokio::test]
async fn bad_requests_fail_before_sending() {
    let server = TestServer::start().await.unwrap();
    let p = provider(config(&server));
    let err = p
        .stream(hello().header("X-Bad", "a\r\nb: c"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("headers.X-Bad"));
    let err = p
        .stream(ChatRequest::new(""))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.field(), Some("model"));
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Error mapping (issue item 5)
// ---------------------------------------------------------------------------------------------

async fn error_for(reply: Reply) -> cline_provider_core::Error {
    let server = TestServer::start().await.unwrap();
    server.route("POST", CHAT, reply);
    server.route(
        "GET",
        MODELS,
        Reply::json(200, openai::models(&["gpt-4o", "gpt-4o-mini"])),
    );
    let p = provider(config(&server).api_key("sk-secret-value"));
    p.stream(hello()).await.map(|_| ()).unwrap_err()
}

#[tokio::test]
async fn status_401_is_an_invalid_key() {
    let err = error_for(openai::error_reply(
        401,
        "Incorrect API key provided",
        "invalid_request_error",
        "invalid_api_key",
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::InvalidApiKey);
    assert_eq!(err.status(), Some(401));
    assert!(err.message().contains("Incorrect API key provided"));
    assert!(err.hint().contains("API key"));
}

#[tokio::test]
async fn status_403_is_access_denied() {
    let err = error_for(openai::error_reply(
        403,
        "Project does not have access",
        "invalid_request_error",
        None,
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::AccessDenied);
    assert!(err.hint().contains("not allowed"));
}

#[tokio::test]
async fn status_404_lists_the_models_the_endpoint_offers() {
    let err = error_for(openai::error_reply(
        404,
        "The model `gpt-test` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert_eq!(err.available_models(), ["gpt-4o", "gpt-4o-mini"]);
    assert!(err.hint().contains("gpt-4o-mini"), "{}", err.hint());
}

#[tokio::test]
async fn model_not_found_code_on_another_status() {
    let err = error_for(openai::error_reply(
        400,
        "no such model",
        "invalid_request_error",
        "model_not_found",
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert_eq!(err.available_models().len(), 2);
}

#[tokio::test]
async fn model_list_failure_keeps_the_404() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::json(404, json!({"error": "model 'x' not found"})),
    );
    server.route("GET", MODELS, Reply::status(500));
    let err = provider(config(&server))
        .stream(hello())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert!(err.available_models().is_empty());
    assert!(err.message().contains("model 'x' not found"));
}

#[tokio::test]
async fn a_404_for_a_listed_model_points_at_the_base_url() {
    let server = TestServer::start().await.unwrap();
    server.route("POST", CHAT, Reply::text(404, "404 page not found"));
    server.route(
        "GET",
        MODELS,
        Reply::json(200, openai::models(&["gpt-test"])),
    );
    let err = provider(config(&server))
        .stream(hello())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("base_url"));
    assert!(err.hint().contains("base_url"));
}

#[tokio::test]
async fn status_429_is_a_rate_limit_with_the_wait() {
    let err = error_for(
        openai::error_reply(429, "Rate limit reached", "requests", "rate_limit_exceeded")
            .header("retry-after", "20"),
    )
    .await;
    assert_eq!(err.kind(), &ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert!(err.hint().contains("20 s"), "{}", err.hint());
}

#[tokio::test]
async fn insufficient_quota_is_quota_exhausted_and_never_retried() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        openai::error_reply(
            429,
            "You exceeded your current quota",
            "insufficient_quota",
            "insufficient_quota",
        ),
    );
    let mut http = http();
    http.retry = RetryPolicy::default();
    let err = provider(config(&server).http(http))
        .stream(hello())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::QuotaExhausted);
    assert!(err.hint().contains("quota"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn context_length_exceeded() {
    let err = error_for(openai::error_reply(
        400,
        "This model's maximum context length is 128000 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::ContextWindowExceeded);
    assert!(err.hint().contains("context window"));
}

#[tokio::test]
async fn server_errors() {
    let err = error_for(Reply::text(502, "<html>Bad Gateway</html>")).await;
    assert_eq!(err.kind(), &ErrorKind::Server);
    assert!(err.message().contains("HTML page"));
}

#[tokio::test]
async fn connect_failure_is_unreachable_with_the_network_hint() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = OpenAiConfig::new(&format!("http://127.0.0.1:{port}/v1"))
        .unwrap()
        .http(http());
    let err = provider(cfg).stream(hello()).await.map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unreachable);
    for word in ["URL", "VPN", "firewall", "proxy"] {
        assert!(err.hint().contains(word), "{}", err.hint());
    }
}

#[tokio::test]
async fn mid_stream_error_and_truncation() {
    let server = TestServer::start().await.unwrap();
    let mut frames = openai::text_stream("m", &["part"], "stop", None);
    frames.truncate(1);
    frames.push(SseFrame::json(&json!({"error": {"message": "overloaded", "type": "server_error", "code": "server_error"}})));
    server.route("POST", CHAT, Reply::sse(frames));
    // No [DONE] in the second reply: the cut is an error, never a short answer.
    let mut frames = openai::text_stream("m", &["cut"], "stop", None);
    frames.pop();
    server.route("POST", CHAT, Reply::sse(frames));
    let p = provider(config(&server));
    let mut stream = p.stream(hello()).await.unwrap();
    assert!(matches!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::Metadata { .. }
    ));
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta {
            text: "part".into()
        }
    );
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::StreamError);
    assert!(err.message().contains("overloaded"));
    assert!(err.is_after_output());

    drop(stream);
    let err = collect(&p, hello()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Truncated);
}

#[tokio::test]
async fn cancellation_token_stops_the_stream() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["a", "b", "c"], "stop", None))
            .event_interval(Duration::from_millis(200)),
    );
    let token = CancellationToken::new();
    let p = provider(config(&server));
    let mut stream = p.stream(hello().cancel_on(token.clone())).await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    token.cancel();
    let mut saw_cancel = false;
    while let Some(e) = stream.next().await {
        if let Err(e) = e {
            assert_eq!(e.kind(), &ErrorKind::Cancelled);
            saw_cancel = true;
        }
    }
    assert!(saw_cancel);
}

// ---------------------------------------------------------------------------------------------
// Model listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn model_listing_uses_the_same_auth_and_custom_headers() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        MODELS,
        Reply::json(
            200,
            json!({"object": "list", "data": [
                {"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "owned_by": "vllm", "max_model_len": 32768},
                {"id": "admin-model", "object": "model", "owned_by": "org"}
            ]}),
        ),
    );
    let mut admin_info = ModelInfo::new("admin-model").context_window(8000);
    admin_info.input_price = Some(1.5);
    let p = provider(
        config(&server)
            .api_key("sk-list")
            .header("X-Org-Gateway", "team-a")
            .model_info(admin_info),
    );
    let models = p.list_models().await.unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].context_window, Some(32768));
    assert_eq!(models[0].owned_by.as_deref(), Some("vllm"));
    // The configured model info wins, filled with what the server adds.
    assert_eq!(models[1].context_window, Some(8000));
    assert_eq!(models[1].input_price, Some(1.5));
    assert_eq!(models[1].owned_by.as_deref(), Some("org"));

    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", MODELS));
    assert_eq!(r.header("authorization"), Some("Bearer sk-list"));
    assert_eq!(r.header("x-org-gateway"), Some("team-a"));
}

#[tokio::test]
async fn model_listing_errors() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        MODELS,
        openai::error_reply(401, "bad key", "invalid_request_error", "invalid_api_key"),
    );
    server.route("GET", MODELS, Reply::status(404));
    server.route("GET", MODELS, Reply::text(200, "hello"));
    let p = provider(config(&server));
    assert_eq!(
        p.list_models().await.unwrap_err().kind(),
        &ErrorKind::InvalidApiKey
    );
    let err = p.list_models().await.unwrap_err();
    assert_eq!(err.field(), Some("base_url"));
    assert!(err.message().contains("/v1/models"));

    assert_eq!(
        p.list_models().await.unwrap_err().kind(),
        &ErrorKind::Protocol
    );
}

#[tokio::test]
async fn query_strings_of_the_base_url_reach_both_endpoints() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", None)),
    );
    server.route("GET", MODELS, Reply::json(200, openai::models(&["m"])));
    let cfg = OpenAiConfig::new(&format!("{}/v1/chat/completions?tenant=blue", server.url()))
        .unwrap()
        .http(http());
    let p = provider(cfg);
    p.complete(hello()).await.unwrap();
    p.list_models().await.unwrap();
    let reqs = server.requests();
    assert!(reqs
        .iter()
        .all(|r| r.query.as_deref() == Some("tenant=blue")));
    assert_eq!(reqs[0].path, CHAT);
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP and require_https
// ---------------------------------------------------------------------------------------------

/// A `tracing` writer that keeps what was logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plain_http_credential_is_warned_about_without_leaking_it() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .finish();
    let cfg = OpenAiConfig::new("http://gpu-box.corp.example:8000/v1")
        .unwrap()
        .api_key("sk-plain-http-secret");
    assert_eq!(
        cfg.warnings(),
        vec![ConfigWarning::PlainHttpCredential {
            host: "gpu-box.corp.example".into()
        }]
    );
    let p = tracing::subscriber::with_default(subscriber, || OpenAiProvider::new(cfg));
    assert!(p.is_ok());
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("plain HTTP"), "{log}");
    assert!(log.contains("gpu-box.corp.example"), "{log}");
    assert!(!log.contains("sk-plain-http-secret"), "{log}");
}

#[test]
fn require_https_refuses_plain_http() {
    let cfg = OpenAiConfig::new("http://gpu-box.corp.example:8000/v1")
        .unwrap()
        .api_key("k")
        .require_https(true);
    let err = OpenAiProvider::new(cfg).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("base_url"));
    assert!(err.message().contains("require_https"));
    // Loopback stays allowed.
    let cfg = OpenAiConfig::new("http://127.0.0.1:8000/v1")
        .unwrap()
        .api_key("k")
        .require_https(true);
    assert!(OpenAiProvider::new(cfg).is_ok());
}

#[test]
fn debug_of_provider_hides_the_key() {
    let cfg = OpenAiConfig::new("https://llm.example/v1")
        .unwrap()
        .api_key("sk-debug-secret")
        .header("X-Api-Key", "hdr-secret");
    let p = OpenAiProvider::new(cfg).unwrap();
    let dbg = format!("{p:?}");
    assert!(!dbg.contains("sk-debug-secret"), "{dbg}");
    assert!(!dbg.contains("hdr-secret"), "{dbg}");
}

#[test]
fn api_key_with_a_line_break_is_a_typed_error() {
    let cfg = OpenAiConfig::new("https://llm.example/v1")
        .unwrap()
        .api_key("sk-abc\ndef");
    let err = OpenAiProvider::new(cfg).unwrap_err();
    assert_eq!(err.field(), Some("api_key"));
    assert!(!err.to_string().contains("sk-abc"));
}

#[tokio::test]
async fn the_body_is_sent_again_on_a_retry() {
    let server = TestServer::start().await.unwrap();
    let calls = Arc::new(Mutex::new(0));
    let seen = calls.clone();
    server.route_fn("POST", CHAT, move |_| {
        let mut n = seen.lock().unwrap();
        *n += 1;
        if *n == 1 {
            Reply::status(503)
        } else {
            Reply::sse(openai::text_stream("m", &["second"], "stop", None))
        }
    });
    let mut http = http();
    http.retry = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let r = provider(config(&server).http(http))
        .complete(hello())
        .await
        .unwrap();
    assert_eq!(r.text, "second");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body);
    let body: Value = reqs[1].json().unwrap();
    assert_eq!(body["messages"][0]["content"], "Hello");
}

#[tokio::test]
async fn collector_agrees_with_stream() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream(
            "m",
            &["a", "b"],
            "length",
            Some((1, 2)),
        )),
    );
    let events = collect(&provider(config(&server)), hello()).await.unwrap();
    let mut c = Collector::default();
    c.extend(events);
    let r = c.finish();
    assert_eq!(r.text, "ab");
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
}

#[tokio::test]
async fn the_configured_reasoning_effort_applies_when_a_request_sets_none() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("o3-mini", &["ok"], "stop", None)),
    );
    let p = provider(
        config(&server)
            .default_model("o3-mini")
            .reasoning_effort(cline_provider_core::ReasoningEffort::High),
    );
    // Model left empty: the default model and the default effort fill in.
    collect(&p, ChatRequest::new("").message(Message::user("think")))
        .await
        .unwrap();
    // The request's own effort wins over the configured one.
    collect(
        &p,
        ChatRequest::new("o3-mini")
            .message(Message::user("think less"))
            .reasoning_effort(cline_provider_core::ReasoningEffort::Low),
    )
    .await
    .unwrap();
    let reqs = server.requests();
    let first = reqs[0].json().unwrap();
    assert_eq!(first["model"], "o3-mini");
    assert_eq!(first["reasoning_effort"], "high");
    assert_eq!(reqs[1].json().unwrap()["reasoning_effort"], "low");
}

// ---------------------------------------------------------------------------------------------
// Whole replies, prices, and errors that point at the real cause
// ---------------------------------------------------------------------------------------------

fn priced(id: &str) -> ModelInfo {
    let mut info = ModelInfo::new(id);
    info.input_price = Some(2.0);
    info.output_price = Some(8.0);
    info.cached_input_price = Some(0.5);
    info
}

#[tokio::test]
async fn complete_sends_one_non_streaming_request_and_reads_the_json_reply() {
    let server = TestServer::start().await.unwrap();
    let mut completion =
        openai::completion("gpt-test-2025", "", "tool_calls", (1_000_000, 100_000));
    completion["choices"][0]["message"]["content"] = Value::Null;
    completion["choices"][0]["message"]["tool_calls"] = json!([{
        "id": "call_7", "type": "function",
        "function": {"name": "get_weather", "arguments": "{ \"city\" : \"Oslo\" }"}
    }]);
    completion["usage"]["prompt_tokens_details"] = json!({"cached_tokens": 400_000});
    server.route("POST", CHAT, Reply::json(200, completion));
    let p = provider(
        config(&server)
            .default_model("gpt-test")
            .model_info(priced("gpt-test")),
    );
    let reply = p
        .complete(ChatRequest::new("").message(Message::user("Weather in Oslo?")))
        .await
        .unwrap();
    let r = &server.requests()[0];
    let body = r.json().unwrap();
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        reply.tool_calls[0].raw_arguments(),
        "{ \"city\" : \"Oslo\" }"
    );
    assert_eq!(reply.id.as_deref(), Some(openai::ID));
    assert_eq!(reply.model.as_deref(), Some("gpt-test-2025"));
    // 600k × $2 + 400k × $0.5 + 100k × $8, per million.
    assert!((reply.cost.unwrap() - 2.2).abs() < 1e-9, "{:?}", reply.cost);
    // The assistant message for the next turn carries the arguments as written.
    let next = reply.to_message();
    assert_eq!(next.tool_calls[0].arguments, "{ \"city\" : \"Oslo\" }");
}

#[tokio::test]
async fn a_reply_without_known_prices_has_no_cost() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["ok"], "stop", Some((10, 2)))),
    );
    let reply = provider(config(&server))
        .stream_collect(hello(), &mut |_| {})
        .await
        .unwrap();
    assert!(reply.usage.is_some());
    assert_eq!(reply.cost, None);
}

#[tokio::test]
async fn a_401_when_no_key_was_sent_says_the_endpoint_needs_one() {
    let server = TestServer::start().await.unwrap();
    server.route_fn("POST", CHAT, openai::echo_credentials);
    let err = provider(config(&server))
        .stream(hello())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidApiKey);
    assert!(err.hint().contains("requires an API key"), "{}", err.hint());
    let err = provider(config(&server).api_key("sk-wrong"))
        .stream(hello())
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.hint().contains("rejected your API key"),
        "{}",
        err.hint()
    );
}

#[tokio::test]
async fn keys_the_server_echoes_are_scrubbed_from_the_error() {
    let server = TestServer::start().await.unwrap();
    server.route_fn("POST", CHAT, openai::echo_credentials);
    let cfg = OpenAiConfig::new(&format!("{}/v1?subscription-key=apim-echo-2", server.url()))
        .unwrap()
        .http(http())
        .api_key("sk-echo-1")
        .header("X-Api-Key", "hdr-echo-3");
    let err = provider(cfg).stream(hello()).await.map(|_| ()).unwrap_err();
    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-echo-1"));
    assert_eq!(sent.query.as_deref(), Some("subscription-key=apim-echo-2"));
    let shown = format!("{err} | {err:?} | {}", err.hint());
    for secret in ["sk-echo-1", "apim-echo-2", "hdr-echo-3"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(
        err.message().contains("Incorrect API key provided"),
        "{}",
        err.message()
    );
}

#[test]
fn a_key_in_the_base_urls_query_stays_out_of_info_and_debug() {
    let cfg =
        OpenAiConfig::new("https://apim.corp.example/openai/v1?subscription-key=apim-secret-9")
            .unwrap();
    let p = OpenAiProvider::new(cfg).unwrap();
    let info = p.info().base_url.unwrap();
    assert!(!info.as_str().contains("apim-secret-9"), "{info}");
    assert!(info.as_str().contains("subscription-key="), "{info}");
    assert!(!format!("{p:?}").contains("apim-secret-9"));
}

#[tokio::test]
async fn a_404_from_both_the_chat_route_and_the_model_list_means_the_base_url_is_wrong() {
    let server = TestServer::start().await.unwrap();
    // No routes at all: what a server answers when `/v1` is missing from the base URL.
    let cfg = OpenAiConfig::new(&server.url()).unwrap().http(http());
    let err = provider(cfg).stream(hello()).await.map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
    assert_eq!(err.field(), Some("base_url"));
    assert!(err.message().contains("/v1"), "{}", err.message());
    assert_eq!(
        server.requests().len(),
        2,
        "the chat route, then the model list"
    );
}

#[tokio::test]
async fn litellms_invalid_model_name_lists_the_offered_models() {
    let err = error_for(Reply::json(
        400,
        json!({"error": {"message": "400: {'error': '/chat/completions: Invalid model name passed in model=gpt-test. Call `/v1/models` to view available models for your key.'}", "type": "None", "param": "None", "code": "400"}}),
    ))
    .await;
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert_eq!(err.available_models(), ["gpt-4o", "gpt-4o-mini"]);
}

#[tokio::test]
async fn a_gateways_200_error_keeps_its_message() {
    let err = error_for(Reply::json(
        200,
        json!({"error": {"message": "Budget exceeded for team-7", "type": "budget_exceeded"}}),
    ))
    .await;
    assert!(
        err.message().contains("Budget exceeded for team-7"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_per_request_timeout_ends_the_request_as_a_total_timeout() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        CHAT,
        Reply::sse(openai::text_stream("m", &["late"], "stop", None))
            .delay_headers(Duration::from_secs(3)),
    );
    let err = provider(config(&server))
        .stream(hello().timeout(Duration::from_millis(150)))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Timeout(cline_provider_core::TimeoutPhase::Total)
    );
}
