//! The body of `GET /models` to [`ModelInfo`]s, keeping what servers add beyond `id`.
//!
//! | server | field | becomes |
//! |---|---|---|
//! | all | `owned_by` | [`ModelInfo::owned_by`] |
//! | vLLM | `max_model_len` | context window |
//! | OpenRouter, Together, LM Studio | `context_length` | context window |
//! | Groq | `context_window` | context window |
//! | Mistral | `max_context_length`, `capabilities.{function_calling, vision}` | context window, tools, images |
//! | OpenRouter | `top_provider.max_completion_tokens` | output limit |
//! | OpenRouter | `pricing.{prompt, completion}` (USD per token, as strings) | prices per million |
//! | Together | `pricing.{input, output}` (USD per million) | prices per million |
//! | OpenRouter | `pricing.input_cache_read` (USD per token) | cached-input price |
//! | OpenRouter | `architecture.input_modalities`, `supported_parameters` | images, tools, reasoning |
//! | LiteLLM (`/v1/model/info`) | `model_name`, `model_info.{max_input_tokens, max_output_tokens}` | id, context window, output limit |
//! | LiteLLM | `model_info.{input_cost_per_token, output_cost_per_token, cache_read_input_token_cost}` | prices per million |
//! | LiteLLM | `model_info.{supports_vision, supports_function_calling, supports_reasoning}` | images, tools, reasoning |
//! | Ollama (`/api/show` shape) | `model_info["<arch>.context_length"]` | context window |
//! | any | top-level `max_input_tokens`, `max_output_tokens` | context window, output limit |

use std::collections::HashSet;

use cline_provider_core::{Error, ErrorKind, ModelInfo, Result};
use serde_json::Value;

use crate::wire::ModelList;

/// Parses a model-list response body. Entries without an `id` are skipped, duplicates keep
/// their first occurrence, and the server's order is kept.
///
/// ```
/// use cline_provider_openai::models::parse_model_list;
/// let body = br#"{"object":"list","data":[{"id":"qwen","object":"model","owned_by":"vllm","max_model_len":32768}]}"#;
/// let models = parse_model_list(body).unwrap();
/// assert_eq!(models[0].id, "qwen");
/// assert_eq!(models[0].context_window, Some(32768));
/// ```
pub fn parse_model_list(body: &[u8]) -> Result<Vec<ModelInfo>> {
    let list: ModelList = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("the model list is not the expected JSON (`{{\"data\": [...]}}`): {e}"),
        )
    })?;
    let mut seen = HashSet::new();
    Ok(list
        .into_entries()
        .iter()
        .filter_map(model_info)
        .filter(|m| seen.insert(m.id.clone()))
        .collect())
}

/// One entry of the list as a [`ModelInfo`]; `None` without a usable `id`.
pub fn model_info(entry: &Value) -> Option<ModelInfo> {
    // LiteLLM's model info names the model `model_name`.
    let id = ["id", "model_name"]
        .iter()
        .find_map(|k| entry.get(k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    let mut m = ModelInfo::new(id);
    m.owned_by = str_at(entry, &["owned_by"]).map(str::to_owned);
    let info = entry.get("model_info").filter(|i| i.is_object());
    m.context_window = [
        "max_model_len",
        "context_length",
        "context_window",
        "max_context_length",
        "max_input_tokens",
    ]
    .iter()
    .find_map(|k| u32_at(entry, &[k]))
    .or_else(|| u32_at(entry, &["top_provider", "context_length"]))
    .or_else(|| info.and_then(|i| u32_at(i, &["max_input_tokens"])))
    .or_else(|| info.and_then(ollama_context_length));
    m.max_output_tokens = u32_at(entry, &["top_provider", "max_completion_tokens"])
        .or_else(|| u32_at(entry, &["max_completion_tokens"]))
        .or_else(|| u32_at(entry, &["max_output_tokens"]))
        .or_else(|| info.and_then(|i| u32_at(i, &["max_output_tokens"])));
    if let Some(i) = info {
        // LiteLLM: USD per token.
        m.input_price = number(i.get("input_cost_per_token")).map(per_million);
        m.output_price = number(i.get("output_cost_per_token")).map(per_million);
        m.cached_input_price = number(i.get("cache_read_input_token_cost")).map(per_million);
        let flag = |k: &str| i.get(k).and_then(Value::as_bool);
        m.supports_images = flag("supports_vision");
        m.supports_tools = flag("supports_function_calling");
        m.supports_reasoning = flag("supports_reasoning");
    }

    if let Some(p) = entry.get("pricing") {
        // OpenRouter: USD per token, as strings; Together: USD per million, as numbers.
        if let (Some(i), Some(o)) = (number(p.get("prompt")), number(p.get("completion"))) {
            m.input_price = Some(per_million(i));
            m.output_price = Some(per_million(o));
            m.cached_input_price = number(p.get("input_cache_read")).map(per_million);
        } else if let (Some(i), Some(o)) = (number(p.get("input")), number(p.get("output"))) {
            m.input_price = Some(i);
            m.output_price = Some(o);
        }
    }

    if let Some(mods) = entry
        .get("architecture")
        .and_then(|a| a.get("input_modalities"))
        .and_then(Value::as_array)
    {
        m.supports_images = Some(mods.iter().any(|v| v.as_str() == Some("image")));
    }
    if let Some(params) = entry.get("supported_parameters").and_then(Value::as_array) {
        let has = |p: &str| params.iter().any(|v| v.as_str() == Some(p));
        m.supports_tools = Some(has("tools"));
        m.supports_reasoning = Some(has("reasoning") || has("include_reasoning"));
    }
    if let Some(caps) = entry.get("capabilities").filter(|c| c.is_object()) {
        if let Some(b) = caps.get("function_calling").and_then(Value::as_bool) {
            m.supports_tools = Some(b);
        }
        if let Some(b) = caps.get("vision").and_then(Value::as_bool) {
            m.supports_images = Some(b);
        }
    }
    Some(m)
}

/// Ollama's `model_info` names the context length after the architecture
/// (`llama.context_length`, `qwen2.context_length`).
fn ollama_context_length(info: &Value) -> Option<u32> {
    info.as_object()?
        .iter()
        .filter(|(k, _)| k.ends_with(".context_length"))
        .find_map(|(_, v)| u32_at(v, &[]))
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    at(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn u32_at(v: &Value, path: &[&str]) -> Option<u32> {
    let n = number(at(v, path))?;
    (n >= 1.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// A number given as a JSON number or a numeric string.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

fn per_million(per_token: f64) -> f64 {
    // Round away binary noise: 0.000003 * 1e6 should read 3, not 2.9999999999999996.
    (per_token * 1_000_000.0 * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_list() {
        let body = br#"{"object":"list","data":[
            {"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},
            {"id":"o3-mini","object":"model","created":1737146383,"owned_by":"system"}]}"#;
        let m = parse_model_list(body).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].id, "o3-mini");
        assert_eq!(m[0].owned_by.as_deref(), Some("system"));
        assert_eq!(m[0].context_window, None);
    }

    #[test]
    fn vllm_list() {
        let body = br#"{"object":"list","data":[{"id":"Qwen/Qwen2.5-7B-Instruct","object":"model","created":1,"owned_by":"vllm","root":"Qwen/Qwen2.5-7B-Instruct","parent":null,"max_model_len":32768,"permission":[{"id":"modelperm-1","allow_sampling":true}]}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.context_window, Some(32768));
        assert_eq!(m.owned_by.as_deref(), Some("vllm"));
    }

    #[test]
    fn openrouter_list() {
        let body = br#"{"data":[{"id":"anthropic/claude-sonnet-4","name":"Claude Sonnet 4","context_length":200000,
            "architecture":{"modality":"text+image->text","input_modalities":["image","text"],"output_modalities":["text"]},
            "pricing":{"prompt":"0.000003","completion":"0.000015","request":"0","image":"0.0048"},
            "top_provider":{"context_length":200000,"max_completion_tokens":64000,"is_moderated":false},
            "supported_parameters":["max_tokens","temperature","tools","tool_choice","reasoning","include_reasoning"]}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.context_window, Some(200_000));
        assert_eq!(m.max_output_tokens, Some(64_000));
        assert_eq!(m.input_price, Some(3.0));
        assert_eq!(m.output_price, Some(15.0));
        assert_eq!(m.supports_images, Some(true));
        assert_eq!(m.supports_tools, Some(true));
        assert_eq!(m.supports_reasoning, Some(true));
    }

    #[test]
    fn together_bare_array_and_mistral_capabilities() {
        let body = br#"[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model","context_length":131072,"pricing":{"hourly":0,"input":0.88,"output":0.88,"base":0,"finetune":0}}]"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.context_window, Some(131_072));
        assert_eq!(m.input_price, Some(0.88));
        let body = br#"{"object":"list","data":[{"id":"mistral-large-latest","owned_by":"mistralai","max_context_length":131072,"capabilities":{"completion_chat":true,"function_calling":true,"vision":false}}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.context_window, Some(131_072));
        assert_eq!(m.supports_tools, Some(true));
        assert_eq!(m.supports_images, Some(false));
    }

    #[test]
    fn litellm_model_info_and_ollama_context() {
        let body = br#"{"data":[{"model_name":"claude-proxy","litellm_params":{"model":"anthropic/claude-3-5-sonnet"},
            "model_info":{"max_input_tokens":200000,"max_output_tokens":8192,"input_cost_per_token":0.000003,
            "output_cost_per_token":0.000015,"cache_read_input_token_cost":0.0000003,"supports_vision":true,
            "supports_function_calling":true}}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.id, "claude-proxy");
        assert_eq!(
            (m.context_window, m.max_output_tokens),
            (Some(200_000), Some(8192))
        );
        assert_eq!((m.input_price, m.output_price), (Some(3.0), Some(15.0)));
        assert_eq!(m.cached_input_price, Some(0.3));
        assert_eq!(
            (m.supports_images, m.supports_tools),
            (Some(true), Some(true))
        );
        // LiteLLM's /v1/models with extra fields at the top level.
        let body = br#"{"data":[{"id":"gpt-4o","object":"model","max_input_tokens":128000,"max_output_tokens":16384}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(
            (m.context_window, m.max_output_tokens),
            (Some(128_000), Some(16_384))
        );
        let body = br#"{"models":[{"id":"llama3.2","model_info":{"general.architecture":"llama","llama.context_length":131072}}]}"#;
        assert_eq!(
            parse_model_list(body).unwrap()[0].context_window,
            Some(131_072)
        );
    }

    #[test]
    fn openrouter_cache_read_price() {
        let body = br#"{"data":[{"id":"a/b","pricing":{"prompt":"0.000002","completion":"0.000008","input_cache_read":"0.0000005"}}]}"#;
        assert_eq!(
            parse_model_list(body).unwrap()[0].cached_input_price,
            Some(0.5)
        );
    }

    #[test]
    fn dedupes_and_skips_entries_without_id() {
        let body = br#"{"data":[{"id":"a"},{"id":"a","owned_by":"later"},{"name":"no id"},{"id":""},{"id":7},{"id":"b"}]}"#;
        let ids: Vec<String> = parse_model_list(body)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn odd_numbers_are_ignored() {
        let body = br#"{"data":[{"id":"a","max_model_len":-1,"context_length":"big","pricing":{"prompt":"x","completion":"1"}}]}"#;
        let m = &parse_model_list(body).unwrap()[0];
        assert_eq!(m.context_window, None);
        assert_eq!(m.input_price, None);
    }

    #[test]
    fn not_a_list_is_a_protocol_error() {
        for body in [
            &b"<html>"[..],
            b"{\"data\": 3}",
            b"",
            b"{\"object\":\"list\"}",
        ] {
            let err = parse_model_list(body).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Protocol);
        }
    }
}
