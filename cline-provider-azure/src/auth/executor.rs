//! Runs the Azure CLI and Azure Developer CLI for their credentials, with the environment
//! taken from the chain's [`EnvFn`] instead of whatever the process has, so a program (or a
//! test) decides which `az` is found and which sign-in it reads.

use std::ffi::OsStr;
use std::io;
use std::process::Output;

use azure_identity::Executor;

use super::EnvFn;

/// Variables the CLIs read: where they are found, where their sign-in lives, and how they
/// reach the network.
const PASSED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "USERPROFILE",
    "SYSTEMROOT",
    "APPDATA",
    "LOCALAPPDATA",
    "XDG_CONFIG_HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "AZURE_CONFIG_DIR",
    "AZURE_EXTENSION_DIR",
    "AZD_CONFIG_DIR",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

pub(crate) struct EnvExecutor {
    env: EnvFn,
}

impl EnvExecutor {
    pub(crate) fn new(env: EnvFn) -> Self {
        EnvExecutor { env }
    }
}

impl std::fmt::Debug for EnvExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvExecutor")
    }
}

#[async_trait::async_trait]
impl Executor for EnvExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> io::Result<Output> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for name in PASSED {
            match (self.env)(name) {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd.output().await
    }
}
