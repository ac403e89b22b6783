//! Queries the engine refused for their size and nobody fetched in parts: each is a notice
//! naming what it was for and what the analysis lacks because of it.
//!
//! The USE checks and their guards, the inventory, the workload and latency measures, the
//! device lookups and the evidence are sent again in instance groups when they are refused
//! ([`super::fold_in_groups`]), and that is said where it happens, refused even in the
//! smallest groups included. Every other query (peaks, spans, coverage) fails as it is; its
//! caller may drop what it was for and carry on, which would leave part of the analysis out
//! with no word in the report. This pass over the query records says it, whatever sent the
//! query.

use std::collections::HashSet;

use super::ExecutedQuery;

/// One notice per refused query whose purpose was never fetched in instance groups, in the
/// order they were sent (one per purpose).
pub fn refusal_notices(queries: &[ExecutedQuery]) -> Vec<String> {
    let grouped: HashSet<&str> = queries
        .iter()
        .filter(|q| q.group.is_some())
        .map(|q| q.purpose.as_str())
        .collect();
    let mut said: HashSet<&str> = HashSet::new();
    queries
        .iter()
        .filter_map(|q| Some((q, q.refused?)))
        .filter(|(q, _)| !grouped.contains(q.purpose.as_str()))
        .filter(|(q, _)| said.insert(q.purpose.as_str()))
        .map(|(q, why)| {
            format!(
                "{}: the engine refused the query for its size ({why}) and it is not fetched in instance groups: {} missing from this analysis",
                q.purpose,
                lost(&q.purpose)
            )
        })
        .collect()
}

/// What the analysis lacks when the query for `purpose` fails.
fn lost(purpose: &str) -> String {
    let (head, tail) = match purpose.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (purpose, None),
    };
    match (head, tail) {
        ("inventory", _) => "part of the inventory is".into(),
        (_, None) => format!("{head}'s result is"),
        (_, Some("guard")) => format!("{head}'s guard is, so {head} is"),
        (_, Some("peak")) => format!("the peak times of {head}'s findings are"),
        (_, Some("coverage")) => format!("which targets {head} cannot assess is"),
        (_, Some("device_classes")) => {
            format!("the device classes {head}'s thresholds depend on are")
        }
        (_, Some("stacked")) => format!("the disks under {head}'s stacked devices are"),
        (_, Some("yesterday")) => format!("{head}'s comparison with yesterday is"),
        (_, Some(part)) => format!("{head}'s `{part}` is"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::QueryKind;

    fn query(purpose: &str, refused: bool, group: Option<(usize, usize)>) -> ExecutedQuery {
        let mut q = ExecutedQuery::start(purpose.into(), "up", QueryKind::Range);
        q.refused = refused.then_some("too many samples");
        q.group = group;
        q
    }

    #[test]
    fn every_refusal_not_fetched_in_groups_is_said_once() {
        let queries = [
            query("cpu.utilization", true, None),
            query("cpu.utilization", false, Some((1, 2))),
            query("cpu.utilization", false, Some((2, 2))),
            query("cpu.imbalance/guard", true, None),
            query("cpu.utilization/evidence top", true, None),
            query("cpu.utilization/evidence top", true, None),
            query("latency.runqueue", true, None),
            query("memory.utilization", false, None),
        ];
        let said = refusal_notices(&queries);
        assert_eq!(
            said,
            [
                "cpu.imbalance/guard: the engine refused the query for its size (too many samples) and it is not fetched in instance groups: cpu.imbalance's guard is, so cpu.imbalance is missing from this analysis",
                "cpu.utilization/evidence top: the engine refused the query for its size (too many samples) and it is not fetched in instance groups: cpu.utilization's `evidence top` is missing from this analysis",
                "latency.runqueue: the engine refused the query for its size (too many samples) and it is not fetched in instance groups: latency.runqueue's result is missing from this analysis",
            ]
        );
    }
}
