//! Workload characterization and the built-in latencies ("Systems Performance 2nd ed.,
//! Ch. 2 Methodologies: 2.5.11 Workload Characterization; 2.5.13 Latency Analysis"): every measure of `workload.toml`, its median over the analysis window against the
//! window of the same length just before it, and against the same window yesterday where
//! Prometheus has data. A material change becomes an insight with both numbers, the ratio, when
//! it began and, where process-exporter or cAdvisor report them, who is behind it. A new level
//! reached only in the window's last minutes (the incident under way) does not move the window's
//! median; it is found as a late step ([`crate::stats::step`]) and dated.
//!
//! One range query per measure covers both windows (twice the analysis' points), folded series
//! by series as it streams, so memory is bounded by the changes found, not by the fleet.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use futures_util::future::join_all;

use super::{
    drilldown::{self, sent_query, Item},
    host_of, time_of, unix, Context, Output,
};
use crate::{
    catalog::{Measure, NextLevel},
    insight::{Evidence, Insight, IssueType, Methodology, Severity},
    inventory,
    prometheus::{QueryRange, Series},
    promql::format_duration,
    samples::{
        estimated_samples, fold_in_groups, Coverage, GroupedQuery, Over, QueryLog, QueryText,
    },
    stats::{
        change::{compare, late_step, may_step, yesterday_level, Comparison},
        robust::median,
    },
};

/// Most changed targets per measure turned into insights (the largest changes first).
pub const MAX_CHANGES: usize = 50;

/// How one measure looks across the selection, for the report's workload table.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureSummary {
    /// Measure id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Evidence name (gives the unit).
    pub metric: String,
    /// Targets compared.
    pub targets: usize,
    /// Targets with data in the window but too little before it.
    pub without_baseline: usize,
    /// Median over targets of the window's median.
    pub window: Option<f64>,
    /// Median over targets of the baseline's median.
    pub baseline: Option<f64>,
    /// Targets with a material change.
    pub changed: usize,
    /// Why the measure could not be compared.
    pub error: Option<String>,
}

/// A material change of one target.
#[derive(Clone, Debug)]
struct Change {
    instance: String,
    device: Option<String>,
    comparison: Comparison,
    yesterday: Option<f64>,
}

#[derive(Clone, Default)]
struct Fold {
    changes: Vec<Change>,
    /// Each target's level in the window and before it, while the series stream in.
    windows: Vec<f64>,
    baselines: Vec<f64>,
    /// Their medians, once the query is done ([`Fold::settle`]).
    window: Option<f64>,
    baseline: Option<f64>,
    targets: usize,
    without_baseline: usize,
}

impl Fold {
    /// Take the medians and free the per-target levels. Some twenty measures are folded
    /// before any is reported, and at 10,000 hosts their levels kept until then came to
    /// several MiB.
    fn settle(mut self) -> Fold {
        self.window = median(&self.windows);
        self.baseline = median(&self.baselines);
        self.windows = Vec::new();
        self.baselines = Vec::new();
        self
    }
}

/// Compare `measures` with their baselines and report material changes. `findings` are the USE
/// insights: a change on a component with a finding on the same host is its likely cause. They
/// are awaited only when the changes are written up, so the measures' queries can run while the
/// USE checks still do.
pub async fn run(
    ctx: &Context<'_>,
    measures: &[&Measure],
    findings: impl std::future::Future<Output = Vec<Insight>>,
) -> (Output, Vec<MeasureSummary>) {
    let mut output = Output::default();
    let t = ctx.timing;
    let points = t.expected_points.max(1) as u64;
    let range = QueryRange {
        start: crate::samples::before(t.at, crate::samples::steps(t.step, 2 * points - 1)),
        end: t.at,
        step: t.step,
    };
    let split = unix(t.at) - t.window.as_secs_f64();
    let selector = ctx.selector.to_string();
    let runs = join_all(measures.iter().map(|m| {
        let selector = selector.as_str();
        async move { fold_measure(ctx, m, selector, &range, split).await }
    }))
    .await;
    // Yesterday, only for the targets that changed, only if Prometheus has data from then.
    let any_change = runs
        .iter()
        .any(|(f, _, _)| matches!(f, Ok(f) if !f.changes.is_empty()));
    let yesterday_available = any_change && yesterday_available(ctx, &mut output.log).await;
    let mut summaries = Vec::new();
    let mut all_changes: Vec<(&Measure, Change)> = Vec::new();
    for (measure, (fold, log, query)) in measures.iter().zip(runs) {
        output.log.extend(log);
        let mut fold = match fold {
            Ok(f) => f,
            Err(e) => {
                summaries.push(summary(measure, &Fold::default(), Some(e)));
                continue;
            }
        };
        keep_largest_changes(measure, &mut fold, &mut output.log);
        if yesterday_available && !fold.changes.is_empty() {
            let values = yesterday(ctx, &mut output.log, measure, &query, &fold.changes).await;
            for change in &mut fold.changes {
                change.yesterday = values
                    .get(&(change.instance.clone(), change.device.clone()))
                    .and_then(|points| yesterday_level(points, &change.comparison, DAY_SECONDS));
            }
        }
        summaries.push(summary(measure, &fold, None));
        all_changes.extend(fold.changes.into_iter().map(|c| (*measure, c)));
    }
    let contributors = contributors(ctx, &all_changes, &mut output.log).await;
    let findings = findings.await;
    for (measure, change) in &all_changes {
        let who: Vec<Contributors> = measure
            .contributors
            .iter()
            .filter_map(|label| {
                let (level, top, query) = contributors.get(label.as_str())?;
                let items = top.get(host_of(&change.instance))?;
                (!items.is_empty()).then_some((*level, items.as_slice(), query.as_str()))
            })
            .collect();
        output
            .insights
            .push(insight(ctx, measure, change, &who, &findings));
    }
    (output, summaries)
}

/// Whether Prometheus has data from the same time yesterday (else say so).
async fn yesterday_available(ctx: &Context<'_>, log: &mut QueryLog) -> bool {
    let presence = format!(
        "group by (instance) ({})",
        inventory::presence(ctx.selector)
    );
    let yesterday_at =
        crate::samples::before(ctx.timing.at, std::time::Duration::from_secs(86_400));
    // Counted as the answer streams in: decoded whole, 10,000 instances' labels took
    // several MiB just to learn that there are some.
    let count = |n: &mut usize, _: Series| *n += 1;
    let result = ctx
        .recorder
        .fold(
            log,
            "workload/yesterday",
            &presence,
            Over::Instant(yesterday_at),
            0,
            count,
            |n| *n,
        )
        .await;
    let available = matches!(result, Ok(n) if n > 0);
    if !available {
        log.warn("workload: no data from the same time yesterday, so changes are compared with the previous window only");
    }
    available
}

/// The largest changes first, at most [`MAX_CHANGES`]; targets without a baseline noted.
fn keep_largest_changes(measure: &Measure, fold: &mut Fold, log: &mut QueryLog) {
    if fold.targets > 0 && fold.targets == fold.without_baseline {
        log.warn(format!(
            "{}: no data before the window (targets younger than it), comparison with a baseline skipped",
            measure.id
        ));
    }
    sort_by_size(&mut fold.changes);
    if fold.changes.len() > MAX_CHANGES {
        log.warn(format!(
            "{}: {} targets changed; the {MAX_CHANGES} largest changes are reported",
            measure.id,
            fold.changes.len()
        ));
        fold.changes.truncate(MAX_CHANGES);
    }
}

/// The largest changes (by ratio, up or down) first; equal ones by instance, then device. The
/// series arrive in an order that depends on how the query was split into instance groups:
/// without the tie-break, which of equal changes survive the cut to [`MAX_CHANGES`] would too.
fn sort_by_size(changes: &mut [Change]) {
    let size = |c: &Change| c.comparison.ratio.max(1.0 / c.comparison.ratio);
    changes.sort_by(|a, b| {
        size(b)
            .total_cmp(&size(a))
            .then_with(|| a.instance.cmp(&b.instance))
            .then_with(|| a.device.cmp(&b.device))
    });
}

/// Who is behind the changes: each contributor level's top items on the changed hosts.
async fn contributors<'c>(
    ctx: &Context<'c>,
    all_changes: &[(&Measure, Change)],
    log: &mut QueryLog,
) -> HashMap<String, (&'c NextLevel, drilldown::TopItems, String)> {
    let mut wanted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, c) in all_changes {
        for label in &m.contributors {
            let hosts = wanted.entry(label.as_str()).or_default();
            let host = host_of(&c.instance);
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    let levels: Vec<(&NextLevel, Vec<&str>)> = wanted
        .into_iter()
        .filter_map(|(label, hosts)| {
            let level = ctx
                .catalog
                .next_levels()
                .iter()
                .find(|l| l.label == label)?;
            Some((level, hosts))
        })
        .collect();
    let tops = join_all(
        levels
            .iter()
            .map(|(level, hosts)| drilldown::top_items(ctx, level, hosts)),
    )
    .await;
    let mut contributors = HashMap::new();
    for ((level, _), (result, top_log)) in levels.iter().zip(tops) {
        let query = sent_query(&top_log);
        log.extend(top_log);
        match result {
            Ok(top) => {
                contributors.insert(level.label.clone(), (*level, top, query));
            }
            Err(note) => log.warn(format!("workload contributors: {note}")),
        }
    }
    contributors
}

/// A drill-down level, its top items on one host, and the query that found them.
type Contributors<'a> = (&'a NextLevel, &'a [Item], &'a str);

type Folded = (Result<Fold, String>, QueryLog, String);

/// Series a workload measure reads per instance, for planning its instance groups: a few
/// disks or interfaces, two selectors in the ratio measures.
const MEASURE_SERIES_PER_INSTANCE: u32 = 8;

/// The measure's series over both windows, each compared as it streams in. A query larger than
/// the budget, or refused by the engine for its size, is sent in instance groups: every measure
/// keeps `instance` (aggregated `by (instance)` or per device), so each series falls in one
/// group and the medians are taken over all of them once the groups are folded.
async fn fold_measure(
    ctx: &Context<'_>,
    measure: &Measure,
    selector: &str,
    range: &QueryRange,
    split: f64,
) -> Folded {
    let query = ctx
        .timing
        .render(&measure.query, selector)
        .unwrap_or_default();
    let mut log = QueryLog::new();
    let (factor, floor, change) = (measure.factor, measure.floor, measure.change);
    let device_label = measure.device_label.clone();
    let on_series = move |acc: &mut Fold, series: Series| {
        if let Some(target) = target(&series, device_label.as_deref()) {
            acc.add(target, &series.points, (split, factor, floor, change));
        }
    };
    // Both windows' points: twice the grid's.
    let per_instance = 2 * estimated_samples(1, MEASURE_SERIES_PER_INSTANCE, ctx.timing);
    let coverage = Coverage {
        selector: ctx.selector,
        instances: ctx.instances,
        samples_per_instance: per_instance,
        budget: ctx.sample_budget,
    };
    let grouped = GroupedQuery {
        purpose: &measure.id,
        text: QueryText::Template(&measure.query, ctx.timing),
        over: Over::Range(range),
    };
    let kept: fn(&Fold) -> usize = |fold| fold.targets;
    let answer = fold_in_groups(
        &ctx.recorder,
        &mut log,
        &grouped,
        &coverage,
        (Fold::default(), on_series, kept),
    )
    .await;
    let settled = answer.map(Fold::settle).map_err(|e| e.to_string());
    (settled, log, query)
}

impl Fold {
    /// One target's points: its levels in both windows, and its change when it is material.
    fn add(
        &mut self,
        (instance, device): (String, Option<String>),
        points: &[(f64, f64)],
        (split, factor, floor, change): (f64, f64, f64, crate::catalog::Change),
    ) {
        self.targets += 1;
        match compare(points, split, factor, floor, change) {
            None => {
                // A series that starts inside the window has no baseline (a new target); one
                // with a few points on both sides is merely sparse.
                let before = points.iter().filter(|(t, _)| *t <= split).count();
                let after = points.len() - before;
                if before == 0 && after > 0 {
                    self.without_baseline += 1;
                }
            }
            Some(c) => {
                self.windows.push(c.window);
                self.baselines.push(c.baseline);
                // A new level held over most of the window moves its median; one that began
                // in its last minutes (the incident) shows only as a late step. The search is
                // skipped where an O(n) test shows it cannot succeed.
                let material = if c.material {
                    Some(c)
                } else if may_step(points, split, factor, floor, change) {
                    late_step(points, split, factor, floor, change).filter(|s| s.material)
                } else {
                    None
                };
                if let Some(comparison) = material {
                    self.changes.push(Change {
                        instance,
                        device,
                        comparison,
                        yesterday: None,
                    });
                }
            }
        }
    }
}

/// A day, in seconds.
const DAY_SECONDS: f64 = 86_400.0;

/// Yesterday's points per changed target (instance, device).
type YesterdayPoints = HashMap<(String, Option<String>), Vec<(f64, f64)>>;

/// The points of yesterday's window, for the changed targets: each change is compared with its
/// own span of them ([`yesterday_level`]).
async fn yesterday(
    ctx: &Context<'_>,
    log: &mut QueryLog,
    measure: &Measure,
    query: &str,
    changes: &[Change],
) -> YesterdayPoints {
    let instances: Vec<&str> = changes.iter().map(|c| c.instance.as_str()).collect();
    let narrowed = ctx.selector.narrowed_to_any(&instances);
    let query = if narrowed == *ctx.selector {
        query.to_string()
    } else {
        ctx.timing
            .render(&measure.query, &narrowed.to_string())
            .unwrap_or_default()
    };
    let t = ctx.timing;
    let day = std::time::Duration::from_secs(86_400);
    let span = crate::samples::steps(t.step, t.expected_points.max(1) as u64 - 1);
    let yesterday = crate::samples::before(t.at, day);
    let range = QueryRange {
        start: crate::samples::before(yesterday, span),
        end: yesterday,
        step: t.step,
    };
    let device_label = measure.device_label.clone();
    let answer = ctx
        .recorder
        .fold(
            log,
            format!("{}/yesterday", measure.id),
            &query,
            Over::Range(&range),
            HashMap::new(),
            move |acc: &mut YesterdayPoints, series: Series| {
                let Some(key) = target(&series, device_label.as_deref()) else {
                    return;
                };
                acc.insert(key, series.points);
            },
            HashMap::len,
        )
        .await;
    answer.unwrap_or_else(|e| {
        log.warn(format!(
            "{}: yesterday's values are missing: {e}",
            measure.id
        ));
        HashMap::new()
    })
}

fn summary(measure: &Measure, fold: &Fold, error: Option<String>) -> MeasureSummary {
    MeasureSummary {
        id: measure.id.clone(),
        label: measure.label.clone(),
        metric: measure.metric.clone(),
        targets: fold.targets,
        without_baseline: fold.without_baseline,
        window: fold.window,
        baseline: fold.baseline,
        changed: fold.changes.len(),
        error,
    }
}

/// The insight about one target's material change: the change in words, then what explains it
/// (yesterday's value, a USE finding on the host, the top contributors), then the measure's own
/// narrative with the target filled in.
fn insight(
    ctx: &Context<'_>,
    measure: &Measure,
    change: &Change,
    who: &[Contributors],
    findings: &[Insight],
) -> Insight {
    // The change is dated half a rate interval before the first point that shows it.
    let since = change
        .comparison
        .since
        .map(|s| s - ctx.timing.rate.as_secs_f64() / 2.0);
    let mut draft = Draft::headline(ctx, measure, change, since);
    let daily = is_daily_pattern(measure, change);
    draft.compare_with_yesterday(measure, change, daily);
    if let Some(f) = likely_cause(measure, change, findings).filter(|_| !daily) {
        draft.severity = Severity::Medium;
        draft.observation.push_str(&format!(
            " It coincides with \"{}\" on the same host, which it likely explains.",
            f.title
        ));
    }
    draft.add_contributors(change, who);
    draft
        .steps
        .extend(measure.investigation_steps.iter().map(|s| fill(s, change)));
    draft.into_insight(ctx, measure, change, since)
}

/// A change's insight being written: the parts the sections of [`insight`] add to or change.
/// Evidence keeps the order its values are set in (the report's order), and the observation
/// reads in the order its sentences are added, so the sections run in a fixed order.
struct Draft {
    title: String,
    observation: String,
    severity: Severity,
    confidence: f64,
    evidence: Evidence,
    steps: Vec<String>,
    related_metrics: Vec<String>,
}

impl Draft {
    /// The change in words (`Disk writes rose ×3.1 on db-1:9100 since about 14:05 UTC`, or
    /// `… in a step at about 14:32 UTC` for a late step) and in numbers, low severity, the
    /// confidence from how much of the window holds the new level, and the measure's query
    /// narrowed to the target to graph it.
    fn headline(
        ctx: &Context<'_>,
        measure: &Measure,
        change: &Change,
        since: Option<f64>,
    ) -> Draft {
        let c = &change.comparison;
        let words = Wording::of(ctx, measure, change, since);
        let (title, observation) = if c.step {
            words.step(ctx, since)
        } else {
            words.shift()
        };
        Draft {
            title,
            observation,
            severity: Severity::Low,
            confidence: 45.0 + 40.0 * c.held,
            evidence: change_evidence(measure, change),
            steps: Vec::new(),
            related_metrics: vec![ctx
                .timing
                .render(
                    &measure.query,
                    &ctx.selector.narrowed_to(&change.instance).to_string(),
                )
                .unwrap_or_default()],
        }
    }

    /// Yesterday's value at this time, if known: the same level (`daily`) makes the change the
    /// daily pattern (informational, less sure); a different one makes it surer.
    fn compare_with_yesterday(&mut self, measure: &Measure, change: &Change, daily: bool) {
        let Some(y) = change.yesterday else {
            return;
        };
        let unit = measure.unit();
        if daily {
            self.observation.push_str(&format!(
                " Yesterday at this time it was {} too: this looks like the daily pattern, not a new workload.",
                unit.format(y)
            ));
            self.severity = Severity::Info;
            self.confidence -= 20.0;
        } else {
            self.observation
                .push_str(&format!(" Yesterday at this time: {}.", unit.format(y)));
            self.confidence += 5.0;
        }
    }

    /// Who is behind the change, per contributor level: a sentence each, the first level's top
    /// item in the title and its items as evidence, and each level's commands and query.
    fn add_contributors(&mut self, change: &Change, who: &[Contributors]) {
        if who.is_empty() {
            return;
        }
        let sentences: Vec<String> = who
            .iter()
            .map(|(level, items, _)| drilldown::sentence(level, items))
            .collect();
        self.observation
            .push_str(&format!(" Top contributors — {}.", sentences.join("; ")));
        if let Some((level, items, _)) = who.first() {
            self.title.push_str(&format!(", mostly {}", items[0].name));
            for item in items.iter() {
                self.evidence
                    .set(drilldown::evidence_name(level, &item.name), item.value);
            }
        }
        for (level, items, query) in who {
            self.steps.extend(drilldown::commands(
                level,
                &items[0].name,
                Some(&change.instance),
                change.device.as_deref(),
            ));
            self.related_metrics.push(query.to_string());
        }
    }

    /// The finished insight, with the measure's narrative for this target.
    fn into_insight(
        self,
        ctx: &Context<'_>,
        measure: &Measure,
        change: &Change,
        since: Option<f64>,
    ) -> Insight {
        Insight {
            id: match &change.device {
                Some(d) => format!("{}:{}:{d}", measure.id, change.instance),
                None => format!("{}:{}", measure.id, change.instance),
            },
            timestamp: ctx.timing.at,
            methodology: measure.methodology,
            component: measure.component,
            issue_type: if measure.methodology == Methodology::LatencyAnalysis {
                IssueType::Latency
            } else {
                IssueType::Anomaly
            },
            use_signal: None,
            severity: self.severity,
            title: self.title,
            observation: self.observation,
            evidence: self.evidence,
            root_cause: fill(&measure.root_cause, change),
            immediate_action: fill(&measure.immediate_action, change),
            investigation_steps: self.steps,
            long_term_fix: fill(&measure.long_term_fix, change),
            related_metrics: self.related_metrics,
            confidence: self.confidence.clamp(10.0, 95.0),
            book_reference: Some(measure.book_reference.clone()),
            instance: Some(change.instance.clone()),
            device: change.device.clone(),
            check: measure.id.clone(),
            started_at: since.and_then(time_of),
            ended_at: Some(ctx.timing.at),
        }
    }
}

/// The parts a change's title and observation are written from.
struct Wording {
    label: String,
    verb: &'static str,
    factor: String,
    target: String,
    /// ` since about 14:05 UTC`, or nothing when the start is unknown.
    since: String,
    before: String,
    after: String,
    window: String,
    held: f64,
}

impl Wording {
    fn of(ctx: &Context<'_>, measure: &Measure, change: &Change, since: Option<f64>) -> Wording {
        let c = &change.comparison;
        let unit = measure.unit();
        Wording {
            label: capitalise(&measure.label),
            verb: if c.up { "rose" } else { "fell" },
            factor: if c.up {
                format!("×{:.1}", c.ratio)
            } else {
                format!("to {:.2}×", c.ratio)
            },
            target: match &change.device {
                Some(d) => format!("{} {d}", change.instance),
                None => change.instance.clone(),
            },
            since: since
                .and_then(time_of)
                .map(|t| format!(" since about {}", t.format("%H:%M UTC")))
                .unwrap_or_default(),
            before: unit.format(c.baseline),
            after: unit.format(c.window),
            window: format_duration(ctx.timing.window),
            held: c.held,
        }
    }

    /// A new level over most of the window: the two windows' medians.
    fn shift(&self) -> (String, String) {
        let Wording {
            label,
            verb,
            factor,
            target,
            since,
            before,
            after,
            window,
            held,
        } = self;
        (
            format!("{label} {verb} {factor} on {target}{since}"),
            format!(
                "{label} {verb} from {before} (median of the previous {window}) to {after} (median of the last {window}), {factor}{since}; {:.0}% of the window's points are at the new level.",
                100.0 * held,
            ),
        )
    }

    /// A step in the window's last minutes: when, the levels on either side, how long it held.
    fn step(&self, ctx: &Context<'_>, since: Option<f64>) -> (String, String) {
        let Wording {
            label,
            verb,
            factor,
            target,
            before,
            after,
            window,
            ..
        } = self;
        let at = self.since.replacen(" since about", " at about", 1);
        let held = since
            .map(|s| (unix(ctx.timing.at) - s).max(0.0))
            .map(|s| {
                format!(
                    " for the last {}",
                    format_duration(Duration::from_secs_f64(s))
                )
            })
            .unwrap_or_default();
        (
            format!("{label} {verb} {factor} on {target} in a step{at}"),
            format!(
                "{label} {verb} in a step{at}, from {before} to {after} (medians before and after it), {factor}; the new level has held{held} of the {window} window, too short a time to move the window's median."
            ),
        )
    }
}

/// Whether yesterday's value at this time is within the measure's factor of the window's: then
/// the change is the daily pattern, not a new workload. The floor keeps a near-zero yesterday
/// from making any value look like a change.
fn is_daily_pattern(measure: &Measure, change: &Change) -> bool {
    let c = &change.comparison;
    change.yesterday.is_some_and(|y| {
        let r = c.window / y.max(measure.floor / 10.0).max(1e-9);
        r < measure.factor && r > 1.0 / measure.factor
    })
}

/// A change on a resource with a USE finding (medium or worse) on the same host is its likely
/// cause.
fn likely_cause<'f>(
    measure: &Measure,
    change: &Change,
    findings: &'f [Insight],
) -> Option<&'f Insight> {
    findings.iter().find(|f| {
        f.methodology == Methodology::UseMethod
            && f.component == measure.component
            && f.severity >= Severity::Medium
            && f.instance.as_deref() == Some(change.instance.as_str())
    })
}

/// The numbers behind a change: both medians, their ratio, the share of the window at the new
/// level, and yesterday's value if known.
fn change_evidence(measure: &Measure, change: &Change) -> Evidence {
    let c = &change.comparison;
    let mut evidence = Evidence::new()
        .with(format!("baseline_{}", measure.metric), c.baseline)
        .with(format!("window_{}", measure.metric), c.window)
        .with("change_ratio", c.ratio)
        .with("held_percent", 100.0 * c.held);
    if let Some(y) = change.yesterday {
        evidence.set(format!("yesterday_{}", measure.metric), y);
    }
    evidence
}

/// A narrative text of the measure with the change's `${instance}` and `${device}` filled in.
fn fill(text: &str, change: &Change) -> String {
    text.replace("${instance}", &change.instance)
        .replace("${device}", change.device.as_deref().unwrap_or(""))
}

/// A series' instance and, for per-device measures, its device.
fn target(series: &Series, device_label: Option<&str>) -> Option<(String, Option<String>)> {
    let instance = series.labels.get("instance")?.clone();
    let device = device_label.and_then(|l| series.labels.get(l).cloned());
    Some((instance, device))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(instance: &str, device: Option<&str>, ratio: f64) -> Change {
        Change {
            instance: instance.to_string(),
            device: device.map(str::to_string),
            comparison: Comparison {
                baseline: 1.0,
                window: ratio,
                ratio,
                held: 1.0,
                since: None,
                material: true,
                up: ratio > 1.0,
                step: false,
            },
            yesterday: None,
        }
    }

    fn order(changes: &[Change]) -> Vec<(String, Option<String>)> {
        changes
            .iter()
            .map(|c| (c.instance.clone(), c.device.clone()))
            .collect()
    }

    #[test]
    fn equal_changes_are_kept_in_the_same_order_however_they_arrived() {
        let arrived = vec![
            change("b:9100", Some("sda"), 4.0),
            change("a:9100", Some("sdb"), 0.25),
            change("c:9100", None, 8.0),
            change("a:9100", Some("sda"), 4.0),
            change("a:9100", None, 2.0),
        ];
        let mut first = arrived.clone();
        let mut second: Vec<Change> = arrived.into_iter().rev().collect();
        sort_by_size(&mut first);
        sort_by_size(&mut second);
        assert_eq!(order(&first), order(&second));
        let expected = [
            ("c:9100", None),
            ("a:9100", Some("sda")),
            ("a:9100", Some("sdb")),
            ("b:9100", Some("sda")),
            ("a:9100", None),
        ]
        .map(|(i, d)| (i.to_string(), d.map(str::to_string)));
        assert_eq!(order(&first), expected);
    }
}
