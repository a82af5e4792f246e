//! The main job: stream a reply from the configured endpoint.
//!
//! ```sh
//! cargo run --example chat -- "Say hello"
//! cargo run --example chat -- --models
//! OPENAI_BASE_URL=http://127.0.0.1:8000/v1 CLINE_MODEL=qwen cargo run --example chat -- "Hi"
//! ```
//!
//! The endpoint comes from `OPENAI_BASE_URL` and `OPENAI_API_KEY`, the model from `--model`,
//! else `CLINE_MODEL`, else the endpoint's first listed model. With neither variable set,
//! the example starts the testkit's offline demo endpoint in-process and says so on stderr,
//! so it works on a fresh machine with no account.
//!
//! `--provider azure` reads the variables the official OpenAI SDKs use for Azure:
//! `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` (absent: Microsoft Entra ID through the
//! default credential chain, which honours `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/
//! `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`, `AZURE_FEDERATED_TOKEN_FILE`,
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, `az login`, `azd auth login` and
//! `AZURE_TOKEN_CREDENTIALS`) and `OPENAI_API_VERSION`; the deployment is `CLINE_MODEL`.
//! With no `AZURE_OPENAI_ENDPOINT`, the demo endpoint answers as an Azure resource (api-key).
//!
//! `--provider codex` streams from the person's ChatGPT subscription through their "Sign in
//! with OpenAI" (`cargo run --example codex_login -- login`, or the Codex CLI's sign-in), at
//! `CLINE_CODEX_BASE_URL` or the ChatGPT backend. Not signed in, it says how to sign in and
//! exits with status 1, before anything is sent. `--provider codex --offline` runs the same
//! path against a fake sign-in and a fake Codex endpoint inside the program, and says so.
//!
//! The reply streams to stdout as it arrives. Reasoning is shown dimmed when stdout is a
//! terminal; when stdout is piped, reasoning goes to stderr as plain text, so the pipe gets
//! only the answer. Token usage is printed to stderr at the end. Errors print their message
//! and a `hint:` line, and the exit status is non-zero (2 for a usage error).

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use cline_provider_azure::{AzureConfig, AzureProvider};
use cline_provider_codex::{CodexAuth, CodexConfig, CodexProvider};
use cline_provider_core::http::{HttpClient, RetryInfo};
use cline_provider_core::{
    Billing, ChatRequest, Collector, Error, Message, Provider, ReasoningEffort, StreamEvent,
    ToolArguments, Usage,
};
use cline_provider_openai::{OpenAiConfig, OpenAiProvider};
use futures_util::StreamExt;

const USAGE: &str = "\
usage: chat [options] <prompt…>
       chat --models

options:
  --models                     list the endpoint's models and exit
  --provider openai|azure|codex  connection mode (default: openai)
  --model <id>                 model to use (default: $CLINE_MODEL, else the first listed)
  --system <text>              system prompt
  --reasoning-effort <e>       none, low, medium, high or xhigh (reasoning models)
  --offline                    use the built-in offline demo even when an endpoint is set
                               (OPENAI_API_KEY, if set, is sent to it); codex: a fake sign-in
                               and a fake Codex endpoint
  -h, --help                   show this help

environment: OPENAI_BASE_URL, OPENAI_API_KEY, CLINE_MODEL
  --provider azure: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY (unset: Entra ID, e.g. az login),
  OPENAI_API_VERSION, CLINE_MODEL (the deployment)
  --provider codex: your sign-in (cargo run --example codex_login -- login), CLINE_CODEX_BASE_URL
With no OPENAI_BASE_URL and no OPENAI_API_KEY (azure: no AZURE_OPENAI_ENDPOINT), a built-in
offline demo endpoint answers.
With no prompt argument, the prompt is read from stdin when stdin is not a terminal.";

/// The command line, parsed by hand.
#[derive(Debug, Default, PartialEq)]
struct Args {
    prompt: Vec<String>,
    models: bool,
    provider: Option<String>,
    model: Option<String>,
    system: Option<String>,
    reasoning_effort: Option<String>,
    offline: bool,
    help: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(arg) = it.next() {
        // `--flag=value` and `--flag value` are both accepted.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => args.help = true,
            "--models" => args.models = true,
            "--offline" => args.offline = true,
            "--provider" => args.provider = Some(value("--provider")?),
            "--model" => args.model = Some(value("--model")?),
            "--system" => args.system = Some(value("--system")?),
            "--reasoning-effort" => args.reasoning_effort = Some(value("--reasoning-effort")?),
            "--" => {
                args.prompt.extend(it.by_ref());
                break;
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(format!("unknown option `{other}`"));
            }
            _ => args.prompt.push(arg),
        }
    }
    Ok(args)
}

/// How the run ended, for the exit status.
enum Failure {
    /// Wrong command line: exit 2.
    Usage(String),
    /// The SDK said no: message and hint, exit 1.
    Sdk(Error),
    /// Anything else (writing to stdout, starting the demo): exit 1.
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Configuration warnings and retries are reported by the example itself; the log only
    // carries errors.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::ERROR)
        .with_target(false)
        .without_time()
        .init();

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Sdk(e)) => {
            eprintln!("error: {e}");
            eprintln!("hint: {}", e.hint());
            if e.kind() == &cline_provider_core::ErrorKind::InvalidConfig
                && e.field() == Some("provider")
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
        Err(Failure::Other(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Failure> {
    let args = parse_args(std::env::args().skip(1)).map_err(Failure::Usage)?;
    if args.help {
        println!("{USAGE}");
        return Ok(());
    }
    let codex = args.provider.as_deref() == Some("codex");
    let azure = match args.provider.as_deref().unwrap_or("openai") {
        "openai" | "codex" => false,
        "azure" => true,
        other => {
            return Err(Failure::Usage(format!(
                "unknown provider `{other}` (choose openai, azure or codex)"
            )))
        }
    };
    let effort = match args.reasoning_effort.as_deref() {
        Some(e) => Some(e.parse::<ReasoningEffort>()?),
        None => None,
    };

    let mut prompt = args.prompt.join(" ");
    if !args.models {
        if prompt.trim().is_empty() && !std::io::stdin().is_terminal() {
            std::io::stdin().read_to_string(&mut prompt).map_err(|e| {
                Failure::Other(format!("could not read the prompt from stdin: {e}"))
            })?;
        }
        if prompt.trim().is_empty() {
            return Err(Failure::Usage("no prompt given".into()));
        }
    }

    if azure {
        let (provider, _demo) = azure_provider().await?;
        return converse(&provider, args, prompt, effort).await;
    }
    if codex {
        let (provider, _demo) = codex_provider(args.offline).await?;
        return converse(&provider, args, prompt, effort).await;
    }

    let configured = ["OPENAI_BASE_URL", "OPENAI_API_KEY"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    // The demo server must outlive the requests, so it is held here.
    let (config, _demo) = if configured && !args.offline {
        (OpenAiConfig::from_env()?, None)
    } else {
        let server = cline_provider_testkit::demo::start().await.map_err(|e| {
            Failure::Other(format!("could not start the offline demo endpoint: {e}"))
        })?;
        let base = format!("{}/v1", server.url());
        if args.offline {
            eprintln!("note: --offline: the built-in offline demo endpoint answers ({base}); no real model is involved.");
        } else {
            eprintln!("note: OPENAI_BASE_URL is not set, so a built-in offline demo endpoint answers ({base}); no real model is involved.");
        }
        let mut config = OpenAiConfig::new(&base)?;
        if let Ok(key) = std::env::var("OPENAI_API_KEY") {
            config = config.api_key(key);
        }
        (config, Some(server))
    };
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    let client = noting_client(&config.http)?;
    let provider = OpenAiProvider::with_client(config, client)?;
    converse(&provider, args, prompt, effort).await
}

/// The HTTP client, saying on stderr when it retries.
fn noting_client(http: &cline_provider_core::http::HttpConfig) -> Result<HttpClient, Failure> {
    Ok(
        HttpClient::new(http.clone())?.with_retry_callback(Arc::new(|info: &RetryInfo| {
            eprintln!(
                "note: retrying in {:.1} s ({})",
                info.wait.as_secs_f64(),
                info.reason
            );
        })),
    )
}

/// Lists models or streams one reply, whatever the provider.
async fn converse(
    provider: &dyn Provider,
    args: Args,
    prompt: String,
    effort: Option<ReasoningEffort>,
) -> Result<(), Failure> {
    if args.models {
        return list_models(provider).await;
    }

    let model = match args.model.or_else(|| {
        std::env::var("CLINE_MODEL")
            .ok()
            .filter(|m| !m.trim().is_empty())
    }) {
        Some(m) => m,
        None => first_model(provider).await?,
    };
    let mut request = ChatRequest::new(model);
    if let Some(system) = args.system {
        request = request.message(Message::system(system));
    }
    request = request.message(Message::user(prompt.trim_end()));
    if let Some(e) = effort {
        request = request.reasoning_effort(e);
    }
    stream_reply(provider, request).await
}

/// The Azure provider from `AZURE_OPENAI_*`, or the demo endpoint's Azure route when
/// `AZURE_OPENAI_ENDPOINT` is not set (the server is returned so it outlives the requests).
async fn azure_provider(
) -> Result<(AzureProvider, Option<cline_provider_testkit::TestServer>), Failure> {
    let configured = std::env::var("AZURE_OPENAI_ENDPOINT").is_ok_and(|s| !s.trim().is_empty());
    let (config, demo) = if configured {
        (AzureConfig::from_env()?, None)
    } else {
        let server = cline_provider_testkit::demo::start_azure()
            .await
            .map_err(|e| {
                Failure::Other(format!("could not start the offline demo endpoint: {e}"))
            })?;
        let endpoint = format!("{}/openai", server.url());
        eprintln!("note: AZURE_OPENAI_ENDPOINT is not set, so a built-in offline demo endpoint answers as an Azure resource ({endpoint}, api-key); no real model is involved.");
        (
            AzureConfig::new(&endpoint)?.api_key("demo-key"),
            Some(server),
        )
    };
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    let client = noting_client(&config.http)?;
    Ok((AzureProvider::with_client(config, client)?, demo))
}

/// What runs the offline Codex demo: a fake issuer with the fake Codex endpoint on the same
/// server, and the throw-away directory its sign-in lives in. Held while requests run.
struct CodexDemo {
    _issuer: cline_provider_testkit::oauth::FakeIssuer,
    _dir: tempfile::TempDir,
}

/// The Codex provider over the person's sign-in (the hint names this repository's sign-in
/// command), or, with `--offline`, over a demo sign-in to a fake endpoint.
async fn codex_provider(offline: bool) -> Result<(CodexProvider, Option<CodexDemo>), Failure> {
    if offline {
        let (provider, demo) = codex_demo().await?;
        return Ok((provider, Some(demo)));
    }
    let config = CodexConfig::from_env()?.login_command("cargo run --example codex_login -- login");
    let client = noting_client(&cline_provider_core::http::HttpConfig::default())?;
    Ok((
        CodexProvider::with_client(CodexAuth::new(config)?, client)?,
        None,
    ))
}

async fn codex_demo() -> Result<(CodexProvider, CodexDemo), Failure> {
    use cline_provider_testkit::oauth::FakeIssuer;
    use cline_provider_testkit::responses::{demo_answer, FakeCodexBackend};

    let start_failed =
        |e: std::io::Error| Failure::Other(format!("could not start the offline Codex demo: {e}"));
    let issuer = FakeIssuer::start().await.map_err(start_failed)?;
    issuer.set_pending_polls(0);
    let backend = FakeCodexBackend::on(issuer.server().clone());
    backend.answer_with(demo_answer);
    let dir = tempfile::tempdir().map_err(start_failed)?;
    let config = CodexConfig::new(dir.path())
        .issuer(&issuer.url())?
        .base_url(&backend.base_url())?
        .codex_home(None);
    let auth = CodexAuth::new(config)?;
    // The same device sign-in a headless machine uses; the demo issuer approves it at once.
    auth.login_device().await?.wait().await?;
    eprintln!(
        "note: --offline: a built-in offline demo answers ({}): a fake OpenAI sign-in and a fake \
         Codex endpoint inside this program; no ChatGPT account or real model is involved.",
        backend.base_url()
    );
    let client = noting_client(&cline_provider_core::http::HttpConfig::default())?;
    let provider = CodexProvider::with_client(auth, client)?;
    Ok((
        provider,
        CodexDemo {
            _issuer: issuer,
            _dir: dir,
        },
    ))
}

async fn list_models(provider: &dyn Provider) -> Result<(), Failure> {
    let models = provider.list_models().await?;
    let mut out = std::io::stdout().lock();
    for m in &models {
        let mut line = m.id.clone();
        if let Some(ctx) = m.context_window {
            line.push_str(&format!("\tcontext {ctx}"));
        }
        if let Some(owner) = &m.owned_by {
            line.push_str(&format!("\towned by {owner}"));
        }
        writeln!(out, "{line}")
            .map_err(|e| Failure::Other(format!("could not write to stdout: {e}")))?;
    }
    if models.is_empty() {
        eprintln!("the endpoint lists no models");
    }
    Ok(())
}

async fn first_model(provider: &dyn Provider) -> Result<String, Failure> {
    let models = provider.list_models().await.inspect_err(|_| {
        eprintln!("note: no model was named (--model or CLINE_MODEL), and the endpoint's model list could not be read");
    })?;
    match models.into_iter().next() {
        Some(m) => Ok(m.id),
        None => Err(Failure::Sdk(Error::invalid_config(
            "model",
            "the endpoint lists no models; name one with --model or CLINE_MODEL",
        ))),
    }
}

/// Where reasoning text goes and how it looks.
struct Style {
    tty: bool,
}

const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

async fn stream_reply(provider: &dyn Provider, request: ChatRequest) -> Result<(), Failure> {
    let style = Style {
        tty: std::io::stdout().is_terminal(),
    };
    let io_err = |e: std::io::Error| Failure::Other(format!("could not write the reply: {e}"));
    let mut stream = provider.stream(request).await?;
    let mut collector = Collector::default();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut in_reasoning = false;
    let mut wrote_text = false;

    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                if wrote_text || in_reasoning {
                    let _ = writeln!(stdout);
                }
                return Err(e.into());
            }
        };
        match &event {
            StreamEvent::ReasoningDelta { text } => {
                if style.tty {
                    if !in_reasoning {
                        write!(stdout, "{DIM}").map_err(io_err)?;
                    }
                    write!(stdout, "{text}").map_err(io_err)?;
                    stdout.flush().map_err(io_err)?;
                } else {
                    write!(stderr, "{text}").map_err(io_err)?;
                }
                in_reasoning = true;
            }
            StreamEvent::TextDelta { text } => {
                if in_reasoning {
                    if style.tty {
                        write!(stdout, "{RESET}\n\n").map_err(io_err)?;
                    } else {
                        writeln!(stderr).map_err(io_err)?;
                    }
                    in_reasoning = false;
                }
                write!(stdout, "{text}").map_err(io_err)?;
                stdout.flush().map_err(io_err)?;
                wrote_text = true;
            }
            _ => {}
        }
        collector.push(&event);
    }
    if in_reasoning && style.tty {
        write!(stdout, "{RESET}").map_err(io_err)?;
    }
    if wrote_text || in_reasoning {
        writeln!(stdout).map_err(io_err)?;
    }

    let reply = collector.finish();
    for call in &reply.tool_calls {
        let args = match &call.arguments {
            ToolArguments::Parsed { raw, .. } => raw.clone(),
            ToolArguments::Invalid { raw, .. } => format!("{raw} (not valid JSON)"),
        };
        eprintln!("tool call {} ({}): {args}", call.name, call.id);
    }
    let finish = reply.finish_reason.as_ref().map(|r| r.as_str().to_owned());
    eprintln!("{}", usage_line(reply.usage.as_ref(), finish.as_deref()));
    if let Some(limits) = reply.rate_limits.as_ref().filter(|l| !l.is_empty()) {
        eprintln!("limits: {limits}");
    }
    Ok(())
}

fn usage_line(usage: Option<&Usage>, finish: Option<&str>) -> String {
    let mut line = match usage {
        Some(u) => {
            let mut s = format!("usage: {} input", u.input_tokens);
            if u.cached_input_tokens > 0 {
                s.push_str(&format!(" ({} cached)", u.cached_input_tokens));
            }
            s.push_str(&format!(" + {} output", u.output_tokens));
            if u.reasoning_tokens > 0 {
                s.push_str(&format!(" ({} reasoning)", u.reasoning_tokens));
            }
            s.push_str(&format!(" = {} tokens", u.total_tokens()));
            if u.billing == Billing::Subscription {
                s.push_str(", cost 0 (covered by your subscription plan)");
            }
            s
        }
        None => "usage: not reported by the endpoint".to_owned(),
    };
    if let Some(f) = finish {
        line.push_str(&format!("; finish: {f}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_and_prompt() {
        let a = parse(&[
            "--model",
            "m",
            "--system=be brief",
            "Say",
            "hello",
            "--reasoning-effort",
            "high",
        ])
        .unwrap();
        assert_eq!(a.model.as_deref(), Some("m"));
        assert_eq!(a.system.as_deref(), Some("be brief"));
        assert_eq!(a.reasoning_effort.as_deref(), Some("high"));
        assert_eq!(a.prompt, ["Say", "hello"]);
        assert!(parse(&["--offline", "x"]).unwrap().offline);
        let a = parse(&["--", "--models", "is", "text"]).unwrap();
        assert!(!a.models);
        assert_eq!(a.prompt, ["--models", "is", "text"]);
    }

    #[test]
    fn bad_flags() {
        assert!(parse(&["--model"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--frobnicate"])
            .unwrap_err()
            .contains("unknown option"));
    }

    #[test]
    fn usage_lines() {
        let u = Usage {
            input_tokens: 10,
            output_tokens: 5,
            cached_input_tokens: 4,
            reasoning_tokens: 2,
            ..Usage::default()
        };
        assert_eq!(
            usage_line(Some(&u), Some("stop")),
            "usage: 10 input (4 cached) + 5 output (2 reasoning) = 15 tokens; finish: stop"
        );
        assert_eq!(
            usage_line(None, None),
            "usage: not reported by the endpoint"
        );
        let plan = Usage {
            input_tokens: 3,
            output_tokens: 1,
            billing: Billing::Subscription,
            ..Usage::default()
        };
        assert_eq!(
            usage_line(Some(&plan), None),
            "usage: 3 input + 1 output = 4 tokens, cost 0 (covered by your subscription plan)"
        );
        assert!(
            parse(&["--provider", "codex", "--offline", "hi"])
                .unwrap()
                .offline
        );
    }
}
