//! Issue 19, item 4: the inventory's queries and the workload and latency measures survive an
//! engine's size limits, fetched in instance groups. VictoriaMetrics counts an instant query's
//! whole look-back against `-search.maxSamplesPerQuery`, so under a low limit
//! `count_values by (collector) (node_scrape_collector_success)` is the first query it
//! refuses; before the inventory was fetched in instance groups, that refusal failed the whole
//! analysis. A per-disk or run-queue measure refused whole lost its part of the workload.

use std::time::Instant;

use gregg_insights::{
    catalog,
    inventory::{self, Inventory, Reach},
    methods::{Method, MethodsRequest},
    prometheus::{PrometheusError, QueryRange},
    promql::Selector,
    samples,
};
use gregg_testkit::{scenarios, victoria::VictoriaMetrics};

use crate::{
    limits::{failed_checks, findings, run_analysis},
    support::{at, block_on, client, request},
};

/// Hosts in the fleet, as in the other limits tests.
const HOSTS: usize = 600;

/// The limited engine's `-search.maxSamplesPerQuery`: the instance listing (one series a
/// host) passes, the collectors' status (twenty series a host) does not.
const MAX_SAMPLES: u64 = 60_000;

/// The analysis' sample budget on the limited engine: the check queries planned in groups
/// well below the limit (VictoriaMetrics counts a range query's look-back too, several times
/// the planner's estimate).
const BUDGET: u64 = 12_000;

/// The engine refused the query for its size.
fn refused<T>(answer: Result<T, PrometheusError>) {
    match answer {
        Ok(_) => panic!("the engine answered a query it should refuse for its size"),
        Err(e) => assert!(
            e.size_refusal().is_some(),
            "refused for another reason: {e}"
        ),
    }
}

/// The inventory as the report shows it, without the engine's build (the same on both).
fn coverage(inventory: &Inventory) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        inventory.instances, inventory.exporter_versions, inventory.collectors, inventory.missing
    )
}

#[test]
fn a_refused_inventory_query_is_fetched_in_instance_groups_on_victoria_metrics() {
    // Some hosts lack or fail collectors, so the lists and counts have something to merge.
    let mut fleet = scenarios::fleet(HOSTS);
    for (i, host) in fleet.hosts.iter_mut().enumerate() {
        match i % 7 {
            0 => host.failing.push("schedstat"),
            3 => host.disabled.push("pressure"),
            _ => {}
        }
    }
    let plain = VictoriaMetrics::serve(&fleet);
    let limited = VictoriaMetrics::serve_with(
        &fleet,
        &[&format!("-search.maxSamplesPerQuery={MAX_SAMPLES}")],
    );

    // Sent whole, as the inventory sent it before, the collectors' query is refused.
    let whole = r#"count_values by (collector) ("success", node_scrape_collector_success)"#;
    refused(block_on(client(&limited.url()).query(whole, at(&fleet))));

    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let baseline = run_analysis(&plain.url(), &req);
    assert!(
        failed_checks(&baseline).is_empty(),
        "{:?}",
        failed_checks(&baseline)
    );
    assert!(
        baseline.inventory.missing.len() >= HOSTS / 7 * 2,
        "the fleet lacks collectors: {:?}",
        baseline.inventory.missing.len()
    );

    req.query_sample_budget = BUDGET;
    let started = Instant::now();
    let limited_run = run_analysis(&limited.url(), &req);
    let wall = started.elapsed();
    assert!(
        failed_checks(&limited_run).is_empty(),
        "{:?}",
        failed_checks(&limited_run)
    );
    assert_eq!(findings(&limited_run), findings(&baseline));
    assert_eq!(
        coverage(&limited_run.inventory),
        coverage(&baseline.inventory)
    );
    let collectors: Vec<_> = limited_run
        .queries
        .iter()
        .filter(|q| q.purpose == "inventory/collectors")
        .collect();
    assert!(
        collectors.len() > 1 && collectors.iter().all(|q| q.group.is_some()),
        "the collectors' status was planned in groups: {collectors:?}"
    );
    let parts = limited_run
        .queries
        .iter()
        .filter(|q| q.group.is_some())
        .count();
    // No query fans out beyond the cap (2,108 parts were planned before it).
    let widest = limited_run
        .queries
        .iter()
        .filter_map(|q| q.group.map(|(_, of)| of))
        .max()
        .unwrap_or(0);
    assert!(widest <= samples::MAX_PARTS, "{widest} parts");
    // 2,132 requests before the cap, 1,444 with it.
    assert!(
        limited_run.queries.len() < 1_800,
        "{} requests",
        limited_run.queries.len()
    );
    let longest = limited_run
        .queries
        .iter()
        .map(|q| q.promql.len())
        .max()
        .unwrap_or(0);
    eprintln!(
        "VictoriaMetrics -search.maxSamplesPerQuery={MAX_SAMPLES}, budget {BUDGET}: {} requests, {parts} parts, longest query {longest} bytes, {} refused, wall {:.2?}",
        limited_run.queries.len(),
        limited_run.queries.iter().filter(|q| q.refused.is_some()).count(),
        wall
    );
}

/// The inventory alone at the default budget (nothing planned): its collectors query is
/// refused whole, then fetched in instance groups, and the inventory is the unlimited one's.
#[test]
fn the_inventory_refused_whole_is_the_same_in_groups() {
    let fleet = scenarios::fleet(HOSTS);
    let plain = VictoriaMetrics::serve(&fleet);
    let limited = VictoriaMetrics::serve_with(
        &fleet,
        &[&format!("-search.maxSamplesPerQuery={MAX_SAMPLES}")],
    );
    let take = |url: &str| {
        let client = client(url);
        block_on(async {
            let selector = Selector::empty();
            let basics = inventory::basics(&client, &selector, at(&fleet)).await?;
            let reach = Reach {
                instances: &basics.instances,
                budget: gregg_insights::engine::DEFAULT_SAMPLE_BUDGET,
            };
            let details =
                inventory::details(&client, catalog::builtin(), &selector, at(&fleet), reach)
                    .await?;
            let log = details.log.clone();
            Ok::<_, gregg_insights::prometheus::PrometheusError>((
                Inventory::of(&basics, details),
                log,
            ))
        })
        .expect("inventory")
    };
    let (expected, _) = take(&plain.url());
    let (grouped, log) = take(&limited.url());
    assert_eq!(coverage(&grouped), coverage(&expected));
    assert_eq!(expected.instances.len(), HOSTS);
    let collectors: Vec<_> = log
        .queries
        .iter()
        .filter(|q| q.purpose == "inventory/collectors")
        .collect();
    assert_eq!(
        collectors.first().and_then(|q| q.refused),
        Some("too many samples"),
        "{collectors:?}"
    );
    assert!(collectors.iter().skip(1).all(|q| q.group.is_some()));
    assert!(
        log.warnings.iter().any(|w| w.starts_with(
            "inventory/collectors: the engine refused the query for its size (too many samples)"
        )),
        "{:?}",
        log.warnings
    );
}

/// An engine whose limit refuses the inventory's queries even in the smallest groups the
/// halvings reach: each refusal is said, with how many groups and requests were tried, and
/// the inventory carries on without what it lacks.
#[test]
fn a_refusal_even_in_the_smallest_groups_is_said() {
    let fleet = scenarios::fleet(HOSTS);
    let plain = VictoriaMetrics::serve(&fleet);
    // Fewer samples than one host's collectors hold over the look-back.
    let limited = VictoriaMetrics::serve_with(&fleet, &["-search.maxSamplesPerQuery=100"]);
    let log = block_on(async {
        let selector = Selector::empty();
        let basics = inventory::basics(&client(&plain.url()), &selector, at(&fleet)).await?;
        let reach = Reach {
            instances: &basics.instances,
            budget: gregg_insights::engine::DEFAULT_SAMPLE_BUDGET,
        };
        let details = inventory::details(
            &client(&limited.url()),
            catalog::builtin(),
            &selector,
            at(&fleet),
            reach,
        )
        .await?;
        Ok::<_, PrometheusError>(details.log)
    })
    .expect("the inventory carries on");
    let said = |purpose: &str| {
        log.warnings.iter().any(|w| {
            w.starts_with(&format!(
                "{purpose}: refused for its size (too many samples) even in 32 instance groups ("
            ))
        })
    };
    assert!(said("inventory/collectors"), "{:?}", log.warnings);
    assert!(said("inventory/versions"), "{:?}", log.warnings);
    // Each attempt stops at its first refused part: the whole query, then 2, 4 … 32 groups.
    let collectors = log
        .queries
        .iter()
        .filter(|q| q.purpose == "inventory/collectors")
        .count();
    assert_eq!(collectors, 6);
    assert!(
        log.warnings
            .iter()
            .any(|w| w.starts_with("inventory/collectors:") && w.contains("(6 requests)")),
        "{:?}",
        log.warnings
    );
}

/// Prometheus' `--query.max-samples` for the test below: the run-queue latency measure of 600
/// hosts (two per-CPU series a CPU, over both windows) loads several times more.
const PROMETHEUS_MAX_SAMPLES: u64 = 28_000;

/// A Prometheus whose limit refuses the workload and latency measures sent whole: with the
/// analysis' budget below the limit they are planned in instance groups, and every measure's
/// summary (targets, medians, changes) and every change found are the unlimited engine's.
#[test]
fn workload_and_latency_measures_are_fetched_in_instance_groups_under_a_sample_limit() {
    let fleet = scenarios::fleet(HOSTS);
    let plain = fleet.serve();
    let limited = plain.twin(&[&format!("--query.max-samples={PROMETHEUS_MAX_SAMPLES}")]);
    let mut req = request(&fleet);
    req.methods = MethodsRequest {
        methods: vec![Method::Workload, Method::Latency],
        ..MethodsRequest::default()
    };
    let baseline = run_analysis(&plain.url(), &req);
    assert!(baseline.workload.iter().all(|m| m.error.is_none()));
    assert!(baseline.workload.iter().any(|m| m.targets >= HOSTS));
    // The run-queue measure sent whole, over both windows as the workload method sends it,
    // is refused by the limited engine.
    let whole = baseline
        .queries
        .iter()
        .find(|q| q.purpose == "latency.runqueue")
        .expect("the run-queue measure was sent");
    let t = &baseline.timing;
    let range = QueryRange {
        start: samples::before(
            t.at,
            samples::steps(t.step, 2 * t.expected_points as u64 - 1),
        ),
        end: t.at,
        step: t.step,
    };
    refused(block_on(
        client(&limited.url()).query_range(&whole.promql, &range),
    ));

    req.query_sample_budget = PROMETHEUS_MAX_SAMPLES / 2;
    let started = Instant::now();
    let grouped = run_analysis(&limited.url(), &req);
    let wall = started.elapsed();
    assert_eq!(grouped.workload, baseline.workload);
    assert_eq!(findings(&grouped), findings(&baseline));
    let parts: Vec<_> = grouped
        .queries
        .iter()
        .filter(|q| q.purpose == "latency.runqueue")
        .collect();
    assert!(
        parts.len() > 1 && parts.iter().all(|q| q.group.is_some() && q.error.is_none()),
        "{parts:?}"
    );
    let longest = grouped
        .queries
        .iter()
        .map(|q| q.promql.len())
        .max()
        .unwrap_or(0);
    eprintln!(
        "Prometheus --query.max-samples={PROMETHEUS_MAX_SAMPLES}, budget {}: {} requests, {} parts ({} of latency.runqueue), longest query {longest} bytes, {} refused, wall {wall:.2?}",
        req.query_sample_budget,
        grouped.queries.len(),
        grouped.queries.iter().filter(|q| q.group.is_some()).count(),
        parts.len(),
        grouped.queries.iter().filter(|q| q.refused.is_some()).count(),
    );
}
