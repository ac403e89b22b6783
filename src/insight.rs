//! The insight: one finding, told the way Brendan Gregg would tell it.
//!
//! What the data shows (observation), the exact numbers (evidence, each with its unit and the
//! PromQL that produced it), the likely root cause, what to do now, how to dig deeper, the
//! long-term fix, how sure we are, and where in *Systems Performance* (2nd ed.) to read more.
//! This module depends on nothing else in the crate: every renderer (frames, report) and every
//! producer (engine) meets here.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How urgent a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing to do (coverage notes, healthy summaries).
    Info,
    /// Minor or weakly supported.
    Low,
    /// A resource past its warning threshold.
    Medium,
    /// A resource past its critical threshold.
    High,
    /// A bottleneck or an error that hurts now: act immediately.
    Critical,
}

impl Severity {
    /// All severities, most urgent first.
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name used in frames, JSON and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The number Grafana Alerting fires on: 0 none/info, 1 low … 4 critical.
    pub fn level(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// Parse the lowercase name.
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL_DESCENDING
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of Gregg's methodologies produced a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Methodology {
    /// Utilization, saturation and errors for every resource (§2.5.9).
    UseMethod,
    /// Who, why, what and how the load changes (§2.5.11).
    WorkloadCharacterization,
    /// From system level down to devices, processes and containers (§2.5.12).
    DrillDown,
    /// Where time goes and how it is distributed (§2.5.13).
    LatencyAnalysis,
    /// A reading of a Grafana dashboard's panels.
    DashboardAnalysis,
    /// A user's own PromQL check.
    CustomQuery,
}

impl Methodology {
    /// The snake_case name used in frames and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Methodology::UseMethod => "use_method",
            Methodology::WorkloadCharacterization => "workload_characterization",
            Methodology::DrillDown => "drill_down",
            Methodology::LatencyAnalysis => "latency_analysis",
            Methodology::DashboardAnalysis => "dashboard_analysis",
            Methodology::CustomQuery => "custom_query",
        }
    }
}

/// What kind of problem a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueType {
    /// A resource busy enough to matter.
    HighUtilization,
    /// Work is queueing or stalling.
    Saturation,
    /// High utilization together with saturation: this resource limits the workload.
    Bottleneck,
    /// Errors reported by the resource.
    Errors,
    /// A capacity limit is near (space, descriptors, connections).
    Capacity,
    /// The workload changed materially.
    WorkloadChange,
    /// Latency above its expected level.
    Latency,
    /// One member deviates from its peers.
    Outlier,
    /// A signal that cannot be observed with the metrics at hand.
    CoverageGap,
}

impl IssueType {
    /// The snake_case name used in frames and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueType::HighUtilization => "high_utilization",
            IssueType::Saturation => "saturation",
            IssueType::Bottleneck => "bottleneck",
            IssueType::Errors => "errors",
            IssueType::Capacity => "capacity",
            IssueType::WorkloadChange => "workload_change",
            IssueType::Latency => "latency",
            IssueType::Outlier => "outlier",
            IssueType::CoverageGap => "coverage_gap",
        }
    }
}

/// One number behind a finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the number is, e.g. `cpu_utilization`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit (`percent`, `seconds`, `bytes_per_second`…), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The PromQL that produced it, so anyone can reproduce it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl Evidence {
    /// A value with a unit and no query (thresholds, counts).
    pub fn new(name: impl Into<String>, value: f64, unit: Option<&str>) -> Self {
        Self {
            name: name.into(),
            value,
            unit: unit.map(str::to_string),
            query: None,
        }
    }

    /// Attach the PromQL that produced the value.
    #[must_use]
    pub fn from_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }
}

/// A finding, with everything needed to understand and act on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    /// Stable identity: the same problem on the same target keeps the same id across runs.
    pub id: String,
    /// The catalog check that produced it (e.g. `cpu.utilization`).
    pub check: String,
    /// When the data was evaluated.
    pub timestamp: DateTime<Utc>,
    /// The methodology that found it.
    pub methodology: Methodology,
    /// The resource: `cpu`, `memory`, `disk`, `filesystem`, `network`…
    pub component: String,
    /// What kind of problem it is.
    pub issue_type: IssueType,
    /// How urgent.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// The target (Prometheus `instance` label), when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The device, mount point or interface, when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// What the data shows.
    pub observation: String,
    /// The numbers behind it.
    pub evidence: Vec<Evidence>,
    /// The likely technical explanation.
    pub root_cause: String,
    /// What to do now.
    pub immediate_action: String,
    /// How to dig deeper: the real commands, in order.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: String,
    /// Metrics worth looking at next (PromQL).
    pub related_metrics: Vec<String>,
    /// 0–100: how sure the finding is, given how direct and complete its signals are.
    pub confidence: f64,
    /// Where to read more in *Systems Performance* (2nd ed.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book_reference: Option<String>,
}

/// Sort most urgent first, then most confident, then by title and target for stable output.
pub fn sort_insights(insights: &mut [Insight]) {
    insights.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.total_cmp(&a.confidence))
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.instance.cmp(&b.instance))
            .then_with(|| a.device.cmp(&b.device))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_levels_and_names() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(Severity::Critical.level(), 4);
        assert_eq!(Severity::Info.level(), 0);
        for s in Severity::ALL_DESCENDING {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("warning"), None);
    }
}
