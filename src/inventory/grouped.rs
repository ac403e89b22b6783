//! The inventory's queries in instance groups: an engine that refuses one of them for its size
//! (VictoriaMetrics counts an instant query's whole look-back against
//! `-search.maxSamplesPerQuery`, so `count_values by (collector)` over a large fleet is the
//! first query it refuses) is sent it again in ranges of instance names, and the parts are
//! folded into one answer ([`crate::samples::fold_in_groups`], the splitter the USE checks use).
//!
//! Every inventory query merges exactly across disjoint instance ranges: counts `by` a label
//! add up per label value, listings (`== 0`, `unless on (instance)`) concatenate. What is still
//! refused in the smallest groups is left unknown with a notice ([`degraded`]); the analysis
//! goes on.

use chrono::{DateTime, Utc};

use crate::{
    prometheus::{PrometheusError, Series},
    promql::Selector,
    samples::{fold_in_groups, Coverage, GroupedQuery, Over, QueryLog, QueryText, Recorder},
};

/// How far the inventory's queries reach: the instances to plan groups over and the samples one
/// query may load.
#[derive(Clone, Copy, Debug)]
pub struct Reach<'a> {
    /// The selection's instances, sorted (empty: unknown, every query is sent whole).
    pub instances: &'a [String],
    /// Samples one query may load (the analysis' `query_sample_budget`).
    pub budget: u64,
}

/// The inventory's queries at one time, over one selection.
#[derive(Clone, Copy)]
pub(super) struct Asked<'a> {
    pub recorder: Recorder<'a>,
    pub selector: &'a Selector,
    pub at: DateTime<Utc>,
    pub reach: Reach<'a>,
}

impl Asked<'_> {
    /// The instant query `build` writes for a selector, its series folded into `start`, in
    /// instance groups when it is larger than the budget or refused whole. `samples_per_instance`
    /// is what one instance loads, for planning the groups.
    pub async fn fold<A, F>(
        &self,
        log: &mut QueryLog,
        (purpose, build): (&str, &(dyn Fn(&Selector) -> String + Sync)),
        samples_per_instance: u64,
        (start, on_series, kept): (A, F, fn(&A) -> usize),
    ) -> Result<A, PrometheusError>
    where
        A: Clone + Send + 'static,
        F: FnMut(&mut A, Series) + Clone + Send + 'static,
    {
        let coverage = Coverage {
            selector: self.selector,
            instances: self.reach.instances,
            samples_per_instance,
            budget: self.reach.budget,
        };
        let query = GroupedQuery {
            purpose,
            text: QueryText::Built(build),
            over: Over::Instant(self.at),
        };
        fold_in_groups(
            &self.recorder,
            log,
            &query,
            &coverage,
            (start, on_series, kept),
        )
        .await
    }
}

/// `answer`, or when the engine refused it for its size even in the smallest groups, `None`
/// with a notice saying what is `unknown` because of it. Other failures are returned: they are
/// not about this query's size, and the analysis reports them as it always did.
pub(super) fn degraded<T>(
    log: &mut QueryLog,
    purpose: &str,
    unknown: &str,
    answer: Result<T, PrometheusError>,
) -> Result<Option<T>, PrometheusError> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(e) => match e.size_refusal() {
            Some(why) => {
                // Refused in groups, `fold_in_groups` said the refusal; refused whole only,
                // the refusal notices of the report say it. Here: what it costs.
                let grouped = log
                    .queries
                    .iter()
                    .any(|q| q.purpose == purpose && q.group.is_some());
                if grouped {
                    log.warn(format!(
                        "{purpose}: {unknown} in this analysis (the engine refused the query for its size: {})",
                        why.as_str()
                    ));
                }
                Ok(None)
            }
            None => Err(e),
        },
    }
}

/// The value of an instant vector's series (its one point).
pub(super) fn value(series: &Series) -> f64 {
    series.points.last().map_or(f64::NAN, |p| p.1)
}
