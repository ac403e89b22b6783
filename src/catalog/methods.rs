//! The catalogs of the methods beyond USE, declared as data like the checks:
//!
//! - `workload.toml`: `[[measure]]`, what the workload is doing (context switches, IOPS, I/O
//!   size, packets…) and the built-in latencies (disk await, run-queue latency), each compared
//!   with a baseline window;
//! - `drilldown.toml`: `[[next_level]]`, the level below a USE finding (per CPU, per interface,
//!   top processes and containers) and the commands that go further;
//! - `outliers.toml`: `[[peer]]`, the USE checks whose per-host values are compared with the
//!   host's peers.
//!
//! Adding a measure, a drill-down level or a peer comparison is adding one table.

use serde::Deserialize;

use super::Unit;
use crate::insight::{Component, Methodology};

/// Which changes of a measure matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Rises and falls (a workload halving is as telling as one doubling).
    Both,
    /// Only rises (latency).
    Up,
}

/// One workload or latency measure compared with its baseline.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// `workload.<name>` or `latency.<name>`; also the insight's `check`.
    pub id: String,
    /// Short lowercase name for sentences: "context switches".
    pub label: String,
    /// `workload_characterization` or `latency_analysis`.
    pub methodology: Methodology,
    /// The resource it describes.
    pub component: Component,
    /// PromQL aggregated `by (instance[, device])`; placeholders as checks.
    pub query: String,
    /// Evidence name of the value, with its unit suffix (`context_switches_per_second`).
    pub metric: String,
    /// The label naming the device or interface, for per-device measures.
    #[serde(default)]
    pub device_label: Option<String>,
    /// A material change: the window's median is at least `factor` times the baseline's (or at
    /// most 1/`factor`, for `change = "both"`).
    pub factor: f64,
    /// Below this on both sides a change is noise (an idle host going from 2 to 6 IOPS).
    pub floor: f64,
    /// Which changes matter.
    pub change: Change,
    /// The drill-down level (by `next_level` label) naming who is behind a change.
    #[serde(default)]
    pub contributors: Vec<String>,
    /// *Systems Performance* 2nd ed. chapter and section.
    pub book_reference: String,
    /// What a change of this measure usually means.
    pub root_cause: String,
    /// What to do now.
    pub immediate_action: String,
    /// The commands that show who and why, in order.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: String,
}

impl Measure {
    /// The value's unit, from the metric name's suffix (validated at load).
    pub fn unit(&self) -> Unit {
        Unit::from_evidence_name(&self.metric).unwrap_or(Unit::Count)
    }
}

/// The level below a USE finding: where the load is, one step down.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextLevel {
    /// Names the level in sentences and in `Measure::contributors`: "processes by CPU".
    pub label: String,
    /// Findings on this component get this level.
    pub component: Component,
    /// Where the series come from (`node_exporter`, `process-exporter`, `cAdvisor`, `client
    /// library`), for the sentence.
    pub source: String,
    /// PromQL aggregated `by (instance, <item>)`, with `${hosts}` (an `instance` matcher for
    /// the flagged hosts on any port: other exporters run beside node_exporter) and `${window}`.
    pub query: String,
    /// The label naming each item (`cpu`, `groupname`, `name`).
    pub item: String,
    /// Evidence name of an item's value, `${item}` replaced (`process_${item}_cpus`).
    pub evidence: String,
    /// How many items to name.
    pub top: usize,
    /// Give each item's share of the sum over all items of the host.
    pub share: bool,
    /// Commands for the top item, `${item}`, `${instance}` and `${device}` replaced.
    pub commands: Vec<String>,
}

impl NextLevel {
    /// The unit of an item's value.
    pub fn unit(&self) -> Unit {
        Unit::from_evidence_name(&self.evidence).unwrap_or(Unit::Count)
    }
}

/// A USE check whose per-host value is compared with the host's peers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The check whose window means are compared.
    pub check: String,
    /// A host differs materially only when it is at least this far from the peers' median,
    /// in the check's unit (robust z-scores alone flag noise when peers are nearly identical).
    pub min_difference: f64,
    /// Report hosts below their peers too (an idle host in a busy pool is not getting work).
    pub low_side: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MeasureFile {
    pub measure: Vec<Measure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NextLevelFile {
    pub next_level: Vec<NextLevel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeerFile {
    pub peer: Vec<Peer>,
}
