//! The common chunk read in place, without serde.
//!
//! [`read_chunk`] reads the shapes nearly every chunk has (text, reasoning, tool-call
//! fragments, a finish reason, usage) with the core's [`JsonReader`] into the same wire types
//! the serde path fills, so [`ChatCompletionsDecoder`](crate::ChatCompletionsDecoder) turns
//! both into events with one piece of code. Everything else returns [`Bail`] and goes
//! through serde: an in-band `error`, Mistral's typed content parts, more than one choice 0,
//! a duplicated field, an escaped key, and anything serde would refuse (which serde then
//! explains). The reading mirrors the serde
//! types field by field (`null` is absent, unknown fields are skipped, `finish_reason`,
//! `id` and `model` tolerate any type, token counts are [`Count`]s); the decoder's tests
//! check that both paths give the same events on every fixture and on generated chunks.

use std::borrow::Cow;

use cline_provider_core::json::{Bail, JsonReader, Prefix, Scan};

use crate::wire::{
    ChunkDelta, CompletionTokensDetails, Count, DeltaContent, FunctionDelta, JsonStr,
    PromptTokensDetails, ToolCallDelta, WireUsage,
};

/// A chunk as far as the decoder reads it.
#[derive(Debug, Default)]
pub(crate) struct FastChunk<'a> {
    /// `id` and `model`, read only when asked for (until the stream has told them).
    pub id: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    /// The choice with index 0 (or none), the only one the SDK reads.
    pub choice: Option<FastChoice<'a>>,
    pub usage: Option<WireUsage>,
}

/// Choice 0 of a chunk.
#[derive(Debug, Default)]
pub(crate) struct FastChoice<'a> {
    /// The delta; its tool-call fragments are in `delta.tool_calls` (a `Vec` only allocated
    /// when a chunk has some).
    pub delta: Option<ChunkDelta<'a>>,
    pub finish_reason: Option<Cow<'a, str>>,
    /// Where the value of `delta.content` lies in the chunk when it is a string: from just
    /// after the colon to just after the closing quote.
    pub content_span: Option<(usize, usize)>,
}

impl FastChunk<'_> {
    /// Where the text lies when the chunk says nothing but text (see [`TextShape`]).
    pub fn text_only_span(&self) -> Option<(usize, usize)> {
        let choice = self.choice.as_ref()?;
        let delta = choice.delta.as_ref()?;
        let text_only = self.usage.is_none()
            && choice.finish_reason.is_none()
            && delta.reasoning_content.is_none()
            && delta.reasoning.is_none()
            && delta.refusal.is_none()
            && delta.tool_calls.is_none();
        text_only.then_some(choice.content_span?)
    }
}

/// A text chunk with its text cut out: the bytes before it and after it.
///
/// The text chunks of a stream differ only in their text: `{"id":…,"choices":[{"index":0,
/// "delta":{"content":` + the text + `},"logprobs":null,"finish_reason":null}]}`. A chunk
/// that is a recorded text chunk with another JSON string in the text's place reads the same
/// in every other respect (a JSON string is a token of its own, so exchanging one for another
/// changes nothing around it), so the whole chunk costs two comparisons and one string.
#[derive(Debug, Default)]
pub(crate) struct TextShape {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl TextShape {
    /// Records `data`, a text-only chunk whose text value lies at `span`.
    pub fn record(&mut self, data: &str, span: (usize, usize)) {
        let bytes = data.as_bytes();
        self.head.clear();
        self.tail.clear();
        if let (Some(head), Some(tail)) = (bytes.get(..span.0), bytes.get(span.1..)) {
            self.head.extend_from_slice(head);
            self.tail.extend_from_slice(tail);
        }
    }

    /// The text of `data` when it is the recorded chunk with another string as its text.
    #[inline]
    pub fn text<'a>(&self, data: &'a str) -> Option<Cow<'a, str>> {
        let bytes = data.as_bytes();
        if self.head.is_empty()
            || bytes.len() < self.head.len() + self.tail.len()
            || !bytes.starts_with(&self.head)
            || !bytes.ends_with(&self.tail)
        {
            return None;
        }
        let mut r = JsonReader::new(data.get(self.head.len()..bytes.len() - self.tail.len())?);
        let text = r.string().ok()?;
        r.end().ok()?;
        Some(text)
    }
}

/// Bits of the fields seen in one object: serde refuses a field given twice.
struct Seen(u16);

impl Seen {
    fn first(&mut self, bit: u16) -> Scan<()> {
        if self.0 & bit != 0 {
            return Err(Bail);
        }
        self.0 |= bit;
        Ok(())
    }
}

/// What the chunks of one stream repeat before the part that changes (see [`Prefix`]), and
/// the fields seen in it.
#[derive(Debug, Default)]
pub(crate) struct ChunkPrefix {
    prefix: Prefix,
    seen: u16,
}

/// Reads one chunk's JSON into `chunk` (built in place: a chunk is a few hundred bytes, and
/// moving it costs more than reading it); `with_metadata` reads `id` and `model` too.
///
/// Once `id` and `model` are known, the members before the first one the decoder acts on
/// (`choices`, `usage`, `error`) are the same bytes in every chunk of a stream: they are read
/// once, recorded in `repeated`, and only compared in later chunks.
#[inline]
pub(crate) fn read_chunk<'a>(
    data: &'a str,
    with_metadata: bool,
    chunk: &mut FastChunk<'a>,
    repeated: &mut ChunkPrefix,
) -> Scan<()> {
    let resumed = if with_metadata {
        None
    } else {
        repeated.prefix.resume(data)
    };
    let (mut r, mut obj, mut seen, mut record) = match resumed {
        Some((r, obj)) => (r, obj, Seen(repeated.seen), false),
        None => {
            let mut r = JsonReader::new(data);
            let obj = r.object()?;
            (r, obj, Seen(0), !with_metadata)
        }
    };
    loop {
        let before = r.checkpoint(&obj);
        let Some(key) = obj.next_key(&mut r)? else {
            break;
        };
        if record && matches!(key, b"choices" | b"usage" | b"error") {
            record = false;
            repeated.prefix.record(data, before);
            repeated.seen = seen.0;
        }
        match key {
            b"choices" => {
                seen.first(1)?;
                if r.null()? {
                    continue;
                }
                let mut choices = r.array()?;
                while choices.next(&mut r)? {
                    if chunk.choice.is_none() {
                        let slot = chunk.choice.insert(FastChoice::default());
                        if read_choice(&mut r, slot)?.unwrap_or(0) != 0 {
                            chunk.choice = None;
                        }
                    } else {
                        // Another choice: only read (a second choice 0 is serde's to merge).
                        let mut other = FastChoice::default();
                        if read_choice(&mut r, &mut other)?.unwrap_or(0) == 0 {
                            return Err(Bail);
                        }
                    }
                }
            }
            b"usage" => {
                seen.first(2)?;
                if !r.null()? {
                    chunk.usage = Some(read_usage(&mut r)?);
                }
            }
            b"error" => {
                seen.first(4)?;
                if !r.null()? {
                    return Err(Bail);
                }
            }
            b"id" => {
                seen.first(8)?;
                chunk.id = read_metadata(&mut r, with_metadata)?;
            }
            b"model" => {
                seen.first(16)?;
                chunk.model = read_metadata(&mut r, with_metadata)?;
            }
            _ => r.skip()?,
        }
    }
    r.end()
}

/// `id` or `model`: any type, a string kept when asked for.
fn read_metadata<'a>(r: &mut JsonReader<'a>, keep: bool) -> Scan<Option<Cow<'a, str>>> {
    if keep {
        lenient_str(r)
    } else {
        r.skip().map(|()| None)
    }
}

/// A string, or any other value read as absent ([`LenientStr`](crate::wire::LenientStr)).
#[inline]
fn lenient_str<'a>(r: &mut JsonReader<'a>) -> Scan<Option<Cow<'a, str>>> {
    if r.peek()? == b'"' {
        r.string().map(Some)
    } else {
        r.skip().map(|()| None)
    }
}

#[inline]
fn json_str<'a>(r: &mut JsonReader<'a>) -> Scan<Option<JsonStr<'a>>> {
    Ok(r.string_or_null()?.map(JsonStr))
}

/// Reads one choice into `choice`; returns its index.
#[inline]
fn read_choice<'a>(r: &mut JsonReader<'a>, choice: &mut FastChoice<'a>) -> Scan<Option<u32>> {
    let mut index = None;
    let mut seen = Seen(0);
    let mut obj = r.object()?;
    while let Some(key) = obj.next_key(r)? {
        match key {
            b"index" => {
                seen.first(1)?;
                index = r.u32_or_null()?;
            }
            b"delta" => {
                seen.first(2)?;
                if !r.null()? {
                    let delta = choice.delta.insert(ChunkDelta::default());
                    read_delta(r, delta, &mut choice.content_span)?;
                }
            }
            b"finish_reason" => {
                seen.first(4)?;
                choice.finish_reason = lenient_str(r)?;
            }
            _ => r.skip()?,
        }
    }
    Ok(index)
}

#[inline]
fn read_delta<'a>(
    r: &mut JsonReader<'a>,
    delta: &mut ChunkDelta<'a>,
    content_span: &mut Option<(usize, usize)>,
) -> Scan<()> {
    let mut seen = Seen(0);
    let mut obj = r.object()?;
    while let Some(key) = obj.next_key(r)? {
        match key {
            b"content" => {
                seen.first(1)?;
                // Typed parts (Mistral) are the serde path's.
                let start = r.position();
                delta.content = json_str(r)?.map(DeltaContent::Text);
                *content_span = delta.content.is_some().then(|| (start, r.position()));
            }
            b"reasoning_content" => {
                seen.first(2)?;
                delta.reasoning_content = json_str(r)?;
            }
            b"reasoning" => {
                seen.first(4)?;
                delta.reasoning = json_str(r)?;
            }
            b"refusal" => {
                seen.first(8)?;
                delta.refusal = json_str(r)?;
            }
            b"tool_calls" => {
                seen.first(16)?;
                if r.null()? {
                    continue;
                }
                let fragments = delta.tool_calls.insert(Vec::new());
                let mut calls = r.array()?;
                while calls.next(r)? {
                    fragments.push(read_fragment(r)?);
                }
            }
            _ => r.skip()?,
        }
    }
    Ok(())
}

/// Reads an object member by member: `field` reads the value of a key it knows and returns
/// the key's bit (a key given twice is [`Bail`], as serde refuses it), or `None` for a key to
/// skip.
#[inline]
fn members<'a>(
    r: &mut JsonReader<'a>,
    mut field: impl FnMut(&[u8], &mut JsonReader<'a>) -> Scan<Option<u16>>,
) -> Scan<()> {
    let mut seen = Seen(0);
    let mut obj = r.object()?;
    while let Some(key) = obj.next_key(r)? {
        match field(key, r)? {
            Some(bit) => seen.first(bit)?,
            None => r.skip()?,
        }
    }
    Ok(())
}

/// An object that may be `null` (absent), read by `read`.
fn nullable<'a, T: Default>(
    r: &mut JsonReader<'a>,
    read: impl FnOnce(&mut JsonReader<'a>, &mut T) -> Scan<()>,
) -> Scan<Option<T>> {
    if r.null()? {
        return Ok(None);
    }
    let mut value = T::default();
    read(r, &mut value)?;
    Ok(Some(value))
}

fn read_fragment<'a>(r: &mut JsonReader<'a>) -> Scan<ToolCallDelta<'a>> {
    let mut fragment = ToolCallDelta {
        index: None,
        id: None,
        function: None,
    };
    members(r, |key, r| {
        Ok(Some(match key {
            b"index" => {
                fragment.index = r.u32_or_null()?;
                1
            }
            b"id" => {
                fragment.id = json_str(r)?;
                2
            }
            b"function" => {
                fragment.function = nullable(r, |r, function: &mut FunctionDelta<'a>| {
                    members(r, |key, r| {
                        Ok(Some(match key {
                            b"name" => {
                                function.name = json_str(r)?;
                                1
                            }
                            b"arguments" => {
                                function.arguments = json_str(r)?;
                                2
                            }
                            _ => return Ok(None),
                        }))
                    })
                })?;
                4
            }
            _ => return Ok(None),
        }))
    })?;
    Ok(fragment)
}

fn read_usage(r: &mut JsonReader<'_>) -> Scan<WireUsage> {
    let mut usage = WireUsage::default();
    members(r, |key, r| {
        let (bit, slot) = match key {
            b"prompt_tokens" => (1, &mut usage.prompt_tokens),
            b"completion_tokens" => (2, &mut usage.completion_tokens),
            b"prompt_cache_hit_tokens" => (4, &mut usage.prompt_cache_hit_tokens),
            b"prompt_cache_miss_tokens" => (8, &mut usage.prompt_cache_miss_tokens),
            b"cache_creation_input_tokens" => (16, &mut usage.cache_creation_input_tokens),
            b"prompt_tokens_details" => {
                usage.prompt_tokens_details =
                    nullable(r, |r, details: &mut PromptTokensDetails| {
                        members(r, |key, r| {
                            let (bit, slot) = match key {
                                b"cached_tokens" => (1, &mut details.cached_tokens),
                                b"cache_write_tokens" => (2, &mut details.cache_write_tokens),
                                _ => return Ok(None),
                            };
                            *slot = count(r)?;
                            Ok(Some(bit))
                        })
                    })?;
                return Ok(Some(32));
            }
            b"completion_tokens_details" => {
                usage.completion_tokens_details =
                    nullable(r, |r, details: &mut CompletionTokensDetails| {
                        members(r, |key, r| {
                            if key != b"reasoning_tokens" {
                                return Ok(None);
                            }
                            details.reasoning_tokens = count(r)?;
                            Ok(Some(1))
                        })
                    })?;
                return Ok(Some(64));
            }
            _ => return Ok(None),
        };
        *slot = count(r)?;
        Ok(Some(bit))
    })?;
    Ok(usage)
}

/// A token count as [`Count`] reads it: integers, floats (truncated, negative as 0), strings
/// of digits, booleans as 0; `null` is absent.
fn count(r: &mut JsonReader<'_>) -> Scan<Option<Count>> {
    match r.peek()? {
        b'n' => r.null().map(|_| None),
        b't' | b'f' => r.skip().map(|()| Some(Count(0))),
        b'"' => Ok(Some(Count(r.string()?.trim().parse().unwrap_or(0)))),
        b'{' | b'[' => Err(Bail),
        _ => {
            let text = r.number()?;
            if !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                if text.starts_with('-') {
                    return Ok(Some(Count(0)));
                }
                if let Ok(n) = text.parse::<u64>() {
                    return Ok(Some(Count(n)));
                }
            }
            let f: f64 = text.parse().map_err(|_| Bail)?;
            if !f.is_finite() {
                return Err(Bail);
            }
            Ok(Some(Count(if f > 0.0 { f as u64 } else { 0 })))
        }
    }
}
