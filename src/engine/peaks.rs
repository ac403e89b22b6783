//! The real peak of a flagged target at long windows.
//!
//! Each grid point of a sustained check is a rate over its step: at a 6 h window a point
//! averages 6 minutes, at 24 h 24 minutes, and a 3-minute burst to 80 % reads as about 40 % or
//! 10 %. A "peak" taken from those points is the highest step average, not the peak. For the
//! checks that flagged something (a finding or a burst), one more range query on the same grid
//! takes, at each point, the worst of the finest robust values within its step: the check's
//! query at a rate over four scrapes, evaluated every scrape interval,
//! `max_over_time((<query>)[<step>:<scrape>])` (`min_over_time` for checks where low is bad).
//! The window's peak and each period's (and burst's) peak are raised to it; levels, held time
//! and means stay the grid's, so no verdict changes.
//!
//! Cost: one range query per flagged check, narrowed to its flagged instances. Prometheus
//! evaluates the inner query once per scrape interval per series (5,760 times at 24 h and 15 s,
//! against 60 for the grid), which is why it is sent only where a finding shows a peak and never
//! for every check. Where the grid already uses four-scrape rates (windows up to 1 h at 15 s)
//! its own peak is the real one and nothing is sent.

use std::{collections::HashMap, time::Duration};

use crate::{
    catalog::{Check, Direction, Evaluation},
    prometheus::Series,
    promql::{format_duration, render_query, template::TemplateError, Selector},
    samples::{Over, QueryLog, Recorder, Timing},
};

use super::{evaluate::Assessment, finding::Finding};

/// Fine peaks per target: (instance, device) → `(unix seconds, worst value in the step)`.
type Peaks = HashMap<(String, Option<String>), Vec<(f64, f64)>>;

/// The finest robust `rate()` window: four scrapes.
fn fine_rate(timing: &Timing) -> Duration {
    let scrape = timing.scrape_interval.as_secs().max(1);
    Duration::from_secs(scrape.saturating_mul(4))
}

/// The peak query of `check` on `selector`, when its grid is coarser than the finest rate.
/// `guard` is the template of the check's guard (its own `when.query` or the series of the
/// check it names): the fine values count only where the guard holds at the same resolution
/// (at the warning's value, the loosest), as they do on the grid, so one slow I/O on an idle
/// disk, which the grid ignores (fewer than one I/O per second), cannot set the peak.
pub(super) fn peak_query(
    check: &Check,
    guard: Option<&str>,
    selector: &str,
    timing: &Timing,
) -> Option<Result<String, TemplateError>> {
    let fine = fine_rate(timing);
    if check.evaluation != Evaluation::Sustained || timing.rate <= fine {
        return None;
    }
    let worst = match check.direction {
        Direction::Above => "max_over_time",
        Direction::Below => "min_over_time",
    };
    let resolution = Duration::from_secs(timing.scrape_interval.as_secs().max(1));
    let render = || {
        let inner = render_query(&check.query, selector, fine, timing.window)?;
        let inner = match (guard, &check.when) {
            (Some(template), Some(when)) => {
                let condition = render_query(template, selector, fine, timing.window)?;
                let op = match when.op {
                    Direction::Above => ">=",
                    Direction::Below => "<=",
                };
                let on = std::iter::once("instance")
                    .chain(check.device_label.as_deref())
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "({inner}) and on ({on}) (({condition}) {op} {})",
                    when.value
                )
            }
            _ => inner,
        };
        Ok(format!(
            "{worst}(({inner})[{}:{}])",
            format_duration(timing.step),
            format_duration(resolution)
        ))
    };
    Some(render())
}

/// Raise the peaks of `findings` to the worst fine value of their steps (see the module doc).
/// A failure leaves the grid's peaks and is said in the log.
pub(super) async fn refine(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    check: &Check,
    selector: &Selector,
    (timing, guard): (&Timing, Option<&str>),
    findings: &mut [Finding],
) {
    let instances = super::finding::instances_of(findings);
    let targets = check.component.instance_is_target();
    let narrowed = super::evidence::narrowed_for(targets, selector, &instances).to_string();
    let promql = match peak_query(check, guard, &narrowed, timing) {
        None => return,
        Some(Ok(q)) => q,
        Some(Err(e)) => {
            log.warn(format!("{}: peaks stay the grid's: {e}", check.id));
            return;
        }
    };
    let device_label = check.device_label.clone();
    let collect = move |acc: &mut Peaks, s: Series| {
        let Some(instance) = s.labels.get("instance").cloned() else {
            return;
        };
        let device = device_label.as_ref().and_then(|l| s.labels.get(l)).cloned();
        acc.insert((instance, device), s.points);
    };
    let range = timing.range();
    let purpose = format!("{}/peak", check.id);
    let answer = recorder
        .fold(
            log,
            purpose,
            &promql,
            Over::Range(&range),
            Peaks::new(),
            collect,
            HashMap::len,
        )
        .await;
    match answer {
        Ok(peaks) => {
            for f in findings.iter_mut() {
                if let Some(points) = peaks.get(&(f.instance.clone(), f.device.clone())) {
                    raise(check.direction, &mut f.assessment, points);
                }
            }
        }
        Err(e) => log.warn(format!("{}: peaks stay the grid's: {e}", check.id)),
    }
}

/// Raise the window's peak and each period's to the worst of `points` within them.
pub(super) fn raise(direction: Direction, a: &mut Assessment, points: &[(f64, f64)]) {
    let worst_between = |from_ms: i64, to_ms: i64| {
        points
            .iter()
            .filter(|(ts, v)| v.is_finite() && (from_ms..=to_ms).contains(&millis(*ts)))
            .map(|(_, v)| *v)
            .reduce(|x, y| direction.worse(x, y))
    };
    let worse = |current: f64, fine: f64| {
        if current.is_finite() {
            direction.worse(current, fine)
        } else {
            fine
        }
    };
    if let Some(w) = worst_between(i64::MIN, i64::MAX) {
        a.peak = worse(a.peak, w);
    }
    for p in a.periods.iter_mut().chain(a.burst.iter_mut()) {
        if let Some(w) = worst_between(p.start.timestamp_millis(), p.end.timestamp_millis()) {
            p.peak = worse(p.peak, w);
        }
    }
}

fn millis(ts: f64) -> i64 {
    (ts * 1000.0).round() as i64
}
