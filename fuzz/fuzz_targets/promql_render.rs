//! Label escaping and PromQL rendering: any value (instance filters, template-variable values,
//! target selectors) rendered into a selector must parse with Prometheus' grammar
//! (promql-parser) as exactly that selector — the value round-trips and nothing escapes the
//! string or the braces.
#![no_main]

use gregg_insights::promql::{quote, regex_escape, MatchOp, Matcher, Selector};
use libfuzzer_sys::fuzz_target;
use promql_parser::{
    label::MatchOp as ParsedOp,
    parser::{self, Expr},
};

/// The matchers of `up{<selector>}` as Prometheus' grammar sees them (the metric name aside).
fn parsed_matchers(selector: &str) -> Vec<(String, &'static str, String)> {
    let promql = format!("up{{{selector}}}");
    let expr = parser::parse(&promql).unwrap_or_else(|e| panic!("`{promql}` does not parse: {e}"));
    let Expr::VectorSelector(vs) = expr else {
        panic!("`{promql}` is not a single vector selector: {expr:?}");
    };
    assert!(
        vs.matchers.or_matchers.is_empty(),
        "`{promql}` grew `or` matchers"
    );
    vs.matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .map(|m| {
            let op = match &m.op {
                ParsedOp::Equal => "=",
                ParsedOp::NotEqual => "!=",
                ParsedOp::Re(_) => "=~",
                ParsedOp::NotRe(_) => "!~",
            };
            (m.name.clone(), op, m.value.clone())
        })
        .collect()
}

fn op_str(op: MatchOp) -> &'static str {
    match op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector_byte, rest)) = data.split_first() else {
        return;
    };
    let value = String::from_utf8_lossy(rest).into_owned();
    // 1. An arbitrary value under each operator. Regex values must first be valid RE2 (the
    //    plugin checks `instances` with regex-syntax before it builds the matcher).
    let op = [
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ][usize::from(selector_byte % 4)];
    let value = if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
        regex_escape(&value)
    } else {
        value
    };
    let matcher = Matcher::new("instance", op, value.clone()).expect("valid label name");
    let rendered = Selector::empty().with(matcher).to_string();
    assert_eq!(
        parsed_matchers(&rendered),
        vec![("instance".to_string(), op_str(op), value.clone())],
        "{rendered}"
    );
    // 2. `quote` alone is a PromQL string literal of exactly the value.
    let literal = quote(&value);
    let expr = parser::parse(&format!("label_replace(up, \"x\", {literal}, \"\", \"\")"))
        .unwrap_or_else(|e| panic!("{literal} is not a string literal: {e}"));
    assert!(matches!(expr, Expr::Call(_)), "{literal}");
    // 3. Selector text a user typed: accepted text renders to a selector that parses back to
    //    the same matchers, with Prometheus' grammar agreeing.
    if let Ok(selector) = Selector::parse(&String::from_utf8_lossy(rest)) {
        let shown = selector.to_string();
        let again = Selector::parse(&shown).unwrap_or_else(|e| panic!("`{shown}`: {e}"));
        assert_eq!(again, selector, "{shown}");
        if !selector.is_empty() {
            let expected: Vec<(String, &'static str, String)> = selector
                .matchers()
                .iter()
                .map(|m| (m.name.clone(), op_str(m.op), m.value.clone()))
                .collect();
            let regex_ok = selector.matchers().iter().all(|m| {
                !matches!(m.op, MatchOp::Regex | MatchOp::NotRegex)
                    || regex_syntax::Parser::new().parse(&m.value).is_ok()
            });
            if regex_ok {
                assert_eq!(parsed_matchers(&shown), expected, "{shown}");
            }
        }
    }
});
