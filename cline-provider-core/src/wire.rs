//! JSON building blocks the backends' wire formats share: strings that borrow from the event
//! text ([`JsonStr`]), token counts that survive what servers send ([`Count`]), and the quote
//! of a payload that did not decode ([`quote`]); and the one error for a request body that
//! cannot be written as JSON ([`body_encoding_error`]).
//!
//! Decoders parse each event once into borrowing structs built from these, so a typical text
//! delta is copied only when it becomes a [`StreamEvent`](crate::StreamEvent).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A JSON string that borrows from the input when it holds no escape sequence.
///
/// serde's own `Cow<str>` always allocates, and `&str` fails on escapes; this is the middle
/// way the hot path needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonStr<'a>(pub Cow<'a, str>);

impl<'a> JsonStr<'a> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The text as an owned `String`, moving it when it was already owned.
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A token count that tolerates floats, strings of digits and negative numbers (read as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token count")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).unwrap_or(0)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                Ok(Count(if v.is_finite() && v > 0.0 {
                    v as u64
                } else {
                    0
                }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                Ok(Count(v.trim().parse().unwrap_or(0)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
                Ok(Count(0))
            }
        }
        d.deserialize_any(V)
    }
}

/// How much of an undecodable payload an error quotes.
pub const QUOTE_CHARS: usize = 120;

/// The start of `data` for an error message about it: up to [`QUOTE_CHARS`] characters, with
/// `…` when it goes on.
///
/// ```
/// use cline_provider_core::wire::quote;
/// assert_eq!(quote("{not json"), "{not json");
/// assert_eq!(quote(&"x".repeat(200)).chars().count(), 121);
/// ```
pub fn quote(data: &str) -> String {
    let mut chars = data.chars();
    let mut q: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        q.push('…');
    }
    q
}

/// The error for a request body serde cannot write as JSON (a map with non-string keys in a
/// tool schema or an `extra_body` value, say), in the words every backend reports.
///
/// ```
/// use cline_provider_core::{wire::body_encoding_error, ErrorKind};
/// let serde_error = serde_json::from_str::<u8>("x").unwrap_err();
/// let err = body_encoding_error(serde_error);
/// assert_eq!(*err.kind(), ErrorKind::InvalidConfig);
/// assert!(err.to_string().contains("could not be encoded as JSON"));
/// ```
pub fn body_encoding_error(e: serde_json::Error) -> crate::Error {
    crate::Error::invalid_config(
        "request",
        format!("the request could not be encoded as JSON: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        delta: JsonStr<'a>,
        tokens: Count,
    }

    #[test]
    fn strings_borrow_unless_escaped_and_counts_are_lenient() {
        let e: Event<'_> = serde_json::from_str(r#"{"delta":"plain","tokens":12.0}"#).unwrap();
        assert!(matches!(e.delta.0, Cow::Borrowed("plain")));
        assert_eq!(e.tokens, Count(12));
        let e: Event<'_> = serde_json::from_str(r#"{"delta":"a\nb","tokens":-3}"#).unwrap();
        assert_eq!(e.delta.as_str(), "a\nb");
        assert!(matches!(e.delta.0, Cow::Owned(_)));
        assert_eq!(e.tokens, Count(0));
        for (raw, want) in [(r#""7""#, 7), ("null", 0), ("true", 0), ("3.9", 3)] {
            let c: Count = serde_json::from_str(raw).unwrap();
            assert_eq!(c, Count(want), "{raw}");
        }
    }
}
