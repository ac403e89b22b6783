//! `gregg-bench`: fleet-scale figures for the analyzer, measured against Prometheus itself.
//!
//! ```text
//! gregg-bench [--hosts 100,1000,10000] [--cli target/release/gregg-insights] [--harness tests/conformance]
//!             [--prometheus URL --at UNIX_SECONDS]
//! ```
//!
//! `--prometheus` and `--at` measure a fleet already served (e.g. by `gregg-testenv fleet N`,
//! with `--hosts N`) instead of backfilling one: quicker when iterating.
//!
//! For each fleet size: generate a synthetic fleet, backfill it into its own Prometheus, run
//! `gregg-insights analyze` (once to warm caches, then three measured runs: the median counts),
//! run the same analysis through the plugin with the Go harness (`BenchmarkFleetAnalysis`: the
//! client Grafana uses, three analyses and a cached repeat after each), and send every query the
//! analysis ran straight to the same Prometheus with a plain HTTP client. Prints, per fleet:
//!
//! - `queries`, `samples fetched`: what the analysis asked of Prometheus;
//! - `direct concurrent PromQL`: the same queries sent at once by a plain client, with eight in
//!   flight and with the bound the analysis used (the report's `concurrency`, fitted to
//!   Prometheus' cores), no analyzer and no dependencies between them; the faster of the two
//!   is the floor for this work here;
//! - `analysis, CLI` and `analysis, plugin`: wall times, their ratio to that floor, peak RSS;
//! - `cached repeat`: the same query again within the cache TTL, and the Prometheus requests
//!   it caused (from the plugin's own metrics);
//! - `slowest single query` and `one by one` (every query sent alone, in sequence).
//!
//! Figures only: nothing is asserted.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use gregg_testkit::{backfill, host::Writer, http, scenarios};
use serde_json::Value;

struct Run {
    wall: Duration,
    peak_rss_kib: i64,
    /// Samples and MiB the CLI fetched (from `--stats`).
    fetched: (u64, f64),
    report: Value,
}

/// What `BenchmarkFleetAnalysis` reported.
#[derive(Default)]
struct Plugin {
    analysis_ms: f64,
    cached_ms: f64,
    /// The cached repeat inside the plugin (its own query duration metric).
    cached_inside_ms: f64,
    requests: f64,
    cached_requests: f64,
    peak_rss_mib: f64,
    error: Option<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes = vec![100usize, 1_000, 10_000];
    let mut cli = PathBuf::from("target/release/gregg-insights");
    let mut harness: Option<PathBuf> = None;
    let mut existing: (Option<String>, Option<i64>) = (None, None);
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--hosts", Some(v)) => {
                sizes = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
                i += 2;
            }
            ("--cli", Some(v)) => {
                cli = PathBuf::from(v);
                i += 2;
            }
            ("--harness", Some(v)) => {
                harness = Some(PathBuf::from(v));
                i += 2;
            }
            ("--prometheus", Some(v)) => {
                existing.0 = Some(v.clone());
                i += 2;
            }
            ("--at", Some(v)) => {
                existing.1 = v.parse().ok();
                i += 2;
            }
            _ => {
                eprintln!("usage: gregg-bench [--hosts 100,1000,10000] [--cli path/to/gregg-insights] [--harness tests/conformance] [--prometheus URL --at UNIX_SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let mut rows = Vec::new();
    let existing = match existing {
        (Some(url), Some(at)) => Some(Served { url, at }),
        (None, None) => None,
        _ => {
            eprintln!("--prometheus and --at go together");
            std::process::exit(2);
        }
    };
    for n in sizes {
        rows.push(bench(n, &cli, harness.as_deref(), existing.as_ref()));
    }
    println!("\nSummary (ratio = analysis / direct concurrent PromQL):");
    println!(
        "{:>7} {:>8} {:>11} {:>9} {:>9} {:>6} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "hosts",
        "queries",
        "samples",
        "direct",
        "CLI",
        "ratio",
        "plugin",
        "ratio",
        "cached",
        "round trip",
        "CLI RSS",
        "plug RSS"
    );
    for r in rows {
        println!("{r}");
    }
}

/// A fleet some other process serves.
struct Served {
    url: String,
    at: i64,
}

fn bench(
    n: usize,
    cli: &PathBuf,
    harness: Option<&std::path::Path>,
    existing: Option<&Served>,
) -> String {
    let fleet = scenarios::fleet(if existing.is_some() { 0 } else { n });
    let started = Instant::now();
    let counts = std::sync::Mutex::new((0usize, 0usize));
    let writers: Vec<backfill::WriteFile<'_>> = fleet
        .hosts
        .chunks(1000)
        .map(|chunk| {
            let fleet = &fleet;
            let counts = &counts;
            Box::new(move |out: &mut std::io::BufWriter<std::fs::File>| {
                let written =
                    Writer::new(out, chunk, fleet.at, fleet.history, fleet.step).write_all()?;
                if let Ok(mut c) = counts.lock() {
                    c.0 += written.series;
                    c.1 += written.samples;
                }
                Ok(())
            }) as backfill::WriteFile<'_>
        })
        .collect();
    let served = existing.is_none().then(|| backfill::serve_chunks(writers));
    let backfill_time = started.elapsed();
    let (series, samples) = counts.into_inner().map(|c| (c.0, c.1)).unwrap_or_default();

    let (url, at_seconds) = match (&served, existing) {
        (Some(p), _) => (p.url(), fleet.at),
        (None, Some(e)) => (e.url.clone(), e.at),
        (None, None) => (String::new(), 0),
    };
    let Some(addr) = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse::<std::net::SocketAddr>()
        .ok()
    else {
        eprintln!("--prometheus must be http://IP:PORT, got {url}");
        std::process::exit(2);
    };
    let at = at_seconds.to_string();
    // A freshly backfilled Prometheus compacts its new blocks in the background for a while;
    // measured then, whichever figure comes first would carry that work.
    let settled = settle(addr);
    println!(
        "   Prometheus idle after {:.0} s (compaction of the backfilled blocks)",
        settled.as_secs_f64()
    );
    let analyze = || {
        run_cli(
            cli,
            &[
                "analyze",
                "--prometheus",
                &url,
                "--at",
                &at,
                "--format",
                "json",
            ],
        )
    };
    let _warm_up = analyze();
    // The median of three runs: one slow run on a busy machine should not set the figure.
    let mut runs: Vec<Run> = (0..3).map(|_| analyze()).collect();
    runs.sort_by_key(|r| r.wall);
    let peak_rss_kib = runs.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0);
    let run = runs.swap_remove(1);

    let queries = run.report["queries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let range = &run.report["range"];
    let start = time_of(&range["start"]);
    let end = time_of(&range["end"]);
    let step = range["step_seconds"].as_f64().unwrap_or(15.0);
    let requests: Vec<Request> = queries
        .iter()
        .map(|q| {
            let purpose = q["purpose"].as_str().unwrap_or_default().to_string();
            let promql = q["promql"].as_str().unwrap_or_default().to_string();
            let (path, params) = if q["kind"] == "range" {
                (
                    "/api/v1/query_range",
                    vec![
                        ("query", promql),
                        ("start", format!("{start}")),
                        ("end", format!("{end}")),
                        ("step", format!("{step}")),
                    ],
                )
            } else {
                (
                    "/api/v1/query",
                    vec![("query", promql), ("time", format!("{end}"))],
                )
            };
            // Evidence, guards, coverage, quality and inventory are not catalog queries.
            let catalog = !purpose.contains('/') && purpose != "inventory";
            Request {
                purpose,
                path,
                params,
                catalog,
            }
        })
        .collect();

    // Every query the analysis sent, one at a time, three times each: the median is its cost.
    let mut slowest = (Duration::ZERO, String::new());
    let mut sum = Duration::ZERO;
    for r in &requests {
        let mut times: Vec<Duration> = (0..3).map(|_| send(addr, r)).collect();
        times.sort();
        let elapsed = times[1];
        sum += elapsed;
        if r.catalog && elapsed > slowest.0 {
            slowest = (elapsed, r.purpose.clone());
        }
    }
    // The same queries all at once, with no analyzer and no dependencies between them: what
    // Prometheus needs for this work. Sent with eight in flight (the configured default) and
    // with the bound the analysis used (fitted to Prometheus' cores); the faster is the floor.
    let analysis_bound = run.report["concurrency"].as_u64().unwrap_or(8).max(1) as usize;
    let median_of_three = |workers: usize| {
        let mut walls: Vec<Duration> = (0..3).map(|_| send_all(addr, &requests, workers)).collect();
        walls.sort();
        walls[1]
    };
    let at_eight = median_of_three(8);
    let at_bound = if analysis_bound == 8 {
        at_eight
    } else {
        median_of_three(analysis_bound)
    };
    let concurrent = at_eight.min(at_bound);
    let plugin = harness
        .map(|dir| run_harness(dir, &url, at_seconds))
        .unwrap_or_else(|| Plugin {
            error: Some("not run (no --harness)".into()),
            ..Plugin::default()
        });

    let floor = concurrent.as_secs_f64().max(1e-9);
    let cli_ratio = run.wall.as_secs_f64() / floor;
    let plugin_ratio = plugin.analysis_ms / 1000.0 / floor;
    let mib = |kib: i64| kib as f64 / 1024.0;
    println!(
        "\n== {n} hosts: {series} series, {samples} samples backfilled in {:.0} s",
        backfill_time.as_secs_f64()
    );
    println!(
        "   queries sent                   {:>8}   samples fetched {} ({:.1} MiB of JSON)",
        queries.len(),
        run.fetched.0,
        run.fetched.1
    );
    println!(
        "   direct concurrent PromQL       {:>8.3} s (the same queries, plain HTTP, median of 3: {:.3} s with 8 in flight, {:.3} s with {analysis_bound} as the analysis; the faster counts)",
        concurrent.as_secs_f64(),
        at_eight.as_secs_f64(),
        at_bound.as_secs_f64()
    );
    println!(
        "   analysis, CLI                  {:>8.3} s ratio {cli_ratio:.2}x, peak RSS {:.1} MiB (median of 3)",
        run.wall.as_secs_f64(),
        mib(peak_rss_kib)
    );
    match &plugin.error {
        None => {
            println!(
                "   analysis, plugin (Go harness)  {:>8.3} s ratio {plugin_ratio:.2}x, peak RSS {:.1} MiB, {:.0} Prometheus requests",
                plugin.analysis_ms / 1000.0,
                plugin.peak_rss_mib,
                plugin.requests
            );
            println!(
                "   cached repeat (plugin)         {:>8.2} ms inside the plugin, {:.2} ms round trip (gRPC, Go decoding), {:.0} Prometheus requests",
                plugin.cached_inside_ms, plugin.cached_ms, plugin.cached_requests
            );
        }
        Some(e) => println!("   analysis, plugin (Go harness)  {e}"),
    }
    println!(
        "   slowest single query           {:>8.3} s {}",
        slowest.0.as_secs_f64(),
        slowest.1
    );
    println!(
        "   one by one                     {:>8.3} s",
        sum.as_secs_f64()
    );
    let insights = run.report["insights"].as_array().map_or(0, Vec::len);
    let summary = &run.report["summary"];
    println!(
        "   {} insights (critical {}, high {}, medium {}, low {}, info {})",
        insights,
        summary["critical"],
        summary["high"],
        summary["medium"],
        summary["low"],
        summary["info"]
    );
    format!(
        "{:>7} {:>8} {:>11} {:>8.2}s {:>8.2}s {:>5.2}x {:>8.2}s {:>5.2}x {:>6.2}ms {:>7.2}ms {:>5.1} MiB {:>5.1} MiB",
        n,
        queries.len(),
        run.fetched.0,
        concurrent.as_secs_f64(),
        run.wall.as_secs_f64(),
        cli_ratio,
        plugin.analysis_ms / 1000.0,
        plugin_ratio,
        plugin.cached_inside_ms,
        plugin.cached_ms,
        mib(peak_rss_kib),
        plugin.peak_rss_mib
    )
}

/// Run `BenchmarkFleetAnalysis` of the Go harness in `dir` against this fleet's Prometheus.
/// The harness needs GREGG_PLUGIN_BINARY (the Magefile sets it).
fn run_harness(dir: &std::path::Path, url: &str, at: i64) -> Plugin {
    let output = Command::new("go")
        .current_dir(dir)
        .args([
            "test",
            "-run",
            "^$",
            "-bench",
            "^BenchmarkFleetAnalysis$",
            "-benchtime",
            "3x",
            "-count",
            "1",
            "-timeout",
            "20m",
            ".",
        ])
        .env("GREGG_BENCH_PROMETHEUS", url)
        .env("GREGG_BENCH_AT", at.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            return Plugin {
                error: Some(format!("cannot run go: {e}")),
                ..Plugin::default()
            }
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout
        .lines()
        .find(|l| l.starts_with("BenchmarkFleetAnalysis"))
    else {
        return Plugin {
            error: Some(format!(
                "the Go benchmark gave no figures: {}{}",
                stdout,
                String::from_utf8_lossy(&output.stderr)
            )),
            ..Plugin::default()
        };
    };
    // `BenchmarkFleetAnalysis-2  3  123 ns/op  2701 analysis-ms  1.2 cached-ms ...`
    let fields: Vec<&str> = line.split_whitespace().collect();
    let metric = |unit: &str| {
        fields
            .iter()
            .position(|f| *f == unit)
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| fields[i].parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Plugin {
        analysis_ms: metric("analysis-ms"),
        cached_ms: metric("cached-ms"),
        cached_inside_ms: metric("cached-in-plugin-ms"),
        requests: metric("prom-req/analysis"),
        cached_requests: metric("prom-req/cached"),
        peak_rss_mib: metric("MiB-peak-RSS"),
        error: None,
    }
}

/// Prometheus' own CPU seconds so far (`process_cpu_seconds_total` on its /metrics).
fn prometheus_cpu_seconds(addr: std::net::SocketAddr) -> Option<f64> {
    let (_, body) = http::get(addr, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with("process_cpu_seconds_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Wait until Prometheus uses under 5 % of a core over two seconds (at most three minutes);
/// how long that took.
fn settle(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let mut last = prometheus_cpu_seconds(addr);
    while started.elapsed() < Duration::from_secs(180) {
        std::thread::sleep(Duration::from_secs(2));
        let now = prometheus_cpu_seconds(addr);
        match (last, now) {
            (Some(a), Some(b)) if (b - a) / 2.0 < 0.05 => break,
            (_, None) => break,
            _ => last = now,
        }
    }
    started.elapsed()
}

/// One query as the analysis sent it.
struct Request {
    purpose: String,
    path: &'static str,
    params: Vec<(&'static str, String)>,
    catalog: bool,
}

/// Send one query and time it; a failure is reported, not hidden.
fn send(addr: std::net::SocketAddr, r: &Request) -> Duration {
    let t = Instant::now();
    let answer = http::post_form(addr, r.path, &r.params);
    let elapsed = t.elapsed();
    if !matches!(answer, Some((200, _))) {
        eprintln!(
            "direct query for {} failed: {:?}",
            r.purpose,
            answer.map(|(s, _)| s)
        );
    }
    elapsed
}

/// Send every query with `workers` in flight at once; the wall time of the lot.
fn send_all(addr: std::net::SocketAddr, requests: &[Request], workers: usize) -> Duration {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(r) = requests.get(i) else { break };
                send(addr, r);
            });
        }
    });
    t.elapsed()
}

fn time_of(v: &Value) -> f64 {
    v.as_str().and_then(chrono_like_parse).unwrap_or(0.0)
}

/// Parse `2025-06-02T12:00:00Z` (what the report writes) to Unix seconds without a date crate.
fn chrono_like_parse(s: &str) -> Option<f64> {
    let date: Vec<i64> = s
        .get(0..10)?
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let time: Vec<f64> = s
        .get(11..19)?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (y, m, d) = (date[0], date[1], date[2]);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + time[0] * 3600.0 + time[1] * 60.0 + time[2])
}

/// Run the CLI with `--stats`, returning its wall time, its peak RSS and its JSON report.
///
/// The peak comes from the CLI's own `VmHWM` (printed by `--stats`), not from `wait4`: a child
/// spawned with vfork (as `posix_spawn` does) inherits the spawning process's high-water mark
/// in `ru_maxrss`, and this process holds a whole synthetic fleet.
fn run_cli(cli: &PathBuf, args: &[&str]) -> Run {
    let started = Instant::now();
    let output = Command::new(cli)
        .args(args)
        .arg("--stats")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak_rss_kib = stderr
        .lines()
        .filter_map(|l| l.split("peak RSS ").nth(1))
        .filter_map(|rest| rest.trim_end_matches(" MiB").trim().parse::<f64>().ok())
        .map(|mib| (mib * 1024.0) as i64)
        .next()
        .unwrap_or_else(|| {
            eprintln!("no peak RSS from the CLI: {stderr}");
            0
        });
    if !output.status.success() {
        eprintln!("the analysis failed ({}): {stderr}", output.status);
    }
    // `fetched 123 samples in 4.5 MiB`
    let fetched = stderr
        .lines()
        .filter_map(|l| l.split("fetched ").nth(1))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let samples = words.next()?.parse::<u64>().ok()?;
            let mib = words.nth(2)?.trim_end_matches(',').parse::<f64>().ok()?;
            Some((samples, mib))
        })
        .next()
        .unwrap_or_default();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    Run {
        wall,
        peak_rss_kib,
        fetched,
        report,
    }
}
