//! Guards: the second condition a check's series must meet at the same time (`when`). Fetched
//! once per analysis for every check that shares it, and turned into masks over the grid.

use std::{collections::HashMap, sync::Arc};

use crate::{
    catalog::{Check, Direction, Evaluation},
    prometheus::{PrometheusError, Series},
    samples::{
        fold_in_groups, Coverage, GroupedQuery, Over, QueryLog, QueryText, Recorder, Timing,
    },
};

use super::{
    evaluate::{Grid, Held},
    masks::{GuardPoints, MaskBuilder},
};

/// Guards fetched during one analysis, by query, operator, value and device label; and the
/// device classes' rotational flags, which every check with class thresholds needs and one
/// query answers for all of them.
pub(super) struct GuardCache {
    /// The analysis' instances, sorted: guard masks are keyed by their index.
    instances: Arc<[String]>,
    cells: std::sync::Mutex<HashMap<String, Arc<GuardCell>>>,
    /// Rotational flags by the PromQL that fetched them.
    pub rotational: std::sync::Mutex<HashMap<String, Arc<RotationalCell>>>,
    /// What lies beneath stacked devices, by the PromQL that fetched it.
    pub backing: std::sync::Mutex<HashMap<String, Arc<BackingCell>>>,
}

/// The devices beneath each stacked device, once per analysis.
pub(super) type BackingCell = tokio::sync::OnceCell<Arc<super::stacked::Backing>>;

/// Each device's rotational flag, by (instance, device), once per analysis.
pub(super) type RotationalCell = tokio::sync::OnceCell<Arc<HashMap<(String, String), bool>>>;

impl GuardCache {
    /// No guards fetched yet, for an analysis of `instances` (sorted).
    pub fn new(instances: Arc<[String]>) -> Self {
        Self {
            instances,
            cells: Default::default(),
            rotational: Default::default(),
            backing: Default::default(),
        }
    }

    /// The analysis' instances, sorted.
    pub fn instances(&self) -> &Arc<[String]> {
        &self.instances
    }

    /// The shared cell of the rotational flags `promql` fetches.
    pub fn rotational_cell(&self, promql: &str) -> Arc<RotationalCell> {
        match self.rotational.lock() {
            Ok(mut cells) => cells.entry(promql.to_string()).or_default().clone(),
            Err(_) => Arc::new(RotationalCell::new()),
        }
    }

    /// The shared cell of the stacked devices' backing that `promql` fetches.
    pub fn backing_cell(&self, promql: &str) -> Arc<BackingCell> {
        match self.backing.lock() {
            Ok(mut cells) => cells.entry(promql.to_string()).or_default().clone(),
            Err(_) => Arc::new(BackingCell::new()),
        }
    }
}

type GuardCell = tokio::sync::OnceCell<Result<Arc<GuardPoints>, String>>;

impl GuardCache {
    fn cell(&self, promql: &str, check: &Check, op: Direction, values: Values) -> Arc<GuardCell> {
        let key = format!(
            "{promql}\u{1f}{op:?}\u{1f}{values:?}\u{1f}{:?}\u{1f}{:?}",
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

/// A resolved guard: where it holds, and the template to show among a finding's queries.
pub(super) struct ResolvedGuard {
    pub points: Arc<GuardPoints>,
    pub template: String,
}

/// Why a check cannot run because of its guard.
pub(super) enum GuardFailure {
    /// Prometheus failed on the guard's query (this check asked).
    Prometheus(PrometheusError),
    /// The guard could not be had: the referenced check failed, or another check's request
    /// for the same guard did.
    Unavailable(String),
}

/// Work out `check`'s guard: nothing, the masks another check published, or this check's own
/// guard query (shared through `cache` with every check that has the same guard), sent in the
/// instance groups `coverage` plans, as the check's own query is: a refused guard would leave
/// the check out.
pub(super) async fn resolve(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    cache: &GuardCache,
    check: &Check,
    input: GuardInput,
    coverage: &Coverage<'_>,
    timing: &Timing,
) -> Result<Option<ResolvedGuard>, GuardFailure> {
    let Some(guard) = &check.when else {
        return Ok(None);
    };
    let template = match input {
        GuardInput::None => return Ok(None),
        GuardInput::Masks(points, template) => return Ok(Some(ResolvedGuard { points, template })),
        GuardInput::Failed(why) => {
            let source = guard.check.as_deref().unwrap_or("its guard");
            return Err(GuardFailure::Unavailable(format!(
                "needs {source}, which could not run: {why}"
            )));
        }
        GuardInput::Query(template) => template,
    };
    let promql = timing
        .render(&template, &coverage.selector.to_string())
        .map_err(|e| GuardFailure::Unavailable(e.to_string()))?;
    // Two checks may share a guard (packets per second for drop and error ratios): the first
    // asks Prometheus, the other waits for its answer.
    let values = Values::of(guard);
    let cell = cache.cell(&promql, check, guard.op, values);
    let mut asked = None;
    let shared = cell
        .get_or_init(|| async {
            let fetched = fetch(
                recorder,
                log,
                (check, template.as_str(), coverage),
                (guard.op, values),
                (timing, cache.instances()),
            )
            .await;
            match fetched {
                Ok(points) => Ok(Arc::new(points)),
                Err(e) => {
                    let message = e.to_string();
                    asked = Some(e);
                    Err(message)
                }
            }
        })
        .await;
    match (asked, shared) {
        (Some(e), _) => Err(GuardFailure::Prometheus(e)),
        (None, Err(message)) => Err(GuardFailure::Unavailable(message.clone())),
        (None, Ok(points)) => Ok(Some(ResolvedGuard {
            points: points.clone(),
            template,
        })),
    }
}

/// The grid points at which `op value` holds for one series: every point of a range query,
/// or bit 0 for the value of an instant one.
pub(super) fn hold_mask(
    points: impl DoubleEndedIterator<Item = (i64, f64)>,
    evaluation: Evaluation,
    grid: &Grid,
    op: Direction,
    value: f64,
) -> u64 {
    let holds = |v: f64| v.is_finite() && op.breaches(v, value);
    match evaluation {
        Evaluation::Sustained => grid.mask(points.map(|(ts, v)| (ts, holds(v)))),
        Evaluation::Event => u64::from(points.last().is_some_and(|(_, v)| holds(v))),
    }
}

/// The values a guard's query is compared with: one for the warning level, one (the same
/// unless the guard says otherwise) for the critical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Values {
    pub warning: f64,
    pub critical: f64,
}

impl Values {
    /// The values of `guard`.
    pub fn of(guard: &crate::catalog::Guard) -> Values {
        Values {
            warning: guard.value,
            critical: guard.critical.unwrap_or(guard.value),
        }
    }
}

/// Where `op values` holds for one series, per level (see [`hold_mask`]).
pub(super) fn held(
    series: &Series,
    evaluation: Evaluation,
    grid: &Grid,
    (op, values): (Direction, Values),
) -> Held {
    let warning = hold_mask(millis(series), evaluation, grid, op, values.warning);
    if values.critical == values.warning {
        return Held::both(warning);
    }
    Held {
        warning,
        critical: hold_mask(millis(series), evaluation, grid, op, values.critical),
    }
}

/// A series' points with millisecond timestamps, as the grid counts them.
pub(super) fn millis(series: &Series) -> impl DoubleEndedIterator<Item = (i64, f64)> + '_ {
    series
        .points
        .iter()
        .map(|(ts, v)| ((ts * 1000.0).round() as i64, *v))
}

/// Fetch a guard's series (its template, in the instance groups `coverage` plans) and turn
/// them into masks per target.
async fn fetch(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (check, template, coverage): (&Check, &str, &Coverage<'_>),
    condition: (Direction, Values),
    (timing, instances): (&Timing, &Arc<[String]>),
) -> Result<GuardPoints, PrometheusError> {
    let device_label = check.device_label.clone();
    let grid = Grid::of(timing);
    let evaluation = check.evaluation;
    let collect = move |masks: &mut MaskBuilder, s: Series| {
        let Some(instance) = s.labels.get("instance") else {
            return;
        };
        let device = device_label.as_ref().and_then(|l| s.labels.get(l));
        let held = held(&s, evaluation, &grid, condition);
        masks.insert(instance, device.map(String::as_str), held);
    };
    let range = timing.range();
    let over = match evaluation {
        Evaluation::Sustained => Over::Range(&range),
        Evaluation::Event => Over::Instant(timing.at),
    };
    let purpose = format!("{}/guard", check.id);
    let query = GroupedQuery {
        purpose: &purpose,
        text: QueryText::Template(template, timing),
        over,
    };
    let start = MaskBuilder::new(instances.clone());
    let kept: fn(&MaskBuilder) -> usize = MaskBuilder::len;
    let masks = fold_in_groups(recorder, log, &query, coverage, (start, collect, kept)).await?;
    Ok(masks.build())
}
