//! Template variables the way Grafana's Prometheus data source interpolates them: `$var`,
//! `${var}`, `${var:format}` and `[[var]]`; multi-value and "All" values as an escaped regex
//! alternation; and the built-ins `$__interval`, `$__rate_interval`, `$__range` (with their
//! `_ms`/`_s` forms).
//!
//! This is template expansion, which Grafana does on the text before any PromQL exists; the
//! PromQL itself is parsed afterwards by `promql-parser` (see `extract`).

use std::{collections::BTreeMap, time::Duration};

/// The value of one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// One value of a single-value variable.
    Single(String),
    /// Several values (multi-value or "All").
    Multi(Vec<String>),
    /// "All" with a custom all value (`.*`), used verbatim.
    Custom(String),
}

/// The time-related built-ins of one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    /// `$__interval`: the query step.
    pub interval: Duration,
    /// The scrape interval of the data source.
    pub scrape: Duration,
    /// `$__range`: the dashboard's range.
    pub range: Duration,
}

impl Intervals {
    /// Grafana's `$__rate_interval`: max(`$__interval` + scrape interval, 4 × scrape interval).
    pub fn rate_interval(&self) -> Duration {
        (self.interval + self.scrape).max(self.scrape * 4)
    }
}

/// Values of the dashboard's variables, and the ad hoc filters (the value of an ad hoc
/// variable is its filters, which Grafana adds to every query rather than interpolating).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, Value>, Vec<(String, String, String)>);

impl Values {
    /// Add ad hoc filters `(key, operator, value)`.
    pub fn add_filters(&mut self, filters: &[(String, String, String)]) {
        self.1.extend(filters.iter().cloned());
    }

    /// The ad hoc filters.
    pub fn filters(&self) -> &[(String, String, String)] {
        &self.1
    }

    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `name`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The single values `name` stands for (all values of a multi-value one).
    pub fn each(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::Single(v)) => vec![v.clone()],
            Some(Value::Multi(v)) => v.clone(),
            Some(Value::Custom(v)) => vec![v.clone()],
            None => Vec::new(),
        }
    }
}

/// The result of interpolating one text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpolated {
    /// The text with every known variable replaced.
    pub text: String,
    /// Variables referenced that have no value (left as written).
    pub unknown: Vec<String>,
}

/// How deep a custom "All" value naming other variables is interpolated (Grafana recurses
/// without a bound; a value naming itself would never end).
const MAX_NESTING: usize = 4;

/// Replace variables and built-ins in `text`.
pub fn interpolate(text: &str, values: &Values, intervals: &Intervals) -> Interpolated {
    interpolate_nested(text, values, intervals, 0)
}

/// [`interpolate`] inside a custom "All" value `depth` levels down.
fn interpolate_nested(
    text: &str,
    values: &Values,
    intervals: &Intervals,
    depth: usize,
) -> Interpolated {
    let mut out = String::with_capacity(text.len());
    let mut unknown = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let (name, format, len) = if let Some(r) = rest.strip_prefix("${") {
            match r.find('}') {
                Some(end) => {
                    let inner = &r[..end];
                    let (n, f) = inner.split_once(':').unwrap_or((inner, ""));
                    (n, f, end + 3)
                }
                None => ("", "", 0),
            }
        } else if let Some(r) = rest.strip_prefix("[[") {
            match r.find("]]") {
                Some(end) => {
                    let inner = &r[..end];
                    let (n, f) = inner.split_once(':').unwrap_or((inner, ""));
                    (n, f, end + 4)
                }
                None => ("", "", 0),
            }
        } else if let Some(r) = rest.strip_prefix('$') {
            let n = r
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&r[..n], "", n + 1)
        } else {
            ("", "", 0)
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if len == 0 || !valid {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let replacement = builtin(name, intervals).or_else(|| {
            values.get(name).map(|v| match v {
                // Grafana's `templateSrv.replace` interpolates a custom "All" value again,
                // except for the text and percentencode formats: `allValue: "$cluster-.*"`.
                Value::Custom(all)
                    if depth < MAX_NESTING && !matches!(format, "text" | "percentencode") =>
                {
                    let inner = interpolate_nested(all, values, intervals, depth + 1);
                    for u in inner.unknown {
                        if !unknown.contains(&u) {
                            unknown.push(u);
                        }
                    }
                    inner.text
                }
                v => format_value(v, format),
            })
        });
        match replacement {
            Some(replacement) => out.push_str(&replacement),
            None => {
                // `$1` in label_replace is not a variable; Grafana leaves it too.
                if !name.as_bytes()[0].is_ascii_digit() && !unknown.iter().any(|u| u == name) {
                    unknown.push(name.to_string());
                }
                out.push_str(&rest[..len]);
            }
        }
        i += len;
    }
    Interpolated { text: out, unknown }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

fn builtin(name: &str, iv: &Intervals) -> Option<String> {
    let ms = |d: Duration| d.as_millis().to_string();
    Some(match name {
        "__interval" => super::interval::hms(iv.interval),
        "__interval_ms" => ms(iv.interval),
        "__rate_interval" => seconds(iv.rate_interval()),
        "__rate_interval_ms" => ms(iv.rate_interval()),
        "__range" => seconds(iv.range),
        "__range_s" => iv.range.as_secs().to_string(),
        "__range_ms" => ms(iv.range),
        _ => return None,
    })
}

/// Escape a value for a regex matcher inside a PromQL double-quoted string, as Grafana's
/// `prometheusSpecialRegexEscape`: `a.b` → `a\\.b` (the string literal then holds `a\.b`).
pub fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '^' | '$' | '*' | '+' | '?' | '.' | '(' | ')' | '|' | '{' | '}' | '[' | ']' | '\'' => {
                out.push_str("\\\\");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The escaping Grafana's Prometheus data source gives a single-value variable (neither multi
/// nor "All"): backslashes and single quotes only, so a value can sit in any string literal.
pub fn regular_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// Grafana's own `regex` format (`${v:regex}`), which differs from the data source's default:
/// one backslash, and `/` escaped too.
fn plain_regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if "\\^$*+?.()|[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A value as `${name:format}` writes it. Unknown formats fall back to the data source's
/// default (Grafana logs an error and leaves the value unformatted for most of them).
fn format_value(value: &Value, format: &str) -> String {
    let list: Vec<String> = match value {
        Value::Custom(v) => {
            // A custom "All" value is used as written, except for `text`.
            return if format == "text" {
                "All".to_string()
            } else {
                v.clone()
            };
        }
        Value::Single(v) => vec![v.clone()],
        Value::Multi(v) => v.clone(),
    };
    let quoted = |q: char, escape: &dyn Fn(&str) -> String| {
        list.iter()
            .map(|v| format!("{q}{}{q}", escape(v)))
            .collect::<Vec<_>>()
            .join(",")
    };
    match format {
        "csv" | "raw" => list.join(","),
        "pipe" => list.join("|"),
        "text" => list.join(" + "),
        "json" => match value {
            Value::Single(v) => serde_json::Value::String(v.clone()).to_string(),
            _ => serde_json::Value::from(list.clone()).to_string(),
        },
        "regex" => {
            let escaped: Vec<String> = list.iter().map(|v| plain_regex_escape(v)).collect();
            match escaped.as_slice() {
                [one] => one.clone(),
                _ => format!("({})", escaped.join("|")),
            }
        }
        "glob" => match list.as_slice() {
            [one] => one.clone(),
            _ => format!("{{{}}}", list.join(",")),
        },
        "singlequote" => quoted('\'', &|v: &str| v.replace('\'', "\\'")),
        "doublequote" => quoted('"', &|v: &str| v.replace('"', "\\\"")),
        "sqlstring" => quoted('\'', &|v: &str| v.replace('\'', "''")),
        "percentencode" => list
            .iter()
            .map(|v| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
            .collect::<Vec<_>>()
            .join(","),
        _ => default_format(value),
    }
}

/// The Prometheus data source's default (`interpolateQueryExpr`): a single-value variable
/// escaped for string literals; a multi-value or "All" one escaped for regexes and, when it
/// holds several values, joined as `(a|b)`.
fn default_format(value: &Value) -> String {
    match value {
        Value::Single(v) => regular_escape(v),
        Value::Custom(v) => v.clone(),
        Value::Multi(list) => {
            let escaped: Vec<String> = list.iter().map(|v| regex_escape(v)).collect();
            match escaped.as_slice() {
                [one] => one.clone(),
                _ => format!("({})", escaped.join("|")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv() -> Intervals {
        Intervals {
            interval: Duration::from_secs(30),
            scrape: Duration::from_secs(15),
            range: Duration::from_secs(3600),
        }
    }

    #[test]
    fn builtins_resolve_like_grafana() {
        let v = Values::new();
        let r = interpolate(
            "rate(x[$__rate_interval]) [${__interval}] $__range $__range_s $__range_ms [[__interval_ms]]",
            &v,
            &iv(),
        );
        assert_eq!(r.text, "rate(x[60s]) [30s] 3600s 3600 3600000 30000");
        // A long step: interval + scrape wins over 4 × scrape.
        let long = Intervals {
            interval: Duration::from_secs(120),
            ..iv()
        };
        assert_eq!(long.rate_interval(), Duration::from_secs(135));
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn variables_single_multi_all_and_unknown() {
        let mut v = Values::new();
        v.set("node", Value::Single("host:9100".into()));
        v.set("dev", Value::Multi(vec!["sda".into(), "nvme0n1".into()]));
        v.set("all", Value::Custom(".*".into()));
        let r = interpolate(
            r#"x{instance="$node",device=~"${dev}",a=~"$all",l="${nope}"} + label_replace(y, "a", "$1", "b", "(.*)")"#,
            &v,
            &iv(),
        );
        assert_eq!(
            r.text,
            r#"x{instance="host:9100",device=~"(sda|nvme0n1)",a=~".*",l="${nope}"} + label_replace(y, "a", "$1", "b", "(.*)")"#
        );
        assert_eq!(r.unknown, ["nope"]);
        assert_eq!(format_value(&Value::Single("a.b".into()), "regex"), r"a\.b");
        assert_eq!(
            format_value(&Value::Multi(vec!["a".into(), "b".into()]), "pipe"),
            "a|b"
        );
    }

    #[test]
    fn a_custom_all_value_naming_other_variables_is_interpolated() {
        let mut v = Values::new();
        v.set("cluster", Value::Single("prod".into()));
        v.set("node", Value::Custom("$cluster-.*".into()));
        v.set("self", Value::Custom("a$self".into()));
        v.set("gone", Value::Custom("${missing}.*".into()));
        let r = interpolate(
            r#"up{instance=~"$node", n="${node:text}", s=~"$self", g=~"$gone"}"#,
            &v,
            &iv(),
        );
        // The text format stays "All"; a value naming itself stops after a few levels.
        assert_eq!(
            r.text,
            r#"up{instance=~"prod-.*", n="All", s=~"aaaaa$self", g=~"${missing}.*"}"#
        );
        assert_eq!(r.unknown, ["missing"]);
    }

    #[test]
    fn formats_like_grafana() {
        let multi = Value::Multi(vec!["a.b".into(), "c".into()]);
        let one = Value::Single("it's a\\b".into());
        let f = |v: &Value, fmt: &str| format_value(v, fmt);
        assert_eq!(f(&multi, ""), r"(a\\.b|c)");
        assert_eq!(f(&multi, "regex"), r"(a\.b|c)");
        assert_eq!(f(&multi, "pipe"), "a.b|c");
        assert_eq!(f(&multi, "csv"), "a.b,c");
        assert_eq!(f(&multi, "raw"), "a.b,c");
        assert_eq!(f(&multi, "text"), "a.b + c");
        assert_eq!(f(&multi, "json"), r#"["a.b","c"]"#);
        assert_eq!(f(&multi, "singlequote"), "'a.b','c'");
        assert_eq!(f(&multi, "glob"), "{a.b,c}");
        // A single-value variable is escaped for string literals only.
        assert_eq!(f(&one, ""), r"it\\'s a\\b");
        assert_eq!(f(&one, "raw"), "it's a\\b");
        // One value of a multi-value variable is regex-escaped without parentheses.
        assert_eq!(f(&Value::Multi(vec!["x.y".into()]), ""), r"x\\.y");
        assert_eq!(f(&Value::Custom(".*".into()), ""), ".*");
        assert_eq!(f(&Value::Custom(".*".into()), "text"), "All");
        // An empty variable is the empty string.
        let mut v = Values::new();
        v.set("origin_prometheus", Value::Single(String::new()));
        let r = interpolate(r#"up{o=~"$origin_prometheus"}"#, &v, &iv());
        assert_eq!(r.text, r#"up{o=~""}"#);
    }
}
