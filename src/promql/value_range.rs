//! Label values in a range, as regexes: how a query is narrowed to one group of instances
//! without naming them.
//!
//! A query split into instance groups used to list each group's instances
//! (`instance=~"host-00000:9100|…"`), 16 bytes and more per host: 1,000 hosts make 32 KB of
//! query text, which VictoriaMetrics refuses by default (`-search.maxQueryLen=16384`) and which
//! every engine parses for every part. A group of consecutive instances in sorted order is also
//! a range of label values, `from ≤ instance < to`, and a range is one regex whose length
//! depends only on the length of its two bounds ([`between`]; the first group is open below,
//! the last above, [`at_least`]):
//!
//! ```text
//! host-00150:9100 ≤ instance < host-00300:9100   (abridged)
//!   instance=~"(?s)host-00(?:1(?:5(?:0(?::(?:9(?:…)|[6-􏿿].*)|[2-2].*|3(?:|[ -/].*|0(?:…)))"
//! ```
//!
//! The ranges of consecutive groups meet end to start, so every value (an instance the
//! inventory never saw among them) falls in exactly one group.
//!
//! Order is byte order, which for UTF-8 text (label values are UTF-8) is code-point order:
//! the order of Rust's `str` comparison and of the code points RE2 matches.

/// The longest bound kept, in characters. A longer bound is cut to this length: the cut is
/// monotone (a ≤ b keeps cut(a) ≤ cut(b)), so the groups still meet end to start; they only
/// change size (names alike in their first 32 characters share a group). Each character costs
/// about 20 bytes of regex and a catalog query repeats its selector up to 8 times: 32 keeps
/// the longest part under VictoriaMetrics' default 16 KB (see the split tests in
/// `samples/split.rs`).
pub const MAX_BOUND_CHARS: usize = 32;

/// The longest fleet-wide prefix written as a literal in front of a range
/// ([`prefixed_range`]), in characters: names alike in their first [`MAX_BOUND_CHARS`]
/// characters (GKE node names, `gke-production-europe-west1-default-pool-…`) still split on
/// the characters after it, and the query text stays bounded (a literal costs a byte or two
/// a character, not the twenty of a bound).
pub const MAX_PREFIX_CHARS: usize = 200;

/// The most bytes a fleet-wide prefix may take in the query text, as a literal quoted in
/// PromQL: [`MAX_PREFIX_CHARS`] characters that each need a backslash (`.`, doubled by the
/// quoting), the worst case the split tests hold to VictoriaMetrics' 16 KB. A prefix of
/// characters written as `\x{…}` escapes (7–11 bytes each once quoted) is cut sooner.
pub const MAX_PREFIX_BYTES: usize = 3 * MAX_PREFIX_CHARS;

/// What `c` costs in a prefix's literal once quoted in PromQL (backslashes and quotes
/// escaped, as [`super::quote`] writes them).
pub fn quoted_literal_len(c: char) -> usize {
    super::quote(&literal_char(c)).len() - 2
}

/// Newlines match `.` from here on: written once at the front of every regex.
const DOT_ALL: &str = "(?s)";

/// The lowest character a "below" class starts at (see [`below`]).
const LOWEST: char = ' ';

/// The highest code point: the top of every "this character or above" class. Written as it is
/// (four bytes), not as a twelve-byte `\x{10ffff}` escape.
const TOP: char = char::MAX;

/// An RE2 regex, fully anchored as Prometheus and VictoriaMetrics anchor label regexes, that
/// matches exactly the values at or above `bound` in byte order.
pub fn at_least(bound: &str) -> String {
    format!("{DOT_ALL}{}", from_bound(&chars(bound)))
}

/// An RE2 regex matching exactly the values from `from` (included) up to `to` (excluded);
/// `None` when the range is empty (`to` not above `from`, after both are cut).
///
/// The part both bounds share is written once: `host-00150:9100` to `host-00300:9100` is
/// `host-00` followed by the range of `150:9100` to `300:9100`.
pub fn between(from: &str, to: &str) -> Option<String> {
    Some(format!("{DOT_ALL}{}", between_body(from, to)?))
}

/// An RE2 regex matching exactly the values that start with `prefix` and whose rest is from
/// `from` (included) up to `to` (excluded), either end open; `None` when the range is empty.
/// The prefix is written once, as a literal, and the bounds are cut after it: the ranges of
/// one prefix meet end to start as [`between`]'s do, and [`starting_with`] covers the values
/// without the prefix.
pub fn prefixed_range(prefix: &str, from: Option<&str>, to: Option<&str>) -> Option<String> {
    let body = match (from, to) {
        (None, None) => ".*".to_string(),
        (Some(from), None) => from_bound(&chars(from)),
        (from, Some(to)) => between_body(from.unwrap_or(""), to)?,
    };
    Some(format!("{DOT_ALL}{}(?:{body})", literal(prefix)))
}

/// An RE2 regex matching exactly the values that start with `prefix` (for a `!~` matcher: the
/// values outside the ranges of [`prefixed_range`]).
pub fn starting_with(prefix: &str) -> String {
    format!("{DOT_ALL}{}.*", literal(prefix))
}

/// `text` as a regex literal.
fn literal(text: &str) -> String {
    text.chars().map(literal_char).collect()
}

/// [`between`] without its flags.
fn between_body(from: &str, to: &str) -> Option<String> {
    let (from, to) = (chars(from), chars(to));
    if from >= to {
        return None;
    }
    let shared = from.iter().zip(&to).take_while(|(f, t)| f == t).count();
    let prefix: String = from[..shared].iter().map(|&c| literal_char(c)).collect();
    let (from, to) = (&from[shared..], &to[shared..]);
    // `to` goes on past the shared part (it is above `from`); `from` may end there.
    let rest = match from.split_first() {
        None => below(to),
        Some((&low, from_rest)) => {
            let high = to[0];
            let mut alternatives = vec![format!(
                "{}(?:{})",
                literal_char(low),
                from_bound(from_rest)
            )];
            alternatives.extend(class_between(next_char(low), previous_char(high)));
            if to.len() > 1 {
                alternatives.push(format!("{}(?:{})", literal_char(high), below(&to[1..])));
            }
            alternatives.join("|")
        }
    };
    Some(format!("{prefix}(?:{rest})"))
}

/// A regex for the values at or above `bound` (no flags): a value is at or above `c₁c₂…cₙ` when
/// it starts with `c₁` and its rest is at or above `c₂…cₙ`, or when its first character is
/// above `c₁`; the empty bound admits everything. Written inside out, one nested alternation
/// per character.
fn from_bound(bound: &[char]) -> String {
    bound.iter().rev().fold(".*".to_string(), |inner, &c| {
        let above = class_between(next_char(c), Some(TOP));
        match above {
            Some(above) => format!("{}(?:{inner})|{above}", literal_char(c)),
            None => format!("{}(?:{inner})", literal_char(c)),
        }
    })
}

/// A regex for the values below `bound`, which is not empty (no flags): the empty value, a
/// value whose first character is below `c₁`, or one that starts with `c₁` and whose rest is
/// below `c₂…cₙ`.
fn below(bound: &[char]) -> String {
    let Some((&c, rest)) = bound.split_first() else {
        return String::new();
    };
    // The class starts at the space, not at NUL: VictoriaMetrics rewrites a class from a
    // control character into a regex it then cannot parse ("invalid character class range").
    // A value holding a control character (never a host and port) may fall in no group.
    let mut alternatives = vec![String::new()];
    alternatives.extend(class_between(Some(LOWEST), previous_char(c)));
    if !rest.is_empty() {
        alternatives.push(format!("{}(?:{})", literal_char(c), below(rest)));
    }
    alternatives.join("|")
}

/// `[low-high].*`: a first character from `low` to `high` and anything after it; `None` when
/// the class would be empty.
fn class_between(low: Option<char>, high: Option<char>) -> Option<String> {
    let (low, high) = (low?, high?);
    (low <= high).then(|| format!("[{}-{}].*", class_char(low), class_char(high)))
}

/// `bound` cut to [`MAX_BOUND_CHARS`] characters.
pub fn cut(bound: &str) -> &str {
    match bound.char_indices().nth(MAX_BOUND_CHARS) {
        Some((end, _)) => &bound[..end],
        None => bound,
    }
}

/// The characters of `bound`, cut (see [`cut`]).
fn chars(bound: &str) -> Vec<char> {
    cut(bound).chars().collect()
}

/// The code point after `c`, skipping the surrogates (no text holds them); `None` after the
/// last.
fn next_char(c: char) -> Option<char> {
    match c {
        TOP => None,
        '\u{D7FF}' => Some('\u{E000}'),
        _ => char::from_u32(c as u32 + 1),
    }
}

/// The code point before `c`, skipping the surrogates; `None` before the first.
fn previous_char(c: char) -> Option<char> {
    match c {
        '\0' => None,
        '\u{E000}' => Some('\u{D7FF}'),
        _ => char::from_u32(c as u32 - 1),
    }
}

/// `c` as a literal: printable ASCII as it is (a regex metacharacter behind a backslash),
/// anything else as a `\x{…}` escape (no control or invisible character needs its own rule).
fn literal_char(c: char) -> String {
    match c {
        _ if "\\.+*?()|[]{}^$".contains(c) => format!("\\{c}"),
        ' '..='~' => c.to_string(),
        _ => format!("\\x{{{:x}}}", c as u32),
    }
}

/// `c` as a bound of a character class: printable ASCII as it is (the class metacharacters
/// `]`, `[`, `-`, `^` and `\` behind a backslash), the top code point as it is, anything else as
/// a `\x{…}` escape.
fn class_char(c: char) -> String {
    match c {
        _ if "]\\-^[".contains(c) => format!("\\{c}"),
        ' '..='~' | TOP => c.to_string(),
        _ => format!("\\x{{{:x}}}", c as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchored(bound: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{})$", at_least(bound))).expect("a valid regex")
    }

    /// Values around every bound: prefixes, extensions, neighbours of each character, and the
    /// characters a regex or a class treats specially.
    fn neighbours(bound: &str) -> Vec<String> {
        let mut values = vec![String::new(), bound.to_string()];
        let chars: Vec<char> = bound.chars().collect();
        for i in 0..=chars.len() {
            let head: String = chars[..i].iter().collect();
            values.push(head.clone());
            for c in [
                '\0', '\n', ' ', '-', '.', ':', ']', '\\', '^', 'a', 'z', 'é', '\u{FFFF}', TOP,
            ] {
                values.push(format!("{head}{c}"));
                values.push(format!("{head}{c}tail"));
            }
            if let Some(&c) = chars.get(i) {
                for n in [next_char(c), char::from_u32((c as u32).saturating_sub(1))] {
                    values.extend(n.map(|n| format!("{head}{n}")));
                }
            }
        }
        values
    }

    #[test]
    fn at_least_matches_exactly_the_values_at_or_above_the_bound() {
        let bounds = [
            "",
            "a",
            "host-04999:9100",
            "10.0.0.1:9100",
            "a]b-c^d\\e.f*g",
            "z\n",
            "é",
            "\u{D7FF}x",
            "\u{10FFFF}",
            "\u{10FFFF}\u{10FFFF}a",
        ];
        for bound in bounds {
            let regex = anchored(bound);
            for value in neighbours(bound) {
                assert_eq!(
                    regex.is_match(&value),
                    value.as_str() >= bound,
                    "{value:?} against at_least({bound:?}) = {}",
                    at_least(bound)
                );
            }
        }
    }

    /// `between(from, to)`, anchored; a regex matching nothing for an empty range.
    fn anchored_between(from: &str, to: &str) -> regex::Regex {
        let range = between(from, to).unwrap_or_else(|| "[^\\x{0}-\\x{10ffff}]".into());
        regex::Regex::new(&format!("^(?:{range})$")).expect("a valid regex")
    }

    #[test]
    fn between_matches_exactly_the_values_in_the_range() {
        let bounds = [
            "",
            "a",
            "ab",
            "host-00150:9100",
            "host-00300:9100",
            "host-0015",
            "10.0.0.1:9100",
            "10.0.0.10:9100",
            "a]b-c^d",
            "\u{D7FF}",
            "\u{E000}",
            "\u{10FFFF}",
        ];
        for from in bounds {
            for to in bounds {
                let regex = anchored_between(from, to);
                let values = neighbours(from).into_iter().chain(neighbours(to));
                for value in values {
                    let inside = from <= value.as_str() && value.as_str() < to;
                    // A value holding a control character may fall in no range (see
                    // `below`), never in a wrong one.
                    let control = value.chars().any(|c| c < LOWEST);
                    let expected = inside && (!control || regex.is_match(&value));
                    assert_eq!(
                        regex.is_match(&value),
                        expected,
                        "{value:?} against between({from:?}, {to:?}) = {:?}",
                        between(from, to)
                    );
                }
            }
        }
    }

    #[test]
    fn consecutive_ranges_put_every_value_in_exactly_one_group() {
        let fleet: Vec<String> = (0..50).map(|i| format!("web-{:03}:9100", i * 7)).collect();
        let bounds: Vec<&str> = fleet
            .iter()
            .step_by(10)
            .skip(1)
            .map(String::as_str)
            .collect();
        let lower: Vec<regex::Regex> = bounds.iter().map(|b| anchored(b)).collect();
        let others = [
            "",
            "a",
            "web-",
            "web-001:9100",
            "web-999:9100",
            "zzz",
            "web-350",
        ];
        for value in fleet.iter().map(String::as_str).chain(others) {
            // In group k when at or above bound k-1 and not at or above bound k.
            let groups: Vec<usize> = (0..=bounds.len())
                .filter(|&k| k == 0 || lower[k - 1].is_match(value))
                .filter(|&k| k == bounds.len() || !lower[k].is_match(value))
                .collect();
            assert_eq!(groups.len(), 1, "{value:?} in groups {groups:?}");
        }
    }

    #[test]
    fn prefixed_ranges_and_the_values_outside_the_prefix_cover_every_value_once() {
        let prefix = "gke-production-europe-west1-default-pool-1a2b3c4d-";
        let rest = ["", "a", "b7x9:9100", "k2mz:9100", "k2mz:9101", "zz"];
        let bounds = [None, Some("b7x9:9100"), Some("k2mz:9100"), None];
        let mut regexes: Vec<(regex::Regex, bool)> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let from = if i == 0 { None } else { w[0] };
                let range = prefixed_range(prefix, from, w[1]).expect("a range");
                (
                    regex::Regex::new(&format!("^(?:{range})$")).expect("valid"),
                    true,
                )
            })
            .collect();
        let outside = regex::Regex::new(&format!("^(?:{})$", starting_with(prefix)));
        regexes.push((outside.expect("valid"), false));
        let values = rest
            .iter()
            .map(|r| format!("{prefix}{r}"))
            .chain(["", "a", "gke-production", "gke-z", "zzz"].map(String::from))
            .chain([prefix[..prefix.len() - 1].to_string()]);
        for value in values {
            let parts = regexes
                .iter()
                .filter(|(r, positive)| r.is_match(&value) == *positive)
                .count();
            assert_eq!(parts, 1, "{value:?}");
        }
    }

    #[test]
    fn a_prefix_character_costs_what_the_quoted_query_text_takes() {
        // `.` is `\.` in the regex and `\\.` once quoted; `"` is `\"` once quoted.
        for (c, bytes) in [('a', 1), ('.', 3), ('"', 2), ('é', 7), ('\\', 4)] {
            assert_eq!(quoted_literal_len(c), bytes, "{c:?}");
        }
    }

    #[test]
    fn the_regex_grows_with_the_bound_not_the_fleet() {
        let long = "x".repeat(500);
        assert_eq!(cut(&long).chars().count(), MAX_BOUND_CHARS);
        assert!(
            at_least(&long).len() < MAX_BOUND_CHARS * 20,
            "{}",
            at_least(&long).len()
        );
        assert!(
            at_least("host-04999:9100").len() < 300,
            "{}",
            at_least("host-04999:9100")
        );
        let range = between("host-00150:9100", "host-00300:9100").expect("a range");
        assert!(range.len() < 300, "{range}");
        assert_eq!(between("b", "b"), None);
        assert_eq!(
            between(&format!("{long}a"), &format!("{long}b")),
            None,
            "equal once cut"
        );
        // The cut keeps the order of bounds, so groups still meet end to start.
        let (a, b) = (format!("{long}a"), format!("{long}b"));
        assert!(cut(&a) <= cut(&b));
        regex::Regex::new(&at_least(&long)).expect("RE2 accepts the longest bound");
    }
}
