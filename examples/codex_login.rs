//! Sign in with OpenAI (Codex): `login`, `status`, `logout`.
//!
//! ```text
//! cargo run --example codex_login -- login             # browser sign-in (PKCE)
//! cargo run --example codex_login -- login --device    # device code, for SSH or containers
//! cargo run --example codex_login -- login --manual    # paste the final redirect URL
//! cargo run --example codex_login -- status            # who is signed in (exit 1 if nobody)
//! cargo run --example codex_login -- token             # a valid token's account and expiry
//! cargo run --example codex_login -- logout            # revoke and delete the stored tokens
//! cargo run --example codex_login -- --demo            # all of it against a local fake issuer
//! ```
//!
//! The sign-in URL and the device code go to stderr, so a person on a headless machine can
//! finish in a browser elsewhere. `CLINE_CODEX_ISSUER`, `CLINE_PROVIDER_HOME` and
//! `CODEX_HOME` move the issuer, the SDK's token directory and the Codex CLI's directory. No
//! token is ever printed.

use std::io::BufRead;
use std::process::ExitCode;

use cline_provider_codex::{CodexAuth, CodexConfig, SignInStatus};
use cline_provider_core::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Login {
        device: bool,
        manual: bool,
        open_browser: bool,
    },
    Status,
    Token,
    Logout,
    Demo,
}

const USAGE: &str = "usage: codex_login <login [--device | --manual] [--no-browser] | status | token | logout> | --demo";

fn parse(args: &[String]) -> std::result::Result<Command, String> {
    let flags: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let has = |f: &str| flags.contains(&f);
    let command = match args.first().map(String::as_str) {
        Some("login") => Command::Login {
            device: has("--device"),
            manual: has("--manual"),
            open_browser: !has("--no-browser"),
        },
        Some("status") => Command::Status,
        Some("token") => Command::Token,
        Some("logout") => Command::Logout,
        Some("--demo") => Command::Demo,
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    let known = ["--device", "--manual", "--no-browser"];
    if let Some(bad) = flags.iter().find(|f| !known.contains(f)) {
        return Err(format!("unknown option `{bad}`\n{USAGE}"));
    }
    if matches!(
        command,
        Command::Login {
            device: true,
            manual: true,
            ..
        }
    ) {
        return Err("choose one of --device and --manual".into());
    }
    Ok(command)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Demo => demo().await,
        command => match CodexAuth::from_env() {
            Ok(auth) => run(&auth, command).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}\nhint: {}", e.hint());
            ExitCode::FAILURE
        }
    }
}

async fn run(auth: &CodexAuth, command: Command) -> Result<ExitCode> {
    match command {
        Command::Login {
            device,
            manual,
            open_browser,
        } => {
            let status = if device {
                login_device(auth).await?
            } else if manual {
                login_manual(auth).await?
            } else {
                login_browser(auth, open_browser).await?
            };
            println!("{status}");
        }
        Command::Status => {
            let status = auth.status()?;
            println!("{status}");
            if !status.signed_in {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Token => {
            let token = auth.token().await?;
            println!(
                "A valid access token is ready (account {}, renewed after {}).",
                token.account_id().unwrap_or("unknown"),
                token
                    .expires_at()
                    .map(|t| humantime::format_rfc3339_seconds(t).to_string())
                    .unwrap_or_else(|| "an unknown time".into())
            );
        }
        Command::Logout => {
            let outcome = auth.logout().await?;
            match (outcome.removed, outcome.revoked) {
                (false, _) => println!("No sign-in of this SDK was stored."),
                (true, Some(true)) => println!("Signed out: tokens revoked and deleted."),
                (true, _) => println!(
                    "Signed out: tokens deleted (the issuer could not be reached to revoke them)."
                ),
            }
            if let Some(location) = outcome.still_signed_in_via {
                println!("Still signed in through {location}; run `codex logout` to end that one.");
            }
        }
        Command::Demo => unreachable!("handled in main"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn login_browser(auth: &CodexAuth, open_browser: bool) -> Result<SignInStatus> {
    let login = auth.login_browser(open_browser).await?;
    if login.browser_opened() {
        eprintln!("Your browser was opened to sign in. If it did not show up, open:");
    } else {
        eprintln!("Open this address in a browser to sign in:");
    }
    eprintln!("\n  {}\n", login.url());
    eprintln!(
        "Waiting for the browser (up to 5 minutes) on http://localhost:{}/auth/callback …",
        login.port()
    );
    login.wait().await
}

async fn login_device(auth: &CodexAuth) -> Result<SignInStatus> {
    let device = auth.login_device().await?;
    eprintln!("To sign in, open this address on any device:\n");
    eprintln!("  {}\n", device.verification_url());
    eprintln!("and enter the one-time code (it expires in 15 minutes):\n");
    eprintln!("  {}\n", device.user_code());
    eprintln!("Device codes are a common phishing target: never share this one.");
    device.wait().await
}

async fn login_manual(auth: &CodexAuth) -> Result<SignInStatus> {
    let login = auth.login_manual()?;
    eprintln!(
        "Open this address in any browser and sign in:\n\n  {}\n",
        login.url()
    );
    eprintln!("The browser then fails to load a localhost page. Paste that page's address here:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(Error::from)?;
    login.finish(&line).await
}

/// The whole tour against a fake issuer on 127.0.0.1, in a throw-away directory. A local
/// HTTP client plays the browser, following the issuer's redirect to the callback.
async fn demo() -> Result<ExitCode> {
    use cline_provider_testkit::oauth::FakeIssuer;

    let issuer = FakeIssuer::start().await?;
    issuer.set_pending_polls(1);
    let dir = tempfile::tempdir()?;
    let config = CodexConfig::new(dir.path().join("cline-provider"))
        .issuer(&issuer.url())?
        .codex_home(None)
        .callback_ports(0, None);
    let auth = CodexAuth::new(config)?;
    println!(
        "== A local fake issuer at {} (nothing leaves this machine)\n",
        issuer.url()
    );

    println!("== status");
    println!("{}\n", auth.status()?);

    println!("== login (browser; a local HTTP client plays the browser)");
    let login = auth.login_browser(false).await?;
    eprintln!("Sign-in URL: {}", login.url());
    let url = login.url().clone();
    let waiting = tokio::spawn(login.wait());
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| Error::new(cline_provider_core::ErrorKind::Io, e.to_string()))?
        .get(url)
        .send()
        .await
        .map_err(|e| Error::new(cline_provider_core::ErrorKind::Unreachable, e.to_string()))?;
    eprintln!("The browser showed: HTTP {}", page.status());
    let status = waiting
        .await
        .map_err(|e| Error::new(cline_provider_core::ErrorKind::Io, e.to_string()))??;
    println!("{status}\n");

    println!("== token");
    run(&auth, Command::Token).await?;
    println!("\n== logout");
    run(&auth, Command::Logout).await?;

    println!("\n== login --device");
    println!("{}\n", login_device(&auth).await?);
    println!("== logout");
    run(&auth, Command::Logout).await?;
    println!("\n== status");
    println!("{}", auth.status()?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_and_flags_parse() {
        assert_eq!(
            parse(&args("login")),
            Ok(Command::Login {
                device: false,
                manual: false,
                open_browser: true
            })
        );
        assert_eq!(
            parse(&args("login --device --no-browser")),
            Ok(Command::Login {
                device: true,
                manual: false,
                open_browser: false
            })
        );
        assert_eq!(parse(&args("status")), Ok(Command::Status));
        assert_eq!(parse(&args("logout")), Ok(Command::Logout));
        assert_eq!(parse(&args("--demo")), Ok(Command::Demo));
        assert!(parse(&args("login --device --manual")).is_err());
        assert!(parse(&args("login --frobnicate")).is_err());
        assert!(parse(&args("dance")).is_err());
        assert!(parse(&[]).is_err());
    }
}
