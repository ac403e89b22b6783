//! From findings to diagnoses: fallback chains, bottlenecks, severities and confidence.
//!
//! - **Fallback chains**: per instance, only the best-ranked check of a group with data speaks;
//!   the others corroborate (their values become evidence, and agreement raises confidence).
//! - **Time-shared resources** (CPU, disks, interfaces): utilization and saturation together
//!   make a *bottleneck* (critical if either is past critical, else high). Only saturation
//!   measured on the same target pairs with utilization: a device's own drops, FIFO errors,
//!   queue or await for a device; host-wide signals for a host-wide utilization (CPU). A
//!   host-wide signal beside a busy *device* (listen overflows, TCP retransmits, softnet drops,
//!   I/O pressure, which also counts NFS waits) says nothing about that device: it is reported on
//!   its own, or, where the device is a bottleneck by its own saturation, joins it as
//!   corroboration, named as host-wide. Utilization alone is busy, not a bottleneck, and stays
//!   at medium or below however high. Saturation alone is reported on its own.
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
    execute::CheckExecution,
    finding::Finding,
    quality::Quality,
};

/// A reference to one finding: (execution, finding) indices.
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
        /// Host-wide saturation findings of the same component beside a device bottleneck:
        /// corroboration, said as such, not a reason for the bottleneck.
        host_wide: Vec<Ref>,
    },
}

/// The corroborating values of fallback chains, per (execution, instance): each other
/// member's (evidence name, value, breached).
type Corroboration = HashMap<(usize, String), Vec<(String, f64, bool)>>;

/// What the rules read: the executions, their catalog entries, data quality and the grid.
struct Rules<'a> {
    catalog: &'a Catalog,
    executions: &'a [CheckExecution],
    quality: &'a HashMap<String, Quality>,
    timing: &'a Timing,
    corroboration: Corroboration,
}

impl<'a> Rules<'a> {
    fn check(&self, r: Ref) -> &'a Check {
        &self.catalog.checks()[self.executions[r.0].index]
    }

    fn finding(&self, r: Ref) -> &'a Finding {
        &self.executions[r.0].findings[r.1]
    }

    /// A base confidence lowered for weak evidence (gaps, resets, short windows) and for
    /// answers the server said may be partial.
    fn adjusted(&self, r: Ref, base: f64) -> f64 {
        let f = self.finding(r);
        let check = self.check(r);
        let c = adjust(
            base,
            self.quality.get(&f.instance).copied().unwrap_or_default(),
            &f.assessment,
            self.timing,
            Coverage::of(check),
        );
        doubted(c, self.executions[r.0].log.doubtful_answers)
    }

    /// How many other members of `r`'s fallback chain breached too.
    fn agreeing(&self, r: Ref) -> usize {
        self.corroboration
            .get(&(r.0, self.finding(r).instance.clone()))
            .map(|c| c.iter().filter(|(_, _, breach)| *breach).count())
            .unwrap_or(0)
    }

    /// The other members' values, as evidence.
    fn corroborating_values(&self, r: Ref) -> Vec<(String, f64)> {
        self.corroboration
            .get(&(r.0, self.finding(r).instance.clone()))
            .map(|c| c.iter().map(|(n, v, _)| (n.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// The finding's part in a bottleneck: its signal on a time-shared resource, else none.
    fn role(&self, r: Ref) -> Option<UseSignal> {
        let check = self.check(r);
        let time_shared = self
            .catalog
            .component(check.component)
            .is_some_and(|s| s.time_shared);
        (!check.standalone && time_shared).then_some(check.signal)
    }

    /// The severity a finding's level maps to in its check.
    fn severity_of(&self, r: Ref) -> Severity {
        let check = self.check(r);
        match self.finding(r).assessment.level {
            Level::Critical => check.severity.critical,
            _ => check.severity.warning,
        }
    }
}

/// Build the drafts for every finding of `executions`.
pub(super) fn diagnose(
    catalog: &Catalog,
    executions: &[CheckExecution],
    quality: &HashMap<String, Quality>,
    timing: &Timing,
) -> Vec<Draft> {
    let (suppressed, corroboration) = fallback_choices(catalog, executions);
    let rules = Rules {
        catalog,
        executions,
        quality,
        timing,
        corroboration,
    };
    let (bursts, active): (Vec<Ref>, Vec<Ref>) = executions
        .iter()
        .enumerate()
        .flat_map(|(ri, execution)| (0..execution.findings.len()).map(move |fi| (ri, fi)))
        .filter(|r| !suppressed.contains(&(r.0, rules.finding(*r).instance.clone())))
        .partition(|r| rules.finding(*r).assessment.level == Level::Ok);
    let mut consumed: HashSet<Ref> = HashSet::new();
    let mut drafts = bottlenecks(&rules, &active, &mut consumed);
    // Bursts: a condition that came and went inside the window, told as such, at info.
    drafts.extend(bursts.iter().map(|r| Draft::Single {
        finding: *r,
        severity: Severity::Info,
        confidence: rules.adjusted(*r, rules.check(*r).confidence),
        corroboration: Vec::new(),
        also: Vec::new(),
    }));
    // Everything left: errors one by one; utilization and saturation grouped per target.
    let rest: Vec<Ref> = active
        .iter()
        .copied()
        .filter(|r| !consumed.contains(r))
        .collect();
    drafts.extend(
        group_per_target(&rules, &rest)
            .into_iter()
            .map(|group| group_draft(&rules, &group)),
    );
    drafts
}

/// Utilization of a time-shared resource with the saturation measured on the same target: a
/// bottleneck (high, critical if either is critical). Utilization alone is busy, not a
/// bottleneck: medium at most. Host-wide saturation beside a device's utilization never makes
/// the bottleneck; it joins one as corroboration when the device's own saturation made it.
fn bottlenecks(rules: &Rules<'_>, active: &[Ref], consumed: &mut HashSet<Ref>) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for &u in active
        .iter()
        .filter(|r| rules.role(**r) == Some(UseSignal::Utilization))
    {
        let (uf, ucheck) = (rules.finding(u), rules.check(u));
        let saturation_here = |s: &Ref| {
            rules.role(*s) == Some(UseSignal::Saturation)
                && rules.check(*s).component == ucheck.component
                && rules.finding(*s).instance == uf.instance
        };
        let matches: Vec<Ref> = active
            .iter()
            .copied()
            .filter(saturation_here)
            .filter(|s| rules.finding(*s).device == uf.device)
            .collect();
        consumed.insert(u);
        if matches.is_empty() {
            drafts.push(busy(rules, u));
            continue;
        }
        let host_wide: Vec<Ref> = active
            .iter()
            .copied()
            .filter(saturation_here)
            .filter(|s| uf.device.is_some() && rules.finding(*s).device.is_none())
            .collect();
        consumed.extend(matches.iter().copied());
        consumed.extend(host_wide.iter().copied());
        drafts.push(bottleneck(rules, u, matches, host_wide));
    }
    drafts
}

/// Utilization past its threshold without saturation: low, medium when critical.
fn busy(rules: &Rules<'_>, u: Ref) -> Draft {
    let confidence = rules.adjusted(u, rules.check(u).confidence);
    let base = match rules.finding(u).assessment.level {
        Level::Critical => Severity::Medium,
        _ => Severity::Low,
    };
    Draft::Single {
        finding: u,
        severity: cap(base, confidence),
        confidence,
        corroboration: Vec::new(),
        also: Vec::new(),
    }
}

/// Utilization `u`, the saturation findings on the same target, and host-wide ones beside it.
fn bottleneck(rules: &Rules<'_>, u: Ref, matches: Vec<Ref>, host_wide: Vec<Ref>) -> Draft {
    let ucheck = rules.check(u);
    let strongest = matches
        .iter()
        .map(|s| rules.check(*s).confidence)
        .fold(0.0, f64::max);
    let extra = matches.iter().map(|s| rules.agreeing(*s)).sum::<usize>() + matches.len() - 1;
    let base = (ucheck.confidence + strongest) / 2.0 + 5.0 * extra as f64;
    let confidence = rules.adjusted(u, base.min(99.0));
    let critical = std::iter::once(u)
        .chain(matches.iter().copied())
        .any(|r| rules.finding(r).assessment.level == Level::Critical);
    let severity = if critical {
        Severity::Critical
    } else {
        Severity::High
    };
    let corroboration = matches
        .iter()
        .flat_map(|s| rules.corroborating_values(*s))
        .collect();
    Draft::Bottleneck {
        component: ucheck.component,
        utilization: u,
        saturation: matches,
        severity: cap(severity, confidence),
        confidence,
        corroboration,
        host_wide,
    }
}

/// Errors, standalone checks and distinct resources one by one; other findings of one
/// resource on one target together.
fn group_per_target(rules: &Rules<'_>, rest: &[Ref]) -> Vec<Vec<Ref>> {
    let mut groups: Vec<Vec<Ref>> = Vec::new();
    for &r in rest {
        let (check, f) = (rules.check(r), rules.finding(r));
        let distinct = rules
            .catalog
            .component(check.component)
            .is_some_and(|c| c.distinct_resources);
        if check.signal == UseSignal::Errors || check.standalone || distinct {
            groups.push(vec![r]);
            continue;
        }
        let same_target = groups.iter_mut().find(|g| {
            let (fc, ff) = (rules.check(g[0]), rules.finding(g[0]));
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
    groups
}

/// One group's draft: led by its utilization finding (it names the resource's state), else
/// the most severe; the others join it.
fn group_draft(rules: &Rules<'_>, group: &[Ref]) -> Draft {
    let lead = *group
        .iter()
        .max_by(|a, b| {
            let ua = rules.check(**a).signal == UseSignal::Utilization;
            let ub = rules.check(**b).signal == UseSignal::Utilization;
            ua.cmp(&ub)
                .then(rules.severity_of(**a).cmp(&rules.severity_of(**b)))
                .then(b.cmp(a))
        })
        .unwrap_or(&group[0]);
    let also: Vec<Ref> = group.iter().copied().filter(|r| *r != lead).collect();
    let agreeing_signals = rules.agreeing(lead) + also.len();
    let base = (rules.check(lead).confidence + 5.0 * agreeing_signals as f64).min(99.0);
    let confidence = rules.adjusted(lead, base);
    let severity = group
        .iter()
        .map(|r| rules.severity_of(*r))
        .max()
        .unwrap_or(Severity::Info);
    Draft::Single {
        finding: lead,
        severity: cap(severity, confidence),
        confidence,
        corroboration: rules.corroborating_values(lead),
        also,
    }
}

/// Per fallback group and instance, the best-ranked check with data speaks. Returns the
/// (execution, instance) pairs to suppress and, for the speaking ones, the other members' values.
fn fallback_choices(
    catalog: &Catalog,
    executions: &[CheckExecution],
) -> (HashSet<(usize, String)>, Corroboration) {
    let mut groups: HashMap<&str, Vec<(u8, usize)>> = HashMap::new();
    for (ri, execution) in executions.iter().enumerate() {
        if let Some(f) = &catalog.checks()[execution.index].fallback {
            groups
                .entry(f.group.as_str())
                .or_default()
                .push((f.rank, ri));
        }
    }
    let mut suppressed = HashSet::new();
    let mut corroboration = Corroboration::new();
    for members in groups.values_mut() {
        members.sort();
        let instances: HashSet<&String> = members
            .iter()
            .flat_map(|(_, ri)| executions[*ri].present.keys())
            .collect();
        for instance in instances {
            let Some(&(_, chosen)) = members
                .iter()
                .find(|(_, ri)| executions[*ri].present.contains_key(instance))
            else {
                continue;
            };
            for &(_, ri) in members.iter().filter(|(_, ri)| *ri != chosen) {
                suppressed.insert((ri, instance.clone()));
                if let Some(v) = executions[ri].present.get(instance) {
                    let check = &catalog.checks()[executions[ri].index];
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

/// Whether points missing from a check's series count against its confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coverage {
    /// A sustained check: every grid point is expected.
    Expected,
    /// A sustained check whose query leaves out idle steps (`sparse`): absent points are idle.
    Sparse,
    /// An event check: one point.
    Instant,
}

impl Coverage {
    /// The coverage rule of `check`.
    pub(super) fn of(check: &Check) -> Coverage {
        match (check.evaluation, check.sparse) {
            (Evaluation::Event, _) => Coverage::Instant,
            (Evaluation::Sustained, true) => Coverage::Sparse,
            (Evaluation::Sustained, false) => Coverage::Expected,
        }
    }
}

/// Lower a base confidence for poor data: incomplete samples, counter resets, skipped
/// (NaN/Inf) points, series shorter than the window (unless the check's series are sparse by
/// design), windows shorter than four scrapes.
pub(super) fn adjust(
    base: f64,
    quality: Quality,
    assessment: &Assessment,
    timing: &Timing,
    coverage: Coverage,
) -> f64 {
    let mut c = base * (0.6 + 0.4 * quality.completeness);
    if quality.resets > 0.0 {
        c -= 10.0;
    }
    let total = assessment.points + assessment.skipped;
    if total > 0 {
        c *= 1.0 - 0.5 * assessment.skipped as f64 / total as f64;
    }
    if coverage == Coverage::Expected {
        let covered = assessment.points as f64 / timing.expected_points.max(1) as f64;
        c *= 0.7 + 0.3 * covered.min(1.0);
    }
    if timing.short_window() {
        c *= 0.8;
    }
    c.clamp(5.0, 99.0).round()
}

/// Confidence taken off a check whose answers came with server warnings: a partial answer
/// (a Thanos store down, a shard missing) may hide the data that would change the verdict.
pub(super) const DOUBTFUL_ANSWER_PENALTY: f64 = 15.0;

/// `confidence` lowered when `doubtful` answers (with server warnings) fed it.
pub(super) fn doubted(confidence: f64, doubtful: usize) -> f64 {
    if doubtful == 0 {
        confidence
    } else {
        (confidence - DOUBTFUL_ANSWER_PENALTY).clamp(5.0, 99.0)
    }
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
    use crate::engine::fixtures::{catalog, execution, timing};

    const HOST: &str = "db-1:9100";

    fn drafts(executions: &[CheckExecution], quality: &HashMap<String, Quality>) -> Vec<Draft> {
        diagnose(catalog(), executions, quality, &timing())
    }

    fn severity(draft: &Draft) -> Severity {
        match draft {
            Draft::Single { severity, .. } | Draft::Bottleneck { severity, .. } => *severity,
        }
    }

    #[test]
    fn busy_alone_is_low_and_at_most_medium() {
        for (level, want) in [
            (Level::Warning, Severity::Low),
            (Level::Critical, Severity::Medium),
        ] {
            let runs = [execution("cpu.utilization", &[(HOST, None, level, 90.0)])];
            let d = drafts(&runs, &HashMap::new());
            assert_eq!(d.len(), 1, "{d:?}");
            assert!(matches!(d[0], Draft::Single { .. }), "{d:?}");
            assert_eq!(severity(&d[0]), want, "{level:?}");
        }
    }

    #[test]
    fn utilization_with_saturation_on_the_same_host_is_a_bottleneck() {
        let runs = [
            execution("cpu.utilization", &[(HOST, None, Level::Warning, 90.0)]),
            execution("cpu.saturation.psi", &[(HOST, None, Level::Warning, 15.0)]),
        ];
        let d = drafts(&runs, &HashMap::new());
        assert_eq!(d.len(), 1, "one story, not two: {d:?}");
        match &d[0] {
            Draft::Bottleneck {
                component,
                utilization,
                saturation,
                severity,
                ..
            } => {
                assert_eq!(*component, Component::Cpu);
                assert_eq!(*utilization, (0, 0));
                assert_eq!(saturation, &vec![(1, 0)]);
                assert_eq!(*severity, Severity::High);
            }
            other => panic!("not a bottleneck: {other:?}"),
        }
        // Either side critical makes it critical.
        let runs = [
            execution("cpu.utilization", &[(HOST, None, Level::Critical, 99.0)]),
            execution("cpu.saturation.psi", &[(HOST, None, Level::Warning, 15.0)]),
        ];
        assert_eq!(
            severity(&drafts(&runs, &HashMap::new())[0]),
            Severity::Critical
        );
    }

    #[test]
    fn saturation_on_another_host_does_not_make_a_bottleneck() {
        let runs = [
            execution("cpu.utilization", &[(HOST, None, Level::Warning, 90.0)]),
            execution(
                "cpu.saturation.psi",
                &[("db-2:9100", None, Level::Warning, 15.0)],
            ),
        ];
        let d = drafts(&runs, &HashMap::new());
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| matches!(d, Draft::Single { .. })), "{d:?}");
    }

    #[test]
    fn host_wide_saturation_is_not_pinned_on_a_busy_device() {
        // eth0 busy, listen overflows on the host: an accept() problem, not the NIC's queue.
        let runs = [
            execution(
                "network.utilization",
                &[(HOST, Some("eth0"), Level::Warning, 80.0)],
            ),
            execution(
                "network.saturation.listen_overflows",
                &[(HOST, None, Level::Critical, 12.0)],
            ),
        ];
        let d = drafts(&runs, &HashMap::new());
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| matches!(d, Draft::Single { .. })), "{d:?}");
        // sda busy while I/O pressure (which counts NFS waits too) is high: no disk bottleneck.
        let runs = [
            execution(
                "disk.utilization",
                &[(HOST, Some("sda"), Level::Warning, 85.0)],
            ),
            execution(
                "disk.saturation.psi",
                &[(HOST, None, Level::Critical, 40.0)],
            ),
        ];
        let d = drafts(&runs, &HashMap::new());
        assert!(d.iter().all(|d| matches!(d, Draft::Single { .. })), "{d:?}");
        // With sda's own queue the bottleneck is sda's; the pressure joins it as host-wide.
        let runs = [
            execution(
                "disk.utilization",
                &[(HOST, Some("sda"), Level::Warning, 85.0)],
            ),
            execution(
                "disk.saturation.queue",
                &[(HOST, Some("sda"), Level::Warning, 6.0)],
            ),
            execution(
                "disk.saturation.psi",
                &[(HOST, None, Level::Critical, 40.0)],
            ),
        ];
        let d = drafts(&runs, &HashMap::new());
        assert_eq!(d.len(), 1, "{d:?}");
        match &d[0] {
            Draft::Bottleneck {
                saturation,
                host_wide,
                ..
            } => {
                assert_eq!(saturation, &vec![(1, 0)]);
                assert_eq!(host_wide, &vec![(2, 0)]);
            }
            other => panic!("not a bottleneck: {other:?}"),
        }
    }

    #[test]
    fn weak_evidence_lowers_confidence_and_caps_severity() {
        let runs = [
            execution("cpu.utilization", &[(HOST, None, Level::Critical, 99.0)]),
            execution("cpu.saturation.psi", &[(HOST, None, Level::Critical, 40.0)]),
        ];
        let clean = drafts(&runs, &HashMap::new());
        let poor = HashMap::from([(
            HOST.to_string(),
            Quality {
                completeness: 0.1,
                resets: 3.0,
            },
        )]);
        let weak = drafts(&runs, &poor);
        let confidence = |d: &Draft| match d {
            Draft::Single { confidence, .. } | Draft::Bottleneck { confidence, .. } => *confidence,
        };
        assert_eq!(severity(&clean[0]), Severity::Critical);
        assert!(confidence(&weak[0]) < confidence(&clean[0]), "{weak:?}");
        assert!(severity(&weak[0]) <= Severity::Medium, "{weak:?}");
    }

    #[test]
    fn answers_with_server_warnings_lower_confidence() {
        let runs = [execution(
            "cpu.utilization",
            &[(HOST, None, Level::Critical, 99.0)],
        )];
        let clean = drafts(&runs, &HashMap::new());
        let mut partial = [execution(
            "cpu.utilization",
            &[(HOST, None, Level::Critical, 99.0)],
        )];
        partial[0].log.doubtful_answers = 2;
        // Notices alone (PromQL infos, our own notes) are not doubt.
        partial[0]
            .log
            .warn("PromQL info: metric might not be a counter");
        let lowered = drafts(&partial, &HashMap::new());
        let confidence = |d: &Draft| match d {
            Draft::Single { confidence, .. } | Draft::Bottleneck { confidence, .. } => *confidence,
        };
        assert_eq!(
            confidence(&lowered[0]),
            confidence(&clean[0]) - DOUBTFUL_ANSWER_PENALTY
        );
        assert_eq!(doubted(40.0, 0), 40.0);
        assert_eq!(doubted(10.0, 1), 5.0);
    }

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
