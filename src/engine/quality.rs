//! Data quality per instance: how complete its samples are over the window and whether its
//! counters reset (node_exporter or host restarts). Both lower the confidence of findings.

use std::collections::HashMap;

use crate::{
    inventory::presence,
    prometheus::Series,
    promql::{format_duration, Selector},
    samples::{Over, QueryLog, Recorder, Timing},
};

/// Quality of one instance's data over the window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Quality {
    /// Samples seen over samples expected (0–1).
    pub completeness: f64,
    /// Counter resets seen.
    pub resets: f64,
}

impl Default for Quality {
    fn default() -> Self {
        Self {
            completeness: 1.0,
            resets: 0.0,
        }
    }
}

/// Per-instance quality, plus the queries sent (a failed query leaves the quality at its
/// default, full, and says so in the log).
pub(super) async fn take(
    recorder: &Recorder<'_>,
    selector: &Selector,
    timing: &Timing,
) -> (HashMap<String, Quality>, QueryLog) {
    let presence = presence(selector);
    let window = format_duration(timing.window);
    let samples = format!("count_over_time({presence}[{window}])");
    let resets = format!("resets({presence}[{window}])");
    let expected = (timing.window.as_secs_f64() / timing.scrape_interval.as_secs_f64()).max(1.0);
    let collect = |acc: &mut HashMap<String, f64>, s: Series| {
        if let (Some(instance), Some((_, v))) = (s.labels.get("instance"), s.points.last()) {
            acc.insert(instance.clone(), *v);
        }
    };
    let (mut log, mut resets_log) = (QueryLog::new(), QueryLog::new());
    let at = Over::Instant(timing.at);
    let (counts, reset_counts) = tokio::join!(
        recorder.fold(
            &mut log,
            "quality/samples",
            &samples,
            at,
            HashMap::new(),
            collect,
            HashMap::len
        ),
        recorder.fold(
            &mut resets_log,
            "quality/resets",
            &resets,
            at,
            HashMap::new(),
            collect,
            HashMap::len
        ),
    );
    log.extend(resets_log);
    let mut quality: HashMap<String, Quality> = HashMap::new();
    match counts {
        Ok(counts) => {
            for (instance, n) in counts {
                quality.entry(instance).or_default().completeness = (n / expected).clamp(0.0, 1.0);
            }
        }
        Err(e) => log.warn(format!("data quality: sample completeness is unknown: {e}")),
    }
    match reset_counts {
        Ok(reset_counts) => {
            for (instance, n) in reset_counts {
                quality.entry(instance).or_default().resets = n;
            }
        }
        Err(e) => log.warn(format!("data quality: counter resets are unknown: {e}")),
    }
    (quality, log)
}
