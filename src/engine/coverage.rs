//! Coverage honesty: what could not be assessed, said once per instance (once for many
//! instances with the very same gaps), and checks that could not run, said once per check.
//! Silence must never be mistaken for health.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{
    catalog::Catalog,
    insight::{Component, Evidence, Insight, IssueType, Methodology, Severity},
    inventory::Inventory,
    promql::Selector,
    samples::Timing,
};

use super::{execute::CheckExecution as CheckRun, narrative::insight_id};

/// One `coverage` insight per instance that lacks something the checks needed.
pub(super) fn per_instance(
    catalog: &Catalog,
    runs: &[CheckRun],
    inventory: &Inventory,
    selector: &Selector,
    timing: &Timing,
) -> Vec<Insight> {
    let ran: Vec<usize> = runs.iter().map(|r| r.index).collect();
    // Fallback group → runs, to see whether another member covers an instance.
    let mut groups: HashMap<&str, Vec<&CheckRun>> = HashMap::new();
    for run in runs {
        if let Some(f) = &catalog.checks()[run.index].fallback {
            groups.entry(f.group.as_str()).or_default().push(run);
        }
    }
    let covered_by_fallback = |check_index: usize, instance: &str| -> bool {
        let check = &catalog.checks()[check_index];
        check.fallback.as_ref().is_some_and(|f| {
            groups.get(f.group.as_str()).is_some_and(|members| {
                members
                    .iter()
                    .any(|m| m.index != check_index && m.present.contains_key(instance))
            })
        })
    };
    // instance → (check label, what is missing, devices)
    type Unassessable<'a> = Vec<(&'a str, &'a str, &'a Vec<String>)>;
    let mut unassessable: BTreeMap<&str, Unassessable<'_>> = BTreeMap::new();
    for run in runs {
        let check = &catalog.checks()[run.index];
        let Some(rule) = &check.coverage else {
            continue;
        };
        for (instance, devices) in &run.unassessable {
            unassessable.entry(instance.as_str()).or_default().push((
                check.label.as_str(),
                rule.missing.as_str(),
                devices,
            ));
        }
    }

    let instances: BTreeSet<&str> = inventory
        .missing
        .keys()
        .map(String::as_str)
        .chain(unassessable.keys().copied())
        .collect();
    // Instances with the very same gaps, together: a fleet deployed one way has one story.
    let mut groups: BTreeMap<Gap, Vec<&str>> = BTreeMap::new();
    for instance in instances {
        let mut gap = Gap::default();
        for m in inventory.missing_on(instance) {
            let affected: Vec<usize> = ran
                .iter()
                .copied()
                .filter(|i| catalog.checks()[*i].requires.contains(&m.name))
                .filter(|i| !covered_by_fallback(*i, instance))
                .collect();
            if affected.is_empty() {
                continue;
            }
            let lost = catalog
                .collector(&m.name)
                .map(|c| c.lost.as_str())
                .unwrap_or("its metrics");
            let checks: Vec<&str> = affected
                .iter()
                .map(|i| catalog.checks()[*i].label.as_str())
                .collect();
            gap.names.push(m.name.clone());
            gap.collectors.push((m.name.clone(), m.failing));
            if m.failing {
                gap.sentences.push(format!(
                    "the {} collector fails there, so {lost} cannot be assessed ({})",
                    m.name,
                    checks.join(", ")
                ));
                gap.actions.push(format!(
                    "see why the {} collector fails in node_exporter's log (often a kernel feature that is missing)",
                    m.name
                ));
            } else {
                gap.sentences.push(format!(
                    "the {} collector is not enabled, so {lost} cannot be assessed ({})",
                    m.name,
                    checks.join(", ")
                ));
                gap.actions
                    .push(format!("start node_exporter with --collector.{}", m.name));
            }
        }
        for (label, missing, devs) in unassessable.get(instance).map(Vec::as_slice).unwrap_or(&[]) {
            let devs: Vec<&str> = devs
                .iter()
                .map(String::as_str)
                .filter(|d| !d.is_empty())
                .collect();
            gap.unassessable += devs.len().max(1);
            gap.names.push(format!("{label} of {}", devs.join(", ")));
            gap.sentences
                .push(format!("{label} of {}: {missing}", devs.join(", ")));
        }
        if !gap.sentences.is_empty() {
            groups.entry(gap).or_default().push(instance);
        }
    }

    let mut insights = Vec::new();
    for (gap, members) in groups {
        if members.len() > FOLD_ABOVE {
            insights.push(fleet_insight(&gap, &members, selector, timing));
        } else {
            insights.extend(
                members
                    .iter()
                    .map(|instance| instance_insight(&gap, instance, selector, timing)),
            );
        }
    }
    insights
}

/// Above this many instances with identical gaps, one insight speaks for all of them: ten
/// thousand copies of "processes collector not enabled" would bury everything else.
const FOLD_ABOVE: usize = 10;

/// What one instance cannot be assessed on, worded without naming the instance.
#[derive(Default, PartialEq, Eq, PartialOrd, Ord)]
struct Gap {
    sentences: Vec<String>,
    names: Vec<String>,
    actions: Vec<String>,
    /// (collector, failing rather than disabled)
    collectors: Vec<(String, bool)>,
    unassessable: usize,
}

impl Gap {
    fn action(&self) -> String {
        let mut action = if self.actions.is_empty() {
            "Nothing is broken: these signals are just not measurable with the metrics exported."
                .to_string()
        } else {
            format!("To close the gaps: {}.", self.actions.join("; "))
        };
        if self.unassessable > 0 {
            action.push_str(" For interfaces without a known link speed, utilization needs the provider's bandwidth limit.");
        }
        action
    }

    fn evidence(&self) -> Evidence {
        Evidence::new()
            .with("missing_collectors_count", self.collectors.len() as f64)
            .with("unassessable_devices_count", self.unassessable as f64)
    }
}

const ROOT_CAUSE: &str = "node_exporter collectors can be disabled by flags or fail when the kernel lacks what they read (for example /proc/schedstat, or PSI before kernel 4.20); virtual NICs often report no link speed.";
const LONG_TERM_FIX: &str = "Deploy node_exporter with the same collector flags everywhere, on kernels that expose PSI and schedstat, so every host can be analysed the same way.";
const BOOK: &str = "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.9 The USE Method (known unknowns); Appendix A";

fn coverage_insight(timing: &Timing) -> Insight {
    Insight {
        id: String::new(),
        timestamp: timing.at,
        methodology: Methodology::UseMethod,
        component: Component::System,
        issue_type: IssueType::Coverage,
        use_signal: None,
        severity: Severity::Info,
        title: String::new(),
        observation: String::new(),
        evidence: Evidence::new(),
        root_cause: ROOT_CAUSE.to_string(),
        immediate_action: String::new(),
        investigation_steps: Vec::new(),
        long_term_fix: LONG_TERM_FIX.to_string(),
        related_metrics: Vec::new(),
        confidence: 95.0,
        book_reference: Some(BOOK.to_string()),
        instance: None,
        device: None,
        check: "coverage".to_string(),
        started_at: None,
        ended_at: None,
    }
}

fn instance_insight(gap: &Gap, instance: &str, selector: &Selector, timing: &Timing) -> Insight {
    let narrowed = selector.narrowed_to(instance).to_string();
    Insight {
        id: insight_id("coverage", instance, None),
        title: format!("Coverage gaps on {instance}: {}", gap.names.join(", ")),
        observation: format!("On {instance}, {}.", gap.sentences.join("; ")),
        evidence: gap.evidence(),
        immediate_action: gap.action(),
        investigation_steps: vec![
            format!("curl -s http://{instance}/metrics | grep node_scrape_collector_success"),
            "journalctl -u prometheus-node-exporter (or node_exporter) | grep -i collector"
                .to_string(),
            "prometheus-node-exporter --help | grep -e '--collector.'".to_string(),
        ],
        related_metrics: vec![format!("node_scrape_collector_success{{{narrowed}}}")],
        instance: Some(instance.to_string()),
        ..coverage_insight(timing)
    }
}

/// One insight for many instances with the same gaps; the queries list them all.
fn fleet_insight(gap: &Gap, members: &[&str], selector: &Selector, timing: &Timing) -> Insight {
    const SHOWN: usize = 5;
    let shown = members[..SHOWN.min(members.len())].join(", ");
    let more = members.len().saturating_sub(SHOWN);
    let who = if more > 0 {
        format!("{} instances ({shown} and {more} more)", members.len())
    } else {
        format!("{} instances ({shown})", members.len())
    };
    let presence = crate::inventory::presence(selector);
    let lists: Vec<String> = gap
        .collectors
        .iter()
        .map(|(name, failing)| {
            let status = selector.clone().with(crate::promql::Matcher {
                name: "collector".into(),
                op: crate::promql::MatchOp::Equal,
                value: name.clone(),
            });
            if *failing {
                format!("node_scrape_collector_success{{{status}}} == 0")
            } else {
                format!("group by (instance) ({presence}) unless on (instance) node_scrape_collector_success{{{status}}}")
            }
        })
        .collect();
    let example = members[0];
    let mut steps = vec![format!(
        "curl -s http://{example}/metrics | grep node_scrape_collector_success (one of them)"
    )];
    steps.extend(
        lists
            .iter()
            .map(|q| format!("List them in Prometheus: {q}")),
    );
    steps.push("prometheus-node-exporter --help | grep -e '--collector.'".to_string());
    let mut evidence = gap.evidence();
    evidence.set("instances_count", members.len() as f64);
    Insight {
        id: insight_id("coverage", "fleet", Some(&gap.names.join("+"))),
        title: format!(
            "Coverage gaps on {} instances: {}",
            members.len(),
            gap.names.join(", ")
        ),
        observation: format!("On {who}, {}.", gap.sentences.join("; ")),
        evidence,
        immediate_action: gap.action(),
        investigation_steps: steps,
        related_metrics: if lists.is_empty() {
            vec![format!("node_scrape_collector_success{{{selector}}}")]
        } else {
            lists
        },
        ..coverage_insight(timing)
    }
}

/// One `info` insight per check that could not run, saying why.
pub(super) fn failed_checks(catalog: &Catalog, runs: &[CheckRun], timing: &Timing) -> Vec<Insight> {
    runs.iter()
        .filter_map(|run| {
            let error = run.outcome.error.as_ref()?;
            let check = &catalog.checks()[run.index];
            Some(Insight {
                id: format!("check_failed:{}", check.id),
                timestamp: timing.at,
                methodology: Methodology::UseMethod,
                component: check.component,
                issue_type: IssueType::Coverage,
                use_signal: Some(check.signal),
                severity: Severity::Info,
                title: format!("Check {} ({}) could not run", check.id, check.label),
                observation: format!("Prometheus could not evaluate {} for any target: {error}", check.label),
                evidence: Evidence::new(),
                root_cause: "The query failed in Prometheus (a timeout, a limit, or an unsupported function); every other check ran.".to_string(),
                immediate_action: "Run the query below in Prometheus to see the error, and raise the data source timeout or narrow the target selector if it timed out.".to_string(),
                investigation_steps: vec![format!("Run in Prometheus: {}", run.outcome.query)],
                long_term_fix: "Keep Prometheus sized for the fleet it serves, or restrict the analysis with a target selector.".to_string(),
                related_metrics: vec![run.outcome.query.clone()],
                confidence: 95.0,
                book_reference: None,
                instance: None,
                device: None,
                check: check.id.clone(),
                started_at: None,
                ended_at: None,
            })
        })
        .collect()
}
