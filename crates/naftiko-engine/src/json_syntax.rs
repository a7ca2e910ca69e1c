//! Whether bytes are one well-formed JSON text (RFC 8259), decided in one pass without building
//! anything — the check behind the identity output (`mapping: $.`), which passes the upstream's
//! bytes through once they are known to be JSON.
//!
//! It accepts exactly what `serde_json` accepts (any nesting depth, as its `IgnoredAny` does),
//! and also requires UTF-8, as parsing the text into values does. Strings are scanned sixteen
//! bytes at a time; structure is read by one loop with an explicit stack (depth costs no
//! recursion), and the kind of the innermost container is kept at hand. It says where a text
//! goes wrong, not why: callers that describe the error ask `serde_json` for its words.
//!
//! (A simdjson-style checker — 64-byte blocks classified into bit masks, then one table step per
//! structural position — was tried: API replies hold a token every four bytes or so, and on the
//! 1.5 kB bench item it cost 19 100 instructions against this loop's 15 500.)

/// Where a text stops being JSON (a byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// Offset of the first byte that does not fit (the length when the text ends too early).
    pub at: usize,
    /// `"not UTF-8"`, or `"not JSON"` for everything else.
    pub what: &'static str,
}

/// Checks that `text` is one JSON value, with only whitespace around it.
pub fn validate(text: &[u8]) -> Result<(), SyntaxError> {
    if let Err(e) = std::str::from_utf8(text) {
        return Err(SyntaxError { at: e.valid_up_to(), what: "not UTF-8" });
    }
    structure(text).map_err(|at| SyntaxError { at, what: "not JSON" })
}

/// The grammar; an error is the offset where it fails.
fn structure(text: &[u8]) -> Result<(), usize> {
    let mut stack = Stack::default();
    // The innermost open container is an object (when `stack` has any).
    let mut in_object = false;
    let mut i = whitespace(text, 0);
    'value: loop {
        // A value starts at `i`.
        i = match text.get(i) {
            Some(b'"') => string(text, i + 1)?,
            Some(b'-' | b'0'..=b'9') => number(text, i)?,
            Some(b't') => literal(text, i, b"true")?,
            Some(b'f') => literal(text, i, b"false")?,
            Some(b'n') => literal(text, i, b"null")?,
            Some(b'{') => {
                i = whitespace(text, i + 1);
                if text.get(i) == Some(&b'}') {
                    i + 1 // empty: a whole value already
                } else {
                    stack.push(in_object);
                    in_object = true;
                    i = key(text, i)?;
                    continue 'value;
                }
            }
            Some(b'[') => {
                i = whitespace(text, i + 1);
                if text.get(i) == Some(&b']') {
                    i + 1
                } else {
                    stack.push(in_object);
                    in_object = false;
                    continue 'value;
                }
            }
            _ => return Err(i),
        };
        // A value ended before `i`: the next element, or the end of enclosing containers.
        loop {
            i = whitespace(text, i);
            if stack.depth == 0 {
                break 'value;
            }
            match text.get(i) {
                Some(b',') => {
                    i = whitespace(text, i + 1);
                    if in_object {
                        i = key(text, i)?;
                    }
                    continue 'value;
                }
                Some(b'}') if in_object => in_object = stack.pop(),
                Some(b']') if !in_object => in_object = stack.pop(),
                _ => return Err(i),
            }
            i += 1;
        }
    }
    if i == text.len() { Ok(()) } else { Err(i) }
}

/// The kinds of the open containers around the innermost one (whether each is an object),
/// innermost last: the first 128 levels are bits of one word, deeper ones (rare) a vector.
#[derive(Default)]
struct Stack {
    bits: u128,
    depth: usize,
    deeper: Vec<bool>,
}

impl Stack {
    fn push(&mut self, object: bool) {
        if self.depth < 128 {
            self.bits = (self.bits << 1) | object as u128;
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    /// Takes the last kind pushed off.
    fn pop(&mut self) -> bool {
        self.depth -= 1;
        if self.depth < 128 {
            let object = self.bits & 1 == 1;
            self.bits >>= 1;
            object
        } else {
            self.deeper.pop().unwrap_or_default()
        }
    }
}

#[inline(always)]
fn whitespace(text: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = text.get(i) {
        i += 1;
    }
    i
}

/// An object member's key and its colon, from `i` (whitespace skipped); where its value starts.
fn key(text: &[u8], i: usize) -> Result<usize, usize> {
    if text.get(i) != Some(&b'"') {
        return Err(i);
    }
    let i = whitespace(text, string(text, i + 1)?);
    if text.get(i) != Some(&b':') {
        return Err(i);
    }
    Ok(whitespace(text, i + 1))
}

/// A string's contents from `i` (after its opening quote); where the string ends (after the
/// closing quote).
#[inline(always)]
fn string(text: &[u8], mut i: usize) -> Result<usize, usize> {
    loop {
        i = plain_run(text, i);
        match text.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => i = escape(text, i + 1)?,
            _ => return Err(i), // a control character, or the end
        }
    }
}

/// Where the run of bytes from `i` that a string holds as they are ends: at the first `"`, `\`
/// or control character, sixteen bytes at a time.
#[cfg(target_arch = "x86_64")]
fn plain_run(text: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8};
    use std::arch::x86_64::{_mm_or_si128, _mm_set1_epi8};
    while i + 16 <= text.len() {
        // SAFETY: SSE2 is part of every x86_64 target; the sixteen bytes from `i` are inside
        // `text`, and an unaligned load may read them.
        let mask = unsafe {
            let bytes = _mm_loadu_si128(text.as_ptr().add(i).cast::<__m128i>());
            let last_control = _mm_set1_epi8(0x1F);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, last_control), last_control);
            let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        };
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    plain_run_bytewise(text, i)
}

/// Where the run of bytes from `i` that a string holds as they are ends (other targets).
#[cfg(not(target_arch = "x86_64"))]
fn plain_run(text: &[u8], i: usize) -> usize {
    plain_run_bytewise(text, i)
}

fn plain_run_bytewise(text: &[u8], mut i: usize) -> usize {
    while let Some(&c) = text.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// An escape from `i` (after its backslash); where it ends.
fn escape(text: &[u8], i: usize) -> Result<usize, usize> {
    match text.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => match text.get(i + 1..i + 5) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(i + 5),
            _ => Err(i + 1),
        },
        _ => Err(i),
    }
}

/// A number from `i`; where it ends. (`01` ends after its `0`; the `1` is then refused where a
/// value may not continue.)
fn number(text: &[u8], mut i: usize) -> Result<usize, usize> {
    if text[i] == b'-' {
        i += 1;
    }
    match text.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(text, i + 1),
        _ => return Err(i),
    }
    if text.get(i) == Some(&b'.') {
        let end = digits(text, i + 1);
        if end == i + 1 {
            return Err(end);
        }
        i = end;
    }
    if let Some(b'e' | b'E') = text.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = text.get(i) {
            i += 1;
        }
        let end = digits(text, i);
        if end == i {
            return Err(end);
        }
        i = end;
    }
    Ok(i)
}

fn digits(text: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = text.get(i) {
        i += 1;
    }
    i
}

fn literal(text: &[u8], i: usize, word: &[u8]) -> Result<usize, usize> {
    match text.get(i..i + word.len()) {
        Some(w) if w == word => Ok(i + word.len()),
        _ => Err(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
    }

    fn agree(text: &[u8]) {
        assert_eq!(
            validate(text).is_ok(),
            serde_accepts(text),
            "disagree with serde_json on {:?}: {:?}",
            String::from_utf8_lossy(text),
            validate(text)
        );
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does() {
        let cases: &[&str] = &[
            // accepted
            "{}",
            "[]",
            " {} ",
            "0",
            "-0",
            "1.5",
            "-1.5e10",
            "1E+2",
            "1e-2",
            "\"\"",
            "\"a\\\"b\"",
            "true",
            "false",
            "null",
            "[1,2,3]",
            "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
            "\t\n\r [ ] \n",
            "\"\\u00e9\\uD83D\\uDE00\"",
            "\"é 日本\"",
            "[[[]],{}]",
            "\"\\/\\b\\f\\n\\r\\t\"",
            "{\"\":\"\"}",
            "\"0123456789abcdef0123456789\"",
            "[\"abcdefgh\",\"abcdefg\\\"\"]",
            // refused
            "",
            " ",
            "{",
            "}",
            "[",
            "]",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{a:1}",
            "{1:1}",
            "01",
            "-",
            "-a",
            "1.",
            "1.e3",
            "1e",
            "1e+",
            ".5",
            "+1",
            "0x10",
            "tru",
            "truee",
            "nul",
            "True",
            "\"abc",
            "\"a\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "1 2",
            "[1 2]",
            "{\"a\" 1}",
            "{}{}",
            "[]]",
            "{\"a\":1}}",
            "\"abcdefghijklmnop",
            "NaN",
            "[1,2",
            "{\"a\":[}",
            "\"\\",
            "\"\\u",
            "[-]",
            "[01]",
            "1.5.5",
            "\"line\nbreak\"",
        ];
        for case in cases {
            agree(case.as_bytes());
        }
    }

    #[test]
    fn requires_utf8_where_serde_skipping_does_not() {
        assert!(serde_accepts(b"\"\xff\""), "serde's skipping does not look");
        let e = validate(b"[\"ok\", \"\xc3\x28\"]").unwrap_err();
        assert_eq!(e, SyntaxError { at: 8, what: "not UTF-8" });
        assert!(validate("[\"ok\", \"é\"]".as_bytes()).is_ok());
    }

    #[test]
    fn any_depth_is_read_without_recursion() {
        for depth in [127, 128, 129, 300, 100_000] {
            let text = format!("{}1{}", "[{\"k\":".repeat(depth), "}]".repeat(depth));
            assert!(validate(text.as_bytes()).is_ok(), "depth {depth}");
            let broken = format!("{}1{}", "[{\"k\":".repeat(depth), "]}".repeat(depth));
            assert!(validate(broken.as_bytes()).is_err(), "depth {depth}, closed in the wrong order");
        }
    }

    #[test]
    fn errors_say_where() {
        let at = |text: &[u8]| validate(text).unwrap_err();
        assert_eq!(at(b"[1, x]"), SyntaxError { at: 4, what: "not JSON" });
        assert_eq!(at(b"{\"a\" 1}").at, 5);
        assert_eq!(at(b"[1] 2").at, 4);
        assert_eq!(at(b"\"abcdefghij").at, 11, "the end, inside a string");
        assert_eq!(at(b"[\"0123456789abcdef0123\x01\"]").at, 22, "a control character after sixteen plain bytes");
        assert_eq!(at(b"[1.]").at, 3);
        assert_eq!(at(b"{\"a\":1]").at, 6, "an object closed as an array");
    }

    #[test]
    fn runs_of_backslashes_and_strings_of_every_length() {
        for before in 0..140 {
            for run in 0..6 {
                for after in ["\"", "\"]", "n\"", "u00e9\"", "u00\"", "\u{1}\""] {
                    let text =
                        format!("[{}\"{}{}{after}", " ".repeat(before % 70), "a".repeat(before), "\\".repeat(run));
                    agree(text.as_bytes());
                    agree(format!("{text}]").as_bytes());
                }
            }
        }
    }

    /// Random edits of real-looking documents, each judged by both checkers (ASCII edits only:
    /// on UTF-8 text the two must agree exactly).
    #[test]
    fn agrees_with_serde_json_on_random_edits() {
        let seeds = [
            r#"{"data": [{"id": "ship-0", "name": "Vessel \"0\"", "tonnage": 42000, "crew": ["CREW-001"]}], "next": null}"#,
            r#"[1, -2.5e-3, 0, true, false, null, "a\u00e9\n", {"k": {"k": []}}, 12345678901234567890]"#,
            "{\n  \"nested\": {\"a\": [ {}, [], \"\" ],\n  \"b\": 0.1E+5 }\n}",
            // Long enough for several blocks, with escapes and numbers at every offset.
            &(0..30)
                .map(|n| format!("\"{}\\\\{}\\\"\":[{n}.5e{n},true,null]", "a".repeat(n), "b".repeat(n % 7)))
                .collect::<Vec<_>>()
                .join(","),
        ];
        let alphabet = b"{}[]\",:\\\\\"\"/ \t\n0123456789-+.eEtrufalsnu\x01ax\x7f";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut refused = 0;
        let long = format!("{{{}}}", seeds[3]);
        let seeds = [seeds[0], seeds[1], seeds[2], long.as_str()];
        assert!(seeds.iter().all(|s| serde_accepts(s.as_bytes()) && validate(s.as_bytes()).is_ok()), "valid seeds");
        let rounds: usize = std::env::var("JSON_FUZZ_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(40_000);
        for round in 0..rounds {
            let mut text = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(text.len() + 1);
                let byte = alphabet[next(alphabet.len())];
                match next(3) {
                    0 if at < text.len() => text[at] = byte,
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    _ => text.insert(at, byte),
                }
            }
            refused += usize::from(validate(&text).is_err());
            agree(&text);
        }
        assert!(
            refused > rounds / 3 && refused < rounds * 29 / 30,
            "the edits should give both kinds: {refused} refused"
        );
    }
}
