//! Issue 21: containers and Kubernetes. Scenarios backfilled with cAdvisor and
//! kube-state-metrics series (tests/testkit/src/containers.rs) analysed against a real
//! Prometheus: names carried, pod cgroups and pause containers never reported, limits absent
//! said, a cAdvisor-only Prometheus usable, and the CLI's report naming the containers.

use std::process::Command;

use gregg_insights::{
    analysis, catalog, health,
    insight::{Component, Insight, IssueType, UseSignal},
    promql::Selector,
};
use gregg_testkit::{
    prometheus::Prometheus,
    scenarios::{self, Scenario},
};

use crate::{
    scenarios::check,
    support::{at, block_on, client, request, serve},
};

fn on<'a>(insights: &'a [Insight], instance: &str, check: &str) -> &'a Insight {
    insights
        .iter()
        .find(|i| i.instance.as_deref() == Some(instance) && i.check == check)
        .unwrap_or_else(|| panic!("no {check} on {instance}"))
}

#[test]
fn the_pod_cgroup_and_the_pause_container_are_never_reported() {
    let insights = check(&scenarios::containers_healthy());
    for i in &insights {
        let instance = i.instance.as_deref().unwrap_or_default();
        assert!(
            !instance.ends_with('/') && !instance.ends_with("/POD") && !instance.contains("//"),
            "a pod cgroup or pause container reported: {} {}",
            instance,
            i.title
        );
    }
    // The quiet container with limits has nothing to say; the one without is said to have none.
    assert!(insights
        .iter()
        .all(|i| i.instance.as_deref() != Some("shop/cart-1/app")));
    let unlimited: Vec<&Insight> = insights
        .iter()
        .filter(|i| i.instance.as_deref() == Some("shop/web-1/nginx"))
        .collect();
    assert_eq!(unlimited.len(), 1, "one coverage note: {unlimited:?}");
    let note = unlimited[0];
    assert_eq!(note.issue_type, IssueType::Coverage);
    assert!(
        note.observation.contains("no CPU limit") && note.observation.contains("no memory limit"),
        "{}",
        note.observation
    );
}

#[test]
fn a_container_finding_carries_its_kubernetes_names_and_its_node() {
    let s = scenarios::container_cpu_throttled();
    let prometheus = serve(&s);
    let c = client(&prometheus.url());
    let insights = block_on(analysis::analyze(&c, catalog::builtin(), &request(&s)))
        .expect("analysis")
        .insights;
    let throttled = on(&insights, "shop/checkout-1/app", "container.cpu.throttling");
    assert_eq!(throttled.component, Component::Container);
    let labels = throttled.container_labels().expect("a container's names");
    assert_eq!(
        (labels.namespace, labels.pod, labels.container, labels.node),
        ("shop", "checkout-1", "app", Some("k8s-node-1"))
    );
    // Saturated at low utilization: the evidence says both, and the queries to run next are
    // narrowed to this container, not to an `instance` no series has.
    let evidence = |name: &str| throttled.evidence.get(name).expect(name);
    assert!((evidence("throttled_periods_percent") - 45.0).abs() < 3.0);
    assert!((evidence("cpu_of_limit_percent") - 15.0).abs() < 1.5);
    assert!(evidence("node_cpu_busy_percent") < 50.0);
    assert!(throttled
        .related_metrics
        .iter()
        .any(|q| q.contains(r#"namespace="shop",pod="checkout-1",container="app""#)));
    assert!(
        throttled
            .related_metrics
            .iter()
            .all(|q| !q.contains(r#"instance="shop/checkout-1/app""#)),
        "{:#?}",
        throttled.related_metrics
    );
    // The node-side query to run next is narrowed by the container series only: node_exporter
    // and kube_pod_info carry no container labels, so narrowing them would return nothing.
    let node_query = throttled
        .related_metrics
        .iter()
        .find(|q| q.contains("node_cpu_seconds_total"))
        .unwrap_or_else(|| panic!("no node query in {:#?}", throttled.related_metrics));
    assert!(!node_query.contains(r#"node_cpu_seconds_total{mode=~"idle|iowait|steal",namespace"#));
    let answer = block_on(c.query(node_query, at(&s))).expect(node_query);
    let node = answer.data.into_vector();
    assert_eq!(node.len(), 1, "{node_query}: {node:?}");
    assert!(node[0].value < 50.0, "{node_query}: {node:?}");
}

/// Kubelet's /metrics/cadvisor and a standalone cAdvisor both scraped, and two
/// kube-state-metrics replicas: every series twice, under another instance and job. Nothing
/// may be counted twice: the same findings, word for word.
#[test]
fn a_cluster_scraped_twice_gets_the_same_verdicts() {
    let scenarios = [
        scenarios::container_cpu_throttled(),
        scenarios::container_memory_near_limit(),
        scenarios::container_oom_restarts(),
        scenarios::container_noisy_neighbour(),
        scenarios::containers_healthy(),
        scenarios::container_memory_reclaim(),
        scenarios::container_cpu_contention(),
    ];
    for once in scenarios {
        let mut twice = once.clone();
        twice.cluster.twice = true;
        let verdicts = |s| {
            let mut v: Vec<(String, String, String, String)> = check(s)
                .into_iter()
                .filter(|i| i.component == Component::Container)
                .map(|i| {
                    let instance = i.instance.unwrap_or_default();
                    (i.check, instance, i.title, i.observation)
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(verdicts(&twice), verdicts(&once), "{}", once.name);
    }
    let s = {
        let mut s = scenarios::container_noisy_neighbour();
        s.cluster.twice = true;
        s
    };
    let prometheus = serve(&s);
    let report = block_on(health::check_at(
        &client(&prometheus.url()),
        catalog::builtin(),
        &Selector::empty(),
        at(&s),
    ));
    assert!(
        report.message.contains(
            "Containers: cAdvisor reports 2 containers; kube-state-metrics reports 2 pods."
        ),
        "{}",
        report.message
    );
}

#[test]
fn a_cadvisor_only_prometheus_is_usable_and_says_what_is_missing() {
    let s = scenarios::cadvisor_only();
    let prometheus = serve(&s);
    let c = client(&prometheus.url());
    let report = block_on(health::check_at(
        &c,
        catalog::builtin(),
        &Selector::empty(),
        at(&s),
    ));
    let message = &report.message;
    assert_eq!(report.status, health::Status::Ok, "{message}");
    assert!(
        message.contains("no target exposes node_exporter metrics"),
        "{message}"
    );
    assert!(
        message.contains("cAdvisor reports 1 container;"),
        "{message}"
    );
    assert!(
        message.contains("kube-state-metrics is missing (lost: restarts"),
        "{message}"
    );
    assert_eq!(report.details["containers"]["cadvisorContainers"], 1);
}

#[test]
fn a_host_and_container_prometheus_counts_both() {
    let s = scenarios::container_noisy_neighbour();
    let prometheus = serve(&s);
    let c = client(&prometheus.url());
    let report = block_on(health::check_at(
        &c,
        catalog::builtin(),
        &Selector::empty(),
        at(&s),
    ));
    let message = &report.message;
    assert_eq!(report.status, health::Status::Ok, "{message}");
    assert!(
        message.contains("1 instance exposes node_exporter metrics")
            && message.contains(
                "Containers: cAdvisor reports 2 containers; kube-state-metrics reports 2 pods."
            ),
        "{message}"
    );
    // A hosts-only Prometheus says nothing of containers.
    let hosts = scenarios::healthy_fleet();
    let prometheus = serve(&hosts);
    let report = block_on(health::check_at(
        &client(&prometheus.url()),
        catalog::builtin(),
        &Selector::empty(),
        at(&hosts),
    ));
    assert!(
        !report.message.contains("Containers:"),
        "{}",
        report.message
    );
}

#[test]
fn the_cli_report_names_the_container_and_its_node() {
    let s = scenarios::container_noisy_neighbour();
    let prometheus = serve(&s);
    let out = Command::new(env!("CARGO_BIN_EXE_gregg-insights"))
        .args(["analyze", "--prometheus", &prometheus.url()])
        .args(["--at", &s.at.to_string(), "--format", "json"])
        .env_remove("GREGG_PROMETHEUS_URL")
        .output()
        .expect("the CLI runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let insights = report["insights"].as_array().expect("insights");
    let api = insights
        .iter()
        .find(|i| i["instance"] == "shop/api-1/app" && i["check"] == "container.cpu.utilization")
        .unwrap_or_else(|| panic!("no container finding in {text}"));
    assert_eq!(api["component"], "container");
    assert_eq!(api["device"], "k8s-node-2");
    let observation = api["observation"].as_str().unwrap_or_default();
    assert!(
        observation.contains("Its node k8s-node-2 is saturated too"),
        "{observation}"
    );
    assert_eq!(api["kubernetes"]["namespace"], "shop");
    assert_eq!(api["kubernetes"]["node"], "k8s-node-2");
    // The host's own finding names the containers behind it: one machine, told from both sides.
    let host = insights
        .iter()
        .find(|i| i["instance"] == "k8s-node-2:9100" && i["check"] == "cpu.bottleneck")
        .unwrap_or_else(|| panic!("no bottleneck on the node in {text}"));
    let observation = host["observation"].as_str().unwrap_or_default();
    assert!(
        observation.contains("pods' containers by CPU")
            && observation.contains("shop/api-1/app")
            && observation.contains("batch/cruncher-1/worker"),
        "{observation}"
    );
    assert!(host.get("kubernetes").is_none());
}

/// Memory saturation is measured by the cgroup's pressure where cAdvisor exports it (cgroup
/// v2), by its limit hits where it does not (cgroup v1), and the latter says what it cannot see.
#[test]
fn memory_saturation_is_told_by_pressure_or_by_limit_hits() {
    let insights = check(&scenarios::container_memory_reclaim());
    let psi = on(
        &insights,
        "shop/search-1/indexer",
        "container.memory.saturation.psi",
    );
    assert_eq!(psi.use_signal, Some(UseSignal::Saturation));
    let evidence = |i: &Insight, name: &str| i.evidence.get(name).expect(name);
    assert!((evidence(psi, "memory_pressure_some_percent") - 30.0).abs() < 2.0);
    assert!((evidence(psi, "memory_pressure_full_percent") - 12.0).abs() < 1.5);
    assert!((evidence(psi, "memory_of_limit_percent") - 90.8).abs() < 1.0);
    assert!(
        psi.observation.contains("Its node k8s-node-1 has headroom"),
        "{}",
        psi.observation
    );
    // cgroup v2 counts no failcnt: the weaker signal of the chain does not speak for it.
    assert!(insights
        .iter()
        .all(|i| !(i.check == "container.memory.saturation.reclaim"
            && i.instance.as_deref() == Some("shop/search-1/indexer"))));
    let hits = on(
        &insights,
        "batch/report-2/worker",
        "container.memory.saturation.reclaim",
    );
    assert!((evidence(hits, "limit_hits_per_second") - 40.0).abs() < 2.0);
    assert!((evidence(hits, "memory_of_limit_percent") - 87.9).abs() < 1.0);
    assert!(
        hits.observation.contains("40/s on average")
            && hits.observation.contains("is unobservable here")
            && hits.observation.contains("v0.52.0"),
        "{}",
        hits.observation
    );
    assert!(insights
        .iter()
        .all(|i| !(i.check == "container.memory.saturation.psi"
            && i.instance.as_deref() == Some("batch/report-2/worker"))));
}

/// CPU pressure without throttling: contention for the node's CPUs, not the container's quota.
#[test]
fn cpu_pressure_without_throttling_names_the_saturated_node() {
    let insights = check(&scenarios::container_cpu_contention());
    let waited = on(&insights, "shop/api-2/app", "container.cpu.pressure");
    let evidence = |name: &str| waited.evidence.get(name).expect(name);
    assert!((evidence("cpu_pressure_some_percent") - 35.0).abs() < 2.0);
    assert!(evidence("throttled_periods_percent") < 0.5);
    assert!((evidence("cpu_used_cores_ratio") - 1.2).abs() < 0.1);
    assert!(evidence("node_cpu_busy_percent") > 80.0);
    assert_eq!(waited.device.as_deref(), Some("k8s-node-3"));
    assert!(
        waited
            .observation
            .contains("Its node k8s-node-3 is saturated too"),
        "{}",
        waited.observation
    );
    assert!(insights
        .iter()
        .all(|i| i.check != "container.cpu.throttling"));
}

/// Low pressure is assessed, not skipped: the pressure checks see every container and flag
/// none; health says the pressure families are there, and where they are not, what is lost.
#[test]
fn low_pressure_is_assessed_and_missing_pressure_is_said() {
    let s = scenarios::containers_healthy_psi();
    let prometheus = serve(&s);
    let c = client(&prometheus.url());
    let analysis =
        block_on(analysis::analyze(&c, catalog::builtin(), &request(&s))).expect("analysis");
    for id in ["container.memory.saturation.psi", "container.cpu.pressure"] {
        let outcome = analysis
            .outcomes
            .iter()
            .find(|o| o.check == id)
            .unwrap_or_else(|| panic!("no outcome of {id}"));
        assert_eq!((outcome.targets, outcome.breaches), (2, 0), "{id}");
    }
    let report = block_on(health::check_at(
        &c,
        catalog::builtin(),
        &Selector::empty(),
        at(&s),
    ));
    assert!(
        report
            .message
            .contains("Every container has pressure stall information"),
        "{}",
        report.message
    );
    assert_eq!(report.details["containers"]["pressureContainers"], 2);
    let without = scenarios::container_cpu_throttled();
    let prometheus = serve(&without);
    let report = block_on(health::check_at(
        &client(&prometheus.url()),
        catalog::builtin(),
        &Selector::empty(),
        at(&without),
    ));
    assert!(
        report.message.contains(
            "No container has pressure stall information (container_pressure_cpu_waiting_seconds_total"
        ) && report.message.contains("cAdvisor v0.52.0 or later"),
        "{}",
        report.message
    );
}

/// The scenario analysed over its six hours (the span scenarios' window), with its Prometheus
/// kept for direct queries.
fn over_six_hours(s: &Scenario) -> (Prometheus, Vec<Insight>) {
    let prometheus = serve(s);
    let mut r = request(s);
    r.window = std::time::Duration::from_secs(6 * 3600);
    let insights = block_on(analysis::analyze(
        &client(&prometheus.url()),
        catalog::builtin(),
        &r,
    ))
    .expect("analysis")
    .insights;
    (prometheus, insights)
}

/// The node's CPU busy percent over the scenario's six hours, straight from Prometheus: what
/// the node was judged by before its finding's own span was.
fn node_busy_over_six_hours(prometheus: &Prometheus, s: &Scenario) -> f64 {
    let promql = r#"100 * (1 - sum(rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[6h])) / sum(rate(node_cpu_seconds_total[6h])))"#;
    let answer = block_on(client(&prometheus.url()).query(promql, at(s))).expect(promql);
    let v = answer.data.into_vector();
    assert_eq!(v.len(), 1, "{promql}: {v:?}");
    v[0].value
}

/// The container's finding at its limit, judged over the episode: its span inside the
/// episode (within a step of the grid, 6 minutes at six hours) and the node judged over it.
fn at_its_limit<'a>(s: &Scenario, insights: &'a [Insight]) -> &'a Insight {
    let api = on(insights, "shop/api-1/app", "container.cpu.utilization");
    let (from, to) = scenarios::EPISODE;
    let (start, end) = (
        api.started_at.expect("a span"),
        api.ended_at.expect("a span"),
    );
    let step = 360;
    assert!(
        start.timestamp() >= s.at + from && end.timestamp() <= s.at + to + step,
        "{start}..{end} vs the episode {}..{}",
        s.at + from,
        s.at + to
    );
    let span = api
        .evidence
        .get("node_span_seconds")
        .expect("judged over its span");
    assert!((360.0..=900.0 + 360.0).contains(&span), "{span}");
    api
}

/// Issue 21: a container at its limit for 15 minutes of 6 hours on a node saturated during
/// those minutes only. Over the window the node is quiet; over the finding's own span it is
/// saturated: a noisy neighbour, and the text says over when.
#[test]
fn a_node_saturated_during_the_episode_only_is_a_noisy_neighbour() {
    let s = scenarios::container_episode_on_busy_node();
    let (prometheus, insights) = over_six_hours(&s);
    let window = node_busy_over_six_hours(&prometheus, &s);
    assert!(window < 30.0, "the node over six hours: {window}");
    let api = at_its_limit(&s, &insights);
    let busy = api.evidence.get("node_cpu_busy_percent").expect("node CPU");
    assert!(busy > 90.0, "the node over the span: {busy}");
    let observation = &api.observation;
    assert!(
        observation.contains("Its node k8s-node-3 is saturated too")
            && observation.contains("the finding's own span): a noisy neighbour"),
        "{observation}"
    );
}

/// The converse: the node saturated all the time except during the container's episode.
/// Over the window it is saturated; over the span it has headroom: the container's own limit.
#[test]
fn a_node_busy_outside_the_episode_only_leaves_the_container_its_own_limit() {
    let s = scenarios::container_episode_on_quiet_node();
    let (prometheus, insights) = over_six_hours(&s);
    let window = node_busy_over_six_hours(&prometheus, &s);
    assert!(window > 85.0, "the node over six hours: {window}");
    let api = at_its_limit(&s, &insights);
    let busy = api.evidence.get("node_cpu_busy_percent").expect("node CPU");
    assert!(busy < 30.0, "the node over the span: {busy}");
    let observation = &api.observation;
    assert!(
        observation.contains("Its node k8s-node-4 has headroom")
            && observation.contains("the container hit its own limit, not a noisy neighbour"),
        "{observation}"
    );
    assert!(!observation.contains("saturated too"), "{observation}");
}

/// Issue 21: without cAdvisor's container_oom_events_total, OOM kills come from
/// kube-state-metrics (restarts, last terminated reason OOMKilled): the finding stands and says
/// what the fallback cannot count. With both sources, cAdvisor's count is the count: never the
/// restarts, never the two added.
#[test]
fn oom_kills_fall_back_to_kube_state_metrics_without_double_counting() {
    let s = scenarios::container_oom_without_cadvisor_events();
    let insights = check(&s);
    let oom = on(
        &insights,
        "batch/report-2/worker",
        "container.errors.oom_kills",
    );
    assert_eq!(oom.evidence.get("oom_kills_count"), Some(3.0));
    assert_eq!(oom.evidence.get("oom_events_count"), None);
    assert_eq!(
        oom.title,
        "Container batch/report-2/worker restarted 3 times, at least once by the OOM killer"
    );
    assert!(
        oom.observation
            .contains("between 1 and 3 of the restarts were OOM kills, how many is unknown")
            && !oom.observation.contains("OOM killer killed"),
        "{}",
        oom.observation
    );
    // Both sources: one OOM kill among three restarts is one OOM kill.
    let mut both = s.clone();
    both.cluster.oom_events = true;
    let prometheus = serve(&both);
    let insights = block_on(analysis::analyze(
        &client(&prometheus.url()),
        catalog::builtin(),
        &request(&both),
    ))
    .expect("analysis")
    .insights;
    let oom = on(
        &insights,
        "batch/report-2/worker",
        "container.errors.oom_kills",
    );
    assert_eq!(oom.evidence.get("oom_kills_count"), Some(1.0));
    assert_eq!(oom.evidence.get("oom_events_count"), Some(1.0));
    assert!(oom.title.contains("OOM-killed: 1 "), "{}", oom.title);
    let restarts = on(
        &insights,
        "batch/report-2/worker",
        "container.errors.restarts",
    );
    assert_eq!(restarts.evidence.get("restarts_count"), Some(3.0));
    // Three OOM kills, three restarts, both sources: three, not six.
    let insights = check(&scenarios::container_oom_restarts());
    let oom = on(
        &insights,
        "batch/report-1/worker",
        "container.errors.oom_kills",
    );
    assert_eq!(oom.evidence.get("oom_kills_count"), Some(3.0));
}

/// Issue 21: a target selector naming node_exporter's job (`job="node"`) selects hosts; the
/// kubelet's cAdvisor and kube-state-metrics are other jobs, and the same matcher must not
/// hide every container. Container checks run without the scrape target matchers, their
/// queries say so, the host checks keep them, and health says what was left out.
#[test]
fn a_selector_naming_the_node_job_does_not_hide_the_containers() {
    let s = scenarios::container_noisy_neighbour();
    let prometheus = serve(&s);
    let c = client(&prometheus.url());
    let selector = Selector::parse(r#"job="node""#).expect("a selector");
    let mut r = request(&s);
    r.selector = selector.clone();
    let insights = block_on(analysis::analyze(&c, catalog::builtin(), &r))
        .expect("analysis")
        .insights;
    let api = on(&insights, "shop/api-1/app", "container.cpu.utilization");
    assert!(
        api.observation
            .contains("Its node k8s-node-2 is saturated too"),
        "{}",
        api.observation
    );
    assert!(
        api.related_metrics
            .iter()
            .all(|q| !q.contains(r#"job="node""#)),
        "{:#?}",
        api.related_metrics
    );
    let host = on(&insights, "k8s-node-2:9100", "cpu.bottleneck");
    assert!(
        host.related_metrics
            .iter()
            .any(|q| q.contains(r#"job="node""#)),
        "{:#?}",
        host.related_metrics
    );
    let report = block_on(health::check_at(&c, catalog::builtin(), &selector, at(&s)));
    let message = &report.message;
    assert!(
        message.contains("Containers: cAdvisor reports 2 containers; kube-state-metrics reports 2 pods.")
            && message.contains(
                "The target selector's job=\"node\" names node_exporter's scrape targets: container checks (cAdvisor, kube-state-metrics) run without it, on every container series."
            ),
        "{message}"
    );
    assert_eq!(report.details["containerSelector"], "");
}

/// Review of issue 21: an OOM kill before the window, then probe failures inside it. The last
/// termination's reason was OOMKilled at the window's start and Error at its end, so nothing
/// says any restart in the window was an OOM kill: no OOM finding, whether cAdvisor's counter
/// is absent (kube-state-metrics alone) or present and 0 for the window (its count stands).
#[test]
fn an_oom_kill_before_the_window_is_not_an_oom_kill_in_it() {
    for oom_events in [false, true] {
        let mut s = scenarios::container_oom_without_cadvisor_events();
        s.expect.clear();
        s.cluster.oom_events = oom_events;
        let worker = &mut s.cluster.containers[0];
        worker.oom_kills = vec![-1800];
        worker.crashes = vec![-400, -200];
        let prometheus = serve(&s);
        let insights = block_on(analysis::analyze(
            &client(&prometheus.url()),
            catalog::builtin(),
            &request(&s),
        ))
        .expect("analysis")
        .insights;
        assert!(
            insights
                .iter()
                .all(|i| i.check != "container.errors.oom_kills"),
            "cAdvisor's counter exported: {oom_events}; {:#?}",
            insights.iter().map(|i| &i.title).collect::<Vec<_>>()
        );
        // The restarts themselves are still reported, as restarts.
        let restarts = on(
            &insights,
            "batch/report-2/worker",
            "container.errors.restarts",
        );
        assert_eq!(restarts.evidence.get("restarts_count"), Some(2.0));
    }
}
