//! A two-tool agent: the model calls tools, the program runs them, the results go back, until
//! the model answers. Everything a host writes by hand, done by `run_tool_loop`.
//!
//! ```sh
//! cargo run --example tools
//! cargo run --example tools -- "What is 30 °C in Kelvin, and the weather in Oslo?"
//! OPENAI_BASE_URL=… OPENAI_API_KEY=… CLINE_MODEL=gpt-4o-mini cargo run --example tools
//! ```
//!
//! With `OPENAI_BASE_URL` and `OPENAI_API_KEY` unset it runs against the built-in offline demo
//! endpoint, which calls each offered tool once (arguments taken from the prompt's words) and
//! then reports what the tools said.

use std::io::Write;
use std::process::ExitCode;

use cline_provider::prelude::*;
use serde::Deserialize;
use serde_json::json;

/// The most replies one question may take.
const MAX_TURNS: u32 = 6;

#[derive(Debug, Deserialize)]
struct WeatherArgs {
    city: String,
}

#[derive(Debug, Deserialize)]
struct ConvertArgs {
    celsius: f64,
    unit: String,
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::function(
            "get_weather",
            "The current weather in a city.",
            json!({
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
                "required": ["city"]
            }),
        ),
        Tool::function(
            "convert_temperature",
            "Converts a temperature in degrees Celsius.",
            json!({
                "type": "object",
                "properties": {
                    "celsius": {"type": "number"},
                    "unit": {"type": "string", "enum": ["fahrenheit", "kelvin"]}
                },
                "required": ["celsius", "unit"]
            }),
        ),
    ]
}

/// Runs one tool call. A bad call becomes an error the model reads and can correct.
async fn call_tool(call: CompletedToolCall) -> std::result::Result<String, Error> {
    eprintln!("→ {}({})", call.name, call.raw_arguments());
    let out = match call.name.as_str() {
        "get_weather" => {
            let args: WeatherArgs = call.parse_arguments()?;
            // A real agent would ask a weather service here.
            format!("{}: 18 °C, light rain", args.city)
        }
        "convert_temperature" => {
            let args: ConvertArgs = call.parse_arguments()?;
            match args.unit.as_str() {
                "fahrenheit" => format!("{:.1} °F", args.celsius * 9.0 / 5.0 + 32.0),
                "kelvin" => format!("{:.2} K", args.celsius + 273.15),
                other => format!("unknown unit {other}"),
            }
        }
        other => format!("there is no tool named {other}"),
    };
    eprintln!("← {out}");
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nhint: {}", e.hint());
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let prompt = if prompt.trim().is_empty() {
        "What is 21 °C in Fahrenheit, and what is the weather in Paris?".to_owned()
    } else {
        prompt
    };
    let configured = ["OPENAI_BASE_URL", "OPENAI_API_KEY"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    // The demo server must outlive the requests, so it is held here.
    let (config, _demo) = if configured {
        (OpenAiConfig::from_env()?, None)
    } else {
        let server = cline_provider_testkit::demo::start().await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("the demo endpoint did not start: {e}"),
            )
        })?;
        eprintln!(
            "note: OPENAI_BASE_URL is not set, so the built-in offline demo endpoint answers."
        );
        (
            OpenAiConfig::new(&format!("{}/v1", server.url()))?,
            Some(server),
        )
    };
    let provider = OpenAiProvider::new(config)?;
    let model = std::env::var("CLINE_MODEL")
        .ok()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| cline_provider_testkit::demo::DEFAULT_MODEL.to_owned());

    let request = ChatRequest::new(model)
        .message(Message::system("Use the tools to answer; be brief."))
        .message(Message::user(prompt))
        .tools(tools());
    let mut stdout = std::io::stdout();
    let outcome = run_tool_loop(&provider, request, MAX_TURNS, call_tool, &mut |event| {
        if let StreamEvent::TextDelta { text } = event {
            let _ = write!(stdout, "{text}");
            let _ = stdout.flush();
        }
    })
    .await?;
    println!();
    let tokens = outcome.usage.map_or(0, |u| u.total_tokens());
    eprintln!(
        "{} turns, {} tool results, {tokens} tokens{}",
        outcome.turns,
        outcome
            .messages
            .iter()
            .filter(|m| m.role == Role::Tool)
            .count(),
        if outcome.hit_turn_limit {
            " (stopped at the turn limit)"
        } else {
            ""
        }
    );
    Ok(())
}
