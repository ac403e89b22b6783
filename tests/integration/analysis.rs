//! The engine on backfilled fleets: values, levels, evidence, inventory, reports.

use gregg_insights::{
    analysis::{self, AnalysisError},
    catalog::{self, ThresholdOverride},
    engine::Level,
    insight::{IssueType, Severity},
    promql::Selector,
    report::{self, Format},
};
use gregg_testkit::{
    faults::{Fault, FaultServer},
    scenarios::{self, Scenario},
};

use crate::support::{block_on, client, dead_url, request, serve};

#[test]
fn cpu_utilization_per_instance_matches_the_generated_load() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let check = catalog.check("cpu.utilization").expect("check exists");
    let mut r = request(&scenario);
    r.observe = vec!["cpu.utilization".into()];
    let analysis = block_on(analysis::analyze(&c, catalog, &r)).expect("analysis");

    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.observations.len(), scenario.hosts.len());
    for host in &scenario.hosts {
        let expected = Scenario::mean_utilization(host, 600);
        let o = outcome
            .observations
            .iter()
            .find(|o| o.instance == host.instance)
            .expect("every host observed");
        assert!(
            (o.value - expected).abs() < 0.05,
            "{}: {} vs {expected}",
            host.instance,
            o.value
        );
        let level = if expected >= check.critical {
            Level::Critical
        } else if expected >= check.warning {
            Level::Warning
        } else {
            Level::Ok
        };
        assert_eq!(o.level, level, "{}", host.instance);
    }
    assert!(outcome
        .observations
        .windows(2)
        .all(|w| w[0].value >= w[1].value));

    let busy = analysis
        .insights
        .iter()
        .find(|i| i.check == "cpu.utilization" && i.instance.as_deref() == Some("busy-1:9100"))
        .expect("busy-1 is reported");
    let host = scenario.host("busy-1:9100").expect("host");
    assert_eq!(busy.evidence.get("cpu_count"), Some(f64::from(host.cpus)));
    assert!(busy
        .evidence
        .get("steal_percent")
        .is_some_and(|v| v.abs() < 0.01));
    assert!(busy
        .evidence
        .get("cpu_utilization_percent")
        .is_some_and(|v| (v - 97.0).abs() < 0.05));
    assert_eq!(busy.evidence.get("held_seconds"), Some(600.0));
    assert_eq!(busy.id, "cpu.utilization:busy-1:9100");
    assert_eq!(busy.issue_type, IssueType::Capacity);
    assert!(busy.started_at.is_some() && busy.ended_at.is_some());
    assert!(busy.related_metrics[0].contains("node_cpu_seconds_total"));
    assert!(busy
        .book_reference
        .as_deref()
        .unwrap_or("")
        .contains("Systems Performance"));
    // Busy without saturation never goes above medium.
    assert!(analysis
        .insights
        .iter()
        .all(|i| i.severity <= Severity::Medium));
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
    let analysis = block_on(analysis::analyze(&c, catalog, &lowered)).expect("analysis");
    let flagged: Vec<_> = analysis
        .insights
        .iter()
        .filter(|i| i.check == "cpu.utilization")
        .collect();
    assert_eq!(flagged.len(), scenario.hosts.len(), "every host is past 5%");
    assert!(flagged
        .iter()
        .all(|i| i.evidence.get("cpu_utilization_critical_threshold_percent") == Some(50.0)));

    let target = &scenario.hosts[0].instance;
    let mut narrowed = request(&scenario);
    narrowed.selector = Selector::parse(&format!("instance=\"{target}\"")).expect("selector");
    narrowed.observe = vec!["cpu.utilization".into()];
    let analysis = block_on(analysis::analyze(&c, catalog, &narrowed)).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), 1);
    assert_eq!(&outcome.observations[0].instance, target);
    assert_eq!(analysis.inventory.instances, vec![target.clone()]);
}

#[test]
fn utilization_is_right_for_targets_younger_than_the_window() {
    // Rates over a window only partly covered by samples are scaled down; a `1 - rate(idle)`
    // formula then reports quiet hosts as busy. The check must not, and nothing is sustained.
    let scenario = scenarios::cpu_fresh_targets();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let mut r = request(&scenario);
    r.observe = vec!["cpu.utilization".into()];
    let analysis = block_on(analysis::analyze(&c, catalog::builtin(), &r)).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), scenario.hosts.len());
    for host in &scenario.hosts {
        let o = outcome
            .observations
            .iter()
            .find(|o| o.instance == host.instance)
            .expect("every host observed");
        let expected = host.utilization_percent_at(0.0);
        assert!(
            (o.value - expected).abs() < 0.05,
            "{}: {} vs {expected}",
            host.instance,
            o.value
        );
        assert_eq!(o.level, Level::Ok, "45 s is not sustained over 10 minutes");
    }
}

#[test]
fn inventory_reports_versions_interval_and_collector_coverage() {
    let scenario = scenarios::missing_collectors();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(&scenario),
    ))
    .expect("analysis");
    let inv = &analysis.inventory;
    let host = &scenario.hosts[0];
    assert_eq!(inv.instances, vec![host.instance.clone()]);
    assert_eq!(inv.exporter_versions.get(&host.version), Some(&1));
    assert_eq!(
        inv.scrape_interval.map(|d| d.as_secs_f64().round()),
        Some(scenarios::STEP as f64)
    );
    for coverage in &inv.collectors {
        let (failing, absent) = (
            usize::from(host.failing.contains(&coverage.name.as_str())),
            usize::from(host.disabled.contains(&coverage.name.as_str())),
        );
        assert_eq!(
            (coverage.failing, coverage.absent),
            (failing, absent),
            "{coverage:?}"
        );
    }
    let missing: Vec<&str> = inv
        .missing_on(&host.instance)
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let mut expected: Vec<&str> = host
        .failing
        .iter()
        .chain(host.disabled.iter())
        .copied()
        .collect();
    expected.sort_unstable();
    assert_eq!(missing, expected);
}

#[test]
fn unknown_collector_status_is_not_reported_as_missing_collectors() {
    let scenario = scenarios::cpu_without_collector_status();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(&scenario),
    ))
    .expect("analysis");
    assert_eq!(analysis.inventory.instances.len(), scenario.hosts.len());
    assert!(!analysis.inventory.collector_status_known());
    assert!(analysis.insights.iter().all(|i| i.check != "coverage"));
}

#[test]
fn reports_agree_with_the_analysis() {
    let scenario = scenarios::disk_bottleneck();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let catalog = catalog::builtin();
    let analysis = block_on(analysis::analyze(&c, catalog, &request(&scenario))).expect("analysis");
    let count = |s: Severity| analysis.insights.iter().filter(|i| i.severity == s).count();

    let text = report::render(&analysis, catalog, Format::Text);
    for heading in [
        "SUMMARY:",
        "OBSERVATION:",
        "EVIDENCE:",
        "ROOT CAUSE:",
        "IMMEDIATE ACTION:",
        "INVESTIGATION STEPS:",
        "LONG-TERM FIX:",
        "Reference: Systems Performance",
    ] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    assert!(
        text.contains(&format!("Critical Issues: {}", count(Severity::Critical))),
        "{text}"
    );
    assert!(text.contains(&format!("Total Findings:  {}", analysis.insights.len())));
    assert!(text.contains("NOT OBSERVABLE WITH NODE_EXPORTER"));

    let rendered = report::render(&analysis, catalog, Format::Json);
    let mut written = Vec::new();
    report::write(&analysis, catalog, Format::Json, &mut written).expect("written");
    assert_eq!(
        String::from_utf8(written).expect("UTF-8"),
        rendered,
        "the CLI's streamed JSON differs from the rendered one"
    );
    let json: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
    for key in [
        "evaluated_at",
        "window",
        "prometheus",
        "summary",
        "insights",
    ] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert_eq!(json["window"], "10m");
    assert_eq!(json["summary"]["critical"], count(Severity::Critical));
    let insight = &json["insights"][0];
    for field in [
        "id",
        "timestamp",
        "methodology",
        "component",
        "issue_type",
        "use_signal",
        "severity",
        "title",
        "observation",
        "evidence",
        "root_cause",
        "immediate_action",
        "investigation_steps",
        "long_term_fix",
        "related_metrics",
        "confidence",
        "book_reference",
        "instance",
        "device",
        "check",
        "started_at",
        "ended_at",
    ] {
        assert!(
            insight.get(field).is_some(),
            "insight field {field} missing: {insight}"
        );
    }
    assert!(insight["evidence"].is_object());
    assert_eq!(insight["check"], "disk.bottleneck");

    let markdown = report::render(&analysis, catalog, Format::Markdown);
    assert!(markdown.starts_with("# Systems performance analysis report"));
    assert!(markdown.contains("## CRITICAL ISSUES"), "{markdown}");
}

#[test]
fn unusable_prometheus_and_unknown_checks_fail_the_analysis() {
    let catalog = catalog::builtin();
    let scenario = scenarios::cpu_mixed();
    let c = client(&dead_url());
    match block_on(analysis::analyze(&c, catalog, &request(&scenario))) {
        Err(AnalysisError::Prometheus(e)) => assert_eq!(e.kind(), "unreachable"),
        other => panic!("expected a Prometheus error, got {other:?}"),
    }
    let mut r = request(&scenario);
    r.checks = Some(vec!["cpu.nope".into()]);
    assert!(matches!(
        block_on(analysis::analyze(&c, catalog, &r)),
        Err(AnalysisError::UnknownCheck(_))
    ));
}

#[test]
fn a_failing_check_is_reported_and_the_others_complete() {
    // A proxy in front of the real Prometheus fails only the CPU PSI query (as Prometheus does
    // for a query it cannot evaluate); every other check must complete, the failure must be an
    // info insight naming the check, and the fallback chain must carry on with schedstat.
    let scenario = scenarios::cpu_bottleneck_psi();
    let prometheus = serve(&scenario);
    let proxy = FaultServer::proxy(
        prometheus.addr(),
        "node_pressure_cpu_waiting_seconds_total",
        Fault::prometheus_error(
            422,
            "execution",
            "query processing would load too many samples",
        ),
    );
    let c = client(&proxy.url());
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(&scenario),
    ))
    .expect("analysis");
    let failed: Vec<_> = analysis
        .outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .map(|o| o.check.as_str())
        .collect();
    assert_eq!(failed, vec!["cpu.saturation.psi"]);
    let note = analysis
        .insights
        .iter()
        .find(|i| i.id == "check_failed:cpu.saturation.psi")
        .expect("the failed check gets an info insight");
    assert_eq!(note.severity, Severity::Info);
    assert!(
        note.observation.contains("too many samples"),
        "{}",
        note.observation
    );
    let bottleneck = analysis
        .insights
        .iter()
        .find(|i| i.check == "cpu.bottleneck")
        .expect("the bottleneck is still found");
    assert!(
        bottleneck.observation.contains("run-queue wait"),
        "{}",
        bottleneck.observation
    );
}

#[test]
fn prometheus_does_each_piece_of_work_once() {
    // cpu.imbalance's guard is cpu.utilization's series: asked for once. The weaker CPU
    // saturation signals run only where PSI has no data (nopsi-*) or found something
    // (psi-hot, for corroboration), never for the calm hosts PSI already cleared.
    let scenario = scenarios::cpu_saturation_signals_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(&scenario),
    ))
    .expect("analysis");

    let utilization = analysis.outcome("cpu.utilization").expect("ran");
    let sent = |promql: &str| {
        analysis
            .queries
            .iter()
            .filter(|q| q.promql == promql)
            .count()
    };
    assert_eq!(sent(&utilization.query), 1, "{:#?}", analysis.queries);
    assert!(!analysis
        .queries
        .iter()
        .any(|q| q.purpose == "cpu.imbalance/guard"));
    // Within the USE run no query text repeats. The workload method's range covers twice the
    // window (baseline + window), so a measure whose expression equals a USE guard's (reads/s,
    // writes/s) is a different range, not the same work: allowed across methods only.
    let method_of = |purpose: &str| {
        if purpose.starts_with("workload.") || purpose.starts_with("latency.") {
            "baseline"
        } else {
            "use"
        }
    };
    let mut promql: Vec<(&str, &str, &str)> = analysis
        .queries
        .iter()
        .map(|q| (q.promql.as_str(), q.kind.as_str(), method_of(&q.purpose)))
        .collect();
    promql.sort_unstable();
    let twice: Vec<_> = promql.windows(2).filter(|w| w[0] == w[1]).collect();
    assert!(twice.is_empty(), "sent twice: {twice:#?}");

    for weaker in [
        "cpu.saturation.runqueue",
        "cpu.saturation.runnable",
        "cpu.saturation.load",
    ] {
        let outcome = analysis.outcome(weaker).expect("ran");
        assert!(
            outcome
                .note
                .as_deref()
                .is_some_and(|n| n.contains("3 instance(s)")),
            "{weaker}: {:?}",
            outcome.note
        );
        for host in ["psi-hot", "nopsi-hot", "nopsi-quiet"] {
            assert!(outcome.query.contains(host), "{weaker}: {}", outcome.query);
        }
        assert!(
            !outcome.query.contains("calm-"),
            "{weaker}: {}",
            outcome.query
        );
    }
    // psi-hot's finding is still corroborated by the signals run for it.
    let psi_hot = analysis
        .insights
        .iter()
        .find(|i| i.id == "cpu.bottleneck:psi-hot:9100")
        .expect("psi-hot bottleneck");
    assert!(
        psi_hot.evidence.get("runqueue_waiting_per_cpu").is_some(),
        "{:?}",
        psi_hot.evidence
    );

    // Where PSI clears every host, the weaker signals are not asked at all.
    let healthy = scenarios::healthy_fleet();
    let prometheus = serve(&healthy);
    let c = client(&prometheus.url());
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(&healthy),
    ))
    .expect("analysis");
    let runnable = analysis.outcome("cpu.saturation.runnable").expect("listed");
    assert!(
        runnable
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("not needed")),
        "{:?}",
        runnable.note
    );
    assert!(!analysis
        .queries
        .iter()
        .any(|q| q.purpose.starts_with("cpu.saturation.runnable")));
}
