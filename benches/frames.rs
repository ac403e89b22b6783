//! Frame encoding: what the plugin spends turning an analysis' insights into Grafana's wire
//! format (the `insights` frame built on the column model and written as Arrow IPC by arrow-rs,
//! exactly as a `QueryData` answer is: `frames::ipc::encode`), for 1,000 and 10,000 insights
//! with the text of a real finding. Beside it, the same frame through the SDK's `Frame` and
//! arrow2 writer (the path before issue 19: text columns moved into arrow2 arrays without a
//! copy, `check`, `DataResponse::new`), for comparison.
//! Figures only, nothing asserted: `cargo bench --bench frames` (or `go run mage.go bench`).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use grafana_plugin_sdk::{
    arrow2::{array::Utf8Array, buffer::Buffer, datatypes::DataType, offset::OffsetsBuffer},
    backend::DataResponse,
    data,
    prelude::*,
};
use gregg_insights::{
    frames::{
        self,
        model::{Frame, Values},
    },
    insight::{Component, Evidence, Insight, IssueType, Methodology, Severity, UseSignal},
};

/// Runs per size; the median and the slowest are printed.
const RUNS: usize = 21;

fn main() {
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}   median by phase",
        "insights", "path", "median", "p90", "slowest"
    );
    for n in [1_000usize, 10_000] {
        let insights = fleet_of_findings(n);
        let refs: Vec<&Insight> = insights.iter().collect();
        // The two paths alternate, each going first every other run, so that neither is
        // measured only on memory the other has already faulted in.
        let (mut new, mut old) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
        for run in 0..RUNS {
            if run % 2 == 0 {
                new.push(arrow_rs(&refs));
                old.push(sdk(&refs));
            } else {
                old.push(sdk(&refs));
                new.push(arrow_rs(&refs));
            }
        }
        print("arrow-rs", n, &new, "build frame / Arrow IPC (arrow-rs)");
        print("sdk", n, &old, "build frame / check + Arrow IPC (arrow2)");
    }
}

/// The plugin's path: the column model, written by arrow-rs.
fn arrow_rs(refs: &[&Insight]) -> [Duration; 2] {
    let started = Instant::now();
    let frame = frames::insights::table("insights", refs);
    let built = started.elapsed();
    let bytes = frames::ipc::encode(frame, "A").unwrap_or_else(|e| fail(&e));
    let total = started.elapsed();
    std::hint::black_box(bytes);
    [built, total - built]
}

/// The path before issue 19: the SDK's frame, checked and encoded by arrow2.
fn sdk(refs: &[&Insight]) -> [Duration; 2] {
    let started = Instant::now();
    let frame = sdk_frame(frames::insights::table("insights", refs));
    let built = started.elapsed();
    let checked = frame.check().unwrap_or_else(|e| fail(&e));
    let response = DataResponse::new("A".to_string(), vec![checked]);
    let total = started.elapsed();
    std::hint::black_box(response);
    [built, total - built]
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("the insights frame does not encode: {e}");
    std::process::exit(1);
}

fn print(path: &str, n: usize, runs: &[[Duration; 2]], phases: &str) {
    let phase = |k: usize| {
        let mut v: Vec<Duration> = runs.iter().map(|r| r[k]).collect();
        v.sort();
        v[RUNS / 2]
    };
    let mut totals: Vec<Duration> = runs.iter().map(|r| r[0] + r[1]).collect();
    totals.sort();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}   {} / {} ({phases})",
        n,
        path,
        ms(totals[RUNS / 2]),
        ms(totals[RUNS * 9 / 10]),
        ms(totals[RUNS - 1]),
        ms(phase(0)),
        ms(phase(1)),
    );
}

/// The model's frame as the SDK's, as the plugin built it before: text buffers moved into
/// arrow2 arrays, other columns through the SDK's constructors.
fn sdk_frame(frame: Frame) -> data::Frame {
    let mut out = data::Frame::new(frame.name.clone());
    out.meta = frame.meta.clone();
    for field in frame.into_fields() {
        let nullable = field.nullable;
        let f = match field.values {
            Values::Text(t) => {
                let mut f = std::iter::empty::<&str>().into_field(field.name.as_str());
                let array = OffsetsBuffer::try_from(t.offsets).ok().and_then(|o| {
                    Utf8Array::<i32>::try_new(DataType::Utf8, o, Buffer::from(t.bytes), None).ok()
                });
                if let Some(array) = array {
                    let _ = f.set_values_array(array);
                }
                f
            }
            Values::Float64(v, _) => v.into_field(field.name.as_str()),
            Values::Time(v, valid) if nullable => v
                .into_iter()
                .zip(
                    valid
                        .unwrap_or_default()
                        .into_iter()
                        .chain(std::iter::repeat(true)),
                )
                .map(|(ns, ok)| ok.then(|| Utc.timestamp_nanos(ns)))
                .into_opt_field(field.name.as_str()),
            Values::Time(v, _) => v
                .into_iter()
                .map(|ns| Utc.timestamp_nanos(ns))
                .into_field(field.name.as_str()),
            Values::Int64(v, _) => v.into_field(field.name.as_str()),
            Values::UInt64(v, _) => v.into_field(field.name.as_str()),
            Values::Bool(v, _) => v.into_field(field.name.as_str()),
        };
        out.add_field(f);
    }
    out
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
