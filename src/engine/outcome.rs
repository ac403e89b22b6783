//! What the USE method reports per check and per target: the values the report model, tables
//! and frames read.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::insight::Component;

use super::evaluate::Level;

/// One judged target of one check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observation {
    /// The target's `instance` label.
    pub instance: String,
    /// Device, mount point or interface, for per-device checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Mean over the window, in the check's unit.
    pub value: f64,
    /// The worst value in the window.
    pub peak: f64,
    /// Sustained level.
    pub level: Level,
}

/// What one check produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// Check id.
    pub check: String,
    /// The PromQL that ran.
    pub query: String,
    /// Targets (instance, device) with data.
    pub targets: usize,
    /// Targets past a threshold, sustained.
    pub breaches: usize,
    /// The worst target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<Observation>,
    /// Every target, worst first, when requested.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    /// The judged series of each target past a threshold (or with a burst), at most
    /// [`SERIES_POINTS`] points each: what the report panel draws as sparklines.
    #[serde(skip)]
    pub series: Vec<TargetSeries>,
    /// Why the check could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it ran for fewer targets than the selection (a weaker fallback signal runs only
    /// where the preferred one has no data or found something).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckOutcome {
    /// Nothing yet: the check has not run.
    pub fn new(check: &str) -> Self {
        Self {
            check: check.to_string(),
            query: String::new(),
            targets: 0,
            breaches: 0,
            worst: None,
            observations: Vec::new(),
            series: Vec::new(),
            error: None,
            note: None,
        }
    }

    /// Approximate bytes held (what a cache of analyses weighs).
    pub fn approximate_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.query.len()
            + self.observations.len() * (std::mem::size_of::<Observation>() + 32)
            + self
                .series
                .iter()
                .map(|s| std::mem::size_of::<TargetSeries>() + s.points.len() * 16 + 32)
                .sum::<usize>()
    }
}

/// Points kept per flagged target's series (a window's grid has about ten).
pub const SERIES_POINTS: usize = 60;

/// The judged series of one flagged target, thinned to at most [`SERIES_POINTS`] points.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSeries {
    /// The target's `instance` label.
    pub instance: String,
    /// Device, mount point or interface, for per-device checks.
    pub device: Option<String>,
    /// `(Unix seconds, value)` in time order.
    pub points: Vec<(f64, f64)>,
    /// The thresholds in force.
    pub warning: f64,
    /// The critical threshold in force.
    pub critical: f64,
}

impl TargetSeries {
    /// `points` thinned to at most [`SERIES_POINTS`], keeping the last one.
    pub fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
        if points.len() <= SERIES_POINTS {
            return points.to_vec();
        }
        let stride = points.len().div_ceil(SERIES_POINTS);
        // Count back from the last point so the end of the window is always kept.
        let mut kept: Vec<(f64, f64)> = points.iter().rev().step_by(stride).copied().collect();
        kept.reverse();
        kept
    }
}

/// A period during which one check's condition held on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// The check.
    pub check: String,
    /// Its resource.
    pub component: Component,
    /// The target.
    pub instance: String,
    /// Device, mount point or interface.
    pub device: Option<String>,
    /// First point of the period.
    pub start: DateTime<Utc>,
    /// Last point of the period.
    pub end: DateTime<Utc>,
    /// The worst level reached.
    pub level: Level,
    /// The worst value reached, in the check's unit.
    pub peak: f64,
}
