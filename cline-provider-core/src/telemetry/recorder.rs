//! [`SpanRecorder`]: a `tracing` subscriber that keeps the GenAI spans' fields, for a program
//! that wants to read its own calls' numbers (the doctor's end-to-end check) and for tests.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use super::TARGET;

/// One field's value as the span recorded it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text (also what `Display` and `Debug` values become).
    Str(String),
    /// An unsigned number.
    U64(u64),
    /// A signed number.
    I64(i64),
    /// A floating-point number.
    F64(f64),
    /// A flag.
    Bool(bool),
}

/// A closed GenAI span with every field it recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedSpan {
    /// The `tracing` name ([`SPAN_NAME`](super::SPAN_NAME)).
    pub name: &'static str,
    /// Field name → value, for the fields that were recorded.
    pub fields: BTreeMap<String, FieldValue>,
}

impl RecordedSpan {
    /// A text field.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)? {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A number field, as `u64` (signed values that fit are converted).
    pub fn u64(&self, name: &str) -> Option<u64> {
        match self.fields.get(name)? {
            FieldValue::U64(v) => Some(*v),
            FieldValue::I64(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A number field, as `f64`.
    pub fn f64(&self, name: &str) -> Option<f64> {
        match self.fields.get(name)? {
            FieldValue::F64(v) => Some(*v),
            FieldValue::U64(v) => Some(*v as f64),
            FieldValue::I64(v) => Some(*v as f64),
            _ => None,
        }
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: HashMap<u64, (usize, RecordedSpan)>,
    closed: Vec<RecordedSpan>,
}

/// A subscriber that records the GenAI spans ([`TARGET`]) and ignores everything else. Run a
/// future under it with [`tracing::instrument::WithSubscriber::with_subscriber`]; read the
/// closed spans with [`spans`](SpanRecorder::spans). Clones share what was recorded.
///
/// ```
/// use cline_provider_core::telemetry::SpanRecorder;
/// use tracing::instrument::WithSubscriber;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let recorder = SpanRecorder::new();
/// async {
///     let span = tracing::info_span!(target: "cline_provider::gen_ai", "gen_ai.chat", gen_ai.request.model = "m");
///     drop(span);
/// }
/// .with_subscriber(recorder.clone())
/// .await;
/// assert_eq!(recorder.spans()[0].str("gen_ai.request.model"), Some("m"));
/// # });
/// ```
#[derive(Clone, Default)]
pub struct SpanRecorder {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SpanRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanRecorder")
            .field("closed", &self.lock().closed.len())
            .finish_non_exhaustive()
    }
}

impl SpanRecorder {
    /// A recorder with nothing recorded yet.
    pub fn new() -> Self {
        SpanRecorder::default()
    }

    /// The GenAI spans closed so far, oldest first.
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.lock().closed.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, FieldValue>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), FieldValue::Str(value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0
            .insert(field.name().to_owned(), FieldValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0
            .insert(field.name().to_owned(), FieldValue::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0
            .insert(field.name().to_owned(), FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0
            .insert(field.name().to_owned(), FieldValue::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            FieldValue::Str(format!("{value:?}")),
        );
    }
}

fn is_gen_ai_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target() == TARGET
}

impl Subscriber for SpanRecorder {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if is_gen_ai_span(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        is_gen_ai_span(meta)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut span = RecordedSpan {
            name: attrs.metadata().name(),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut span.fields));
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.open.insert(id, (1, span));
        Id::from_u64(id)
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        if let Some((_, span)) = self.lock().open.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    fn clone_span(&self, id: &Id) -> Id {
        if let Some((refs, _)) = self.lock().open.get_mut(&id.into_u64()) {
            *refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let mut state = self.lock();
        let key = id.into_u64();
        let Some((refs, _)) = state.open.get_mut(&key) else {
            return false;
        };
        *refs -= 1;
        if *refs > 0 {
            return false;
        }
        if let Some((_, span)) = state.open.remove(&key) {
            state.closed.push(span);
        }
        true
    }
}
