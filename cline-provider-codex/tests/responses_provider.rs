//! `CodexProvider` against the fake Codex backend and the fake issuer: what it sends (headers,
//! body), what it makes of the stream (text, reasoning, parallel tool calls, usage on the
//! plan, reasoning carried to the next turn), and how it fails (in-stream failures by code,
//! an incomplete reply, the plan's usage limit, a cut stream, 401 → refresh → retry, no
//! sign-in, a model outside the plan).

mod common;

use std::time::Duration;

use cline_provider_codex::CodexProvider;
use cline_provider_core::{
    Billing, ChatRequest, Collector, ErrorKind, FinishReason, Message, Provider, ReasoningEffort,
    StreamEvent, Tool, Usage,
};
use cline_provider_testkit::responses::Turn;
use common::{drain, Codex};
use serde_json::{json, Value};

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new("gpt-5.5")
        .message(Message::system("You are terse."))
        .message(Message::user(text))
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta { text: t.into() }
}

fn thought(t: &str) -> StreamEvent {
    StreamEvent::ReasoningDelta { text: t.into() }
}

async fn complete(provider: &CodexProvider, req: ChatRequest) -> cline_provider_core::ChatResponse {
    let (events, err) = drain(provider.stream(req).await).await;
    assert!(err.is_none(), "{err:?}");
    let mut c = Collector::default();
    c.extend(events);
    c.finish()
}

#[tokio::test]
async fn text_reasoning_summary_two_parallel_calls_and_usage_with_the_headers_and_body_the_endpoint_wants(
) {
    let codex = Codex::signed_in().await;
    codex.backend.push(
        Turn::new()
            .reasoning(&["Two cities, two lookups."])
            .message(&["Checking ", "both."])
            .function_call("call_paris", "get_weather", &["{\"city\":", "\"Paris\"}"])
            .function_call("call_rome", "get_weather", &["{\"city\":\"Rome\"}"])
            .usage(1200, 1000, 90, 40),
    );
    let provider = codex.provider();
    let req = ask("Weather in Paris and Rome?")
        .tool(weather_tool())
        .temperature(0.3)
        .max_output_tokens(500);
    let (events, err) = drain(provider.stream(req).await).await;
    assert!(err.is_none(), "{err:?} / {:?}", codex.backend.refusals());

    let reasoning_item = events
        .iter()
        .find_map(|e| match e {
            StreamEvent::ReasoningItem(item) => Some(item.clone()),
            _ => None,
        })
        .expect("the reasoning item comes back");
    let want = vec![
        StreamEvent::Metadata {
            id: Some("resp_0001".into()),
            model: Some("gpt-5.5".into()),
        },
        thought("Two "),
        thought("cities, "),
        thought("two "),
        thought("lookups."),
        StreamEvent::ReasoningItem(reasoning_item.clone()),
        text("Checking "),
        text("both."),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_paris".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 0,
            delta: "{\"city\":".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 0,
            delta: "\"Paris\"}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_rome".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallArgumentsDelta {
            index: 1,
            delta: "{\"city\":\"Rome\"}".into(),
        },
        StreamEvent::Usage(Usage {
            input_tokens: 1200,
            cached_input_tokens: 1000,
            output_tokens: 90,
            reasoning_tokens: 40,
            cache_write_tokens: 0,
            billing: Billing::Subscription,
        }),
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
    ];
    assert_eq!(events, want);
    assert_eq!(reasoning_item.provider, "openai-codex");
    assert_eq!(
        reasoning_item.data["encrypted_content"],
        codex.backend.issued_encrypted_contents()[0]
    );

    let mut c = Collector::default();
    c.extend(events);
    let reply = c.finish();
    assert_eq!(reply.tool_calls.len(), 2);
    assert_eq!(reply.usage.and_then(|u| u.fixed_cost()), Some(0.0));

    // What the endpoint received.
    let sent = &codex.backend.responses_requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {}", codex.access_token()).as_str())
    );
    assert_eq!(sent.header("chatgpt-account-id"), Some("acc-test-1"));
    assert_eq!(sent.header("originator"), Some("cline"));
    assert_eq!(sent.header("session_id"), Some(provider.session()));
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert!(sent
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("cline-provider/")));
    let body = sent.json().expect("json body");
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert!(body.get("max_output_tokens").is_none(), "{body}");
    assert!(body.get("temperature").is_none(), "{body}");
    assert_eq!(body["model"], "gpt-5.5");
    assert_eq!(body["instructions"], "You are terse.");
    assert_eq!(body["prompt_cache_key"], provider.session());
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "name": "get_weather", "description": "Current weather in a city",
               "parameters": weather_tool().parameters, "strict": false})
    );
    // A session id is a UUID v7 (version nibble 7).
    assert_eq!(provider.session().as_bytes()[14], b'7');
    assert!(codex.backend.refusals().is_empty());
}

#[tokio::test]
async fn reasoning_goes_back_on_the_next_turn_with_its_encrypted_content() {
    let codex = Codex::signed_in().await;
    codex.backend.push(
        Turn::new()
            .reasoning(&["Add the two.", "Check it."])
            .message(&["4"])
            .usage(30, 0, 12, 8),
    );
    codex
        .backend
        .push(Turn::text(&["It is still 4."]).usage(60, 30, 5, 0));
    let provider = codex.provider();
    let first = ask("2 + 2?");
    let reply = provider.complete(first.clone()).await.expect("reply");
    assert_eq!(reply.text, "4");
    assert_eq!(reply.reasoning, "Add the two.\n\nCheck it.");
    assert_eq!(reply.reasoning_items.len(), 1);
    assert_eq!(reply.cost, Some(0.0), "the plan pays");

    // The reply as the history's assistant message carries its reasoning.
    let second = first
        .message(reply.to_message())
        .message(Message::user("Sure?"));
    let again = complete(&provider, second).await;
    assert_eq!(again.text, "It is still 4.");

    let issued = codex.backend.issued_encrypted_contents();
    let input = codex.backend.responses_requests()[1].json().unwrap()["input"].clone();
    assert_eq!(
        input,
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "2 + 2?"}]},
            {"type": "reasoning", "encrypted_content": issued[0], "summary": [
                {"type": "summary_text", "text": "Add the two."},
                {"type": "summary_text", "text": "Check it."},
            ]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "4"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Sure?"}]},
        ])
    );
    assert!(
        codex.backend.refusals().is_empty(),
        "{:?}",
        codex.backend.refusals()
    );
}

#[tokio::test]
async fn each_failure_code_is_its_own_kind() {
    let cases: [(&str, &str, ErrorKind); 5] = [
        (
            "context_length_exceeded",
            "Your input exceeds the context window of this model.",
            ErrorKind::ContextWindowExceeded,
        ),
        (
            "insufficient_quota",
            "You exceeded your current quota.",
            ErrorKind::QuotaExhausted,
        ),
        (
            "usage_not_included",
            "Your plan does not include Codex.",
            ErrorKind::AccessDenied,
        ),
        (
            "rate_limit_exceeded",
            "Rate limit reached for gpt-5.5. Please try again in 1.5s.",
            ErrorKind::RateLimited,
        ),
        (
            "server_error",
            "Something went wrong.",
            ErrorKind::StreamError,
        ),
    ];
    let codex = Codex::signed_in().await;
    for (code, message, _) in &cases {
        codex
            .backend
            .push(Turn::new().message(&["Par"]).failed(code, message));
    }
    codex.backend.push(Turn::text(&["unused"]));
    let provider = codex.provider();
    for (code, message, kind) in cases {
        let (events, err) = drain(provider.stream(ask("hi")).await).await;
        let err = err.unwrap_or_else(|| panic!("{code}: no error"));
        assert_eq!(err.kind(), &kind, "{code}");
        assert_eq!(err.code(), Some(code));
        assert!(err.message().contains(message), "{code}: {err}");
        let output: Vec<&StreamEvent> = events.iter().filter(|e| e.is_output()).collect();
        assert_eq!(
            output,
            [&text("Par")],
            "{code}: the text before the failure"
        );
        match kind {
            ErrorKind::RateLimited => {
                assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));
                assert!(
                    err.hint().contains("1500 ms") || err.hint().contains("2 s"),
                    "{}",
                    err.hint()
                );
            }
            ErrorKind::AccessDenied => {
                assert!(
                    err.hint().contains("plan does not include Codex"),
                    "{}",
                    err.hint()
                )
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_rate_limit_before_any_output_waits_as_asked_and_is_sent_again() {
    let codex = Codex::signed_in().await;
    codex.backend.push(Turn::new().failed(
        "rate_limit_exceeded",
        "Rate limit reached. Please try again in 30ms.",
    ));
    codex.backend.push(Turn::text(&["After the wait."]));
    let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&waits);
    let auth = cline_provider_codex::CodexAuth::new(codex.config()).unwrap();
    let client = cline_provider_core::http::HttpClient::with_env(
        cline_provider_core::http::HttpConfig {
            retry: cline_provider_core::http::RetryPolicy {
                max_retries: 2,
                ..cline_provider_core::http::RetryPolicy::default()
            },
            ..Codex::http()
        },
        &|_| None,
    )
    .unwrap()
    .with_retry_callback(std::sync::Arc::new(move |info| {
        seen.lock().unwrap().push(info.wait);
    }));
    let provider = CodexProvider::with_client(auth, client).unwrap();
    let reply = complete(&provider, ask("hi")).await;
    assert_eq!(reply.text, "After the wait.");
    assert_eq!(codex.backend.responses_requests().len(), 2);
    assert_eq!(*waits.lock().unwrap(), [Duration::from_millis(30)]);
}

#[tokio::test]
async fn an_incomplete_reply_ends_with_its_reason() {
    let codex = Codex::signed_in().await;
    codex.backend.push(
        Turn::text(&["A long ", "answ"])
            .usage(10, 0, 4096, 0)
            .incomplete("max_output_tokens"),
    );
    codex
        .backend
        .push(Turn::text(&["Filtered"]).incomplete("content_filter"));
    let provider = codex.provider();
    let reply = complete(&provider, ask("Tell me everything")).await;
    assert_eq!(reply.text, "A long answ");
    assert_eq!(reply.finish_reason, Some(FinishReason::Length));
    assert_eq!(reply.usage.map(|u| u.output_tokens), Some(4096));
    let reply = complete(&provider, ask("again")).await;
    assert_eq!(reply.finish_reason, Some(FinishReason::ContentFilter));
}

#[tokio::test]
async fn the_plans_usage_limit_is_a_subscription_limit_that_says_when_it_resets() {
    let codex = Codex::signed_in().await;
    codex
        .backend
        .push(Turn::usage_limit("plus", Duration::from_secs(2 * 3600)));
    // Retries on: a plan limit must still not be sent again.
    let provider = codex.provider_with(cline_provider_core::http::HttpConfig {
        retry: cline_provider_core::http::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_retry_after: Duration::from_secs(60),
            ..cline_provider_core::http::RetryPolicy::default()
        },
        ..Codex::http()
    });
    let err = provider.stream(ask("hi")).await.err().expect("refused");
    assert_eq!(err.kind(), &ErrorKind::SubscriptionLimit);
    assert_eq!(err.status(), Some(429));
    assert!(!err.is_retryable());
    let resets = err.resets_at().expect("the reset time");
    let left = resets
        .duration_since(std::time::SystemTime::now())
        .expect("in the future");
    assert!(
        left > Duration::from_secs(7000) && left <= Duration::from_secs(7200),
        "{left:?}"
    );
    let hint = err.hint();
    assert!(
        hint.contains("usage limit of your subscription plan"),
        "{hint}"
    );
    assert!(hint.contains("plan decides these limits"), "{hint}");
    assert!(hint.contains(&httpdate::fmt_http_date(resets)), "{hint}");
    assert_eq!(codex.backend.responses_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn a_stream_cut_before_response_completed_is_truncated() {
    let codex = Codex::signed_in().await;
    // created, in_progress, item added, part added, one delta: then the body ends.
    codex
        .backend
        .push(Turn::text(&["Half ", "an ", "answer"]).cut_after(5));
    let provider = codex.provider();
    let (events, err) = drain(provider.stream(ask("hi")).await).await;
    assert_eq!(events[1..], [text("Half ")]);
    assert!(
        matches!(&events[0], StreamEvent::Metadata { model: Some(m), .. } if m == "gpt-5.5"),
        "{events:?}"
    );
    let err = err.expect("an error, not a short answer");
    assert_eq!(err.kind(), &ErrorKind::Truncated);
}

#[tokio::test]
async fn a_401_refreshes_the_sign_in_and_retries_once() {
    let codex = Codex::signed_in().await;
    codex.backend.reject_token(codex.access_token());
    codex.backend.push(Turn::text(&["OK"]));
    let provider = codex.provider();
    let reply = complete(&provider, ask("hi")).await;
    assert_eq!(reply.text, "OK");
    assert_eq!(codex.setup.issuer.refresh_requests(), 1);
    let sent = codex.backend.responses_requests();
    assert_eq!(sent.len(), 2);
    let old = format!("Bearer {}", codex.access_token());
    assert_eq!(sent[0].header("authorization"), Some(old.as_str()));
    let new = sent[1].header("authorization").expect("bearer");
    assert_ne!(new, old, "the retry carries the refreshed token");
    assert_eq!(sent[0].body, sent[1].body, "the same request is sent again");
    // The refreshed token is the stored one now.
    let stored = codex.setup.own_file().expect("stored");
    assert_eq!(
        format!(
            "Bearer {}",
            stored["tokens"]["access_token"].as_str().unwrap()
        ),
        new
    );
}

#[tokio::test]
async fn a_second_401_ends_the_sign_in_with_the_hint() {
    let codex = Codex::signed_in().await;
    // The account itself is refused: the refreshed token is no better.
    codex.backend.refuse_every_token(true);
    let provider = codex.provider();
    let err = provider
        .stream(ask("hi"))
        .await
        .err()
        .expect("refused twice");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn, "{err}");
    assert_eq!(err.status(), Some(401));
    assert!(err.hint().contains("Sign in again"), "{}", err.hint());
    assert_eq!(codex.setup.issuer.refresh_requests(), 1);
    let sent = codex.backend.responses_requests();
    assert_eq!(sent.len(), 2, "one retry, no more");
    assert_ne!(
        sent[0].header("authorization"),
        sent[1].header("authorization")
    );
}

#[tokio::test]
async fn without_a_sign_in_nothing_is_sent_and_the_hint_names_the_command() {
    let codex = Codex::signed_out().await;
    let auth = cline_provider_codex::CodexAuth::new(
        codex
            .config()
            .login_command("cargo run --example codex_login -- login"),
    )
    .unwrap();
    let client = cline_provider_core::http::HttpClient::with_env(Codex::http(), &|_| None).unwrap();
    let provider = CodexProvider::with_client(auth, client).unwrap();
    let err = provider
        .stream(ask("hi"))
        .await
        .err()
        .expect("not signed in");
    assert_eq!(err.kind(), &ErrorKind::NotSignedIn);
    assert!(
        err.hint()
            .contains("`cargo run --example codex_login -- login`"),
        "{}",
        err.hint()
    );
    assert!(err.hint().contains("Sign in with OpenAI"), "{}", err.hint());
    assert!(codex.backend.server().requests().is_empty());
    assert!(codex.setup.issuer.server().requests().is_empty());
}

#[tokio::test]
async fn a_model_outside_the_plan_is_not_available_on_the_plan() {
    let codex = Codex::signed_in().await;
    codex.backend.set_plan_models(&["gpt-5.5", "gpt-5.4"]);
    let provider = codex.provider();
    let mut req = ask("hi");
    req.model = "gpt-5.1-codex-max".into();
    let err = provider.stream(req).await.err().expect("refused");
    assert_eq!(err.kind(), &ErrorKind::ModelNotFound);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.available_models(), ["gpt-5.5", "gpt-5.4"]);
    let hint = err.hint();
    assert!(
        hint.contains("`gpt-5.1-codex-max` is not available on your ChatGPT plan (plus)"),
        "{hint}"
    );
    assert!(hint.contains("It offers: gpt-5.5, gpt-5.4."), "{hint}");
}

#[tokio::test]
async fn the_live_listing_wins_over_the_catalog_and_the_catalog_stands_in_without_it() {
    let codex = Codex::signed_in().await;
    codex.backend.set_plan_models(&["gpt-5.4", "gpt-6-preview"]);
    let provider = codex.provider();
    let models = provider.list_models().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gpt-5.4", "gpt-6-preview"]);
    assert_eq!(
        models[0].context_window,
        Some(1_000_000),
        "from the catalog"
    );
    assert_eq!(models[1].context_window, None, "unknown to the catalog");
    assert!(models.iter().all(|m| m.input_price == Some(0.0)));
    let listed = &codex.backend.server().requests()[0];
    assert_eq!(listed.path, "/backend-api/codex/models");
    assert!(listed
        .query
        .as_deref()
        .unwrap_or("")
        .starts_with("client_version="));

    codex.backend.set_listing(false);
    let models = provider.list_models().await.unwrap();
    assert_eq!(models, cline_provider_codex::catalog());

    let signed_out = Codex::signed_out().await;
    let models = signed_out.provider().list_models().await.unwrap();
    assert_eq!(models, cline_provider_codex::catalog());
}

#[tokio::test]
async fn the_plan_limit_headers_come_with_the_reply() {
    let codex = Codex::signed_in().await;
    codex
        .backend
        .push(Turn::text(&["Hi"]).plan_limit_headers(42.0, 7.5, 1_900_000_000));
    let provider = codex.provider();
    let reply = complete(&provider, ask("hi")).await;
    let limits = reply.rate_limits.expect("reported");
    assert_eq!(limits.plan.as_deref(), Some("plus"));
    assert_eq!(limits.windows[0].used_percent, Some(42.0));
    assert_eq!(
        limits.windows[0].window,
        Some(Duration::from_secs(5 * 3600))
    );
    assert_eq!(limits.windows[1].used_percent, Some(7.5));
}

#[tokio::test]
async fn a_request_session_id_reasoning_off_and_extra_fields_are_honoured_but_refused_fields_never_sent(
) {
    let codex = Codex::signed_in().await;
    let provider = codex
        .provider()
        .reasoning_effort(ReasoningEffort::None)
        .default_model("gpt-5.4");
    let mut req = ChatRequest::new("")
        .message(Message::user("hi"))
        .header("session_id", "0196f6a0-0000-7000-8000-000000000001")
        .body_field("temperature", json!(0.2))
        .body_field("max_output_tokens", json!(64))
        .body_field("text", json!({"verbosity": "low"}));
    req.stop = vec!["END".into()];
    complete(&provider, req).await;
    let sent = &codex.backend.responses_requests()[0];
    assert_eq!(
        sent.header("session_id"),
        Some("0196f6a0-0000-7000-8000-000000000001")
    );
    let body: Value = sent.json().unwrap();
    assert_eq!(body["model"], "gpt-5.4");
    assert_eq!(
        body["prompt_cache_key"],
        "0196f6a0-0000-7000-8000-000000000001"
    );
    assert!(
        body.get("reasoning").is_none() && body.get("include").is_none(),
        "{body}"
    );
    assert!(body.get("stop").is_none());
    assert!(body.get("temperature").is_none() && body.get("max_output_tokens").is_none());
    assert_eq!(
        body["text"],
        json!({"verbosity": "low"}),
        "other extra fields pass"
    );
    assert_eq!(body["instructions"], "");
}
