//! What the fake Codex backend refuses, with the status and body the real one answers.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::RecordedRequest;

/// A refusal: status and JSON body.
pub(super) type Refusal = (u16, Value);

fn invalid_request(status: u16, message: &str, code: Option<&str>) -> Refusal {
    (
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "code": code}}),
    )
}

fn detail(message: String) -> Refusal {
    (400, json!({ "detail": message }))
}

/// The claims of an unsigned JWT, or `None` when it is not one.
fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The sign-in headers: a live access token and the account it belongs to.
pub(super) fn sign_in(
    r: &RecordedRequest,
    rejected: &[String],
    refuse_all: bool,
) -> Result<(), Refusal> {
    let Some(token) = r
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty())
    else {
        return Err(invalid_request(
            401,
            "Missing bearer or basic authentication in header",
            None,
        ));
    };
    if refuse_all || rejected.iter().any(|t| t == token) {
        return Err(invalid_request(
            401,
            "Your authentication token has been invalidated. Please try signing in again.",
            Some("token_invalidated"),
        ));
    }
    let Some(claims) = claims(token) else {
        return Err(invalid_request(
            401,
            "Could not parse your authentication token. Please try signing in again.",
            Some("invalid_token"),
        ));
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
        return Err(invalid_request(
            401,
            "Provided authentication token is expired. Please try signing in again.",
            Some("token_expired"),
        ));
    }
    let account = claims["https://api.openai.com/auth"]["chatgpt_account_id"]
        .as_str()
        .unwrap_or_default();
    match r.header("chatgpt-account-id") {
        Some(sent) if sent == account => Ok(()),
        Some(_) => Err(invalid_request(
            403,
            "The ChatGPT-Account-Id header does not match the authenticated account.",
            Some("account_mismatch"),
        )),
        None => Err(invalid_request(
            403,
            "Missing ChatGPT-Account-Id header.",
            Some("missing_account_id"),
        )),
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The headers and body of `POST /responses`; the body when it is acceptable.
pub(super) fn request(
    r: &RecordedRequest,
    plan: &[String],
    known_encrypted: &[String],
) -> Result<Value, Refusal> {
    if r.header("originator").is_none_or(str::is_empty) {
        return Err(detail("Missing originator header".into()));
    }
    if !r.header("session_id").is_some_and(is_uuid) {
        return Err(detail("session_id must be a UUID".into()));
    }
    if r.header("user-agent").is_none_or(str::is_empty) {
        return Err(detail("Missing User-Agent header".into()));
    }
    if !r
        .header("accept")
        .is_some_and(|a| a.contains("text/event-stream"))
    {
        return Err(detail("Accept must include text/event-stream".into()));
    }
    if !r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return Err(detail("Content-Type must be application/json".into()));
    }
    let Some(body) = r.json().filter(Value::is_object) else {
        return Err(detail("The request body is not a JSON object".into()));
    };
    let model = body["model"].as_str().unwrap_or_default();
    if !plan.iter().any(|m| m == model) {
        return Err(detail(format!(
            "The '{model}' model is not supported when using Codex with a ChatGPT account."
        )));
    }
    for field in ["max_output_tokens", "temperature", "top_p"] {
        if body.get(field).is_some() {
            return Err(detail(format!("Unsupported parameter: {field}")));
        }
    }
    if body["store"] != json!(false) {
        return Err(detail("Store must be set to false".into()));
    }
    if body["stream"] != json!(true) {
        return Err(detail("Stream must be set to true".into()));
    }
    if !body["instructions"].is_string() {
        return Err(detail("Instructions are required".into()));
    }
    let Some(input) = body["input"].as_array() else {
        return Err(detail("Input must be a list".into()));
    };
    let mut calls: Vec<&str> = Vec::new();
    for item in input {
        if let Some(id) = item.get("id") {
            return Err(invalid_request(
                404,
                &format!(
                    "Item with id '{}' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.",
                    id.as_str().unwrap_or_default()
                ),
                None,
            ));
        }
        match item["type"].as_str() {
            Some("message") => match item["role"].as_str() {
                Some("user" | "assistant") => {}
                Some(role @ ("system" | "developer")) => {
                    return Err(detail(format!(
                        "{role} messages are not allowed in input; use instructions"
                    )))
                }
                _ => return Err(detail("A message needs a role of user or assistant".into())),
            },
            Some("reasoning") => {
                let enc = item["encrypted_content"].as_str().unwrap_or_default();
                if !known_encrypted.iter().any(|k| k == enc) {
                    return Err(invalid_request(
                        400,
                        "The encrypted content for a reasoning item could not be verified.",
                        Some("invalid_encrypted_content"),
                    ));
                }
            }
            Some("function_call") => {
                calls.push(item["call_id"].as_str().unwrap_or_default());
            }
            Some("function_call_output") => {
                let call = item["call_id"].as_str().unwrap_or_default();
                if !calls.contains(&call) {
                    return Err(invalid_request(
                        400,
                        &format!(
                            "No tool call found for function call output with call_id {call}."
                        ),
                        None,
                    ));
                }
            }
            other => {
                return Err(detail(format!("Unsupported input item type: {other:?}")));
            }
        }
    }
    Ok(body)
}
