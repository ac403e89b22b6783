//! This machine, live: a real node_exporter scraped by a real Prometheus.

use std::time::Duration;

use chrono::Utc;
use gregg_insights::{
    catalog,
    engine::{self, AnalysisRequest},
    health,
    promql::Selector,
};
use gregg_testkit::Live;

use crate::support::{block_on, client};

/// Collectors Prometheus says are working on the node_exporter target, straight from
/// `node_scrape_collector_success` (not through the code under test).
fn working_collectors(live: &Live) -> Vec<String> {
    let answer = live
        .prometheus
        .query("node_scrape_collector_success == 1")
        .expect("query answers");
    answer["data"]["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| s["metric"]["collector"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn health_and_analysis_of_this_machine() {
    let live = Live::start();
    let c = client(&live.prometheus.url());
    let catalog = catalog::builtin();

    let report = block_on(health::check(&c, catalog, &Selector::empty()));
    assert_eq!(report.status, health::Status::Ok, "{}", report.message);
    assert!(
        report.message.contains("1 instance exposes"),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("scraped every 1s"),
        "{}",
        report.message
    );
    assert_eq!(report.details["instances"], 1);

    // Every collector the catalog relies on that Prometheus does not show as working is reported
    // missing (in the details) and named (in the message).
    let working = working_collectors(&live);
    let details = report.details["collectors"]
        .as_array()
        .expect("collector details");
    assert_eq!(details.len(), catalog.collectors().len());
    for c in details {
        let name = c["name"].as_str().expect("name");
        let missing = c["failing"].as_u64().unwrap_or(0) + c["absent"].as_u64().unwrap_or(0);
        assert_eq!(
            missing > 0,
            !working.iter().any(|w| w == name),
            "{name}: {c}"
        );
        if missing > 0 {
            assert!(
                report.message.contains(&format!("; {name} ("))
                    || report.message.contains(&format!(": {name} (")),
                "{name}: {}",
                report.message
            );
        }
    }

    // A selector that matches nothing makes the same Prometheus unhealthy, with its own message.
    let nobody = Selector::parse(r#"job="no-such-job""#).expect("selector");
    let report = block_on(health::check(&c, catalog, &nobody));
    assert_eq!(report.status, health::Status::Error);
    assert!(
        report.message.contains("has no node_exporter data"),
        "{}",
        report.message
    );
    assert!(
        report.message.contains(r#"job="no-such-job""#),
        "{}",
        report.message
    );

    let request = AnalysisRequest::new(Utc::now(), Duration::from_secs(30), Selector::empty());
    let analysis = block_on(engine::analyze(&c, catalog, &request)).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), 1);
    let o = &outcome.observations[0];
    assert_eq!(o.instance, live.node_exporter.target());
    assert!((0.0..=100.0).contains(&o.value), "{}", o.value);
}
