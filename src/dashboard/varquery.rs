//! A query variable's definition → what to ask Prometheus, and Prometheus' answer → the
//! variable's options, as Grafana's Prometheus data source does it (`metric_find_query`):
//! `label_values([selector,] label)`, `label_names([selector])`, `metrics(regex)`,
//! `query_result(expr)`, and any other text as a series query. The options are then filtered
//! and captured by the variable's `regex` and sorted by its `sort`.
//!
//! Pure text work: the queries are sent by `resolve`.

use std::cmp::Ordering;

use super::jsregex::{JsRegex, Match};

pub use super::jsregex::RegexError;

/// What a query variable asks Prometheus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finder {
    /// `label_values(label)` or `label_values(selector, label)`.
    LabelValues {
        /// The label.
        label: String,
        /// The series selector, if any.
        selector: Option<String>,
    },
    /// `label_names()` or `label_names(selector)`.
    LabelNames(Option<String>),
    /// `metrics(regex)`: metric names matching an (unanchored) regex.
    Metrics(String),
    /// `query_result(expr)`: an instant query at the end of the range, each sample as text.
    QueryResult(String),
    /// Anything else: the series matching it, each as `name{labels}`.
    Series(String),
}

/// Read an (already interpolated) query variable definition.
pub fn finder(query: &str) -> Finder {
    let q = query.trim();
    let call = |name: &str| {
        q.strip_prefix(name)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.trim_end().strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(inner) = call("label_values") {
        // The label is the last comma-separated part when it is a plain label name, as
        // Grafana's `label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)` reads it.
        return match inner.rsplit_once(',') {
            Some((selector, label)) if is_label(label.trim()) => Finder::LabelValues {
                label: label.trim().to_string(),
                selector: Some(selector.trim().to_string()),
            },
            _ => Finder::LabelValues {
                label: inner.to_string(),
                selector: None,
            },
        };
    }
    if let Some(inner) = call("label_names") {
        return Finder::LabelNames(Some(inner.to_string()).filter(|s| !s.is_empty()));
    }
    if let Some(inner) = call("metrics") {
        return Finder::Metrics(inner.to_string());
    }
    if let Some(inner) = call("query_result") {
        return Finder::QueryResult(inner.to_string());
    }
    Finder::Series(q.to_string())
}

fn is_label(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One option: what the picker shows and the value interpolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt {
    /// Shown text.
    pub text: String,
    /// Value.
    pub value: String,
}

impl Opt {
    /// An option whose text is its value.
    pub fn plain(v: impl Into<String>) -> Self {
        let v = v.into();
        Self {
            text: v.clone(),
            value: v,
        }
    }
}

/// The options Grafana makes of `found` with the variable's `regex`: values that do not
/// match are dropped; named groups `text`/`value` set those, else the first group sets both
/// (each match its own option under a global regex); duplicates (by value) are dropped.
pub fn options(found: Vec<Opt>, regex: Option<&str>, sort: i64) -> Result<Vec<Opt>, RegexError> {
    let compiled = regex.map(JsRegex::new).transpose()?;
    let mut out: Vec<Opt> = Vec::new();
    for opt in found {
        let Some(re) = &compiled else {
            out.push(opt);
            continue;
        };
        let matches = re.matches(&opt.value)?;
        if matches.is_empty() {
            continue;
        }
        let named = |pick: fn(&Match) -> &Option<String>| {
            matches
                .iter()
                .find_map(|m| pick(m).clone())
                .filter(|s| !s.is_empty())
        };
        let (value, text) = (named(|m| &m.value), named(|m| &m.text));
        if value.is_some() || text.is_some() {
            let value = value.clone().or(text.clone()).unwrap_or_default();
            let text = text.or(Some(value.clone())).unwrap_or_default();
            out.push(Opt { text, value });
            continue;
        }
        let firsts: Vec<String> = matches.iter().filter_map(|m| m.first.clone()).collect();
        if firsts.is_empty() {
            out.push(opt);
        } else if matches.len() > 1 {
            out.extend(firsts.into_iter().map(Opt::plain));
        } else {
            out.push(Opt::plain(firsts[0].clone()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|o| seen.insert(o.value.clone()));
    Ok(sorted(out, sort))
}

/// Grafana's `sortVariableValues`: by text alphabetically (1, 2), by the first number in the
/// text (3, 4), case-insensitively (5, 6) or naturally (7, 8); even orders descending.
pub fn sorted(mut opts: Vec<Opt>, sort: i64) -> Vec<Opt> {
    if sort <= 0 {
        return opts;
    }
    let number = |t: &str| -> i64 {
        let digits: String = t
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap_or(-1)
    };
    match (sort + 1) / 2 {
        1 => opts.sort_by(|a, b| a.text.cmp(&b.text)),
        2 => opts.sort_by_key(|o| number(&o.text)),
        3 => opts.sort_by_key(|o| o.text.to_lowercase()),
        _ => opts.sort_by(|a, b| natural(&a.text, &b.text)),
    }
    if sort % 2 == 0 {
        opts.reverse();
    }
    opts
}

/// Natural order: digit runs compared as numbers, the rest case-insensitively.
fn natural(a: &str, b: &str) -> Ordering {
    let chunks = |s: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, text)) if *d == digit => text.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    };
    for (x, y) in chunks(a).iter().zip(chunks(b).iter()) {
        let order = match (x, y) {
            ((true, p), (true, q)) => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                p.len().cmp(&q.len()).then_with(|| p.cmp(q))
            }
            ((_, p), (_, q)) => p.to_lowercase().cmp(&q.to_lowercase()),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// A sample of `query_result` as Grafana shows it: `name{a="1",b="2"} value timestamp_ms`.
pub fn query_result_text(
    labels: &std::collections::BTreeMap<String, String>,
    value: f64,
    at: f64,
) -> String {
    format!(
        "{} {} {}",
        series_text(labels),
        js_number(value),
        js_number(at * 1000.0)
    )
}

/// A series as Grafana shows it: `name{a="1",b="2"}` (no name after most functions).
pub fn series_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// A number as JavaScript prints it: integers without a fraction.
fn js_number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{}", v as i64)
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

/// Options of a custom variable: `a,b,c`, or `text : value` pairs; `\,` is a literal comma.
pub fn custom_options(query: &str) -> Vec<Opt> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once(" : ") {
            Some((t, v)) if !t.trim().is_empty() && !v.trim().is_empty() => Opt {
                text: t.trim().to_string(),
                value: v.trim().to_string(),
            },
            _ => Opt::plain(p.trim()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn definitions_are_read_like_grafana() {
        assert_eq!(
            finder(r#"label_values(node_uname_info{job=~"a,b", x="$y"}, nodename)"#),
            Finder::LabelValues {
                label: "nodename".into(),
                selector: Some(r#"node_uname_info{job=~"a,b", x="$y"}"#.into())
            }
        );
        assert_eq!(
            finder("label_values(job)"),
            Finder::LabelValues {
                label: "job".into(),
                selector: None
            }
        );
        assert_eq!(finder("label_names()"), Finder::LabelNames(None));
        assert_eq!(
            finder("metrics(node_.*)"),
            Finder::Metrics("node_.*".into())
        );
        assert_eq!(
            finder("query_result(count(up))"),
            Finder::QueryResult("count(up)".into())
        );
        assert_eq!(
            finder("up{job=\"x\"}"),
            Finder::Series("up{job=\"x\"}".into())
        );
    }

    #[test]
    fn regex_captures_and_sort() {
        let labels: BTreeMap<String, String> = BTreeMap::new();
        let text = query_result_text(&labels, 3.0, 1716000000.0);
        assert_eq!(text, "{} 3 1716000000000");
        let got = options(vec![Opt::plain(text)], Some("/{} (.*) .*/"), 0).expect("regex");
        assert_eq!(got, [Opt::plain("3")]);
        let mut l = BTreeMap::new();
        l.insert("mountpoint".to_string(), "/data".to_string());
        let got = options(
            vec![Opt::plain(query_result_text(&l, 1e12, 1.0))],
            Some(r#"/.*\"(.*)\".*/"#),
            0,
        )
        .expect("regex");
        assert_eq!(got, [Opt::plain("/data")]);
        let named = options(
            vec![
                Opt::plain("web-1:9100"),
                Opt::plain("db-1:9100"),
                Opt::plain("x"),
            ],
            Some("/(?<text>[a-z]+-\\d+):(?<value>\\d+)/"),
            0,
        )
        .expect("regex");
        assert_eq!(named.len(), 1, "duplicate values collapse: {named:?}");
        assert_eq!(named[0].text, "web-1");
        let sorted_opts = sorted(
            vec![Opt::plain("n10"), Opt::plain("n9"), Opt::plain("N1")],
            7,
        );
        let texts: Vec<&str> = sorted_opts.iter().map(|o| o.text.as_str()).collect();
        assert_eq!(texts, ["N1", "n9", "n10"]);
        let desc = sorted(vec![Opt::plain("a"), Opt::plain("b")], 2);
        assert_eq!(desc[0].text, "b");
        // Look-ahead (JavaScript has it, Rust's regex does not): options without canaries.
        let hosts = vec![Opt::plain("web-1:9100"), Opt::plain("web-canary:9100")];
        let got = options(hosts, Some("/^(?!.*canary)([^:]+)/"), 0).expect("look-ahead");
        assert_eq!(got, [Opt::plain("web-1")]);
        // Variable-length look-behind: neither engine takes it.
        assert!(options(vec![], Some("/(?<=a+)b/"), 0).is_err());
        assert_eq!(
            custom_options(r"a\,b, c : 2,d"),
            [
                Opt::plain("a,b"),
                Opt {
                    text: "c".into(),
                    value: "2".into()
                },
                Opt::plain("d")
            ]
        );
    }
}
