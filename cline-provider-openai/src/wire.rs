//! The chat-completions wire format: what goes out ([`ChatCompletionRequest`]) and what
//! comes back ([`ChatCompletionChunk`], [`WireUsage`]).
//!
//! Outgoing types borrow from the [`ChatRequest`](cline_provider_core::ChatRequest) they are
//! built from; incoming types borrow from the event's text wherever the JSON holds no escape
//! sequence, so a typical text delta is decoded without copying until it becomes a
//! [`StreamEvent`](cline_provider_core::StreamEvent).
//!
//! Every incoming type is lenient: unknown fields are ignored, `null` is the same as absent,
//! and a field of an unexpected type where leniency is cheap (finish reason, token counts,
//! error codes) is read as absent rather than failing the chunk.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

pub use cline_provider_core::wire::{Count, JsonStr};

// ---------------------------------------------------------------------------------------------
// Outgoing
// ---------------------------------------------------------------------------------------------

/// The body of `POST /chat/completions`, as this SDK sends it (streaming only).
#[derive(Debug, Clone, Serialize)]
pub struct ChatCompletionRequest<'a> {
    /// Model id (Azure: deployment name).
    pub model: &'a str,
    /// The conversation.
    pub messages: Vec<RequestMessage<'a>>,
    /// Sampling temperature; omitted for reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Output limit for classic models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output limit for reasoning models (replaces `max_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// `low`, `medium`, … for reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'static str>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    /// Function tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<RequestTool<'a>>,
    /// Tool choice; only sent together with tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<RequestToolChoice<'a>>,
    /// `true` for `Provider::stream`, `false` for a whole reply (`Provider::complete`).
    pub stream: bool,
    /// When streaming, always asks for the final usage chunk; absent otherwise (servers refuse
    /// `stream_options` without `stream: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StreamOptions {
    /// Ask for a last chunk carrying token usage.
    pub include_usage: bool,
}

/// One message of the request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestMessage<'a> {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: &'static str,
    /// Text, or parts when there are images. Absent only for an assistant message that
    /// carries tool calls and no text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<RequestContent<'a>>,
    /// Tool calls of an assistant message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<RequestToolCall<'a>>,
    /// For a tool result: the call it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<&'a str>,
}

/// A message's content: a plain string (understood by every server) or typed parts.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RequestContent<'a> {
    /// Plain text.
    Text(Cow<'a, str>),
    /// Text and image parts.
    Parts(Vec<RequestPart<'a>>),
}

/// One content part.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestPart<'a> {
    /// A text part.
    Text {
        /// The text.
        text: Cow<'a, str>,
    },
    /// An image, by URL or as a `data:` URL.
    ImageUrl {
        /// The image.
        image_url: ImageUrl<'a>,
    },
}

/// `image_url` of an image part.
#[derive(Debug, Clone, Serialize)]
pub struct ImageUrl<'a> {
    /// An `https:` or `data:` URL.
    pub url: Cow<'a, str>,
}

/// A tool call in an assistant message of the history.
#[derive(Debug, Clone, Serialize)]
pub struct RequestToolCall<'a> {
    /// Call id.
    pub id: &'a str,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Name and arguments.
    pub function: RequestFunctionCall<'a>,
}

/// `function` of a tool call.
#[derive(Debug, Clone, Serialize)]
pub struct RequestFunctionCall<'a> {
    /// Function name.
    pub name: &'a str,
    /// JSON arguments as text.
    pub arguments: &'a str,
}

/// A tool offered to the model.
#[derive(Debug, Clone, Serialize)]
pub struct RequestTool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: RequestFunction<'a>,
}

/// `function` of a tool definition.
#[derive(Debug, Clone, Serialize)]
pub struct RequestFunction<'a> {
    /// Function name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: &'a str,
    /// JSON Schema of the arguments.
    pub parameters: &'a Value,
    /// Strict schema adherence, where supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RequestToolChoice<'a> {
    /// `auto`, `none` or `required`.
    Mode(&'static str),
    /// A named function.
    Named(NamedToolChoice<'a>),
}

/// `{"type": "function", "function": {"name": …}}`.
#[derive(Debug, Clone, Serialize)]
pub struct NamedToolChoice<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: FunctionName<'a>,
}

/// `{"name": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionName<'a> {
    /// Function name.
    pub name: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Incoming
// ---------------------------------------------------------------------------------------------

/// A string field that tolerates any other JSON type by reading it as absent (used for
/// `finish_reason`, where servers have sent numbers, objects and empty strings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LenientStr<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `chat.completion.chunk` event.
///
/// `M` is what `id` and `model` are read as: [`LenientStr`] until a stream has told them once
/// ([`ChunkWithMetadata`]), then [`IgnoredAny`], so that the chunks after the first cost no
/// more than if the fields were not there.
#[derive(Debug, Deserialize)]
pub struct ChatCompletionChunk<'a, M = IgnoredAny> {
    /// The completion id, the same in every chunk (any other type reads as absent).
    #[serde(default)]
    pub id: M,
    /// The model that answers, the same in every chunk.
    #[serde(default)]
    pub model: M,
    /// The choices; empty in the final usage chunk.
    #[serde(borrow, default)]
    pub choices: Option<Vec<ChunkChoice<'a>>>,
    /// Token usage, in the last chunk (or in every chunk on some servers).
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// An in-band error (OpenRouter, vLLM, LiteLLM send one mid-stream), left unparsed: it is
    /// rare, and [`ErrorDetails`](cline_provider_core::http::ErrorDetails) reads every shape.
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

/// A chunk whose `id` and `model` are read.
pub type ChunkWithMetadata<'a> = ChatCompletionChunk<'a, LenientStr<'a>>;

/// One choice of a chunk.
#[derive(Debug, Deserialize)]
pub struct ChunkChoice<'a> {
    /// Which choice; this SDK reads choice 0 only.
    #[serde(default)]
    pub index: Option<u32>,
    /// What is new.
    #[serde(borrow, default)]
    pub delta: Option<ChunkDelta<'a>>,
    /// Why the model stopped, once it has.
    #[serde(borrow, default)]
    pub finish_reason: LenientStr<'a>,
}

/// The new part of the assistant message.
#[derive(Debug, Default, Deserialize)]
pub struct ChunkDelta<'a> {
    /// Reply text (or, on Mistral's reasoning models, typed parts).
    #[serde(borrow, default)]
    pub content: Option<DeltaContent<'a>>,
    /// Reasoning text: vLLM (before 0.11), DeepSeek, llama.cpp, LiteLLM.
    #[serde(borrow, default)]
    pub reasoning_content: Option<JsonStr<'a>>,
    /// Reasoning text: OpenRouter, Ollama, vLLM 0.11 and later.
    #[serde(borrow, default)]
    pub reasoning: Option<JsonStr<'a>>,
    /// A refusal (OpenAI), shown as text.
    #[serde(borrow, default)]
    pub refusal: Option<JsonStr<'a>>,
    /// Tool-call fragments.
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

/// `delta.content`: a string everywhere except Mistral's reasoning models, which send
/// `[{"type":"thinking","thinking":[{"type":"text","text":…}]}, {"type":"text","text":…}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaContent<'a> {
    /// Plain text.
    Text(JsonStr<'a>),
    /// Typed parts.
    Parts(Vec<DeltaPart<'a>>),
}

/// One typed part of [`DeltaContent::Parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaPart<'a> {
    /// Reply text.
    Text(JsonStr<'a>),
    /// Reasoning text.
    Thinking(String),
}

impl<'de: 'a, 'a> Deserialize<'de> for DeltaContent<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DeltaContent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(DeltaContent::Text(JsonStr(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(DeltaContent::Text(JsonStr(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(DeltaContent::Text(JsonStr(Cow::Owned(v))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::new();
                while let Some(raw) = seq.next_element::<RawDeltaPart<'de>>()? {
                    match raw.kind.as_ref().map(JsonStr::as_str) {
                        Some("thinking") | Some("reasoning") => {
                            let mut text = String::new();
                            if let Some(v) = &raw.thinking {
                                collect_text(v, &mut text);
                            }
                            if let Some(t) = &raw.text {
                                text.push_str(t.as_str());
                            }
                            if !text.is_empty() {
                                parts.push(DeltaPart::Thinking(text));
                            }
                        }
                        // Parts without a type, or of type `text`, carry reply text; other
                        // types (images, references) have no text to show.
                        None | Some("text") | Some("output_text") => {
                            if let Some(t) = raw.text {
                                parts.push(DeltaPart::Text(t));
                            }
                        }
                        Some(_) => {}
                    }
                }
                Ok(DeltaContent::Parts(parts))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawDeltaPart<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    text: Option<JsonStr<'a>>,
    #[serde(default)]
    thinking: Option<Value>,
}

/// Appends every `text` string found in `v` (a string, a part, or a list of parts).
fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(map) => {
            if let Some(Value::String(s)) = map.get("text") {
                out.push_str(s);
            }
        }
        _ => {}
    }
}

/// A fragment of one tool call.
#[derive(Debug, Deserialize)]
pub struct ToolCallDelta<'a> {
    /// Which call; some servers omit it, then the position in the array is used.
    #[serde(default)]
    pub index: Option<u32>,
    /// Call id, usually in the first fragment only.
    #[serde(borrow, default)]
    pub id: Option<JsonStr<'a>>,
    /// Name and argument fragment.
    #[serde(borrow, default)]
    pub function: Option<FunctionDelta<'a>>,
}

/// `function` of a tool-call fragment.
#[derive(Debug, Default, Deserialize)]
pub struct FunctionDelta<'a> {
    /// Function name, usually in the first fragment only.
    #[serde(borrow, default)]
    pub name: Option<JsonStr<'a>>,
    /// A piece of the JSON arguments.
    #[serde(borrow, default)]
    pub arguments: Option<JsonStr<'a>>,
}

/// `usage`, with the extensions servers add.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct WireUsage {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub prompt_tokens: Option<Count>,
    /// Reply tokens, reasoning included.
    #[serde(default)]
    pub completion_tokens: Option<Count>,
    /// OpenAI, vLLM, OpenRouter: cache details.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// OpenAI, DeepSeek, OpenRouter: reasoning details.
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// DeepSeek: prompt tokens served from its context cache.
    #[serde(default)]
    pub prompt_cache_hit_tokens: Option<Count>,
    /// DeepSeek: prompt tokens not served from its cache.
    #[serde(default)]
    pub prompt_cache_miss_tokens: Option<Count>,
    /// LiteLLM passing through Anthropic: tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<Count>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PromptTokensDetails {
    /// Prompt tokens read from the cache.
    #[serde(default)]
    pub cached_tokens: Option<Count>,
    /// Prompt tokens written to the cache (OpenRouter).
    #[serde(default)]
    pub cache_write_tokens: Option<Count>,
}

/// `usage.completion_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct CompletionTokensDetails {
    /// Reply tokens spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: Option<Count>,
}

fn count(c: Option<Count>) -> u64 {
    c.map_or(0, |c| c.0)
}

impl WireUsage {
    /// The counts in the SDK's terms.
    ///
    /// DeepSeek reports `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` instead of
    /// `prompt_tokens_details.cached_tokens`: hits count as cached input. Misses are ordinary
    /// input (billed at the input price, and already inside `prompt_tokens`), *not* cache
    /// writes as the original product counted them, which billed them twice.
    pub fn to_usage(&self) -> cline_provider_core::Usage {
        let details = self.prompt_tokens_details.unwrap_or_default();
        let hit = count(self.prompt_cache_hit_tokens);
        let miss = count(self.prompt_cache_miss_tokens);
        let mut input = count(self.prompt_tokens);
        if input == 0 {
            // Server-supplied numbers: never trust them not to overflow.
            input = hit.saturating_add(miss);
        }
        let mut cached = count(details.cached_tokens);
        if cached == 0 {
            cached = hit;
        }
        let mut cache_write = count(details.cache_write_tokens);
        if cache_write == 0 {
            cache_write = count(self.cache_creation_input_tokens);
        }
        cline_provider_core::Usage {
            input_tokens: input,
            output_tokens: count(self.completion_tokens),
            cached_input_tokens: cached,
            cache_write_tokens: cache_write,
            reasoning_tokens: count(
                self.completion_tokens_details
                    .and_then(|d| d.reasoning_tokens),
            ),
            billing: cline_provider_core::Billing::PerToken,
        }
    }
}

/// The body of `GET /models`: `{"data": [...]}` or, on a few servers, a bare array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ModelList {
    /// `{"object": "list", "data": [...]}`.
    Wrapped {
        /// The models.
        data: Vec<Value>,
    },
    /// `[...]` (Together).
    Bare(Vec<Value>),
    /// `{"models": [...]}` (some gateways).
    Models {
        /// The models.
        models: Vec<Value>,
    },
}

impl ModelList {
    /// The entries, whatever the shape.
    pub fn into_entries(self) -> Vec<Value> {
        match self {
            ModelList::Wrapped { data } => data,
            ModelList::Bare(v) => v,
            ModelList::Models { models } => models,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_str_borrows_without_escapes_and_owns_with_them() {
        let chunk: ChunkDelta<'_> =
            serde_json::from_str(r#"{"content":"plain","reasoning":"with\nescape"}"#).unwrap();
        match chunk.content {
            Some(DeltaContent::Text(JsonStr(Cow::Borrowed(s)))) => assert_eq!(s, "plain"),
            other => panic!("expected a borrowed string, got {other:?}"),
        }
        let r = chunk.reasoning.unwrap();
        assert!(matches!(r.0, Cow::Owned(_)));
        assert_eq!(r.as_str(), "with\nescape");
    }

    #[test]
    fn lenient_str_reads_other_types_as_absent() {
        for (json, want) in [
            (r#"{"finish_reason":"stop"}"#, Some("stop")),
            (r#"{"finish_reason":null}"#, None),
            (r#"{"finish_reason":3}"#, None),
            (r#"{"finish_reason":{"x":[1,2]}}"#, None),
            (r#"{"finish_reason":[1,"a"]}"#, None),
            (r#"{}"#, None),
        ] {
            let c: ChunkChoice<'_> = serde_json::from_str(json).unwrap();
            assert_eq!(c.finish_reason.0.as_deref(), want, "{json}");
        }
    }

    #[test]
    fn counts_are_lenient() {
        let u: WireUsage = serde_json::from_str(
            r#"{"prompt_tokens":12.0,"completion_tokens":"7","prompt_tokens_details":null,
                "completion_tokens_details":{"reasoning_tokens":-3}}"#,
        )
        .unwrap();
        let u = u.to_usage();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.reasoning_tokens),
            (12, 7, 0)
        );
    }

    #[test]
    fn deepseek_cache_hits_are_cached_input_and_misses_are_not_cache_writes() {
        let u: WireUsage = serde_json::from_str(
            r#"{"prompt_tokens":100,"completion_tokens":20,"prompt_cache_hit_tokens":64,
                "prompt_cache_miss_tokens":36}"#,
        )
        .unwrap();
        let u = u.to_usage();
        assert_eq!(u.input_tokens, 100);
        assert_eq!(u.cached_input_tokens, 64);
        assert_eq!(u.cache_write_tokens, 0);
    }

    #[test]
    fn input_falls_back_to_hit_plus_miss() {
        let u: WireUsage =
            serde_json::from_str(r#"{"prompt_cache_hit_tokens":5,"prompt_cache_miss_tokens":6}"#)
                .unwrap();
        assert_eq!(u.to_usage().input_tokens, 11);
    }

    #[test]
    fn cache_writes_from_openrouter_and_litellm() {
        let a: WireUsage = serde_json::from_str(
            r#"{"prompt_tokens_details":{"cached_tokens":1,"cache_write_tokens":9}}"#,
        )
        .unwrap();
        assert_eq!(a.to_usage().cache_write_tokens, 9);
        let b: WireUsage = serde_json::from_str(r#"{"cache_creation_input_tokens":4}"#).unwrap();
        assert_eq!(b.to_usage().cache_write_tokens, 4);
    }

    #[test]
    fn mistral_content_parts() {
        let d: ChunkDelta<'_> = serde_json::from_str(
            r#"{"content":[{"type":"thinking","thinking":[{"type":"text","text":"hmm"}]},
                           {"type":"text","text":"Hi"},{"type":"image_url","image_url":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(
            d.content,
            Some(DeltaContent::Parts(vec![
                DeltaPart::Thinking("hmm".into()),
                DeltaPart::Text(JsonStr(Cow::Borrowed("Hi"))),
            ]))
        );
    }

    #[test]
    fn error_body_shapes_flatten() {
        let cases = [
            (
                r#"{"error":{"message":"m","type":"t","code":"c","param":null}}"#,
                ("m", Some("t"), Some("c")),
            ),
            (
                r#"{"error":"model 'x' not found"}"#,
                ("model 'x' not found", None, None),
            ),
            (
                r#"{"object":"error","message":"too long","type":"BadRequestError","code":400}"#,
                ("too long", Some("BadRequestError"), Some("400")),
            ),
            (r#"{"detail":"Not Found"}"#, ("Not Found", None, None)),
            (
                r#"{"error":"Input validation error","error_type":"validation"}"#,
                ("Input validation error", Some("validation"), None),
            ),
            (
                r#"{"error":{"code":502,"message":"upstream"}}"#,
                ("upstream", None, Some("502")),
            ),
        ];
        for (json, (msg, kind, code)) in cases {
            // The dialects' error bodies, as the core reads them for every backend.
            let e = cline_provider_core::http::ErrorDetails::parse(json.as_bytes());
            assert_eq!(e.message, msg, "{json}");
            assert_eq!(e.kind.as_deref(), kind, "{json}");
            assert_eq!(e.code.as_deref(), code, "{json}");
        }
    }

    #[test]
    fn request_serializes_plainly() {
        let params = serde_json::json!({"type":"object"});
        let req = ChatCompletionRequest {
            model: "m",
            messages: vec![RequestMessage {
                role: "user",
                content: Some(RequestContent::Parts(vec![
                    RequestPart::Text {
                        text: Cow::Borrowed("look"),
                    },
                    RequestPart::ImageUrl {
                        image_url: ImageUrl {
                            url: Cow::Borrowed("data:image/png;base64,AAAA"),
                        },
                    },
                ])),
                tool_calls: vec![],
                tool_call_id: None,
            }],
            temperature: Some(0.5),
            max_tokens: None,
            max_completion_tokens: None,
            reasoning_effort: None,
            stop: &[],
            tools: vec![RequestTool {
                kind: "function",
                function: RequestFunction {
                    name: "f",
                    description: "",
                    parameters: &params,
                    strict: None,
                },
            }],
            tool_choice: Some(RequestToolChoice::Mode("auto")),
            stream: true,
            stream_options: Some(StreamOptions {
                include_usage: true,
            }),
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
                ]}],
                "temperature": 0.5,
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                "tool_choice": "auto",
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }
}
