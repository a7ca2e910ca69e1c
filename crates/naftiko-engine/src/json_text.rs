//! JSON text written by hand where it is on the request path: a string literal escaped in one
//! pass, eight plain bytes at a time, with no branch per byte where escapes are dense.
//!
//! An MCP tool's result carries the upstream JSON twice — as it came (`structuredContent`) and as
//! the text of its content block, a JSON string. Escaping that string is among the adapter's
//! largest user-space costs: JSON bodies hold a quote every few bytes, and a scan-and-copy escaper
//! (serde's) pays a mispredicted branch at each one. Here every byte is written from a table as one or two
//! bytes and the cursor moves by the table's length, so quotes cost what letters cost. The output is
//! byte for byte what `serde_json` prints.

/// How each byte is written inside a JSON string: its one or two bytes (low 16 bits) and how many
/// of them count (bits 16–23: 1 for the byte itself, 2 for a short escape such as `\"`, 0 for a
/// control character written `\u00xx`), packed so that a byte costs one load.
const fn escapes() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let (bytes, len): (&[u8; 2], u32) = match b as u8 {
            b'"' => (b"\\\"", 2),
            b'\\' => (b"\\\\", 2),
            0x08 => (b"\\b", 2),
            0x09 => (b"\\t", 2),
            0x0A => (b"\\n", 2),
            0x0C => (b"\\f", 2),
            0x0D => (b"\\r", 2),
            c if c < 0x20 => (&[0, 0], 0),
            c => (&[c, 0], 1),
        };
        table[b] = bytes[0] as u32 | (bytes[1] as u32) << 8 | len << 16;
        b += 1;
    }
    table
}

static ESCAPES: [u32; 256] = escapes();

/// Appends `s` to `out` as a JSON string literal, quotes included, exactly as `serde_json` would
/// print it (`\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, other control characters as `\u00xx`,
/// everything else as it is).
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Room for every byte escaped in two and both quotes; each `\u00xx` makes its own room.
    out.reserve(2 * bytes.len() + 2);
    let mut pos = out.len();
    // SAFETY (every write below): the capacity always holds `pos` plus two bytes for each byte
    // left and one for the closing quote — reserved above, or (with `base` taken again) six per
    // byte left from the first `\u00xx` on; `set_len` comes after every byte up to `pos` is written.
    let mut base = out.as_mut_ptr();
    unsafe { base.add(pos).write(b'"') };
    pos += 1;
    let mut left = bytes.len();
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if !needs_escape(word) {
            unsafe { base.add(pos).cast::<[u8; 8]>().write_unaligned(word.to_le_bytes()) };
            pos += 8;
        } else {
            for (k, &b) in chunk.iter().enumerate() {
                pos = write_byte(out, &mut base, pos, b, left - k);
            }
        }
        left -= 8;
    }
    for &b in chunks.remainder() {
        pos = write_byte(out, &mut base, pos, b, left);
        left -= 1;
    }
    unsafe {
        base.add(pos).write(b'"');
        out.set_len(pos + 1);
    }
}

/// Writes one byte at `pos` through its table entry and returns the next position; `left` is how
/// many bytes are left to write, this one included.
#[inline(always)]
fn write_byte(out: &mut Vec<u8>, base: &mut *mut u8, pos: usize, b: u8, left: usize) -> usize {
    let e = ESCAPES[b as usize];
    let len = (e >> 16) as usize;
    if len == 0 {
        *base = room_for_control_characters(out, pos, left);
        unsafe { base.add(pos).cast::<[u8; 6]>().write_unaligned(unicode_escape(b)) };
        return pos + 6;
    }
    unsafe { base.add(pos).cast::<[u8; 2]>().write_unaligned((e as u16).to_le_bytes()) };
    pos + len
}

/// A control character takes six bytes where two were counted. It is rare, so room is made when
/// one comes, once, for six per byte left and the closing quote; returns the buffer's new address.
#[cold]
#[inline(never)]
fn room_for_control_characters(out: &mut Vec<u8>, pos: usize, left: usize) -> *mut u8 {
    // SAFETY: every byte up to `pos` is written.
    unsafe { out.set_len(pos) };
    out.reserve(6 * left + 1);
    out.as_mut_ptr()
}

/// Whether any of the eight bytes of `word` is a quote, a backslash or a control character
/// (the word-at-a-time tests of "Bit Twiddling Hacks": exact for "any", not for which).
#[inline(always)]
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * b'"' as u64);
    let backslash = word ^ (ONES * b'\\' as u64);
    // One test for the three, without a branch between them.
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let zeros = quote.wrapping_sub(ONES) & !quote | backslash.wrapping_sub(ONES) & !backslash;
    (below_space | zeros) & HIGHS != 0
}

fn unicode_escape(b: u8) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xF) as usize]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    fn ours(prefix: &[u8], s: &str) -> Vec<u8> {
        let mut out = prefix.to_vec();
        write_string(&mut out, s);
        out
    }

    #[test]
    fn every_byte_is_written_as_serde_json_writes_it() {
        for c in (0u32..0x80).chain([0xE9, 0x2028, 0x1F600]) {
            let s = char::from_u32(c).unwrap().to_string();
            assert_eq!(ours(b"", &s), serde(&s), "U+{c:04X}");
        }
    }

    #[test]
    fn strings_of_every_shape_match_serde_json_and_keep_what_came_before() {
        let json = r#"{"id": "ship-0", "tags": ["a\"b", "c\\d"], "note": "line\nnext\ttab"}"#;
        let cases = [
            "",
            "plain words with no escapes at all",
            json,
            "\u{0}\u{1}\u{1f}\u{7f} control \u{8}\u{c}\r",
            "\"\"\"\\\\\\",
            "é — 日本語 😀 \"quoted\"",
            &"\u{1}".repeat(100),
            &json.repeat(50),
        ];
        for s in cases {
            let mut expected = b"prefix:".to_vec();
            expected.extend(serde(s));
            assert_eq!(ours(b"prefix:", s), expected, "{s:?}");
        }
    }
}
