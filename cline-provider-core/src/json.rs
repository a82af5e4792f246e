//! A forward-only JSON reader for stream decoders on the hot path.
//!
//! A chat-completions chunk is about 250 bytes of which a decoder needs a dozen: the text of
//! `choices[0].delta.content`. serde_json walks every other field through its generic
//! visitor, which is most of the cost of a streamed event. [`JsonReader`] reads tokens in
//! place instead: keys as raw bytes, strings borrowed from the input when they hold no escape
//! (unescaped into a `String` when they do), and values nobody asked for skipped while still
//! being checked against the JSON grammar (RFC 8259; strings may not hold raw control
//! characters, numbers follow the strict grammar, nesting is capped at 128 levels as in
//! serde_json). It allocates only to unescape a string.
//!
//! **It gives up rather than guess.** Any error, and any shape its caller does not handle, is
//! [`Bail`]: the caller then decodes the same text with its serde types, which produce the
//! real error message (or handle the rare shape). A fast path built on it therefore either
//! agrees with the serde path or defers to it; decoders test exactly that.
//!
//! ```
//! use cline_provider_core::json::JsonReader;
//!
//! let mut r = JsonReader::new(r#"{"id":"c1","choices":[{"delta":{"content":"Hi\n"}}]}"#);
//! let mut text = None;
//! let mut top = r.object().unwrap();
//! while let Some(key) = top.next_key(&mut r).unwrap() {
//!     if key != b"choices" {
//!         r.skip().unwrap();
//!         continue;
//!     }
//!     let mut choices = r.array().unwrap();
//!     while choices.next(&mut r).unwrap() {
//!         let mut choice = r.object().unwrap();
//!         while let Some(key) = choice.next_key(&mut r).unwrap() {
//!             if key != b"delta" {
//!                 r.skip().unwrap();
//!                 continue;
//!             }
//!             let mut delta = r.object().unwrap();
//!             while let Some(key) = delta.next_key(&mut r).unwrap() {
//!                 match key {
//!                     b"content" => text = r.string_or_null().unwrap(),
//!                     _ => r.skip().unwrap(),
//!                 }
//!             }
//!         }
//!     }
//! }
//! r.end().unwrap();
//! assert_eq!(text.as_deref(), Some("Hi\n"));
//! ```

use std::borrow::Cow;

/// The reader stopped: the input is not valid JSON, or not of the shape the caller reads.
/// Fall back to a full parse, which tells which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// What the reader's methods return.
pub type Scan<T> = std::result::Result<T, Bail>;

/// serde_json's default recursion limit; deeper input is left to it.
const MAX_DEPTH: u32 = 128;

/// Strings up to this long are searched a word at a time; longer ones switch to `memchr`.
const SHORT_STRING: usize = 64;

/// A cursor over one JSON text. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct JsonReader<'a> {
    src: &'a str,
    pos: usize,
    depth: u32,
}

/// An object being read: call [`next_key`](Object::next_key) until it returns `None`, and
/// read or [`skip`](JsonReader::skip) each key's value in between.
#[derive(Debug)]
#[must_use]
pub struct Object {
    first: bool,
}

/// Where a reader stands inside an object, between two members: see [`Prefix`].
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    pos: usize,
    depth: u32,
    first: bool,
}

/// The start of a text already read, for later texts that begin with the same bytes.
///
/// Every chunk of a stream repeats the same `id`, `object`, `created`, `model` and
/// `system_fingerprint` before the part that changes. [`record`](Prefix::record) keeps the
/// bytes read up to a [`Checkpoint`] in the top-level object; [`resume`](Prefix::resume)
/// starts a reader there on a text that begins with the same bytes, since reading them again
/// would give the same result. Checking the bytes is one comparison instead of a parse.
///
/// ```
/// use cline_provider_core::json::{JsonReader, Prefix};
///
/// let first = r#"{"id":"c1","model":"m","n":1}"#;
/// let mut r = JsonReader::new(first);
/// let mut obj = r.object().unwrap();
/// let mut prefix = Prefix::default();
/// loop {
///     let before = r.checkpoint(&obj);
///     let Some(key) = obj.next_key(&mut r).unwrap() else { break };
///     if key == b"n" {
///         prefix.record(first, before);
///     }
///     r.skip().unwrap();
/// }
/// let (mut r, mut obj) = prefix.resume(r#"{"id":"c1","model":"m","n":2}"#).unwrap();
/// assert_eq!(obj.next_key(&mut r).unwrap(), Some(&b"n"[..]));
/// assert_eq!(r.number().unwrap(), "2");
/// assert!(prefix.resume(r#"{"id":"c2","model":"m","n":2}"#).is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Prefix {
    bytes: Vec<u8>,
    /// Whether no member preceded the checkpoint.
    first: bool,
}

impl Prefix {
    /// Keeps the bytes of `src` up to `at`, a checkpoint taken in `src`'s top-level object
    /// (one taken deeper records nothing). Reuses its buffer.
    pub fn record(&mut self, src: &str, at: Checkpoint) {
        self.bytes.clear();
        if at.depth == 1 {
            if let Some(read) = src.as_bytes().get(..at.pos) {
                self.bytes.extend_from_slice(read);
                self.first = at.first;
            }
        }
    }

    /// A reader on `src` past the recorded bytes, and the top-level object it stands in;
    /// `None` when nothing is recorded or `src` starts differently.
    #[inline]
    pub fn resume<'a>(&self, src: &'a str) -> Option<(JsonReader<'a>, Object)> {
        if self.bytes.is_empty() || !src.as_bytes().starts_with(&self.bytes) {
            return None;
        }
        let reader = JsonReader {
            src,
            pos: self.bytes.len(),
            depth: 1,
        };
        Some((reader, Object { first: self.first }))
    }

    /// Forgets the recorded bytes.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }
}

/// An array being read: call [`next`](Array::next) until it returns `false`, and read or
/// skip each element in between.
#[derive(Debug)]
#[must_use]
pub struct Array {
    first: bool,
}

impl Object {
    /// The next key (its raw bytes; a key with an escape sequence is [`Bail`]), with the
    /// reader placed on its value; `None` after the closing brace.
    ///
    /// # Errors
    ///
    /// [`Bail`] on a missing comma or colon, a trailing comma, or an escaped key.
    #[inline(always)]
    pub fn next_key<'a>(&mut self, r: &mut JsonReader<'a>) -> Scan<Option<&'a [u8]>> {
        let mut c = r.peek()?;
        if c == b'}' {
            r.pos += 1;
            r.depth -= 1;
            return Ok(None);
        }
        if !self.first {
            if c != b',' {
                return Err(Bail);
            }
            r.pos += 1;
            c = r.peek()?;
        }
        self.first = false;
        if c != b'"' {
            return Err(Bail);
        }
        let (start, end, escaped) = r.string_span()?;
        if escaped || r.peek()? != b':' {
            return Err(Bail);
        }
        r.pos += 1;
        Ok(Some(&r.src.as_bytes()[start..end]))
    }
}

impl Array {
    /// Whether another element follows (the reader is then placed on it); `false` after the
    /// closing bracket.
    ///
    /// # Errors
    ///
    /// [`Bail`] on a missing comma or a trailing comma.
    #[inline]
    pub fn next(&mut self, r: &mut JsonReader<'_>) -> Scan<bool> {
        let c = r.peek()?;
        if c == b']' {
            r.pos += 1;
            r.depth -= 1;
            return Ok(false);
        }
        if !self.first {
            if c != b',' {
                return Err(Bail);
            }
            r.pos += 1;
            if r.peek()? == b']' {
                return Err(Bail);
            }
        }
        self.first = false;
        Ok(true)
    }
}

impl<'a> JsonReader<'a> {
    /// A reader at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        JsonReader {
            src,
            pos: 0,
            depth: 0,
        }
    }

    /// Where the reader stands in `obj`, the object it is reading (call it between members:
    /// before [`Object::next_key`]).
    #[inline]
    pub fn checkpoint(&self, obj: &Object) -> Checkpoint {
        Checkpoint {
            pos: self.pos,
            depth: self.depth,
            first: obj.first,
        }
    }

    /// The byte offset of the cursor in the text.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The whole text being read.
    pub fn source(&self) -> &'a str {
        self.src
    }

    /// The next byte that is not whitespace, without consuming it.
    ///
    /// # Errors
    ///
    /// [`Bail`] at the end of the input.
    #[inline(always)]
    pub fn peek(&mut self) -> Scan<u8> {
        let bytes = self.src.as_bytes();
        match bytes.get(self.pos) {
            Some(&c) if c > b' ' => return Ok(c),
            None => return Err(Bail),
            _ => {}
        }
        while let Some(&c) = bytes.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(c);
            }
            self.pos += 1;
        }
        Err(Bail)
    }

    /// Checks that only whitespace is left.
    ///
    /// # Errors
    ///
    /// [`Bail`] when anything else follows.
    pub fn end(&mut self) -> Scan<()> {
        match self.peek() {
            Err(Bail) => Ok(()),
            Ok(_) => Err(Bail),
        }
    }

    /// Enters an object.
    ///
    /// # Errors
    ///
    /// [`Bail`] when the value is not an object, or nesting goes past 128 levels.
    #[inline]
    pub fn object(&mut self) -> Scan<Object> {
        self.open(b'{')?;
        Ok(Object { first: true })
    }

    /// Enters an array.
    ///
    /// # Errors
    ///
    /// [`Bail`] when the value is not an array, or nesting goes past 128 levels.
    #[inline]
    pub fn array(&mut self) -> Scan<Array> {
        self.open(b'[')?;
        Ok(Array { first: true })
    }

    /// Whether the value here is `null` (consumed if so).
    ///
    /// # Errors
    ///
    /// [`Bail`] at the end of the input, or on a misspelt `null`.
    #[inline]
    pub fn null(&mut self) -> Scan<bool> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    /// A string value, borrowed when it holds no escape sequence.
    ///
    /// # Errors
    ///
    /// [`Bail`] when the value is not a string, or the string is not valid JSON (a raw control
    /// character, a bad escape, a lone surrogate).
    #[inline]
    pub fn string(&mut self) -> Scan<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return Err(Bail);
        }
        let (raw, escaped) = self.raw_string()?;
        if escaped {
            unescape(raw).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(raw))
        }
    }

    /// `null` as `None`, a string as `Some`.
    ///
    /// # Errors
    ///
    /// As [`string`](Self::string), for any other value too.
    #[inline]
    pub fn string_or_null(&mut self) -> Scan<Option<Cow<'a, str>>> {
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// `null` as `None`, a non-negative integer that fits in `u32` as `Some` (what serde reads
    /// into an `Option<u32>`).
    ///
    /// # Errors
    ///
    /// [`Bail`] for anything else (negative, fractional, too large, not a number).
    #[inline]
    pub fn u32_or_null(&mut self) -> Scan<Option<u32>> {
        if self.null()? {
            return Ok(None);
        }
        let n = self.number()?;
        // One digit, the common case, needs no parse.
        if let [d @ b'0'..=b'9'] = n.as_bytes() {
            return Ok(Some(u32::from(d - b'0')));
        }
        if n.bytes().any(|b| !b.is_ascii_digit()) {
            return Err(Bail);
        }
        n.parse().map(Some).map_err(|_| Bail)
    }

    /// The text of a number, checked against the JSON grammar.
    ///
    /// # Errors
    ///
    /// [`Bail`] when the value is not a number, or beyond the range of `f64` (serde_json
    /// refuses `1e400` even where it ignores the value).
    #[inline]
    pub fn number(&mut self) -> Scan<&'a str> {
        self.peek()?;
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(bytes, i + 1),
            _ => return Err(Bail),
        }
        let mut plain = true;
        if bytes.get(i) == Some(&b'.') {
            plain = false;
            let end = digits(bytes, i + 1);
            if end == i + 1 {
                return Err(Bail);
            }
            i = end;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            plain = false;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(bytes, i);
            if end == i {
                return Err(Bail);
            }
            i = end;
        }
        // A digit right after a leading zero (`01`) is not a number.
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(Bail);
        }
        let text = self.src.get(start..i).ok_or(Bail)?;
        if (!plain || i - start > 18) && !text.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(Bail);
        }
        self.pos = i;
        Ok(text)
    }

    /// Skips one value of any type, checking it on the way.
    ///
    /// # Errors
    ///
    /// [`Bail`] when the value is not valid JSON.
    #[inline]
    pub fn skip(&mut self) -> Scan<()> {
        match self.peek()? {
            b'"' => match self.string_span()? {
                // Escapes are checked in full (lone surrogates), as serde does.
                (start, end, true) => unescape(self.src.get(start..end).ok_or(Bail)?).map(drop),
                _ => Ok(()),
            },
            b'{' | b'[' => self.skip_container(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    #[inline(never)]
    fn skip_container(&mut self) -> Scan<()> {
        if self.peek()? == b'{' {
            let mut obj = self.object()?;
            while obj.next_key(self)?.is_some() {
                self.skip()?;
            }
        } else {
            let mut arr = self.array()?;
            while arr.next(self)? {
                self.skip()?;
            }
        }
        Ok(())
    }

    #[inline]
    fn open(&mut self, bracket: u8) -> Scan<()> {
        if self.peek()? != bracket || self.depth >= MAX_DEPTH {
            return Err(Bail);
        }
        self.pos += 1;
        self.depth += 1;
        Ok(())
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if !self.src.as_bytes()[self.pos..].starts_with(word) {
            return Err(Bail);
        }
        self.pos += word.len();
        Ok(())
    }

    /// The string starting at the cursor (on its opening quote): its raw text between the
    /// quotes, and whether it holds escapes (each checked for form here).
    #[inline(always)]
    fn raw_string(&mut self) -> Scan<(&'a str, bool)> {
        let (start, end, escaped) = self.string_span()?;
        Ok((self.src.get(start..end).ok_or(Bail)?, escaped))
    }

    /// [`raw_string`](Self::raw_string) as byte offsets (keys need no `str`).
    ///
    /// The common case, a short string without escapes, is a few word-at-a-time steps inlined
    /// into the caller; the rest is [`raw_string_slow`](Self::raw_string_slow).
    #[inline(always)]
    fn string_span(&mut self) -> Scan<(usize, usize, bool)> {
        let bytes = self.src.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        while let Some(word) = bytes.get(i..i + 8) {
            let found = special_bytes(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
            if found != 0 {
                let at = i + (found.trailing_zeros() / 8) as usize;
                if bytes.get(at) == Some(&b'"') {
                    self.pos = at + 1;
                    return Ok((start, at, false));
                }
                return self.raw_string_slow(start, at);
            }
            i += 8;
            if i - start >= SHORT_STRING {
                break;
            }
        }
        self.raw_string_slow(start, i)
    }

    /// [`string_span`](Self::string_span) from `i` on: escapes, long strings, the end of
    /// input.
    #[inline(never)]
    fn raw_string_slow(&mut self, start: usize, mut i: usize) -> Scan<(usize, usize, bool)> {
        let bytes = self.src.as_bytes();
        let mut escaped = false;
        loop {
            i = find_special(bytes, i);
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 1;
                    match bytes.get(i) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 1,
                        Some(b'u') => {
                            let hex = bytes.get(i + 1..i + 5).ok_or(Bail)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Bail);
                            }
                            i += 5;
                        }
                        _ => return Err(Bail),
                    }
                }
                // A raw control character, or the input ended inside the string.
                _ => return Err(Bail),
            }
        }
        self.pos = i + 1;
        Ok((start, i, escaped))
    }
}

/// The high bit of each byte of `word` that is `"` or `\`, or below 0x20. The lowest flagged
/// byte is always a true match (a false positive only ever sits above a true one), so the
/// first match is exact.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(ONES * 0x20) & !word))
        & HIGH
}

/// The index of the first `"`, `\` or control character at or after `i`, or `bytes.len()`.
fn find_special(bytes: &[u8], mut i: usize) -> usize {
    let short_end = bytes.len().min(i.saturating_add(SHORT_STRING));
    while i + 8 <= short_end {
        let found = special_bytes(u64::from_le_bytes(
            bytes[i..i + 8].try_into().unwrap_or([0; 8]),
        ));
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if short_end < bytes.len() {
        // A long string (tool arguments can be megabytes): memchr finds the next quote or
        // backslash with SIMD, then the span before it is checked for control characters in a
        // loop the compiler vectorizes.
        let end = memchr::memchr2(b'"', b'\\', &bytes[i..]).map_or(bytes.len(), |at| i + at);
        let span = &bytes[i..end];
        if span.iter().fold(false, |any, &b| any | (b < 0x20)) {
            return i + span.iter().position(|&b| b < 0x20).unwrap_or(0);
        }
        return end;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// The end of the run of ASCII digits starting at `i`.
#[inline(always)]
fn digits(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The text of a JSON string with escapes (its form already checked by `raw_string`).
fn unescape(raw: &str) -> Scan<String> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'\\', &bytes[i..]) {
        out.push_str(&raw[i..i + at]);
        i += at + 1;
        let c = match bytes[i] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                let unit = hex4(&bytes[i + 1..i + 5])?;
                i += 4;
                match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate needs its trailing half as the next escape.
                        let next = bytes.get(i + 1..i + 7).ok_or(Bail)?;
                        if !next.starts_with(b"\\u") {
                            return Err(Bail);
                        }
                        let low = hex4(&next[2..])?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Bail);
                        }
                        i += 6;
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(code).ok_or(Bail)?
                    }
                    0xDC00..=0xDFFF => return Err(Bail),
                    _ => char::from_u32(unit).ok_or(Bail)?,
                }
            }
        };
        out.push(c);
        i += 1;
    }
    out.push_str(&raw[i..]);
    Ok(out)
}

fn hex4(digits: &[u8]) -> Scan<u32> {
    let digits = std::str::from_utf8(digits).map_err(|_| Bail)?;
    u32::from_str_radix(digits, 16).map_err(|_| Bail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(s: &str) -> Scan<()> {
        let mut r = JsonReader::new(s);
        r.skip()?;
        r.end()
    }

    #[test]
    fn accepts_what_serde_accepts() {
        for ok in [
            "null",
            "true",
            " false ",
            "0",
            "-0",
            "12.5e-3",
            "1E+9",
            r#""""#,
            r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83e\udd80""#,
            "[]",
            "[1, [2, {}], \"x\"]",
            r#"{"a": {"b": [null]}, "c": 1}"#,
            "{}",
            "\t\r\n{ }\n",
        ] {
            assert_eq!(skip_all(ok), Ok(()), "{ok}");
            assert!(
                serde_json::from_str::<serde_json::Value>(ok).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn refuses_what_serde_refuses() {
        for bad in [
            "",
            "nul",
            "01",
            "1.",
            "-",
            "1e",
            ".5",
            "+1",
            "[1,]",
            "[,1]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{,"a":1}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{a:1}"#,
            "\"tab\there\"",
            r#""\x""#,
            r#""\u12g4""#,
            r#""unterminated"#,
            "[1] 2",
            "{\"a\":1}}",
        ] {
            assert_eq!(skip_all(bad), Err(Bail), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn strings_borrow_unless_escaped_and_unescape_like_serde() {
        let mut r = JsonReader::new(r#""plain""#);
        assert!(matches!(r.string(), Ok(Cow::Borrowed("plain"))));
        for s in [
            r#""a\nb""#,
            r#""\u00e9t\u00e9""#,
            r#""\ud83e\udd80 crab""#,
            r#""q\"uote\\""#,
            r#""\/\b\f\r\t""#,
        ] {
            let mut r = JsonReader::new(s);
            let ours = r.string().expect("valid");
            let theirs: String = serde_json::from_str(s).expect("valid");
            assert_eq!(ours, theirs, "{s}");
        }
        for lone in [r#""\ud83e""#, r#""\udd80""#, r#""\ud83e\u0041""#] {
            assert_eq!(JsonReader::new(lone).string(), Err(Bail), "{lone}");
            assert!(serde_json::from_str::<String>(lone).is_err(), "{lone}");
        }
    }

    #[test]
    fn long_strings_are_searched_with_memchr_and_still_checked() {
        let long = "x".repeat(10_000);
        let quoted = format!("\"{long}\"");
        let mut r = JsonReader::new(&quoted);
        assert_eq!(r.string().as_deref(), Ok(long.as_str()));
        let escaped = format!("\"{long}\\n{long}\"");
        let mut r = JsonReader::new(&escaped);
        assert_eq!(r.string().map(|s| s.len()), Ok(20_001));
        let with_control = format!("\"{long}\u{1}\"");
        assert_eq!(JsonReader::new(&with_control).string(), Err(Bail));
    }

    #[test]
    fn special_bytes_are_found_at_every_offset() {
        for len in 0..80 {
            for special in ['"', '\\', '\u{1f}'] {
                let s = format!("{}{special}", "a".repeat(len));
                assert_eq!(find_special(s.as_bytes(), 0), len, "{len} {special:?}");
            }
            let s = "é".repeat(len);
            assert_eq!(find_special(s.as_bytes(), 0), s.len());
        }
    }

    #[test]
    fn u32_reads_like_serde() {
        for (text, want) in [
            ("null", Ok(None)),
            ("0", Ok(Some(0))),
            ("4294967295", Ok(Some(u32::MAX))),
            ("4294967296", Err(Bail)),
            ("-1", Err(Bail)),
            ("1.0", Err(Bail)),
            ("\"1\"", Err(Bail)),
        ] {
            assert_eq!(JsonReader::new(text).u32_or_null(), want, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_left_to_serde() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(skip_all(&deep), Err(Bail));
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(skip_all(&ok), Ok(()));
    }
}
