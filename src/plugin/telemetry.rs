//! The plugin's own metrics, served to Grafana through CollectMetrics.
//!
//! Grafana exposes them at `/metrics/plugins/gregg-insights-datasource`, so the plugin can be
//! monitored like anything else: Prometheus requests by endpoint and outcome, queries by type
//! and status, health checks, cached data source instances, and the process' own RSS and CPU.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::prometheus::RequestObserver;

/// All metrics of one plugin process.
pub struct Telemetry {
    registry: Registry,
    prometheus_requests: IntCounterVec,
    prometheus_duration: HistogramVec,
    queries: IntCounterVec,
    query_duration: HistogramVec,
    health_checks: IntCounterVec,
    analyses: IntCounterVec,
    prometheus_slot_wait: prometheus::Histogram,
    range_cache_lookups: IntCounterVec,
    range_cache_samples: IntGauge,
    /// Analyses running (admitted), over every data source.
    pub analyses_in_progress: IntGauge,
    /// Analyses waiting to be admitted, over every data source.
    pub analyses_queued: IntGauge,
    /// Data source instances with a cached client.
    pub instances: IntGauge,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Telemetry {
    /// Register every metric (and the process collector on Linux).
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("gregg_insights".to_string()), None).unwrap_or_default();
        let prometheus_requests = IntCounterVec::new(
            Opts::new(
                "prometheus_requests_total",
                "Requests sent to Prometheus, by API endpoint and outcome.",
            ),
            &["endpoint", "outcome"],
        )
        .expect("static metric definition");
        let prometheus_duration = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_request_duration_seconds",
                "Time for one Prometheus request, body included (the HTTP exchange; waiting for a slot is prometheus_slot_wait_seconds).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("static metric definition");
        let queries = IntCounterVec::new(
            Opts::new(
                "queries_total",
                "Data queries answered, by query type and status.",
            ),
            &["query_type", "status"],
        )
        .expect("static metric definition");
        let query_duration = HistogramVec::new(
            HistogramOpts::new("query_duration_seconds", "Time to answer one data query.")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["query_type"],
        )
        .expect("static metric definition");
        let health_checks = IntCounterVec::new(
            Opts::new("health_checks_total", "Health checks, by result."),
            &["status"],
        )
        .expect("static metric definition");
        let analyses = IntCounterVec::new(
            Opts::new(
                "analyses_total",
                "Analyses asked of the result cache: `computed` ran one, `shared` reused a fresh or in-flight one, `refused_busy` was refused by the per-data-source bound, `cancelled` was stopped before it finished (its request's deadline passed or Grafana cancelled it; `dashboard_` for dashboard analyses).",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
        let prometheus_slot_wait = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "prometheus_slot_wait_seconds",
                "Time a Prometheus request waited for one of the plugin's own maxConcurrentQueries slots before it was sent (not counted against the timeout).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("static metric definition");
        let (range_cache_lookups, range_cache_samples) = range_cache_metrics();
        let analyses_in_progress = IntGauge::new(
            "analyses_in_progress",
            "Analyses running, admitted by the per-data-source bound.",
        )
        .expect("static metric definition");
        let analyses_queued = IntGauge::new(
            "analyses_queued",
            "Analyses waiting for a place under the per-data-source bound.",
        )
        .expect("static metric definition");
        let instances = IntGauge::new(
            "datasource_instances",
            "Data source instances with a cached Prometheus client.",
        )
        .expect("static metric definition");
        for collector in [
            Box::new(prometheus_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(prometheus_duration.clone()),
            Box::new(queries.clone()),
            Box::new(query_duration.clone()),
            Box::new(health_checks.clone()),
            Box::new(analyses.clone()),
            Box::new(prometheus_slot_wait.clone()),
            Box::new(range_cache_lookups.clone()),
            Box::new(range_cache_samples.clone()),
            Box::new(analyses_in_progress.clone()),
            Box::new(analyses_queued.clone()),
            Box::new(instances.clone()),
        ] {
            // Names are unique by construction; a failure would only lose one metric.
            let _ = registry.register(collector);
        }
        #[cfg(target_os = "linux")]
        {
            let _ = registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        Self {
            registry,
            prometheus_requests,
            prometheus_duration,
            queries,
            query_duration,
            health_checks,
            analyses,
            prometheus_slot_wait,
            range_cache_lookups,
            range_cache_samples,
            analyses_in_progress,
            analyses_queued,
            instances,
        }
    }

    /// Count one analysis asked of the cache.
    pub fn analysis(&self, outcome: &str) {
        self.analyses.with_label_values(&[outcome]).inc();
    }

    /// Count one answered data query.
    pub fn query_done(&self, query_type: &str, status: &str, elapsed: Duration) {
        self.queries.with_label_values(&[query_type, status]).inc();
        self.query_duration
            .with_label_values(&[query_type])
            .observe(elapsed.as_secs_f64());
    }

    /// Count one health check.
    pub fn health_checked(&self, status: &str) {
        self.health_checks.with_label_values(&[status]).inc();
    }

    /// Prometheus text exposition of every metric.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        // Encoding our own well-formed metrics into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        buf
    }
}

/// The range cache's lookups by outcome and the samples it holds.
fn range_cache_metrics() -> (IntCounterVec, IntGauge) {
    let range_cache_lookups = IntCounterVec::new(
            Opts::new(
                "range_cache_lookups_total",
                "Range queries looked up in the range cache shared across overlapping windows: `hit` was answered from a cached answer, `miss` was sent to Prometheus.",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
    let range_cache_samples = IntGauge::new(
            "range_cache_samples",
            "Sample-equivalents (16 bytes of heap each: points, labels and vectors) held by the range cache; bounded at 262,144 (4 MiB).",
        )
        .expect("static metric definition");
    (range_cache_lookups, range_cache_samples)
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestObserver for Telemetry {
    fn observe(&self, endpoint: &'static str, outcome: &'static str, elapsed: Duration) {
        self.prometheus_requests
            .with_label_values(&[endpoint, outcome])
            .inc();
        self.prometheus_duration
            .with_label_values(&[endpoint])
            .observe(elapsed.as_secs_f64());
    }

    fn slot_waited(&self, waited: Duration) {
        self.prometheus_slot_wait.observe(waited.as_secs_f64());
    }
}

impl crate::prometheus::RangeCacheObserver for Telemetry {
    fn range_cache_lookup(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.range_cache_lookups.with_label_values(&[outcome]).inc();
    }

    fn range_cache_held(&self, samples: u64) {
        self.range_cache_samples
            .set(i64::try_from(samples).unwrap_or(i64::MAX));
    }
}
