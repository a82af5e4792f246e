//! Stream fixtures on disk, as every backend's decoder tests keep them: `<dir>/<name>.sse`, the
//! raw body a server sent, beside `<name>.events.json`, the events a decoder must make of it.
//! A last entry `{"error": "<ErrorKind>", "message_contains": "…"}` says the stream must end
//! with that error instead.
//!
//! ```no_run
//! use cline_provider_testkit::fixtures;
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
//! let pair = fixtures::load(&dir, "text");
//! assert!(!pair.body.is_empty());
//! ```

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// One fixture: the body and what it must decode to.
#[derive(Debug, Clone)]
pub struct FixturePair {
    /// The fixture's name (its file stem).
    pub name: String,
    /// The `.sse` file, byte for byte.
    pub body: Vec<u8>,
    /// The expected events as JSON (each a `StreamEvent` in its serde form).
    pub events: Vec<Value>,
    /// The error the stream must end with, if any.
    pub error: Option<ExpectedError>,
}

/// The error a fixture's stream must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedError {
    /// The `ErrorKind` as `Debug` prints it (`Truncated`, `ContextWindowExceeded`, …).
    pub kind: String,
    /// Text the error's message must contain.
    pub message_contains: String,
}

impl FixturePair {
    /// The expected events as the caller's event type (the SDK's `StreamEvent`).
    ///
    /// # Panics
    ///
    /// When an entry is not such an event.
    pub fn expected<T: DeserializeOwned>(&self) -> Vec<T> {
        self.events
            .iter()
            .map(|v| {
                serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                    panic!("fixture {}: {v} is not a stream event: {e}", self.name)
                })
            })
            .collect()
    }

    /// Checks how a stream of this fixture ended: `end` is the error it ended with, as its
    /// kind's `Debug` text and its message, or `None` for a clean end. `how` names the run in
    /// the failure message.
    ///
    /// # Panics
    ///
    /// When the end is not the expected one.
    pub fn check_end(&self, how: &str, end: Option<(String, &str)>) {
        let name = &self.name;
        match (&self.error, end) {
            (None, None) => {}
            (Some(want), Some((kind, message))) => assert!(
                want.matches(&kind, message),
                "{name} ({how}): expected {want:?}, got {kind}: {message}"
            ),
            (want, got) => panic!("{name} ({how}): expected error {want:?}, got {got:?}"),
        }
    }
}

impl ExpectedError {
    /// Whether an error of `kind` (its `Debug` text) with `message` is this one.
    pub fn matches(&self, kind: &str, message: &str) -> bool {
        kind == self.kind && message.contains(&self.message_contains)
    }
}

/// Reads the pair `name` from `dir`.
///
/// # Panics
///
/// When either file is missing or the events file is not a JSON array: a fixture test must
/// never pass without its fixture.
pub fn load(dir: &Path, name: &str) -> FixturePair {
    let read = |ext: &str| {
        let path = dir.join(format!("{name}.{ext}"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    };
    let body = read("sse");
    let entries: Vec<Value> = serde_json::from_slice(&read("events.json"))
        .unwrap_or_else(|e| panic!("fixture {name}.events.json is not a JSON array: {e}"));
    let mut events = Vec::with_capacity(entries.len());
    let mut error = None;
    for entry in entries {
        match entry.get("error").and_then(Value::as_str) {
            Some(kind) => {
                error = Some(ExpectedError {
                    kind: kind.to_owned(),
                    message_contains: entry["message_contains"].as_str().unwrap_or("").to_owned(),
                })
            }
            None => events.push(entry),
        }
    }
    FixturePair {
        name: name.to_owned(),
        body,
        events,
        error,
    }
}
