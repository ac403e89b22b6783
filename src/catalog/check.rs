//! What a check is: one declarative record, read from the TOML files under `checks/`.

use serde::Deserialize;

use crate::insight::{IssueType, Severity};

/// The USE signal (or capacity) a check measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// How busy the resource is.
    Utilization,
    /// How much work waits for it.
    Saturation,
    /// Errors it reports.
    Errors,
    /// How close a finite resource is to running out.
    Capacity,
}

impl Signal {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Utilization => "utilization",
            Signal::Saturation => "saturation",
            Signal::Errors => "errors",
            Signal::Capacity => "capacity",
        }
    }
}

/// Which side of a threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
}

/// How a value is displayed and labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// 0–100.
    Percent,
    /// 0–1.
    Ratio,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Events per second.
    PerSecond,
    /// A plain count.
    Count,
}

impl Unit {
    /// The unit's name in evidence and frames; Grafana's unit id where one exists.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Ratio => "percentunit",
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::PerSecond => "ops",
            Unit::Count => "none",
        }
    }

    /// Human formatting for narratives and reports.
    pub fn format(self, value: f64) -> String {
        if value.is_nan() {
            return "NaN".to_string();
        }
        match self {
            Unit::Percent => format!("{value:.1}%"),
            Unit::Ratio => format!("{:.1}%", value * 100.0),
            Unit::Seconds => format_seconds(value),
            Unit::Bytes => format_bytes(value),
            Unit::PerSecond => format!("{}/s", trim_number(value)),
            Unit::Count => trim_number(value),
        }
    }
}

fn trim_number(value: f64) -> String {
    if (value.fract() == 0.0 && value.abs() < 1e15) || value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn format_seconds(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1.0 {
        format!("{value:.2} s")
    } else if abs >= 1e-3 {
        format!("{:.2} ms", value * 1e3)
    } else {
        format!("{:.0} µs", value * 1e6)
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
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Severity to give at each threshold level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityMap {
    /// Severity when the warning threshold is breached.
    pub warning: Severity,
    /// Severity when the critical threshold is breached.
    pub critical: Severity,
}

/// A supporting number fetched for the instances a check flags.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// Evidence name, e.g. `cpu_count`.
    pub name: String,
    /// Unit of the value.
    pub unit: Unit,
    /// PromQL template; must aggregate `by (instance)` like the check's own query.
    pub query: String,
}

/// One check of the catalog: the query, how to judge it, and the story to tell.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable id `component.signal[.detail]`: used in frames, overrides and docs.
    pub id: String,
    /// The resource: `cpu`, `memory`, `disk`, `filesystem`, `network`…
    pub component: String,
    /// The USE signal measured.
    pub signal: Signal,
    /// What a breach is called in insights.
    pub issue_type: IssueType,
    /// Unit of the query's values.
    pub unit: Unit,
    /// Which side of the thresholds is bad.
    pub direction: Direction,
    /// Default warning threshold, in `unit`.
    pub warning: f64,
    /// Default critical threshold, in `unit`.
    pub critical: f64,
    /// Severity per threshold level.
    pub severity: SeverityMap,
    /// node_exporter collectors the query needs (see `collectors.toml`).
    pub requires: Vec<String>,
    /// Base confidence (0–100) of a finding from this check.
    pub confidence: f64,
    /// Where to read more in *Systems Performance* (2nd ed.).
    pub book_reference: String,
    /// PromQL template with `${selector}` and `${window}`; one series per instance (and device).
    pub query: String,
    /// Insight title template.
    pub title: String,
    /// Observation template (`${instance}`, `${value}`, `${threshold}`, `${level}`, `${window}`…).
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
    /// Supporting numbers, fetched only for flagged instances.
    #[serde(default)]
    pub evidence: Vec<EvidenceQuery>,
}
