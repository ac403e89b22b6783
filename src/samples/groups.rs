//! Planning instance groups: how many parts a check's query is sent in so that no part asks the
//! engine to load more samples than it allows.
//!
//! Prometheus refuses a query that would hold more than `--query.max-samples` samples at once
//! (50 million by default); Thanos, Cortex, Mimir and VictoriaMetrics have their own limits. A
//! range query over a fleet holds about `instances × series per instance × points` samples, so
//! the number of parts is planned up front from the instance count and the catalog's estimate
//! of series per instance ([`crate::catalog::Check::series_per_instance`]), against a budget
//! well below the default limit: a 100,000-host fleet is split before anything is refused.
//! When the engine's limit is lower than the budget (or the estimate too low) and the engine
//! refuses a part anyway, the groups are halved ([`next_after_refusal`]) a bounded number of
//! times.

use crate::prometheus::SizeRefusal;

use super::Timing;

/// Samples one query may load by default: a fifth of Prometheus' default
/// `--query.max-samples` (50,000,000), room for the estimate being off by up to five times
/// and for other queries running at the same time.
pub const DEFAULT_SAMPLE_BUDGET: u64 = 10_000_000;

/// How many times the groups are halved after a refusal before the query is given up (the
/// check fails, a measure or a part of the inventory is left out, each said): 2⁵ = 32 times
/// as many groups as planned, at most [`MAX_PARTS`].
pub const MAX_HALVINGS: u32 = 5;

/// The most parts one query is sent in, planned or after halvings. An analysis sends dozens of
/// queries, often from an incident dashboard against an engine already under load: at one
/// group per instance a 10,000-host fleet would fan out 10,000 requests per query. A fleet
/// that needs more parts than this is one the engine's limit (or the data source's
/// `querySampleBudget`) is too low for, and that is said rather than worked around.
pub const MAX_PARTS: usize = 256;

/// Samples one series of an instant query may load, for planning its groups: VictoriaMetrics
/// counts every sample of the look-back window (five minutes at a 15 s scrape interval, and
/// one more).
pub const LOOKBACK_SAMPLES: u64 = 21;

/// Samples a query over `instances` would load: every input series at every point of the
/// range, plus the samples of one `rate()` window.
pub fn estimated_samples(instances: usize, series_per_instance: u32, timing: &Timing) -> u64 {
    let points = timing.expected_points as u64 + 1;
    let scrape = timing.scrape_interval.as_secs().max(1);
    let window = timing.rate.as_secs().div_ceil(scrape);
    (instances as u64)
        .saturating_mul(u64::from(series_per_instance.max(1)))
        .saturating_mul(points + window)
}

/// How many groups a query over `instances` is sent in, each loading about
/// `samples_per_instance` per instance: enough that each stays within `budget`, at least
/// one, at most one per instance and at most [`MAX_PARTS`] (the parts then load more than
/// the budget; the engine may still answer them).
pub(super) fn planned_groups(instances: usize, samples_per_instance: u64, budget: u64) -> usize {
    if instances <= 1 {
        return 1;
    }
    // As many instances a group as fit the budget (at least one), then enough groups.
    let per_instance = samples_per_instance.max(1);
    let per_group = usize::try_from(budget / per_instance)
        .unwrap_or(usize::MAX)
        .max(1);
    instances
        .div_ceil(per_group)
        .clamp(1, most_groups(instances))
}

/// The most groups a query over `instances` is sent in: one per instance, at most
/// [`MAX_PARTS`].
pub(super) fn most_groups(instances: usize) -> usize {
    instances.clamp(1, MAX_PARTS)
}

/// The number of groups after the engine refused one of `groups`: twice as many (each half as
/// large), or `None` when the groups are already [`most_groups`] or the halvings are used up.
pub(super) fn next_after_refusal(groups: usize, instances: usize, halvings: u32) -> Option<usize> {
    let most = most_groups(instances);
    (halvings < MAX_HALVINGS && groups < most).then(|| groups.saturating_mul(2).min(most))
}

/// How many times a query the engine gave up on for its time (errorType `timeout`) is halved:
/// once. A timeout often means the server is overloaded rather than the query too large, and
/// every halving doubles the queries sent to it.
pub const MAX_TIMEOUT_HALVINGS: usize = 1;

/// Whether the query may be sent again in more groups after `refusals` (the latest last): not
/// after more than [`MAX_TIMEOUT_HALVINGS`] timeouts.
pub(super) fn retry_allowed(refusals: &[SizeRefusal]) -> bool {
    let timeouts = refusals
        .iter()
        .filter(|r| **r == SizeRefusal::QueryTimeout)
        .count();
    timeouts <= MAX_TIMEOUT_HALVINGS
}

/// `instances` cut into `groups` contiguous parts of nearly equal size (the first ones one
/// larger), none empty.
pub(super) fn partition(instances: &[String], groups: usize) -> Vec<&[String]> {
    let groups = groups.clamp(1, instances.len().max(1));
    let base = instances.len() / groups;
    let larger = instances.len() % groups;
    let mut parts = Vec::with_capacity(groups);
    let mut start = 0;
    for i in 0..groups {
        let len = base + usize::from(i < larger);
        parts.push(&instances[start..start + len]);
        start += len;
    }
    parts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn timing() -> Timing {
        let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
        Timing::new(at, Duration::from_secs(600), Some(Duration::from_secs(15)))
    }

    #[test]
    fn a_small_fleet_is_one_query() {
        assert_eq!(planned(1_000, 176, &timing(), DEFAULT_SAMPLE_BUDGET), 1);
        assert_eq!(planned(0, 176, &timing(), DEFAULT_SAMPLE_BUDGET), 1);
        assert_eq!(planned(1, 176, &timing(), 1), 1);
    }

    #[test]
    fn a_100000_host_fleet_never_asks_for_more_than_the_default_limit() {
        const PROMETHEUS_DEFAULT_MAX_SAMPLES: u64 = 50_000_000;
        const { assert!(DEFAULT_SAMPLE_BUDGET < PROMETHEUS_DEFAULT_MAX_SAMPLES) };
        let t = timing();
        for series in [1, 8, 176, 640] {
            let groups = planned(100_000, series, &t, DEFAULT_SAMPLE_BUDGET);
            let largest = partition(&fleet(100_000), groups)
                .iter()
                .map(|p| p.len())
                .max()
                .expect("a part");
            let samples = estimated_samples(largest, series, &t);
            assert!(
                samples <= DEFAULT_SAMPLE_BUDGET,
                "{series} series/instance: {groups} groups of {largest} load {samples}"
            );
        }
        // Over 10 minutes (11 points, a 4-point rate window) the 176 CPU-mode series of
        // 100,000 hosts need dozens of parts, not thousands.
        let cpu = planned(100_000, 176, &t, DEFAULT_SAMPLE_BUDGET);
        assert!((20..=200).contains(&cpu), "{cpu}");
    }

    #[test]
    fn refusals_double_the_groups_a_bounded_number_of_times() {
        assert_eq!(next_after_refusal(1, 100, 0), Some(2));
        assert_eq!(next_after_refusal(3, 100, 1), Some(6));
        assert_eq!(next_after_refusal(60, 100, 2), Some(100));
        assert_eq!(next_after_refusal(100, 100, 3), None, "one instance each");
        assert_eq!(next_after_refusal(4, 100, MAX_HALVINGS), None, "used up");
    }

    #[test]
    fn no_query_is_sent_in_more_than_max_parts() {
        // 600 hosts at a budget of 12,000 once planned 2,132 requests; 10,000 hosts at one
        // instance a group, 10,000.
        assert_eq!(planned_groups(600, 100_000, 12_000), MAX_PARTS);
        assert_eq!(planned_groups(10_000, 1_000, 1), MAX_PARTS);
        assert_eq!(
            planned_groups(200, 1_000, 1),
            200,
            "one per instance below the cap"
        );
        assert_eq!(next_after_refusal(200, 10_000, 0), Some(MAX_PARTS));
        assert_eq!(next_after_refusal(MAX_PARTS, 10_000, 0), None, "capped");
        assert_eq!(next_after_refusal(1, 10_000, 0), Some(2));
        // Whatever the fleet and the halvings, the cap holds.
        let mut groups = planned_groups(100_000, 176, 1);
        for halvings in 0..MAX_HALVINGS {
            assert!(groups <= MAX_PARTS, "{groups}");
            match next_after_refusal(groups, 100_000, halvings) {
                Some(next) => groups = next,
                None => break,
            }
        }
    }

    #[test]
    fn a_server_timeout_allows_one_halving_only() {
        use SizeRefusal::{QueryTimeout, TooManySamples};
        assert!(retry_allowed(&[QueryTimeout]), "one halving");
        assert!(
            !retry_allowed(&[QueryTimeout, QueryTimeout]),
            "not a second"
        );
        assert!(!retry_allowed(&[
            TooManySamples,
            QueryTimeout,
            QueryTimeout
        ]));
        assert!(
            retry_allowed(&[TooManySamples; 5]),
            "size refusals keep halving"
        );
        assert!(retry_allowed(&[
            TooManySamples,
            QueryTimeout,
            TooManySamples
        ]));
    }

    #[test]
    fn parts_cover_every_instance_once_in_order() {
        let all = fleet(10);
        for groups in [1, 3, 4, 10, 25] {
            let parts = partition(&all, groups);
            assert_eq!(parts.len(), groups.min(10));
            assert!(parts.iter().all(|p| !p.is_empty()));
            let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            assert!(sizes.iter().max().expect("a part") - sizes.iter().min().expect("a part") <= 1);
            let joined: Vec<String> = parts.concat();
            assert_eq!(joined, all);
        }
        assert_eq!(
            partition(&[], 3).len(),
            1,
            "one empty part: the query as it is"
        );
    }

    /// The groups of a check reading `series` series per instance on `timing`'s grid.
    fn planned(instances: usize, series: u32, timing: &Timing, budget: u64) -> usize {
        planned_groups(instances, estimated_samples(1, series, timing), budget)
    }

    fn fleet(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("host-{i:06}:9100")).collect()
    }
}
