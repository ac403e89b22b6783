//! Issue 19: the analysis through Thanos Query and VictoriaMetrics equals the analysis on one
//! Prometheus holding all the data, and each engine is recognised by name.
//!
//! Thanos: a scenario's hosts are dealt over two Prometheus servers (external labels `shard`
//! and `replica`), the first shard has a replica, each server has a sidecar, and Thanos Query
//! deduplicates on `replica`. VictoriaMetrics: the same samples imported through
//! `/api/v1/import/prometheus`, queried at the root and under `/prometheus`. Equal means the
//! same checks, instances, devices, severities and kinds, and no check failing on either side.

use gregg_insights::{
    analysis, catalog, health,
    insight::Insight,
    prometheus::InstantValue,
    promql::Selector,
    report::{self, Format},
};
use gregg_testkit::{
    scenarios::{self, Scenario},
    thanos,
    victoria::VictoriaMetrics,
    Options, Prometheus,
};

use crate::support::{at, block_on, client, request, serve};

/// One line per insight (with its confidence: a PromQL info Thanos passes as a warning must
/// not lower it) and per failed check, sorted: what must be equal across engines.
fn verdicts(url: &str, scenario: &Scenario) -> Vec<String> {
    let c = client(url);
    let analysis = block_on(analysis::analyze(
        &c,
        catalog::builtin(),
        &request(scenario),
    ))
    .unwrap_or_else(|e| panic!("{} at {url}: {e}", scenario.name));
    let mut lines: Vec<String> = analysis
        .insights
        .iter()
        .map(verdict_and_confidence)
        .collect();
    lines.extend(
        analysis
            .outcomes
            .iter()
            .filter_map(|o| o.error.as_ref().map(|e| format!("{} failed: {e}", o.check))),
    );
    lines.sort();
    lines
}

fn verdict(i: &Insight) -> String {
    format!(
        "{} on {} {} [{} {}]",
        i.check,
        i.instance.as_deref().unwrap_or("-"),
        i.device.as_deref().unwrap_or("-"),
        i.severity,
        i.issue_type.as_str()
    )
}

fn verdict_and_confidence(i: &Insight) -> String {
    format!("{} conf {:.0}", verdict(i), i.confidence)
}

/// Assert that `url` gives the verdicts of one Prometheus holding `scenario`.
fn assert_same_as_prometheus(engine: &str, url: &str, scenario: &Scenario) {
    let reference = serve(scenario);
    let expected = verdicts(&reference.url(), scenario);
    assert!(
        expected.iter().any(|l| !l.contains("[info")),
        "{}: the reference found nothing to compare",
        scenario.name
    );
    let got = verdicts(url, scenario);
    assert_eq!(
        got,
        expected,
        "{}: {engine} differs from Prometheus\n{engine}:\n{}\nPrometheus:\n{}",
        scenario.name,
        got.join("\n"),
        expected.join("\n")
    );
}

/// Two shards with a sidecar each (one for a single-host scenario), a replica of the first,
/// Thanos Query in front.
fn thanos_fleet(scenario: &Scenario) -> thanos::Fleet {
    let shards = scenario.split(scenario.hosts.len().clamp(1, 2));
    let labels = |shard: usize, replica: usize| Options {
        external_labels: vec![
            ("shard".into(), format!("s{shard}")),
            ("replica".into(), format!("r{replica}")),
        ],
        ..Options::default()
    };
    let mut servers: Vec<Prometheus> = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| shard.serve_with(labels(i, 0)))
        .collect();
    servers.push(shards[0].serve_with(labels(0, 1)));
    thanos::Fleet::start(servers)
}

fn through_thanos(scenario: Scenario) {
    let fleet = thanos_fleet(&scenario);
    assert_same_as_prometheus("Thanos Query", &fleet.query.url(), &scenario);
}

fn through_victoria_metrics(scenario: Scenario) {
    let vm = VictoriaMetrics::serve(&scenario);
    assert_same_as_prometheus("VictoriaMetrics", &vm.url(), &scenario);
    // The same API under the prefix Grafana users configure for VictoriaMetrics.
    let prefixed = format!("{}/prometheus", vm.url());
    assert_same_as_prometheus("VictoriaMetrics under /prometheus", &prefixed, &scenario);
}

macro_rules! engine_tests {
    ($engine:ident: $($name:ident),* $(,)?) => {
        mod $engine {
            $(
                #[test]
                fn $name() {
                    super::$engine(gregg_testkit::scenarios::$name());
                }
            )*
        }
    };
}

engine_tests!(through_thanos: mixed_fleet, fleet_outlier, disk_bottleneck, latency_slo);
engine_tests!(through_victoria_metrics: mixed_fleet, fleet_outlier, disk_bottleneck, latency_slo);

/// Health names the engine, never with a blank version: Thanos built from the module proxy
/// and Debian's VictoriaMetrics give none, so "version unknown".
#[test]
fn health_names_the_engine() {
    let scenario = scenarios::mixed_fleet();
    let fleet = thanos_fleet(&scenario);
    let vm = VictoriaMetrics::serve(&scenario);
    let prometheus = &fleet.prometheus[0];
    for (url, name) in [
        (fleet.query.url(), "Thanos"),
        (vm.url(), "VictoriaMetrics"),
        (prometheus.url(), "Prometheus"),
    ] {
        let report = block_on(health::check_at(
            &client(&url),
            catalog::builtin(),
            &Selector::empty(),
            at(&scenario),
        ));
        assert_eq!(
            report.status,
            health::Status::Ok,
            "{url}: {}",
            report.message
        );
        assert!(
            report.message.starts_with(&format!("{name} ")),
            "{url}: {}",
            report.message
        );
        assert!(!report.message.contains("  at"), "{}", report.message);
        if name != "Prometheus" {
            assert!(
                report.message.contains("(version unknown) at"),
                "{}",
                report.message
            );
        }
        assert_eq!(report.details["engine"], name.to_lowercase(), "{url}");
    }
}

/// Path prefixes (a reverse proxy's `/prometheus`, a Mimir-style `/select/0/prometheus`) on a
/// real Prometheus started with `--web.route-prefix`: health is OK and the verdicts equal the
/// server's at the root.
#[test]
fn path_prefixes() {
    let scenario = scenarios::fleet_outlier();
    for prefix in ["/prometheus", "/select/0/prometheus"] {
        let prometheus = scenario.serve_with(Options {
            route_prefix: Some(prefix.into()),
            ..Options::default()
        });
        let url = prometheus.url();
        assert!(url.ends_with(prefix), "{url}");
        let report = block_on(health::check_at(
            &client(&url),
            catalog::builtin(),
            &Selector::empty(),
            at(&scenario),
        ));
        assert_eq!(report.status, health::Status::Ok, "{}", report.message);
        assert!(
            report.message.starts_with("Prometheus "),
            "{}",
            report.message
        );
        assert_same_as_prometheus(prefix, &url, &scenario);
    }
}

/// Tenancy checked by something real: Thanos Query enforcing tenancy from `X-Scope-OrgID`
/// (`--query.enforce-tenancy`) over two tenants' Prometheus servers. The data source's custom
/// header selects the tenant: with `team-a` the analysis sees team A's hosts only and equals one
/// Prometheus holding them; without the header Thanos answers for its default tenant, which
/// has no data, and health says so.
#[test]
fn tenant_header_selects_the_tenant() {
    use gregg_insights::secret::Secret;
    let scenario = scenarios::mixed_fleet();
    let shards = scenario.split(2);
    let tenant = |shard: usize, name: &str| Options {
        external_labels: vec![
            ("tenant_id".into(), name.into()),
            ("replica".into(), format!("r{shard}")),
        ],
        ..Options::default()
    };
    let fleet = thanos::Fleet::start_with(
        vec![
            shards[0].serve_with(tenant(0, "team-a")),
            shards[1].serve_with(tenant(1, "team-b")),
        ],
        &[
            "--query.tenant-header=X-Scope-OrgID".into(),
            "--query.enforce-tenancy".into(),
            "--query.tenant-label-name=tenant_id".into(),
        ],
        false,
    );
    let url = fleet.query.url();
    let team_a = crate::support::client_with(&url, |cfg| {
        cfg.headers = vec![("X-Scope-OrgID".into(), Secret::new("team-a"))];
    });
    let report = block_on(health::check_at(
        &team_a,
        catalog::builtin(),
        &Selector::empty(),
        at(&scenario),
    ));
    assert_eq!(report.status, health::Status::Ok, "{}", report.message);
    assert_eq!(
        report.details["instances"],
        shards[0].hosts.len(),
        "{}",
        report.message
    );
    let got = {
        let analysis = block_on(analysis::analyze(
            &team_a,
            catalog::builtin(),
            &request(&shards[0]),
        ))
        .expect("team A's analysis");
        let mut lines: Vec<String> = analysis
            .insights
            .iter()
            .map(verdict_and_confidence)
            .collect();
        lines.sort();
        lines
    };
    let alone = shards[0].serve();
    assert_eq!(got, verdicts(&alone.url(), &shards[0]));
    for host in &shards[1].hosts {
        assert!(
            !got.iter()
                .any(|l| l.contains(&format!(" on {} ", host.instance))),
            "team B's {} leaked into team A's analysis:\n{}",
            host.instance,
            got.join("\n")
        );
    }
    let anonymous = block_on(health::check_at(
        &client(&url),
        catalog::builtin(),
        &Selector::empty(),
        at(&scenario),
    ));
    assert_eq!(
        anonymous.status,
        health::Status::Error,
        "{}",
        anonymous.message
    );
    assert!(
        anonymous.message.contains("no node_exporter data"),
        "{}",
        anonymous.message
    );
}

/// A Thanos store that stops answering: Thanos Query answers partially with a warning. The
/// warning is a notice of the analysis, and the findings on the hosts still answering keep
/// their severity bound but lose confidence (none gains any).
#[test]
fn a_partial_answer_is_a_notice_and_lowers_confidence() {
    let scenario = scenarios::mixed_fleet();
    let shards = scenario.split(2);
    let labels = |shard: usize| Options {
        external_labels: vec![
            ("shard".into(), format!("s{shard}")),
            ("replica".into(), "r0".into()),
        ],
        ..Options::default()
    };
    let mut fleet = thanos::Fleet::start_with(
        vec![
            shards[0].serve_with(labels(0)),
            shards[1].serve_with(labels(1)),
        ],
        &[],
        true,
    );
    let c = client(&fleet.query.url());
    let run = || {
        block_on(analysis::analyze(
            &c,
            catalog::builtin(),
            &request(&scenario),
        ))
        .expect("analysis through Thanos")
    };
    // Thanos sends PromQL's infos ("metric might not be a counter") as warnings: notices
    // that must not lower confidence.
    let info = |w: &String| w.starts_with("PromQL info:");
    let whole = run();
    assert!(whole.warnings.iter().all(info), "{:?}", whole.warnings);
    assert_eq!(whole.partial_data, None, "every store answered");
    fleet.sidecars[1].stop();
    let partial = run();
    // The stopped shard's hosts have no finding left to lower: the header says the data is
    // partial, in every report format.
    let header = partial
        .partial_data
        .clone()
        .expect("a partial-data line in the report header");
    assert!(
        header.starts_with("partial data: ")
            && header.contains("answers carried server warnings ("),
        "{header}"
    );
    let catalog = catalog::builtin();
    let text = report::render(&partial, catalog, Format::Text);
    let markdown = report::render(&partial, catalog, Format::Markdown);
    let json = report::render(&partial, catalog, Format::Json);
    let summary = text.find("SUMMARY:").unwrap_or(text.len());
    assert!(
        text[..summary].contains("WARNING: partial data: "),
        "{text}"
    );
    assert!(
        markdown.contains("> **Warning:** partial data: "),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    assert_eq!(json["partial_data"].as_str(), Some(header.as_str()));
    assert!(
        partial.warnings.iter().any(|w| !info(w)),
        "Thanos' partial-response warning is a notice: {:?}",
        partial.warnings
    );
    let confidence = |a: &analysis::Analysis, key: &str| {
        a.insights
            .iter()
            .find(|i| verdict(i) == key)
            .map(|i| i.confidence)
    };
    let mut lowered = 0;
    for i in partial.insights.iter().filter(|i| {
        shards[0]
            .hosts
            .iter()
            .any(|h| i.instance.as_deref() == Some(h.instance.as_str()))
    }) {
        let key = verdict(i);
        let Some(before) = confidence(&whole, &key) else {
            continue;
        };
        assert!(
            i.confidence <= before,
            "{key}: {before} -> {}",
            i.confidence
        );
        if i.confidence < before {
            lowered += 1;
        }
    }
    assert!(
        lowered > 0,
        "no finding lost confidence:\n{:?}",
        partial.warnings
    );
}

/// Names that stress the range regexes of instance groups: `~` and DEL (the classes around
/// the top of ASCII), non-ASCII text of every UTF-8 length, the top code point, regex
/// metacharacters, quotes and backslashes, and names that are prefixes of one another.
const AWKWARD_NAMES: &[&str] = &[
    " ",
    "!",
    "a",
    "a b",
    "a\"b",
    "a*b",
    "a.b",
    "a:9100",
    "a\\b",
    "a|b",
    "a~",
    "a~b",
    "a\u{7f}",
    "b[1]",
    "host-1:9100",
    "host-1:9100x",
    "host-10:9100",
    "~",
    "~~",
    "\u{7f}",
    "\u{80}",
    "é",
    "é:9100",
    "中文:9100",
    "\u{ffff}",
    "🙂:9100",
    "\u{10ffff}",
];

/// A prefix a whole pool of nodes shares (GKE names), longer than the bounds of a range.
const POOL: &str = "gke-production-europe-west1-default-pool-";

/// The rest of the names in [`POOL`] (the prefix alone among them), and names outside it.
const POOL_RESTS: &[&str] = &["", "0a1b~:9100", "0a1b~x", "9z", "é:9100", "🙂"];
const OUTSIDE_POOL: &[&str] = &[
    "gke-production",
    "gke-production-europe-west1-default-poo",
    "zz",
];

/// Every name of [`AWKWARD_NAMES`], of the pool and outside it, sorted.
fn all_names() -> Vec<String> {
    let pool = POOL_RESTS.iter().map(|rest| format!("{POOL}{rest}"));
    let others = AWKWARD_NAMES.iter().chain(OUTSIDE_POOL);
    let mut names: Vec<String> = others.map(|n| n.to_string()).chain(pool).collect();
    names.sort();
    names
}

/// Every name of [`all_names`] as one series of `probe` at `at` (Unix seconds).
fn awkward_openmetrics(at: i64) -> String {
    let mut text = String::from("# TYPE probe gauge\n");
    for name in all_names() {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!("probe{{instance=\"{escaped}\"}} 1 {at}\n"));
    }
    text.push_str("# EOF\n");
    text
}

/// The instances of the `probe` series `selector` picks, on the engine at `url`, sorted.
fn probes_matching(url: &str, selector: &Selector, at: i64) -> Vec<String> {
    let time = chrono::DateTime::from_timestamp(at, 0).expect("a time");
    let answer = block_on(client(url).query(&format!("probe{{{selector}}}"), time))
        .unwrap_or_else(|e| panic!("{url} refused {selector}: {e}"));
    let InstantValue::Vector(samples) = answer.data else {
        panic!("not a vector: {:?}", answer.data);
    };
    let mut names: Vec<String> = samples
        .into_iter()
        .filter_map(|s| s.labels.get("instance").cloned())
        .collect();
    names.sort();
    names
}

/// The instances of `probe` in the range `from ≤ instance < to` on the engine at `url`.
fn probes_in_range(url: &str, from: Option<&str>, to: Option<&str>, at: i64) -> Vec<String> {
    let selector = Selector::empty()
        .narrowed_to_range(from, to)
        .expect("a non-empty range");
    probes_matching(url, &selector, at)
}

/// Instance groups are ranges of names written as regexes, and VictoriaMetrics rewrites a
/// regex before compiling it (a class starting at a control character comes out unparseable;
/// issue 19). Split at every awkward name, each range holds exactly the names in it in byte
/// order, on Prometheus and VictoriaMetrics alike (the first range open below, the last open
/// above), and so does every part of a pool of names sharing a long prefix.
#[test]
fn instance_ranges_hold_exactly_their_names_on_every_engine() {
    let at = scenarios::mixed_fleet().at;
    let text = awkward_openmetrics(at);
    let prometheus = gregg_testkit::backfill::serve(|w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
    });
    let victoria = VictoriaMetrics::start();
    victoria.import_openmetrics(text.as_bytes());
    let all = all_names();
    let mut bounds: Vec<&str> = AWKWARD_NAMES.to_vec();
    bounds.sort_unstable();
    for url in [prometheus.url(), victoria.url()] {
        assert_eq!(probes_in_range(&url, None, None, at), all, "{url}");
        for (i, bound) in bounds.iter().enumerate() {
            let from = (i > 0).then_some(*bound);
            let to = bounds.get(i + 1).copied();
            // Byte order, as `str` compares.
            let expected: Vec<String> = all
                .iter()
                .filter(|n| from.is_none_or(|f| n.as_str() >= f))
                .filter(|n| to.is_none_or(|t| n.as_str() < t))
                .cloned()
                .collect();
            assert!(expected.iter().any(|n| n == bound), "{bound:?}");
            assert_eq!(
                probes_in_range(&url, from, to, at),
                expected,
                "{url}: the range {from:?}..{to:?}"
            );
        }
        pool_ranges_hold_exactly_their_names(&url, at);
    }
}

/// A fleet sharing a long prefix is split on the rest of its names, each part the prefix
/// written once and a range of the rest, and one part (`instance!~`) for the names without
/// the prefix: split at every rest, each part holds exactly its name.
fn pool_ranges_hold_exactly_their_names(url: &str, at: i64) {
    let mut outside: Vec<String> = AWKWARD_NAMES
        .iter()
        .chain(OUTSIDE_POOL)
        .map(|n| n.to_string())
        .collect();
    outside.sort();
    assert_eq!(
        probes_matching(url, &Selector::empty().outside_prefix(POOL), at),
        outside,
        "{url}: the names outside the pool"
    );
    for (i, rest) in POOL_RESTS.iter().enumerate() {
        let from = (i > 0).then_some(*rest);
        let to = POOL_RESTS.get(i + 1).copied();
        let part = Selector::empty()
            .narrowed_to_prefixed_range(POOL, from, to)
            .expect("a non-empty range");
        assert_eq!(
            probes_matching(url, &part, at),
            vec![format!("{POOL}{rest}")],
            "{url}: the pool's range {from:?}..{to:?}"
        );
    }
}
