//! From findings to diagnoses: fallback chains, bottlenecks, severities and confidence.
//!
//! - **Fallback chains**: per instance, only the best-ranked check of a group with data speaks;
//!   the others corroborate (their values become evidence, and agreement raises confidence).
//! - **Time-shared resources** (CPU, disks, interfaces): utilization and saturation together
//!   make a *bottleneck* (critical if either is past critical, else high). Utilization alone is
//!   busy, not a bottleneck, and stays at medium or below however high. Saturation alone is
//!   reported on its own.
//! - **Capacity resources** (memory, filesystems, kernel tables) are reported on their own: one
//!   insight per target, led by its utilization finding, with the other utilization and
//!   saturation findings of the same target merged in as evidence (one problem, one insight).
//!   Leftover saturation findings of a time-shared resource are merged the same way.
//! - **Errors** are reported one by one.
//! - **Weak evidence caps severity**: confidence under 70 caps at medium, under 50 at low.

use std::collections::{HashMap, HashSet};

use crate::{
    catalog::{Catalog, Check, Evaluation},
    insight::{Component, Severity, UseSignal},
    samples::Timing,
};

use super::{
    evaluate::{Assessment, Level},
    execute::CheckExecution as CheckRun,
    finding::Finding,
    quality::Quality,
};

/// A reference to one finding: (run, finding) indices.
pub(super) type Ref = (usize, usize);

/// What to tell, before the narrative is written.
#[derive(Clone, Debug)]
pub(super) enum Draft {
    /// One check's finding, on its own.
    Single {
        /// The finding.
        finding: Ref,
        /// Severity after the rules.
        severity: Severity,
        /// 0–100.
        confidence: f64,
        /// Values of other members of its fallback chain: (evidence name, value).
        corroboration: Vec<(String, f64)>,
        /// Other findings on the same target merged into this one.
        also: Vec<Ref>,
    },
    /// Utilization and saturation of one time-shared resource together.
    Bottleneck {
        /// The resource.
        component: Component,
        /// The utilization finding.
        utilization: Ref,
        /// The saturation findings that agree.
        saturation: Vec<Ref>,
        /// Severity after the rules.
        severity: Severity,
        /// 0–100.
        confidence: f64,
        /// Values of the other members of the saturation signals' fallback chains.
        corroboration: Vec<(String, f64)>,
    },
}

fn check_of<'c>(catalog: &'c Catalog, runs: &[CheckRun], r: Ref) -> &'c Check {
    &catalog.checks()[runs[r.0].index]
}

fn finding(runs: &[CheckRun], r: Ref) -> &Finding {
    &runs[r.0].findings[r.1]
}

/// Build the drafts for every finding of `runs`.
pub(super) fn diagnose(
    catalog: &Catalog,
    runs: &[CheckRun],
    quality: &HashMap<String, Quality>,
    timing: &Timing,
) -> Vec<Draft> {
    let (suppressed, corroboration) = fallback_choices(catalog, runs);
    let active: Vec<Ref> = runs
        .iter()
        .enumerate()
        .flat_map(|(ri, run)| (0..run.findings.len()).map(move |fi| (ri, fi)))
        .filter(|r| !suppressed.contains(&(r.0, finding(runs, *r).instance.clone())))
        .collect();

    let adjusted = |r: Ref, base: f64| -> f64 {
        let f = finding(runs, r);
        let check = check_of(catalog, runs, r);
        adjust(
            base,
            quality.get(&f.instance).copied().unwrap_or_default(),
            &f.assessment,
            timing,
            check.evaluation,
        )
    };
    let agreeing = |r: Ref| -> usize {
        corroboration
            .get(&(r.0, finding(runs, r).instance.clone()))
            .map(|c| c.iter().filter(|(_, _, breach)| *breach).count())
            .unwrap_or(0)
    };
    let corroborating_values = |r: Ref| -> Vec<(String, f64)> {
        corroboration
            .get(&(r.0, finding(runs, r).instance.clone()))
            .map(|c| c.iter().map(|(n, v, _)| (n.clone(), *v)).collect())
            .unwrap_or_default()
    };

    let mut drafts = Vec::new();
    let mut consumed: HashSet<Ref> = HashSet::new();
    let time_shared = |c: Component| catalog.component(c).is_some_and(|s| s.time_shared);
    let role = |r: Ref| {
        let check = check_of(catalog, runs, r);
        if check.standalone || !time_shared(check.component) {
            None
        } else {
            Some(check.signal)
        }
    };

    for &u in active
        .iter()
        .filter(|r| role(**r) == Some(UseSignal::Utilization))
    {
        let uf = finding(runs, u);
        let ucheck = check_of(catalog, runs, u);
        let matches: Vec<Ref> = active
            .iter()
            .copied()
            .filter(|s| role(*s) == Some(UseSignal::Saturation))
            .filter(|s| check_of(catalog, runs, *s).component == ucheck.component)
            .filter(|s| {
                let sf = finding(runs, *s);
                sf.instance == uf.instance && (sf.device.is_none() || sf.device == uf.device)
            })
            .collect();
        if matches.is_empty() {
            let confidence = adjusted(u, ucheck.confidence);
            let base = match uf.assessment.level {
                Level::Critical => Severity::Medium,
                _ => Severity::Low,
            };
            drafts.push(Draft::Single {
                finding: u,
                severity: cap(base, confidence),
                confidence,
                corroboration: Vec::new(),
                also: Vec::new(),
            });
            consumed.insert(u);
            continue;
        }
        let strongest = matches
            .iter()
            .map(|s| check_of(catalog, runs, *s).confidence)
            .fold(0.0, f64::max);
        let extra = matches.iter().map(|s| agreeing(*s)).sum::<usize>() + matches.len() - 1;
        let base = (ucheck.confidence + strongest) / 2.0 + 5.0 * extra as f64;
        let confidence = adjusted(u, base.min(99.0));
        let critical = std::iter::once(u)
            .chain(matches.iter().copied())
            .any(|r| finding(runs, r).assessment.level == Level::Critical);
        let severity = if critical {
            Severity::Critical
        } else {
            Severity::High
        };
        consumed.insert(u);
        consumed.extend(matches.iter().copied());
        let corroboration = matches
            .iter()
            .flat_map(|s| corroborating_values(*s))
            .collect();
        drafts.push(Draft::Bottleneck {
            component: ucheck.component,
            utilization: u,
            saturation: matches,
            severity: cap(severity, confidence),
            confidence,
            corroboration,
        });
    }

    // Everything left: errors one by one; utilization and saturation grouped per target.
    let mut groups: Vec<Vec<Ref>> = Vec::new();
    for &r in active.iter().filter(|r| !consumed.contains(r)) {
        let check = check_of(catalog, runs, r);
        let f = finding(runs, r);
        let distinct = catalog
            .component(check.component)
            .is_some_and(|c| c.distinct_resources);
        if check.signal == UseSignal::Errors || check.standalone || distinct {
            groups.push(vec![r]);
            continue;
        }
        let same_target = groups.iter_mut().find(|g| {
            let first = g[0];
            let fc = check_of(catalog, runs, first);
            let ff = finding(runs, first);
            fc.signal != UseSignal::Errors
                && !fc.standalone
                && fc.component == check.component
                && ff.instance == f.instance
                && ff.device == f.device
        });
        match same_target {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    for group in groups {
        let severity_of = |r: Ref| {
            let check = check_of(catalog, runs, r);
            match finding(runs, r).assessment.level {
                Level::Critical => check.severity.critical,
                _ => check.severity.warning,
            }
        };
        // The lead: utilization first (it names the resource's state), then the most severe.
        let lead = *group
            .iter()
            .max_by(|a, b| {
                let ua = check_of(catalog, runs, **a).signal == UseSignal::Utilization;
                let ub = check_of(catalog, runs, **b).signal == UseSignal::Utilization;
                ua.cmp(&ub)
                    .then(severity_of(**a).cmp(&severity_of(**b)))
                    .then(b.cmp(a))
            })
            .unwrap_or(&group[0]);
        let also: Vec<Ref> = group.iter().copied().filter(|r| *r != lead).collect();
        let check = check_of(catalog, runs, lead);
        let agreeing_signals = agreeing(lead) + also.len();
        let base = (check.confidence + 5.0 * agreeing_signals as f64).min(99.0);
        let confidence = adjusted(lead, base);
        let severity = group
            .iter()
            .map(|r| severity_of(*r))
            .max()
            .unwrap_or(Severity::Info);
        drafts.push(Draft::Single {
            finding: lead,
            severity: cap(severity, confidence),
            confidence,
            corroboration: corroborating_values(lead),
            also,
        });
    }
    drafts
}

/// Per fallback group and instance, the best-ranked check with data speaks. Returns the
/// (run, instance) pairs to suppress and, for the speaking ones, the other members' values.
#[allow(clippy::type_complexity)]
fn fallback_choices(
    catalog: &Catalog,
    runs: &[CheckRun],
) -> (
    HashSet<(usize, String)>,
    HashMap<(usize, String), Vec<(String, f64, bool)>>,
) {
    let mut groups: HashMap<&str, Vec<(u8, usize)>> = HashMap::new();
    for (ri, run) in runs.iter().enumerate() {
        if let Some(f) = &catalog.checks()[run.index].fallback {
            groups
                .entry(f.group.as_str())
                .or_default()
                .push((f.rank, ri));
        }
    }
    let mut suppressed = HashSet::new();
    let mut corroboration: HashMap<(usize, String), Vec<(String, f64, bool)>> = HashMap::new();
    for members in groups.values_mut() {
        members.sort();
        let instances: HashSet<&String> = members
            .iter()
            .flat_map(|(_, ri)| runs[*ri].present.keys())
            .collect();
        for instance in instances {
            let Some(&(_, chosen)) = members
                .iter()
                .find(|(_, ri)| runs[*ri].present.contains_key(instance))
            else {
                continue;
            };
            for &(_, ri) in members.iter().filter(|(_, ri)| *ri != chosen) {
                suppressed.insert((ri, instance.clone()));
                if let Some(v) = runs[ri].present.get(instance) {
                    let check = &catalog.checks()[runs[ri].index];
                    let breach = check.direction.breaches(*v, check.warning);
                    corroboration
                        .entry((chosen, instance.clone()))
                        .or_default()
                        .push((check.metric.clone(), *v, breach));
                }
            }
        }
    }
    (suppressed, corroboration)
}

/// Weak evidence does not make strong claims.
fn cap(severity: Severity, confidence: f64) -> Severity {
    if confidence < 50.0 {
        severity.min(Severity::Low)
    } else if confidence < 70.0 {
        severity.min(Severity::Medium)
    } else {
        severity
    }
}

/// Lower a base confidence for poor data: incomplete samples, counter resets, skipped
/// (NaN/Inf) points, series shorter than the window, windows shorter than four scrapes.
pub(super) fn adjust(
    base: f64,
    quality: Quality,
    assessment: &Assessment,
    timing: &Timing,
    evaluation: Evaluation,
) -> f64 {
    let mut c = base * (0.6 + 0.4 * quality.completeness);
    if quality.resets > 0.0 {
        c -= 10.0;
    }
    let total = assessment.points + assessment.skipped;
    if total > 0 {
        c *= 1.0 - 0.5 * assessment.skipped as f64 / total as f64;
    }
    if evaluation == Evaluation::Sustained {
        let coverage = assessment.points as f64 / timing.expected_points.max(1) as f64;
        c *= 0.7 + 0.3 * coverage.min(1.0);
    }
    if timing.short_window() {
        c *= 0.8;
    }
    c.clamp(5.0, 99.0).round()
}

/// The evidence name of a derived value: `cpu_utilization_percent` + `peak` →
/// `cpu_utilization_peak_percent`, keeping the unit suffix last.
pub(super) fn qualified(metric: &str, qualifier: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "_percent",
        "_per_cpu",
        "_ratio",
        "_ms",
        "_seconds",
        "_hours",
        "_bytes",
        "_per_second",
        "_count",
    ];
    for suffix in SUFFIXES {
        if let Some(base) = metric.strip_suffix(suffix) {
            return format!("{base}_{qualifier}{suffix}");
        }
    }
    format!("{metric}_{qualifier}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_qualified_names() {
        assert_eq!(cap(Severity::Critical, 45.0), Severity::Low);
        assert_eq!(cap(Severity::Critical, 65.0), Severity::Medium);
        assert_eq!(cap(Severity::Critical, 90.0), Severity::Critical);
        assert_eq!(
            qualified("cpu_utilization_percent", "peak"),
            "cpu_utilization_peak_percent"
        );
        assert_eq!(
            qualified("read_await_ms", "warning_threshold"),
            "read_await_warning_threshold_ms"
        );
        assert_eq!(
            qualified("runnable_per_cpu", "peak"),
            "runnable_peak_per_cpu"
        );
    }
}
