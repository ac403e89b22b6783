//! Test fixtures: judged checks built by hand, so the pure stages (diagnosis, narrative,
//! coverage) are tested without Prometheus.

use std::time::Duration;

use chrono::DateTime;

use crate::{
    catalog::{self, Catalog, Thresholds},
    insight::Evidence,
    samples::Timing,
};

use super::{
    evaluate::{Assessment, Level},
    execute::CheckExecution,
    finding::Finding,
};

/// The built-in catalog.
pub(super) fn catalog() -> &'static Catalog {
    catalog::builtin()
}

/// A 10-minute window at a 15 s scrape interval.
pub(super) fn timing() -> Timing {
    let at = DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    Timing::new(at, Duration::from_secs(600), Some(Duration::from_secs(15)))
}

/// A complete, sustained assessment at `level` with mean `value`.
pub(super) fn assessment(level: Level, value: f64) -> Assessment {
    Assessment {
        level,
        value,
        mean: value,
        peak: value,
        last: value,
        held: Duration::from_secs(600),
        started_at: None,
        ended_at: None,
        points: 10,
        skipped: 0,
        periods: Vec::new(),
        burst: None,
    }
}

/// Check `id` executed, with a finding per `(instance, device, level, value)`.
pub(super) fn execution(id: &str, findings: &[(&str, Option<&str>, Level, f64)]) -> CheckExecution {
    let catalog = catalog();
    let index = catalog
        .checks()
        .iter()
        .position(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    let check = &catalog.checks()[index];
    let mut execution = CheckExecution::new(index, check);
    execution.outcome.query = check.query.clone();
    execution.findings = findings
        .iter()
        .map(|(instance, device, level, value)| Finding {
            instance: instance.to_string(),
            device: device.map(str::to_string),
            assessment: assessment(*level, *value),
            thresholds: Thresholds {
                warning: check.warning,
                critical: check.critical,
            },
            class: None,
            also_on: Vec::new(),
            evidence: Evidence::new(),
            queries: Vec::new(),
        })
        .collect();
    execution
}
