//! Reading JSON by hand, so that every error names the exact JSON path at fault
//! (`providerSettings.OpenAiCompatible.models[2].maxTokens`), which serde's derive cannot do.

use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};

/// `base.key`, or `key` at the root.
pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong_type(path: &str, expected: &str, got: &Value) -> Error {
    let path = if path.is_empty() { "$" } else { path };
    Error::invalid_config(
        path,
        format!("expected {expected}, found {}", type_name(got)),
    )
}

/// Parses a document; a syntax error names the root (`$`) and the line and column.
pub(crate) fn parse_document(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        // Only the position: serde's message can quote a fragment of the document.
        Error::invalid_config(
            "$",
            format!(
                "{what} is not valid JSON ({} at line {}, column {})",
                syntax_kind(&e),
                e.line(),
                e.column()
            ),
        )
    })
}

fn syntax_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

pub(crate) fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| wrong_type(path, "an object", v))
}

/// A present, non-null member of `obj`. `null` counts as absent, as many serializers write it
/// for unset optional fields.
pub(crate) fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<&'a str>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(wrong_type(&join(base, key), "a string", v)),
    }
}

pub(crate) fn opt_bool(obj: &Map<String, Value>, key: &str, base: &str) -> Result<Option<bool>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(wrong_type(&join(base, key), "true or false", v)),
    }
}

pub(crate) fn opt_f64(obj: &Map<String, Value>, key: &str, base: &str) -> Result<Option<f64>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(Error::invalid_config(
                join(base, key),
                "the number is out of range",
            )),
        },
        Some(v) => Err(wrong_type(&join(base, key), "a number", v)),
    }
}

/// A token count: a whole number. Zero or less means "not set" when `allow_unset` (the
/// original stores `-1` for "no limit"), and is an error otherwise.
pub(crate) fn opt_tokens(
    obj: &Map<String, Value>,
    key: &str,
    base: &str,
    allow_unset: bool,
) -> Result<Option<u32>> {
    let Some(f) = opt_f64(obj, key, base)? else {
        return Ok(None);
    };
    let path = join(base, key);
    if f.fract() != 0.0 {
        return Err(Error::invalid_config(
            path,
            "expected a whole number of tokens",
        ));
    }
    if f <= 0.0 {
        return if allow_unset {
            Ok(None)
        } else {
            Err(Error::invalid_config(
                path,
                "expected a positive number of tokens",
            ))
        };
    }
    if f > f64::from(u32::MAX) {
        return Err(Error::invalid_config(
            path,
            "the number of tokens is too large",
        ));
    }
    Ok(Some(f as u32))
}

/// A non-negative number such as a price or a temperature.
pub(crate) fn opt_non_negative(
    obj: &Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<f64>> {
    match opt_f64(obj, key, base)? {
        Some(f) if f < 0.0 => Err(Error::invalid_config(
            join(base, key),
            "must not be negative",
        )),
        other => Ok(other),
    }
}

/// An endpoint base URL: absolute http(s), with a host, without credentials in it.
pub(crate) fn base_url(text: &str, path: &str) -> Result<Url> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_config(path, "the URL is empty"));
    }
    let url = Url::parse(trimmed).map_err(|e| {
        Error::invalid_config(
            path,
            format!("not a valid URL ({e}); expected e.g. https://host/v1"),
        )
    })?;
    crate::http::check_endpoint_url(&url, path)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            path,
            "the base URL must not have a query (?…) or fragment (#…)",
        ));
    }
    Ok(url)
}

/// An Azure API version such as `2024-08-01-preview`.
pub(crate) fn api_version(text: &str, path: &str) -> Result<String> {
    let v = text.trim();
    if v.is_empty() {
        return Err(Error::invalid_config(path, "the API version is empty"));
    }
    if v.len() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(Error::invalid_config(
            path,
            "an API version contains only letters, digits, '-', '.' and '_' (e.g. 2024-08-01-preview)",
        ));
    }
    Ok(v.to_owned())
}

/// A model id: non-empty, no control characters.
pub(crate) fn model_id(text: &str, path: &str) -> Result<String> {
    let id = text.trim();
    if id.is_empty() {
        return Err(Error::invalid_config(path, "the model id is empty"));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid_config(
            path,
            "the model id contains control characters",
        ));
    }
    Ok(id.to_owned())
}

/// Checks one header and re-labels any error with `path`, the JSON path of the header.
pub(crate) fn header(name: &str, value: &str, path: &str) -> Result<()> {
    crate::http::validate_header(name, value).map_err(|e| relabel(&e, path))
}

/// The reason of an `invalid_config` error, without its "invalid `field`: " prefix.
pub(crate) fn reason(e: &Error) -> &str {
    e.message()
        .split_once("`: ")
        .map_or(e.message(), |(_, tail)| tail)
}

/// The same `invalid_config` error, naming `path` instead of its own field.
pub(crate) fn relabel(e: &Error, path: &str) -> Error {
    Error::invalid_config(path, reason(e))
}
