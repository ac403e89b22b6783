//! Executing one check: its guard, its query (streamed and judged series by series), the
//! evidence for the targets it flags, and its coverage rule.

use std::{collections::HashMap, sync::Arc};

use crate::{
    catalog::{Check, DeviceClasses, Evaluation, Stacking, Thresholds},
    insight::Evidence,
    prometheus::PrometheusError,
    promql::Selector,
    samples::{
        estimated_samples, fold_in_groups, Coverage, GroupedQuery, Over, PeerColumn, QueryLog,
        QueryText, Recorder, Timing,
    },
};

use super::{
    classes,
    evaluate::Grid,
    evidence::{self, per_instance, INSTANCE_REGEX_LIMIT},
    finding::Finding,
    guard::{self, GuardCache, GuardFailure, GuardInput, ResolvedGuard},
    judge::{judge_series, worse_first, Feed, Judge, Verdicts},
    levels::Column,
    masks::{GuardPoints, MaskBuilder},
    outcome::CheckOutcome,
    peaks, span, stacked,
};

/// What the plan hands a check besides the catalog entry.
pub(super) struct Inputs<'a> {
    /// Its guard.
    pub guard: GuardInput,
    /// Guards other checks already asked for (the same query, operator and value).
    pub guards: &'a GuardCache,
    /// Run only for these instances (a weaker fallback signal); `None` runs for all.
    pub only: Option<Vec<String>>,
    /// The preferred check of the fallback chain that decided `only`.
    pub leader: Option<String>,
    /// Guards of other checks that refer to this one's series: work out where each holds.
    pub feeds: Vec<Feed>,
    /// Keep per-target observations.
    pub keep_observations: bool,
    /// Keep each instance's worst target in a column indexed like these (sorted) instances.
    pub levels: Option<Arc<[String]>>,
    /// Keep each instance's highest window mean (over its devices) the same way: what the
    /// outlier method compares across peers.
    pub peer_values: Option<Arc<[String]>>,
    /// Called once the check is judged, before its evidence queries: checks waiting on this
    /// one's results need not wait for those.
    pub on_judged: Option<&'a (dyn Fn(&mut CheckExecution) + Sync)>,
}

/// Everything one check produced.
pub(super) struct CheckExecution {
    /// Index of the check in the catalog.
    pub index: usize,
    /// Summary for reports and tables.
    pub outcome: CheckOutcome,
    /// Targets past a threshold.
    pub findings: Vec<Finding>,
    /// Instances with data, and their window mean (fallback chains only).
    pub present: HashMap<String, f64>,
    /// Targets the check cannot assess (coverage rule): instance → devices.
    pub unassessable: HashMap<String, Vec<String>>,
    /// Queries sent and notices.
    pub log: QueryLog,
    /// Set when the check failed because Prometheus could not be used at all.
    pub transport_error: Option<PrometheusError>,
    /// Per guarded check (`Inputs::feeds`): where its guard holds.
    pub fed: HashMap<String, GuardPoints>,
    /// Each instance's worst target, when `Inputs::levels` asked for it.
    pub levels: Option<Column>,
    /// Each instance's highest mean, when `Inputs::peer_values` asked for it.
    pub peer_values: Option<PeerColumn>,
}

impl CheckExecution {
    pub(super) fn new(index: usize, check: &Check) -> Self {
        Self {
            index,
            outcome: CheckOutcome::new(&check.id),
            findings: Vec::new(),
            present: HashMap::new(),
            unassessable: HashMap::new(),
            log: QueryLog::new(),
            transport_error: None,
            fed: HashMap::new(),
            levels: None,
            peer_values: None,
        }
    }

    /// The check failed on Prometheus: a query error is the check's own, anything else means
    /// Prometheus could not be used.
    fn fail(&mut self, e: PrometheusError) {
        self.outcome.error = Some(e.to_string());
        if !e.is_query_error() {
            self.transport_error = Some(e);
        }
    }
}

/// The check's identity and what it is judged against.
pub(super) struct Target<'a> {
    /// Index of the check in the catalog.
    pub index: usize,
    /// The check.
    pub check: &'a Check,
    /// Thresholds in force.
    pub thresholds: Thresholds,
    /// The catalog's device classes, when the check's per-class thresholds apply (a user's
    /// override of the check's thresholds applies to every device instead).
    pub classes: Option<&'a DeviceClasses>,
    /// How stacked devices map to disks, when the check folds them (`fold_stacked`).
    pub stacking: Option<&'a Stacking>,
    /// The analysis' target selector.
    pub selector: &'a Selector,
    /// The selection's instances, sorted: what the query is split by when it is too large.
    pub instances: &'a [String],
    /// Samples one query may load ([`crate::samples::fold_in_groups`]).
    pub sample_budget: u64,
    /// Read the check's recorded series (`gregg-insights rules`) instead of its query.
    pub recorded: bool,
    /// The time grid.
    pub timing: &'a Timing,
}

/// Execute one check.
pub(super) async fn execute(
    recorder: &Recorder<'_>,
    target: Target<'_>,
    mut inputs: Inputs<'_>,
) -> CheckExecution {
    let Target {
        index,
        check,
        selector: base,
        timing,
        ..
    } = target;
    let mut run = CheckExecution::new(index, check);
    let on_judged = inputs.on_judged.take();
    let Some(selector) = fallback_selector(&mut run, check, base, timing, &inputs) else {
        return run;
    };
    // A fallback signal covers only the instances its leader left to it.
    let only = inputs.only.take();
    let selector_text = selector.to_string();
    let template = main_template(check, timing, target.recorded);
    let promql = match timing.render(&template, &selector_text) {
        Ok(q) => q,
        Err(e) => {
            run.outcome.error = Some(e.to_string());
            return run;
        }
    };
    run.outcome.query = promql.clone();
    let coverage = Coverage {
        selector: &selector,
        instances: covered_instances(check, only.as_deref(), target.instances),
        samples_per_instance: estimated_samples(1, check.series_per_instance, timing),
        budget: target.sample_budget,
    };
    // The guard first: the main series are judged against it as they stream in.
    let guard_input = std::mem::replace(&mut inputs.guard, GuardInput::None);
    let guard = guard::resolve(
        recorder,
        &mut run.log,
        inputs.guards,
        check,
        guard_input,
        &coverage,
        timing,
    )
    .await;
    let guard = match guard {
        Ok(guard) => guard,
        Err(GuardFailure::Prometheus(e)) => {
            run.fail(e);
            return run;
        }
        Err(GuardFailure::Unavailable(why)) => {
            run.outcome.error = Some(why);
            return run;
        }
    };
    let classes = match target.classes {
        Some(classes) => {
            classes::lookup(
                recorder,
                &mut run.log,
                (classes, inputs.guards),
                check,
                &coverage,
                timing,
            )
            .await
        }
        None => None,
    };
    let judged = match judge(
        recorder,
        &mut run.log,
        (&target, &template),
        &coverage,
        (guard.as_ref(), classes),
        inputs,
    )
    .await
    {
        Ok(judged) => judged,
        Err(e) => {
            run.fail(e);
            return run;
        }
    };
    let guard_template = guard.map(|g| g.template);
    keep_judged(&mut run, &target, guard_template.clone(), judged);
    if let Some(on_judged) = on_judged {
        on_judged(&mut run);
    }
    refine_findings(recorder, &mut run, &target, guard_template.as_deref()).await;
    unassessable(recorder, &mut run, check, &selector_text, timing).await;
    run
}

/// What the findings need besides the judged series: stacked devices folded into their disks,
/// the peaks, and the evidence.
async fn refine_findings(
    recorder: &Recorder<'_>,
    run: &mut CheckExecution,
    target: &Target<'_>,
    guard_template: Option<&str>,
) {
    let (check, base, timing) = (target.check, target.selector, target.timing);
    if let Some(stacking) = target.stacking.filter(|_| !run.findings.is_empty()) {
        let mut findings = std::mem::take(&mut run.findings);
        stacked::fold(
            recorder,
            &mut run.log,
            stacking,
            check,
            (base, target.instances, target.sample_budget),
            timing,
            &mut findings,
        )
        .await;
        run.findings = findings;
    }
    if !run.findings.is_empty() {
        peaks::refine(
            recorder,
            &mut run.log,
            check,
            base,
            (timing, guard_template),
            &mut run.findings,
        )
        .await;
    }
    if !run.findings.is_empty() && !check.evidence.is_empty() {
        let mut findings = std::mem::take(&mut run.findings);
        let scope = (base, target.instances, target.sample_budget);
        evidence::attach(recorder, &mut run.log, check, scope, timing, &mut findings).await;
        span::refine(recorder, &mut run.log, check, base, timing, &mut findings).await;
        run.findings = findings;
    }
}

/// The template of the check's main query: its own, or where the engine records its signal
/// with this grid's rate interval, the recorded series (the same values, already computed).
fn main_template(check: &Check, timing: &Timing, recorded: bool) -> String {
    if !recorded {
        return check.query.clone();
    }
    format!(
        "{}{{{}=\"{}\", ${{selector}}}}",
        crate::rules::recorded_name(&check.id),
        crate::rules::RATE_LABEL,
        crate::promql::format_duration(timing.rate)
    )
}

/// The instances a check's query may be split by. A container check's series carry the
/// `instance` of cAdvisor or kube-state-metrics, not of the node_exporter hosts listed in the
/// inventory: narrowed to those hosts every part would come back empty, so it is sent whole
/// (and fails with the engine's refusal when it is too large).
fn covered_instances<'a>(
    check: &Check,
    only: Option<&'a [String]>,
    inventory: &'a [String],
) -> &'a [String] {
    if check.component.instance_is_target() {
        only.unwrap_or(inventory)
    } else {
        &[]
    }
}

/// The selector this check runs on: the analysis' own, or for a weaker fallback signal the
/// instances where the preferred one needs it. `None` when it need not run at all.
fn fallback_selector(
    run: &mut CheckExecution,
    check: &Check,
    selector: &Selector,
    timing: &Timing,
    inputs: &Inputs<'_>,
) -> Option<Selector> {
    let leader = inputs.leader.as_deref().unwrap_or("a preferred signal");
    match &inputs.only {
        None => Some(selector.clone()),
        Some(only) if only.is_empty() => {
            if let Ok(q) = timing.render(&check.query, &selector.to_string()) {
                run.outcome.query = q;
            }
            run.outcome.note = Some(format!(
                "not needed: {leader} had data for every instance and found nothing"
            ));
            None
        }
        Some(only)
            if only.len() <= INSTANCE_REGEX_LIMIT && check.component.instance_is_target() =>
        {
            run.outcome.note = Some(format!(
                "ran for the {} instance(s) where {leader} had no data or found something",
                only.len()
            ));
            Some(selector.narrowed_to_any(only))
        }
        Some(_) => Some(selector.clone()),
    }
}

/// Send the check's query (in instance groups when it is too large for one) and judge its
/// series as they arrive.
async fn judge(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (target, template): (&Target<'_>, &str),
    coverage: &Coverage<'_>,
    (guard, classes): (Option<&ResolvedGuard>, Option<classes::ClassBook>),
    inputs: Inputs<'_>,
) -> Result<(Verdicts, Vec<String>), PrometheusError> {
    let check = target.check;
    let judge = Judge {
        check: check.clone(),
        thresholds: target.thresholds,
        classes,
        timing: *target.timing,
        grid: Grid::of(target.timing),
        guard: guard.map(|g| g.points.clone()),
        instances: inputs.guards.instances().clone(),
        keep_observations: inputs.keep_observations,
        levels: inputs.levels,
        peer_values: inputs.peer_values,
        track_presence: check.fallback.is_some(),
        feeds: inputs.feeds,
    };
    let range = target.timing.range();
    let over = match check.evaluation {
        Evaluation::Sustained => Over::Range(&range),
        Evaluation::Event => Over::Instant(target.timing.at),
    };
    let state = (judge, Verdicts::default());
    let kept: fn(&(Judge, Verdicts)) -> usize = |(_, judged)| judged.targets;
    let query = GroupedQuery {
        purpose: &check.id,
        text: QueryText::Template(template, target.timing),
        over,
    };
    let (judge, mut judged) =
        fold_in_groups(recorder, log, &query, coverage, (state, judge_series, kept)).await?;
    judged.observations.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| worse_first(check, a.value, b.value))
    });
    let feeds = judge.feeds.into_iter().map(|f| f.check).collect();
    Ok((judged, feeds))
}

/// Keep what the series came to: the summary, levels, presence, guard masks for the checks
/// waiting on this one, and the findings with the queries that produced them.
fn keep_judged(
    run: &mut CheckExecution,
    target: &Target<'_>,
    guard_template: Option<String>,
    (mut judged, feeds): (Verdicts, Vec<String>),
) {
    let check = target.check;
    // Each finding names the queries that produced it, narrowed to its instance: what to paste
    // into Prometheus to see that host's numbers (a fleet-wide regex would be unreadable).
    let templates: Vec<&str> = std::iter::once(check.query.as_str())
        .chain(guard_template.as_deref())
        .collect();
    run.findings = std::mem::take(&mut judged.findings)
        .into_iter()
        .map(|flagged| Finding {
            queries: per_instance(
                &templates,
                (target.selector, check.component.instance_is_target()),
                &flagged.instance,
                target.timing,
            ),
            thresholds: flagged
                .class
                .as_ref()
                .map_or(target.thresholds, |c| c.thresholds),
            class: flagged.class.map(|c| c.label),
            also_on: Vec::new(),
            instance: flagged.instance,
            device: flagged.device,
            assessment: flagged.assessment,
            evidence: Evidence::new(),
        })
        .collect();
    run.outcome.targets = judged.targets;
    run.outcome.breaches = judged.breaches;
    run.outcome.worst = judged.worst;
    run.outcome.observations = judged.observations;
    run.outcome.series = judged.series;
    run.levels = judged.levels;
    run.peer_values = judged.peer_values;
    run.present = judged.present;
    run.fed = feeds
        .into_iter()
        .zip(judged.fed.into_iter().map(MaskBuilder::build))
        .collect();
}

/// The check's coverage rule: the targets it cannot assess although its collectors run.
async fn unassessable(
    recorder: &Recorder<'_>,
    run: &mut CheckExecution,
    check: &Check,
    selector: &str,
    timing: &Timing,
) {
    let Some(rule) = &check.coverage else {
        return;
    };
    let Ok(promql) = timing.render(&rule.query, selector) else {
        return;
    };
    let purpose = format!("{}/coverage", check.id);
    let samples = match recorder
        .instant(&mut run.log, purpose, &promql, timing.at)
        .await
    {
        Ok(answer) => answer.into_vector(),
        Err(e) => {
            run.log.warn(format!(
                "{}: which targets it cannot assess is unknown: {e}",
                check.id
            ));
            return;
        }
    };
    for s in samples {
        if let Some(instance) = s.labels.get("instance") {
            let device = check
                .device_label
                .as_ref()
                .and_then(|l| s.labels.get(l))
                .cloned()
                .unwrap_or_default();
            run.unassessable
                .entry(instance.clone())
                .or_default()
                .push(device);
        }
    }
}

/// How long a sustained condition held, for narratives ("7m").
pub(super) fn held_text(held: std::time::Duration) -> String {
    crate::promql::format_duration(std::time::Duration::from_secs(held.as_secs().max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_checks_are_never_split_by_node_instances() {
        let catalog = crate::catalog::builtin();
        let hosts = vec!["a:9100".to_string(), "b:9100".to_string()];
        let container = catalog
            .check("container.cpu.utilization")
            .expect("a container check");
        assert!(covered_instances(container, None, &hosts).is_empty());
        assert!(covered_instances(container, Some(&hosts[..1]), &hosts).is_empty());
        let host = catalog
            .checks()
            .iter()
            .find(|c| c.component.instance_is_target())
            .expect("a host check");
        assert_eq!(covered_instances(host, None, &hosts), &hosts[..]);
        assert_eq!(
            covered_instances(host, Some(&hosts[..1]), &hosts),
            &hosts[..1]
        );
    }
}
