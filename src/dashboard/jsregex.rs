//! A variable's `regex` as Grafana runs it: JavaScript's `stringToJsRegex` (`/pattern/flags`,
//! or a bare text matched whole), compiled by Rust's `regex` (linear time) and, only for what
//! that engine refuses and JavaScript has (look-ahead, look-behind, back references), by
//! `fancy-regex`, a backtracking engine bounded by [`BACKTRACK_LIMIT`] and [`MAX_PATTERN`].

use regex::Regex;

/// Longest regex compiled (dashboards' regexes are a few dozen characters).
pub const MAX_PATTERN: usize = 1_024;

/// Backtracking steps one match may take under `fancy-regex` before it gives up (its
/// default is 1,000,000; a variable's options are matched one by one, so a tenth bounds a
/// pathological regex over thousands of options to well under a second).
pub const BACKTRACK_LIMIT: usize = 100_000;

/// Longest text matched by a backtracking regex: longer options are not matched (and so
/// dropped, as a regex that does not match drops them) rather than risk the limit on each.
pub const MAX_BACKTRACK_INPUT: usize = 4_096;

/// A variable's `regex` that neither engine compiles, or that ran out of backtracking steps.
#[derive(Debug, thiserror::Error)]
#[error("the variable's regex `{pattern}` is not supported ({reason})")]
pub struct RegexError {
    /// The regex as written.
    pub pattern: String,
    /// Why it did not compile or run.
    pub reason: String,
}

/// One match: its first group and its `text` / `value` named groups, when they took part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// Group 1.
    pub first: Option<String>,
    /// The `text` named group.
    pub text: Option<String>,
    /// The `value` named group.
    pub value: Option<String>,
}

/// The engine a regex compiled with.
#[derive(Debug)]
enum Engine {
    /// Rust's `regex`: every regex it takes.
    Linear(Regex),
    /// `fancy-regex`, for look-around and back references.
    Backtracking(fancy_regex::Regex),
}

/// A compiled variable regex.
#[derive(Debug)]
pub struct JsRegex {
    engine: Engine,
    /// The `g` flag: every match counts, not only the first.
    global: bool,
    /// The regex as written, for errors.
    written: String,
}

impl JsRegex {
    /// Compile `text` as Grafana's `stringToJsRegex` reads it.
    pub fn new(text: &str) -> Result<Self, RegexError> {
        let error = |reason: String| RegexError {
            pattern: text.to_string(),
            reason,
        };
        if text.len() > MAX_PATTERN {
            return Err(error(format!("longer than {MAX_PATTERN} characters")));
        }
        let (pattern, flags) = match text.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
            Some((p, f)) => (p.to_string(), f.to_string()),
            None => (format!("^{text}$"), String::new()),
        };
        let inline: String = flags
            .chars()
            .filter(|c| matches!(c, 'i' | 'm' | 's'))
            .collect();
        let pattern = literal_braces(&pattern);
        let full = if inline.is_empty() {
            pattern
        } else {
            format!("(?{inline}){pattern}")
        };
        let engine = match Regex::new(&full) {
            Ok(r) => Engine::Linear(r),
            Err(linear) => fancy_regex::RegexBuilder::new(&full)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .map(Engine::Backtracking)
                .map_err(|_| error(last_line(&linear.to_string())))?,
        };
        Ok(Self {
            engine,
            global: flags.contains('g'),
            written: text.to_string(),
        })
    }

    /// Whether the regex matches anywhere in `text` (`RegExp.exec(text) != null`).
    pub fn is_match(&self, text: &str) -> Result<bool, RegexError> {
        Ok(!self.matches(text)?.is_empty())
    }

    /// The matches in `text`: the first only, or every one under the `g` flag.
    pub fn matches(&self, text: &str) -> Result<Vec<Match>, RegexError> {
        match &self.engine {
            Engine::Linear(re) => {
                let one = |c: regex::Captures<'_>| Match {
                    first: c.get(1).map(|m| m.as_str().to_string()),
                    text: c.name("text").map(|m| m.as_str().to_string()),
                    value: c.name("value").map(|m| m.as_str().to_string()),
                };
                Ok(if self.global {
                    re.captures_iter(text).map(one).collect()
                } else {
                    re.captures(text).into_iter().map(one).collect()
                })
            }
            Engine::Backtracking(re) => self.backtracking(re, text),
        }
    }

    /// Matches under `fancy-regex`, its errors (the backtrack limit) as [`RegexError`].
    fn backtracking(&self, re: &fancy_regex::Regex, text: &str) -> Result<Vec<Match>, RegexError> {
        if text.len() > MAX_BACKTRACK_INPUT {
            return Ok(Vec::new());
        }
        let error = |e: fancy_regex::Error| RegexError {
            pattern: self.written.clone(),
            reason: last_line(&e.to_string()),
        };
        let one = |c: fancy_regex::Captures<'_>| Match {
            first: c.get(1).map(|m| m.as_str().to_string()),
            text: c.name("text").map(|m| m.as_str().to_string()),
            value: c.name("value").map(|m| m.as_str().to_string()),
        };
        if self.global {
            re.captures_iter(text)
                .map(|c| c.map(one).map_err(error))
                .collect()
        } else {
            Ok(re
                .captures(text)
                .map_err(error)?
                .into_iter()
                .map(one)
                .collect())
        }
    }
}

/// The last line of an engine's error message (the first lines repeat the pattern).
fn last_line(message: &str) -> String {
    message.lines().last().unwrap_or("").trim().to_string()
}

/// JavaScript reads a `{` that does not start a `{n}`, `{n,}` or `{n,m}` quantifier (and a
/// lone `}`) as a literal brace; Rust's engine refuses it. Escape those.
fn literal_braces(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let (mut i, mut in_class, mut in_quantifier) = (0, false, false);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let rest: String = chars[i + 1..].iter().collect();
                let quantifier = rest.find('}').is_some_and(|end| {
                    let body = &rest[..end];
                    let mut parts = body.splitn(2, ',');
                    let first = parts.next().unwrap_or("");
                    !first.is_empty()
                        && first.chars().all(|d| d.is_ascii_digit())
                        && parts
                            .next()
                            .is_none_or(|m| m.chars().all(|d| d.is_ascii_digit()))
                });
                if quantifier {
                    in_quantifier = true;
                } else {
                    out.push('\\');
                }
            }
            '}' if !in_class => {
                if in_quantifier {
                    in_quantifier = false;
                } else {
                    out.push('\\');
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(re: &str, text: &str) -> Vec<Option<String>> {
        JsRegex::new(re)
            .expect("compiles")
            .matches(text)
            .expect("runs")
            .into_iter()
            .map(|m| m.value.or(m.first))
            .collect()
    }

    #[test]
    fn look_around_and_back_references_run_as_in_javascript() {
        // Look-ahead: hosts that are not `-canary`, captured without their port.
        assert_eq!(
            values("/^(?!.*-canary)(?<value>[a-z0-9-]+):\\d+$/", "web-1:9100"),
            [Some("web-1".to_string())]
        );
        assert!(values(
            "/^(?!.*-canary)(?<value>[a-z0-9-]+):\\d+$/",
            "web-canary:9100"
        )
        .is_empty());
        // Look-behind and a back reference.
        assert_eq!(
            values("/(?<=node=)(\\w+)/", "x node=db1"),
            [Some("db1".to_string())]
        );
        assert_eq!(values("/^(a+)-\\1$/", "aa-aa"), [Some("aa".to_string())]);
        assert!(values("/^(a+)-\\1$/", "aa-a").is_empty());
        // Global flag: every match.
        assert_eq!(values("/(?<=,)(\\w)/g", "a,b,c").len(), 2);
    }

    #[test]
    fn pathological_or_oversized_regexes_fail_with_a_clear_error() {
        // Catastrophic backtracking around a back reference: stopped by the limit, named.
        let re = JsRegex::new("/^((a+)\\2?)+b$/").expect("compiles");
        let err = re
            .is_match(&"a".repeat(40))
            .map(|_| ())
            .expect_err("backtrack limit");
        assert!(err.to_string().contains("((a+)\\2?)+b"), "{err}");
        let huge = format!("/{}/", "a".repeat(MAX_PATTERN + 1));
        let err = JsRegex::new(&huge).expect_err("too long");
        assert!(err.reason.contains("longer than"), "{err}");
        let err = JsRegex::new("/(?<=a+/").expect_err("does not compile");
        assert!(err.to_string().contains("is not supported"), "{err}");
    }
}
