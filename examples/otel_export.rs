//! Export the SDK's GenAI spans with OpenTelemetry: one span per model call, fielded after the
//! GenAI semantic conventions, printed by the stdout exporter. Swap the exporter for
//! `opentelemetry-otlp`'s to send them to your collector.
//!
//! ```sh
//! cargo run --example otel_export -- "Say hello"
//! ```
//!
//! With no `OPENAI_BASE_URL`, the testkit's offline demo endpoint answers. Prompts and replies
//! stay out of the spans unless `--capture-content` is given.

use futures_util::StreamExt;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use cline_provider::http::HttpConfig;
use cline_provider::policy::{resolve, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connect_with, ChatRequest, ConnectOptions, Message, Provider, StreamEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let capture_content = args.iter().any(|a| a == "--capture-content");
    args.retain(|a| a != "--capture-content");
    let prompt = if args.is_empty() {
        "Say hello".to_owned()
    } else {
        args.join(" ")
    };

    // The OpenTelemetry side: a tracer provider with the stdout exporter, and the
    // `tracing-opentelemetry` layer that turns `tracing` spans into OpenTelemetry spans.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .with_resource(
            Resource::builder()
                .with_service_name("otel-export-example")
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("cline-provider"));
    // Only the model calls (and the engine's warnings, such as retries, as span events).
    let filter = Targets::new()
        .with_target(cline_provider::telemetry::TARGET, tracing::Level::INFO)
        .with_target("cline_provider_core", tracing::Level::WARN);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(layer).with(filter),
    )?;

    // The SDK side: nothing to do but connect; every request is traced.
    let secrets = MemorySecretStore::new();
    let (base_url, _demo) = match std::env::var("OPENAI_BASE_URL") {
        Ok(url) => {
            if let Ok(key) = std::env::var("OPENAI_API_KEY") {
                secrets.set(OPENAI_API_KEY, key.into())?;
            }
            (url, None)
        }
        Err(_) => {
            let server = cline_provider_testkit::demo::start().await?;
            eprintln!("(no OPENAI_BASE_URL: using the built-in offline demo endpoint)");
            secrets.set(OPENAI_API_KEY, "sk-demo".to_owned().into())?;
            (format!("{}/v1", server.url()), Some(server))
        }
    };
    let model = std::env::var("CLINE_MODEL").unwrap_or_else(|_| "demo-chat".into());
    let member = MemberSettings::from_json(
        &serde_json::json!({"openAiBaseUrl": base_url, "openAiModelId": model}).to_string(),
    )?;
    let options = ConnectOptions {
        http: HttpConfig {
            capture_content,
            ..HttpConfig::default()
        },
        ..ConnectOptions::default()
    };
    let connection = connect_with(&resolve(None, &member), &secrets, &options)?;
    let mut stream = connection
        .provider()
        .stream(ChatRequest::new("").message(Message::user(prompt)))
        .await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event? {
            eprint!("{text}");
        }
    }
    eprintln!();
    // The span closes with the stream; shutting down flushes it to the exporter.
    drop(stream);
    provider.shutdown()?;
    Ok(())
}
