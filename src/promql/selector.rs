//! Label matchers: parsed from user text, rendered back as safe PromQL.
//!
//! Every piece of user input that ends up inside a PromQL selector (the data source's target
//! selector, instance filters, template-variable values) goes through this module. Input is
//! parsed into [`Matcher`]s and re-rendered with our own quoting, so a value can never close a
//! string or a brace and smuggle PromQL into a query.

use std::fmt;

use thiserror::Error;

/// How a matcher compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored RE2 regex, as in Prometheus)
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher, e.g. `job="node"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// Label name; always a valid Prometheus label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// The value, unescaped.
    pub value: String,
}

impl Matcher {
    /// `name="value"`. Fails only for an invalid label name.
    pub fn new(name: &str, op: MatchOp, value: impl Into<String>) -> Result<Self, SelectorError> {
        if !is_label_name(name) {
            return Err(SelectorError::InvalidLabelName {
                name: name.to_string(),
            });
        }
        Ok(Self {
            name: name.to_string(),
            op,
            value: value.into(),
        })
    }

    /// A regex matcher that matches exactly one of `values`, each taken literally.
    ///
    /// Used for instance filters built from template variables: the values are data, not
    /// regexes, so their metacharacters are escaped.
    pub fn any_of<S: AsRef<str>>(name: &str, values: &[S]) -> Result<Self, SelectorError> {
        let alternatives: Vec<String> = values.iter().map(|v| regex_escape(v.as_ref())).collect();
        Matcher::new(name, MatchOp::Regex, alternatives.join("|"))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op.as_str(), quote(&self.value))
    }
}

/// The labels Prometheus gives every series from its scrape target: they tell node_exporter
/// from the kubelet's cAdvisor and from kube-state-metrics, so container queries drop
/// matchers on them (see [`Selector::for_containers`]).
pub const SCRAPE_TARGET_LABELS: &[&str] = &["job", "instance"];

/// A list of matchers, rendered without braces so it can be spliced into any selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    matchers: Vec<Matcher>,
}

impl Selector {
    /// The empty selector: matches every series of the metric it is spliced into.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parse user text such as `job="node", env=~"prod|stage"` (braces optional).
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Parser::new(text).selector()
    }

    /// The matchers, in order.
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// True when no matcher restricts anything.
    pub fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }

    /// This selector with one more matcher appended.
    #[must_use]
    pub fn with(mut self, matcher: Matcher) -> Self {
        self.matchers.push(matcher);
        self
    }

    /// The selector narrowed to one instance (`instance="…"` added), for the follow-up
    /// queries a finding names.
    #[must_use]
    pub fn narrowed_to(&self, instance: &str) -> Self {
        self.clone().with(Matcher {
            name: "instance".into(),
            op: MatchOp::Equal,
            value: instance.to_string(),
        })
    }

    /// The selector narrowed to one container named `namespace/pod/container` (a container
    /// finding's instance): `namespace`, `pod` and `container` matchers added. A name of
    /// another shape narrows nothing.
    #[must_use]
    pub fn narrowed_to_container(&self, name: &str) -> Self {
        let parts: Vec<&str> = name.splitn(3, '/').collect();
        let [namespace, pod, container] = parts.as_slice() else {
            return self.clone();
        };
        [
            ("namespace", namespace),
            ("pod", pod),
            ("container", container),
        ]
        .into_iter()
        .fold(self.clone(), |s, (label, value)| {
            s.with(Matcher {
                name: label.into(),
                op: MatchOp::Equal,
                value: value.to_string(),
            })
        })
    }

    /// The selector narrowed to any of `instances` (`instance=~"a|b"` added), for queries
    /// about a few flagged hosts. An empty list selects no target (`instance=~""`); the
    /// selector is left as it is only when the matcher cannot be built.
    #[must_use]
    pub fn narrowed_to_any<S: AsRef<str>>(&self, instances: &[S]) -> Self {
        match Matcher::any_of("instance", instances) {
            Ok(m) => self.clone().with(m),
            Err(_) => self.clone(),
        }
    }

    /// The selector narrowed to the instances from `from` (included) up to `to` (excluded)
    /// in byte order, either end open (one `instance=~` matcher added, see
    /// [`super::between`]): one group of a query split into instance groups, whatever its
    /// size, in a few hundred bytes of query text. `None` when the range is empty.
    #[must_use]
    pub fn narrowed_to_range(&self, from: Option<&str>, to: Option<&str>) -> Option<Self> {
        let regex = match (from, to) {
            (None, None) => return Some(self.clone()),
            (Some(from), None) => super::at_least(from),
            (from, Some(to)) => super::between(from.unwrap_or(""), to)?,
        };
        Some(self.with_instance(MatchOp::Regex, regex))
    }

    /// The selector narrowed to the instances that start with `prefix` and whose rest is from
    /// `from` (included) up to `to` (excluded), either end open ([`super::prefixed_range`]);
    /// `None` when the range is empty. With `outside_prefix`, the groups of a fleet whose
    /// names share a long prefix; without a prefix, [`Self::narrowed_to_range`].
    #[must_use]
    pub fn narrowed_to_prefixed_range(
        &self,
        prefix: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Option<Self> {
        if prefix.is_empty() {
            return self.narrowed_to_range(from, to);
        }
        let regex = super::prefixed_range(prefix, from, to)?;
        Some(self.with_instance(MatchOp::Regex, regex))
    }

    /// The selector narrowed to the instances that do not start with `prefix`: with
    /// [`Self::narrowed_to_prefixed_range`], every instance is in exactly one part.
    #[must_use]
    pub fn outside_prefix(&self, prefix: &str) -> Self {
        self.with_instance(MatchOp::NotRegex, super::starting_with(prefix))
    }

    /// The selector with one more `instance` matcher.
    fn with_instance(&self, op: MatchOp, value: String) -> Self {
        self.clone().with(Matcher {
            name: "instance".into(),
            op,
            value,
        })
    }

    /// The selector for container series (cAdvisor, kube-state-metrics): without its matchers
    /// on [`SCRAPE_TARGET_LABELS`]. `job="node"` or `instance=~"web-.*:9100"` name the
    /// node_exporter targets; the kubelet and kube-state-metrics are other targets, and the
    /// same matchers would hide every container. Other matchers (`cluster`, `env`: labels a
    /// fleet's targets share) still apply.
    #[must_use]
    pub fn for_containers(&self) -> Self {
        Self {
            matchers: self
                .matchers
                .iter()
                .filter(|m| !SCRAPE_TARGET_LABELS.contains(&m.name.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// The matchers [`Self::for_containers`] leaves out, rendered (`job="node"`); empty when
    /// none.
    pub fn left_out_for_containers(&self) -> Vec<String> {
        self.matchers
            .iter()
            .filter(|m| SCRAPE_TARGET_LABELS.contains(&m.name.as_str()))
            .map(Matcher::to_string)
            .collect()
    }

    /// Both selectors' matchers (a series must satisfy all of them).
    #[must_use]
    pub fn and(mut self, other: &Selector) -> Self {
        self.matchers.extend(other.matchers.iter().cloned());
        self
    }
}

impl fmt::Display for Selector {
    /// Renders `a="b",c=~"d"`: no braces, no trailing comma, every value re-quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// Why a selector could not be parsed; the message points at the offending part.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectorError {
    /// A label name that Prometheus would reject.
    #[error(
        "`{name}` is not a valid label name (letters, digits and `_`, not starting with a digit)"
    )]
    InvalidLabelName {
        /// The rejected name.
        name: String,
    },
    /// Anything else that is not `name op "value"`.
    #[error("invalid label selector at character {position}: {reason} (expected something like job=\"node\", env=~\"prod|stage\")")]
    Syntax {
        /// Character offset (0-based) where parsing stopped.
        position: usize,
        /// What was wrong there.
        reason: String,
    },
}

/// True for a valid (legacy, ASCII) Prometheus label name.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quote a string as a PromQL double-quoted literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Escape RE2 metacharacters so `value` matches itself literally.
pub fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn error<T>(&self, reason: impl Into<String>) -> Result<T, SelectorError> {
        Err(SelectorError::Syntax {
            position: self.pos,
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn selector(mut self) -> Result<Selector, SelectorError> {
        self.skip_space();
        let braced = self.eat('{');
        let mut matchers = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None if !braced => break,
                Some('}') if braced => {
                    self.pos += 1;
                    break;
                }
                None => return self.error("missing closing `}`"),
                _ => {}
            }
            matchers.push(self.matcher()?);
            self.skip_space();
            if self.eat(',') {
                continue;
            }
            match self.peek() {
                None if !braced => break,
                Some('}') if braced => {
                    self.pos += 1;
                    break;
                }
                Some(c) => return self.error(format!("unexpected `{c}` after a matcher")),
                None => return self.error("missing closing `}`"),
            }
        }
        self.skip_space();
        if let Some(c) = self.peek() {
            return self.error(format!("unexpected `{c}` after the selector"));
        }
        Ok(Selector { matchers })
    }

    fn matcher(&mut self) -> Result<Matcher, SelectorError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if name.is_empty() {
            return self.error("expected a label name");
        }
        if !is_label_name(&name) {
            return Err(SelectorError::InvalidLabelName { name });
        }
        self.skip_space();
        let op = if self.eat('=') {
            if self.eat('~') {
                MatchOp::Regex
            } else {
                MatchOp::Equal
            }
        } else if self.eat('!') {
            if self.eat('=') {
                MatchOp::NotEqual
            } else if self.eat('~') {
                MatchOp::NotRegex
            } else {
                return self.error("expected `!=` or `!~`");
            }
        } else {
            return self.error("expected one of =, !=, =~, !~");
        };
        self.skip_space();
        let value = self.string()?;
        Ok(Matcher { name, op, value })
    }

    /// A PromQL string literal: "…" or '…' with Go escapes, or `…` raw.
    fn string(&mut self) -> Result<String, SelectorError> {
        let quote = match self.peek() {
            Some(q @ ('"' | '\'' | '`')) => q,
            _ => return self.error("expected a quoted value"),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c == '\\' && quote != '`' {
                let Some(e) = self.peek() else {
                    return self.error("unterminated escape");
                };
                self.pos += 1;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{07}'),
                    'b' => out.push('\u{08}'),
                    'f' => out.push('\u{0c}'),
                    'v' => out.push('\u{0b}'),
                    '\\' | '"' | '\'' => out.push(e),
                    'u' | 'U' | 'x' => {
                        let len = match e {
                            'u' => 4,
                            'U' => 8,
                            _ => 2,
                        };
                        let hex: String = self.chars.iter().skip(self.pos).take(len).collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == len)
                            .and_then(char::from_u32);
                        match code {
                            Some(ch) => {
                                out.push(ch);
                                self.pos += len;
                            }
                            None => return self.error(format!("invalid \\{e} escape")),
                        }
                    }
                    other => return self.error(format!("unknown escape `\\{other}`")),
                }
            } else if c == '\n' && quote != '`' {
                return self.error("newline inside a quoted value");
            } else {
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_common_forms() {
        let s = Selector::parse(r#"job="node", env=~'prod|stage' , dc!=`a"b`"#).unwrap();
        assert_eq!(s.to_string(), r#"job="node",env=~"prod|stage",dc!="a\"b""#);
        let braced = Selector::parse(r#"{ job = "node", }"#).unwrap();
        assert_eq!(braced.to_string(), r#"job="node""#);
        assert!(Selector::parse("   ").unwrap().is_empty());
        assert!(Selector::parse("{}").unwrap().is_empty());
    }

    #[test]
    fn injection_attempts_stay_inside_the_value() {
        // A value that tries to close the string and the selector stays a value.
        let m = Matcher::new("instance", MatchOp::Equal, r#"x"} or vector(1) or up{a=""#).unwrap();
        let rendered = format!("up{{{m}}}");
        assert_eq!(rendered, r#"up{instance="x\"} or vector(1) or up{a=\""}"#);
        // Parsing text with trailing PromQL is an error, not a longer query.
        assert!(Selector::parse(r#"job="a"} or vector(1)"#).is_err());
        assert!(Selector::parse(r#"job="a" or vector(1)"#).is_err());
    }

    #[test]
    fn errors_point_at_the_problem() {
        match Selector::parse(r#"job="node", 1x="a""#) {
            Err(SelectorError::InvalidLabelName { name }) => assert_eq!(name, "1x"),
            other => panic!("unexpected {other:?}"),
        }
        let err = Selector::parse(r#"job="node"#).unwrap_err().to_string();
        assert!(err.contains("unterminated"), "{err}");
        let err = Selector::parse("job node").unwrap_err().to_string();
        assert!(err.contains("expected one of"), "{err}");
    }

    #[test]
    fn a_container_is_narrowed_by_namespace_pod_and_container() {
        let base = Selector::parse(r#"job="kubelet""#).unwrap();
        assert_eq!(
            base.narrowed_to_container("shop/web-7d9f/app").to_string(),
            r#"job="kubelet",namespace="shop",pod="web-7d9f",container="app""#
        );
        assert_eq!(base.narrowed_to_container("host:9100"), base);
    }

    #[test]
    fn narrowed_to_any_lists_the_instances_or_leaves_the_selector() {
        let base = Selector::parse(r#"job="node""#).unwrap();
        assert_eq!(
            base.narrowed_to_any(&["a:9100", "b.x:9100"]).to_string(),
            r#"job="node",instance=~"a:9100|b\\.x:9100""#
        );
        let none: [&str; 0] = [];
        assert_eq!(
            base.narrowed_to_any(&none).to_string(),
            r#"job="node",instance=~"""#
        );
    }

    #[test]
    fn narrowed_to_range_adds_a_matcher_per_bound() {
        let base = Selector::parse(r#"job="node""#).unwrap();
        assert_eq!(base.narrowed_to_range(None, None), Some(base.clone()));
        assert_eq!(base.narrowed_to_range(Some("d"), Some("b")), None);
        let both = base
            .narrowed_to_range(Some("b"), Some("d"))
            .expect("a range");
        let ops: Vec<(&str, MatchOp)> = both
            .matchers()
            .iter()
            .map(|m| (m.name.as_str(), m.op))
            .collect();
        assert_eq!(ops, [("job", MatchOp::Equal), ("instance", MatchOp::Regex)]);
        let reparsed = Selector::parse(&both.to_string()).unwrap();
        assert_eq!(reparsed, both, "the regexes survive PromQL quoting");
        let first = base.narrowed_to_range(None, Some("d")).expect("a range");
        assert_eq!(first.matchers().len(), 2);
    }

    #[test]
    fn any_of_escapes_regex_metacharacters() {
        let m = Matcher::any_of("instance", &["10.0.0.1:9100", "a|b", "x.*"]).unwrap();
        assert_eq!(
            m.to_string(),
            r#"instance=~"10\\.0\\.0\\.1:9100|a\\|b|x\\.\\*""#
        );
    }

    #[test]
    fn escapes_round_trip() {
        let original = "tab\there \"quoted\" back\\slash \u{1}";
        let m = Matcher::new("l", MatchOp::Equal, original).unwrap();
        let reparsed = Selector::parse(&m.to_string()).unwrap();
        assert_eq!(reparsed.matchers()[0].value, original);
    }

    #[test]
    fn container_series_keep_every_matcher_but_the_scrape_targets() {
        let user = Selector::parse(r#"job="node", cluster="prod", instance=~"web-.*""#).unwrap();
        assert_eq!(user.for_containers().to_string(), r#"cluster="prod""#);
        assert_eq!(
            user.left_out_for_containers(),
            vec![
                r#"job="node""#.to_string(),
                r#"instance=~"web-.*""#.to_string()
            ]
        );
        let plain = Selector::parse(r#"cluster="prod""#).unwrap();
        assert_eq!(plain.for_containers(), plain);
        assert!(plain.left_out_for_containers().is_empty());
    }
}
