//! Engine query limits: a fleet served by a Prometheus with a low `--query.max-samples` gives
//! the same findings as without the limit, its large check queries fetched in instance groups
//! (after a refusal, or planned up front from a sample budget below the limit).

use gregg_insights::{
    analysis::{self, Analysis},
    catalog,
    methods::MethodsRequest,
};
use gregg_testkit::{scenarios, victoria::VictoriaMetrics};

use crate::support::{block_on, client, request};

/// Hosts in the fleet: enough that the CPU checks' queries (2 CPUs × 11 modes per host at
/// 11 points) pass the limit below while the per-host checks stay under it.
const HOSTS: usize = 600;

/// The twin's `--query.max-samples`: the CPU utilization query over 600 hosts loads several
/// times more.
const MAX_SAMPLES: u64 = 40_000;

/// What a finding is, for comparing analyses: id, check, severity, instance, device.
pub(crate) fn findings(analysis: &Analysis) -> Vec<String> {
    let mut found: Vec<String> = analysis
        .insights
        .iter()
        .map(|i| {
            format!(
                "{} {} {:?} {:?} {:?}",
                i.id, i.check, i.severity, i.instance, i.device
            )
        })
        .collect();
    found.sort();
    found
}

/// Queries the engine refused for their size, and queries sent as a part of a group.
fn refused_and_grouped(analysis: &Analysis) -> (usize, usize) {
    let refused = analysis
        .queries
        .iter()
        .filter(|q| q.refused.is_some())
        .count();
    let grouped = analysis
        .queries
        .iter()
        .filter(|q| q.group.is_some())
        .count();
    (refused, grouped)
}

/// `req` analysed on the engine at `url` with `budget` as its sample budget.
fn analyze_with_budget(
    url: &str,
    req: &gregg_insights::analysis::AnalysisRequest,
    budget: u64,
) -> Analysis {
    let mut req = req.clone();
    req.query_sample_budget = budget;
    run_analysis(url, &req)
}

/// `req` analysed on the engine at `url`; it must complete.
pub(crate) fn run_analysis(url: &str, req: &gregg_insights::analysis::AnalysisRequest) -> Analysis {
    block_on(analysis::analyze(&client(url), catalog::builtin(), req)).expect("analysis")
}

/// The checks that failed, with their errors.
pub(crate) fn failed_checks(analysis: &Analysis) -> Vec<String> {
    analysis
        .outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.check)))
        .collect()
}

#[test]
fn a_low_sample_limit_gives_the_same_findings_fetched_in_instance_groups() {
    let fleet = scenarios::fleet(HOSTS);
    let plain = fleet.serve();
    let limited = plain.twin(&[&format!("--query.max-samples={MAX_SAMPLES}")]);
    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let run = |url: &str, budget: u64| analyze_with_budget(url, &req, budget);
    let default_budget = gregg_insights::engine::DEFAULT_SAMPLE_BUDGET;
    let baseline = run(&plain.url(), default_budget);
    assert!(
        failed_checks(&baseline).is_empty(),
        "{:?}",
        failed_checks(&baseline)
    );
    assert_eq!(
        refused_and_grouped(&baseline),
        (0, 0),
        "no limit, no groups"
    );
    let expected = findings(&baseline);
    assert!(
        expected.iter().any(|f| f.contains("cpu.")),
        "the fleet has CPU findings to lose: {expected:?}"
    );

    // The limit is far below the default budget: the CPU queries are refused, then fetched in
    // groups; nothing is lost and the report says what happened.
    let refused_first = run(&limited.url(), default_budget);
    assert!(
        failed_checks(&refused_first).is_empty(),
        "{:?}",
        failed_checks(&refused_first)
    );
    assert_eq!(findings(&refused_first), expected);
    let (refused, grouped) = refused_and_grouped(&refused_first);
    eprintln!("limit {MAX_SAMPLES}, default budget: {refused} refused, {grouped} grouped");
    assert!(
        refused > 0 && grouped > 0,
        "{refused} refused, {grouped} grouped"
    );
    let utilization = refused_first
        .outcome("cpu.utilization")
        .expect("cpu.utilization ran");
    assert!(utilization.targets >= HOSTS, "{}", utilization.targets);
    assert!(
        refused_first.warnings.iter().any(|w| w.starts_with(
            "cpu.utilization: the engine refused the query for its size (too many samples)"
        )),
        "{:?}",
        refused_first.warnings
    );
    // Each refused query is the whole or a group larger than the one that passed.
    for q in refused_first.queries.iter().filter(|q| q.refused.is_some()) {
        assert_eq!(q.refused, Some("too many samples"), "{q:?}");
    }

    // A budget below the limit: groups planned up front, nothing refused.
    let planned = run(&limited.url(), MAX_SAMPLES / 2);
    assert!(
        failed_checks(&planned).is_empty(),
        "{:?}",
        failed_checks(&planned)
    );
    assert_eq!(findings(&planned), expected);
    let (refused, grouped) = refused_and_grouped(&planned);
    eprintln!(
        "limit {MAX_SAMPLES}, budget {}: {refused} refused, {grouped} grouped",
        MAX_SAMPLES / 2
    );
    assert_eq!(refused, 0, "planned groups stay within the limit");
    assert!(grouped > 0);
    // Guards are planned in groups like the checks' own queries.
    assert!(
        planned
            .queries
            .iter()
            .any(|q| q.purpose.ends_with("/guard") && q.group.is_some()),
        "no guard was fetched in groups"
    );
    let parts: Vec<(usize, usize)> = planned
        .queries
        .iter()
        .filter(|q| q.purpose == "cpu.utilization")
        .filter_map(|q| q.group)
        .collect();
    let of = parts
        .first()
        .map(|p| p.1)
        .expect("cpu.utilization was grouped");
    assert_eq!(parts, (1..=of).map(|i| (i, of)).collect::<Vec<_>>());
}

/// The fleet with host-00007 (a CPU bottleneck) stopped reporting seven minutes before the
/// end of the ten-minute window: the inventory, taken at the end, does not list it.
#[test]
fn a_host_that_stopped_inside_the_window_is_kept_when_grouped() {
    let mut fleet = scenarios::fleet(HOSTS);
    let stopped = "host-00007:9100";
    let host = fleet
        .hosts
        .iter_mut()
        .find(|h| h.instance == stopped)
        .expect("host 7");
    host.gap = Some((-420, 1));
    let plain = fleet.serve();
    let limited = plain.twin(&[&format!("--query.max-samples={MAX_SAMPLES}")]);
    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let run = |url: &str| {
        block_on(analysis::analyze(&client(url), catalog::builtin(), &req)).expect("analysis")
    };
    let baseline = run(&plain.url());
    let expected = findings(&baseline);
    assert!(
        expected.iter().any(|f| f.contains(stopped)),
        "the stopped host has findings to lose: {expected:?}"
    );
    let grouped = run(&limited.url());
    assert!(
        failed_checks(&grouped).is_empty(),
        "{:?}",
        failed_checks(&grouped)
    );
    assert!(refused_and_grouped(&grouped).1 > 0, "grouped");
    assert_eq!(findings(&grouped), expected);
}

/// The data source's `querySampleBudget` (jsonData), read as the plugin reads its settings and
/// queries: below the engine's limit, the check queries are planned in groups up front and
/// nothing is refused; the findings are those of the unlimited engine.
#[test]
fn the_data_source_sample_budget_plans_groups_through_the_plugin_request() {
    use gregg_insights::{
        request::{analysis::analysis_request, query},
        settings::{InstanceSettings, Settings},
    };
    use serde_json::json;

    let fleet = scenarios::fleet(HOSTS);
    let plain = fleet.serve();
    let limited = plain.twin(&[&format!("--query.max-samples={MAX_SAMPLES}")]);
    let settings_of = |url: &str, json_data: serde_json::Value| {
        Settings::from_grafana(&InstanceSettings {
            uid: "gregg",
            name: "Gregg Insights",
            url,
            basic_auth_enabled: false,
            basic_auth_user: "",
            json_data: &json_data,
            secure_json_data: &Default::default(),
        })
        .expect("valid settings")
    };
    let query =
        query::parse("insights", &json!({"window": "10m", "methods": ["use"]})).expect("a query");
    let at = crate::support::at(&fleet);
    let run = |url: &str, json_data| {
        let settings = settings_of(url, json_data);
        let mut req = analysis_request(&settings, &query, at).expect("a request");
        req.methods = MethodsRequest::use_only();
        block_on(analysis::analyze(&client(url), catalog::builtin(), &req)).expect("analysis")
    };
    let baseline = run(&plain.url(), json!({}));
    let planned = run(
        &limited.url(),
        json!({"querySampleBudget": MAX_SAMPLES / 2}),
    );
    assert!(
        failed_checks(&planned).is_empty(),
        "{:?}",
        failed_checks(&planned)
    );
    let (refused, grouped) = refused_and_grouped(&planned);
    assert_eq!(refused, 0, "planned groups stay within the limit");
    assert!(grouped > 0, "the budget planned groups");
    assert_eq!(findings(&planned), findings(&baseline));
}

/// A lower limit than the other tests', every method, the check queries planned below it: the
/// workload and latency measures it refuses whole (`latency.runqueue` and the per-disk ones)
/// are fetched in instance groups like the checks, nothing is missing, and whatever the engine
/// still refuses and nobody fetches in groups is each named in a notice, never left out
/// silently.
#[test]
fn nothing_refused_for_its_size_is_silent() {
    // Low enough that the workload and latency methods' per-disk and run-queue measures are
    // refused whole (five of them when written), high enough for the inventory's instance
    // listing (which nothing can split: it is what the groups are planned from).
    const TIGHT: u64 = 28_000;
    let fleet = scenarios::fleet(HOSTS);
    let plain = fleet.serve();
    let tight = plain.twin(&[&format!("--query.max-samples={TIGHT}")]);
    let mut req = request(&fleet);
    req.query_sample_budget = TIGHT / 2;
    let analysis = block_on(analysis::analyze(
        &client(&tight.url()),
        catalog::builtin(),
        &req,
    ))
    .expect("analysis");
    assert!(
        failed_checks(&analysis).is_empty(),
        "{:?}",
        failed_checks(&analysis)
    );
    let missing: Vec<_> = analysis
        .workload
        .iter()
        .filter_map(|m| Some((&m.id, m.error.as_ref()?)))
        .collect();
    assert!(missing.is_empty(), "measures missing: {missing:?}");
    let grouped: std::collections::HashSet<&str> = analysis
        .queries
        .iter()
        .filter(|q| q.group.is_some())
        .map(|q| q.purpose.as_str())
        .collect();
    assert!(
        grouped.contains("latency.runqueue"),
        "the run-queue measure was planned in groups: {grouped:?}"
    );
    let unsplit: Vec<&str> = analysis
        .queries
        .iter()
        .filter(|q| q.refused.is_some() && !grouped.contains(q.purpose.as_str()))
        .map(|q| q.purpose.as_str())
        .collect();
    eprintln!("refused and not split: {unsplit:?}");
    for purpose in unsplit {
        let said = format!("{purpose}: the engine refused the query for its size");
        assert!(
            analysis
                .warnings
                .iter()
                .any(|w| w.starts_with(&said) && w.ends_with("missing from this analysis")),
            "{purpose} is refused without a notice: {:?}",
            analysis.warnings
        );
    }
}

/// VictoriaMetrics' `-search.maxQueryLen` for the test below, in bytes (a quarter of its
/// default): a third of the fleet's instances listed in a regex (16 bytes each) does not fit.
const VM_MAX_QUERY_LEN: usize = 4_096;

/// The sample budget of the test below: the CPU queries of 600 hosts (176 series a host) are
/// planned in three groups of 200 instances.
const VM_TEST_BUDGET: u64 = 800_000;

/// Bytes an instance took in a group listed in a regex (`host-00000:9100|`).
const LISTED_BYTES: usize = 16;

/// VictoriaMetrics with a query-length limit a quarter of its default, the CPU queries planned
/// in three instance groups: each group's text stays short (a range of instance names, not a
/// list of them), nothing is refused, and the findings are those of the same engine without
/// limits. (Its `-search.maxSamplesPerQuery` counts the samples of an
/// instant query's whole look-back, so a limit low enough to refuse the CPU queries of 600
/// hosts refuses the inventory first; refusals and halving are tested on Prometheus above.)
#[test]
fn victoria_metrics_under_a_short_query_length_limit_gives_the_same_findings_in_groups() {
    let fleet = scenarios::fleet(HOSTS);
    let plain = VictoriaMetrics::serve(&fleet);
    let limited = VictoriaMetrics::serve_with(
        &fleet,
        &[&format!("-search.maxQueryLen={VM_MAX_QUERY_LEN}")],
    );
    let mut req = request(&fleet);
    req.methods = MethodsRequest::use_only();
    let run = |url: &str, budget: u64| analyze_with_budget(url, &req, budget);
    let baseline = run(&plain.url(), gregg_insights::engine::DEFAULT_SAMPLE_BUDGET);
    assert!(
        failed_checks(&baseline).is_empty(),
        "{:?}",
        failed_checks(&baseline)
    );
    let grouped_run = run(&limited.url(), VM_TEST_BUDGET);
    assert!(
        failed_checks(&grouped_run).is_empty(),
        "{:?}",
        failed_checks(&grouped_run)
    );
    assert_eq!(findings(&grouped_run), findings(&baseline));
    let parts: Vec<_> = grouped_run
        .queries
        .iter()
        .filter_map(|q| Some((q, q.group?.1)))
        .collect();
    assert!(!parts.is_empty(), "the budget planned groups");
    let longest = parts.iter().map(|(q, _)| q.promql.len()).max().unwrap_or(0);
    // What the same part would have been with its instances listed: each of its instance
    // matchers naming a group's share of the fleet.
    let listed = |(q, groups): &(&gregg_insights::samples::ExecutedQuery, usize)| {
        q.promql.matches("instance=~").count() * HOSTS / groups * LISTED_BYTES
    };
    let listed_longest = parts.iter().map(listed).max().unwrap_or(0);
    eprintln!(
        "{} parts, the longest {longest} bytes; listed, the longest would be over {listed_longest}",
        parts.len()
    );
    assert!(longest <= VM_MAX_QUERY_LEN, "{longest} bytes");
    assert!(
        listed_longest > VM_MAX_QUERY_LEN,
        "listing the instances would have fit too ({listed_longest} bytes)"
    );
}
