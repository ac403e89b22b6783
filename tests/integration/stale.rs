//! Issue 17 item 4: stale data is not "no data". A Prometheus whose node_exporter samples
//! stopped hours ago, and a single instance that stopped inside the window, are said as such,
//! with when the newest samples are, in health and in the analysis' notes.

use gregg_insights::{analysis, catalog, health, promql::Selector};
use gregg_testkit::scenarios;

use crate::support::{at, block_on, client, request};

#[test]
fn health_says_when_scraping_stopped_rather_than_no_data() {
    let s = scenarios::all_scraping_stopped();
    let prometheus = s.serve();
    let c = client(&prometheus.url());
    let report = block_on(health::check_at(
        &c,
        catalog::builtin(),
        &Selector::empty(),
        at(&s),
    ));
    let message = report.message;
    assert!(!message.contains("no target exposes"), "{message}");
    assert!(message.contains("scraping stopped"), "{message}");
    // The newest samples are three hours and one scrape (with its jitter) before the end.
    assert!(message.contains("2025-06-02 08:59:4"), "{message}");
    assert!(
        message.contains("old-1:9100") && message.contains("old-2:9100"),
        "{message}"
    );
    assert!(message.contains("2 instances"), "{message}");
}

#[test]
fn the_analysis_names_an_instance_that_stopped_inside_the_window() {
    let s = scenarios::scraping_stopped();
    let prometheus = s.serve();
    let c = client(&prometheus.url());
    let mut r = request(&s);
    r.window = std::time::Duration::from_secs(3600);
    let a = block_on(analysis::analyze(&c, catalog::builtin(), &r)).expect("analysis");
    assert_eq!(a.inventory.instances, vec!["up-1:9100".to_string()]);
    let note = a
        .warnings
        .iter()
        .find(|w| w.contains("stopped"))
        .unwrap_or_else(|| panic!("no note on gone-1: {:?}", a.warnings));
    assert!(note.contains("gone-1:9100"), "{note}");
    assert!(!note.contains("up-1:9100"), "{note}");
    // Its last sample is 20 minutes (and one scrape) before the end.
    assert!(note.contains("2025-06-02 11:39 UTC"), "{note}");
}

#[test]
fn the_analysis_of_a_selection_whose_data_stopped_says_so_in_its_notes() {
    let s = scenarios::all_scraping_stopped();
    let prometheus = s.serve();
    let c = client(&prometheus.url());
    let a = block_on(analysis::analyze(&c, catalog::builtin(), &request(&s))).expect("analysis");
    assert!(a.inventory.instances.is_empty());
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("scraping stopped") && w.contains("08:59:4")),
        "{:?}",
        a.warnings
    );
}
