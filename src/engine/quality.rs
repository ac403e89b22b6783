//! Data quality per instance: how complete its samples are over the window and whether its
//! counters reset (node_exporter or host restarts). Both lower the confidence of findings.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use crate::{
    inventory::presence,
    prometheus::{Client, Series},
    promql::{format_duration, Selector},
};

use super::{timing::Timing, ExecutedQuery};

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

/// Per-instance quality, plus the queries sent.
pub(super) async fn take(
    client: &Client,
    selector: &Selector,
    timing: &Timing,
) -> (HashMap<String, Quality>, Vec<ExecutedQuery>) {
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
    let started = Instant::now();
    let (counts, reset_counts) = tokio::join!(
        client.query_fold(&samples, timing.at, HashMap::new(), collect),
        client.query_fold(&resets, timing.at, HashMap::new(), collect),
    );
    let elapsed = started.elapsed();
    let mut queries = Vec::new();
    let mut quality: HashMap<String, Quality> = HashMap::new();
    if let Ok(counts) = counts {
        queries.push(ExecutedQuery {
            purpose: "quality/samples".into(),
            promql: samples,
            kind: "instant",
            series: counts.data.len(),
            duration: elapsed,
            offset: Duration::ZERO,
            sent: started,
        });
        for (instance, n) in counts.data {
            quality.entry(instance).or_default().completeness = (n / expected).clamp(0.0, 1.0);
        }
    }
    if let Ok(reset_counts) = reset_counts {
        queries.push(ExecutedQuery {
            purpose: "quality/resets".into(),
            promql: resets,
            kind: "instant",
            series: reset_counts.data.len(),
            duration: elapsed,
            offset: Duration::ZERO,
            sent: started,
        });
        for (instance, n) in reset_counts.data {
            quality.entry(instance).or_default().resets = n;
        }
    }
    (quality, queries)
}
