//! The `gregg-insights` binary, run as a user would.

use std::process::{Command, Output, Stdio};

use gregg_testkit::{
    faults::{Fault, FaultServer},
    scenarios::{self, Scenario},
};

use crate::support::{dead_url, serve};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gregg-insights"))
        .args(args)
        .env_remove("GREGG_PROMETHEUS_URL")
        .output()
        .expect("the CLI runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `gregg-insights analyze --prometheus URL --at AT <extra>`.
fn analyze(url: &str, at: &str, extra: &[&str]) -> Output {
    let mut args = vec!["analyze", "--prometheus", url, "--at", at];
    args.extend_from_slice(extra);
    cli(&args)
}

fn json_of(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).expect("a JSON report")
}

#[test]
fn analyze_prints_reports_in_every_format_and_honours_fail_on() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let url = prometheus.url();
    let at = scenario.at.to_string();

    let report = json_of(&analyze(&url, &at, &["--format", "json"]));
    let flagged = scenario
        .hosts
        .iter()
        .filter(|h| Scenario::mean_utilization(h, 600) >= 80.0)
        .count();
    let cpu_findings = |report: &serde_json::Value| {
        report["insights"]
            .as_array()
            .map(|a| a.iter().filter(|i| i["check"] == "cpu.utilization").count())
            .unwrap_or(0)
    };
    assert_eq!(cpu_findings(&report), flagged);
    assert_eq!(
        report["summary"]["total"],
        report["insights"].as_array().map_or(0, Vec::len)
    );

    // --at as RFC 3339 gives the same answer as Unix seconds.
    let again = json_of(&analyze(
        &url,
        "2025-06-02T12:00:00Z",
        &["--format", "json"],
    ));
    assert_eq!(again["insights"], report["insights"]);

    let text = analyze(&url, &at, &[]);
    assert!(stdout(&text).contains("SYSTEMS PERFORMANCE ANALYSIS REPORT"));
    let md = analyze(&url, &at, &["--format", "markdown"]);
    assert!(stdout(&md).starts_with("# Systems performance analysis report"));

    // busy-1 is busy (medium), not a bottleneck: nothing is high.
    assert_eq!(
        analyze(&url, &at, &["--fail-on", "medium"]).status.code(),
        Some(3)
    );
    assert_eq!(
        analyze(&url, &at, &["--fail-on", "high"]).status.code(),
        Some(0)
    );

    let narrowed = json_of(&analyze(
        &url,
        &at,
        &[
            "--format",
            "json",
            "--selector",
            "instance=\"idle-1:9100\"",
            "--threshold",
            "cpu.utilization:warning=1",
        ],
    ));
    assert_eq!(cpu_findings(&narrowed), 1);
    let instances: Vec<&str> = narrowed["insights"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["instance"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        instances.iter().all(|i| *i == "idle-1:9100"),
        "{instances:?}"
    );
}

/// `analyze | head`: the reader closes the pipe before the report is written. The CLI stops
/// writing quietly and its exit code is still the analysis' verdict.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let (url, at) = (prometheus.url(), scenario.at.to_string());
    for (fail_on, code) in [("critical", 0), ("medium", 3)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gregg-insights"))
            .args([
                "analyze",
                "--prometheus",
                &url,
                "--at",
                &at,
                "--fail-on",
                fail_on,
            ])
            .env_remove("GREGG_PROMETHEUS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the CLI starts");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("the CLI finishes");
        assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
        assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    }
}

#[test]
fn health_and_errors_use_exit_codes_and_clear_messages() {
    let dead = dead_url();
    let health = cli(&["health", "--prometheus", &dead]);
    assert_eq!(health.status.code(), Some(1));
    assert!(
        stdout(&health).starts_with("ERROR: Prometheus is unreachable"),
        "{}",
        stdout(&health)
    );

    let analyze = cli(&["analyze", "--prometheus", &dead]);
    assert_eq!(analyze.status.code(), Some(1));
    assert!(
        stderr(&analyze).contains("cannot reach Prometheus"),
        "{}",
        stderr(&analyze)
    );

    for bad in [
        vec!["analyze", "--prometheus", &dead, "--window", "5x"],
        vec!["analyze", "--prometheus", &dead, "--at", "yesterday"],
        vec!["analyze", "--prometheus", "not a url"],
        vec!["analyze", "--prometheus", &dead, "--methods", "use,magic"],
        vec!["analyze", "--prometheus", &dead, "--histogram", "x{job=}"],
        vec![
            "analyze",
            "--prometheus",
            &dead,
            "--histogram",
            "x",
            "--slo",
            "0.25",
        ],
        vec!["analyze", "--prometheus", &dead, "--slo", "0.25@99"],
        vec![
            "analyze",
            "--prometheus",
            &dead,
            "--group-by",
            "not a label",
        ],
    ] {
        let out = cli(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    let threshold = cli(&[
        "analyze",
        "--prometheus",
        &dead,
        "--threshold",
        "cpu.nope:warning=1",
    ]);
    assert_eq!(threshold.status.code(), Some(1));
    assert!(
        stderr(&threshold).contains("unknown check `cpu.nope`"),
        "{}",
        stderr(&threshold)
    );
}

#[test]
fn secrets_come_from_files_are_sent_and_never_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let password = dir.path().join("password");
    std::fs::write(&password, "pw-SECRET\n").expect("write");
    let token = dir.path().join("token");
    std::fs::write(&token, "tok-SECRET\n").expect("write");

    let server = FaultServer::start(Fault::json(401, r#"{"error":"nope"}"#));
    let out = cli(&[
        "analyze",
        "--prometheus",
        &server.url(),
        "--basic-auth-user",
        "alice",
        "--basic-auth-password-file",
        password.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("HTTP 401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("SECRET") && !stdout(&out).contains("SECRET"));
    // base64("alice:pw-SECRET"): the trailing newline of the file is not part of it.
    assert!(
        server.last_request().contains("Basic YWxpY2U6cHctU0VDUkVU"),
        "{}",
        server.last_request()
    );

    let out = cli(&[
        "health",
        "--prometheus",
        &server.url(),
        "--bearer-token-file",
        token.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("refused the credentials"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("SECRET"));
    assert!(server.last_request().contains("Bearer tok-SECRET"));

    let missing = cli(&[
        "health",
        "--prometheus",
        &server.url(),
        "--bearer-token-file",
        "/nonexistent/token",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("/nonexistent/token"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn methods_histogram_and_slo_flags_reach_the_analysis() {
    let scenario = scenarios::latency_slo();
    let prometheus = serve(&scenario);
    let url = prometheus.url();
    let at = scenario.at.to_string();
    let methodologies = |report: &serde_json::Value| -> Vec<String> {
        let mut m: Vec<String> = report["insights"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["methodology"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        m.sort();
        m.dedup();
        m
    };

    let full = json_of(&analyze(
        &url,
        &at,
        &[
            "--format",
            "json",
            "--histogram",
            "http_request_duration_seconds{job=\"api\"}",
            "--slo",
            "250ms@99",
        ],
    ));
    let slo = full["insights"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["check"] == "latency.slo"))
        .expect("an SLO breach");
    assert_eq!(slo["severity"], "high");
    assert!(slo["title"].as_str().is_some_and(|t| t.contains("p99")));
    // The JSON report keeps its shape: the same top-level keys as a USE-only run.
    let use_only = json_of(&analyze(
        &url,
        &at,
        &["--format", "json", "--methods", "use"],
    ));
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&full), keys(&use_only));
    assert!(methodologies(&use_only).iter().all(|m| m == "use_method"));

    // Latency only: no USE checks run, the histogram and the built-in latencies do.
    let latency = json_of(&analyze(
        &url,
        &at,
        &[
            "--format",
            "json",
            "--methods",
            "latency",
            "--histogram",
            "http_request_duration_seconds",
            "--slo",
            "0.25@99",
        ],
    ));
    assert_eq!(methodologies(&latency), ["latency_analysis"]);
    assert_eq!(latency["checks"].as_array().map(Vec::len), Some(0));

    // The text report shows the workload table and the histogram's numbers.
    let text = stdout(&analyze(
        &url,
        &at,
        &[
            "--histogram",
            "http_request_duration_seconds",
            "--slo",
            "0.25@99",
        ],
    ));
    assert!(text.contains("WORKLOAD AND LATENCY"), "{text}");
    assert!(text.contains("HISTOGRAM LATENCY"), "{text}");
    assert!(text.contains("p99: "), "{text}");
}
