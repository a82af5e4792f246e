//! Diagnose a connection: every troubleshooting step as an automatic check.
//!
//! ```sh
//! cargo run --example doctor                      # the offline demo endpoint
//! OPENAI_BASE_URL=https://llm.example.com/v1 OPENAI_API_KEY=sk-… CLINE_MODEL=gpt-4o \
//!   cargo run --example doctor
//! cargo run --features azure --example doctor -- --provider azure  # AZURE_OPENAI_ENDPOINT, …
//! cargo run --features codex --example doctor -- --provider codex  # the Sign in with OpenAI
//! cargo run --features codex --example doctor -- --provider codex --offline  # a fake one
//! cargo run --example doctor -- --policy draft.json   # an administrator's draft policy
//! cargo run --example doctor -- --json            # the report as JSON
//! ```
//!
//! The settings come from the same variables as the `chat` example (`OPENAI_BASE_URL`,
//! `OPENAI_API_KEY`, `CLINE_MODEL`; for Azure `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`
//! (unset: Azure Identity), `OPENAI_API_VERSION`). With none of them set, the testkit's offline
//! demo endpoint answers, and the settings are saved to a temporary directory first so the
//! persistence checks have something to check. `--offline` uses the demo even when an
//! endpoint is configured; for Codex it plays a fake OpenAI sign-in (a device-code sign-in the
//! fake issuer approves at once) and a fake Codex endpoint. `--settings-dir DIR` checks a real
//! settings directory instead. The Azure and Codex checks come with the facade's `azure` and
//! `codex` features; without them the report's first failure says so. The checklist is
//! coloured on a terminal unless `NO_COLOR` is set. The exit status is 1 when a check failed,
//! 2 for a usage error.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use cline_provider::doctor::{self, check_policy_draft, DoctorOptions, DraftOptions, Report};
use cline_provider::policy::{resolve, ConfigDir, MemberSettings};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider_codex::{CodexAuth, CodexConfig};
use cline_provider_testkit::oauth::FakeIssuer;
use cline_provider_testkit::responses::{demo_answer, FakeCodexBackend};
use serde_json::{json, Map, Value};

const USAGE: &str = "\
usage: doctor [--provider openai|azure|codex] [--offline] [--settings-dir DIR] [--json]
       doctor --policy FILE [--json]

  --provider <p>        connection mode (default: openai)
  --offline             check the built-in offline demo even when an endpoint is set (codex:
                        a fake sign-in and a fake Codex endpoint)
  --settings-dir <dir>  check the settings saved in DIR (default: not checked; offline: a
                        temporary directory)
  --policy <file>       check an administrator's draft policy before saving it
  --json                print the report as JSON
  -h, --help            show this help

environment: OPENAI_BASE_URL, OPENAI_API_KEY, CLINE_MODEL
  azure: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY (unset: Azure Identity), OPENAI_API_VERSION
  codex: the sign-in of `cargo run --example codex_login -- login` (or the Codex CLI's),
         CLINE_CODEX_BASE_URL
With none of them set, a built-in offline demo endpoint answers.
Exit status: 0 when no check failed, 1 when one did, 2 for a usage error.";

#[derive(Debug, Default, PartialEq)]
struct Args {
    provider: Option<String>,
    settings_dir: Option<String>,
    policy: Option<String>,
    offline: bool,
    json: bool,
    help: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => args.help = true,
            "--json" => args.json = true,
            "--offline" => args.offline = true,
            "--provider" => args.provider = Some(value("--provider")?),
            "--settings-dir" => args.settings_dir = Some(value("--settings-dir")?),
            "--policy" => args.policy = Some(value("--policy")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if let Some(p) = &args.provider {
        if !matches!(p.as_str(), "openai" | "azure" | "codex") {
            return Err(format!(
                "unknown provider `{p}` (choose openai, azure or codex)"
            ));
        }
    }
    Ok(args)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let report = match run(&args).await {
        Ok(report) => report,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        // Colour only for a person at a terminal, and never when NO_COLOR is set.
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", report.render(colour));
    }
    if report.has_failures() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn run(args: &Args) -> Result<Report, String> {
    let secrets = MemorySecretStore::new();
    if let Some(path) = &args.policy {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        if let Some(key) = env("OPENAI_API_KEY").or_else(|| env("AZURE_OPENAI_API_KEY")) {
            secrets
                .set(OPENAI_API_KEY, key.into())
                .map_err(|e| e.to_string())?;
        }
        return Ok(check_policy_draft(&text, &DraftOptions::new(&secrets)).await);
    }

    let provider = args.provider.as_deref().unwrap_or("openai");
    let configured = |name: &str| env(name).filter(|_| !args.offline);
    let mut member = Map::new();
    let mut demo = None;
    let mut codex = None;
    match provider {
        "codex" => {
            member.insert("apiProvider".into(), json!("openai-codex"));
            codex = Some(if args.offline {
                codex_demo().await?
            } else {
                let config = CodexConfig::from_env()
                    .map_err(|e| e.to_string())?
                    .login_command("cargo run --example codex_login -- login");
                (config, None)
            });
        }
        "azure" => match configured("AZURE_OPENAI_ENDPOINT") {
            Some(endpoint) => {
                member.insert("openAiBaseUrl".into(), json!(endpoint));
                member.insert(
                    "azureApiVersion".into(),
                    json!(env("OPENAI_API_VERSION").unwrap_or_else(|| "2024-10-21".into())),
                );
                match env("AZURE_OPENAI_API_KEY") {
                    Some(key) => secrets
                        .set(OPENAI_API_KEY, key.into())
                        .map_err(|e| e.to_string())?,
                    None => {
                        member.insert("azureIdentity".into(), json!(true));
                    }
                }
            }
            None => {
                let server = cline_provider_testkit::demo::start_azure()
                    .await
                    .map_err(|e| format!("could not start the offline demo endpoint: {e}"))?;
                eprintln!(
                    "(no AZURE_OPENAI_ENDPOINT: checking the built-in offline demo endpoint)"
                );
                member.insert(
                    "openAiBaseUrl".into(),
                    json!(format!("{}/openai", server.url())),
                );
                member.insert("azureApiVersion".into(), json!("2024-10-21"));
                secrets
                    .set(OPENAI_API_KEY, "demo-azure-key".to_owned().into())
                    .map_err(|e| e.to_string())?;
                demo = Some(server);
            }
        },
        _ => match (configured("OPENAI_BASE_URL"), configured("OPENAI_API_KEY")) {
            (None, None) => {
                let server =
                    cline_provider_testkit::demo::start_with_pacing(Duration::from_millis(5))
                        .await
                        .map_err(|e| format!("could not start the offline demo endpoint: {e}"))?;
                eprintln!("(nothing configured: checking the built-in offline demo endpoint)");
                member.insert(
                    "openAiBaseUrl".into(),
                    json!(format!("{}/v1", server.url())),
                );
                secrets
                    .set(
                        OPENAI_API_KEY,
                        "sk-demo-key-for-the-doctor".to_owned().into(),
                    )
                    .map_err(|e| e.to_string())?;
                demo = Some(server);
            }
            (url, key) => {
                member.insert(
                    "openAiBaseUrl".into(),
                    json!(url.unwrap_or_else(|| "https://api.openai.com/v1".into())),
                );
                if let Some(key) = key {
                    secrets
                        .set(OPENAI_API_KEY, key.into())
                        .map_err(|e| e.to_string())?;
                }
            }
        },
    }
    let model = configured("CLINE_MODEL").or_else(|| demo.as_ref().map(|_| "demo-chat".to_owned()));
    if let Some(model) = model {
        member.insert("openAiModelId".into(), json!(model));
    }
    let member =
        MemberSettings::from_json(&Value::Object(member).to_string()).map_err(|e| e.to_string())?;
    let settings = resolve(None, &member);

    // Offline, the settings are saved first, as an application would have, so that the
    // persistence checks compare something real.
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let offline = demo.is_some() || codex.as_ref().is_some_and(|(_, demo)| demo.is_some());
    let config = match (&args.settings_dir, offline) {
        (Some(dir), _) => Some(ConfigDir::new(dir)),
        (None, true) => {
            let config = ConfigDir::new(temp.path().join("cline-provider"));
            config
                .save_member_settings(settings.member(), &secrets)
                .map_err(|e| e.to_string())?;
            Some(config)
        }
        (None, false) => None,
    };
    let mut options = DoctorOptions::new(&secrets);
    options.config_dir = config.as_ref();
    #[cfg(feature = "codex")]
    let codex_demo = codex.map(|(config, demo)| {
        options.codex = Some(config);
        demo
    });
    // The doctor's Codex checks come with the facade's `codex` feature; without it the
    // report says so (`policy.built`).
    #[cfg(not(feature = "codex"))]
    let codex_demo = codex.map(|(_, demo)| demo);
    let report = doctor::run(&settings, &options).await;
    drop(demo);
    drop(codex_demo);
    Ok(report)
}

/// What runs the offline Codex demo: a fake issuer with the fake Codex endpoint on the same
/// server, and the throw-away directory its sign-in lives in. Held while the checks run.
struct CodexDemo {
    _issuer: FakeIssuer,
    _dir: tempfile::TempDir,
}

/// A demo sign-in (the device-code flow, which the fake issuer approves at once) to a fake
/// Codex endpoint.
async fn codex_demo() -> Result<(CodexConfig, Option<CodexDemo>), String> {
    let failed = |e: &dyn std::fmt::Display| format!("could not start the offline Codex demo: {e}");
    let issuer = FakeIssuer::start().await.map_err(|e| failed(&e))?;
    issuer.set_pending_polls(0);
    let backend = FakeCodexBackend::on(issuer.server().clone());
    backend.answer_with(demo_answer);
    let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
    let config = CodexConfig::new(dir.path())
        .issuer(&issuer.url())
        .and_then(|c| c.base_url(&backend.base_url()))
        .map_err(|e| failed(&e))?
        .codex_home(None);
    let auth = CodexAuth::new(config.clone()).map_err(|e| failed(&e))?;
    let login = auth.login_device().await.map_err(|e| failed(&e))?;
    login.wait().await.map_err(|e| failed(&e))?;
    eprintln!(
        "(--offline: checking a fake OpenAI sign-in and a fake Codex endpoint at {}; no ChatGPT \
         account or real model is involved)",
        backend.base_url()
    );
    Ok((
        config,
        Some(CodexDemo {
            _issuer: issuer,
            _dir: dir,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_and_values() {
        let a = parse(&["--provider", "azure", "--json", "--settings-dir=/tmp/x"]).unwrap();
        assert_eq!(a.provider.as_deref(), Some("azure"));
        assert!(a.json);
        assert!(!a.offline);
        assert_eq!(a.settings_dir.as_deref(), Some("/tmp/x"));
        assert!(
            parse(&["--provider", "codex", "--offline"])
                .unwrap()
                .offline
        );
        assert_eq!(
            parse(&["--policy", "d.json"]).unwrap().policy.as_deref(),
            Some("d.json")
        );
    }

    #[test]
    fn mistakes_are_usage_errors() {
        assert!(parse(&["--policy"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--provider", "bedrock"])
            .unwrap_err()
            .contains("unknown provider"));
        assert!(parse(&["extra"]).unwrap_err().contains("unknown argument"));
    }
}
