//! The methods beyond USE on backfilled scenarios: what each finds, with the numbers the
//! scenario was built with (timing, ratios, shares, percentiles), and what each does with
//! bad or missing input.

use chrono::{DateTime, Utc};
use gregg_insights::{
    analysis, catalog,
    insight::{Insight, Methodology, Severity},
    methods::{HistogramRequest, Method, MethodsRequest, Slo},
};
use gregg_testkit::scenarios::{self, Scenario};

use crate::support::{block_on, client, request, serve};

fn analyse(
    scenario: &Scenario,
    adjust: impl FnOnce(&mut analysis::AnalysisRequest),
) -> analysis::Analysis {
    let prometheus = serve(scenario);
    let c = client(&prometheus.url());
    let mut r = request(scenario);
    adjust(&mut r);
    block_on(analysis::analyze(&c, catalog::builtin(), &r)).expect("analysis")
}

fn one<'a>(insights: &'a [Insight], check: &str, instance: &str) -> &'a Insight {
    let found: Vec<&Insight> = insights
        .iter()
        .filter(|i| i.check == check && i.instance.as_deref() == Some(instance))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{check} on {instance}: {:#?}",
        insights.iter().map(|i| &i.id).collect::<Vec<_>>()
    );
    found[0]
}

fn offset(scenario: &Scenario, t: Option<DateTime<Utc>>) -> i64 {
    t.expect("a time").timestamp() - scenario.at
}

#[test]
fn workload_shift_reports_both_numbers_ratio_and_start() {
    let s = scenarios::workload_shift();
    let a = analyse(&s, |_| {});
    let cs = one(&a.insights, "workload.context_switches", "db-1:9100");
    assert_eq!(cs.methodology, Methodology::WorkloadCharacterization);
    let ratio = cs.evidence.get("change_ratio").expect("ratio");
    assert!((ratio - 5.0).abs() < 0.25, "ratio {ratio}");
    let before = cs
        .evidence
        .get("baseline_context_switches_per_second")
        .expect("baseline");
    let after = cs
        .evidence
        .get("window_context_switches_per_second")
        .expect("window");
    assert!(
        (before - 9_000.0).abs() < 300.0 && (after - 45_000.0).abs() < 1_500.0,
        "{before} → {after}"
    );
    // It began 7 minutes before the end: within one step (60 s) of the truth.
    let began = offset(&s, cs.started_at);
    assert!(
        (began - scenarios::SHIFT_FROM).abs() <= 60,
        "began at {began}"
    );
    // Disk writes tripled on sda, with utilization unchanged: a workload change, not a problem.
    let writes = a
        .insights
        .iter()
        .find(|i| i.check == "workload.disk_write_iops" && i.device.as_deref() == Some("sda"))
        .expect("write IOPS change");
    assert!((writes.evidence.get("change_ratio").unwrap_or(0.0) - 3.0).abs() < 0.2);
    assert!(writes.severity <= Severity::Low);
    // The quiet hosts changed nothing.
    assert!(a
        .insights
        .iter()
        .filter(|i| i.methodology == Methodology::WorkloadCharacterization)
        .all(|i| i.instance.as_deref() == Some("db-1:9100")));
    let summary = a
        .workload
        .iter()
        .find(|m| m.id == "workload.context_switches")
        .expect("summary");
    assert_eq!((summary.targets, summary.changed), (3, 1));
}

#[test]
fn the_culprit_process_is_named_with_its_share_and_commands() {
    let s = scenarios::culprit_process();
    let a = analyse(&s, |_| {});
    let cpu = one(&a.insights, "cpu.utilization", "app-1:9100");
    let cpus = cpu
        .evidence
        .get("process_postgres_cpus_ratio")
        .expect("postgres evidence");
    assert!((cpus - 6.4).abs() < 0.1, "postgres uses {cpus} CPUs");
    assert!(
        cpu.observation
            .contains("processes by CPU (process-exporter): postgres"),
        "{}",
        cpu.observation
    );
    // postgres is 6.4 of 6.95 CPUs the groups use: about 92 %.
    assert!(
        cpu.observation.contains("postgres 6.40 (92%)"),
        "{}",
        cpu.observation
    );
    assert!(
        cpu.investigation_steps[0].contains("busiest")
            || cpu
                .investigation_steps
                .iter()
                .any(|s| s.contains("pgrep -d, -x postgres")),
        "{:?}",
        cpu.investigation_steps
    );
    assert!(cpu
        .related_metrics
        .iter()
        .any(|q| q.contains("namedprocess_namegroup_cpu_seconds_total")));
    // The per-CPU level is there too.
    assert!(cpu.observation.contains("busiest CPUs (node_exporter)"));
    // Only the top five processes are named.
    let named = cpu
        .evidence
        .iter()
        .filter(|(n, _)| n.starts_with("process_") && n.ends_with("_cpus_ratio"))
        .count();
    assert_eq!(named, 5);
}

#[test]
fn the_slo_breach_names_p99_with_its_bucket_and_the_trend() {
    let s = scenarios::latency_slo();
    let a = analyse(&s, |_| {});
    let slo = one(&a.insights, "latency.slo", "api-1:8080");
    assert_eq!(slo.methodology, Methodology::LatencyAnalysis);
    let p99 = slo.evidence.get("p99_seconds").expect("p99");
    let p50 = slo.evidence.get("p50_seconds").expect("p50");
    assert!((0.5..=1.0).contains(&p99), "p99 {p99}");
    assert_eq!(slo.evidence.get("p99_lower_seconds"), Some(0.5));
    assert_eq!(slo.evidence.get("p99_upper_seconds"), Some(1.0));
    assert!(p50 < 0.01, "p50 {p50}");
    let attained = slo
        .evidence
        .get("slo_attainment_percent")
        .expect("attainment");
    assert!((attained - 96.5).abs() < 0.1, "{attained}");
    let before = slo
        .evidence
        .get("baseline_p99_seconds")
        .expect("baseline p99");
    assert!((0.025..=0.05).contains(&before), "{before}");
    // The mean from _sum/_count: 0.6·8 ms + 0.365·20 ms + 0.035·800 ms = 40.1 ms.
    let mean = slo.evidence.get("mean_seconds").expect("mean");
    assert!((mean - 0.0401).abs() < 0.001, "{mean}");
    assert!(
        slo.observation.contains("3.5% in 500ms–1s"),
        "{}",
        slo.observation
    );
    let summary = a.latency.as_ref().expect("histogram summary");
    assert!(summary.problems.is_empty() && summary.confidence >= 70.0);
    // Missed from the first point of the window to the last.
    assert!(offset(&s, slo.ended_at) == 0 && offset(&s, slo.started_at) <= -540);

    // The same histogram with an objective it meets: no breach; p99 grew twentyfold against
    // the window before, which is worth a low finding, not more.
    let met = analyse(&s, |r| {
        r.methods.histogram = Some(
            HistogramRequest::parse(
                "http_request_duration_seconds",
                Some(Slo::parse("1s@99").expect("slo")),
            )
            .expect("histogram"),
        )
    });
    let summary = one(&met.insights, "latency.histogram", "api-1:8080");
    assert_eq!(summary.severity, Severity::Low);
    assert!(summary.title.contains("up from"), "{}", summary.title);
    assert!(summary.observation.contains("SLO met"));
}

#[test]
fn a_broken_histogram_gives_a_low_confidence_result_with_reasons() {
    let s = scenarios::latency_bad_histogram();
    let a = analyse(&s, |_| {});
    let h = one(&a.insights, "latency.histogram", "api-2:8080");
    assert!(h.confidence < 50.0, "confidence {}", h.confidence);
    assert!(h.severity <= Severity::Low);
    assert!(
        h.observation.contains("no +Inf bucket"),
        "{}",
        h.observation
    );
    assert!(
        h.observation.contains("only 6 observations"),
        "{}",
        h.observation
    );

    // A histogram that does not exist: a note, no insight, no failure.
    let none = analyse(&s, |r| {
        r.methods.histogram = Some(HistogramRequest::parse("no_such_seconds", None).expect("name"));
    });
    assert!(none
        .insights
        .iter()
        .all(|i| i.methodology != Methodology::LatencyAnalysis
            || i.check.starts_with("latency.disk")
            || i.check == "latency.runqueue"));
    assert!(
        none.warnings
            .iter()
            .any(|w| w.contains("no `no_such_seconds_bucket` series")),
        "{:?}",
        none.warnings
    );
}

#[test]
fn one_outlier_among_fifty_peers_and_groups_are_respected() {
    let s = scenarios::fleet_outlier();
    let a = analyse(&s, |_| {});
    let outliers: Vec<&Insight> = a
        .insights
        .iter()
        .filter(|i| i.methodology == Methodology::FleetOutliers)
        .collect();
    assert_eq!(
        outliers.len(),
        1,
        "{:#?}",
        outliers.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let o = outliers[0];
    assert_eq!(o.instance.as_deref(), Some("peer-17:9100"));
    assert_eq!(o.evidence.get("peers_count"), Some(49.0));
    let median = o
        .evidence
        .get("peer_median_cpu_utilization_percent")
        .expect("median");
    assert!((28.0..=34.0).contains(&median), "{median}");
    // Grouped by a label every host lacks: one group, same answer. Grouped by instance:
    // nobody has peers, nobody is an outlier.
    let by_instance = analyse(&s, |r| r.methods.group_by = "instance".into());
    assert!(by_instance
        .insights
        .iter()
        .all(|i| i.methodology != Methodology::FleetOutliers));
    assert!(by_instance
        .warnings
        .iter()
        .any(|w| w.contains("nobody has peers")));
    // Only the outlier method: the peer checks run, nothing else is reported.
    let only = analyse(&s, |r| {
        r.methods = MethodsRequest {
            methods: vec![Method::Outliers],
            ..MethodsRequest::default()
        }
    });
    assert_eq!(only.insights.len(), 1);
    assert!(only
        .queries
        .iter()
        .all(|q| !q.purpose.starts_with("memory.errors")));
    assert!(only.outcomes.is_empty() && only.workload.is_empty());
}

#[test]
fn a_condition_inside_the_window_has_its_start_and_end() {
    let s = scenarios::transient_condition();
    let a = analyse(&s, |_| {});
    let b = one(&a.insights, "cpu.bottleneck", "blip-1:9100");
    let (started, ended) = (offset(&s, b.started_at), offset(&s, b.ended_at));
    // One point per minute: each edge within a step (and a rate interval) of the truth.
    assert!(
        (started - scenarios::TRANSIENT_FROM).abs() <= 60,
        "started at {started}"
    );
    assert!(
        (ended - scenarios::TRANSIENT_TO).abs() <= 60,
        "ended at {ended}"
    );
}

#[test]
fn without_history_the_baseline_comparison_is_skipped_with_a_note() {
    let s = scenarios::cpu_fresh_targets();
    let a = analyse(&s, |_| {});
    assert!(a
        .insights
        .iter()
        .all(|i| i.methodology != Methodology::WorkloadCharacterization));
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("workload.context_switches: no data before the window")),
        "{:?}",
        a.warnings
    );
}

#[test]
fn methods_can_be_chosen() {
    let s = scenarios::workload_shift();
    let a = analyse(&s, |r| {
        r.methods = MethodsRequest {
            methods: vec![Method::Workload],
            ..MethodsRequest::default()
        }
    });
    assert!(a.outcomes.is_empty());
    assert!(a
        .insights
        .iter()
        .all(|i| i.methodology == Methodology::WorkloadCharacterization));
    assert!(a.workload.iter().all(|m| m.id.starts_with("workload.")));
    assert!(!a.insights.is_empty());
}

#[test]
fn a_host_already_flagged_gets_the_peer_comparison_in_its_finding() {
    // nopsi-hot is at 97 % CPU among five calm peers: the USE method flags it, and the
    // outlier method adds its peers' median to that finding instead of a second finding.
    let s = scenarios::cpu_saturation_signals_mixed();
    let a = analyse(&s, |_| {});
    assert!(a
        .insights
        .iter()
        .all(|i| i.methodology != Methodology::FleetOutliers
            || i.instance.as_deref() != Some("nopsi-hot:9100")));
    let finding = a
        .insights
        .iter()
        .find(|i| {
            i.methodology == Methodology::UseMethod
                && i.instance.as_deref() == Some("nopsi-hot:9100")
                && i.observation.contains("Peer comparison")
        })
        .expect("a USE finding with the peer comparison");
    let median = finding
        .evidence
        .get("peer_median_cpu_utilization_percent")
        .expect("peer median");
    assert!(median < 30.0, "{median}");
}

/// Issue 17 item 10: the drill-down's busiest CPUs are busy as `cpu.utilization` counts it,
/// without iowait and steal.
#[test]
fn busiest_cpus_count_neither_iowait_nor_steal() {
    let mut s = scenarios::culprit_process();
    s.hosts[0].cpu.iowait = scenarios_shape(0.05);
    s.hosts[0].cpu.steal = scenarios_shape(0.05);
    let a = analyse(&s, |_| {});
    let cpu = one(&a.insights, "cpu.utilization", "app-1:9100");
    let per_cpu: Vec<f64> = cpu
        .evidence
        .iter()
        .filter(|(n, _)| {
            n.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                && n.ends_with("_utilization_percent")
        })
        .map(|(_, v)| v)
        .collect();
    assert_eq!(per_cpu.len(), 3, "{:?}", cpu.evidence);
    // user 74 % + system 14 % = 88 % busy; 1 - idle would read 98 %.
    for v in per_cpu {
        assert!((v - 88.0).abs() < 2.0, "busiest CPU at {v} %");
    }
}

fn scenarios_shape(value: f64) -> gregg_testkit::host::Shape {
    gregg_testkit::host::Shape::c(value)
}
