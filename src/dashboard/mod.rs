//! Dashboard analysis: read a Grafana dashboard, run its panels' Prometheus queries over the
//! time range, judge each panel against its own thresholds and limits, correlate panels, and
//! tie what is found to the USE Method's findings for the same instances.
//!
//! ```text
//!  Grafana ──► model (panels, variables) ──► extract (PromQL per target) ──► Prometheus
//!                                                                                │ series
//!  insights ◄── narrative ◄── correlate ◄── judge (thresholds, plateaus, steps) ◄┘
//!     ▲
//!     └── the USE method for the instances the panels show (crate::analysis::dashboard)
//! ```
//!
//! Whatever cannot be analysed (another data source, broken PromQL, an unknown variable, a
//! library panel that does not resolve, queries beyond the cap) is a note, and the rest of the
//! dashboard is still analysed. The result is an [`Analysis`] so the report and frames render
//! it like any other.

pub mod correlate;
pub mod extract;
pub mod interval;
pub mod jsregex;
pub mod judge;
pub mod model;
pub mod narrative;
pub mod read;
pub mod resolve;
pub mod rules;
pub mod variables;
pub mod varquery;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::{
    grafana::GrafanaError,
    insight::{Evidence, Insight, IssueType, Methodology, Severity},
    prometheus,
};

use self::extract::Extracted;

/// Most series kept per query; the rest are counted in a note.
pub const MAX_SERIES_PER_QUERY: usize = 50;

/// Points per query over the range (Grafana's max data points for a typical panel width).
pub const DEFAULT_MAX_POINTS: u32 = 200;

/// Queries in flight at once (the Prometheus client has its own bound too).
pub const CONCURRENCY: usize = 8;

/// Most library panels fetched per dashboard.
pub const MAX_LIBRARY_PANELS: usize = 50;

/// What to analyse.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardRequest {
    /// The dashboard's uid.
    pub uid: String,
    /// Only these panels (all when `None`).
    pub panel_ids: Option<Vec<i64>>,
    /// Variable values overriding the dashboard's current ones.
    pub variables: BTreeMap<String, Vec<String>>,
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// Points per query.
    pub max_points: u32,
    /// The data source's scrape interval (for `$__rate_interval`); `None`: the interval
    /// Prometheus' own samples show.
    pub scrape_interval: Option<Duration>,
}

impl DashboardRequest {
    /// The whole dashboard over `from`…`to`, 200 points per query, the scrape interval
    /// Prometheus shows.
    pub fn new(uid: impl Into<String>, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            uid: uid.into(),
            panel_ids: None,
            variables: BTreeMap::new(),
            from,
            to,
            max_points: DEFAULT_MAX_POINTS,
            scrape_interval: None,
        }
    }
}

/// Why a dashboard could not be analysed at all.
#[derive(Debug, Error)]
pub enum DashboardError {
    /// Grafana did not hand over the dashboard.
    #[error(transparent)]
    Grafana(#[from] GrafanaError),
    /// Every query failed against Prometheus.
    #[error("every query of the dashboard failed against Prometheus; the first error: {0}")]
    Prometheus(prometheus::PrometheusError),
    /// A request that cannot be answered.
    #[error("{0}")]
    Request(String),
}

/// Reference, in each dashboard finding, the USE findings of the same instance and resource.
/// `on` names the data source the USE Method ran on when it is not the plugin's own
/// Prometheus (the findings were read from that data source, so their USE context is there).
pub fn tie_to_use<'a>(
    insights: impl IntoIterator<Item = &'a mut Insight>,
    use_insights: &[Insight],
    on: Option<&str>,
) {
    let ran_on = on
        .map(|name| format!(" (run on {name})"))
        .unwrap_or_default();
    for i in insights {
        let Some(instance) = &i.instance else {
            continue;
        };
        let matching: Vec<&Insight> = use_insights
            .iter()
            .filter(|u| {
                u.instance.as_ref() == Some(instance)
                    && u.component == i.component
                    && u.severity >= Severity::Low
                    && u.issue_type != IssueType::Coverage
            })
            .collect();
        i.evidence.set("use_findings_count", matching.len() as f64);
        if matching.is_empty() {
            i.observation.push_str(&format!(
                " The USE Method{ran_on} found nothing past its thresholds for {} on {instance} over the same window.",
                i.component
            ));
            continue;
        }
        let named: Vec<String> = matching
            .iter()
            .map(|u| format!("\"{}\" ({}, {})", u.title, u.severity, u.id))
            .collect();
        i.observation.push_str(&format!(
            " The USE Method agrees for {instance}{ran_on}: {}.",
            named.join("; ")
        ));
        i.confidence = (i.confidence + 15.0).min(95.0);
        if let Some(first) = matching.first() {
            i.root_cause = format!("{} (USE: {})", i.root_cause, first.root_cause);
        }
    }
}

/// The info insight every analysis carries: what was read, run and found.
pub fn summary(
    dashboard: &model::Dashboard,
    panels: usize,
    targets: &[Extracted],
    flagged: usize,
    notes: &[String],
    at: DateTime<Utc>,
    window: &str,
) -> Insight {
    let panel_count = targets
        .iter()
        .map(|t| (t.panel_id, t.panel_title.as_str()))
        .collect::<BTreeSet<_>>()
        .len();
    Insight {
        id: format!("dashboard:{}:summary", dashboard.uid),
        timestamp: at,
        methodology: Methodology::DashboardAnalysis,
        component: crate::insight::Component::System,
        issue_type: IssueType::Coverage,
        use_signal: None,
        severity: Severity::Info,
        title: format!(
            "Dashboard \"{}\": {} finding(s) over the last {window}",
            dashboard.title, flagged
        ),
        observation: format!(
            "Read {panels} panel(s) of dashboard \"{}\" ({}); ran {} Prometheus quer{} from {panel_count} panel(s) over the last {window}; {flagged} finding(s); {} note(s) on what was skipped.",
            dashboard.title,
            dashboard.uid,
            targets.len(),
            if targets.len() == 1 { "y" } else { "ies" },
            notes.len()
        ),
        evidence: Evidence::new()
            .with("panels_count", panels as f64)
            .with("queries_count", targets.len() as f64)
            .with("findings_count", flagged as f64)
            .with("notes_count", notes.len() as f64),
        root_cause: String::new(),
        immediate_action: String::new(),
        investigation_steps: Vec::new(),
        long_term_fix: String::new(),
        related_metrics: Vec::new(),
        confidence: 100.0,
        book_reference: None,
        instance: None,
        device: None,
        check: "dashboard.summary".into(),
        started_at: None,
        ended_at: None,
    }
}
