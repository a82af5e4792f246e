//! The published API descriptions request bodies are checked against (OpenAI's OpenAPI
//! document, Microsoft's Azure OpenAI description), read the same way by every schema test.
//!
//! They live beside the project, in `../shared/specs/`, never in it. A test names the file
//! and the environment variable that may point elsewhere. A missing file is a failure when
//! the variable names it or under CI (`CI` set, as `.ci/run` runs), so CI never passes
//! without validating; on a developer's machine without the folder the test says on stderr
//! that it did not validate.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};

/// The spec `file` from `../shared/specs/`, or from the path in the variable `env_var`.
///
/// # Panics
///
/// When the file is missing while required (see the module docs), or is not JSON.
pub fn load(env_var: &str, file: &str) -> Option<Value> {
    let named = std::env::var_os(env_var).filter(|p| !p.is_empty());
    let path = match &named {
        Some(p) => PathBuf::from(p),
        None => crate::shared::dir().join("specs").join(file),
    };
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("the spec is valid JSON")),
        Err(e) => {
            let required = named.is_some() || crate::shared::under_ci();
            assert!(
                !required,
                "{} is required here but cannot be read: {e}",
                path.display()
            );
            eprintln!(
                "note: {} not found ({e}); request bodies were NOT validated. Set {env_var} to \
                 validate them.",
                path.display()
            );
            None
        }
    }
}

/// A JSON Schema whose root is component `name`, with every component reachable through the
/// spec's own `#/components/schemas/...` references.
pub fn component_schema(spec: &Value, name: &str) -> Value {
    json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": {"schemas": spec["components"]["schemas"].clone()},
    })
}

/// Every top-level property component `name` declares, through its `allOf` layers.
pub fn declared_properties(spec: &Value, name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(spec, name, &mut out);
    out
}

fn collect(spec: &Value, name: &str, out: &mut BTreeSet<String>) {
    let schema = &spec["components"]["schemas"][name];
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(inner) = part
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            collect(spec, inner, out);
        }
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_through_all_of() {
        let spec = json!({"components": {"schemas": {
            "A": {"allOf": [{"$ref": "#/components/schemas/B"}, {"properties": {"a": {}}}]},
            "B": {"properties": {"b": {}}}
        }}});
        let got: Vec<String> = declared_properties(&spec, "A").into_iter().collect();
        assert_eq!(got, ["a", "b"]);
    }
}
