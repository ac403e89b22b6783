//! Dashboard analysis end to end: real dashboard JSON served under Grafana's API paths by a
//! small stub, scenario data in a real Prometheus, and the library and CLI reading them.

use std::{
    collections::BTreeMap,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeZone, Utc};
use gregg_insights::{
    analysis,
    dashboard::{self, DashboardRequest},
    grafana::{self, GrafanaConfig},
    insight::{Insight, Severity},
};
use gregg_testkit::{
    grafana::{Answer, GrafanaStub},
    scenarios::{self, END},
};
use serde_json::{json, Value};

use crate::support::{block_on, client, serve};

const TOKEN: &str = "glsa_TEST-TOKEN-never-shown-0123456789";

fn data(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dashboards")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("dashboard data file");
    serde_json::from_str(&text).expect("dashboard JSON")
}

fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        body: body.to_string(),
    }
}

/// A Grafana serving `dashboards` by uid, one Prometheus data source, and the search API.
fn grafana_with(dashboards: &[Value], extra: &[(&str, Answer)]) -> GrafanaStub {
    let mut routes = BTreeMap::new();
    let mut hits = Vec::new();
    for d in dashboards {
        let uid = d["uid"].as_str().expect("uid");
        routes.insert(
            format!("/api/dashboards/uid/{uid}"),
            ok(json!({"dashboard": d, "meta": {"folderUid": "ops"}})),
        );
        hits.push(json!({"uid": uid, "title": d["title"], "url": format!("/d/{uid}"), "type": "dash-db", "tags": d["tags"], "folderUid": "ops", "folderTitle": "Ops"}));
    }
    routes.insert("/api/search".into(), ok(Value::Array(hits)));
    routes.insert(
        "/api/datasources".into(),
        ok(
            json!([{"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true},
                  {"uid": "loki", "name": "Loki", "type": "loki", "isDefault": false}]),
        ),
    );
    for (path, answer) in extra {
        routes.insert(path.to_string(), answer.clone());
    }
    GrafanaStub::start(TOKEN, routes)
}

fn grafana_client(url: &str, token: &str) -> grafana::Client {
    grafana::Client::new(&GrafanaConfig::new(
        url::Url::parse(url).expect("url"),
        Some(gregg_insights::secret::Secret::new(token)),
    ))
    .expect("grafana client")
}

fn end() -> DateTime<Utc> {
    Utc.timestamp_opt(END, 0).single().expect("time")
}

fn last_hour(uid: &str) -> DashboardRequest {
    DashboardRequest::new(uid, end() - chrono::Duration::hours(1), end())
}

fn flagged<'a>(insights: &'a [Insight], panel: &str) -> Vec<&'a Insight> {
    insights
        .iter()
        .filter(|i| i.check == "dashboard.threshold" || i.check == "dashboard.plateau")
        .filter(|i| i.title.contains(&format!("\"{panel}\"")))
        .collect()
}

#[test]
fn the_incident_dashboard_flags_cpu_panels_correlates_them_and_ties_them_to_use() {
    let scenario = scenarios::dashboard_incident();
    let prometheus = serve(&scenario);
    let stub = grafana_with(&[data("scenario-incident.json")], &[]);
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&prometheus.url()),
        &last_hour("gregg-incident"),
    ))
    .expect("analysis");
    let insights = &result.analysis.insights;
    let dump = serde_json::to_string_pretty(insights).unwrap_or_default();

    // The three CPU panels are past their red thresholds on api-1, for ~40 of 60 minutes.
    for panel in ["CPU Busy", "Load per CPU", "CPU Pressure (waiting)"] {
        let found = flagged(insights, panel);
        assert_eq!(found.len(), 1, "{panel}: {dump}");
        let i = found[0];
        assert_eq!(i.instance.as_deref(), Some("api-1:9100"), "{panel}");
        assert!(i.severity >= Severity::High, "{panel}: {:?}", i.severity);
        assert_eq!(i.methodology.as_str(), "dashboard_analysis");
        assert!(i.observation.contains(panel), "{}", i.observation);
        // The evidence names the query that ran.
        assert!(
            i.related_metrics[0].contains("node_"),
            "{:?}",
            i.related_metrics
        );
        let share = i.evidence.get("breach_share_percent").expect("share");
        assert!((55.0..=75.0).contains(&share), "{panel}: {share}");
        // Tied to the USE Method's CPU bottleneck on the same instance.
        assert!(
            i.observation
                .contains("The USE Method agrees for api-1:9100")
                && i.observation.contains("cpu.bottleneck"),
            "{}",
            i.observation
        );
    }
    // Memory is healthy on both hosts, web-1 is healthy everywhere.
    assert!(flagged(insights, "Memory Used").is_empty(), "{dump}");
    assert!(
        !insights
            .iter()
            .any(|i| i.instance.as_deref() == Some("web-1:9100") && i.severity > Severity::Info),
        "{dump}"
    );
    // Correlated panels are named, both of them.
    let correlated = insights
        .iter()
        .filter(|i| i.check == "dashboard.correlation")
        .any(|i| i.title.contains("\"CPU Busy\"") && i.title.contains("\"Load per CPU\""));
    assert!(correlated, "{dump}");
    // The repeated panel ran once per instance.
    let repeats: Vec<&str> = result
        .targets
        .iter()
        .filter(|t| t.panel_id == Some(7))
        .map(|t| t.panel_title.as_str())
        .collect();
    assert_eq!(
        repeats,
        ["Running tasks on api-1:9100", "Running tasks on web-1:9100"]
    );
    // The collapsed row's panel ran.
    assert!(result.targets.iter().any(|t| t.panel_id == Some(6)));
    // Everything that could not be analysed is a note, naming the panel.
    let notes = result.notes.join("\n");
    for needle in [
        "Panel 8 \"Shared panel (library)\": library panel `lib-missing` could not be resolved (Grafana answered 404",
        "Panel 9 \"Synthetic (TestData)\": data source type `grafana-testdata-datasource` is not Prometheus",
        "Panel 10 \"Broken query\" query A: the PromQL does not parse",
        "Panel 11 \"Unknown variable\" query A: $cluster is not a variable of the dashboard; the query ran with it as written",
        "Panel 12 \"Kernel log\": data source type `loki` is not Prometheus",
    ] {
        assert!(notes.contains(needle), "missing note `{needle}` in\n{notes}");
    }
    assert!(!format!("{result:?}").contains(TOKEN));
}

#[test]
fn a_healthy_fleet_read_through_node_exporter_full_yields_only_the_summary() {
    let scenario = scenarios::healthy_fleet();
    let prometheus = serve(&scenario);
    let stub = grafana_with(&[data("node-exporter-full.json")], &[]);
    let mut request = last_hour("rYdddlPWk");
    request.variables.insert("job".into(), vec!["node".into()]);
    request
        .variables
        .insert("node".into(), vec!["web-1:9100".into()]);
    request
        .variables
        .insert("nodename".into(), vec!["web-1".into()]);
    let started = Instant::now();
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&prometheus.url()),
        &request,
    ))
    .expect("analysis");
    let insights = &result.analysis.insights;
    let dump = serde_json::to_string_pretty(insights).unwrap_or_default();
    assert!(result.panels > 100, "{} panels", result.panels);
    assert!(
        result.targets.len() >= 150,
        "{} queries",
        result.targets.len()
    );
    // Real data for the chosen node came back.
    assert!(
        result
            .analysis
            .queries
            .iter()
            .filter(|q| q.series > 0)
            .count()
            > 50
    );
    // Healthy: nothing past a panel's threshold, nothing at a limit.
    let loud: Vec<String> = insights
        .iter()
        .filter(|i| i.severity > Severity::Low)
        .map(|i| format!("{} | {} | {}", i.severity, i.title, i.observation))
        .collect();
    assert!(loud.is_empty(), "{loud:#?}\n{dump}");
    assert!(insights.iter().any(|i| i.check == "dashboard.summary"));
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn public_dashboards_extract_their_prometheus_queries() {
    // node-mixin's rendered USE dashboards: every panel is Prometheus via ${datasource}.
    for (file, min_targets) in [
        ("node-rsrc-use.json", 10),
        ("node-cluster-rsrc-use.json", 10),
        ("node-exporter-full.json", 150),
    ] {
        let d = dashboard::model::parse(&data(file));
        let mut values = dashboard::variables::Values::new();
        for v in &d.variables {
            values.set(&v.name, dashboard::variables::Value::Single("x".into()));
        }
        let intervals = dashboard::variables::Intervals {
            interval: Duration::from_secs(15),
            scrape: Duration::from_secs(15),
            range: Duration::from_secs(3600),
        };
        let x = dashboard::extract::extract(&d, &values, &intervals, &[], None);
        assert!(
            x.targets.len() >= min_targets,
            "{file}: {} targets, notes {:?}",
            x.targets.len(),
            x.notes
        );
        // Every target parsed: no broken PromQL and no unknown variables in these dashboards.
        assert!(
            !x.notes
                .iter()
                .any(|n| n.contains("does not parse") || n.contains("unknown variable")),
            "{file}: {:?}",
            x.notes
        );
        assert!(x.targets.iter().all(|t| !t.promql.contains("$")), "{file}");
    }
}

#[test]
fn a_dashboard_of_two_thousand_panels_finishes_capped_with_a_note() {
    let scenario = scenarios::healthy_fleet();
    let prometheus = serve(&scenario);
    let panels: Vec<Value> = (1..=2000)
        .map(|i| {
            json!({"id": i, "type": "timeseries", "title": format!("Panel {i}"),
                   "datasource": {"type": "prometheus", "uid": "prom"},
                   "targets": [{"refId": "A", "expr": format!("node_load1 * {i}")}]})
        })
        .collect();
    let big = json!({"uid": "big", "title": "Big", "panels": panels});
    let stub = grafana_with(&[big], &[]);
    let started = Instant::now();
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&prometheus.url()),
        &last_hour("big"),
    ))
    .expect("analysis");
    assert_eq!(result.panels, 2000);
    assert_eq!(result.targets.len(), dashboard::extract::MAX_TARGETS);
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.contains("Only the first 500 queries were run; 1500 more were skipped")),
        "{:?}",
        result.notes
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn grafana_failures_are_clear_and_never_show_the_token() {
    let prometheus_url = crate::support::dead_url();
    let stub = grafana_with(
        &[],
        &[(
            "/api/dashboards/uid/broken",
            Answer {
                status: 500,
                body: r#"{"message":"database is locked"}"#.into(),
            },
        )],
    );
    let run = |token: &str, uid: &str| {
        block_on(analysis::dashboard::analyze(
            &grafana_client(&stub.url(), token),
            &client(&prometheus_url),
            &last_hour(uid),
        ))
        .expect_err("must fail")
        .to_string()
    };
    let wrong = "glsa_WRONG-token-also-secret";
    let unauthorised = run(wrong, "any");
    assert!(
        unauthorised.contains("401") && unauthorised.contains("token"),
        "{unauthorised}"
    );
    let missing = run(TOKEN, "nope");
    assert!(
        missing.contains("404") && missing.contains("dashboard `nope`"),
        "{missing}"
    );
    let failing = run(TOKEN, "broken");
    assert!(
        failing.contains("500") && failing.contains("database is locked"),
        "{failing}"
    );
    let bad_uid = run(TOKEN, "../admin");
    assert!(bad_uid.contains("not a Grafana uid"), "{bad_uid}");
    for message in [&unauthorised, &missing, &failing, &bad_uid] {
        assert!(
            !message.contains(TOKEN) && !message.contains(wrong),
            "{message}"
        );
    }
    // The token was sent as a bearer token, and only that way.
    assert!(stub.requests().iter().all(|r| !r.contains(TOKEN)));
}

#[test]
fn the_cli_reads_a_dashboard_end_to_end() {
    let scenario = scenarios::dashboard_incident();
    let prometheus = serve(&scenario);
    let stub = grafana_with(&[data("scenario-incident.json")], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    // The dashboard of the stub, read with the token in `token_file`, against `prometheus`.
    let (grafana_url, prometheus_url) = (stub.url(), prometheus.url());
    let token_path = token_file.to_string_lossy().into_owned();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gregg-insights"))
            .args([
                "dashboard",
                "--grafana",
                &grafana_url,
                "--token-file",
                &token_path,
                "--uid",
                "gregg-incident",
                "--prometheus",
                &prometheus_url,
            ])
            .args(extra)
            .env_remove("GREGG_PROMETHEUS_URL")
            .env_remove("GREGG_GRAFANA_URL")
            .output()
            .expect("the CLI runs")
    };
    let end = END.to_string();
    let output = run(&[
        "--to",
        &end,
        "--window",
        "1h",
        "--var",
        "instance=api-1:9100",
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A critical finding: exit status 3, as `analyze --fail-on`.
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("a JSON report");
    let titles: Vec<&str> = report["insights"]
        .as_array()
        .expect("insights")
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.contains("\"CPU Busy\"") && t.contains("red threshold")),
        "{titles:#?}"
    );
    // Only api-1 was selected: the repeated panel ran once.
    assert!(!stdout.contains("Running tasks on web-1"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    // A wrong token: a clear error, exit 1, no token in the output.
    std::fs::write(&token_file, "glsa_wrong").expect("token file");
    let output = run(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("glsa_wrong"), "{stderr}");
}

/// The public dashboards of the corpus (`tests/data/dashboards/README.md` has their sources
/// and licences).
const CORPUS: &[&str] = &[
    "node-exporter-full.json",
    "node-rsrc-use.json",
    "node-cluster-rsrc-use.json",
    "node-mixin-nodes.json",
    "kube-prometheus-prometheus-overview.json",
    "kube-prometheus-k8s-resources-node.json",
    "starsliao-node-exporter-16098.json",
    "starsliao-node-exporter-tensuns.json",
    "dotdc-k8s-views-nodes.json",
    "dotdc-k8s-views-global.json",
];

/// Every public dashboard of the corpus, opened as a user opens it (variables at their saved
/// values, the last hour) on the incident fleet (api-1 saturates its CPUs): each sends every
/// query Grafana would send, names every panel it reports on, and says what it judged.
/// With `GREGG_CORPUS_TABLE=<path>` set, the table is written there (`docs/dashboards.md`).
#[test]
fn the_public_dashboard_corpus_runs_every_query_grafana_would() {
    let scenario = scenarios::dashboard_incident();
    let prometheus = serve(&scenario);
    let models: Vec<Value> = CORPUS.iter().map(|f| data(f)).collect();
    let stub = grafana_with(&models, &[]);
    let grafana = grafana_client(&stub.url(), TOKEN);
    let prom = client(&prometheus.url());
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (file, model) in CORPUS.iter().zip(&models) {
        let uid = model["uid"].as_str().expect("uid");
        let started = Instant::now();
        let result = block_on(analysis::dashboard::analyze(
            &grafana,
            &prom,
            &last_hour(uid),
        ))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let took = started.elapsed();
        let header = result
            .analysis
            .dashboard
            .clone()
            .expect("a dashboard header");
        if *file == "starsliao-node-exporter-16098.json" {
            // The report has a head of its own: the dashboard, its variables, what ran; the
            // dashboard's summary is not a coverage gap.
            let text = gregg_insights::report::render(
                &result.analysis,
                gregg_insights::catalog::builtin(),
                gregg_insights::report::Format::Text,
            );
            println!("{}", text.lines().take(24).collect::<Vec<_>>().join("\n"));
            for needle in [
                "DASHBOARD ANALYSIS REPORT",
                "Dashboard:",
                "$origin_prometheus = (empty)",
                "$instance = api-1:9100",
                "80 sent of the 80 Grafana would run",
            ] {
                assert!(text.contains(needle), "{needle} not in\n{text}");
            }
            assert!(!text.contains("Targets:    0 instance(s)"), "{text}");
            assert!(!text.contains("COVERAGE GAPS"), "{text}");
        }
        let findings: Vec<&Insight> = result
            .analysis
            .insights
            .iter()
            .filter(|i| i.check != "dashboard.summary")
            .filter(|i| i.methodology.as_str() == "dashboard_analysis")
            .collect();
        if header.queries_sent != header.grafana_queries {
            failures.push(format!(
                "{file}: sent {} of {} queries; notes:\n{}",
                header.queries_sent,
                header.grafana_queries,
                result.notes.join("\n")
            ));
        }
        let unnamed: Vec<&str> = result
            .targets
            .iter()
            .filter(|t| t.panel_title.trim().is_empty())
            .map(|t| t.ref_id.as_str())
            .chain(
                findings
                    .iter()
                    .filter(|i| i.title.contains("panel \"\"") || i.title.contains("Panel \"\""))
                    .map(|i| i.title.as_str()),
            )
            .collect();
        if !unnamed.is_empty() {
            failures.push(format!("{file}: unnamed panels {unnamed:?}"));
        }
        let flagged_hosts: BTreeMap<String, usize> =
            findings.iter().fold(BTreeMap::new(), |mut m, i| {
                if i.severity > Severity::Info {
                    *m.entry(i.instance.clone().unwrap_or_else(|| "-".into()))
                        .or_default() += 1;
                }
                m
            });
        rows.push(format!(
            "| {} | `{file}` | {} | {} | {} | {} / {} | {} | {} | {:.1} s |",
            header.title.replace('|', "\\|"),
            header.grafana_queries,
            header.queries_sent,
            header.queries_answered,
            header.panels_judged,
            header.panels_read,
            findings
                .iter()
                .filter(|i| i.severity > Severity::Info)
                .count(),
            if flagged_hosts.is_empty() {
                "-".to_string()
            } else {
                flagged_hosts
                    .iter()
                    .map(|(h, n)| format!("{h} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            took.as_secs_f64()
        ));
    }
    let table = format!(
        "| Dashboard | File | Queries Grafana would run | Sent | Answered | Panels judged / read | Findings | Hosts flagged (findings) | Time |\n|---|---|---:|---:|---:|---:|---:|---|---:|\n{}\n",
        rows.join("\n")
    );
    println!("{table}");
    if let Ok(path) = std::env::var("GREGG_CORPUS_TABLE") {
        std::fs::write(&path, &table).expect("corpus table written");
    }
    assert!(failures.is_empty(), "{}\n\n{table}", failures.join("\n\n"));
}

/// A dashboard whose CPU panel names a second Prometheus data source (`second`, not the
/// default) next to the same panel on the default one.
fn two_sources_dashboard() -> Value {
    let panel = |id: i64, title: &str, uid: &str| {
        json!({"id": id, "type": "timeseries", "title": title,
            "datasource": {"type": "prometheus", "uid": uid},
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": id * 8},
            "fieldConfig": {"defaults": {"unit": "percent", "thresholds": {"mode": "absolute",
                "steps": [{"color": "green", "value": null}, {"color": "red", "value": 90}]}}, "overrides": []},
            "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": uid},
                "expr": "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
                "legendFormat": "{{instance}}"}]})
    };
    json!({"uid": "two-sources", "title": "Two sources", "tags": [], "schemaVersion": 39,
        "panels": [panel(1, "CPU Busy (own)", "prom"), panel(2, "CPU Busy (second)", "second")]})
}

#[test]
fn a_target_naming_another_prometheus_runs_there_through_grafanas_proxy() {
    // The plugin's own Prometheus: four healthy hosts. The second data source: api-1 saturated.
    let own = serve(&scenarios::healthy_fleet());
    let second = serve(&scenarios::dashboard_incident());
    let dashboard = two_sources_dashboard();
    let mut routes = BTreeMap::new();
    routes.insert(
        "/api/dashboards/uid/two-sources".to_string(),
        ok(json!({"dashboard": dashboard, "meta": {}})),
    );
    routes.insert(
        "/api/datasources".to_string(),
        ok(json!([
            {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true},
            {"uid": "second", "name": "Second Prometheus", "type": "prometheus", "isDefault": false},
            {"uid": "gone", "name": "Gone", "type": "prometheus", "isDefault": false}
        ])),
    );
    let mut proxy = BTreeMap::new();
    proxy.insert(
        "/api/datasources/proxy/uid/second/".to_string(),
        second.addr(),
    );
    let stub = GrafanaStub::start_with_proxy(TOKEN, routes, proxy);
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&own.url()),
        &last_hour("two-sources"),
    ))
    .expect("analysis");
    let insights = &result.analysis.insights;
    let dump = serde_json::to_string_pretty(insights).unwrap_or_default();
    // api-1 exists only in the second Prometheus: its finding proves the panel ran there.
    let found = flagged(insights, "CPU Busy (second)");
    assert_eq!(found.len(), 1, "{dump}");
    assert_eq!(found[0].instance.as_deref(), Some("api-1:9100"), "{dump}");
    assert!(found[0].severity >= Severity::High, "{dump}");
    // The panel on the default data source judged the own (healthy) fleet.
    assert!(flagged(insights, "CPU Busy (own)").is_empty(), "{dump}");
    let seen = stub.requests().join("\n");
    assert!(
        seen.contains("GET /api/datasources/proxy/uid/second/api/v1/query_range?"),
        "{seen}"
    );

    // The token check still applies to the proxy: without Grafana's token it answers 401.
    let (status, _) = gregg_testkit::http::get(
        stub.addr(),
        "/api/datasources/proxy/uid/second/api/v1/query?query=up",
    )
    .expect("the stub answers");
    assert_eq!(status, 401);
    drop(stub);

    // A proxied Prometheus that fails: that panel's query fails with a note naming the data
    // source (never the token); the panel on the own Prometheus still answers.
    let mut routes = BTreeMap::new();
    routes.insert(
        "/api/dashboards/uid/two-sources".to_string(),
        ok(json!({"dashboard": two_sources_dashboard(), "meta": {}})),
    );
    routes.insert(
        "/api/datasources".to_string(),
        ok(json!([
            {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true},
            {"uid": "second", "name": "Second Prometheus", "type": "prometheus", "isDefault": false}
        ])),
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let stub = GrafanaStub::start_with_proxy(
        TOKEN,
        routes,
        BTreeMap::from([("/api/datasources/proxy/uid/second/".to_string(), dead)]),
    );
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&own.url()),
        &last_hour("two-sources"),
    ))
    .expect("the own panel still answers");
    let notes = result.notes.join("\n");
    assert!(
        notes.contains("CPU Busy (second)")
            && notes.contains("Second Prometheus")
            && notes.contains("could not run it"),
        "{notes}"
    );
    assert!(!notes.contains(TOKEN), "{notes}");
    assert!(flagged(&result.analysis.insights, "CPU Busy (second)").is_empty());
    assert_eq!(result.targets.len(), 1, "{notes}");
}

/// A Grafana serving `datasource-variable.json` (its `$ds` saved as the second Prometheus),
/// four data sources (two more Prometheus, one Loki), and the second one's proxy forwarded to
/// `second`.
fn datasource_variable_grafana(second: std::net::SocketAddr) -> GrafanaStub {
    let mut routes = BTreeMap::new();
    routes.insert(
        "/api/dashboards/uid/ds-variable".to_string(),
        ok(json!({"dashboard": data("datasource-variable.json"), "meta": {}})),
    );
    routes.insert(
        "/api/datasources".to_string(),
        ok(json!([
            {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true},
            {"uid": "second", "name": "Second Prometheus", "type": "prometheus", "isDefault": false},
            {"uid": "lts", "name": "Long-term Thanos", "type": "prometheus", "isDefault": false},
            {"uid": "loki", "name": "Loki", "type": "loki", "isDefault": false}
        ])),
    );
    let proxy = BTreeMap::from([("/api/datasources/proxy/uid/second/".to_string(), second)]);
    GrafanaStub::start_with_proxy(TOKEN, routes, proxy)
}

/// The `ds-variable` dashboard analysed with the plugin's own Prometheus serving four healthy
/// hosts and `$ds` naming a second one where api-1 is saturated; the stub that served it.
fn analyse_ds_variable_dashboard() -> (analysis::dashboard::DashboardAnalysis, GrafanaStub) {
    let own = serve(&scenarios::healthy_fleet());
    let second = serve(&scenarios::dashboard_incident());
    let stub = datasource_variable_grafana(second.addr());
    let result = block_on(analysis::dashboard::analyze(
        &grafana_client(&stub.url(), TOKEN),
        &client(&own.url()),
        &last_hour("ds-variable"),
    ))
    .expect("analysis");
    (result, stub)
}

#[test]
fn a_datasource_variable_whose_value_is_a_second_prometheus_runs_its_panels_there() {
    let (result, stub) = analyse_ds_variable_dashboard();
    let insights = &result.analysis.insights;
    let dump = serde_json::to_string_pretty(insights).unwrap_or_default();
    // api-1 exists only in the second Prometheus: both `$ds` panels (the `{"uid": "${ds}"}`
    // form and the bare `"$ds"` form) ran there.
    for panel in ["CPU Busy", "Load per CPU"] {
        let found = flagged(insights, panel);
        assert_eq!(found.len(), 1, "{panel}: {dump}\n{:?}", result.notes);
        assert_eq!(found[0].instance.as_deref(), Some("api-1:9100"), "{panel}");
        assert!(found[0].severity >= Severity::High, "{panel}: {dump}");
    }
    // The panel on the default data source judged the own, healthy fleet.
    assert!(
        flagged(insights, "CPU Busy (default data source)").is_empty(),
        "{dump}"
    );
    let seen = stub.requests().join("\n");
    let proxied = seen
        .lines()
        .filter(|l| l.starts_with("GET /api/datasources/proxy/uid/second/api/v1/query_range?"))
        .count();
    assert!(proxied >= 2, "{seen}");
    // The report's head names the data source the variable resolved to.
    let header = result.analysis.dashboard.clone().expect("header");
    // The query variable `host` asks `${ds}`, as Grafana would: its saved value, a host only
    // the second Prometheus has, is still an option there, so it is kept (asked of the own
    // Prometheus it would fall back to one of the healthy hosts).
    assert_eq!(
        header.variables,
        [
            (
                "ds".to_string(),
                "Second Prometheus (uid second)".to_string()
            ),
            ("host".to_string(), "api-1:9100".to_string())
        ],
        "{:?}",
        result.notes
    );
    assert!(
        seen.lines()
            .any(|l| l.contains("/api/datasources/proxy/uid/second/api/v1/label/instance/values")),
        "{seen}"
    );
}

#[test]
fn hosts_shown_only_by_another_prometheus_are_tied_to_a_use_analysis_run_there() {
    let (result, stub) = analyse_ds_variable_dashboard();
    let insights = &result.analysis.insights;
    let dump = serde_json::to_string_pretty(insights).unwrap_or_default();
    // api-1 is only on the second Prometheus: its USE context can only come from there.
    for panel in ["CPU Busy", "Load per CPU"] {
        let found = flagged(insights, panel);
        assert_eq!(found.len(), 1, "{panel}: {dump}");
        let observation = &found[0].observation;
        assert!(
            observation.contains(
                "The USE Method agrees for api-1:9100 (run on Prometheus data source \"Second Prometheus\""
            ) && observation.contains("cpu.bottleneck"),
            "{panel}: {observation}\n{:?}",
            result.notes
        );
        assert_eq!(
            found[0]
                .evidence
                .get("use_findings_count")
                .map(|n| n >= 1.0),
            Some(true),
            "{panel}"
        );
    }
    // The USE Method's queries went through Grafana's proxy too (the panels send two).
    let proxied = stub
        .requests()
        .iter()
        .filter(|l| l.starts_with("GET /api/datasources/proxy/uid/second/"))
        .count();
    assert!(proxied > 2, "{:#?}", stub.requests());
    // The head says which data source each instance came from.
    let header = result.analysis.dashboard.clone().expect("header");
    let second_source = header
        .data_sources
        .iter()
        .find(|(name, _)| name.contains("Second Prometheus"))
        .expect("the second data source in the header");
    assert!(
        second_source.1.contains(&"api-1:9100".to_string()),
        "{:?}",
        header.data_sources
    );
    let own_source = header
        .data_sources
        .iter()
        .find(|(name, _)| name == "the plugin's Prometheus")
        .expect("the own data source in the header");
    assert!(
        !own_source.1.contains(&"api-1:9100".to_string()),
        "{:?}",
        header.data_sources
    );
    let text = gregg_insights::report::render(
        &result.analysis,
        gregg_insights::catalog::builtin(),
        gregg_insights::report::Format::Text,
    );
    assert!(
        text.contains("Sources:") && text.contains("Second Prometheus"),
        "{text}"
    );
}
