//! Server-sent-event frames as the fake server writes them on the wire.

/// One server-sent event (or comment, or arbitrary bytes), kept in its wire form.
///
/// Frames are rendered once, when built, so a test can compare [`SseFrame::to_wire`]
/// with what a client received byte for byte.
///
/// ```
/// use cline_provider_testkit::SseFrame;
///
/// assert_eq!(SseFrame::data("hi").to_wire(), "data: hi\n\n");
/// assert_eq!(SseFrame::data("a\nb").to_wire(), "data: a\ndata: b\n\n");
/// assert_eq!(SseFrame::event("ping", "{}").to_wire(), "event: ping\ndata: {}\n\n");
/// assert_eq!(SseFrame::comment("keep-alive").to_wire(), ": keep-alive\n\n");
/// assert_eq!(SseFrame::done().to_wire(), "data: [DONE]\n\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    wire: String,
}

impl SseFrame {
    /// A `data:` event. A multi-line `s` becomes one `data:` line per line, which an SSE
    /// parser joins back with `\n`.
    pub fn data(s: impl Into<String>) -> SseFrame {
        let s = s.into();
        let mut wire = String::with_capacity(s.len() + 8);
        push_field(&mut wire, "data", &s);
        wire.push('\n');
        SseFrame { wire }
    }

    /// A `data:` event holding `v` as compact JSON (always a single line).
    ///
    /// ```
    /// use cline_provider_testkit::SseFrame;
    /// let frame = SseFrame::json(&serde_json::json!({"a": 1}));
    /// assert_eq!(frame.to_wire(), "data: {\"a\":1}\n\n");
    /// ```
    pub fn json(v: &serde_json::Value) -> SseFrame {
        SseFrame::data(v.to_string())
    }

    /// A named event: `event: name` followed by the `data:` lines.
    pub fn event(name: &str, data: impl Into<String>) -> SseFrame {
        let data = data.into();
        let mut wire = String::with_capacity(name.len() + data.len() + 16);
        push_field(&mut wire, "event", name);
        push_field(&mut wire, "data", &data);
        wire.push('\n');
        SseFrame { wire }
    }

    /// A named event whose data is `v` as compact JSON, the shape of the Responses API
    /// (`event: response.output_text.delta` + `data: {...}`).
    pub fn event_json(name: &str, v: &serde_json::Value) -> SseFrame {
        SseFrame::event(name, v.to_string())
    }

    /// A comment (`: s`), which SSE parsers skip; servers use them as keep-alives.
    pub fn comment(s: &str) -> SseFrame {
        let mut wire = String::with_capacity(s.len() + 4);
        for line in split_lines(s) {
            wire.push(':');
            if !line.is_empty() {
                wire.push(' ');
                wire.push_str(line);
            }
            wire.push('\n');
        }
        wire.push('\n');
        SseFrame { wire }
    }

    /// Exactly these bytes, with nothing added: for CRLF line endings, events split
    /// across frames, a missing blank line, or any other wire-level oddity.
    ///
    /// ```
    /// use cline_provider_testkit::SseFrame;
    /// assert_eq!(SseFrame::raw("data: x\r\n\r\n").to_wire(), "data: x\r\n\r\n");
    /// ```
    pub fn raw(s: impl Into<String>) -> SseFrame {
        SseFrame { wire: s.into() }
    }

    /// The OpenAI end-of-stream marker `data: [DONE]`.
    pub fn done() -> SseFrame {
        SseFrame::data("[DONE]")
    }

    /// The frame's bytes as the server writes them.
    pub fn to_wire(&self) -> String {
        self.wire.clone()
    }

    /// The frame's bytes without copying them.
    pub fn as_wire(&self) -> &str {
        &self.wire
    }
}

/// The whole SSE body the server would send for `frames` (without fault injection).
///
/// ```
/// use cline_provider_testkit::{render_sse, SseFrame};
/// let body = render_sse(&[SseFrame::data("1"), SseFrame::done()]);
/// assert_eq!(body, "data: 1\n\ndata: [DONE]\n\n");
/// ```
pub fn render_sse(frames: &[SseFrame]) -> String {
    let len = frames.iter().map(|f| f.wire.len()).sum();
    let mut body = String::with_capacity(len);
    for frame in frames {
        body.push_str(&frame.wire);
    }
    body
}

/// Splits on `\n`, dropping one trailing `\r` per line, so `"a\r\nb"` gives two lines
/// and `""` gives one empty line (an event with empty data still has a `data:` line).
fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    s.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

fn push_field(wire: &mut String, field: &str, value: &str) {
    for line in split_lines(value) {
        wire.push_str(field);
        wire.push_str(": ");
        wire.push_str(line);
        wire.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_data_still_has_a_data_line() {
        assert_eq!(SseFrame::data("").to_wire(), "data: \n\n");
    }

    #[test]
    fn crlf_inside_data_becomes_separate_lines() {
        assert_eq!(SseFrame::data("a\r\nb").to_wire(), "data: a\ndata: b\n\n");
    }

    #[test]
    fn trailing_newline_keeps_an_empty_last_line() {
        assert_eq!(SseFrame::data("a\n").to_wire(), "data: a\ndata: \n\n");
    }

    #[test]
    fn multi_line_event_data() {
        assert_eq!(
            SseFrame::event("e", "1\n2").to_wire(),
            "event: e\ndata: 1\ndata: 2\n\n"
        );
    }

    #[test]
    fn empty_comment_is_a_bare_colon() {
        assert_eq!(SseFrame::comment("").to_wire(), ":\n\n");
    }

    #[test]
    fn event_json_is_compact() {
        let frame = SseFrame::event_json("response.completed", &serde_json::json!({"a": [1, 2]}));
        assert_eq!(
            frame.as_wire(),
            "event: response.completed\ndata: {\"a\":[1,2]}\n\n"
        );
    }

    #[test]
    fn render_concatenates_in_order() {
        let frames = [SseFrame::comment("c"), SseFrame::raw("x"), SseFrame::done()];
        assert_eq!(render_sse(&frames), ": c\n\nxdata: [DONE]\n\n");
        assert_eq!(render_sse(&[]), "");
    }
}
