//! Fixtures for the parties an Azure OpenAI client talks to: the data plane (deployment
//! routes, content-filter annotations, Azure's error bodies), the Entra ID token endpoint,
//! the App Service managed-identity endpoint, and fake `az` / `azd` programs.
//!
//! Shapes follow Microsoft's Azure OpenAI inference description (API version 2024-10-21:
//! `createChatCompletionStreamResponse`, `contentFilterPromptResults`,
//! `contentFilterChoiceResults`, `errorResponse`), the Entra ID v2.0 token response, and the
//! App Service `2019-08-01` identity protocol.
//!
//! ```
//! use cline_provider_testkit::{azure, Reply};
//! let frames = azure::filtered_text_stream("gpt-4o", &["Hi"], Some((5, 1)));
//! assert!(frames[0].as_wire().contains("prompt_filter_results"));
//! let reply = Reply::sse(frames);
//! # let _ = reply;
//! ```

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::openai;
use crate::reply::Reply;
use crate::server::RecordedRequest;
use crate::sse::SseFrame;

/// `/openai/deployments/{deployment}/chat/completions`.
pub fn chat_path(deployment: &str) -> String {
    format!("/openai/deployments/{deployment}/chat/completions")
}

/// The v1 API's chat route.
pub const V1_CHAT_PATH: &str = "/openai/v1/chat/completions";

/// The v1 API's model list.
pub const V1_MODELS_PATH: &str = "/openai/v1/models";

/// `content_filter_results` with every category unfiltered (`safe`), as Azure sends on most
/// chunks.
pub fn safe_results() -> Value {
    let cat = || json!({"filtered": false, "severity": "safe"});
    json!({"hate": cat(), "self_harm": cat(), "sexual": cat(), "violence": cat()})
}

/// The first chunk of an Azure stream: no choices, `prompt_filter_results` for prompt 0.
pub fn prompt_filter_chunk(results: Value) -> Value {
    json!({
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "choices": [],
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": results}],
        "system_fingerprint": null,
    })
}

/// A chunk whose choice 0 carries `delta` and `content_filter_results`.
pub fn chunk_with_filter(model: &str, delta: Value, finish: Option<&str>, results: Value) -> Value {
    let mut c = openai::chunk_with(model, delta, finish);
    c["choices"][0]["content_filter_results"] = results;
    c
}

/// A full Azure stream: the prompt-filter chunk, `pieces` as text each annotated with safe
/// filter results, a `stop` finish, usage when given, `[DONE]`.
pub fn filtered_text_stream(
    model: &str,
    pieces: &[&str],
    usage: Option<(u64, u64)>,
) -> Vec<SseFrame> {
    let mut frames = vec![SseFrame::json(&prompt_filter_chunk(safe_results()))];
    frames.push(SseFrame::json(&chunk_with_filter(
        model,
        json!({"role": "assistant", "content": ""}),
        None,
        json!({}),
    )));
    for p in pieces {
        frames.push(SseFrame::json(&chunk_with_filter(
            model,
            json!({"content": p}),
            None,
            safe_results(),
        )));
    }
    frames.push(SseFrame::json(&chunk_with_filter(
        model,
        json!({}),
        Some("stop"),
        json!({}),
    )));
    if let Some((i, o)) = usage {
        frames.push(SseFrame::json(&openai::usage_chunk(model, i, o)));
    }
    frames.push(SseFrame::done());
    frames
}

/// A stream whose reply the filter stops: `pieces` of text, then a `content_filter` finish
/// whose results mark `category` filtered at `severity`.
pub fn completion_blocked_stream(
    model: &str,
    pieces: &[&str],
    category: &str,
    severity: &str,
) -> Vec<SseFrame> {
    let mut frames = vec![SseFrame::json(&prompt_filter_chunk(safe_results()))];
    for p in pieces {
        frames.push(SseFrame::json(&chunk_with_filter(
            model,
            json!({"content": p}),
            None,
            safe_results(),
        )));
    }
    let mut results = safe_results();
    results[category] = json!({"filtered": true, "severity": severity});
    frames.push(SseFrame::json(&chunk_with_filter(
        model,
        json!({}),
        Some("content_filter"),
        results,
    )));
    frames.push(SseFrame::done());
    frames
}

/// Azure's error body, `{"error": {"code", "message"}}`.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// HTTP 404 `DeploymentNotFound`, as Azure answers a deployment it does not have.
pub fn deployment_not_found() -> Reply {
    Reply::json(
        404,
        error_body(
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
        ),
    )
}

/// HTTP 401 for a bad key or token.
pub fn unauthorized(bearer: bool) -> Reply {
    let (code, message) = if bearer {
        ("401", "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.")
    } else {
        ("401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
    };
    Reply::json(401, error_body(code, message))
}

/// HTTP 403 for an identity without the data-action permission.
pub fn permission_denied() -> Reply {
    Reply::json(
        403,
        error_body(
            "PermissionDenied",
            "The principal `00000000-0000-0000-0000-000000000001` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{deployment-id}/chat/completions` operation.",
        ),
    )
}

/// HTTP 400 for a prompt the filter blocked, with `category` filtered at `severity`.
pub fn prompt_filtered(category: &str, severity: &str) -> Reply {
    let mut results = safe_results();
    results[category] = json!({"filtered": true, "severity": severity});
    results["jailbreak"] = json!({"filtered": false, "detected": false});
    Reply::json(
        400,
        json!({"error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            "type": null,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results}
        }}),
    )
}

/// The Entra ID v2.0 token response (`POST /{tenant}/oauth2/v2.0/token`).
pub fn token_response(access_token: &str, expires_in: u64) -> Value {
    json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    })
}

/// `/{tenant}/oauth2/v2.0/token`.
pub fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

/// The App Service managed-identity answer (`GET ?api-version=2019-08-01&resource=…`);
/// `expires_on` is a string of seconds since the epoch, as App Service sends it.
pub fn app_service_token(access_token: &str, expires_on: u64, resource: &str) -> Value {
    json!({
        "access_token": access_token,
        "expires_on": expires_on.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": "00000000-0000-0000-0000-00000000beef",
    })
}

/// The form fields of a recorded `application/x-www-form-urlencoded` request.
pub fn form(request: &RecordedRequest) -> Vec<(String, String)> {
    url_decode_pairs(&request.body_text())
}

/// The query pairs of a recorded request.
pub fn query(request: &RecordedRequest) -> Vec<(String, String)> {
    url_decode_pairs(request.query.as_deref().unwrap_or(""))
}

fn url_decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes fake `az` and `azd` programs into `dir` (make it the only `PATH` entry) that
/// print what `az account get-access-token -o json` and `azd auth token -o json` print, with
/// `token` expiring at `expires_on` (seconds since the epoch). Each run appends its
/// arguments to `dir/calls.log`.
///
/// With `token = None` they fail the way the real ones do when nobody is signed in.
///
/// # Panics
///
/// When the files cannot be written (a test set-up failure).
pub fn write_fake_clis(dir: &Path, token: Option<&str>, expires_on: u64) -> PathBuf {
    let log = dir.join("calls.log");
    let az = match token {
        Some(t) => format!(
            "#!/bin/sh\necho \"az $*\" >> '{log}'\ncat <<'JSON'\n{{\n  \"accessToken\": \"{t}\",\n  \"expiresOn\": \"2030-01-01 00:00:00.000000\",\n  \"expires_on\": {expires_on},\n  \"subscription\": \"00000000-0000-0000-0000-0000000000aa\",\n  \"tenant\": \"00000000-0000-0000-0000-0000000000bb\",\n  \"tokenType\": \"Bearer\"\n}}\nJSON\n",
            log = log.display()
        ),
        None => format!(
            "#!/bin/sh\necho \"az $*\" >> '{log}'\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
            log = log.display()
        ),
    };
    let azd = match token {
        Some(t) => format!(
            "#!/bin/sh\necho \"azd $*\" >> '{log}'\necho '{{\"token\": \"{t}\", \"expiresOn\": \"{}\"}}'\n",
            rfc3339(expires_on),
            log = log.display()
        ),
        None => format!(
            "#!/bin/sh\necho \"azd $*\" >> '{log}'\necho '{{\"type\":\"consoleMessage\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"data\":{{\"message\":\"\\nERROR: not logged in, run `azd auth login` to login\\n\"}}}}' >&2\nexit 1\n",
            log = log.display()
        ),
    };
    for (name, text) in [("az", az), ("azd", azd)] {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a fake CLI");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("make the fake CLI executable");
        }
    }
    log
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_893_456_000), "2030-01-01T00:00:00Z");
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            url_decode_pairs("a=1&scope=https%3A%2F%2Fx%2F.default&b=c+d"),
            vec![
                ("a".into(), "1".into()),
                ("scope".into(), "https://x/.default".into()),
                ("b".into(), "c d".into())
            ]
        );
    }
}
