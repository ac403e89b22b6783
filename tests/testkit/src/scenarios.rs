//! Named, deterministic scenarios: fleets with known behaviour at fixed past times.
//!
//! Tests read the expected values from the same specs that generate the data (e.g. a host's
//! CPU shares), so nothing is hard-coded twice. The Go harness gets them through
//! `gregg-testenv scenario <name>`.

use serde::Serialize;

use crate::backfill::{Dataset, Kind, Samples};

/// End of every scenario's data: 2025-06-02T12:00:00Z. Queries evaluate here.
pub const END: i64 = 1_748_865_600;
/// Scrape interval of the generated data.
pub const STEP: i64 = 15;
/// Length of the generated history.
pub const SPAN: i64 = 3600;

/// Collectors reported by every synthetic node_exporter: `(name, success)`. `processes` is
/// absent, as with node_exporter's defaults; `schedstat` fails, as on kernels without it.
pub const COLLECTORS: &[(&str, f64)] = &[
    ("cpu", 1.0),
    ("loadavg", 1.0),
    ("pressure", 1.0),
    ("schedstat", 0.0),
    ("stat", 1.0),
    ("meminfo", 1.0),
    ("vmstat", 1.0),
    ("diskstats", 1.0),
    ("filesystem", 1.0),
    ("netdev", 1.0),
    ("netclass", 1.0),
    ("netstat", 1.0),
    ("softnet", 1.0),
    ("sockstat", 1.0),
    ("filefd", 1.0),
    ("edac", 1.0),
    ("hwmon", 1.0),
    ("thermal_zone", 1.0),
    ("mdadm", 1.0),
    ("conntrack", 1.0),
];

/// One synthetic host: CPU time shares per mode (fractions of each CPU, per second).
#[derive(Clone, Debug, Serialize)]
pub struct Host {
    /// `instance` label.
    pub instance: String,
    /// Number of CPUs.
    pub cpus: u32,
    /// user share.
    pub user: f64,
    /// system share.
    pub system: f64,
    /// iowait share.
    pub iowait: f64,
    /// steal share.
    pub steal: f64,
}

impl Host {
    /// CPU utilization in percent as Gregg Insights defines it (idle, iowait, steal not busy).
    pub fn utilization_percent(&self) -> f64 {
        100.0 * (self.user + self.system)
    }

    fn idle(&self) -> f64 {
        1.0 - self.user - self.system - self.iowait - self.steal
    }
}

/// A scenario: what it contains and the hosts it describes.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    /// Name.
    pub name: &'static str,
    /// What it represents.
    pub description: &'static str,
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// The hosts.
    pub hosts: Vec<Host>,
    /// Whether the synthetic exporters report `node_scrape_collector_success` (some node_exporter
    /// re-implementations don't).
    pub reports_collectors: bool,
    /// Seconds of history before `at` (targets that appeared recently have little).
    pub history: i64,
}

/// Every scenario, by name.
pub fn all() -> Vec<Scenario> {
    vec![
        cpu_mixed(),
        cpu_without_collector_status(),
        cpu_fresh_targets(),
    ]
}

/// The scenario called `name`.
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

fn host(instance: &str, cpus: u32, user: f64, system: f64, iowait: f64, steal: f64) -> Host {
    Host {
        instance: instance.to_string(),
        cpus,
        user,
        system,
        iowait,
        steal,
    }
}

/// Three hosts: one past the critical CPU threshold, one past the warning, one idle.
pub fn cpu_mixed() -> Scenario {
    Scenario {
        name: "cpu_mixed",
        description: "busy-1 at 97% CPU (critical), warm-1 at 85% (warning), idle-1 at 10% with some iowait and steal",
        at: END,
        hosts: vec![
            host("busy-1:9100", 4, 0.85, 0.12, 0.0, 0.0),
            host("warm-1:9100", 4, 0.70, 0.15, 0.0, 0.0),
            host("idle-1:9100", 2, 0.08, 0.02, 0.05, 0.01),
        ],
        reports_collectors: true,
        history: SPAN,
    }
}

/// `cpu_mixed`'s hosts, scraped for 45 s only: a 5-minute window is mostly empty, which must
/// not change the utilization reported.
pub fn cpu_fresh_targets() -> Scenario {
    Scenario {
        name: "cpu_fresh_targets",
        description: "cpu_mixed's hosts with 45 s of history: windows longer than the data",
        history: 45,
        ..cpu_mixed()
    }
}

/// `cpu_mixed`, from exporters that do not say which collectors work.
pub fn cpu_without_collector_status() -> Scenario {
    Scenario {
        name: "cpu_without_collector_status",
        description:
            "cpu_mixed without node_scrape_collector_success: collector coverage is unknown",
        reports_collectors: false,
        ..cpu_mixed()
    }
}

impl Scenario {
    /// The samples of every host.
    pub fn dataset(&self) -> Dataset {
        let mut d = Dataset::new();
        let start = self.at - self.history;
        let times: Vec<i64> = (0..=self.history / STEP)
            .map(|k| start + k * STEP)
            .collect();
        for h in &self.hosts {
            let job = "node";
            for cpu in 0..h.cpus {
                let cpu = cpu.to_string();
                for (mode, share) in [
                    ("idle", h.idle()),
                    ("user", h.user),
                    ("system", h.system),
                    ("iowait", h.iowait),
                    ("steal", h.steal),
                ] {
                    let base = 1_000_000.0;
                    let samples: Samples = times
                        .iter()
                        .map(|t| (*t, base + share * (*t - start) as f64))
                        .collect();
                    d.series(
                        "node_cpu_seconds_total",
                        Kind::Counter,
                        &[
                            ("instance", &h.instance),
                            ("job", job),
                            ("cpu", &cpu),
                            ("mode", mode),
                        ],
                        samples,
                    );
                }
            }
            d.series(
                "node_exporter_build_info",
                Kind::Gauge,
                &[
                    ("instance", &h.instance),
                    ("job", job),
                    ("version", "1.5.0"),
                ],
                constant(&times, 1.0),
            );
            for (collector, ok) in COLLECTORS.iter().filter(|_| self.reports_collectors) {
                d.series(
                    "node_scrape_collector_success",
                    Kind::Gauge,
                    &[
                        ("instance", &h.instance),
                        ("job", job),
                        ("collector", collector),
                    ],
                    constant(&times, *ok),
                );
            }
        }
        d
    }
}

fn constant(times: &[i64], value: f64) -> Samples {
    times.iter().map(|t| (*t, value)).collect()
}
