//! `gregg-testenv`: start a test environment for programs that are not Rust tests (the Go
//! conformance harness, the demo, benchmarks).
//!
//! ```text
//! gregg-testenv live              node_exporter + Prometheus scraping it every second
//! gregg-testenv scenario NAME     a Prometheus serving a backfilled scenario
//! gregg-testenv fleet N           a Prometheus serving a benchmark fleet of N hosts
//! gregg-testenv scrape HOST:PORT  a Prometheus with native histograms enabled, scraping
//!                                 application targets every second as job `app`
//! gregg-testenv list              the scenarios, one JSON object per line
//! ```
//!
//! Prints one JSON line describing what runs (URLs, scenario data), then keeps everything up
//! until stdin closes, SIGTERM or SIGINT, and tears it all down. A parent that dies closes
//! our stdin, so nothing outlives the run.

use std::{io::Read, process::ExitCode, sync::mpsc, thread};

use gregg_testkit::{scenarios, Live};
use serde_json::json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let block = block_stop_signals();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => {
            for s in scenarios::all() {
                println!("{}", json!({"name": s.name, "description": s.description}));
            }
            ExitCode::SUCCESS
        }
        ["live"] => {
            let env = Live::start();
            announce(json!({
                "prometheus": env.prometheus.url(),
                "nodeExporter": env.node_exporter.target(),
            }));
            wait_for_stop(block);
            drop(env);
            ExitCode::SUCCESS
        }
        ["scrape", targets @ ..] if !targets.is_empty() => {
            // A Prometheus with native histograms enabled, scraping application targets.
            let prometheus = gregg_testkit::Prometheus::start(gregg_testkit::Options {
                app_targets: targets.iter().map(|t| t.to_string()).collect(),
                features: vec!["native-histograms".into()],
                ..Default::default()
            });
            announce(json!({ "prometheus": prometheus.url() }));
            wait_for_stop(block);
            drop(prometheus);
            ExitCode::SUCCESS
        }
        ["fleet", n] => {
            let Ok(n) = n.parse::<usize>() else {
                eprintln!("gregg-testenv: fleet needs a number of hosts");
                return ExitCode::from(2);
            };
            let fleet = scenarios::fleet(n);
            let prometheus = fleet.serve();
            announce(json!({
                "prometheus": prometheus.url(),
                "at": fleet.at,
                "hosts": n,
            }));
            wait_for_stop(block);
            drop(prometheus);
            ExitCode::SUCCESS
        }
        ["scenario", name] => {
            let Some(scenario) = scenarios::by_name(name) else {
                eprintln!("gregg-testenv: unknown scenario `{name}`; see `gregg-testenv list`");
                return ExitCode::from(2);
            };
            let prometheus = scenario.serve();
            announce(json!({
                "prometheus": prometheus.url(),
                "scenario": scenario.info(),
            }));
            wait_for_stop(block);
            drop(prometheus);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: gregg-testenv live | scenario NAME | fleet N | scrape HOST:PORT... | list"
            );
            ExitCode::from(2)
        }
    }
}

fn announce(value: serde_json::Value) {
    println!("{value}");
}

/// Block SIGTERM and SIGINT in every thread so one thread can wait for them with sigwait.
fn block_stop_signals() -> libc::sigset_t {
    // SAFETY: plain signal-mask manipulation on a zero-initialised sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for_stop(signals: libc::sigset_t) {
    let (tx, rx) = mpsc::channel::<&'static str>();
    let on_signal = tx.clone();
    thread::spawn(move || {
        let mut received = 0;
        // SAFETY: waits for the signals blocked above.
        unsafe {
            libc::sigwait(&signals, &mut received);
        }
        let _ = on_signal.send("signal");
    });
    thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send("stdin closed");
    });
    let reason = rx.recv().unwrap_or("channel closed");
    eprintln!("gregg-testenv: stopping ({reason})");
}
