//! The engine on a backfilled fleet: values, levels, insights, evidence, coverage, reports.

use std::time::Duration;

use gregg_insights::{
    catalog::{self, ThresholdOverride},
    engine::{self, AnalysisError, AnalysisRequest, Level},
    insight::Severity,
    promql::Selector,
    report::{self, Format},
};
use gregg_testkit::scenarios::{self, Host, Scenario};

use crate::support::{at, block_on, client, dead_url, serve};

fn request(scenario: &Scenario) -> AnalysisRequest {
    AnalysisRequest::new(at(scenario), Duration::from_secs(300), Selector::empty())
}

fn expected_level(host: &Host, warning: f64, critical: f64) -> Level {
    let u = host.utilization_percent();
    if u >= critical {
        Level::Critical
    } else if u >= warning {
        Level::Warning
    } else {
        Level::Ok
    }
}

#[test]
fn cpu_utilization_per_instance_matches_the_generated_load() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let check = catalog.check("cpu.utilization").expect("check exists");
    let analysis = block_on(engine::analyze(&c, catalog, &request(&scenario))).expect("analysis");

    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.observations.len(), scenario.hosts.len());
    for host in &scenario.hosts {
        let o = outcome
            .observations
            .iter()
            .find(|o| o.instance == host.instance)
            .expect("every host observed");
        assert!(
            (o.value - host.utilization_percent()).abs() < 0.01,
            "{}: {} vs {}",
            host.instance,
            o.value,
            host.utilization_percent()
        );
        assert_eq!(o.level, expected_level(host, check.warning, check.critical));
    }
    // Worst first.
    assert!(outcome
        .observations
        .windows(2)
        .all(|w| w[0].value >= w[1].value));

    let flagged: Vec<&Host> = scenario
        .hosts
        .iter()
        .filter(|h| expected_level(h, check.warning, check.critical) > Level::Ok)
        .collect();
    assert_eq!(analysis.insights.len(), flagged.len());
    for host in flagged {
        let insight = analysis
            .insights
            .iter()
            .find(|i| i.instance.as_deref() == Some(host.instance.as_str()))
            .expect("an insight per flagged host");
        let severity = match expected_level(host, check.warning, check.critical) {
            Level::Critical => check.severity.critical,
            _ => check.severity.warning,
        };
        assert_eq!(insight.severity, severity);
        assert_eq!(insight.check, "cpu.utilization");
        assert_eq!(insight.id, format!("cpu.utilization:{}", host.instance));
        assert!(insight.observation.contains(&host.instance));
        assert!(insight
            .book_reference
            .as_deref()
            .unwrap_or("")
            .contains("Systems Performance"));
        let evidence = |name: &str| {
            insight
                .evidence
                .iter()
                .find(|e| e.name == name)
                .unwrap_or_else(|| panic!("evidence {name}"))
        };
        assert_eq!(evidence("cpu_count").value, f64::from(host.cpus));
        assert!((evidence("steal_percent").value - host.steal * 100.0).abs() < 0.01);
        let main = evidence("cpu_utilization");
        assert!(main
            .query
            .as_deref()
            .unwrap_or("")
            .contains("node_cpu_seconds_total"));
        assert!(insight
            .related_metrics
            .iter()
            .all(|q| q.contains(&host.instance)));
    }
    // Most severe first.
    assert!(analysis
        .insights
        .windows(2)
        .all(|w| w[0].severity >= w[1].severity));
}

#[test]
fn utilization_is_right_for_targets_younger_than_the_window() {
    // Rates over a window only partly covered by samples are scaled down; a `1 - rate(idle)`
    // formula then reports quiet hosts as busy. The check must not.
    let scenario = scenarios::cpu_fresh_targets();
    assert!(scenario.history < 300);
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let analysis =
        block_on(engine::analyze(&c, catalog::builtin(), &request(&scenario))).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), scenario.hosts.len());
    for host in &scenario.hosts {
        let o = outcome
            .observations
            .iter()
            .find(|o| o.instance == host.instance)
            .expect("every host observed");
        assert!(
            (o.value - host.utilization_percent()).abs() < 0.01,
            "{}: {} vs {}",
            host.instance,
            o.value,
            host.utilization_percent()
        );
    }
}

#[test]
fn threshold_overrides_and_selectors_change_the_verdict() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();

    let mut lowered = request(&scenario);
    lowered.thresholds.insert(
        "cpu.utilization".into(),
        ThresholdOverride {
            warning: Some(5.0),
            critical: Some(50.0),
        },
    );
    catalog
        .validate_overrides(&lowered.thresholds)
        .expect("valid overrides");
    let analysis = block_on(engine::analyze(&c, catalog, &lowered)).expect("analysis");
    let expected: usize = scenario
        .hosts
        .iter()
        .filter(|h| h.utilization_percent() >= 5.0)
        .count();
    assert_eq!(analysis.insights.len(), expected);
    let criticals = analysis
        .insights
        .iter()
        .filter(|i| {
            i.evidence
                .iter()
                .any(|e| e.name == "threshold_critical" && e.value == 50.0)
        })
        .count();
    assert_eq!(criticals, expected, "overrides appear in the evidence");

    let target = &scenario.hosts[0].instance;
    let mut narrowed = request(&scenario);
    narrowed.selector = Selector::parse(&format!("instance=\"{target}\"")).expect("selector");
    let analysis = block_on(engine::analyze(&c, catalog, &narrowed)).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), 1);
    assert_eq!(&outcome.observations[0].instance, target);
    assert_eq!(analysis.inventory.as_ref().map(|i| i.instances), Some(1));
}

#[test]
fn inventory_reports_versions_interval_and_collector_coverage() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let analysis = block_on(engine::analyze(&c, catalog, &request(&scenario))).expect("analysis");
    let inv = analysis.inventory.expect("inventory requested");
    let hosts = scenario.hosts.len();
    assert_eq!(inv.instances, hosts);
    assert_eq!(inv.exporter_versions.get("1.5.0"), Some(&hosts));
    assert_eq!(
        inv.scrape_interval,
        Some(Duration::from_secs(scenarios::STEP as u64))
    );
    for coverage in &inv.collectors {
        match scenarios::COLLECTORS
            .iter()
            .find(|(name, _)| *name == coverage.name)
        {
            Some((_, ok)) if *ok == 1.0 => {
                assert_eq!(
                    (coverage.working, coverage.missing()),
                    (hosts, 0),
                    "{coverage:?}"
                )
            }
            Some(_) => assert_eq!(
                (coverage.failing, coverage.absent),
                (hosts, 0),
                "{coverage:?}"
            ),
            None => assert_eq!(
                (coverage.failing, coverage.absent),
                (0, hosts),
                "{coverage:?}"
            ),
        }
    }
}

#[test]
fn unknown_collector_status_is_not_reported_as_missing_collectors() {
    let scenario = scenarios::cpu_without_collector_status();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let analysis = block_on(engine::analyze(&c, catalog, &request(&scenario))).expect("analysis");
    let inv = analysis.inventory.as_ref().expect("inventory requested");
    assert_eq!(inv.instances, scenario.hosts.len());
    assert!(!inv.collector_status_known());
    assert_eq!(inv.missing_collectors().count(), 0);
    let text = report::render_text(&analysis, catalog);
    assert!(!text.contains("COVERAGE GAPS"), "{text}");
}

#[test]
fn reports_agree_with_the_analysis() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let analysis = block_on(engine::analyze(&c, catalog, &request(&scenario))).expect("analysis");
    let count = |s: Severity| analysis.insights.iter().filter(|i| i.severity == s).count();

    let text = report::render(&analysis, catalog, Format::Text);
    assert!(
        text.contains(&format!("High Priority:   {}", count(Severity::High))),
        "{text}"
    );
    assert!(text.contains(&format!("Total Findings:  {}", analysis.insights.len())));
    for i in &analysis.insights {
        assert!(text.contains(&i.title), "{text}");
    }
    assert!(text.contains("schedstat: missing on 3 of 3"), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&report::render(&analysis, catalog, Format::Json)).expect("JSON");
    assert_eq!(json["summary"]["total"], analysis.insights.len());
    assert_eq!(json["summary"]["medium"], count(Severity::Medium));
    assert_eq!(
        json["insights"].as_array().map(Vec::len),
        Some(analysis.insights.len())
    );
    assert!(json["queries"].as_array().is_some_and(|q| !q.is_empty()));

    let markdown = report::render(&analysis, catalog, Format::Markdown);
    assert!(markdown.starts_with("# Systems performance analysis report"));
    assert!(markdown.contains("| `cpu.utilization` | 3 |"), "{markdown}");
}

#[test]
fn unusable_prometheus_and_unknown_checks_fail_the_analysis() {
    let catalog = catalog::builtin();
    let scenario = scenarios::cpu_mixed();
    let c = client(&dead_url());
    match block_on(engine::analyze(&c, catalog, &request(&scenario))) {
        Err(AnalysisError::Prometheus(e)) => assert_eq!(e.kind(), "unreachable"),
        other => panic!("expected a Prometheus error, got {other:?}"),
    }
    let mut r = request(&scenario);
    r.checks = Some(vec!["cpu.nope".into()]);
    assert!(matches!(
        block_on(engine::analyze(&c, catalog, &r)),
        Err(AnalysisError::UnknownCheck(_))
    ));
}
