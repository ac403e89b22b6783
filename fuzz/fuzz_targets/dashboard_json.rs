//! Dashboard JSON from a Grafana API: any JSON must be read into panels, its variables
//! substituted and its Prometheus queries extracted (or skipped with a note) without a panic,
//! and every extracted query must be PromQL the parser accepts.
#![no_main]

use std::time::Duration;

use gregg_insights::dashboard::{
    extract::extract,
    model::parse,
    variables::{Intervals, Value as VariableValue, Values},
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let dashboard = parse(&model);
    let mut values = Values::new();
    // Half the variables get a value with the characters that break naive substitution.
    for (k, v) in dashboard.variables.iter().enumerate() {
        if k % 2 == 0 {
            values.set(&v.name, VariableValue::Single("a\"}|.*\\n".into()));
        }
    }
    let intervals = Intervals {
        interval: Duration::from_secs(15),
        scrape: Duration::from_secs(15),
        range: Duration::from_secs(3600),
    };
    let extraction = extract(&dashboard, &values, &intervals, &[], None);
    for target in &extraction.targets {
        assert!(
            promql_parser::parser::parse(&target.promql).is_ok(),
            "an extracted query does not parse: {}",
            target.promql
        );
    }
});
