//! The checks that need no network: the organization's policy, the provider, and whether the
//! settings resolve and persist. They run the settings report's own checks
//! ([`EffectiveSettings::verify`]), never copies of them.

use std::time::SystemTime;

use super::report::{Checklist, Step};
use super::DoctorOptions;
use crate::policy::{Check, CheckContext, CheckStatus, EffectiveSettings, Field, PolicySource};

pub(crate) const POLICY: &str = "policy";
pub(crate) const PROVIDER: &str = "policy.provider";
pub(crate) const BUILT: &str = "policy.built";
pub(crate) const ROUND_TRIP: &str = "settings.round_trip";
pub(crate) const WRITABLE: &str = "settings.writable";
pub(crate) const SAVED: &str = "settings.saved";
pub(crate) const ENCRYPTED: &str = "network.encrypted";
pub(crate) const CREDENTIAL: &str = "auth.credential";

/// The settings report's checks without the endpoint (the doctor asks the endpoint itself,
/// later, once the network checks have passed).
pub(crate) async fn report_checks(
    settings: &EffectiveSettings,
    options: &DoctorOptions<'_>,
) -> Vec<Check> {
    let context = CheckContext {
        secrets: Some(options.secrets),
        config_dir: options.config_dir,
        policy_cache: options.policy_cache,
        endpoint: None,
    };
    // Without an endpoint, `verify` does no network I/O; it reads files only.
    settings.verify(&context).await.checks
}

fn find<'c>(checks: &'c [Check], id: &str) -> Option<&'c Check> {
    checks.iter().find(|c| c.id == id)
}

/// A settings-report check as a doctor step, with `hint` for a failure or a warning.
pub(crate) fn step_of(id: &str, check: &Check, hint: &str) -> Step {
    match check.status {
        CheckStatus::Pass | CheckStatus::NotApplicable => Step::ok(id, &check.name, &check.detail),
        CheckStatus::Warn => Step::warning(id, &check.name, &check.detail, hint),
        CheckStatus::Fail => Step::failed(id, &check.name, &check.detail, hint),
        // Made only when a part of the context is missing, which the doctor says itself.
        _ => Step::ok(id, &check.name, &check.detail),
    }
}

/// The policy and the provider.
pub(crate) fn policy(list: &mut Checklist, settings: &EffectiveSettings, checks: &[Check]) {
    const TITLE: &str = "Organization policy";
    match settings.policy() {
        None => list.push(Step::ok(
            POLICY,
            TITLE,
            "none is in effect; every setting is yours",
        )),
        Some(policy) => {
            let locked: Vec<&str> = Field::ALL
                .into_iter()
                .filter(|f| settings.is_locked(*f))
                .map(|f| f.label())
                .collect();
            let source = match &policy.source {
                PolicySource::Cache(path) => {
                    let age = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .map(|d| format!(", {} old", human(d.as_secs())))
                        .unwrap_or_default();
                    format!("{}{age}", policy.source)
                }
                other => other.to_string(),
            };
            let evidence = format!(
                "{} (version {}), {source}; locked: {}",
                policy.organization,
                policy.config.version,
                if locked.is_empty() {
                    "nothing".to_owned()
                } else {
                    locked.join(", ")
                }
            );
            if matches!(policy.source, PolicySource::Cache(_)) {
                list.push(Step::warning(
                    POLICY,
                    TITLE,
                    evidence,
                    "The admin API could not be reached, so the last copy of your organization's \
                     policy is in use. Check your connection to it (VPN, proxy); the policy is \
                     refreshed once it answers.",
                ));
            } else {
                list.push(Step::ok(POLICY, TITLE, evidence));
            }
        }
    }
    match find(checks, "provider") {
        Some(check) => list.push(step_of(
            PROVIDER,
            check,
            "This SDK serves OpenAI Compatible, Azure Foundry and OpenAI Codex. Ask your \
             administrator to configure OpenAI Compatible (providerSettings.OpenAiCompatible) \
             in the organization's policy.",
        )),
        None => match settings.provider_kind() {
            Ok(kind) => list.push(Step::ok(
                PROVIDER,
                "The provider is available",
                kind.label(),
            )),
            Err(e) => list.push(Step::from_error(PROVIDER, "The provider is available", &e)),
        },
    }
}

/// The settings resolve, survive a save and reload, the directory takes a save, and the saved
/// file is what is in effect.
pub(crate) fn persistence(list: &mut Checklist, checks: &[Check], options: &DoctorOptions<'_>) {
    if let Some(check) = find(checks, "round_trip") {
        list.push(step_of(
            ROUND_TRIP,
            check,
            "A setting does not survive its own file format; report this as a bug with the \
             settings file attached (it holds no secret).",
        ));
    }
    const WRITABLE_TITLE: &str = "The settings directory takes a save";
    let Some(dir) = options.config_dir else {
        list.push(Step::ok(
            WRITABLE,
            WRITABLE_TITLE,
            "not checked: the application keeps the settings itself (no settings directory was given)",
        ));
        return;
    };
    let path = dir.member_settings_path();
    // A save's first half, to a temporary file beside the settings: it proves the directory
    // takes a save without replacing what is there (dropping it removes the file). Its bytes
    // are a fixed probe, never the settings: those may hold header values meant for the
    // secret store only.
    const PROBE: &[u8] = b"{\"cline-provider doctor\": \"write test\"}\n";
    let probe = crate::fs::write_temp(&path, PROBE).and_then(|pending| {
        let back = std::fs::read(pending.temp_path()).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("could not read back {}: {e}", pending.temp_path().display()),
            )
        })?;
        Ok(back == PROBE)
    });
    match probe {
        Ok(true) => list.push(Step::ok(
            WRITABLE,
            WRITABLE_TITLE,
            format!(
                "a test save in {} was written and read back",
                dir.root().display()
            ),
        )),
        Ok(false) => list.push(Step::failed(
            WRITABLE,
            WRITABLE_TITLE,
            format!(
                "a test save in {} read back different bytes",
                dir.root().display()
            ),
            "The disk or file system is not keeping what is written; check the disk.",
        )),
        Err(e) => list.push(Step::failed(
            WRITABLE,
            WRITABLE_TITLE,
            e.message(),
            format!(
                "Changes to your settings cannot be saved, so they will not persist. Make {} a \
                 writable directory of yours (check its owner, permissions and free space), or \
                 point the application at another settings directory.",
                dir.root().display()
            ),
        )),
    }
    if !list.skip_unless(
        SAVED,
        "The saved settings are the ones in effect",
        &[WRITABLE],
    ) {
        if let Some(check) = find(checks, "saved") {
            list.push(step_of(
                SAVED,
                check,
                "What is in effect differs from what is saved, so a restart would change it. \
                 Save the settings again (or discard the unsaved change).",
            ));
        }
    }
}

/// Credentials over plain HTTP (a warning for an API key, a failure for an identity token).
pub(crate) fn encryption(list: &mut Checklist, checks: &[Check]) {
    if let Some(check) = find(checks, "encrypted") {
        list.push(step_of(
            ENCRYPTED,
            check,
            "Use the endpoint's https:// URL if it has one; a personal sign-in never travels \
             over plain HTTP except to this machine.",
        ));
    }
}

/// An API key is stored, or Azure Identity replaces it.
pub(crate) fn credential(list: &mut Checklist, checks: &[Check]) {
    if let Some(check) = find(checks, "credential") {
        list.push(step_of(
            CREDENTIAL,
            check,
            "Enter your own API key for this endpoint (an organization never supplies it); \
             for a keyless local server, any placeholder works.",
        ));
    }
}

/// Seconds as "3 min", "2 h", "4 d".
pub(crate) fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// How long until `at`, or how long ago it passed.
#[cfg(any(feature = "azure", feature = "codex"))]
pub(crate) fn until(at: std::time::SystemTime) -> String {
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(left) => format!("valid for {}", human(left.as_secs())),
        Err(past) => format!("expired {} ago", human(past.duration().as_secs())),
    }
}
