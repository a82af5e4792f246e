//! The checks that ask the endpoint: it accepts the credentials, it offers the models, on
//! Azure the identity holds a role, and one tiny streamed request goes through end to end,
//! timed by its own GenAI span.

use tracing::instrument::WithSubscriber;

use super::report::{Checklist, Status, Step};
use super::DoctorOptions;
use crate::policy::{CheckStatus, EffectiveSettings, EnforcedProvider};
use crate::telemetry::{fields, SpanRecorder};
use crate::{
    ChatRequest, Error, ErrorKind, Message, ModelInfo, Provider, ProviderKind, StreamEvent,
};

pub(crate) const CONNECT: &str = "endpoint.connect";
pub(crate) const CREDENTIALS: &str = "endpoint.credentials";
pub(crate) const MODELS: &str = "models.offered";
pub(crate) const AZURE_ROLE: &str = "auth.azure_role";
pub(crate) const E2E: &str = "request.stream";

const CONNECT_TITLE: &str = "A connection can be built from the settings";
const CREDENTIALS_TITLE: &str = "The endpoint accepts the credentials";
const ROLE_TITLE: &str = "Your Azure identity holds a role on the resource";
const E2E_TITLE: &str = "A tiny streamed request succeeds";

/// What the end-to-end request saw, read from its span.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timing {
    pub(crate) text: String,
    pub(crate) model: Option<String>,
    pub(crate) time_to_first_chunk: Option<f64>,
    pub(crate) tokens_per_second: Option<f64>,
    pub(crate) output_tokens: Option<u64>,
}

/// Streams `prompt` through `provider` (the enforced connection a member uses) under a span
/// recorder, and reads the timings from the request's own GenAI span.
pub(crate) async fn tiny_request(
    provider: &dyn Provider,
    model: &str,
    prompt: &str,
) -> Result<Timing, Error> {
    let recorder = SpanRecorder::new();
    let mut request = ChatRequest::new(model).message(Message::user(prompt));
    request.max_output_tokens = Some(64);
    let text = async {
        let mut stream = provider.stream(request).await?;
        let mut text = String::new();
        while let Some(event) = futures_util::StreamExt::next(&mut stream).await {
            if let StreamEvent::TextDelta { text: t } = event? {
                text.push_str(&t);
            }
        }
        Ok::<_, Error>(text)
    }
    .with_subscriber(recorder.clone())
    .await?;
    let span = recorder.spans().pop().unwrap_or_default();
    Ok(Timing {
        text,
        model: span
            .str(fields::RESPONSE_MODEL)
            .or(span.str(fields::REQUEST_MODEL))
            .map(str::to_owned),
        time_to_first_chunk: span.f64(fields::TIME_TO_FIRST_CHUNK),
        tokens_per_second: span.f64(fields::OUTPUT_TOKENS_PER_SECOND),
        output_tokens: span.u64(fields::OUTPUT_TOKENS),
    })
}

/// The end-to-end step from what the request saw.
pub(crate) fn e2e_step(id: &str, title: &str, result: &Result<Timing, Error>) -> Step {
    match result {
        Ok(t) => {
            let quoted: String = t.text.trim().chars().take(60).collect();
            let mut evidence = format!(
                "{} replied \"{quoted}\"",
                t.model.as_deref().unwrap_or("the model")
            );
            if let Some(ttfc) = t.time_to_first_chunk {
                evidence.push_str(&format!("; first token after {:.0} ms", ttfc * 1000.0));
            }
            match (t.tokens_per_second, t.output_tokens) {
                (Some(tps), Some(n)) => {
                    evidence.push_str(&format!("; {tps:.0} tokens/s ({n} output tokens)"))
                }
                (None, Some(n)) => evidence.push_str(&format!("; {n} output tokens")),
                _ => evidence.push_str("; the endpoint reported no token usage"),
            }
            if t.text.trim().is_empty() {
                Step::warning(
                    id,
                    title,
                    evidence,
                    "The request succeeded but the reply was empty; a reasoning model may have \
                     spent the small token budget on thinking. Try a longer request.",
                )
            } else {
                Step::ok(id, title, evidence)
            }
        }
        Err(e) => Step::from_error(id, title, e),
    }
}

/// Builds the connection and asks the endpoint.
pub(crate) async fn check(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    options: &DoctorOptions<'_>,
    parts: &crate::Parts,
    needs: &[&str],
) {
    if list.skip_unless(CONNECT, CONNECT_TITLE, needs) {
        skip_rest(list, settings);
        return;
    }
    let connection =
        match crate::connect_with_parts(settings, options.secrets, &options.connect, parts) {
            Ok(c) => c,
            Err(e) => {
                list.push(Step::from_error(CONNECT, CONNECT_TITLE, &e));
                skip_rest(list, settings);
                return;
            }
        };
    let provider = connection.provider();
    let info = provider.info();
    list.push(Step::ok(
        CONNECT,
        CONNECT_TITLE,
        format!(
            "{} at {}",
            info.kind.label(),
            info.base_url
                .as_ref()
                .map_or_else(|| "(default endpoint)".to_owned(), crate::http::redact_url)
        ),
    ));
    let model = settings.model_id().value.clone().unwrap_or_default();
    match info.kind {
        ProviderKind::AzureFoundry => {
            azure(list, settings, provider, &model, &options.prompt).await
        }
        #[cfg(feature = "codex")]
        ProviderKind::OpenAiCodex => {
            let listing = super::codex::plan_models(options, parts).await;
            listed(list, settings, provider, listing, &model, &options.prompt).await
        }
        _ => {
            let listing = provider.endpoint().list_models().await;
            listed(list, settings, provider, listing, &model, &options.prompt).await
        }
    }
}

fn skip_rest(list: &mut Checklist, settings: &EffectiveSettings) {
    list.skip_unless(CREDENTIALS, CREDENTIALS_TITLE, &[CONNECT]);
    list.skip_unless(MODELS, "The model is offered", &[CONNECT]);
    if settings.uses_azure() && settings.azure_identity().value {
        list.skip_unless(AZURE_ROLE, ROLE_TITLE, &[CONNECT]);
    }
    list.skip_unless(E2E, E2E_TITLE, &[CONNECT]);
}

/// OpenAI Compatible and Codex: the endpoint's own model `listing` shows the credentials work
/// and which models the endpoint offers.
async fn listed(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    provider: &EnforcedProvider,
    listing: Result<Vec<ModelInfo>, Error>,
    model: &str,
    prompt: &str,
) {
    let credentials = match &listing {
        Ok(models) => Step::ok(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            format!(
                "the endpoint answered the model listing ({} models)",
                models.len()
            ),
        ),
        // No listing at this path: the credentials are proven by the request below.
        Err(e) if e.kind() == &ErrorKind::InvalidConfig => Step::warning(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            format!("not proven by a listing: {}", e.message()),
            "The endpoint has no model list, so the credentials and the model are checked by \
             the request below only.",
        ),
        Err(e) => Step::from_error(CREDENTIALS, CREDENTIALS_TITLE, e),
    };
    if credentials.status == Status::Failed {
        list.push(credentials);
        list.skip_unless(MODELS, "The model is offered", &[CREDENTIALS]);
        list.skip_unless(E2E, E2E_TITLE, &[CREDENTIALS]);
        return;
    }
    let mut model_steps = Vec::new();
    // No model chosen: the one the provider falls back to (Codex's default) is the one to find.
    let fallback = match settings.model_id().value {
        None if settings.offered_models().is_none() => provider.endpoint().info().default_model,
        _ => None,
    };
    if let (Ok(models), Some(fallback)) = (&listing, &fallback) {
        let id = format!("{MODELS}.{fallback}");
        let title = format!("Model `{fallback}` (the default) is offered by the endpoint");
        model_steps.push(if models.iter().any(|m| &m.id == fallback) {
            Step::ok(&id, &title, "the endpoint lists it")
        } else {
            Step::failed(
                &id,
                &title,
                format!(
                    "the endpoint's own list ({} models) does not include it; requests for it \
                     will fail",
                    models.len()
                ),
                model_hint(settings, fallback, models),
            )
        });
    } else if let Ok(models) = &listing {
        for check in settings.model_checks(models) {
            let id = match check.id {
                "endpoint_model" => format!("{MODELS}.{}", model_from(&check.name)),
                _ => MODELS.to_owned(),
            };
            model_steps.push(match check.status {
                CheckStatus::Fail => Step::failed(
                    &id,
                    &check.name,
                    &check.detail,
                    model_hint(settings, &model_from(&check.name), models),
                ),
                _ => Step::ok(&id, &check.name, &check.detail),
            });
        }
    }
    let models_ok = model_steps.iter().all(|s| s.status != Status::Failed);
    let result = if models_ok {
        Some(tiny_request(provider, model, prompt).await)
    } else {
        None
    };
    // Some gateways list models for anyone and check the key on chats only: a refusal of the
    // request is still the credentials' failure.
    let refused = result.as_ref().and_then(|r| r.as_ref().err()).filter(|e| {
        matches!(
            e.kind(),
            ErrorKind::InvalidApiKey | ErrorKind::AccessDenied | ErrorKind::NotSignedIn
        )
    });
    match refused {
        Some(e) => list.push(Step::failed(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            format!(
                "the model listing passed, but the chat request was refused: {}",
                e.message()
            ),
            e.hint(),
        )),
        None => list.push(credentials),
    }
    let model_ids: Vec<String> = model_steps.iter().map(|s| s.id.clone()).collect();
    for step in model_steps {
        list.push(step);
    }
    match result {
        Some(Err(e)) if listing.is_err() && e.kind() == &ErrorKind::ModelNotFound => {
            list.push(Step::from_error(MODELS, "The model is offered", &e));
            list.skip_unless(E2E, E2E_TITLE, &[MODELS]);
        }
        Some(result) if refused.is_none() => list.push(e2e_step(E2E, E2E_TITLE, &result)),
        _ => {
            let mut needs: Vec<&str> = model_ids.iter().map(String::as_str).collect();
            needs.push(CREDENTIALS);
            list.skip_unless(E2E, E2E_TITLE, &needs);
        }
    }
}

/// The model id inside "Model `id` is offered by the endpoint".
fn model_from(name: &str) -> String {
    name.split('`').nth(1).unwrap_or(name).to_owned()
}

fn model_hint(settings: &EffectiveSettings, model: &str, listed: &[ModelInfo]) -> String {
    let shown: Vec<&str> = listed.iter().take(10).map(|m| m.id.as_str()).collect();
    let offers = if shown.is_empty() {
        "it lists no model at all".to_owned()
    } else {
        format!("it offers: {}", shown.join(", "))
    };
    if settings.offered_models().is_some() {
        format!(
            "Your organization offers `{model}`, but the endpoint does not list it ({offers}). \
             Tell your administrator: the policy's model list and the endpoint disagree."
        )
    } else {
        format!("Choose a model the endpoint offers ({offers}); check the model id for a typo.")
    }
}

/// Azure: one chat request to the deployment is the smallest request that proves the
/// credentials, the deployment and (with Entra ID) the role.
async fn azure(
    list: &mut Checklist,
    settings: &EffectiveSettings,
    provider: &EnforcedProvider,
    model: &str,
    prompt: &str,
) {
    let entra = settings.azure_identity().value;
    let result = tiny_request(provider, model, prompt).await;
    let kind = result.as_ref().err().map(Error::kind);
    match (&result, kind) {
        (Ok(_), _) => list.push(Step::ok(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            "the resource accepted the request",
        )),
        (Err(_), Some(ErrorKind::AccessDenied)) if entra => list.push(Step::ok(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            "the resource authenticated your Entra ID token (its refusal, HTTP 403, is about \
             permission: see the role below)",
        )),
        (Err(_), Some(ErrorKind::ModelNotFound)) => list.push(Step::ok(
            CREDENTIALS,
            CREDENTIALS_TITLE,
            "the resource accepted the credentials (the deployment is checked below)",
        )),
        (Err(e), _) => list.push(Step::from_error(CREDENTIALS, CREDENTIALS_TITLE, e)),
    }
    let title = format!("The deployment `{model}` answers");
    if !list.skip_unless(MODELS, &title, &[CREDENTIALS]) {
        match (&result, kind) {
            (Err(e), Some(ErrorKind::ModelNotFound)) => {
                list.push(Step::from_error(MODELS, &title, e))
            }
            (Err(_), Some(ErrorKind::AccessDenied)) => list.push(Step::ok(
                MODELS,
                &title,
                "not reached: the resource refused the request before looking it up",
            )),
            _ => list.push(Step::ok(
                MODELS,
                &title,
                "the resource routed the request to it",
            )),
        }
    }
    if entra && !list.skip_unless(AZURE_ROLE, ROLE_TITLE, &[CREDENTIALS]) {
        match (&result, kind) {
            (Err(e), Some(ErrorKind::AccessDenied)) => {
                list.push(Step::from_error(AZURE_ROLE, ROLE_TITLE, e))
            }
            _ => list.push(Step::ok(
                AZURE_ROLE,
                ROLE_TITLE,
                "your identity may call chat completions on the resource",
            )),
        }
    }
    let mut needs = vec![CREDENTIALS, MODELS];
    if entra {
        needs.push(AZURE_ROLE);
    }
    if !list.skip_unless(E2E, E2E_TITLE, &needs) {
        list.push(e2e_step(E2E, E2E_TITLE, &result));
    }
}
