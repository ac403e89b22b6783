//! Template variables the way Grafana's Prometheus data source interpolates them: `$var`,
//! `${var}`, `${var:format}` and `[[var]]`; multi-value and "All" values as an escaped regex
//! alternation; and the built-ins `$__interval`, `$__rate_interval`, `$__range` (with their
//! `_ms`/`_s` forms).
//!
//! This is template expansion, which Grafana does on the text before any PromQL exists; the
//! PromQL itself is parsed afterwards by `promql-parser` (see `extract`).

use std::{collections::BTreeMap, time::Duration};

use super::model::{Variable, ALL};

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

/// Grafana's step for a range and a number of points: range / points, no finer than the
/// minimum interval, rounded up to whole seconds (Grafana rounds to "nice" intervals; whole
/// seconds keep the grid aligned across panels, which correlation needs).
pub fn step(range: Duration, max_points: u32, min_interval: Duration) -> Duration {
    let raw = range.as_secs_f64() / f64::from(max_points.max(1));
    Duration::from_secs(raw.ceil().max(min_interval.as_secs_f64().ceil()).max(1.0) as u64)
}

/// Values of the dashboard's variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, Value>);

impl Values {
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

/// The value a variable has from the dashboard itself (current value, or options for "All"),
/// or from `given` (values passed with the query: one value, or several). `None` when it has
/// none (a query variable Grafana fills when the dashboard loads).
pub fn value_of(var: &Variable, given: Option<&[String]>) -> Option<Value> {
    let chosen: Vec<String> = match given {
        Some(g) if !g.is_empty() => g.to_vec(),
        _ => var.current.clone(),
    };
    let chosen: Vec<String> = chosen.into_iter().filter(|v| !v.is_empty()).collect();
    if chosen.iter().any(|v| v == ALL) {
        if let Some(all) = &var.all_value {
            return Some(Value::Custom(all.clone()));
        }
        if var.options.is_empty() {
            return None;
        }
        return Some(Value::Multi(var.options.clone()));
    }
    match chosen.len() {
        0 => match var.kind.as_str() {
            // A constant or text box keeps its value in `query`.
            "constant" | "textbox" => var.query.clone().map(Value::Single),
            "custom" => {
                let first = var.options.first().cloned().or_else(|| {
                    var.query
                        .as_deref()
                        .and_then(|q| q.split(',').next())
                        .map(|s| s.trim().to_string())
                })?;
                Some(Value::Single(first))
            }
            _ => None,
        },
        1 if !var.multi && !var.include_all => Some(Value::Single(chosen[0].clone())),
        _ => Some(Value::Multi(chosen)),
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

/// Replace variables and built-ins in `text`.
pub fn interpolate(text: &str, values: &Values, intervals: &Intervals) -> Interpolated {
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
        match builtin(name, intervals).or_else(|| values.get(name).map(|v| format_value(v, format)))
        {
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
        "__interval" => seconds(iv.interval),
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

fn format_value(value: &Value, format: &str) -> String {
    let list = match value {
        Value::Single(v) => {
            return match format {
                "regex" => regex_escape(v),
                _ => v.clone(),
            }
        }
        Value::Custom(v) => return v.clone(),
        Value::Multi(v) => v,
    };
    match format {
        "csv" => list.join(","),
        "pipe" => list.join("|"),
        "raw" | "text" => list.join(","),
        _ => {
            let escaped: Vec<String> = list.iter().map(|v| regex_escape(v)).collect();
            if escaped.len() == 1 {
                escaped[0].clone()
            } else {
                format!("({})", escaped.join("|"))
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
        assert_eq!(
            format_value(&Value::Single("a.b".into()), "regex"),
            r"a\\.b"
        );
        assert_eq!(
            format_value(&Value::Multi(vec!["a".into(), "b".into()]), "pipe"),
            "a|b"
        );
    }

    #[test]
    fn values_come_from_the_query_then_the_dashboard() {
        let var = Variable {
            name: "node".into(),
            kind: "query".into(),
            current: vec!["cur".into()],
            options: vec!["a".into(), "b".into()],
            query: None,
            multi: false,
            include_all: true,
            all_value: None,
        };
        assert_eq!(value_of(&var, None), Some(Value::Multi(vec!["cur".into()])));
        assert_eq!(
            value_of(&var, Some(&["$__all".to_string()])),
            Some(Value::Multi(vec!["a".into(), "b".into()]))
        );
        let plain = Variable {
            include_all: false,
            ..var.clone()
        };
        assert_eq!(
            value_of(&plain, Some(&["x".to_string()])),
            Some(Value::Single("x".into()))
        );
        let empty = Variable {
            current: vec![],
            ..plain
        };
        assert_eq!(value_of(&empty, None), None);
        assert_eq!(
            step(Duration::from_secs(3600), 200, Duration::from_secs(15)),
            Duration::from_secs(18)
        );
    }
}
