//! `gregg-insights rules`: the generated rule file passes `promtool check rules`, vmalert's
//! own check, and the unit tests of tests/data/rules/unit-tests.yml (`promtool test rules`),
//! where input series make some alerts fire and others not.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Write the rules into `dir` with the CLI and return the file's path.
fn generate(dir: &Path) -> PathBuf {
    let path = dir.join("gregg-insights.rules.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_gregg-insights"))
        .args(["rules", "--output"])
        .arg(&path)
        .output()
        .expect("run gregg-insights rules");
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checks recorded"), "{stderr}");
    path
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gregg-rules-")
        .tempdir()
        .expect("temporary directory")
}

#[test]
fn generated_rules_pass_promtool_check_rules() {
    let dir = tempdir();
    let rules = generate(dir.path());
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("run promtool");
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let found: usize = said
        .split("SUCCESS: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(found > 60, "{said}");
    // The skipped checks are listed, each with why.
    let yaml = std::fs::read_to_string(&rules).expect("rules");
    assert!(
        yaml.lines().any(|l| l
            .starts_with("# skipped: memory.errors.oom_kills (record and alerts): an event check")),
        "{}",
        &yaml[..yaml.len().min(3000)]
    );
}

#[test]
fn generated_rules_load_in_vmalert() {
    let dir = tempdir();
    let rules = generate(dir.path());
    let out = Command::new("vmalert")
        .arg(format!("-rule={}", rules.display()))
        .arg("-dryRun")
        .output()
        .expect("run vmalert (Debian package victoria-metrics)");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn generated_rules_pass_their_promtool_unit_tests() {
    let dir = tempdir();
    generate(dir.path());
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules/unit-tests.yml");
    let copy = dir.path().join("unit-tests.yml");
    std::fs::copy(&tests, &copy).expect("copy the unit tests next to the rules");
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&copy)
        .output()
        .expect("run promtool");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SUCCESS"),
        "{}",
        text(&out)
    );
}

/// A fleet whose rules the engine evaluated (backfilled over its history with `promtool tsdb
/// create-blocks-from rules`, on the grid the analysis reads) gives the same findings from the
/// recorded series as from the raw expressions, and the report says it read them.
#[test]
fn an_analysis_reads_the_recorded_series_and_finds_the_same() {
    use gregg_insights::{analysis, catalog, methods::MethodsRequest};

    use crate::support::{block_on, client, request};

    let fleet = gregg_testkit::scenarios::fleet(200);
    let plain = fleet.serve();
    let dir = tempdir();
    let rules = generate(dir.path());
    let blocks = dir.path().join("recorded");
    backfill_rules(
        &rules,
        &plain.url(),
        (fleet.at - fleet.history, fleet.at),
        &blocks,
    );
    let recorded = plain.twin_with(&[], &[blocks.as_path()]);
    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let run = |url: &str| {
        block_on(analysis::analyze(&client(url), catalog::builtin(), &req)).expect("analysis")
    };
    let raw = run(&plain.url());
    let read = run(&recorded.url());
    let findings = |a: &analysis::Analysis| {
        let mut f: Vec<String> = a
            .insights
            .iter()
            .map(|i| format!("{} {:?} {:?}", i.id, i.severity, i.instance))
            .collect();
        f.sort();
        f
    };
    assert!(!findings(&raw).is_empty());
    assert_eq!(findings(&read), findings(&raw));
    let notice = |a: &analysis::Analysis| {
        a.warnings
            .iter()
            .find(|w| w.starts_with("recorded series: "))
            .cloned()
    };
    assert_eq!(notice(&raw), None, "nothing recorded there");
    let said = notice(&read).expect("the report says it read recorded series");
    let n: usize = said["recorded series: ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(n > 20, "{said}");
    let utilization = read.outcome("cpu.utilization").expect("ran");
    assert!(
        utilization
            .query
            .starts_with("gregg_insights:cpu_utilization{gregg_rate=\"2m\""),
        "{}",
        utilization.query
    );
    assert_eq!(
        utilization.breaches,
        raw.outcome("cpu.utilization").expect("ran").breaches
    );
}

/// Evaluate `rules` over `span` (Unix seconds) against the Prometheus at `url`, every 60 s
/// from a minute boundary (the analysis' grid), into TSDB blocks in `out`.
fn backfill_rules(rules: &Path, url: &str, span: (i64, i64), out: &Path) {
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "rules"])
        .arg(format!("--start={}", span.0))
        .arg(format!("--end={}", span.1))
        .arg(format!("--url={url}"))
        .arg(format!("--output-dir={}", out.display()))
        .arg("--eval-interval=60s")
        .arg(rules)
        .output()
        .expect("run promtool");
    assert!(out.status.success(), "{}", text(&out));
}

/// Rules loaded only five minutes before the end of the ten-minute window, and rules evaluated
/// on one shard of two (half the instances): read as if complete, either would judge part of
/// the data. The checks evaluate their raw expressions instead, find what the raw analysis
/// finds, and the notice says why.
#[test]
fn recorded_series_that_start_late_or_cover_half_the_fleet_are_not_read() {
    use gregg_insights::{analysis, catalog, methods::MethodsRequest};

    use crate::support::{block_on, client, request};

    let fleet = gregg_testkit::scenarios::fleet(200);
    let plain = fleet.serve();
    let dir = tempdir();
    let rules = generate(dir.path());
    let late = dir.path().join("late");
    backfill_rules(&rules, &plain.url(), (fleet.at - 300, fleet.at), &late);
    let shard = fleet.split(2).swap_remove(0).serve();
    let half = dir.path().join("half");
    backfill_rules(
        &rules,
        &shard.url(),
        (fleet.at - fleet.history, fleet.at),
        &half,
    );
    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let run = |url: &str| {
        block_on(analysis::analyze(&client(url), catalog::builtin(), &req)).expect("analysis")
    };
    let findings = |a: &analysis::Analysis| {
        let mut f: Vec<String> = a
            .insights
            .iter()
            .map(|i| format!("{} {:?} {:?} {:?}", i.id, i.severity, i.instance, i.device))
            .collect();
        f.sort();
        f
    };
    let raw = run(&plain.url());
    assert!(!findings(&raw).is_empty());
    for (blocks, why) in [
        (&late, "into the window"),
        (&half, "recorded series cover 100 of 200 instances"),
    ] {
        let served = plain.twin_with(&[], &[blocks.as_path()]);
        let read = run(&served.url());
        let said = read
            .warnings
            .iter()
            .find(|w| w.starts_with("recorded series: "))
            .unwrap_or_else(|| panic!("a recorded-series notice: {:?}", read.warnings));
        assert!(said.contains(why), "{said}");
        assert!(said.contains("cpu.utilization"), "{said}");
        for check in ["cpu.utilization", "memory.utilization", "disk.utilization"] {
            let outcome = read.outcome(check).expect("ran");
            assert!(
                !outcome.query.starts_with("gregg_insights:"),
                "{check} read partial recorded series: {}",
                outcome.query
            );
            assert_eq!(
                outcome.breaches,
                raw.outcome(check).expect("ran").breaches,
                "{check}"
            );
        }
        assert_eq!(findings(&read), findings(&raw), "{why}");
    }
}
