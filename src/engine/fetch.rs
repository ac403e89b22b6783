//! Running one check: its guard, its query (streamed and judged series by series), the
//! evidence for the targets it flags, and its coverage rule.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    catalog::{Check, Evaluation, Thresholds},
    insight::Evidence,
    prometheus::{Client, PrometheusError, Series},
    promql::{template, Matcher, Selector},
};

use super::{
    evaluate::{self, guard_holds, Assessment, Grid, GuardPoints, Level},
    levels::Column,
    timing::Timing,
    CheckOutcome, ExecutedQuery, Observation,
};

/// Above this many flagged instances, evidence is fetched for the whole selection rather than
/// through a regex listing every instance.
const EVIDENCE_REGEX_LIMIT: usize = 200;

/// One target a check judged past a threshold.
#[derive(Clone, Debug)]
pub(super) struct Finding {
    /// The target's instance.
    pub instance: String,
    /// Its device, mount point or interface (from the query, or from evidence `device_from`).
    pub device: Option<String>,
    /// The verdict.
    pub assessment: Assessment,
    /// Thresholds in force.
    pub thresholds: Thresholds,
    /// Supporting values fetched for it.
    pub evidence: Evidence,
    /// The exact queries that produced it.
    pub queries: Vec<String>,
}

/// Guards fetched during one analysis, by query, operator, value and device label.
#[derive(Default)]
pub(super) struct GuardCache {
    cells: std::sync::Mutex<HashMap<String, Arc<GuardCell>>>,
}

type GuardCell = tokio::sync::OnceCell<Result<Arc<GuardPoints>, String>>;

impl GuardCache {
    fn cell(
        &self,
        promql: &str,
        check: &Check,
        op: crate::catalog::Direction,
        value: f64,
    ) -> Arc<GuardCell> {
        let key = format!(
            "{promql}\u{1f}{op:?}\u{1f}{value}\u{1f}{:?}\u{1f}{:?}",
            check.device_label, check.evaluation
        );
        match self.cells.lock() {
            Ok(mut cells) => cells.entry(key).or_default().clone(),
            // A poisoned lock only means another check panicked; ask Prometheus again.
            Err(_) => Arc::new(GuardCell::new()),
        }
    }
}

/// The guard of a check, as the plan resolved it.
pub(super) enum GuardInput {
    /// No guard.
    None,
    /// Query this PromQL template.
    Query(String),
    /// Where the guard holds, worked out by the check it refers to, and that check's query
    /// template.
    Masks(Arc<GuardPoints>, String),
    /// The check the guard refers to could not run.
    Failed(String),
}

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
    pub on_judged: Option<&'a (dyn Fn(&mut CheckRun) + Sync)>,
}

/// A guard of another check that refers to this check's series.
#[derive(Clone, Debug)]
pub(super) struct Feed {
    /// The guarded check.
    pub check: String,
    /// Its guard's operator and value.
    pub op: crate::catalog::Direction,
    /// The value.
    pub value: f64,
    /// How the guarded check is evaluated (an instant check reads the last point).
    pub evaluation: Evaluation,
}

/// Everything one check produced.
pub(super) struct CheckRun {
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
    /// Queries sent.
    pub queries: Vec<ExecutedQuery>,
    /// Prometheus warnings.
    pub warnings: Vec<String>,
    /// Set when the check failed because Prometheus could not be used at all.
    pub transport_error: Option<PrometheusError>,
    /// Per guarded check (`Inputs::feeds`): where its guard holds.
    pub fed: HashMap<String, GuardPoints>,
    /// Each instance's worst target, when `Inputs::levels` asked for it.
    pub levels: Option<Column>,
    /// Each instance's highest mean, when `Inputs::peer_values` asked for it.
    pub peer_values: Option<Column>,
}

/// What the check needs to judge series on the parser thread.
struct Judge {
    check: Check,
    thresholds: Thresholds,
    timing: Timing,
    guard: Option<Arc<GuardPoints>>,
    keep_observations: bool,
    /// The instances a levels column is indexed by, when one is kept.
    levels: Option<Arc<[String]>>,
    /// The instances a peer-values column is indexed by, when one is kept.
    peer_values: Option<Arc<[String]>>,
    track_presence: bool,
    feeds: Vec<Feed>,
}

#[derive(Default)]
struct Judged {
    observations: Vec<Observation>,
    findings: Vec<(String, Option<String>, Assessment)>,
    targets: usize,
    breaches: usize,
    worst: Option<Observation>,
    levels: Option<Column>,
    peer_values: Option<Column>,
    present: HashMap<String, f64>,
    /// Parallel to `Judge::feeds`.
    fed: Vec<GuardPoints>,
}

/// Render a catalog query template with the selector, rate interval and window.
pub fn render(
    text: &str,
    selector: &str,
    timing: &Timing,
) -> Result<String, template::TemplateError> {
    let rate = crate::promql::format_duration(timing.rate);
    let window = crate::promql::format_duration(timing.window);
    // Whitespace is collapsed before user values go in, so their content is never touched.
    let mut text = collapse_whitespace(text);
    if selector.is_empty() {
        // `{mode="idle", ${selector}}` would render a valid but untidy trailing comma.
        text = text
            .replace(", ${selector}", "")
            .replace(",${selector}", "");
    }
    template::render(&text, |name| match name {
        "selector" => Some(selector),
        "rate" => Some(rate.as_str()),
        "window" => Some(window.as_str()),
        _ => None,
    })
}

/// Catalog queries are written over several lines; send and show them on one.
fn collapse_whitespace(query: &str) -> String {
    let collapsed = query.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("( ", "(").replace(" )", ")")
}

fn key(instance: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("{instance}\u{1f}{d}"),
        None => instance.to_string(),
    }
}

/// Run check `index` of the catalog.
pub(super) async fn run(
    client: &Client,
    index: usize,
    check: &Check,
    thresholds: Thresholds,
    selector: &Selector,
    timing: &Timing,
    inputs: Inputs<'_>,
) -> CheckRun {
    let mut run = CheckRun {
        index,
        outcome: CheckOutcome {
            check: check.id.clone(),
            query: String::new(),
            targets: 0,
            breaches: 0,
            worst: None,
            observations: Vec::new(),
            error: None,
            note: None,
        },
        findings: Vec::new(),
        present: HashMap::new(),
        unassessable: HashMap::new(),
        queries: Vec::new(),
        warnings: Vec::new(),
        transport_error: None,
        fed: HashMap::new(),
        levels: None,
        peer_values: None,
    };
    let base = selector;
    let on_judged = inputs.on_judged;
    // A weaker fallback signal runs only where the preferred one needs it.
    let narrowed;
    let selector = match &inputs.only {
        None => selector,
        Some(only) if only.is_empty() => {
            if let Ok(q) = render(&check.query, &selector.to_string(), timing) {
                run.outcome.query = q;
            }
            run.outcome.note = Some(format!(
                "not needed: {} had data for every instance and found nothing",
                inputs.leader.as_deref().unwrap_or("a preferred signal")
            ));
            return run;
        }
        Some(only) if only.len() <= EVIDENCE_REGEX_LIMIT => {
            run.outcome.note = Some(format!(
                "ran for the {} instance(s) where {} had no data or found something",
                only.len(),
                inputs.leader.as_deref().unwrap_or("a preferred signal")
            ));
            let names: Vec<&str> = only.iter().map(String::as_str).collect();
            narrowed = match Matcher::any_of("instance", &names) {
                Ok(m) => selector.clone().with(m),
                Err(_) => selector.clone(),
            };
            &narrowed
        }
        Some(_) => selector,
    };
    let selector_text = selector.to_string();
    let fail = |run: &mut CheckRun, e: PrometheusError| {
        run.outcome.error = Some(e.to_string());
        if !e.is_query_error() {
            run.transport_error = Some(e);
        }
    };
    let promql = match render(&check.query, &selector_text, timing) {
        Ok(q) => q,
        Err(e) => {
            run.outcome.error = Some(e.to_string());
            return run;
        }
    };
    run.outcome.query = promql.clone();

    // The guard first: the main series are judged against it as they stream in.
    let mut guard_template = None;
    let guard = match (&check.when, inputs.guard) {
        (None, _) | (Some(_), GuardInput::None) => None,
        (Some(_), GuardInput::Masks(masks, template)) => {
            guard_template = Some(template);
            Some(masks)
        }
        (Some(g), GuardInput::Failed(why)) => {
            let source = g.check.as_deref().unwrap_or("its guard");
            run.outcome.error = Some(format!("needs {source}, which could not run: {why}"));
            return run;
        }
        (Some(g), GuardInput::Query(template)) => {
            let q = match render(&template, &selector_text, timing) {
                Ok(q) => q,
                Err(e) => {
                    run.outcome.error = Some(e.to_string());
                    return run;
                }
            };
            // Two checks may share a guard (packets per second for drop and error ratios):
            // the first asks Prometheus, the other waits for its answer.
            let cell = inputs.guards.cell(&q, check, g.op, g.value);
            let mut asked = None;
            let shared = cell
                .get_or_init(|| async {
                    match guard_points(client, check, &q, g.op, g.value, timing).await {
                        Ok((points, executed)) => {
                            asked = Some(Ok(executed));
                            Ok(Arc::new(points))
                        }
                        Err(e) => {
                            let message = e.to_string();
                            asked = Some(Err(e));
                            Err(message)
                        }
                    }
                })
                .await;
            match (asked, shared) {
                (Some(Err(e)), _) => {
                    fail(&mut run, e);
                    return run;
                }
                (_, Err(message)) => {
                    run.outcome.error = Some(message.clone());
                    return run;
                }
                (asked, Ok(points)) => {
                    if let Some(Ok(executed)) = asked {
                        run.queries.push(executed);
                    }
                    guard_template = Some(template);
                    Some(points.clone())
                }
            }
        }
    };

    let judge = Judge {
        check: check.clone(),
        thresholds,
        timing: *timing,
        guard,
        keep_observations: inputs.keep_observations,
        levels: inputs.levels,
        peer_values: inputs.peer_values,
        track_presence: check.fallback.is_some(),
        feeds: inputs.feeds,
    };
    let feeds = judge.feeds.clone();
    let started = Instant::now();
    let result = match check.evaluation {
        Evaluation::Sustained => {
            client
                .query_range_fold(
                    &promql,
                    &timing.range(),
                    (judge, Judged::default()),
                    judge_series,
                )
                .await
        }
        Evaluation::Event => {
            client
                .query_fold(&promql, timing.at, (judge, Judged::default()), judge_series)
                .await
        }
    };
    let answer = match result {
        Ok(a) => a,
        Err(e) => {
            fail(&mut run, e);
            return run;
        }
    };
    let (_, mut judged) = answer.data;
    run.warnings.extend(answer.warnings);
    run.queries.push(ExecutedQuery {
        purpose: check.id.clone(),
        promql: promql.clone(),
        kind: match check.evaluation {
            Evaluation::Sustained => "range",
            Evaluation::Event => "instant",
        },
        series: judged.targets,
        duration: started.elapsed(),
        offset: Duration::ZERO,
        sent: started,
    });
    judged.observations.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| worse_first(check, a.value, b.value))
    });

    // Each finding names the queries that produced it, narrowed to its instance: what to paste
    // into Prometheus to see that host's numbers (a fleet-wide regex would be unreadable).
    let templates: Vec<&str> = std::iter::once(check.query.as_str())
        .chain(guard_template.as_deref())
        .collect();
    let findings: Vec<Finding> = std::mem::take(&mut judged.findings)
        .into_iter()
        .map(|(instance, device, assessment)| {
            let queries = per_instance(&templates, base, &instance, timing);
            Finding {
                instance,
                device,
                assessment,
                thresholds,
                evidence: Evidence::new(),
                queries,
            }
        })
        .collect();

    // Judged: what the checks waiting on this one need is known now, before the evidence
    // queries, so they need not wait for those.
    run.outcome.targets = judged.targets;
    run.outcome.breaches = judged.breaches;
    run.outcome.worst = judged.worst;
    run.outcome.observations = judged.observations;
    run.levels = judged.levels;
    run.peer_values = judged.peer_values;
    run.present = judged.present;
    run.fed = feeds
        .into_iter()
        .map(|f| f.check)
        .zip(std::mem::take(&mut judged.fed))
        .collect();
    run.findings = findings;
    if let Some(on_judged) = on_judged {
        on_judged(&mut run);
    }

    if !run.findings.is_empty() && !check.evidence.is_empty() {
        let mut findings = std::mem::take(&mut run.findings);
        attach_evidence(client, check, base, timing, &mut findings, &mut run).await;
        run.findings = findings;
    }
    if let Some(rule) = &check.coverage {
        if let Ok(q) = render(&rule.query, &selector_text, timing) {
            let started = Instant::now();
            if let Ok(answer) = client.query(&q, timing.at).await {
                let samples = answer.data.into_vector();
                run.queries.push(ExecutedQuery {
                    purpose: format!("{}/coverage", check.id),
                    promql: q,
                    kind: "instant",
                    series: samples.len(),
                    duration: started.elapsed(),
                    offset: Duration::ZERO,
                    sent: started,
                });
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
        }
    }
    run
}

fn worse_first(check: &Check, a: f64, b: f64) -> std::cmp::Ordering {
    match check.direction {
        crate::catalog::Direction::Above => b.total_cmp(&a),
        crate::catalog::Direction::Below => a.total_cmp(&b),
    }
}

/// Judge one series on the parser thread; keep only what the analysis needs.
fn judge_series(state: &mut (Judge, Judged), series: Series) {
    let (judge, judged) = state;
    let check = &judge.check;
    let Some(instance) = series.labels.get("instance") else {
        return;
    };
    let device = check
        .device_label
        .as_ref()
        .and_then(|l| series.labels.get(l))
        .cloned();
    let assessment = match check.evaluation {
        Evaluation::Sustained => {
            let guard_key = key(instance, device.as_deref());
            let grid = Grid::of(&judge.timing);
            let guard = judge.guard.as_ref().map(|g| {
                let mask = g.get(&guard_key).or_else(|| g.get(instance.as_str()));
                move |ts: i64| guard_holds(mask, grid.index(ts))
            });
            evaluate::sustained(
                &series.points,
                check.direction,
                &judge.thresholds,
                check.min_duration,
                &judge.timing,
                guard.as_ref().map(|g| g as &dyn Fn(i64) -> bool),
            )
        }
        Evaluation::Event => {
            let value = series.points.last().map(|p| p.1).unwrap_or(f64::NAN);
            let guard_ok = judge.guard.as_ref().is_none_or(|g| {
                let guard_key = key(instance, device.as_deref());
                guard_holds(
                    g.get(&guard_key).or_else(|| g.get(instance.as_str())),
                    Some(0),
                )
            });
            evaluate::event(value, check.direction, &judge.thresholds, guard_ok)
        }
    };
    if assessment.points == 0 {
        return;
    }
    judged.targets += 1;
    if !judge.feeds.is_empty() {
        let grid = Grid::of(&judge.timing);
        let target = key(instance, device.as_deref());
        judged.fed.resize_with(judge.feeds.len(), GuardPoints::new);
        for (feed, masks) in judge.feeds.iter().zip(judged.fed.iter_mut()) {
            let points = series
                .points
                .iter()
                .map(|(ts, v)| ((ts * 1000.0).round() as i64, *v));
            let mask = hold_mask(points, feed.evaluation, &grid, feed.op, feed.value);
            masks.insert(target.clone(), mask);
        }
    }
    if judge.track_presence {
        judged.present.insert(instance.clone(), assessment.mean);
    }
    let observation = Observation {
        instance: instance.clone(),
        device: device.clone(),
        value: assessment.mean,
        peak: assessment.peak,
        level: assessment.level,
    };
    let worse = match &judged.worst {
        None => true,
        Some(w) => {
            observation.level > w.level
                || (observation.level == w.level
                    && worse_first(check, observation.value, w.value) == std::cmp::Ordering::Less)
        }
    };
    if worse {
        judged.worst = Some(observation.clone());
    }
    if let Some(instances) = &judge.levels {
        judged
            .levels
            .get_or_insert_with(|| Column::new(instances))
            .record(
                instances,
                instance,
                assessment.mean,
                assessment.level,
                |a, b| worse_first(check, a, b),
            );
    }
    if let Some(instances) = judge
        .peer_values
        .as_ref()
        .filter(|_| assessment.mean.is_finite())
    {
        // Level aside, the highest mean: a host's busiest device stands for it among peers.
        judged
            .peer_values
            .get_or_insert_with(|| Column::new(instances))
            .record(instances, instance, assessment.mean, Level::Ok, |a, b| {
                b.total_cmp(&a)
            });
    }
    if judge.keep_observations {
        judged.observations.push(observation);
    }
    if assessment.level > Level::Ok {
        judged.breaches += 1;
        judged.findings.push((instance.clone(), device, assessment));
    }
}

/// The grid points at which `op value` holds for one series: every point of a range query,
/// or bit 0 for the value of an instant one.
fn hold_mask(
    points: impl DoubleEndedIterator<Item = (i64, f64)>,
    evaluation: Evaluation,
    grid: &Grid,
    op: crate::catalog::Direction,
    value: f64,
) -> u64 {
    let holds = |v: f64| v.is_finite() && op.breaches(v, value);
    match evaluation {
        Evaluation::Sustained => grid.mask(points.map(|(ts, v)| (ts, holds(v)))),
        Evaluation::Event => u64::from(points.last().is_some_and(|(_, v)| holds(v))),
    }
}

/// Fetch a guard's series and turn them into masks per target.
async fn guard_points(
    client: &Client,
    check: &Check,
    promql: &str,
    op: crate::catalog::Direction,
    value: f64,
    timing: &Timing,
) -> Result<(GuardPoints, ExecutedQuery), PrometheusError> {
    let device_label = check.device_label.clone();
    let grid = Grid::of(timing);
    let evaluation = check.evaluation;
    let collect = move |masks: &mut GuardPoints, s: Series| {
        let Some(instance) = s.labels.get("instance") else {
            return;
        };
        let device = device_label.as_ref().and_then(|l| s.labels.get(l));
        let points = s
            .points
            .iter()
            .map(|(ts, v)| ((ts * 1000.0).round() as i64, *v));
        let mask = hold_mask(points, evaluation, &grid, op, value);
        masks.insert(key(instance, device.map(String::as_str)), mask);
    };
    let started = Instant::now();
    let answer = match check.evaluation {
        Evaluation::Sustained => {
            client
                .query_range_fold(promql, &timing.range(), GuardPoints::new(), collect)
                .await?
        }
        Evaluation::Event => {
            client
                .query_fold(promql, timing.at, GuardPoints::new(), collect)
                .await?
        }
    };
    let executed = ExecutedQuery {
        purpose: format!("{}/guard", check.id),
        promql: promql.to_string(),
        kind: match check.evaluation {
            Evaluation::Sustained => "range",
            Evaluation::Event => "instant",
        },
        series: answer.data.len(),
        duration: started.elapsed(),
        offset: Duration::ZERO,
        sent: started,
    };
    Ok((answer.data, executed))
}

/// Fetch the check's evidence queries for the flagged targets, at the end of the window.
async fn attach_evidence(
    client: &Client,
    check: &Check,
    selector: &Selector,
    timing: &Timing,
    findings: &mut [Finding],
    run: &mut CheckRun,
) {
    let instances: HashSet<&str> = findings.iter().map(|f| f.instance.as_str()).collect();
    let mut instances: Vec<&str> = instances.into_iter().collect();
    instances.sort_unstable();
    let narrowed = if instances.len() <= EVIDENCE_REGEX_LIMIT {
        match Matcher::any_of("instance", &instances) {
            Ok(m) => selector.clone().with(m),
            Err(_) => selector.clone(),
        }
    } else {
        selector.clone()
    };
    let narrowed = narrowed.to_string();
    let wanted: HashSet<String> = instances.iter().map(|s| s.to_string()).collect();
    let fetches = check.evidence.iter().map(|e| {
        let narrowed = &narrowed;
        let wanted = wanted.clone();
        async move {
            let promql = render(&e.query, narrowed, timing).ok()?;
            let started = Instant::now();
            let device_label = check.device_label.clone();
            let device_from = e.device_from.clone();
            let answer = client
                .query_fold(
                    &promql,
                    timing.at,
                    Vec::<(String, Option<String>, Option<String>, f64)>::new(),
                    move |acc, s| {
                        let Some(instance) = s.labels.get("instance") else {
                            return;
                        };
                        if !wanted.contains(instance) {
                            return;
                        }
                        let device = device_label.as_ref().and_then(|l| s.labels.get(l)).cloned();
                        let from = device_from.as_ref().and_then(|l| s.labels.get(l)).cloned();
                        let value = s.points.last().map(|p| p.1).unwrap_or(f64::NAN);
                        acc.push((instance.clone(), device, from, value));
                    },
                )
                .await
                .ok()?;
            Some((e, promql, started, answer))
        }
    });
    let results = futures_util::future::join_all(fetches).await;
    for (e, promql, started, answer) in results.into_iter().flatten() {
        run.queries.push(ExecutedQuery {
            purpose: format!("{}/{}", check.id, e.name),
            promql: promql.clone(),
            kind: "instant",
            series: answer.data.len(),
            duration: started.elapsed(),
            offset: Duration::ZERO,
            sent: started,
        });
        run.warnings.extend(answer.warnings);
        for (instance, device, from, value) in answer.data {
            for f in findings.iter_mut().filter(|f| f.instance == instance) {
                // Per-device evidence only joins its own device; per-instance evidence joins all.
                if device.is_some() && f.device.is_some() && device != f.device {
                    continue;
                }
                f.evidence.set(&e.name, value);
                if f.device.is_none() {
                    if let Some(d) = &from {
                        f.device = Some(d.clone());
                    }
                }
                for q in per_instance(&[e.query.as_str()], selector, &instance, timing) {
                    if !f.queries.contains(&q) {
                        f.queries.push(q);
                    }
                }
            }
        }
    }
}

/// Render `templates` for one instance of `selector`.
fn per_instance(
    templates: &[&str],
    selector: &Selector,
    instance: &str,
    timing: &Timing,
) -> Vec<String> {
    let narrowed = super::narrative::narrowed_selector(selector, instance);
    templates
        .iter()
        .filter_map(|t| render(t, &narrowed, timing).ok())
        .collect()
}

/// How long a sustained condition held, for narratives ("7m").
pub(super) fn held_text(held: Duration) -> String {
    crate::promql::format_duration(Duration::from_secs(held.as_secs().max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_render_on_one_line_without_dangling_commas() {
        let at = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap();
        let timing = Timing::new(at, Duration::from_secs(600), Some(Duration::from_secs(15)));
        let t =
            "sum by (instance) (\n  rate(x{mode=\"idle\", ${selector}}[${rate}])\n) / ${window}";
        assert_eq!(
            render(t, "", &timing).unwrap(),
            r#"sum by (instance) (rate(x{mode="idle"}[1m])) / 10m"#
        );
        assert_eq!(
            render(t, r#"job="a  b""#, &timing).unwrap(),
            r#"sum by (instance) (rate(x{mode="idle", job="a  b"}[1m])) / 10m"#
        );
    }
}
