//! Judging a check's series as they stream in: each series is assessed and reduced to what the
//! analysis keeps (findings, the worst target, optional observations, levels and peer values,
//! guard masks for the checks that wait on this one), so memory is bounded by the findings,
//! not by the answer.

use std::{cmp::Ordering, collections::HashMap, sync::Arc};

use crate::{
    catalog::{Check, Direction, Evaluation, Thresholds},
    prometheus::Series,
    samples::{PeerColumn, Timing},
};

use super::{
    classes::{ClassBook, Classed},
    evaluate::{self, Assessment, Grid, Held, Level},
    guard::{held, Values},
    levels::Column,
    masks::{GuardPoints, MaskBuilder},
    outcome::{Observation, TargetSeries},
};

/// A guard of another check that refers to this check's series.
#[derive(Clone, Debug)]
pub(super) struct Feed {
    /// The guarded check.
    pub check: String,
    /// Its guard's operator.
    pub op: Direction,
    /// The values, per level.
    pub values: Values,
    /// How the guarded check is evaluated (an instant check reads the last point).
    pub evaluation: Evaluation,
}

/// What the check needs to judge series on the parser thread (cloned when a query is fetched
/// in instance groups: each attempt starts from the same judge).
#[derive(Clone)]
pub(super) struct Judge {
    pub check: Check,
    pub thresholds: Thresholds,
    /// Per-class thresholds of the check's devices, when they apply.
    pub classes: Option<ClassBook>,
    pub timing: Timing,
    /// Where the points of the check's range fall (worked out once, not per series).
    pub grid: Grid,
    pub guard: Option<Arc<GuardPoints>>,
    /// The analysis' instances, sorted: what the masks fed to other checks are keyed by.
    pub instances: Arc<[String]>,
    pub keep_observations: bool,
    /// The instances a levels column is indexed by, when one is kept.
    pub levels: Option<Arc<[String]>>,
    /// The instances a peer-values column is indexed by, when one is kept.
    pub peer_values: Option<Arc<[String]>>,
    pub track_presence: bool,
    pub feeds: Vec<Feed>,
}

/// A target past a threshold (or with a burst), as judged.
#[derive(Clone)]
pub(super) struct Flagged {
    pub instance: String,
    pub device: Option<String>,
    pub assessment: Assessment,
    /// The device class whose thresholds judged it, if any.
    pub class: Option<Classed>,
}

/// What the series of one check came to.
#[derive(Clone, Default)]
pub(super) struct Verdicts {
    pub observations: Vec<Observation>,
    pub findings: Vec<Flagged>,
    /// The series of the findings' targets (sustained checks), thinned.
    pub series: Vec<TargetSeries>,
    pub targets: usize,
    pub breaches: usize,
    pub worst: Option<Observation>,
    pub levels: Option<Column>,
    pub peer_values: Option<PeerColumn>,
    pub present: HashMap<String, f64>,
    /// Parallel to `Judge::feeds`.
    pub fed: Vec<MaskBuilder>,
}

/// Which of two values of `check` is worse (the worse one orders first).
pub(super) fn worse_first(check: &Check, a: f64, b: f64) -> Ordering {
    match check.direction {
        Direction::Above => b.total_cmp(&a),
        Direction::Below => a.total_cmp(&b),
    }
}

/// Judge one series on the parser thread; keep only what the analysis needs.
pub(super) fn judge_series(state: &mut (Judge, Verdicts), series: Series) {
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
    let class = match (&judge.classes, device.as_deref()) {
        (Some(book), Some(d)) => book.class_of(instance, d),
        _ => None,
    };
    let thresholds = class.as_ref().map_or(judge.thresholds, |c| c.thresholds);
    let assessment = assess(judge, &thresholds, &series, instance, device.as_deref());
    if assessment.points == 0 {
        return;
    }
    judged.targets += 1;
    if !judge.feeds.is_empty() {
        feed(judge, judged, &series, (instance, device.as_deref()));
    }
    if judge.track_presence {
        judged.present.insert(instance.clone(), assessment.mean);
    }
    keep(judge, judged, instance, &device, &assessment);
    let flagged = assessment.level > Level::Ok || assessment.burst.is_some();
    if flagged && check.evaluation == Evaluation::Sustained && series.points.len() > 1 {
        judged.series.push(TargetSeries {
            instance: instance.clone(),
            device: device.clone(),
            points: TargetSeries::thin(&series.points),
            warning: thresholds.warning,
            critical: thresholds.critical,
        });
    }
    if assessment.level > Level::Ok {
        judged.breaches += 1;
    }
    // A burst is not a breach: it is reported as one (engine::diagnose).
    if assessment.level > Level::Ok || assessment.burst.is_some() {
        judged.findings.push(Flagged {
            instance: instance.clone(),
            device,
            assessment,
            class,
        });
    }
}

/// The verdict on one series, under the check's guard.
fn assess(
    judge: &Judge,
    thresholds: &Thresholds,
    series: &Series,
    instance: &str,
    device: Option<&str>,
) -> Assessment {
    let check = &judge.check;
    let mask = |g: &GuardPoints| g.get(instance, device);
    match check.evaluation {
        Evaluation::Sustained => {
            let grid = judge.grid;
            let guard = judge.guard.as_ref().map(|g| {
                let mask = mask(g);
                move |ts: i64| Held::cap(mask.as_ref(), grid.index(ts))
            });
            evaluate::sustained(
                &series.points,
                check.direction,
                thresholds,
                check.min_duration,
                &judge.timing,
                guard.as_ref().map(|g| g as &dyn Fn(i64) -> Level),
            )
        }
        Evaluation::Event => {
            let value = series.points.last().map(|p| p.1).unwrap_or(f64::NAN);
            let allowed = judge
                .guard
                .as_ref()
                .map_or(Level::Critical, |g| Held::cap(mask(g).as_ref(), Some(0)));
            evaluate::event(value, check.direction, thresholds, allowed)
        }
    }
}

/// Work out, for each check whose guard refers to this one, where the guard holds.
fn feed(
    judge: &Judge,
    judged: &mut Verdicts,
    series: &Series,
    (instance, device): (&str, Option<&str>),
) {
    let grid = judge.grid;
    judged.fed.resize_with(judge.feeds.len(), || {
        MaskBuilder::new(judge.instances.clone())
    });
    for (feed, masks) in judge.feeds.iter().zip(judged.fed.iter_mut()) {
        let held = held(series, feed.evaluation, &grid, (feed.op, feed.values));
        masks.insert(instance, device, held);
    }
}

/// Keep the worst target, the observation, the instance's level and its peer value.
fn keep(
    judge: &Judge,
    judged: &mut Verdicts,
    instance: &str,
    device: &Option<String>,
    assessment: &Assessment,
) {
    let check = &judge.check;
    let observation = Observation {
        instance: instance.to_string(),
        device: device.clone(),
        value: assessment.mean,
        peak: assessment.peak,
        level: assessment.level,
    };
    let worse = judged.worst.as_ref().is_none_or(|w| {
        observation.level > w.level
            || (observation.level == w.level
                && worse_first(check, observation.value, w.value) == Ordering::Less)
    });
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
    if let Some(instances) = &judge.peer_values {
        // Level aside, the highest mean: a host's busiest device stands for it among peers.
        judged
            .peer_values
            .get_or_insert_with(|| PeerColumn::new(instances))
            .record_highest(instances, instance, assessment.mean);
    }
    if judge.keep_observations {
        judged.observations.push(observation);
    }
}
