//! The Azure provider against the testkit's Azure data plane: URL forms, api-version, both
//! auth modes, the 401 → refresh → retry path, Azure's stream quirks and every error mapping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use cline_provider_azure::content_filter::{ContentFilterReport, FilteredPart};
use cline_provider_azure::{AzureConfig, AzureProvider};
use cline_provider_core::http::{HttpConfig, RetryPolicy};
use cline_provider_core::telemetry::{fields, SpanRecorder};
use cline_provider_core::{
    ChatRequest, ErrorKind, Message, ModelInfo, Provider, ProviderKind, StreamEvent,
};
use cline_provider_testkit::{azure, openai, Reply, TestServer};
use futures_util::StreamExt;
use serde_json::json;
use tracing::instrument::WithSubscriber;

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        retry: RetryPolicy::never(),
        ..HttpConfig::default()
    }
}

fn keyed(server: &TestServer, path: &str) -> AzureProvider {
    AzureProvider::new(
        AzureConfig::new(&format!("{}{path}", server.url()))
            .unwrap()
            .api_key("azure-key-123")
            .http(http()),
    )
    .unwrap()
}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).message(Message::user("Hello"))
}

async fn collect(
    p: &AzureProvider,
    req: ChatRequest,
) -> cline_provider_core::Result<Vec<StreamEvent>> {
    let mut stream = p.stream(req).await?;
    let mut out = Vec::new();
    while let Some(e) = stream.next().await {
        out.push(e?);
    }
    Ok(out)
}

fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn api_version(req: &cline_provider_testkit::RecordedRequest) -> Option<String> {
    azure::query(req)
        .into_iter()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v)
}

#[tokio::test]
async fn api_key_goes_in_the_api_key_header_to_the_deployment_url_with_the_default_version() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("gpt-4o-prod"),
        Reply::sse(azure::filtered_text_stream("gpt-4o", &["Hel", "lo"], None)),
    );
    let p = keyed(&server, "/openai");
    let events = collect(&p, hello("gpt-4o-prod")).await.unwrap();
    assert_eq!(text(&events), "Hello");

    let req = &server.requests()[0];
    assert_eq!(req.path, "/openai/deployments/gpt-4o-prod/chat/completions");
    assert_eq!(api_version(req).as_deref(), Some("2024-10-21"));
    assert_eq!(req.header("api-key"), Some("azure-key-123"));
    assert_eq!(
        req.header("authorization"),
        None,
        "never Authorization with a key"
    );
    let body = req.json().unwrap();
    // 2024-10-21 declares neither `model` nor `stream_options`.
    assert!(body.get("model").is_none(), "{body}");
    assert!(body.get("stream_options").is_none(), "{body}");
    assert_eq!(body["stream"], true);
    assert_eq!(p.info().kind, ProviderKind::AzureFoundry);
}

#[tokio::test]
async fn every_url_form_reaches_the_right_route() {
    let server = TestServer::start().await.unwrap();
    let frames = || Reply::sse(azure::filtered_text_stream("m", &["ok"], None));
    server.route("POST", &azure::chat_path("dep-a"), frames());
    server.route("POST", &azure::chat_path("dep-b"), frames());
    server.route("POST", azure::V1_CHAT_PATH, frames());
    server.route(
        "POST",
        "/gw/east/deployments/dep-a/chat/completions",
        frames(),
    );
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        // (pasted path, model, path reached, api-version)
        (
            "",
            "dep-a",
            "/openai/deployments/dep-a/chat/completions",
            Some("2024-10-21"),
        ),
        (
            "/",
            "dep-a",
            "/openai/deployments/dep-a/chat/completions",
            Some("2024-10-21"),
        ),
        (
            "/openai/",
            "dep-a",
            "/openai/deployments/dep-a/chat/completions",
            Some("2024-10-21"),
        ),
        (
            "/openai/deployments/dep-b",
            "ignored",
            "/openai/deployments/dep-b/chat/completions",
            Some("2024-10-21"),
        ),
        (
            "/openai/deployments/dep-b/chat/completions?api-version=2024-06-01",
            "ignored",
            "/openai/deployments/dep-b/chat/completions",
            Some("2024-06-01"),
        ),
        ("/openai/v1", "dep-a", "/openai/v1/chat/completions", None),
        (
            "/gw/east",
            "dep-a",
            "/gw/east/deployments/dep-a/chat/completions",
            Some("2024-10-21"),
        ),
    ];
    for (pasted, model, reached, version) in cases {
        server.clear_requests();
        let p = keyed(&server, pasted);
        let events = collect(&p, hello(model))
            .await
            .unwrap_or_else(|e| panic!("{pasted}: {e}"));
        assert_eq!(text(&events), "ok", "{pasted}");
        let req = &server.requests()[0];
        assert_eq!(&req.path, reached, "{pasted}");
        assert_eq!(api_version(req).as_deref(), *version, "{pasted}");
        let body = req.json().unwrap();
        if pasted.contains("/v1") {
            // The v1 API names the deployment in the body and takes stream_options.
            assert_eq!(body["model"], "dep-a");
            assert_eq!(body["stream_options"]["include_usage"], true);
        } else {
            assert!(body.get("model").is_none(), "{pasted}: {body}");
        }
    }
}

#[tokio::test]
async fn a_preview_version_gets_stream_usage_and_reasoning_effort() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("o3-mini"),
        Reply::sse(azure::filtered_text_stream(
            "o3-mini",
            &["4"],
            Some((12, 3)),
        )),
    );
    let p = AzureProvider::new(
        AzureConfig::new(&server.url())
            .unwrap()
            .api_key("k")
            .api_version("2025-04-01-preview")
            .http(http()),
    )
    .unwrap();
    let req = ChatRequest::new("o3-mini")
        .message(Message::system("Think."))
        .message(Message::user("2+2?"))
        .max_output_tokens(100)
        .reasoning_effort(cline_provider_core::ReasoningEffort::Low);
    let events = collect(&p, req).await.unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, StreamEvent::Usage(u) if u.input_tokens == 12)));
    let sent = &server.requests()[0];
    assert_eq!(api_version(sent).as_deref(), Some("2025-04-01-preview"));
    let body = sent.json().unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["reasoning_effort"], "low");
    assert_eq!(body["max_completion_tokens"], 100);
    assert_eq!(body["messages"][0]["role"], "developer");
}

#[tokio::test]
async fn the_first_chunk_without_choices_and_the_filter_annotations_decode_cleanly() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream(
            "d",
            &["a", "b", "c"],
            Some((3, 3)),
        )),
    );
    let events = collect(&keyed(&server, ""), hello("d")).await.unwrap();
    assert_eq!(text(&events), "abc");
    assert!(matches!(
        events
            .iter()
            .rev()
            .find(|e| matches!(e, StreamEvent::Finish { .. })),
        Some(StreamEvent::Finish {
            reason: cline_provider_core::FinishReason::Stop
        })
    ));
}

#[tokio::test]
async fn a_filtered_completion_is_a_typed_error_listing_categories_and_severities() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::completion_blocked_stream(
            "d",
            &["Once upon"],
            "violence",
            "medium",
        )),
    );
    let p = keyed(&server, "");
    let mut stream = p.stream(hello("d")).await.unwrap();
    let mut got_text = String::new();
    let err = loop {
        match stream.next().await.expect("the stream ends with an error") {
            Ok(StreamEvent::TextDelta { text }) => got_text.push_str(&text),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(got_text, "Once upon");
    assert_eq!(err.kind(), &ErrorKind::ContentFiltered);
    assert!(
        err.message().contains("violence (severity medium)"),
        "{err}"
    );
    assert!(err.message().contains("the reply"), "{err}");
    let report = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<ContentFilterReport>())
        .expect("the report is the source");
    assert_eq!(report.part, FilteredPart::Completion);
    assert_eq!(
        report
            .filtered()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["violence"]
    );
    assert!(err.hint().contains("content filter"));
}

#[tokio::test]
async fn a_filtered_prompt_is_a_typed_error_before_the_stream() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        azure::prompt_filtered("hate", "high"),
    );
    let err = keyed(&server, "").stream(hello("d")).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::ContentFiltered);
    assert_eq!(err.status(), Some(400));
    assert!(err.message().contains("hate (severity high)"), "{err}");
    assert!(err.message().contains("the prompt"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn each_error_maps_to_its_kind_and_hint() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("missing"),
        azure::deployment_not_found(),
    );
    server.route(
        "POST",
        &azure::chat_path("forbidden"),
        azure::permission_denied(),
    );
    server.route(
        "POST",
        &azure::chat_path("badkey"),
        azure::unauthorized(false),
    );
    let p = keyed(&server, "");

    let err = p.stream(hello("missing")).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert!(err.message().contains("`missing`"), "{err}");
    assert!(err.hint().contains("Deployments"), "{}", err.hint());

    let err = p.stream(hello("forbidden")).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::AccessDenied);
    assert!(
        err.hint().contains("Cognitive Services OpenAI User"),
        "{}",
        err.hint()
    );
    assert!(err.hint().contains("Azure AI User"), "{}", err.hint());

    let err = p.stream(hello("badkey")).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::InvalidApiKey);
    assert!(err.hint().contains("api-key"), "{}", err.hint());
}

#[tokio::test]
async fn a_429_with_retry_after_ms_is_retried_by_the_engine() {
    let server = TestServer::start().await.unwrap();
    let path = azure::chat_path("d");
    server.route(
        "POST",
        &path,
        Reply::json(
            429,
            azure::error_body(
                "429",
                "Requests to the ChatCompletions_Create Operation have exceeded the rate limit.",
            ),
        )
        .header("retry-after-ms", "30")
        .header("retry-after", "60"),
    );
    server.route(
        "POST",
        &path,
        Reply::sse(azure::filtered_text_stream("d", &["ok"], None)),
    );
    let retries = Arc::new(AtomicUsize::new(0));
    let seen = retries.clone();
    let client = cline_provider_core::http::HttpClient::new(HttpConfig {
        retry: RetryPolicy::default(),
        ..http()
    })
    .unwrap()
    .with_retry_callback(Arc::new(move |info| {
        assert_eq!(info.wait, Duration::from_millis(30), "retry-after-ms wins");
        seen.fetch_add(1, Ordering::SeqCst);
    }));
    let p = AzureProvider::with_client(
        AzureConfig::new(&server.url()).unwrap().api_key("k"),
        client,
    )
    .unwrap();
    let events = collect(&p, hello("d")).await.unwrap();
    assert_eq!(text(&events), "ok");
    assert_eq!(retries.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests().len(), 2);
}

/// A credential that hands out `token-N`, counting calls.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
}

#[async_trait]
impl TokenCredential for Counting {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://cognitiveservices.azure.com/.default"]);
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AccessToken::new(
            format!("token-{n}"),
            (SystemTime::now() + Duration::from_secs(3600)).into(),
        ))
    }
}

fn entra(server: &TestServer, credential: Arc<Counting>) -> AzureProvider {
    AzureProvider::new(
        AzureConfig::new(&server.url())
            .unwrap()
            .credential(credential)
            .http(http()),
    )
    .unwrap()
}

#[tokio::test]
async fn entra_id_sends_a_bearer_token_and_no_api_key() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["hi"], None)),
    );
    let cred = Arc::new(Counting::default());
    let p = entra(&server, cred.clone());
    collect(&p, hello("d")).await.unwrap();
    collect(&p, hello("d")).await.unwrap();
    for req in server.requests() {
        assert_eq!(req.header("authorization"), Some("Bearer token-1"));
        assert_eq!(req.header("api-key"), None);
    }
    assert_eq!(cred.calls.load(Ordering::SeqCst), 1, "the token is cached");
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_once() {
    let server = TestServer::start().await.unwrap();
    let path = azure::chat_path("d");
    server.route_fn("POST", &path, |req| {
        if req.header("authorization") == Some("Bearer token-2") {
            Reply::sse(azure::filtered_text_stream("d", &["after refresh"], None))
        } else {
            azure::unauthorized(true)
        }
    });
    let cred = Arc::new(Counting::default());
    let p = entra(&server, cred.clone());
    let recorder = SpanRecorder::new();
    let events = collect(&p, hello("d"))
        .with_subscriber(recorder.clone())
        .await
        .unwrap();
    assert_eq!(text(&events), "after refresh");
    // The refused attempt's span says why; the answered call counts the resend.
    let spans = recorder.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!(spans[0].str(fields::ERROR_TYPE), Some("invalid_api_key"));
    assert_eq!(spans[1].str(fields::PROVIDER_NAME), Some("azure.ai.openai"));
    assert_eq!(spans[1].u64(fields::RESEND_COUNT), Some(1));
    assert_eq!(spans[1].str(fields::ERROR_TYPE), None);
    let auths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect();
    assert_eq!(auths, ["Bearer token-1", "Bearer token-2"]);
    assert_eq!(cred.calls.load(Ordering::SeqCst), 2);

    // A token the server keeps rejecting: one refresh, one retry, then the error with the
    // Entra-specific hint.
    let server = TestServer::start().await.unwrap();
    server.route("POST", &path, azure::unauthorized(true));
    let cred = Arc::new(Counting::default());
    let p = entra(&server, cred.clone());
    let err = p.stream(hello("d")).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::InvalidApiKey);
    assert!(err.hint().contains("Entra ID token"), "{}", err.hint());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(cred.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_bearer_token_never_goes_over_plain_http_to_a_remote_host() {
    let err = AzureProvider::new(
        AzureConfig::new("http://acme.openai.azure.com/openai")
            .unwrap()
            .credential(Arc::new(Counting::default())),
    )
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("base_url"));
    assert!(err.message().contains("over plain HTTP"), "{err}");

    // An api-key is allowed with a warning, and refused under require_https.
    let c = AzureConfig::new("http://gpu-box.corp:8080/openai")
        .unwrap()
        .api_key("k");
    assert_eq!(c.warnings().len(), 1);
    assert!(AzureProvider::new(c.clone()).is_ok());
    let err = AzureProvider::new(c.require_https(true)).unwrap_err();
    assert!(err.message().contains("require_https"), "{err}");
}

#[tokio::test]
async fn the_api_key_does_not_follow_a_redirect() {
    let elsewhere = TestServer::start().await.unwrap();
    elsewhere.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["x"], None)),
    );
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        Reply::status(307).header(
            "location",
            &format!("{}{}", elsewhere.url(), azure::chat_path("d")),
        ),
    );
    let err = keyed(&server, "").stream(hello("d")).await.err().unwrap();
    assert_eq!(err.status(), Some(307));
    assert!(
        elsewhere.requests().is_empty(),
        "the key went to another origin"
    );
}

#[tokio::test]
async fn models_come_from_the_organization_the_url_or_the_v1_route() {
    let server = TestServer::start().await.unwrap();
    server.route(
        "GET",
        azure::V1_MODELS_PATH,
        Reply::json(200, openai::models(&["gpt-4o", "o3-mini"])),
    );
    // The organization's list wins, without a request.
    let p = AzureProvider::new(
        AzureConfig::new(&server.url())
            .unwrap()
            .api_key("k")
            .models(vec![ModelInfo::new("team-4o")]),
    )
    .unwrap();
    assert_eq!(p.list_models().await.unwrap()[0].id, "team-4o");
    assert!(server.requests().is_empty());
    // A deployment URL names its one model.
    let p = keyed(&server, "/openai/deployments/prod");
    assert_eq!(p.list_models().await.unwrap()[0].id, "prod");
    // Otherwise the resource's v1 list, with the same auth.
    let p = keyed(&server, "/openai");
    let ids: Vec<String> = p
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["gpt-4o", "o3-mini"]);
    assert_eq!(
        server.requests()[0].header("api-key"),
        Some("azure-key-123")
    );
    // A resource without one says so plainly.
    let bare = TestServer::start().await.unwrap();
    let err = keyed(&bare, "/openai").list_models().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("offers no model list"), "{err}");
}

#[test]
fn debug_never_shows_the_key() {
    let c = AzureConfig::new("https://a.openai.azure.com")
        .unwrap()
        .api_key("super-secret-key")
        .header("X-Api-Key", "header-secret");
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("super-secret-key") && !shown.contains("header-secret"),
        "{shown}"
    );
    let _ = json!({});
}

/// A clock moved by hand, and a credential whose tokens live 10 minutes on it.
#[derive(Clone)]
struct Clock(Arc<AtomicUsize>);

impl Clock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_800_000_000 + self.0.load(Ordering::SeqCst) as u64)
    }
}

#[derive(Debug)]
struct OnClock {
    base: Arc<AtomicUsize>,
    calls: AtomicUsize,
}

#[async_trait]
impl TokenCredential for OnClock {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        // A token endpoint takes a moment: every request arriving meanwhile must wait.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Clock(self.base.clone()).now();
        Ok(AccessToken::new(
            format!("token-{n}"),
            (now + Duration::from_secs(600)).into(),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_fetch_one_token_and_refresh_it_once_near_expiry() {
    use cline_provider_azure::auth::EntraTokenSource;
    use cline_provider_azure::EntraId;
    use cline_provider_core::auth::CachedTokenSource;

    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        &azure::chat_path("d"),
        Reply::sse(azure::filtered_text_stream("d", &["ok"], None)),
    );
    let offset = Arc::new(AtomicUsize::new(0));
    let cred = Arc::new(OnClock {
        base: offset.clone(),
        calls: AtomicUsize::new(0),
    });
    let clock = Clock(offset.clone());
    let cache = CachedTokenSource::new(Arc::new(EntraTokenSource::new(
        cred.clone(),
        "https://cognitiveservices.azure.com/.default",
    )))
    .clock(Arc::new(move || clock.now()));
    let provider = Arc::new(
        AzureProvider::new(
            AzureConfig::new(&server.url())
                .unwrap()
                .entra_id(EntraId {
                    cache: Some(Arc::new(cache)),
                    ..EntraId::default()
                })
                .http(http()),
        )
        .unwrap(),
    );
    let burst = || {
        let provider = provider.clone();
        async move {
            let tasks: Vec<_> = (0..1000)
                .map(|_| {
                    let p = provider.clone();
                    tokio::spawn(async move { p.complete(hello("d")).await.map(|r| r.text) })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap().unwrap(), "ok");
            }
        }
    };
    burst().await;
    assert_eq!(
        cred.calls.load(Ordering::SeqCst),
        1,
        "one fetch for 1,000 requests"
    );
    let bearer =
        |r: &cline_provider_testkit::RecordedRequest| r.header("authorization").map(str::to_owned);
    assert!(server
        .requests()
        .iter()
        .all(|r| bearer(r).as_deref() == Some("Bearer token-1")));

    // 100 s before expiry: inside the two-minute refresh window.
    offset.fetch_add(500, Ordering::SeqCst);
    server.clear_requests();
    burst().await;
    assert_eq!(
        cred.calls.load(Ordering::SeqCst),
        2,
        "one refresh near expiry"
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1000);
    // While the refresh ran, requests kept using the still-valid token.
    assert!(sent.iter().all(|r| matches!(
        bearer(r).as_deref(),
        Some("Bearer token-1" | "Bearer token-2")
    )));
}

#[tokio::test]
async fn azure_streams_decode_the_same_however_the_bytes_are_split() {
    let server = TestServer::start().await.unwrap();
    let frames = || {
        let mut f = azure::filtered_text_stream("d", &["Hé", "llo", " wörld"], Some((9, 3)));
        // An Azure stream that ends blocked, too: its events must not depend on the split.
        f.truncate(f.len() - 1);
        f.extend(azure::completion_blocked_stream("d", &["!"], "hate", "low"));
        f
    };
    let mut outcomes = Vec::new();
    for size in [usize::MAX, 1, 2, 3, 7, 64] {
        server.clear_requests();
        let path = azure::chat_path(&format!("d{size}"));
        let reply = Reply::sse(frames());
        let reply = if size == usize::MAX {
            reply
        } else {
            reply.chunk_size(size)
        };
        server.route("POST", &path, reply);
        let p = keyed(&server, "");
        let mut stream = p.stream(hello(&format!("d{size}"))).await.unwrap();
        let mut seen = Vec::new();
        while let Some(item) = stream.next().await {
            seen.push(match item {
                Ok(e) => format!("{e:?}"),
                Err(e) => format!("error {:?}: {}", e.kind(), e.message()),
            });
        }
        outcomes.push(seen);
    }
    let whole = &outcomes[0];
    assert!(
        whole.last().unwrap().contains("ContentFiltered"),
        "{whole:?}"
    );
    assert!(whole.iter().any(|e| e.contains("wörld")), "{whole:?}");
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o, whole, "split #{i}");
    }
}
