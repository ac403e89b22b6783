//! Frame encoding: what the plugin spends turning an analysis' insights into the bytes of its
//! gRPC answer, for 1,000 and 10,000 insights with the text of a real finding. Four paths:
//!
//! - `plugin`, what an `insights` query answers (src/plugin/data.rs): the table written
//!   straight into its Arrow IPC file (`frames::insights::encode`, issue 19), then the gRPC
//!   message of the `QueryDataResponse` as the body chunks the plugin sends
//!   (`plugin::answer::message_chunks`: the frame's bytes are a chunk as they are);
//! - `tonic`, the same IPC file, then the answer encoded as tonic's generated server encoded
//!   it before (prost into a `BytesMut` that starts at tonic's 8 KiB and grows): the copy the
//!   chunks save;
//! - `model`, the path before the IPC file written in place (and still that of the report and
//!   dashboard frames): the table built on the column model, written by arrow-rs
//!   (`frames::ipc::encode`), then the body chunks;
//! - `sdk`, the path before arrow-rs: the SDK's `Frame` and arrow2 writer (text columns moved
//!   into arrow2 arrays without a copy, `check`, `DataResponse::new`), which stops before the
//!   protobuf bytes.
//!
//! The frame's metadata is set as `frames::describe` sets it (the PromQL of an analysis).
//! Figures only, nothing asserted: `cargo bench --bench frames` (or `go run mage.go bench`).
//! `cargo bench --bench frames -- --peak PATH` runs one path once at 10,000 insights and prints
//! how much the process' peak RSS grew (glibc's malloc, as the plugin runs); `-- --path PATH`
//! measures that path only (to profile it: `perf record` on the bench binary).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{TimeZone, Utc};
use grafana_plugin_sdk::{
    arrow2::{array::Utf8Array, buffer::Buffer, datatypes::DataType, offset::OffsetsBuffer},
    backend::DataResponse,
    data, pluginv2,
    prelude::*,
};
use gregg_insights::{
    frames::{
        self,
        model::{Frame, Values},
    },
    insight::{Component, Evidence, Insight, IssueType, Methodology, Severity, UseSignal},
    plugin::answer::{self, DataAnswer, QueryAnswer},
};

/// Runs per size; the median and the slowest are printed.
const RUNS: usize = 21;

/// A measured run: its phases, in order.
type Phases = [Duration; 3];

/// A path: its name, one run of it, and what its phases are.
type Path = (&'static str, fn(&[&Insight]) -> Phases, &'static str);

fn main() {
    let paths: [Path; 4] = [
        (
            "plugin",
            plugin,
            "Arrow IPC (columns written in place) / - / gRPC body chunks",
        ),
        (
            "tonic",
            tonic,
            "Arrow IPC (columns written in place) / - / protobuf copy (tonic's encoder)",
        ),
        (
            "model",
            model,
            "build frame / Arrow IPC (arrow-rs) / gRPC body chunks",
        ),
        (
            "sdk",
            sdk,
            "build frame / check + Arrow IPC (arrow2) / - (no protobuf)",
        ),
    ];
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--peak") {
        let name = args.get(at + 1).map_or("plugin", String::as_str);
        match paths.iter().find(|p| p.0 == name) {
            Some(path) => peak(path.0, path.1),
            None => fail(&format!("no path {name}")),
        }
        return;
    }
    let only = args
        .iter()
        .position(|a| a == "--path")
        .and_then(|at| args.get(at + 1));
    let paths: Vec<_> = paths
        .into_iter()
        .filter(|p| only.is_none_or(|name| name == p.0))
        .collect();
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}   median by phase",
        "insights", "path", "median", "p90", "slowest"
    );
    for n in [1_000usize, 10_000] {
        let insights = fleet_of_findings(n);
        let refs: Vec<&Insight> = insights.iter().collect();
        // The paths take turns going first, so that none is measured only on memory another
        // has just faulted in and freed.
        let mut runs: Vec<Vec<Phases>> = vec![Vec::with_capacity(RUNS); paths.len()];
        for run in 0..RUNS {
            for k in 0..paths.len() {
                let p = (run + k) % paths.len();
                runs[p].push((paths[p].1)(&refs));
            }
        }
        for ((name, _, phases), runs) in paths.iter().zip(&runs) {
            print(name, n, runs, phases);
        }
    }
}

/// One run of `path` at 10,000 insights: how far the peak RSS rose above the resident set
/// holding the insights.
fn peak(name: &str, path: fn(&[&Insight]) -> Phases) {
    let insights = fleet_of_findings(10_000);
    let refs: Vec<&Insight> = insights.iter().collect();
    let before = status_kib("VmRSS:");
    let phases = path(&refs);
    let after = status_kib("VmHWM:");
    #[allow(clippy::cast_precision_loss)]
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{name}: 10000 insights, peak RSS {:.1} MiB over the insights' {:.1} MiB ({:.2} ms)",
        mib(after.saturating_sub(before)),
        mib(before),
        phases.iter().sum::<Duration>().as_secs_f64() * 1000.0
    );
}

/// A figure of `/proc/self/status` in KiB: `VmRSS:` (resident now), `VmHWM:` (its peak).
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// What the plugin does for an `insights` query: the table written into its IPC file, then
/// the gRPC message's body chunks.
fn plugin(refs: &[&Insight]) -> Phases {
    in_place(refs, chunks)
}

/// The IPC file written in place, then the answer encoded as tonic's generated server did.
fn tonic(refs: &[&Insight]) -> Phases {
    in_place(refs, protobuf)
}

/// The table written into its IPC file, then `answer` of it.
fn in_place(refs: &[&Insight], answer: fn(Vec<u8>)) -> Phases {
    let started = Instant::now();
    let mut head = frames::insights::table("insights", &[]);
    describe(&mut head);
    let file = frames::insights::encode(&head, refs, "A").unwrap_or_else(|e| fail(&e));
    let written = started.elapsed();
    answer(file);
    [written, Duration::ZERO, started.elapsed() - written]
}

/// The table on the column model, written by arrow-rs, then the gRPC answer.
fn model(refs: &[&Insight]) -> Phases {
    let started = Instant::now();
    let mut frame = frames::insights::table("insights", refs);
    describe(&mut frame);
    let built = started.elapsed();
    let file = frames::ipc::encode(frame, "A").unwrap_or_else(|e| fail(&e));
    let written = started.elapsed();
    chunks(file);
    [built, written - built, started.elapsed() - written]
}

/// The path before issue 19: the SDK's frame, checked and encoded by arrow2.
fn sdk(refs: &[&Insight]) -> Phases {
    let started = Instant::now();
    let mut frame = frames::insights::table("insights", refs);
    describe(&mut frame);
    let frame = sdk_frame(frame);
    let built = started.elapsed();
    let checked = frame.check().unwrap_or_else(|e| fail(&e));
    let response = DataResponse::new("A".to_string(), vec![checked]);
    let total = started.elapsed();
    std::hint::black_box(response);
    [built, total - built, Duration::ZERO]
}

/// The metadata `frames::describe` sets: the PromQL an analysis ran, one query per line.
fn describe(frame: &mut Frame) {
    let queries: Vec<String> = (0..40)
        .map(|k| {
            format!("max by (instance) (rate(node_cpu_seconds_total{{mode!=\"idle\"}}[{k}m]))")
        })
        .collect();
    if let Some(meta) = frame.meta.as_mut() {
        meta.executed_query_string = Some(queries.join("\n"));
    }
}

/// The gRPC message of the `QueryDataResponse` carrying `file`, as the chunks the plugin hands
/// to the HTTP/2 body (src/plugin/grpc_data.rs): the file's bytes are one of them, not copied.
fn chunks(file: Vec<u8>) {
    let answer = QueryAnswer::from([(
        "A".to_string(),
        DataAnswer::from(pluginv2::DataResponse {
            frames: vec![file],
            status: 200,
            ..Default::default()
        }),
    )]);
    let chunks: Vec<Bytes> = answer::message_chunks(&answer).unwrap_or_else(|e| fail(&e));
    std::hint::black_box(chunks);
}

/// The `QueryDataResponse` carrying `file`, encoded as tonic 0.12 encodes a message: a 5-byte
/// gRPC header, then prost into a `BytesMut` that starts at tonic's 8 KiB buffer and grows.
fn protobuf(file: Vec<u8>) {
    let answer = pluginv2::DataResponse {
        frames: vec![file],
        status: 200,
        error: String::new(),
        json_meta: Vec::new(),
    };
    let response = pluginv2::QueryDataResponse {
        responses: HashMap::from([("A".to_string(), answer)]),
    };
    let mut buf = BytesMut::with_capacity(8 * 1024);
    buf.put_bytes(0, 5);
    prost::Message::encode(&response, &mut buf).unwrap_or_else(|e| fail(&e));
    std::hint::black_box(buf);
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("the insights frame does not encode: {e}");
    std::process::exit(1);
}

fn print(path: &str, n: usize, runs: &[Phases], phases: &str) {
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut totals: Vec<Duration> = runs.iter().map(|r| r.iter().sum()).collect();
    totals.sort();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let by_phase: Vec<String> = (0..3)
        .map(|k| ms(median(runs.iter().map(|r| r[k]).collect())))
        .collect();
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}   {} ({phases})",
        n,
        path,
        ms(totals[totals.len() / 2]),
        ms(totals[totals.len() * 9 / 10]),
        ms(totals[totals.len() - 1]),
        by_phase.join(" / "),
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
