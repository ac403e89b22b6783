//! Query JSON as Grafana relays it from panels (and anyone who can call the API): any bytes.
//! Parsing must answer `Ok` or a field-naming error, never panic; the `instances` filter of
//! an accepted query must become a matcher that renders to a selector that parses again.
#![no_main]

use gregg_insights::{
    promql::{MatchOp, Matcher, Selector},
    request::query,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    // Grafana sends the type beside the JSON or only inside it; try both ways.
    let inner_type = value
        .get("queryType")
        .and_then(|t| t.as_str())
        .unwrap_or("")
        .to_string();
    for proto_type in ["", inner_type.as_str(), "report"] {
        let Ok(parsed) = query::parse(proto_type, &value) else {
            continue;
        };
        if let Some(regex) = &parsed.filters.instances {
            let matcher = Matcher::new("instance", MatchOp::Regex, regex.clone())
                .expect("`instance` is a valid label name");
            let rendered = Selector::empty().with(matcher.clone()).to_string();
            let again = Selector::parse(&rendered)
                .unwrap_or_else(|e| panic!("rendered `{rendered}` does not parse: {e}"));
            assert_eq!(again.matchers(), &[matcher][..], "{rendered}");
        }
    }
});
