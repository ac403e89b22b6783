//! The insight: one finding, told the way Brendan Gregg would tell it.
//!
//! What the data shows (observation), the exact numbers (evidence), the likely root cause, what
//! to do now, how to dig deeper, the long-term fix, how sure we are, and where in *Systems
//! Performance* (2nd ed.) to read more. Field names follow the original persona's
//! `BrendanGreggInsight`. This module depends on nothing else in the crate: every renderer
//! (frames, report) and every producer (engine) meets here.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{
    de::{MapAccess, Visitor},
    ser::SerializeMap,
    Deserialize, Deserializer, Serialize, Serializer,
};

/// How urgent a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context: coverage notes, healthy summaries.
    Info,
    /// Weak or single-signal findings.
    Low,
    /// Worth attention: a busy resource, a weaker signal past its threshold.
    Medium,
    /// Past the warning threshold (a bottleneck, a filling resource, errors).
    High,
    /// Past the critical threshold: act now.
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Methodology {
    /// Utilization, saturation and errors for every resource ("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.9 The USE Method").
    UseMethod,
    /// Who, why, what and how the load changes.
    WorkloadCharacterization,
    /// From system level down to devices, processes and containers.
    DrillDown,
    /// Where time goes and how it is distributed.
    LatencyAnalysis,
    /// Hosts that behave unlike their peers.
    FleetOutliers,
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
            Methodology::FleetOutliers => "fleet_outliers",
            Methodology::DashboardAnalysis => "dashboard_analysis",
            Methodology::CustomQuery => "custom_query",
        }
    }
}

/// The resource a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// Processors.
    Cpu,
    /// Main memory and swap.
    Memory,
    /// Storage devices.
    Disk,
    /// Filesystem capacity.
    Filesystem,
    /// Network interfaces and the TCP/IP stack.
    Network,
    /// Software resources: file descriptors, PIDs, conntrack, clock.
    System,
    /// Containers (cgroups) against their own limits: cAdvisor and kube-state-metrics series.
    /// The instance of a container finding is `namespace/pod/container`, not a scrape target.
    Container,
}

impl Component {
    /// Every component, in report order.
    pub const ALL: [Component; 7] = [
        Component::Cpu,
        Component::Memory,
        Component::Disk,
        Component::Filesystem,
        Component::Network,
        Component::System,
        Component::Container,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Cpu => "cpu",
            Component::Memory => "memory",
            Component::Disk => "disk",
            Component::Filesystem => "filesystem",
            Component::Network => "network",
            Component::System => "system",
            Component::Container => "container",
        }
    }

    /// Whether a finding's `instance` is a Prometheus `instance` label (a scraped host). A
    /// container's is `namespace/pod/container`, built by its query: follow-up queries cannot
    /// be narrowed to it by an `instance` matcher.
    pub fn instance_is_target(self) -> bool {
        self != Component::Container
    }

    /// Parse the lowercase name.
    pub fn parse(text: &str) -> Option<Component> {
        Component::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The USE signal a finding concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UseSignal {
    /// How busy (or, for capacity resources, how full) the resource is.
    Utilization,
    /// How much work waits for it.
    Saturation,
    /// Errors it reports.
    Errors,
}

impl UseSignal {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            UseSignal::Utilization => "utilization",
            UseSignal::Saturation => "saturation",
            UseSignal::Errors => "errors",
        }
    }
}

/// What kind of problem a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueType {
    /// High utilization together with saturation: this resource limits the workload.
    Bottleneck,
    /// Work is queueing or stalling.
    Saturation,
    /// The resource reports errors.
    Error,
    /// A finite resource is (nearly) full, or a busy one has little headroom left.
    Capacity,
    /// Operations take longer than they should.
    Latency,
    /// Load concentrates on one part of a resource (one CPU, one device).
    Imbalance,
    /// Behaviour departs from its own history or its peers.
    Anomaly,
    /// A signal that cannot be observed with the metrics at hand.
    Coverage,
}

impl IssueType {
    /// The snake_case name used in frames and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueType::Bottleneck => "bottleneck",
            IssueType::Saturation => "saturation",
            IssueType::Error => "error",
            IssueType::Capacity => "capacity",
            IssueType::Latency => "latency",
            IssueType::Imbalance => "imbalance",
            IssueType::Anomaly => "anomaly",
            IssueType::Coverage => "coverage",
        }
    }
}

/// The numbers behind a finding, by name, in the order they were added.
///
/// Names carry their unit as a suffix (`_percent`, `_seconds`, `_bytes`, `_per_second`,
/// `_ratio`, `_count`…), so the map is self-describing in JSON: `{"cpu_utilization_percent":
/// 97.0, "cpu_count": 8}`. Non-finite values serialise as `null`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence(Vec<(String, f64)>);

impl Evidence {
    /// No evidence yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a value.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// This evidence with one more value.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        self.set(name, value);
        self
    }

    /// The value called `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Name and value pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            if value.is_finite() {
                map.serialize_entry(name, value)?;
            } else {
                map.serialize_entry(name, &Option::<f64>::None)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EvidenceVisitor;
        impl<'de> Visitor<'de> for EvidenceVisitor {
            type Value = Evidence;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of evidence names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Evidence, A::Error> {
                let mut evidence = Evidence::new();
                while let Some((name, value)) = access.next_entry::<String, Option<f64>>()? {
                    evidence.set(name, value.unwrap_or(f64::NAN));
                }
                Ok(evidence)
            }
        }
        deserializer.deserialize_map(EvidenceVisitor)
    }
}

/// A finding, with everything needed to understand and act on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    /// Stable identity: the same check, instance and device give the same id.
    pub id: String,
    /// When the data was evaluated (the end of the analysis window).
    pub timestamp: DateTime<Utc>,
    /// The methodology that found it.
    pub methodology: Methodology,
    /// The resource.
    pub component: Component,
    /// What kind of problem it is.
    pub issue_type: IssueType,
    /// The USE signal it concerns, if any.
    pub use_signal: Option<UseSignal>,
    /// How urgent.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What the data shows.
    pub observation: String,
    /// The numbers behind it.
    pub evidence: Evidence,
    /// The likely technical explanation.
    pub root_cause: String,
    /// What to do now.
    pub immediate_action: String,
    /// How to dig deeper: the real commands, in order.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: String,
    /// The exact PromQL used, then further queries worth running for this target.
    pub related_metrics: Vec<String>,
    /// 0–100: how sure the finding is, given how many independent signals agree and how good
    /// the data is.
    pub confidence: f64,
    /// Where to read more in *Systems Performance* (2nd ed.).
    pub book_reference: Option<String>,
    /// The target (Prometheus `instance` label).
    pub instance: Option<String>,
    /// The device, mount point, interface or CPU, when the finding is about one.
    pub device: Option<String>,
    /// The catalog check (or component diagnosis, e.g. `cpu.bottleneck`) that produced it.
    pub check: String,
    /// When the condition started to hold within the window.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last held within the window.
    pub ended_at: Option<DateTime<Utc>>,
}

/// The Kubernetes names of a container finding: what frames carry as labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerLabels<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// The pod.
    pub pod: &'a str,
    /// The container.
    pub container: &'a str,
    /// The node it runs on, where kube-state-metrics named it (the finding's device).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<&'a str>,
}

impl Insight {
    /// Namespace, pod, container and node of a container finding (its instance is
    /// `namespace/pod/container`, its device the node); `None` for every other finding.
    pub fn container_labels(&self) -> Option<ContainerLabels<'_>> {
        if self.component != Component::Container {
            return None;
        }
        let mut parts = self.instance.as_deref()?.splitn(3, '/');
        Some(ContainerLabels {
            namespace: parts.next()?,
            pod: parts.next()?,
            container: parts.next()?,
            node: self.device.as_deref(),
        })
    }

    /// Approximate bytes this insight holds (what a cache of analyses weighs).
    pub fn approximate_bytes(&self) -> usize {
        const STRING: usize = std::mem::size_of::<String>();
        let texts = |v: &[String]| v.iter().map(|s| s.len() + STRING).sum::<usize>();
        std::mem::size_of::<Insight>()
            + self.id.len()
            + self.title.len()
            + self.observation.len()
            + self.root_cause.len()
            + self.immediate_action.len()
            + self.long_term_fix.len()
            + self.check.len()
            + texts(&self.investigation_steps)
            + texts(&self.related_metrics)
            + self
                .evidence
                .iter()
                .map(|(n, _)| n.len() + STRING + 8)
                .sum::<usize>()
    }
}

/// Sort most urgent first, then most confident, then by title and target for stable output.
pub fn sort_insights(insights: &mut [Insight]) {
    insights.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.total_cmp(&a.confidence))
            .then_with(|| a.component.cmp(&b.component))
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

    #[test]
    fn evidence_is_an_ordered_map_in_json() {
        let e = Evidence::new()
            .with("cpu_utilization_percent", 97.5)
            .with("cpu_count", 8.0)
            .with("missing", f64::NAN);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"cpu_utilization_percent":97.5,"cpu_count":8.0,"missing":null}"#
        );
        let back: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("cpu_count"), Some(8.0));
        assert!(back.get("missing").is_some_and(f64::is_nan));
        assert_eq!(
            back.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["cpu_utilization_percent", "cpu_count", "missing"]
        );
    }

    #[test]
    fn components_and_signals_have_fixed_names() {
        for c in Component::ALL {
            assert_eq!(Component::parse(c.as_str()), Some(c));
        }
        assert_eq!(
            serde_json::to_string(&IssueType::Error).unwrap(),
            "\"error\""
        );
        assert_eq!(
            serde_json::to_string(&Some(UseSignal::Saturation)).unwrap(),
            "\"saturation\""
        );
    }
}
