//! The insights table's JSON columns, byte for byte as `serde_json` writes them, faster.
//!
//! The insights table carries each insight's investigation steps and related PromQL as JSON
//! lists, and its evidence as a JSON map: at 10,000 insights about 26 MiB of text, full of
//! quotes (`{mode="idle"}`). Profiled, serde_json's escaping was the largest single cost of
//! building the table (27 % of the benchmark's samples): it looks at every byte, and copies the
//! text between two escapes as a separate fragment. Here eight bytes are checked at once and
//! copied in one move when none needs an escape; numbers are still formatted by serde_json's
//! own formatter. The output is the same (`tests` compares it with serde_json's).

use serde_json::ser::{CompactFormatter, Formatter};

use crate::insight::Evidence;

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

/// `{"name":97.5,"other":null}`: `evidence` as its `Serialize` writes it (non-finite values as
/// `null`), appended to `out`.
pub fn evidence(out: &mut Vec<u8>, evidence: &Evidence) {
    out.push(b'{');
    for (k, (name, value)) in evidence.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        string(out, name);
        out.push(b':');
        // Writing into a `Vec` cannot fail.
        if !value.is_finite() || CompactFormatter.write_f64(out, value).is_err() {
            out.extend_from_slice(b"null");
        }
    }
    out.push(b'}');
}

/// `"text"`, escaped as serde_json escapes it: `"`, `\` and the control characters below
/// U+0020 (those with a short form as `\n`, the others as `\u00XX`); nothing else. Eight bytes
/// at a time: a word without anything to escape is copied whole (a single move, where a copy
/// of each run between two escapes would be a `memcpy` call for a few bytes).
pub fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        if any_to_escape(u64::from_le_bytes(eight)) {
            word.iter().for_each(|b| byte(out, *b));
        } else {
            out.extend_from_slice(&eight);
        }
    }
    words.remainder().iter().for_each(|b| byte(out, *b));
    out.push(b'"');
}

/// One byte of a string, escaped if it must be.
fn byte(out: &mut Vec<u8>, byte: u8) {
    if needs_escape(byte) {
        escape(out, byte);
    } else {
        out.push(byte);
    }
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
        let evidence = Evidence::new()
            .with("cpu_utilization_percent", 97.0)
            .with("held_seconds", 600.0)
            .with("robust_z_ratio", f64::NAN)
            .with("peak", f64::NEG_INFINITY)
            .with("tiny", 5e-324)
            .with("huge", 1.7976931348623157e308)
            .with("negative_zero", -0.0)
            .with("third", 1.0 / 3.0)
            .with("odd \"name\"\n", 90.001);
        for evidence in [Evidence::new(), evidence] {
            let mut out = Vec::new();
            super::evidence(&mut out, &evidence);
            assert_eq!(out, serde_json::to_vec(&evidence).expect("serde_json"));
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
