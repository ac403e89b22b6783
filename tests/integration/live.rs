//! This machine, live: a real node_exporter scraped by a real Prometheus.

use std::time::Duration;

use chrono::Utc;
use gregg_insights::{
    analysis::{self, AnalysisRequest},
    catalog, health,
    insight::Severity,
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

    let mut request = AnalysisRequest::new(Utc::now(), Duration::from_secs(30), Selector::empty());
    request.observe = vec!["cpu.utilization".into()];
    let analysis = block_on(analysis::analyze(&c, catalog, &request)).expect("analysis");
    let outcome = analysis.outcome("cpu.utilization").expect("check ran");
    assert_eq!(outcome.observations.len(), 1);
    let o = &outcome.observations[0];
    assert_eq!(o.instance, live.node_exporter.target());
    assert!((0.0..=100.0).contains(&o.value), "{}", o.value);
}

/// Real load on this machine: stress-ng runs four CPU workers per CPU, so runnable threads
/// queue; the analysis of the last 30 s must call it a CPU bottleneck, with PSI as the signal.
#[test]
fn cpu_saturation_under_stress_ng_is_found() {
    let live = Live::start();
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut stress = std::process::Command::new("stress-ng");
    stress
        .arg("--cpu")
        .arg((4 * cpus).to_string())
        .arg("--timeout")
        .arg("120s")
        .arg("--quiet");
    let dir = tempfile::tempdir().expect("temp dir");
    let _stress =
        gregg_testkit::process::Guard::spawn("stress-ng", stress, &dir.path().join("stress.log"))
            .expect("stress-ng starts");
    // Wait until every 1 s point of the last 30 s shows the CPUs busy and tasks waiting: the
    // analysis below requires the condition over its whole 30 s window. Prometheus has only
    // just started, so also wait for 30 s of history: on a machine already busy, `min_over_time`
    // over the first few seconds would pass at once.
    let busy = live.prometheus.wait_for(
        r#"(min_over_time((1 - sum(rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[4s])) / sum(rate(node_cpu_seconds_total[4s])))[30s:1s]) > 0.96) and on () (count_over_time(node_load1[30s]) >= 29)"#,
        Duration::from_secs(90),
    );
    let saturated = live.prometheus.wait_for(
        "min_over_time(rate(node_pressure_cpu_waiting_seconds_total[4s])[30s:1s]) > 0.3",
        Duration::from_secs(30),
    );
    assert!(
        busy && saturated,
        "stress-ng did not saturate the CPUs within 2 minutes"
    );

    let c = client(&live.prometheus.url());
    let request = AnalysisRequest::new(Utc::now(), Duration::from_secs(30), Selector::empty());
    let analysis = block_on(analysis::analyze(&c, catalog::builtin(), &request)).expect("analysis");
    let bottleneck = analysis
        .insights
        .iter()
        .find(|i| i.check == "cpu.bottleneck")
        .unwrap_or_else(|| {
            let all: Vec<String> = analysis
                .insights
                .iter()
                .map(|i| format!("{} {}", i.id, i.title))
                .collect();
            let cpu: Vec<String> = analysis
                .outcomes
                .iter()
                .filter(|o| o.check.starts_with("cpu."))
                .map(|o| format!("{o:?}"))
                .collect();
            panic!(
                "no CPU bottleneck under stress-ng; insights:\n{}\nCPU checks:\n{}",
                all.join("\n"),
                cpu.join("\n")
            )
        });
    assert!(bottleneck.severity >= Severity::High, "{bottleneck:?}");
    assert!(
        bottleneck.observation.contains("PSI"),
        "{}",
        bottleneck.observation
    );
    assert_eq!(
        bottleneck.instance.as_deref(),
        Some(live.node_exporter.target().as_str())
    );
}

/// Issue 17 item 3: a disk write burst on this machine's filesystem, minutes after
/// node_exporter started, is no trend. stress-ng writes and rewrites 256 MB in a temporary
/// directory for 20 s after 15 s of quiet history; the analysis must project no time to full
/// from it (no finding, and no target with a time to full within the warning horizon), and say
/// that the history is too short to project a trend.
#[test]
fn a_disk_write_burst_gives_no_time_to_full() {
    let live = Live::start();
    assert!(
        live.prometheus.wait_for(
            "count_over_time(node_load1[30s]) >= 15",
            Duration::from_secs(60)
        ),
        "15 s of history before the burst"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut stress = std::process::Command::new("stress-ng");
    stress
        .args([
            "--hdd",
            "1",
            "--hdd-bytes",
            "256M",
            "--timeout",
            "20s",
            "--quiet",
        ])
        .arg("--temp-path")
        .arg(dir.path());
    let _stress =
        gregg_testkit::process::Guard::spawn("stress-ng", stress, &dir.path().join("stress.log"))
            .expect("stress-ng starts");
    // Wait until Prometheus has seen a filesystem's free space swing by 100 MB and the burst
    // has gone on for 10 s.
    let burst = live.prometheus.wait_for(
        "max_over_time(node_filesystem_avail_bytes[10s]) - min_over_time(node_filesystem_avail_bytes[10s]) > 100e6",
        Duration::from_secs(20),
    );
    assert!(burst, "stress-ng wrote no visible burst within 20 s");
    std::thread::sleep(Duration::from_secs(10));

    let c = client(&live.prometheus.url());
    let mut request = AnalysisRequest::new(Utc::now(), Duration::from_secs(30), Selector::empty());
    request.observe = vec!["filesystem.time_to_full".into()];
    let analysis = block_on(analysis::analyze(&c, catalog::builtin(), &request)).expect("analysis");
    let all: Vec<String> = analysis
        .insights
        .iter()
        .map(|i| format!("{} {} | {}", i.id, i.title, i.observation))
        .collect();
    assert!(
        analysis
            .insights
            .iter()
            .all(|i| i.check != "filesystem.time_to_full"),
        "a time to full from a burst:\n{}",
        all.join("\n")
    );
    let outcome = analysis
        .outcome("filesystem.time_to_full")
        .expect("check ran");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        outcome.observations.iter().all(|o| o.value > 24.0),
        "a burst projected to fill a filesystem: {:?}",
        outcome.observations
    );
    assert!(
        analysis.insights.iter().any(|i| i.check == "coverage"
            && i.observation
                .contains("not enough history to project a trend")),
        "no note that the history is too short:\n{}",
        all.join("\n")
    );
}
