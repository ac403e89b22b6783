//! What a check is: one declarative record, read from the TOML files under `checks/`.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use super::{Thresholds, NARRATIVE_PLACEHOLDERS, QUERY_PLACEHOLDERS};
use crate::{
    insight::{Component, IssueType, Severity, UseSignal},
    promql::{
        parse_duration,
        template::{self, TemplateError},
    },
};

/// Which side of a threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Values at or above the threshold breach it.
    Above,
    /// Values at or below the threshold breach it.
    Below,
}

impl Direction {
    /// Does `value` breach `threshold`?
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => value >= threshold,
            Direction::Below => value <= threshold,
        }
    }

    /// The worse of two values.
    pub fn worse(self, a: f64, b: f64) -> f64 {
        match self {
            Direction::Above => a.max(b),
            Direction::Below => a.min(b),
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }
}

/// How a value is displayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// 0–100 (can exceed 100 for per-CPU sums).
    Percent,
    /// A dimensionless ratio (tasks per CPU, queue length).
    Ratio,
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
    /// Hours.
    Hours,
    /// Bytes.
    Bytes,
    /// Events per second.
    PerSecond,
    /// Bytes per second (throughput).
    BytesPerSecond,
    /// A plain count.
    Count,
}

impl Unit {
    /// Grafana's unit id for this unit.
    pub fn grafana(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Ratio => "none",
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Hours => "h",
            Unit::Bytes => "bytes",
            Unit::PerSecond => "ops",
            Unit::BytesPerSecond => "Bps",
            Unit::Count => "none",
        }
    }

    /// Human formatting for narratives and reports.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return format!("{value}");
        }
        match self {
            Unit::Percent => format!("{}%", sig(value)),
            Unit::Ratio => sig(value),
            Unit::Seconds => format_seconds(value),
            Unit::Milliseconds => format_seconds(value / 1000.0),
            Unit::Hours => format!("{} h", sig(value)),
            Unit::Bytes => format_bytes(value),
            Unit::PerSecond => format!("{}/s", sig(value)),
            Unit::BytesPerSecond => format!("{}/s", format_bytes(value)),
            Unit::Count => sig(value),
        }
    }

    /// The evidence-name suffix of this unit (`_percent`, `_bytes_per_second`…).
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Percent => "_percent",
            Unit::Ratio => "_ratio",
            Unit::Seconds => "_seconds",
            Unit::Milliseconds => "_ms",
            Unit::Hours => "_hours",
            Unit::Bytes => "_bytes",
            Unit::PerSecond => "_per_second",
            Unit::BytesPerSecond => "_bytes_per_second",
            Unit::Count => "_count",
        }
    }

    /// The unit of an evidence value, from its name's suffix.
    pub fn from_evidence_name(name: &str) -> Option<Unit> {
        const SUFFIXES: &[(&str, Unit)] = &[
            ("_percent", Unit::Percent),
            ("_per_cpu", Unit::Ratio),
            ("_ratio", Unit::Ratio),
            ("_ms", Unit::Milliseconds),
            ("_seconds", Unit::Seconds),
            ("_hours", Unit::Hours),
            ("_bytes", Unit::Bytes),
            ("_bytes_per_second", Unit::BytesPerSecond),
            ("_per_second", Unit::PerSecond),
            ("_count", Unit::Count),
        ];
        SUFFIXES
            .iter()
            .find(|(suffix, _)| name.ends_with(suffix))
            .map(|(_, unit)| *unit)
    }
}

/// Three significant figures, no trailing zeros beyond one decimal.
fn sig(value: f64) -> String {
    let abs = value.abs();
    if abs >= 100.0 || (value.fract() == 0.0 && abs < 1e15) {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else if abs >= 0.1 {
        format!("{value:.2}")
    } else if abs == 0.0 {
        "0".to_string()
    } else {
        format!("{value:.3}")
    }
}

fn format_seconds(value: f64) -> String {
    let abs = value.abs();
    if abs >= 3600.0 {
        format!("{} h", sig(value / 3600.0))
    } else if abs >= 60.0 {
        format!("{} min", sig(value / 60.0))
    } else if abs >= 1.0 {
        format!("{} s", sig(value))
    } else if abs >= 1e-3 {
        format!("{} ms", sig(value * 1e3))
    } else if abs == 0.0 {
        "0 s".to_string()
    } else {
        format!("{} µs", sig(value * 1e6))
    }
}

fn format_bytes(value: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = value;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{} {}", sig(v), UNITS[unit])
}

/// Severity given at each threshold level (before the diagnosis rules cap it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityMap {
    /// Past the warning threshold.
    pub warning: Severity,
    /// Past the critical threshold.
    pub critical: Severity,
}

impl Default for SeverityMap {
    /// Past critical → critical, past warning → high.
    fn default() -> Self {
        Self {
            warning: Severity::High,
            critical: Severity::Critical,
        }
    }
}

/// How a check's query is evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    /// A range query over the window with `${rate}` windows; the condition must hold for
    /// `min_duration` worth of the window's samples (with hysteresis).
    #[default]
    Sustained,
    /// One instant query at the end of the window over `${window}` (event counts, maxima).
    Event,
}

/// Several checks measuring one thing by different signals: per instance, the best-ranked
/// check with data is used, and the others only corroborate.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Group name, e.g. `cpu.saturation`.
    pub group: String,
    /// 1 is preferred; higher ranks are used only where lower ones have no data.
    pub rank: u8,
}

/// A second condition that must hold at the same time for a breach to count.
///
/// The condition is either its own `query` or the series of another `check` (so that
/// Prometheus computes them once): exactly one of the two is set.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// PromQL template with the same labels as the check's query.
    #[serde(default)]
    pub query: Option<String>,
    /// Id of a check whose series are the condition (same evaluation, same or no device label).
    #[serde(default)]
    pub check: Option<String>,
    /// `above` or `below`.
    pub op: Direction,
    /// The value the guard's query must be above or below.
    pub value: f64,
    /// A stricter value for the critical level, when the levels have their own conditions
    /// (node-mixin predicts a filesystem's warning under 40 % available, its critical only
    /// under 20 %): where the guard holds at `value` but not here, a breach is a warning.
    #[serde(default)]
    pub critical: Option<f64>,
    /// Why the guard exists (documentation).
    pub reason: String,
}

/// Where a check cannot be computed although its collectors run (e.g. unknown link speed).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageRule {
    /// PromQL template returning one series per instance (and device) that cannot be assessed.
    pub query: String,
    /// What is missing there and how to get it.
    pub missing: String,
}

/// A supporting number fetched for the targets a check flags.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// Evidence name, with a unit suffix (`cpu_count`, `steal_percent`).
    pub name: String,
    /// PromQL template, aggregated by instance (and the check's device label if per device),
    /// evaluated at the end of the window.
    pub query: String,
    /// Take the insight's device from this label of the evidence series (e.g. the hottest
    /// CPU's `cpu`), for checks aggregated per instance.
    #[serde(default)]
    pub device_from: Option<String>,
    /// A per-`device_from` expression (one series per node, say) evaluated at every step of
    /// the finding's own span: its mean there replaces the value at the end of the window.
    /// A ten-minute episode in a day's window is judged by what its node did during those ten
    /// minutes, not over the day (see `engine::span`).
    #[serde(default)]
    pub span_query: Option<String>,
}

/// One check of the catalog: the query, how to judge it, and the story to tell.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable id `component.signal[.detail]`: used in frames, overrides and docs.
    pub id: String,
    /// A short noun phrase for lists and tables ("CPU pressure (PSI some)").
    pub label: String,
    /// The resource.
    pub component: Component,
    /// The USE signal measured.
    pub signal: UseSignal,
    /// What a breach is called when reported on its own.
    pub issue_type: IssueType,
    /// Evidence name of the measured value, with a unit suffix.
    pub metric: String,
    /// Display unit of the measured value.
    pub unit: Unit,
    /// Which side of the thresholds is bad.
    pub direction: Direction,
    /// Default warning threshold, in `unit`.
    pub warning: f64,
    /// Default critical threshold, in `unit`.
    pub critical: f64,
    /// Where the defaults come from (persona, node-mixin, Netdata, or our reasoning).
    pub threshold_source: String,
    /// Severity per level; default: warning → high, critical → critical.
    #[serde(default)]
    pub severity: SeverityMap,
    /// Range (sustained) or instant (event) evaluation.
    #[serde(default)]
    pub evaluation: Evaluation,
    /// How long the condition must hold within the window (sustained checks).
    #[serde(default = "default_min_duration", deserialize_with = "duration")]
    pub min_duration: Duration,
    /// The label naming the device, mount point or interface, for per-device checks.
    #[serde(default)]
    pub device_label: Option<String>,
    /// Member of a fallback chain.
    #[serde(default)]
    pub fallback: Option<Fallback>,
    /// Reported on its own even on a time-shared resource (not part of bottleneck diagnosis).
    #[serde(default)]
    pub standalone: bool,
    /// A condition that must hold too.
    #[serde(default)]
    pub when: Option<Guard>,
    /// Targets where the check cannot be computed.
    #[serde(default)]
    pub coverage: Option<CoverageRule>,
    /// Thresholds per block-device class (`device_classes.toml`), in place of `warning` and
    /// `critical` for the devices of that class. Devices of no listed class, and every device
    /// when a user overrides the check's thresholds, keep `warning` and `critical`.
    #[serde(default)]
    pub class_thresholds: BTreeMap<String, Thresholds>,
    /// The query leaves out the steps where what it measures did not happen (an await needs
    /// I/O: `ops > 0` in its denominator, as iostat shows no latency for an idle device). A
    /// point missing there is an idle step, not missing data: it does not lower the confidence
    /// of the points that are there (the instance's own data quality still does).
    #[serde(default)]
    pub sparse: bool,
    /// Findings on stacked devices (dm, md) whose disk has a finding of this check fold into
    /// the disk's (`device_classes.toml`, `[stacked]`): one problem reported once.
    #[serde(default)]
    pub fold_stacked: bool,
    /// How many series of its largest input the query reads per instance on a typical server
    /// (per CPU and mode, per device…): with the number of instances and points, what the
    /// query would load, so a large fleet is fetched in instance groups that stay within the
    /// engine's sample limit before the engine has to refuse anything.
    #[serde(default = "default_series_per_instance")]
    pub series_per_instance: u32,
    /// node_exporter collectors the query needs (see `collectors.toml`).
    pub requires: Vec<String>,
    /// Base confidence (0–100) of a finding from this check alone, with good data.
    pub confidence: f64,
    /// Where to read more in *Systems Performance* (2nd ed.).
    pub book_reference: String,
    /// PromQL template with `${selector}`, `${rate}` and `${window}`.
    pub query: String,
    /// Insight title template.
    pub title: String,
    /// Observation template.
    pub observation: String,
    /// Likely root cause.
    pub root_cause: String,
    /// What to do now.
    pub immediate_action: String,
    /// How to dig deeper, in order, with the real commands.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: String,
    /// PromQL templates worth looking at next.
    pub related_metrics: Vec<String>,
    /// Supporting numbers, fetched only for flagged targets.
    #[serde(default)]
    pub evidence: Vec<EvidenceQuery>,
}

/// A few devices, interfaces or file systems per host: what most checks read.
fn default_series_per_instance() -> u32 {
    8
}

fn default_min_duration() -> Duration {
    Duration::from_secs(300)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

impl Check {
    /// The PromQL templates this check renders (query, guard, coverage, evidence, related).
    pub fn query_templates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.query.as_str())
            .chain(self.when.iter().filter_map(|w| w.query.as_deref()))
            .chain(self.coverage.iter().map(|c| c.query.as_str()))
            .chain(self.evidence.iter().map(|e| e.query.as_str()))
            .chain(self.evidence.iter().filter_map(|e| e.span_query.as_deref()))
            .chain(self.related_metrics.iter().map(String::as_str))
    }

    /// The narrative templates (title, observation, root cause, actions, steps, fix).
    pub fn narrative_templates(&self) -> impl Iterator<Item = &str> {
        [
            self.title.as_str(),
            self.observation.as_str(),
            self.root_cause.as_str(),
            self.immediate_action.as_str(),
            self.long_term_fix.as_str(),
        ]
        .into_iter()
        .chain(self.investigation_steps.iter().map(String::as_str))
    }
}

/// Format an evidence value by its name's unit suffix (`_percent`, `_bytes`, …): what every
/// narrative and report shows.
pub fn format_evidence(name: &str, value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    match Unit::from_evidence_name(name) {
        Some(unit) => unit.format(value),
        None => format!("{value}"),
    }
}

/// The id of a user's own check (a `promql_check` query) in insights and outcomes.
pub const USER_CHECK_ID: &str = "custom.promql";

/// A user's own check, as a `promql_check` query describes it: PromQL aggregated
/// `by (instance[, device])`, thresholds, and whichever narrative fields the user wrote (the
/// catalog's defaults tell the rest).
#[derive(Clone, Debug, PartialEq)]
pub struct UserCheck {
    /// The PromQL; `${selector}`, `${rate}` and `${window}` may be used.
    pub expr: String,
    /// Warning threshold.
    pub warning: f64,
    /// Critical threshold.
    pub critical: f64,
    /// Which side is bad.
    pub direction: Direction,
    /// The unit of the values.
    pub unit: Unit,
    /// The resource it concerns.
    pub component: Component,
    /// The label naming a device, for per-device checks.
    pub device_label: Option<String>,
    /// Insight title (`on ${instance}` is appended).
    pub title: Option<String>,
    /// What the data shows.
    pub observation: Option<String>,
    /// The likely cause.
    pub root_cause: Option<String>,
    /// What to do now.
    pub immediate_action: Option<String>,
    /// The next commands.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: Option<String>,
}

/// The part of a [`UserCheck`] a problem is in, so that a message can name the field to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserCheckPart {
    /// The PromQL.
    Query,
    /// The warning and critical thresholds.
    Thresholds,
    /// The title.
    Title,
    /// The observation.
    Observation,
    /// The root cause.
    RootCause,
    /// The immediate action.
    ImmediateAction,
    /// One of the investigation steps.
    InvestigationSteps,
    /// The long-term fix.
    LongTermFix,
}

/// Why a user's check cannot be judged.
#[derive(Debug, Error, PartialEq)]
pub enum UserCheckError {
    /// Thresholds in the wrong order for the direction.
    #[error("critical {critical} must be past warning {warning} in the `{}` direction", direction.as_str())]
    Unordered {
        /// Warning threshold.
        warning: f64,
        /// Critical threshold.
        critical: f64,
        /// Which side is bad.
        direction: Direction,
    },
    /// A placeholder this part may not use.
    #[error("unknown placeholder `${{{name}}}`; use {}", allowed.join(", "))]
    UnknownPlaceholder {
        /// Where.
        part: UserCheckPart,
        /// The placeholder's name.
        name: String,
        /// The placeholders this part may use.
        allowed: &'static [&'static str],
    },
    /// A malformed template (`${` never closed).
    #[error("{error}")]
    Template {
        /// Where.
        part: UserCheckPart,
        /// What is malformed.
        error: TemplateError,
    },
}

impl UserCheckError {
    /// The part of the check to fix.
    pub fn part(&self) -> UserCheckPart {
        match self {
            UserCheckError::Unordered { .. } => UserCheckPart::Thresholds,
            UserCheckError::UnknownPlaceholder { part, .. }
            | UserCheckError::Template { part, .. } => *part,
        }
    }
}

/// The narrative of a user's check where the user wrote none.
mod user_defaults {
    pub const LABEL: &str = "Custom check";
    pub const TITLE: &str = "Custom check past its ${level} threshold on ${instance}: ${value}";
    pub const OBSERVATION: &str = "The custom check averaged ${value} (peak ${peak}) on ${instance} ${device}, past its ${level} threshold of ${threshold} for ${held} of the last ${window}.";
    pub const AUTHORED: &str = "Defined by the query's author.";
    pub const IMMEDIATE_ACTION: &str = "Follow the runbook of this check.";
    pub const INVESTIGATION_STEP: &str = "Run the check's PromQL in Explore, split by instance";
    pub const BOOK_REFERENCE: &str =
        "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5 Methodology (a custom check); 2.8 Statistics";
    pub const THRESHOLD_SOURCE: &str = "the query";
    pub const CONFIDENCE: f64 = 70.0;
}

impl UserCheck {
    /// Its templates with the part each is and the placeholders it may use.
    fn templates<'a>(
        &'a self,
    ) -> impl Iterator<Item = (UserCheckPart, &'a str, &'static [&'static str])> {
        let narrative = |part, text: &'a Option<String>| {
            text.as_deref()
                .map(move |t| (part, t, NARRATIVE_PLACEHOLDERS))
        };
        std::iter::once((UserCheckPart::Query, self.expr.as_str(), QUERY_PLACEHOLDERS))
            .chain(narrative(UserCheckPart::Title, &self.title))
            .chain(narrative(UserCheckPart::Observation, &self.observation))
            .chain(narrative(UserCheckPart::RootCause, &self.root_cause))
            .chain(narrative(
                UserCheckPart::ImmediateAction,
                &self.immediate_action,
            ))
            .chain(self.investigation_steps.iter().map(|s| {
                (
                    UserCheckPart::InvestigationSteps,
                    s.as_str(),
                    NARRATIVE_PLACEHOLDERS,
                )
            }))
            .chain(narrative(UserCheckPart::LongTermFix, &self.long_term_fix))
    }

    /// Ordered thresholds; every template well formed, with the placeholders its part may use.
    pub fn validate(&self) -> Result<(), UserCheckError> {
        let ordered = match self.direction {
            Direction::Above => self.warning <= self.critical,
            Direction::Below => self.warning >= self.critical,
        };
        if !ordered {
            return Err(UserCheckError::Unordered {
                warning: self.warning,
                critical: self.critical,
                direction: self.direction,
            });
        }
        for (part, text, allowed) in self.templates() {
            if let Some(name) = template::placeholders(text)
                .into_iter()
                .find(|n| !allowed.contains(n))
            {
                return Err(UserCheckError::UnknownPlaceholder {
                    part,
                    name: name.to_string(),
                    allowed,
                });
            }
            template::render(text, |_| Some("x"))
                .map_err(|error| UserCheckError::Template { part, error })?;
        }
        Ok(())
    }
}

impl Check {
    /// The catalog check for a user's own check ([`USER_CHECK_ID`]): validated, its narrative
    /// completed with defaults, judged like a sustained catalog check over `min_duration`.
    pub fn from_user(user: &UserCheck, min_duration: Duration) -> Result<Check, UserCheckError> {
        use user_defaults as d;
        user.validate()?;
        let or = |text: &Option<String>, default: &str| {
            text.clone().unwrap_or_else(|| default.to_string())
        };
        Ok(Check {
            id: USER_CHECK_ID.into(),
            label: or(&user.title, d::LABEL),
            component: user.component,
            signal: UseSignal::Utilization,
            issue_type: IssueType::Capacity,
            metric: format!("value{}", user.unit.suffix()),
            unit: user.unit,
            direction: user.direction,
            warning: user.warning,
            critical: user.critical,
            threshold_source: d::THRESHOLD_SOURCE.into(),
            severity: SeverityMap::default(),
            evaluation: Evaluation::default(),
            min_duration,
            device_label: user.device_label.clone(),
            fallback: None,
            standalone: true,
            when: None,
            coverage: None,
            class_thresholds: BTreeMap::new(),
            sparse: false,
            fold_stacked: false,
            series_per_instance: default_series_per_instance(),
            requires: Vec::new(),
            confidence: d::CONFIDENCE,
            book_reference: d::BOOK_REFERENCE.into(),
            query: user.expr.clone(),
            title: match &user.title {
                Some(t) => format!("{t} on ${{instance}}"),
                None => d::TITLE.into(),
            },
            observation: or(&user.observation, d::OBSERVATION),
            root_cause: or(&user.root_cause, d::AUTHORED),
            immediate_action: or(&user.immediate_action, d::IMMEDIATE_ACTION),
            investigation_steps: if user.investigation_steps.is_empty() {
                vec![d::INVESTIGATION_STEP.into()]
            } else {
                user.investigation_steps.clone()
            },
            long_term_fix: or(&user.long_term_fix, d::AUTHORED),
            related_metrics: Vec::new(),
            evidence: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_format_for_people() {
        assert_eq!(Unit::Percent.format(97.04), "97.0%");
        assert_eq!(Unit::Percent.format(3.456), "3.46%");
        assert_eq!(Unit::Milliseconds.format(42.0), "42 ms");
        assert_eq!(Unit::Seconds.format(0.0021), "2.10 ms");
        assert_eq!(
            Unit::Bytes.format(3.5 * 1024.0 * 1024.0 * 1024.0),
            "3.50 GiB"
        );
        assert_eq!(Unit::PerSecond.format(1234.6), "1235/s");
        assert_eq!(
            Unit::from_evidence_name("written_bytes_per_second"),
            Some(Unit::BytesPerSecond)
        );
        assert_eq!(Unit::Hours.format(3.2), "3.20 h");
        assert_eq!(
            Unit::from_evidence_name("read_await_ms"),
            Some(Unit::Milliseconds)
        );
        assert_eq!(
            Unit::from_evidence_name("runnable_per_cpu"),
            Some(Unit::Ratio)
        );
        assert_eq!(Unit::from_evidence_name("cpu_count"), Some(Unit::Count));
        assert_eq!(Unit::from_evidence_name("mystery"), None);
    }

    fn user(expr: &str) -> UserCheck {
        UserCheck {
            expr: expr.into(),
            warning: 80.0,
            critical: 90.0,
            direction: Direction::Above,
            unit: Unit::Percent,
            component: Component::System,
            device_label: None,
            title: None,
            observation: None,
            root_cause: None,
            immediate_action: None,
            investigation_steps: Vec::new(),
            long_term_fix: None,
        }
    }

    #[test]
    fn a_user_check_is_told_with_the_catalog_defaults() {
        let spec = user("avg by (instance) (up{${selector}})");
        let check = Check::from_user(&spec, Duration::from_secs(150)).unwrap();
        assert_eq!(check.id, USER_CHECK_ID);
        assert_eq!(check.label, "Custom check");
        assert_eq!(check.metric, "value_percent");
        assert_eq!(check.min_duration, Duration::from_secs(150));
        assert_eq!(check.threshold_source, "the query");
        assert!(check.title.contains("${level} threshold on ${instance}"));
        assert_eq!(check.root_cause, "Defined by the query's author.");
        assert_eq!(check.investigation_steps.len(), 1);
        // What the user wrote wins; the title says where.
        let written = UserCheck {
            title: Some("Queue deep".into()),
            root_cause: Some("Consumers lag".into()),
            investigation_steps: vec!["kubectl top pods".into()],
            ..spec
        };
        let check = Check::from_user(&written, Duration::from_secs(150)).unwrap();
        assert_eq!(check.label, "Queue deep");
        assert_eq!(check.title, "Queue deep on ${instance}");
        assert_eq!(check.root_cause, "Consumers lag");
        assert_eq!(check.investigation_steps, ["kubectl top pods"]);
        // The catalog accepts what it built.
        assert!(crate::catalog::Catalog::custom(check).is_ok());
    }

    #[test]
    fn a_user_check_error_names_the_part_to_fix() {
        let below = UserCheck {
            direction: Direction::Below,
            warning: 10.0,
            critical: 5.0,
            ..user("x")
        };
        assert!(below.validate().is_ok());
        let unordered = UserCheck {
            warning: 95.0,
            ..user("x")
        };
        let err = Check::from_user(&unordered, Duration::from_secs(60)).unwrap_err();
        assert_eq!(err.part(), UserCheckPart::Thresholds);
        assert!(
            err.to_string()
                .contains("critical 90 must be past warning 95"),
            "{err}"
        );

        let cases = [
            (user("up{${instance}}"), UserCheckPart::Query, "instance"),
            (
                UserCheck {
                    title: Some("${selector}".into()),
                    ..user("x")
                },
                UserCheckPart::Title,
                "selector",
            ),
            (
                UserCheck {
                    investigation_steps: vec!["ok".into(), "${nope}".into()],
                    ..user("x")
                },
                UserCheckPart::InvestigationSteps,
                "nope",
            ),
            (
                UserCheck {
                    long_term_fix: Some("${rate}".into()),
                    ..user("x")
                },
                UserCheckPart::LongTermFix,
                "rate",
            ),
        ];
        for (spec, part, name) in cases {
            let err = spec.validate().unwrap_err();
            assert_eq!(err.part(), part, "{err}");
            assert!(err.to_string().contains(&format!("`${{{name}}}`")), "{err}");
        }
        let open = UserCheck {
            observation: Some("at ${value".into()),
            ..user("x")
        };
        let err = open.validate().unwrap_err();
        assert_eq!(err.part(), UserCheckPart::Observation);
        assert!(matches!(err, UserCheckError::Template { .. }), "{err}");
    }
}
