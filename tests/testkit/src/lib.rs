//! Test environment for Gregg Insights: real Prometheus and node_exporter processes on
//! loopback ports, and deterministic scenarios backfilled with promtool.
//!
//! Everything started here is stopped when its handle is dropped (also when a test panics) and
//! is killed with this process if it dies, so no run leaves servers behind.

pub mod backfill;
pub mod containers;
pub mod faults;
pub mod grafana;
pub mod histogram;
pub mod host;
pub mod http;
pub mod install;
pub mod node_exporter;
pub mod process;
pub mod prometheus;
pub mod scenarios;
pub mod thanos;
pub mod victoria;

use std::time::Duration;

pub use node_exporter::NodeExporter;
pub use prometheus::{Options, Prometheus};

/// A live environment: node_exporter on this machine, scraped every second by Prometheus.
#[derive(Debug)]
pub struct Live {
    /// The Prometheus (dropped first: fields drop in order).
    pub prometheus: Prometheus,
    /// The node_exporter.
    pub node_exporter: NodeExporter,
}

impl Live {
    /// Start both and wait until `rate()` over node_exporter data returns values.
    pub fn start() -> Live {
        let node_exporter = NodeExporter::start();
        let prometheus = Prometheus::start(Options {
            scrape_targets: vec![node_exporter.target()],
            scrape_interval_secs: Some(1),
            ..Options::default()
        });
        let ready = prometheus.wait_for(
            "rate(node_cpu_seconds_total{mode=\"idle\"}[30s])",
            Duration::from_secs(60),
        );
        assert!(
            ready,
            "testkit: no node_exporter rates after 60 s:\n{}",
            prometheus.log()
        );
        Live {
            prometheus,
            node_exporter,
        }
    }
}
