//! Crash safety: a child process saves the member's settings (with a credential header, whose
//! value goes to the secrets file) and its OpenAI sign-in (refreshed tokens) in a loop, and
//! is killed with SIGKILL at a random moment, again and again. After every kill each file is
//! the old or the new complete document (never empty, never cut, never a mix), and its mode
//! is `0600`.
//!
//! The child is this test binary, run again with [`CHILD`] set; it prints `SAVED …` after
//! each complete save, so the parent knows which documents were certainly written.

#![cfg(all(unix, feature = "codex"))]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cline_provider::codex::{CodexAuth, CodexConfig};
use cline_provider::policy::MemberSettings;
use cline_provider::secrets::{FileSecretStore, SecretStore};
use cline_provider_testkit::oauth::FakeIssuer;
use secrecy::ExposeSecret;

const CHILD: &str = "CLINE_CRASH_SAFETY_CHILD";
const KILLS: usize = 30;
const HEADER: &str = "x-api-key";

/// Names a token on stdout without printing it (SipHash with fixed keys: the same in every
/// process).
fn fingerprint(token: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    token.hash(&mut h);
    format!("{:016x}", h.finish())
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn settings(&self) -> PathBuf {
        self.dir.join("settings.json")
    }
    fn secrets(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }
    fn home(&self) -> PathBuf {
        self.dir.join("codex-home")
    }
    fn tokens(&self) -> PathBuf {
        self.home().join("codex-auth.json")
    }
}

/// The child: sign in once (through the manual flow, a real save), then alternate a settings
/// save and a token refresh forever, each acknowledged on stdout once complete.
fn child(dir: &Path, base: u64) {
    let files = Files {
        dir: dir.to_path_buf(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let issuer = FakeIssuer::start().await.expect("issuer");
        let config = CodexConfig::new(files.home())
            .issuer(&issuer.url())
            .expect("issuer")
            .codex_home(None)
            .callback_ports(0, None);
        let auth = CodexAuth::new(config).expect("auth");
        let manual = auth.login_manual().expect("manual");
        let location = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(manual.url().clone())
            .send()
            .await
            .expect("authorize")
            .headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        manual.finish(&location).await.expect("signed in");
        let store = FileSecretStore::new(files.secrets());
        let mut token = auth.token().await.expect("token");
        for i in base.. {
            let member = MemberSettings::from_json(
                &serde_json::json!({
                    "openAiModelId": format!("model-{i}"),
                    "openAiHeaders": {HEADER: format!("secret-{i}"), "X-Run": i.to_string()},
                })
                .to_string(),
            )
            .expect("member");
            member.save(&files.settings(), &store).expect("save");
            // A line of its own: the test harness may have printed on this one.
            println!("\nSAVED settings {i}");
            token = auth
                .refresh_after_unauthorized(&token)
                .await
                .expect("refresh");
            let stored = refresh_token_of(&files.tokens()).expect("stored tokens");
            println!("\nSAVED tokens {}", fingerprint(&stored));
        }
    });
}

/// The refresh token in the SDK's token file, if the file is a complete document.
fn refresh_token_of(path: &Path) -> Result<String, String> {
    let store = FileSecretStore::new(path);
    let blob = store
        .get(cline_provider::codex::auth::TOKEN_KEY)
        .map_err(|e| format!("the token file does not read: {e}"))?
        .ok_or("the token file has no sign-in")?;
    let doc: serde_json::Value = serde_json::from_str(blob.expose_secret())
        .map_err(|e| format!("the sign-in is not JSON: {e}"))?;
    doc["tokens"]["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the sign-in has no refresh token".into())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A small xorshift: random kill moments without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What the parent knows once a child is dead.
#[derive(Default, Debug)]
struct Acked {
    settings: Option<u64>,
    tokens: Vec<String>,
}

fn run_and_kill(test: &str, dir: &Path, base: u64, delay: Duration) -> Acked {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir)
        .env("CLINE_CRASH_BASE", base.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = Arc::clone(&lines);
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            // Only complete lines count: a line cut by the kill has no line end.
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line.ends_with('\n') {
                    lines
                        .lock()
                        .expect("lines")
                        .push(line.trim_end().to_owned());
                }
                line.clear();
            }
        })
    };
    // Kill at `delay` after the first save was acknowledged, so that the old documents exist
    // and a save is usually under way.
    let started = Instant::now();
    loop {
        let saved = lines
            .lock()
            .expect("lines")
            .iter()
            .any(|l| l.starts_with("SAVED tokens"));
        if saved {
            break;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the child exited early ({status}); run it alone with {CHILD} set to see why");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child never saved"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    reader.join().expect("reader");
    let mut acked = Acked::default();
    for line in lines.lock().expect("lines").iter() {
        let line = line.find("SAVED ").map_or("", |at| &line[at..]);
        if let Some(i) = line.strip_prefix("SAVED settings ") {
            acked.settings = Some(i.parse().expect("index"));
        } else if let Some(f) = line.strip_prefix("SAVED tokens ") {
            acked.tokens.push(f.to_owned());
        }
    }
    acked
}

/// The settings file reads, with the header value from the secrets file, and is the last
/// acknowledged save or the one after it.
fn check_settings(files: &Files, acked: u64) -> Result<u64, String> {
    let store = FileSecretStore::new(files.secrets());
    let member = MemberSettings::load(&files.settings(), &store)
        .map_err(|e| format!("the settings file does not read: {e}"))?;
    let model = member.model_id.ok_or("no model in the settings file")?;
    let i: u64 = model
        .strip_prefix("model-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("a model nobody saved: {model}"))?;
    if i != acked && i != acked + 1 {
        return Err(format!("settings {i}, but {acked} was the last one saved"));
    }
    // The secret was written first: it is this document's, or the next one's.
    let secret = member
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(HEADER))
        .map(|(_, v)| v.to_owned())
        .ok_or("the credential header is missing")?;
    if secret != format!("secret-{i}") && secret != format!("secret-{}", i + 1) {
        return Err(format!("settings {i} with header value {secret}"));
    }
    Ok(i)
}

#[test]
fn sigkill_during_saves_leaves_old_or_new_documents_with_mode_0600() {
    if let Some(dir) = std::env::var_os(CHILD) {
        let base = std::env::var("CLINE_CRASH_BASE")
            .ok()
            .and_then(|b| b.parse().ok())
            .unwrap_or(0);
        child(Path::new(&dir), base);
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let files = Files {
        dir: dir.path().to_path_buf(),
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut previous_tokens: Vec<String> = Vec::new();
    for run in 0..KILLS {
        let base = run as u64 * 1_000_000;
        // 0–40 ms after the first save: several saves and refreshes fit in that window.
        let delay = Duration::from_micros(rng.next() % 40_000);
        let acked = run_and_kill(
            "sigkill_during_saves_leaves_old_or_new_documents_with_mode_0600",
            dir.path(),
            base,
            delay,
        );
        let context = format!("run {run} (seed {seed}, killed {delay:?} after the first save)");
        let settings_acked = acked.settings.expect("a settings save was acknowledged");
        check_settings(&files, settings_acked).unwrap_or_else(|e| panic!("{context}: {e}"));
        let stored = refresh_token_of(&files.tokens()).unwrap_or_else(|e| panic!("{context}: {e}"));
        let stored = fingerprint(&stored);
        let last = acked.tokens.last().expect("a token save was acknowledged");
        // The last acknowledged tokens, or newer ones whose acknowledgement the kill cut off;
        // never older ones.
        let older = acked.tokens[..acked.tokens.len() - 1]
            .iter()
            .chain(&previous_tokens)
            .any(|t| *t == stored);
        assert!(
            stored == *last || !older,
            "{context}: the token file went back to an older sign-in"
        );
        for path in [files.settings(), files.secrets(), files.tokens()] {
            assert_eq!(mode(&path), 0o600, "{context}: {}", path.display());
            assert!(
                std::fs::metadata(&path).expect("metadata").len() > 0,
                "{context}: {} is empty",
                path.display()
            );
        }
        previous_tokens.extend(acked.tokens);
    }
    // What a kill leaves behind is at most temporary files beside the documents, never a
    // document under another name; the next save works regardless.
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            ["settings.json", "secrets.json", "codex-home"].contains(&&*name)
                || (name.starts_with('.') && name.ends_with(".tmp")),
            "unexpected file {name}"
        );
    }
}
