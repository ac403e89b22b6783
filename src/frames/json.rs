//! Lists of strings as JSON text, byte for byte as `serde_json` writes them, faster.
//!
//! The insights table carries each insight's investigation steps and related PromQL as JSON
//! lists: at 10,000 insights about 18 MiB of text, full of quotes (`{mode="idle"}`). Profiled,
//! serde_json's escaping was the largest single cost of building the table (27 % of the
//! benchmark's samples): it looks at every byte, and copies the text between two escapes as a
//! separate fragment. Here eight bytes are checked at once and each run without an escape is
//! copied in one go; the output is the same (`tests` compares it with serde_json's).

/// `["a","b"]`: the JSON text of `items`, appended to `out`.
pub fn strings(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        string(out, item);
    }
    out.push(b']');
}

/// `"text"`, escaped as serde_json escapes it: `"`, `\` and the control characters below
/// U+0020 (those with a short form as `\n`, the others as `\u00XX`); nothing else.
pub fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut clean = 0;
    while let Some(at) = next_escape(bytes, clean) {
        out.extend_from_slice(&bytes[clean..at]);
        escape(out, bytes[at]);
        clean = at + 1;
    }
    out.extend_from_slice(&bytes[clean..]);
    out.push(b'"');
}

/// The position of the first byte at or after `from` that JSON must escape.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    let mut at = from;
    for word in words.by_ref() {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        if any_to_escape(u64::from_le_bytes(eight)) {
            // One of these eight; which, byte by byte.
            return word.iter().position(|b| needs_escape(*b)).map(|k| at + k);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|b| needs_escape(*b))
        .map(|k| at + k)
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Whether any of the eight bytes of `word` needs an escape. The usual bit tricks: a byte
/// below `n` (n ≤ 128) makes `x - n` borrow into its top bit where `x`'s own top bit is clear;
/// a byte equal to `c` is a zero byte of `x ^ c`. Exact for the word as a whole.
fn any_to_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & TOPS;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(word, 0x20) | below(quote, 1) | below(backslash, 1)) != 0
}

/// The escape of `byte` (one that [`needs_escape`]).
fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(items: &[String]) -> String {
        let mut out = Vec::new();
        strings(&mut out, items);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn lists_are_written_exactly_as_serde_json_writes_them() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        let cases: Vec<Vec<String>> = vec![
            vec![],
            vec![String::new()],
            vec![every_ascii.clone()],
            vec![every_ascii.chars().rev().collect()],
            vec![
                "100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{mode=~\"idle|iowait\", instance=\"host-00001:9100\"}[1m])))".into(),
                "perf record -F 99 -a -g -- sleep 30 \\ \"quoted\"".into(),
            ],
            vec!["ünïcödé — 🔥 \u{7f} \u{80} \u{2028}\t\r\n\u{1}\u{1f}".into(), "\"".into(), "\\".into()],
        ];
        for items in &cases {
            let expected = serde_json::to_string(items).expect("serde_json");
            assert_eq!(ours(items), expected);
        }
        // Every length and position around the eight-byte words, for every escaped byte.
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x08, 0x1f, 0x20, 0x7f] {
                    let mut text = vec![b'a'; len];
                    text[at] = special;
                    let text = vec![String::from_utf8(text).expect("ASCII")];
                    let expected = serde_json::to_string(&text).expect("serde_json");
                    assert_eq!(ours(&text), expected, "{len} bytes, {special:#x} at {at}");
                }
            }
        }
    }
}
