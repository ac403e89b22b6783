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

use super::{execute::CheckExecution, narrative::insight_id};

/// One `coverage` insight per instance that lacks something the checks needed.
pub(super) fn per_instance(
    catalog: &Catalog,
    executions: &[CheckExecution],
    inventory: &Inventory,
    selector: &Selector,
    timing: &Timing,
) -> Vec<Insight> {
    let fallbacks = FallbackCover::of(catalog, executions);
    let unassessable = unassessable_by_instance(catalog, executions);
    let ran: Vec<usize> = executions.iter().map(|r| r.index).collect();
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
                .filter(|i| !fallbacks.covers(*i, instance))
                .collect();
            gap.add_collector(catalog, m, &affected);
        }
        for (label, missing, devices) in
            unassessable.get(instance).map(Vec::as_slice).unwrap_or(&[])
        {
            gap.add_unassessable(label, missing, devices);
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

/// Per fallback group, its executions: whether another member covers an instance.
struct FallbackCover<'a> {
    catalog: &'a Catalog,
    groups: HashMap<&'a str, Vec<&'a CheckExecution>>,
}

impl<'a> FallbackCover<'a> {
    fn of(catalog: &'a Catalog, executions: &'a [CheckExecution]) -> Self {
        let mut groups: HashMap<&str, Vec<&CheckExecution>> = HashMap::new();
        for execution in executions {
            if let Some(f) = &catalog.checks()[execution.index].fallback {
                groups.entry(f.group.as_str()).or_default().push(execution);
            }
        }
        Self { catalog, groups }
    }

    /// Whether another member of check `check_index`'s fallback chain has data for `instance`.
    fn covers(&self, check_index: usize, instance: &str) -> bool {
        let check = &self.catalog.checks()[check_index];
        check.fallback.as_ref().is_some_and(|f| {
            self.groups.get(f.group.as_str()).is_some_and(|members| {
                members
                    .iter()
                    .any(|m| m.index != check_index && m.present.contains_key(instance))
            })
        })
    }
}

/// Per instance, what its coverage rules could not assess: (check label, what is missing,
/// devices).
type Unassessable<'a> = Vec<(&'a str, &'a str, &'a Vec<String>)>;

fn unassessable_by_instance<'a>(
    catalog: &'a Catalog,
    executions: &'a [CheckExecution],
) -> BTreeMap<&'a str, Unassessable<'a>> {
    let mut unassessable: BTreeMap<&str, Unassessable<'_>> = BTreeMap::new();
    for execution in executions {
        let check = &catalog.checks()[execution.index];
        let Some(rule) = &check.coverage else {
            continue;
        };
        for (instance, devices) in &execution.unassessable {
            unassessable.entry(instance.as_str()).or_default().push((
                check.label.as_str(),
                rule.missing.as_str(),
                devices,
            ));
        }
    }
    unassessable
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
    /// A collector the instance lacks, and the checks it costs (none: nothing to say).
    fn add_collector(
        &mut self,
        catalog: &Catalog,
        missing: &crate::inventory::MissingCollector,
        affected: &[usize],
    ) {
        if affected.is_empty() {
            return;
        }
        let name = &missing.name;
        let lost = catalog
            .collector(name)
            .map(|c| c.lost.as_str())
            .unwrap_or("its metrics");
        let checks: Vec<&str> = affected
            .iter()
            .map(|i| catalog.checks()[*i].label.as_str())
            .collect();
        self.names.push(name.clone());
        self.collectors.push((name.clone(), missing.failing));
        if missing.failing {
            self.sentences.push(format!(
                "the {name} collector fails there, so {lost} cannot be assessed ({})",
                checks.join(", ")
            ));
            self.actions.push(format!(
                "see why the {name} collector fails in node_exporter's log (often a kernel feature that is missing)"
            ));
        } else {
            self.sentences.push(format!(
                "the {name} collector is not enabled, so {lost} cannot be assessed ({})",
                checks.join(", ")
            ));
            self.actions
                .push(format!("start node_exporter with --collector.{name}"));
        }
    }

    /// Devices a check's coverage rule says it cannot assess.
    fn add_unassessable(&mut self, label: &str, missing: &str, devices: &[String]) {
        let devices: Vec<&str> = devices
            .iter()
            .map(String::as_str)
            .filter(|d| !d.is_empty())
            .collect();
        self.unassessable += devices.len().max(1);
        self.names
            .push(format!("{label} of {}", devices.join(", ")));
        self.sentences
            .push(format!("{label} of {}: {missing}", devices.join(", ")));
    }

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
const BOOK: &str = "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.9 The USE Method; 2.3.15 Known-Unknowns; Appendix A USE Method: Linux";

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
pub(super) fn failed_checks(
    catalog: &Catalog,
    executions: &[CheckExecution],
    timing: &Timing,
) -> Vec<Insight> {
    executions.iter()
        .filter_map(|execution| {
            let error = execution.outcome.error.as_ref()?;
            let check = &catalog.checks()[execution.index];
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
                investigation_steps: vec![format!("Run in Prometheus: {}", execution.outcome.query)],
                long_term_fix: "Keep Prometheus sized for the fleet it serves, or restrict the analysis with a target selector.".to_string(),
                related_metrics: vec![execution.outcome.query.clone()],
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        engine::fixtures::{catalog, execution, timing},
        inventory::MissingCollector,
    };

    /// `n` instances all lacking the cpu collector, with cpu.utilization run.
    fn gaps(n: usize) -> Vec<Insight> {
        let instances: Vec<String> = (0..n).map(|i| format!("host-{i:02}:9100")).collect();
        let mut inventory = Inventory::seen(instances.clone(), std::time::Duration::from_secs(15));
        for i in &instances {
            inventory.missing.insert(
                i.clone(),
                vec![MissingCollector {
                    name: "cpu".into(),
                    failing: false,
                }],
            );
        }
        let runs = [execution("cpu.utilization", &[])];
        per_instance(catalog(), &runs, &inventory, &Selector::empty(), &timing())
    }

    #[test]
    fn a_few_instances_get_an_insight_each() {
        let insights = gaps(3);
        assert_eq!(insights.len(), 3, "{insights:#?}");
        let i = &insights[0];
        assert_eq!(i.issue_type, IssueType::Coverage);
        assert_eq!(i.instance.as_deref(), Some("host-00:9100"));
        assert!(
            i.observation.contains("cpu collector is not enabled"),
            "{}",
            i.observation
        );
        assert!(
            i.immediate_action.contains("--collector.cpu"),
            "{}",
            i.immediate_action
        );
    }

    #[test]
    fn many_instances_with_the_same_gaps_share_one_insight() {
        let insights = gaps(FOLD_ABOVE + 2);
        assert_eq!(insights.len(), 1, "{insights:#?}");
        assert_eq!(insights[0].instance, None);
        assert!(
            insights[0]
                .observation
                .contains(&(FOLD_ABOVE + 2).to_string()),
            "{}",
            insights[0].observation
        );
    }

    #[test]
    fn a_collector_no_check_that_ran_needs_is_not_a_gap() {
        let instances = vec!["host-00:9100".to_string()];
        let mut inventory = Inventory::seen(instances, std::time::Duration::from_secs(15));
        inventory.missing.insert(
            "host-00:9100".into(),
            vec![MissingCollector {
                name: "pressure".into(),
                failing: true,
            }],
        );
        let runs = [execution("cpu.utilization", &[])];
        let insights = per_instance(catalog(), &runs, &inventory, &Selector::empty(), &timing());
        assert!(insights.is_empty(), "{insights:#?}");
    }
}
