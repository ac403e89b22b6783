//! Frame encoding: what the plugin spends turning an analysis' insights into Grafana's wire
//! format (the `insights` frame, checked and encoded as Arrow IPC by the SDK, exactly as a
//! `QueryData` answer is), for 1,000 and 10,000 insights with the text of a real finding.
//! Figures only, nothing asserted: `cargo bench --bench frames` (or `go run mage.go bench`).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use grafana_plugin_sdk::backend::DataResponse;
use gregg_insights::{
    frames,
    insight::{Component, Evidence, Insight, IssueType, Methodology, Severity, UseSignal},
};

/// Runs per size; the median and the slowest are printed.
const RUNS: usize = 21;

fn main() {
    println!(
        "{:>9} {:>12} {:>12} {:>12}   median by phase: build frame / check / Arrow IPC",
        "insights", "median", "p90", "slowest"
    );
    for n in [1_000usize, 10_000] {
        let insights = fleet_of_findings(n);
        let refs: Vec<&Insight> = insights.iter().collect();
        let mut runs: Vec<[Duration; 3]> = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            let frame = frames::insights::table("insights", &refs);
            let built = started.elapsed();
            let checked = match frame.check() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("the insights frame does not check: {e}");
                    std::process::exit(1);
                }
            };
            let checked_at = started.elapsed();
            let response = DataResponse::new("A".to_string(), vec![checked]);
            let total = started.elapsed();
            std::hint::black_box(response);
            runs.push([built, checked_at - built, total - checked_at]);
        }
        let phase = |k: usize| {
            let mut v: Vec<Duration> = runs.iter().map(|r| r[k]).collect();
            v.sort();
            v[RUNS / 2]
        };
        let mut totals: Vec<Duration> = runs.iter().map(|r| r[0] + r[1] + r[2]).collect();
        totals.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:>9} {:>12} {:>12} {:>12}   {} / {} / {}",
            n,
            ms(totals[RUNS / 2]),
            ms(totals[RUNS * 9 / 10]),
            ms(totals[RUNS - 1]),
            ms(phase(0)),
            ms(phase(1)),
            ms(phase(2))
        );
    }
}

/// `n` insights shaped like the analyzer's CPU bottleneck finding (full narrative, 20 evidence
/// values, 7 steps, 7 related queries), each on its own host.
fn fleet_of_findings(n: usize) -> Vec<Insight> {
    let at = Utc
        .timestamp_opt(1_748_865_600, 0)
        .single()
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            let host = format!("host-{i:05}:9100");
            let mut evidence = Evidence::new();
            for (k, name) in [
                "cpu_utilization_percent", "cpu_utilization_peak_percent", "held_seconds",
                "cpu_count", "steal_percent", "iowait_percent", "system_percent",
                "cpu_pressure_some_percent", "cpu_pressure_some_peak_percent",
                "runqueue_waiting_per_cpu", "runnable_per_cpu", "load_per_cpu",
                "cpu0_utilization_percent", "cpu1_utilization_percent", "cpu2_utilization_percent",
                "peer_median_cpu_utilization_percent", "peer_mad_cpu_utilization_percent",
                "robust_z_ratio", "peers_count", "peer_median_cpu_pressure_some_percent",
            ]
            .iter()
            .enumerate()
            {
                evidence = evidence.with(*name, 90.0 + k as f64 + i as f64 * 1e-3);
            }
            Insight {
                id: format!("cpu.bottleneck:{host}"),
                timestamp: at,
                methodology: Methodology::UseMethod,
                component: Component::Cpu,
                issue_type: IssueType::Bottleneck,
                use_signal: Some(UseSignal::Saturation),
                severity: Severity::Critical,
                title: format!("CPU bottleneck on {host}: 97.0% busy with work waiting"),
                observation: format!(
                    "The CPUs of {host} were 97.0% busy over the last 10m (held 10m) while runnable work waited for them: CPU pressure (PSI some) 40.0%. Both the U and the S of USE are up, so the CPUs limit the workload. Drill-down — busiest CPUs (node_exporter): 0 98.0%, 1 98.0%, 2 98.0%. Peer comparison: over the last 10m, {host}'s CPU utilization averaged 97.0%, 83.5% above the median of the 11 other hosts."
                ),
                evidence,
                root_cause: "Demand for CPU exceeds what the host provides: threads are ready to run but must wait for a CPU, which adds scheduler latency to every request.".into(),
                immediate_action: "Find the consumers with `top` or `pidstat 1`; stop, throttle or move what is not essential, or add capacity.".into(),
                investigation_steps: [
                    "mpstat -P ALL 1 # is the load on a few CPUs or all of them",
                    "perf top -C 0 # what runs on CPU 0",
                    "uptime and vmstat 1: r (runnable) against the CPU count, us/sy/st split",
                    "mpstat -P ALL 1: are all CPUs busy, or one?",
                    "pidstat 1 and pidstat -t 1: which processes and threads use the CPU",
                    "perf record -F 99 -a -g -- sleep 30, then a flame graph",
                    "runqlat and runqlen (BCC): run-queue latency distribution",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                long_term_fix: "Profile and remove the hot code paths; scale out or up so that peak utilization leaves headroom.".into(),
                related_metrics: (0..7)
                    .map(|k| format!("100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{{mode=~\"idle|iowait|steal\", instance=\"{host}\"}}[1m])) / sum by (instance) (rate(node_cpu_seconds_total{{instance=\"{host}\"}}[{k}m])))"))
                    .collect(),
                confidence: 95.0,
                book_reference: Some("Systems Performance 2nd ed., Ch. 6 CPUs: 6.5 Methodology (USE Method)".into()),
                instance: Some(host),
                device: None,
                check: "cpu.bottleneck".into(),
                started_at: Some(at),
                ended_at: Some(at),
            }
        })
        .collect()
}
