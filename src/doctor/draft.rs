//! The administrator's side: a draft policy checked before it is saved. It parses (errors
//! name the JSON path), its custom headers pass validation, its base URL is reachable from
//! this machine, each listed model is offered by the endpoint (on Azure: each deployment
//! answers), the API version is accepted, and the original guide's verification list holds
//! (the provider shows as OpenAI Compatible, the settings persist, a member sees only that
//! provider, the configured models are available), each as a check that can fail.

use serde_json::Value;

use super::endpoint::{e2e_step, tiny_request};
use super::report::{Checklist, Status, Step};
use super::{network, settings, DoctorOptions, Report};
use crate::http::validate_header;
use crate::policy::{
    resolve, CheckStatus, EffectiveSettings, MemberSettings, Organization, Policy, PolicySource,
    ProviderId, RemoteConfig,
};
use crate::{Error, ErrorKind, Provider, ProviderKind};

pub(crate) const JSON: &str = "draft.json";
pub(crate) const HEADERS: &str = "draft.headers";
pub(crate) const SCHEMA: &str = "draft.schema";
pub(crate) const API_VERSION: &str = "draft.api_version";
pub(crate) const MODEL: &str = "draft.model";
pub(crate) const SHOWS_PROVIDER: &str = "verify.provider";
pub(crate) const ONLY_PROVIDER: &str = "verify.only_provider";
pub(crate) const PERSIST: &str = "verify.settings_persist";
pub(crate) const MODELS_AVAILABLE: &str = "verify.models_available";

const HEADERS_PATH: &str = "providerSettings.OpenAiCompatible.openAiHeaders";

/// What the draft's checks may use: the administrator's own credential and HTTP settings
/// (in [`doctor`](DraftOptions::doctor)), and the member settings to resolve the draft over.
#[derive(Debug)]
pub struct DraftOptions<'a> {
    /// The administrator's secret store (an API key for the endpoint, to list its models),
    /// HTTP settings and environment, as for [`run`](super::run).
    pub doctor: DoctorOptions<'a>,
    /// The settings of a member to try the draft on. Default: a new member's (empty).
    pub member: MemberSettings,
}

impl<'a> DraftOptions<'a> {
    /// The defaults, with the administrator's secret store.
    pub fn new(secrets: &'a dyn crate::secrets::SecretStore) -> Self {
        DraftOptions {
            doctor: DoctorOptions::new(secrets),
            member: MemberSettings::default(),
        }
    }
}

/// Checks a draft of the organization's policy (the JSON document the admin API will serve)
/// before it is saved. It never fails: every problem is a failed check naming where it is.
///
/// ```no_run
/// use cline_provider::doctor::{check_policy_draft, DraftOptions};
/// use cline_provider::secrets::MemorySecretStore;
///
/// # async fn run() {
/// let draft = r#"{"version": "2", "providerSettings": {"OpenAiCompatible": {
///     "openAiBaseUrl": "https://llm.acme.example/v1", "models": [{"id": "gpt-4o"}]}}}"#;
/// let secrets = MemorySecretStore::new();
/// let report = check_policy_draft(draft, &DraftOptions::new(&secrets)).await;
/// if report.has_failures() {
///     eprint!("do not save yet:\n{report}");
/// }
/// # }
/// ```
///
/// # Cancellation
///
/// Dropping the future stops the checks; nothing is written but the probe file of the
/// settings directory, when one is given (removed again).
pub async fn check_policy_draft(text: &str, options: &DraftOptions<'_>) -> Report {
    let mut list = Checklist::default();
    let subject = "cline-provider doctor: draft organization policy".to_owned();
    let Some(config) = parse(&mut list, text) else {
        return list.into_report(subject);
    };
    let policy = Policy {
        organization: Organization::new("draft").with_name("the draft policy"),
        config,
        source: PolicySource::Inline,
    };
    let settings = resolve(Some(&policy), &options.member);
    verification(&mut list, &settings, &options.doctor).await;

    network::check(
        &mut list,
        settings.base_url().value.as_ref(),
        "providerSettings.OpenAiCompatible.openAiBaseUrl",
        &options.doctor.connect.http,
    )
    .await;
    models(&mut list, &settings, &options.doctor).await;

    let model_steps: Vec<Status> = list_statuses(&list, MODEL);
    let title = "The configured models are available";
    if model_steps.contains(&Status::Failed) {
        list.push(Step::failed(
            MODELS_AVAILABLE,
            title,
            "at least one listed model is not offered by the endpoint (see above)",
            "Remove the models the endpoint does not offer from the draft, or deploy them, \
             before saving: members would be offered models that fail.",
        ));
    } else if !list.skip_unless(MODELS_AVAILABLE, title, &[network::TLS, CONNECT_ID]) {
        list.push(Step::ok(
            MODELS_AVAILABLE,
            title,
            if settings.offered_models().is_some() {
                "every listed model is offered by the endpoint"
            } else {
                "the draft lists no models: members choose among the endpoint's"
            },
        ));
    }
    list.into_report(subject)
}

const CONNECT_ID: &str = "draft.connect";

fn list_statuses(list: &Checklist, prefix: &str) -> Vec<Status> {
    let prefix = format!("{prefix}.");
    list.steps()
        .iter()
        .filter(|s| s.id.starts_with(&prefix))
        .map(|s| s.status)
        .collect()
}

/// JSON syntax, then the custom headers, then the schema.
fn parse(list: &mut Checklist, text: &str) -> Option<RemoteConfig> {
    const JSON_TITLE: &str = "The draft is valid JSON";
    // Syntax only here: the shape (an object, the types) is the schema check's, which names
    // the JSON path.
    let doc: Value = match serde_json::from_str(text) {
        Ok(doc) => {
            list.push(Step::ok(JSON, JSON_TITLE, "the JSON parses"));
            doc
        }
        Err(e) => {
            list.push(Step::failed(
                JSON,
                JSON_TITLE,
                format!("line {}, column {}: {e}", e.line(), e.column()),
                format!(
                    "Fix the JSON at line {}, column {} (a missing comma or quote is the usual \
                     cause).",
                    e.line(),
                    e.column()
                ),
            ));
            skip(
                list,
                &[(HEADERS, HEADERS_TITLE), (SCHEMA, SCHEMA_TITLE)],
                JSON,
            );
            return None;
        }
    };
    list.push(headers(&doc));
    if list.skip_unless(SCHEMA, SCHEMA_TITLE, &[HEADERS]) {
        return None;
    }
    match RemoteConfig::from_value(&doc) {
        Ok(config) => {
            list.push(Step::ok(
                SCHEMA,
                SCHEMA_TITLE,
                format!("version {}", config.version),
            ));
            Some(config)
        }
        Err(e) => {
            let path = e.field().unwrap_or("$").to_owned();
            list.push(Step::failed(
                SCHEMA,
                SCHEMA_TITLE,
                format!("`{path}`: {}", e.message()),
                format!(
                    "Fix `{path}` in the draft; members' SDKs refuse the whole document otherwise."
                ),
            ));
            None
        }
    }
}

const HEADERS_TITLE: &str = "The custom headers pass validation";
const SCHEMA_TITLE: &str = "The draft reads as a policy";

fn skip(list: &mut Checklist, steps: &[(&str, &str)], cause: &str) {
    for (id, title) in steps {
        list.skip_unless(id, title, &[cause]);
    }
}

/// Each header of `openAiHeaders` through the engine's own header rule.
fn headers(doc: &Value) -> Step {
    let Some(headers) = doc.pointer("/providerSettings/OpenAiCompatible/openAiHeaders") else {
        return Step::ok(HEADERS, HEADERS_TITLE, "the draft sets no custom headers");
    };
    // A wrong type is the schema check's to report, with its path.
    let Value::Object(map) = headers else {
        return Step::ok(
            HEADERS,
            HEADERS_TITLE,
            "not an object: see the schema check",
        );
    };
    for (name, value) in map {
        let path = format!("{HEADERS_PATH}.{name}");
        let Value::String(value) = value else {
            continue;
        };
        if let Err(e) = validate_header(name, value) {
            return Step::failed(
                HEADERS,
                HEADERS_TITLE,
                format!("`{path}`: {}", e.message()),
                format!(
                    "Fix the header `{name}` before saving: a name is letters, digits and `-`, a \
                     value one line of printable text, and headers the HTTP client sets itself \
                     (Host, Content-Length, …) cannot be configured. Members' SDKs would refuse \
                     the whole policy."
                ),
            );
        }
    }
    Step::ok(
        HEADERS,
        HEADERS_TITLE,
        format!(
            "{} header(s) pass the same validation every request does",
            map.len()
        ),
    )
}

/// The original guide's verification list, on the draft as a member would get it.
async fn verification(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    options: &DoctorOptions<'_>,
) {
    let checks = settings::report_checks(settings, options).await;
    for check in &checks {
        let (id, hint) = match check.id {
            "provider" => (
                SHOWS_PROVIDER,
                "Configure providerSettings.OpenAiCompatible in the draft: it is the provider \
                 members are meant to see.",
            ),
            "round_trip" => (
                PERSIST,
                "A setting of the draft does not survive the members' settings file; report \
                 this as a bug with the draft attached.",
            ),
            _ => continue,
        };
        list.push(settings::step_of(id, check, hint));
    }
    let allowed = settings.allowed_providers();
    let title = "A member sees only OpenAI Compatible";
    if allowed == [ProviderId::OpenAiCompatible] {
        list.push(Step::ok(
            ONLY_PROVIDER,
            title,
            "the only provider a member may choose",
        ));
    } else {
        let names: Vec<&str> = allowed.iter().map(|p| p.label()).collect();
        list.push(Step::failed(
            ONLY_PROVIDER,
            title,
            format!("a member may choose: {}", names.join(", ")),
            "Remove the other provider blocks from providerSettings, so members cannot switch \
             away from the organization's endpoint.",
        ));
    }
}

/// Each listed model against the endpoint (Azure: each deployment answers), and the API
/// version.
async fn models(list: &mut Checklist, settings: &EffectiveSettings, options: &DoctorOptions<'_>) {
    const CONNECT_TITLE: &str = "A connection can be built from the draft";
    if list.skip_unless(CONNECT_ID, CONNECT_TITLE, &[network::TLS, SHOWS_PROVIDER]) {
        return;
    }
    let connection = match crate::connect_with(settings, options.secrets, &options.connect) {
        Ok(c) => c,
        Err(e) => {
            list.push(Step::from_error(CONNECT_ID, CONNECT_TITLE, &e));
            return;
        }
    };
    list.push(Step::ok(
        CONNECT_ID,
        CONNECT_TITLE,
        format!(
            "{} with your own credential",
            connection.provider().info().kind.label()
        ),
    ));
    let provider = connection.provider();
    let ids: Vec<String> = settings
        .offered_models()
        .map(|m| m.iter().map(|m| m.id.clone()).collect())
        .unwrap_or_default();
    if provider.info().kind == ProviderKind::AzureFoundry {
        azure_deployments(list, settings, provider, &ids, &options.prompt).await;
        return;
    }
    if ids.is_empty() {
        return;
    }
    match provider.endpoint().list_models().await {
        Ok(listed) => {
            for check in settings.model_checks(&listed) {
                let model = check.name.split('`').nth(1).unwrap_or_default().to_owned();
                let id = format!("{MODEL}.{model}");
                if check.status == CheckStatus::Fail {
                    let shown: Vec<&str> = listed.iter().take(10).map(|m| m.id.as_str()).collect();
                    list.push(Step::failed(
                        &id,
                        &check.name,
                        &check.detail,
                        format!(
                            "The endpoint does not offer `{model}` (it offers: {}). Fix the id \
                             in the draft, or deploy the model first.",
                            shown.join(", ")
                        ),
                    ));
                } else {
                    list.push(Step::ok(&id, &check.name, &check.detail));
                }
            }
        }
        Err(e) => list.push(Step::from_error(
            &format!("{MODEL}s"),
            "The endpoint lists its models",
            &e,
        )),
    }
}

/// Azure: one tiny request per deployment; the API version is accepted when the resource
/// takes them.
async fn azure_deployments(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    provider: &dyn Provider,
    ids: &[String],
    prompt: &str,
) {
    let version = settings.azure_api_version_or_default().to_owned();
    let mut results = Vec::new();
    for id in ids {
        results.push((id.clone(), tiny_request(provider, id, prompt).await));
    }
    let title = format!("The API version {version} is accepted");
    let refused = results.iter().find_map(|(_, r)| match r {
        Err(e) if mentions_api_version(e) => Some(e),
        _ => None,
    });
    match refused {
        Some(e) => list.push(Step::failed(
            API_VERSION,
            &title,
            e.message(),
            format!(
                "The resource does not accept api-version {version}. Use a version it \
                 supports (the generally available {} is a safe choice).",
                crate::policy::AZURE_DEFAULT_API_VERSION
            ),
        )),
        None if results.iter().any(|(_, r)| r.is_ok()) => list.push(Step::ok(
            API_VERSION,
            &title,
            "the resource answered requests made with it",
        )),
        None => list.push(Step::warning(
            API_VERSION,
            &title,
            "not proven: no deployment answered",
            "Fix the deployments below first.",
        )),
    }
    for (id, result) in &results {
        let step_id = format!("{MODEL}.{id}");
        let title = format!("The deployment `{id}` answers");
        match result {
            Err(e) if e.kind() == &ErrorKind::ModelNotFound => {
                list.push(Step::failed(&step_id, &title, e.message(), e.hint()))
            }
            _ => list.push(e2e_step(&step_id, &title, result)),
        }
    }
}

fn mentions_api_version(e: &Error) -> bool {
    let m = e.message().to_ascii_lowercase();
    m.contains("api-version") || m.contains("api version")
}
