//! One panel query's series judged against the panel's own configuration: its thresholds
//! (absolute, or percent of min…max; read by colour, so "red above 90" and "red below 10%"
//! both work), its max (a plateau at the limit is saturation-like), and step changes found by
//! the same median comparison the workload method uses.

use crate::{
    catalog::{Change, Unit},
    prometheus::Labels,
    stats::change,
};

use super::model::{FieldConfig, Step, ThresholdMode};

/// Share of a series' points that makes a run "sustained": at least this many, and 3 points.
pub const SUSTAINED_SHARE: f64 = 0.2;

/// Ratio of medians after/before that counts as a step change (or its inverse).
pub const STEP_FACTOR: f64 = 2.0;

/// Smallest step change worth reporting, as a share of the panel's scale: 0.01 % → 0.02 % CPU
/// doubles, and means nothing.
pub const STEP_SHARE_OF_SCALE: f64 = 0.2;

/// The panel's scale: its min…max, else 0–100 % for percent units, else the data's largest
/// magnitude.
pub fn panel_scale(field: &FieldConfig, data_min: f64, data_max: f64) -> f64 {
    let scale = match (field.max, field.unit.as_deref()) {
        (Some(max), _) => max - field.min.unwrap_or(0.0),
        (None, Some("percent")) => 100.0,
        (None, Some("percentunit")) => 1.0,
        _ => data_max.abs().max(data_min.abs()),
    };
    scale.abs()
}

/// Whether a series moves on the panel's scale (a correlation between flat lines is noise).
pub fn moves(points: &[(f64, f64)], scale: f64) -> bool {
    let (lo, hi) = points
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    hi - lo >= 0.1 * scale && hi > lo
}

/// A series with its points.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesData {
    /// Labels.
    pub labels: Labels,
    /// `(Unix seconds, value)`.
    pub points: Vec<(f64, f64)>,
}

impl SeriesData {
    /// A short name: the labels that tell series apart (metric name left out).
    pub fn name(&self) -> String {
        let parts: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        if parts.is_empty() {
            "{}".to_string()
        } else {
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// How bad a threshold step is, from its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Green.
    Ok,
    /// Blue, purple, text…: says nothing.
    Neutral,
    /// Yellow, orange.
    Warning,
    /// Red.
    Critical,
}

/// Classify a Grafana colour (named or CSS).
pub fn level_of_color(color: &str) -> Level {
    let c = color.to_ascii_lowercase();
    if c.contains("red") {
        return Level::Critical;
    }
    if c.contains("orange") || c.contains("yellow") {
        return Level::Warning;
    }
    if c.contains("green") {
        return Level::Ok;
    }
    let rgb: Vec<f64> = c
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .filter_map(|x| x.trim().parse::<f64>().ok())
        .collect();
    let hex = c.strip_prefix('#').filter(|h| h.len() == 6).and_then(|h| {
        let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok().map(f64::from);
        Some(vec![p(0)?, p(2)?, p(4)?])
    });
    let rgb = if rgb.len() >= 3 { Some(rgb) } else { hex };
    match rgb {
        Some(v) if v[0] > 180.0 && v[1] < 100.0 => Level::Critical,
        Some(v) if v[0] > 180.0 && v[1] >= 100.0 && v[2] < 100.0 => Level::Warning,
        Some(v) if v[1] > v[0] && v[1] > v[2] => Level::Ok,
        _ => Level::Neutral,
    }
}

/// The display unit of a Grafana unit id and the factor to apply to values for it.
pub fn display_unit(unit: Option<&str>) -> Option<(Unit, f64)> {
    Some(match unit? {
        "percent" => (Unit::Percent, 1.0),
        "percentunit" => (Unit::Percent, 100.0),
        "bytes" | "decbytes" => (Unit::Bytes, 1.0),
        "s" => (Unit::Seconds, 1.0),
        "ms" => (Unit::Milliseconds, 1.0),
        "Bps" | "binBps" | "decBps" => (Unit::BytesPerSecond, 1.0),
        "ops" | "reqps" | "rps" | "iops" | "wps" | "rds" | "pps" | "cps" => (Unit::PerSecond, 1.0),
        _ => return None,
    })
}

/// A value in the panel's unit, for sentences.
pub fn format(field: &FieldConfig, value: f64) -> String {
    match display_unit(field.unit.as_deref()) {
        Some((unit, factor)) => unit.format(value * factor),
        None => {
            let u = Unit::Count.format(value);
            match field.unit.as_deref() {
                Some(other) if !["short", "none", "string"].contains(&other) => {
                    format!("{u} {other}")
                }
                _ => u,
            }
        }
    }
}

/// A threshold the panel's author set, resolved to the panel's unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// Value in the series' unit.
    pub value: f64,
    /// How bad it is to be past it.
    pub level: Level,
    /// `true`: bad above; `false`: bad below.
    pub above: bool,
}

/// Grafana puts `green, red at 80` on every new panel; unless the unit is percent, that is a
/// default nobody chose, not a judgement.
fn is_untouched_default(field: &FieldConfig) -> bool {
    let s = &field.steps;
    s.len() == 2
        && s[1].value == Some(80.0)
        && level_of_color(&s[0].color) == Level::Ok
        && level_of_color(&s[1].color) == Level::Critical
        && field.unit.as_deref() != Some("percent")
}

/// The thresholds that mean something: past a warning or critical colour, resolved from
/// percentage mode with the panel's min/max (or the data's when unset).
pub fn thresholds(field: &FieldConfig, data_min: f64, data_max: f64) -> Vec<Threshold> {
    if field.steps.len() < 2 || field.thresholds_hidden || is_untouched_default(field) {
        return Vec::new();
    }
    let lo = field.min.unwrap_or(data_min.min(0.0));
    let hi = field.max.unwrap_or(data_max);
    let resolve = |v: f64| match field.mode {
        Some(ThresholdMode::Percentage) => lo + (hi - lo) * v / 100.0,
        _ => v,
    };
    let steps: Vec<(&Step, Level)> = field
        .steps
        .iter()
        .map(|s| (s, level_of_color(&s.color)))
        .collect();
    let base = steps[0].1;
    let classified = steps
        .iter()
        .any(|(_, l)| matches!(l, Level::Warning | Level::Critical));
    if base >= Level::Warning {
        // Inverted: bad below the first step that is better than the base.
        return steps
            .iter()
            .skip(1)
            .find(|(_, l)| *l < base)
            .and_then(|(s, _)| s.value)
            .map(|v| {
                vec![Threshold {
                    value: resolve(v),
                    level: base,
                    above: false,
                }]
            })
            .unwrap_or_default();
    }
    let last = steps.len() - 1;
    steps
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, (s, l))| {
            let level = if classified {
                *l
            } else if i == last {
                Level::Critical
            } else {
                Level::Warning
            };
            if level < Level::Warning {
                return None;
            }
            let start = resolve(s.value?);
            // A band: a better step above this one (Node Exporter Full's collector panel is
            // green at 1, red from 0, green below). Where nothing lies below the band it is
            // "bad below the better step"; a band in mid-range is not a threshold at all.
            let better = steps[i + 1..]
                .iter()
                .find(|(_, l)| classified && *l == Level::Ok)
                .and_then(|(b, _)| b.value);
            match better {
                Some(end) if lo >= start => Some(Threshold {
                    value: resolve(end),
                    level,
                    above: false,
                }),
                Some(_) => None,
                None => Some(Threshold {
                    value: start,
                    level,
                    above: true,
                }),
            }
        })
        .collect()
}

/// A sustained breach of a threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    /// The threshold.
    pub threshold: Threshold,
    /// The worst series.
    pub series: String,
    /// Its `instance` label.
    pub instance: Option<String>,
    /// Share of that series' points past the threshold.
    pub share: f64,
    /// Its mean over the window.
    pub mean: f64,
    /// Its worst value.
    pub peak: f64,
    /// First and last point past the threshold (Unix seconds).
    pub from: f64,
    /// Last point past it.
    pub to: f64,
    /// Series past it, sustained.
    pub series_breaching: usize,
}

/// A series flat at the panel's limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Plateau {
    /// The limit (panel max, or 100% / 1.0).
    pub limit: f64,
    /// The series.
    pub series: String,
    /// Its `instance` label.
    pub instance: Option<String>,
    /// Share of points at the limit.
    pub share: f64,
    /// First point of the longest run at the limit.
    pub from: f64,
}

/// A held change of level.
#[derive(Clone, Debug, PartialEq)]
pub struct StepChange {
    /// The series.
    pub series: String,
    /// Its `instance` label.
    pub instance: Option<String>,
    /// Median before.
    pub before: f64,
    /// Median after.
    pub after: f64,
    /// When it began (Unix seconds).
    pub at: f64,
}

/// What one query of a panel shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// The worst sustained breach, if any.
    pub breach: Option<Breach>,
    /// A plateau at the limit, if any.
    pub plateau: Option<Plateau>,
    /// The largest step change, if any.
    pub step: Option<StepChange>,
    /// Thresholds the panel defines (none: only plateaus and steps are judged).
    pub thresholds: Vec<Threshold>,
}

fn finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// The longest run of consecutive points where `pred` holds: (length, first t, last t).
fn longest_run(points: &[(f64, f64)], pred: impl Fn(f64) -> bool) -> (usize, f64, f64) {
    let (mut best, mut best_from, mut best_to) = (0, f64::NAN, f64::NAN);
    let (mut run, mut from) = (0, f64::NAN);
    for (t, v) in points {
        if pred(*v) {
            if run == 0 {
                from = *t;
            }
            run += 1;
            if run > best {
                (best, best_from, best_to) = (run, from, *t);
            }
        } else {
            run = 0;
        }
    }
    (best, best_from, best_to)
}

fn sustained(run: usize, n: usize) -> bool {
    run >= 3 && run as f64 >= SUSTAINED_SHARE * n as f64
}

/// Judge the series of one panel query.
pub fn judge(field: &FieldConfig, series: &[SeriesData]) -> Judgement {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite())
        .collect();
    if all.is_empty() {
        return Judgement::default();
    }
    let data_min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let data_max = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let thresholds = thresholds(field, data_min, data_max);
    Judgement {
        breach: worst_breach(&thresholds, series),
        plateau: plateau_at_limit(field, data_min, series),
        step: largest_step(panel_scale(field, data_min, data_max), series),
        thresholds,
    }
}

/// The sustained breach to report: thresholds are tried the worst level first (and, within a
/// level, the most extreme value first); the first one any series breaches for a sustained
/// stretch wins, with the series past it for the largest share of the window.
fn worst_breach(thresholds: &[Threshold], series: &[SeriesData]) -> Option<Breach> {
    let mut ordered = thresholds.to_vec();
    ordered.sort_by(|a, b| {
        b.level.cmp(&a.level).then(if a.above {
            b.value.total_cmp(&a.value)
        } else {
            a.value.total_cmp(&b.value)
        })
    });
    for th in &ordered {
        let mut best: Option<Breach> = None;
        let mut count = 0;
        for candidate in series.iter().filter_map(|s| breach_of(th, s)) {
            count += 1;
            if best.as_ref().is_none_or(|b| candidate.share > b.share) {
                best = Some(candidate);
            }
        }
        if let Some(mut b) = best {
            b.series_breaching = count;
            return Some(b);
        }
    }
    None
}

/// One series' breach of `th`, if it is past it for a sustained run; `series_breaching` is
/// left at 0 for the caller, who counts the series.
fn breach_of(th: &Threshold, s: &SeriesData) -> Option<Breach> {
    let past = |v: f64| if th.above { v > th.value } else { v < th.value };
    let pts = finite(&s.points);
    let (run, _, _) = longest_run(&pts, past);
    if !sustained(run, pts.len()) {
        return None;
    }
    let over: Vec<&(f64, f64)> = pts.iter().filter(|(_, v)| past(*v)).collect();
    let share = over.len() as f64 / pts.len() as f64;
    let mean = pts.iter().map(|(_, v)| v).sum::<f64>() / pts.len() as f64;
    // The worst value: the highest for a threshold to stay under, the lowest for one to stay over.
    let peak = pts.iter().map(|(_, v)| *v).fold(
        if th.above {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        },
        |a, b| {
            if th.above {
                a.max(b)
            } else {
                a.min(b)
            }
        },
    );
    Some(Breach {
        threshold: *th,
        series: s.name(),
        instance: s.labels.get("instance").cloned(),
        share,
        mean,
        peak,
        from: over.first().map(|(t, _)| *t).unwrap_or(f64::NAN),
        to: over.last().map(|(t, _)| *t).unwrap_or(f64::NAN),
        series_breaching: 0,
    })
}

/// The series flat at the panel's limit for the largest share of the window, if any sits there
/// for a sustained run. The limit is the panel's max, else 100 % (or 1.0) for percent units;
/// a panel with neither has no limit to plateau at.
fn plateau_at_limit(field: &FieldConfig, data_min: f64, series: &[SeriesData]) -> Option<Plateau> {
    let limit = field.max.or(match field.unit.as_deref() {
        Some("percent") => Some(100.0),
        Some("percentunit") => Some(1.0),
        _ => None,
    })?;
    let lo = field.min.unwrap_or(0.0_f64.min(data_min));
    let tolerance = ((limit - lo).abs() * 0.01).max(f64::EPSILON);
    let mut best: Option<Plateau> = None;
    for s in series {
        let pts = finite(&s.points);
        // At the limit, not past it: a value above the "max" shows the max is no limit.
        let at = |v: f64| (v - limit).abs() <= tolerance;
        let (run, from, _) = longest_run(&pts, at);
        if !sustained(run, pts.len()) {
            continue;
        }
        let share = pts.iter().filter(|(_, v)| at(*v)).count() as f64 / pts.len() as f64;
        if best.as_ref().is_none_or(|b| share > b.share) {
            best = Some(Plateau {
                limit,
                series: s.name(),
                instance: s.labels.get("instance").cloned(),
                share,
                from,
            });
        }
    }
    best
}

/// The strongest step change over all series (size of the change × how well it held); the
/// first of equals wins.
fn largest_step(scale: f64, series: &[SeriesData]) -> Option<StepChange> {
    let mut best: Option<(f64, StepChange)> = None;
    for s in series {
        for held in held_changes(scale, &finite(&s.points)) {
            if best.as_ref().is_none_or(|(b, _)| held.strength > *b) {
                best = Some((
                    held.strength,
                    StepChange {
                        series: s.name(),
                        instance: s.labels.get("instance").cloned(),
                        before: held.before,
                        after: held.after,
                        at: held.at,
                    },
                ));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// A change of the median that held, at one split of a series.
struct HeldChange {
    /// Size of the change × how well it held: what ranks step changes.
    strength: f64,
    before: f64,
    after: f64,
    at: f64,
}

/// The material changes of the median of one series' finite points, split at about 30 points
/// across its middle two thirds, in time order. Series too short to compare medians on both
/// sides have none; changes small on the panel's own scale are left out.
fn held_changes(scale: f64, pts: &[(f64, f64)]) -> Vec<HeldChange> {
    let n = pts.len();
    if n < 4 * change::MIN_POINTS {
        return Vec::new();
    }
    let stride = (n / 30).max(1);
    let mut out = Vec::new();
    for i in (n / 6..=(5 * n) / 6).step_by(stride) {
        let split = pts[i].0;
        let Some(c) = change::compare(pts, split, STEP_FACTOR, scale * 0.05, Change::Both) else {
            continue;
        };
        // Material, and large on the panel's own scale (not a wobble near zero).
        if !c.material || (c.window - c.baseline).abs() < STEP_SHARE_OF_SCALE * scale {
            continue;
        }
        out.push(HeldChange {
            strength: (c.window - c.baseline).abs() * c.held,
            before: c.baseline,
            after: c.window,
            at: c.since.unwrap_or(split),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(unit: &str, steps: &[(Option<f64>, &str)]) -> FieldConfig {
        FieldConfig {
            unit: Some(unit.to_string()),
            min: None,
            max: None,
            mode: Some(ThresholdMode::Absolute),
            steps: steps
                .iter()
                .map(|(v, c)| Step {
                    value: *v,
                    color: c.to_string(),
                })
                .collect(),
            thresholds_hidden: false,
        }
    }

    fn series(instance: &str, values: &[f64]) -> SeriesData {
        SeriesData {
            labels: [("instance".to_string(), instance.to_string())].into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (1000.0 + 60.0 * i as f64, *v))
                .collect(),
        }
    }

    #[test]
    fn a_band_of_red_between_greens_is_bad_below_the_green_above_it() {
        let field = FieldConfig {
            unit: Some("bool".into()),
            steps: vec![
                Step {
                    value: None,
                    color: "green".into(),
                },
                Step {
                    value: Some(0.0),
                    color: "dark-red".into(),
                },
                Step {
                    value: Some(1.0),
                    color: "green".into(),
                },
            ],
            ..FieldConfig::default()
        };
        let t = thresholds(&field, 0.0, 1.0);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(!t[0].above && t[0].value == 1.0 && t[0].level == Level::Critical);
        // Where values below the band are possible, the band is not judged.
        assert!(thresholds(&field, -5.0, 1.0).is_empty());
    }

    #[test]
    fn colours_and_defaults() {
        assert_eq!(level_of_color("red"), Level::Critical);
        assert_eq!(level_of_color("dark-red"), Level::Critical);
        assert_eq!(level_of_color("rgba(245, 54, 54, 0.9)"), Level::Critical);
        assert_eq!(level_of_color("rgba(237, 129, 40, 0.89)"), Level::Warning);
        assert_eq!(level_of_color("rgba(50, 172, 45, 0.97)"), Level::Ok);
        assert_eq!(level_of_color("#EAB839"), Level::Warning);
        assert_eq!(level_of_color("blue"), Level::Neutral);
        // Grafana's default on a bytes panel means nothing; on a percent panel it does.
        let default = [(None, "green"), (Some(80.0), "red")];
        assert!(thresholds(&field("bytes", &default), 0.0, 1e9).is_empty());
        assert_eq!(thresholds(&field("percent", &default), 0.0, 100.0).len(), 1);
        // A stat panel that does not colour by threshold has none.
        let mut hidden = field(
            "bytes",
            &[(None, "green"), (Some(70.0), "orange"), (Some(90.0), "red")],
        );
        assert_eq!(thresholds(&hidden, 0.0, 1e9).len(), 2);
        hidden.thresholds_hidden = true;
        assert!(thresholds(&hidden, 0.0, 1e9).is_empty());
        // Percentage mode resolves against max.
        let mut f = field("bytes", &[(None, "green"), (Some(90.0), "red")]);
        f.mode = Some(ThresholdMode::Percentage);
        f.max = Some(200.0);
        assert_eq!(thresholds(&f, 0.0, 150.0)[0].value, 180.0);
        // Inverted: red below 10.
        let inv = thresholds(
            &field("percent", &[(None, "red"), (Some(10.0), "green")]),
            0.0,
            100.0,
        );
        assert_eq!(inv.len(), 1);
        assert!(!inv[0].above && inv[0].value == 10.0);
    }

    #[test]
    fn sustained_breach_plateau_and_step() {
        let f = field(
            "percent",
            &[(None, "green"), (Some(70.0), "orange"), (Some(90.0), "red")],
        );
        let mut busy = vec![20.0; 10];
        busy.extend([100.0; 20]);
        let calm = vec![20.0; 30];
        let j = judge(&f, &[series("a", &calm), series("b", &busy)]);
        let b = j.breach.expect("breach");
        assert_eq!(b.threshold.level, Level::Critical);
        assert_eq!(b.instance.as_deref(), Some("b"));
        assert!((b.share - 20.0 / 30.0).abs() < 1e-9);
        assert_eq!(b.series_breaching, 1);
        let p = j.plateau.expect("plateau");
        assert_eq!(p.limit, 100.0);
        let s = j.step.expect("step");
        assert_eq!((s.before, s.after), (20.0, 100.0));
        assert_eq!(s.at, 1000.0 + 600.0);
        // A spike is not sustained; a calm panel has nothing.
        let mut spike = vec![20.0; 30];
        spike[15] = 100.0;
        let j = judge(&f, &[series("a", &spike)]);
        assert!(j.breach.is_none() && j.plateau.is_none() && j.step.is_none());
    }
}
