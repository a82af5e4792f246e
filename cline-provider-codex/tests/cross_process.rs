//! Two OS processes sharing one sign-in: both refresh at the same moment, the issuer sees one
//! refresh, both end with the new tokens. Each test re-runs this test binary as its children
//! (the same test function, told by an environment variable to act as a child).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cline_provider_codex::{CodexAuth, CodexConfig};
use cline_provider_core::lockfile::FileLock;
use common::Setup;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

const ROLE: &str = "CODEX_CROSS_PROCESS_ROLE";

fn fingerprint(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The child's side: build a handle from the environment, say ready, wait for "go", take a
/// token, print its fingerprint.
fn child(role: &str) {
    let var = |name: &str| std::env::var(name).expect(name);
    let ready = PathBuf::from(var("CHILD_READY"));
    let go = PathBuf::from(var("CHILD_GO"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if role == "hold-lock" {
            let _held = FileLock::try_acquire(Path::new(&var("CHILD_LOCK")))
                .expect("lock")
                .expect("free");
            std::fs::write(&ready, b"ready").expect("ready");
            // Killed by the parent while holding the lock.
            tokio::time::sleep(Duration::from_secs(600)).await;
            return;
        }
        let mut config = CodexConfig::new(var("CHILD_HOME"))
            .issuer(&var("CHILD_ISSUER"))
            .expect("issuer")
            .codex_home(std::env::var("CHILD_CODEX_HOME").ok().map(PathBuf::from));
        config.lock_timeout = Duration::from_secs(30);
        let auth = CodexAuth::new(config).expect("auth");
        std::fs::write(&ready, b"ready").expect("ready");
        while !go.exists() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let token = auth.token().await.expect("token in child");
        println!("\nTOKEN {}", fingerprint(token.bearer().expose_secret()));
    });
}

async fn wait_for(path: &Path) {
    for _ in 0..3000 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{} never appeared", path.display());
}

fn spawn_child(test: &str, role: &str, envs: &[(&str, String)]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

/// Two children refresh the same expired sign-in at once.
async fn two_processes_refresh(test: &str, shared: bool) {
    let setup = Setup::new().await;
    let seeded = if shared {
        setup.seed_cli(Duration::ZERO)
    } else {
        setup.seed_own(Duration::ZERO)
    };
    // A slow issuer, so that both refreshes would overlap if nothing serialized them.
    setup.issuer.delay_refreshes(Duration::from_millis(300));
    let go = setup.dir.path().join("go");
    let mut children = Vec::new();
    let mut readies = Vec::new();
    for n in 0..2 {
        let ready = setup.dir.path().join(format!("ready-{n}"));
        let mut envs = vec![
            ("CHILD_HOME", setup.home().display().to_string()),
            ("CHILD_ISSUER", setup.issuer.url()),
            ("CHILD_READY", ready.display().to_string()),
            ("CHILD_GO", go.display().to_string()),
        ];
        if shared {
            envs.push(("CHILD_CODEX_HOME", setup.codex_home().display().to_string()));
        }
        children.push(spawn_child(test, "refresh", &envs));
        readies.push(ready);
    }
    for ready in &readies {
        wait_for(ready).await;
    }
    std::fs::write(&go, b"go").expect("go");
    let mut fingerprints = Vec::new();
    for child in children {
        let out = child.wait_with_output().await.expect("child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("TOKEN ").map(|(_, t)| t.trim()))
            .unwrap_or_else(|| {
                panic!(
                    "child printed no token:\n{stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_owned();
        fingerprints.push(line);
    }
    assert_eq!(
        setup.issuer.refresh_requests(),
        1,
        "exactly one refresh request"
    );
    let stored = if shared {
        setup.cli_file()
    } else {
        setup.own_file().expect("stored")
    };
    let stored_access = stored["tokens"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_ne!(stored_access, seeded.access_token);
    assert_ne!(stored["tokens"]["refresh_token"], seeded.refresh_token);
    for fp in &fingerprints {
        assert_eq!(
            fp,
            &fingerprint(&stored_access),
            "both ended with the new tokens"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_the_sdks_sign_in_make_one_refresh() {
    const TEST: &str = "two_processes_refreshing_the_sdks_sign_in_make_one_refresh";
    if let Ok(role) = std::env::var(ROLE) {
        return tokio::task::spawn_blocking(move || child(&role))
            .await
            .expect("child");
    }
    two_processes_refresh(TEST, false).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_a_codex_cli_sign_in_make_one_refresh() {
    const TEST: &str = "two_processes_refreshing_a_codex_cli_sign_in_make_one_refresh";
    if let Ok(role) = std::env::var(ROLE) {
        return tokio::task::spawn_blocking(move || child(&role))
            .await
            .expect("child");
    }
    two_processes_refresh(TEST, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_process_that_died_does_not_block_a_refresh() {
    const TEST: &str = "a_lock_held_by_a_process_that_died_does_not_block_a_refresh";
    if let Ok(role) = std::env::var(ROLE) {
        return tokio::task::spawn_blocking(move || child(&role))
            .await
            .expect("child");
    }
    let setup = Setup::new().await;
    let seeded = setup.seed_own(Duration::ZERO);
    let lock_path = setup.config().lock_file();
    let ready = setup.dir.path().join("ready");
    let mut holder = spawn_child(
        TEST,
        "hold-lock",
        &[
            ("CHILD_LOCK", lock_path.display().to_string()),
            ("CHILD_READY", ready.display().to_string()),
            ("CHILD_GO", String::new()),
        ],
    );
    wait_for(&ready).await;
    assert!(
        FileLock::try_acquire(&lock_path).expect("lock").is_none(),
        "held while the process lives"
    );
    holder.kill().await.expect("kill");
    assert!(
        lock_path.exists(),
        "the dead process left its lock file behind"
    );

    let token = setup.auth().token().await.expect("refresh goes ahead");
    assert_ne!(token.bearer().expose_secret(), seeded.access_token);
    assert_eq!(setup.issuer.refresh_requests(), 1);
}
