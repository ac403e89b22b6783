//! A target a check judged past a threshold: what diagnosis, narrative, evidence and coverage
//! all read.

use crate::{catalog::Thresholds, insight::Evidence};

use super::evaluate::Assessment;

/// One target a check judged past a threshold.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    /// The target's instance.
    pub instance: String,
    /// Its device, mount point or interface (from the query, or from evidence `device_from`).
    pub device: Option<String>,
    /// The verdict.
    pub assessment: Assessment,
    /// Thresholds in force (its device class', when the check has some for it).
    pub thresholds: Thresholds,
    /// The label of the device class whose thresholds were used ("NVMe"), if any.
    pub class: Option<String>,
    /// Stacked devices (dm, md) over this disk whose findings of the same check were folded
    /// into this one: the same I/O, reported once.
    pub also_on: Vec<String>,
    /// Supporting values fetched for it.
    pub evidence: Evidence,
    /// The exact queries that produced it.
    pub queries: Vec<String>,
}

/// The distinct instances of `findings`, sorted: what a follow-up query (evidence, peaks) is
/// narrowed to.
pub(super) fn instances_of(findings: &[Finding]) -> Vec<&str> {
    let mut instances: Vec<&str> = findings.iter().map(|f| f.instance.as_str()).collect();
    instances.sort_unstable();
    instances.dedup();
    instances
}
