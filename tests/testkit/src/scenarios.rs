//! Named, deterministic scenarios: fleets with known behaviour at fixed past times, and the
//! insights each must (and must not) produce.
//!
//! Hosts come from [`Host::healthy`] with the behaviour under test changed, so every scenario
//! carries all the metric families node_exporter exposes, with jitter and realistic counters.
//! Expectations name the insight's `check`, target and severity range; any other finding above
//! `low` on any host is a failure, so healthy hosts must stay quiet.

use serde::Serialize;

use crate::{
    backfill,
    containers::{Cluster, Container, Pressure, MIB},
    histogram::{Histogram, DEFAULT_BUCKETS},
    host::{Disk, Filesystem, Host, Md, Nic, Process, Shape, Writer},
    prometheus::Prometheus,
};

/// End of every scenario's data: 2025-06-02T12:00:00Z. Queries evaluate here.
pub const END: i64 = 1_748_865_600;
/// Scrape interval of the generated data.
pub const STEP: i64 = 15;
/// Default history.
pub const SPAN: i64 = 3600;

/// An insight a scenario must produce.
#[derive(Clone, Debug, Serialize)]
pub struct Expect {
    /// Target instance.
    pub instance: String,
    /// The insight's `check` (`cpu.bottleneck`, `memory.utilization`, `coverage`…).
    pub check: &'static str,
    /// Device, when the insight is about one.
    pub device: Option<&'static str>,
    /// Lowest acceptable severity.
    pub min: &'static str,
    /// Highest acceptable severity.
    pub max: &'static str,
    /// Text the title or observation must contain.
    pub mentions: Option<&'static str>,
}

fn expect(instance: &str, check: &'static str, min: &'static str, max: &'static str) -> Expect {
    Expect {
        instance: instance.to_string(),
        check,
        device: None,
        min,
        max,
        mentions: None,
    }
}

impl Expect {
    fn on(mut self, device: &'static str) -> Self {
        self.device = Some(device);
        self
    }

    fn mentioning(mut self, text: &'static str) -> Self {
        self.mentions = Some(text);
        self
    }
}

/// A scenario: hosts, their history, and the expected insights.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name.
    pub name: &'static str,
    /// What it represents.
    pub description: &'static str,
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// Seconds of history before `at`.
    pub history: i64,
    /// Scrape interval.
    pub step: i64,
    /// The hosts.
    pub hosts: Vec<Host>,
    /// Insights that must appear.
    pub expect: Vec<Expect>,
    /// Application histograms served beside the hosts.
    pub histograms: Vec<Histogram>,
    /// The histogram metric the latency analysis should examine.
    pub histogram: Option<&'static str>,
    /// The latency objective, `"<seconds>@<percent>"` (`"0.25@99"`: 99 % within 0.25 s).
    pub slo: Option<&'static str>,
    /// Label grouping hosts for fleet outliers (`None`: the default, `job`).
    pub group_by: Option<&'static str>,
    /// Containers beside the hosts (cAdvisor, kube-state-metrics); empty for most scenarios.
    pub cluster: Cluster,
}

/// What the Go harness and other non-Rust users get to know about a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// The hosts and their ground truth.
    pub hosts: Vec<HostInfo>,
    /// Expected insights.
    pub expect: Vec<Expect>,
    /// The histogram metric the latency analysis should examine.
    pub histogram: Option<&'static str>,
    /// The latency objective, `"<seconds>@<percent>"`.
    pub slo: Option<&'static str>,
    /// Label grouping hosts for fleet outliers (`None`: `job`).
    pub group_by: Option<&'static str>,
}

/// Ground truth of one host.
#[derive(Clone, Debug, Serialize)]
pub struct HostInfo {
    /// Instance label.
    pub instance: String,
    /// CPUs.
    pub cpus: u32,
    /// Mean CPU utilization over the last 10 minutes, percent.
    pub utilization_percent: f64,
}

impl Scenario {
    fn new(
        name: &'static str,
        description: &'static str,
        hosts: Vec<Host>,
        expect: Vec<Expect>,
    ) -> Self {
        Scenario {
            name,
            description,
            at: END,
            history: SPAN,
            step: STEP,
            hosts,
            expect,
            histograms: Vec::new(),
            histogram: None,
            slo: None,
            group_by: None,
            cluster: Cluster::default(),
        }
    }

    /// Backfill this scenario (hosts, their processes, its histograms) into its own Prometheus.
    pub fn serve(&self) -> Prometheus {
        backfill::serve(|out| self.write(out).map(|_| ()))
    }

    /// Like [`Self::serve`] with Prometheus started on `options` (external labels, a route
    /// prefix).
    pub fn serve_with(&self, options: crate::prometheus::Options) -> Prometheus {
        backfill::serve_chunks_with(
            options,
            vec![Box::new(|out: &mut std::io::BufWriter<std::fs::File>| {
                self.write(out).map(|_| ())
            })],
        )
    }

    /// This scenario's hosts dealt round-robin into `parts` scenarios (the application
    /// histograms go with the first): the shards of a fleet spread over several servers.
    pub fn split(&self, parts: usize) -> Vec<Scenario> {
        let parts = parts.max(1);
        (0..parts)
            .map(|part| Scenario {
                hosts: self
                    .hosts
                    .iter()
                    .skip(part)
                    .step_by(parts)
                    .cloned()
                    .collect(),
                histograms: if part == 0 {
                    self.histograms.clone()
                } else {
                    Vec::new()
                },
                ..self.clone()
            })
            .collect()
    }

    /// Write this scenario's OpenMetrics (what [`Self::serve`] backfills).
    pub fn write<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<crate::host::Written> {
        Writer::new(out, &self.hosts, self.at, self.history, self.step)
            .histograms(&self.histograms)
            .containers(&self.cluster)
            .write_all()
    }

    /// The host called `instance`.
    pub fn host(&self, instance: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.instance == instance)
    }

    /// Mean CPU utilization of `host` over the last `window` seconds, from its shapes.
    pub fn mean_utilization(host: &Host, window: i64) -> f64 {
        let points: Vec<f64> = (0..window / STEP)
            .map(|k| -(k * STEP) as f64 - 1.0)
            .collect();
        points
            .iter()
            .map(|o| host.utilization_percent_at(*o))
            .sum::<f64>()
            / points.len() as f64
    }

    /// The serialisable description.
    pub fn info(&self) -> ScenarioInfo {
        ScenarioInfo {
            name: self.name,
            description: self.description,
            at: self.at,
            hosts: self
                .hosts
                .iter()
                .map(|h| HostInfo {
                    instance: h.instance.clone(),
                    cpus: h.cpus,
                    utilization_percent: Self::mean_utilization(h, 600),
                })
                .collect(),
            expect: self.expect.clone(),
            histogram: self.histogram,
            slo: self.slo,
            group_by: self.group_by,
        }
    }
}

/// Every scenario.
pub fn all() -> Vec<Scenario> {
    vec![
        cpu_mixed(),
        cpu_without_collector_status(),
        cpu_fresh_targets(),
        healthy_fleet(),
        busy_but_healthy(),
        cpu_bottleneck_psi(),
        cpu_bottleneck_schedstat(),
        load_from_io_wait(),
        load_as_cpu_saturation(),
        cpu_imbalance(),
        cpu_steal(),
        short_spike(),
        memory_exhaustion(),
        oom_kills(),
        swap_used_without_swapping(),
        disk_bottleneck(),
        disk_busy_fast_device(),
        raid_degraded(),
        filesystem_full(),
        filesystem_filling(),
        network_bottleneck(),
        network_unknown_speed(),
        network_errors(),
        listen_overflows(),
        system_limits(),
        clock_unsynchronised(),
        missing_collectors(),
        mixed_fleet(),
        cpu_saturation_signals_mixed(),
        counter_reset_lowers_confidence(),
        workload_shift(),
        culprit_process(),
        latency_slo(),
        fleet_outlier(),
        transient_condition(),
        busy_nic_listen_overflows(),
        busy_disk_nfs_pressure(),
        one_vcpu_guest(),
        throttling_many_cores(),
        short_burst_long_windows(),
        partitions_on_busy_disk(),
        pid_max_threads(),
        systemd_file_max(),
        chrony_and_slewing_clocks(),
        network_stack_drops(),
        memory_reclaim(),
        cpu_frequency_and_irqs(),
        raid_resync_and_hot_sensor(),
        await_on_idle_disk(),
        disk_classes(),
        stacked_devices_on_busy_disk(),
        filesystem_burst_short_history(),
        filesystem_steady_fill(),
        filesystem_burst_little_space(),
        late_step_change(),
        disk_queue_classes(),
        filesystem_hourly_bursts(),
        filesystem_single_burst(),
        filesystem_fill_levels(),
        filesystem_long_burst_short_history(),
        container_cpu_throttled(),
        container_memory_near_limit(),
        container_oom_restarts(),
        container_noisy_neighbour(),
        containers_healthy(),
        cadvisor_only(),
        container_memory_reclaim(),
        container_cpu_contention(),
        containers_healthy_psi(),
        container_episode_on_busy_node(),
        container_episode_on_quiet_node(),
        container_oom_without_cadvisor_events(),
    ]
}

/// The scenario called `name`: one of [`all`], or [`latency_bad_histogram`].
pub fn by_name(name: &str) -> Option<Scenario> {
    all()
        .into_iter()
        .chain([
            latency_bad_histogram(),
            dashboard_incident(),
            hostile_labels(),
            scraping_stopped(),
            all_scraping_stopped(),
        ])
        .find(|s| s.name == name)
}

fn cpu(host: &mut Host, user: f64, system: f64) {
    host.cpu.user = Shape::c(user);
    host.cpu.system = Shape::c(system);
}

/// Three hosts: one at 97 % CPU, one at 85 %, one idle; no saturation anywhere.
pub fn cpu_mixed() -> Scenario {
    let mut busy = Host::healthy("busy-1:9100");
    cpu(&mut busy, 0.85, 0.12);
    busy.running = Shape::c(3.9);
    let mut warm = Host::healthy("warm-1:9100");
    cpu(&mut warm, 0.70, 0.15);
    let mut idle = Host::healthy("idle-1:9100");
    idle.cpus = 2;
    cpu(&mut idle, 0.08, 0.02);
    idle.cpu.iowait = Shape::c(0.05);
    idle.cpu.steal = Shape::c(0.01);
    Scenario::new(
        "cpu_mixed",
        "busy-1 at 97% CPU and warm-1 at 85% with nothing waiting (busy, not bottlenecks), idle-1 at 10% with some iowait and steal",
        vec![busy, warm, idle],
        vec![
            expect("busy-1:9100", "cpu.utilization", "medium", "medium").mentioning("no saturation"),
            expect("warm-1:9100", "cpu.utilization", "low", "low"),
        ],
    )
}

/// The instance label of [`hostile_labels`]' busy host: a terminal escape that sets the
/// window title, raw HTML, a `javascript:` link, a line break that starts a Markdown heading
/// and a backtick that would end a code span.
pub const HOSTILE_INSTANCE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[31m<img src=x onerror=alert(1)>[click](javascript:alert(1))\n# HEADING `tick`:9100";

/// One host at 97 % CPU whose instance label is [`HOSTILE_INSTANCE`], one quiet host: reports
/// must show the label as data, never as markup or terminal control.
pub fn hostile_labels() -> Scenario {
    let mut evil = Host::healthy(HOSTILE_INSTANCE);
    cpu(&mut evil, 0.85, 0.12);
    evil.running = Shape::c(3.9);
    let quiet = Host::healthy("quiet-1:9100");
    Scenario::new(
        "hostile_labels",
        "a host at 97% CPU whose instance label carries terminal escapes, HTML, a javascript: link and a Markdown heading",
        vec![evil, quiet],
        vec![expect(HOSTILE_INSTANCE, "cpu.utilization", "medium", "medium")],
    )
}

/// `cpu_mixed`, from exporters that do not say which collectors work.
pub fn cpu_without_collector_status() -> Scenario {
    let mut s = cpu_mixed();
    for h in &mut s.hosts {
        h.failing.clear();
        h.disabled.clear();
        h.collector_status = false;
    }
    s.name = "cpu_without_collector_status";
    s.description =
        "cpu_mixed without node_scrape_collector_success: collector coverage is unknown";
    s
}

/// `cpu_mixed`'s hosts with 45 s of history: far shorter than the window.
pub fn cpu_fresh_targets() -> Scenario {
    let mut s = cpu_mixed();
    s.name = "cpu_fresh_targets";
    s.description = "cpu_mixed's hosts scraped for 45 s only: nothing is sustained yet, and utilization must still be right";
    s.history = 45;
    s.expect.clear();
    s
}

/// Four quiet hosts of different shapes.
pub fn healthy_fleet() -> Scenario {
    let web1 = Host::healthy("web-1:9100");
    let mut web2 = Host::healthy("web-2:9100");
    web2.cpus = 8;
    cpu(&mut web2, 0.25, 0.06);
    web2.disks.push(Disk {
        name: "sdb".into(),
        ..web2.disks[0].clone()
    });
    let mut db = Host::healthy("db-1:9100");
    db.cpus = 16;
    db.disks[0].name = "nvme0n1".into();
    // A healthy NVMe device's latency (Systems Performance Table 9.1: flash 0.1-1 ms), not the
    // 2-3 ms of the template's sda, which is slow for NVMe (issue 17 item 8).
    db.disks[0].read_ms = Shape::c(0.2);
    db.disks[0].write_ms = Shape::c(0.05);
    db.memory.used_percent = Shape::c(70.0);
    let mut cache = Host::healthy("cache-1:9100");
    cache.cpus = 2;
    cache.nics[0].speed = Some(1_250_000_000.0);
    Scenario::new(
        "healthy_fleet",
        "four healthy hosts with 2 to 16 CPUs, one or two disks: nothing to report",
        vec![web1, web2, db, cache],
        vec![],
    )
}

/// 92 % CPU with nothing waiting.
pub fn busy_but_healthy() -> Scenario {
    let mut h = Host::healthy("batch-1:9100");
    cpu(&mut h, 0.82, 0.10);
    h.running = Shape::c(3.5);
    h.load1 = Shape::c(3.6);
    Scenario::new(
        "busy_but_healthy",
        "a batch host at 92% CPU with no run-queue wait: busy, not a bottleneck",
        vec![h],
        vec![expect("batch-1:9100", "cpu.utilization", "low", "low")
            .mentioning("not yet a bottleneck")],
    )
}

fn cpu_saturated(h: &mut Host) {
    cpu(h, 0.85, 0.12);
    h.pressure.cpu = Shape::c(0.40);
    h.runqueue_wait = Shape::c(1.5);
    h.running = Shape::c(10.0);
    h.load1 = Shape::c(10.5);
}

/// For dashboard analysis (not in [`all`]: its story is told by a dashboard,
/// `tests/data/dashboards/scenario-incident.json`): api-1 runs at 10 % CPU until 40 minutes
/// before the end, then saturates (97 % CPU, load 10.5 on 4 CPUs, 40 % PSI stall) until the
/// end; web-1 stays healthy. CPU, load and pressure panels must be flagged for api-1 and
/// correlate (they step up together); memory must not be flagged.
pub fn dashboard_incident() -> Scenario {
    let mut api = Host::healthy("api-1:9100");
    let from = -2400;
    api.cpu.user = Shape::c(0.10).since(from, 0.85);
    api.cpu.system = Shape::c(0.04).since(from, 0.12);
    api.pressure.cpu = Shape::c(0.01).since(from, 0.40);
    api.runqueue_wait = Shape::c(0.02).since(from, 1.5);
    api.running = Shape::c(1.5).since(from, 10.0);
    api.load1 = Shape::c(0.8).since(from, 10.5);
    let web = Host::healthy("web-1:9100");
    Scenario::new(
        "dashboard_incident",
        "api-1 saturates its CPUs 40 minutes before the end (97% CPU, load 10.5 on 4 CPUs, 40% PSI); web-1 stays healthy",
        vec![api, web],
        vec![expect("api-1:9100", "cpu.bottleneck", "critical", "critical")],
    )
}

/// 97 % CPU with 40 % PSI stall: a bottleneck.
pub fn cpu_bottleneck_psi() -> Scenario {
    let mut h = Host::healthy("api-1:9100");
    cpu_saturated(&mut h);
    Scenario::new(
        "cpu_bottleneck_psi",
        "97% CPU while runnable tasks wait 40% of the time (PSI): a CPU bottleneck",
        vec![h],
        vec![expect("api-1:9100", "cpu.bottleneck", "critical", "critical").mentioning("PSI")],
    )
}

/// The same bottleneck on a kernel without PSI: schedstat tells.
pub fn cpu_bottleneck_schedstat() -> Scenario {
    let mut h = Host::healthy("api-2:9100");
    cpu_saturated(&mut h);
    h.failing.push("pressure");
    Scenario::new(
        "cpu_bottleneck_schedstat",
        "a CPU bottleneck on a kernel without PSI: run-queue wait from schedstat is the signal used",
        vec![h],
        vec![expect("api-2:9100", "cpu.bottleneck", "critical", "critical").mentioning("run-queue wait")],
    )
}

/// Hosts whose best CPU saturation signal differs: PSI on most, schedstat where PSI fails.
pub fn cpu_saturation_signals_mixed() -> Scenario {
    let mut psi = Host::healthy("psi-hot:9100");
    cpu_saturated(&mut psi);
    let mut schedstat = Host::healthy("nopsi-hot:9100");
    cpu_saturated(&mut schedstat);
    schedstat.failing.push("pressure");
    let mut quiet = Host::healthy("nopsi-quiet:9100");
    quiet.failing.push("pressure");
    let mut hosts = vec![psi, schedstat, quiet];
    for i in 0..3 {
        hosts.push(Host::healthy(&format!("calm-{i}:9100")));
    }
    Scenario::new(
        "cpu_saturation_signals_mixed",
        "two CPU bottlenecks, one seen by PSI and one by schedstat (PSI fails there), beside quiet hosts with and without PSI",
        hosts,
        vec![
            expect("psi-hot:9100", "cpu.bottleneck", "critical", "critical").mentioning("PSI"),
            expect("nopsi-hot:9100", "cpu.bottleneck", "critical", "critical").mentioning("run-queue wait"),
        ],
    )
}

fn weak_collectors(h: &mut Host) {
    h.failing.extend(["pressure", "schedstat"]);
    h.disabled.push("stat");
}

/// High load made of tasks blocked on I/O: not CPU saturation.
pub fn load_from_io_wait() -> Scenario {
    let mut h = Host::healthy("nfs-client-1:9100");
    weak_collectors(&mut h);
    cpu(&mut h, 0.10, 0.05);
    h.cpu.iowait = Shape::c(0.45);
    h.load1 = Shape::c(12.0);
    Scenario::new(
        "load_from_io_wait",
        "load 12 on 4 CPUs made of tasks blocked on I/O (iowait 45%), only load available: never called CPU saturation",
        vec![h],
        vec![expect("nfs-client-1:9100", "coverage", "info", "info").mentioning("pressure")],
    )
}

/// Only load tells of saturation: the finding is weak and says so.
pub fn load_as_cpu_saturation() -> Scenario {
    let mut h = Host::healthy("legacy-1:9100");
    weak_collectors(&mut h);
    cpu(&mut h, 0.86, 0.12);
    h.cpu.iowait = Shape::c(0.0);
    h.load1 = Shape::c(12.0);
    Scenario::new(
        "load_as_cpu_saturation",
        "98% CPU and load 3 per CPU on a host exposing neither PSI, schedstat nor procs_running: a bottleneck with low confidence",
        vec![h],
        vec![
            expect("legacy-1:9100", "cpu.bottleneck", "medium", "medium").mentioning("load per CPU"),
            expect("legacy-1:9100", "coverage", "info", "info"),
        ],
    )
}

/// One hot CPU out of eight.
pub fn cpu_imbalance() -> Scenario {
    let mut h = Host::healthy("worker-1:9100");
    h.cpus = 8;
    cpu(&mut h, 0.03, 0.02);
    h.cpu.hot = Some((3, Shape::c(0.97)));
    Scenario::new(
        "cpu_imbalance",
        "CPU 3 at 99% while the 8 CPUs average 17%: a single-threaded hot spot",
        vec![h],
        vec![expect("worker-1:9100", "cpu.imbalance", "high", "high").on("3")],
    )
}

/// A quarter of the CPU time stolen by the hypervisor.
pub fn cpu_steal() -> Scenario {
    let mut h = Host::healthy("vm-1:9100");
    cpu(&mut h, 0.30, 0.05);
    h.cpu.steal = Shape::c(0.25);
    Scenario::new(
        "cpu_steal",
        "25% steal: the hypervisor withholds CPU, an external cause",
        vec![h],
        vec![expect("vm-1:9100", "cpu.steal", "high", "high").mentioning("hypervisor")],
    )
}

/// A one-minute spike of everything.
pub fn short_spike() -> Scenario {
    let mut h = Host::healthy("spiky-1:9100");
    h.cpu.user = Shape::c(0.10).burst(-300, -240, 0.95);
    h.cpu.system = Shape::c(0.04).burst(-300, -240, 0.04);
    h.pressure.cpu = Shape::c(0.01).burst(-300, -240, 0.8);
    h.disks[0].util = Shape::c(0.1).burst(-300, -240, 1.0);
    h.disks[0].queue = Shape::c(0.2).burst(-300, -240, 30.0);
    Scenario::new(
        "short_spike",
        "CPU and disk pegged for one minute only: a spike, not an insight",
        vec![h],
        vec![],
    )
}

/// Memory full, with stalls and swapping.
pub fn memory_exhaustion() -> Scenario {
    let mut h = Host::healthy("jvm-1:9100");
    h.memory.used_percent = Shape::c(97.0);
    h.pressure.memory_some = Shape::c(0.30);
    h.pressure.memory_full = Shape::c(0.12);
    h.memory.swap_pages = Shape::c(2000.0);
    h.memory.major_faults = Shape::c(3000.0);
    h.memory.swap_used_percent = Shape::c(60.0);
    Scenario::new(
        "memory_exhaustion",
        "97% of memory in use while tasks stall on memory and pages swap: one memory insight with the stalls as evidence",
        vec![h],
        vec![expect("jvm-1:9100", "memory.utilization", "critical", "critical").mentioning("memory pressure")],
    )
}

/// The OOM killer at work.
pub fn oom_kills() -> Scenario {
    let mut h = Host::healthy("worker-oom:9100");
    h.memory.oom_kills = vec![-400, -200, -100];
    Scenario::new(
        "oom_kills",
        "three OOM kills in the last ten minutes",
        vec![h],
        vec![expect(
            "worker-oom:9100",
            "memory.errors.oom_kills",
            "high",
            "high",
        )],
    )
}

/// Swap in use, nothing moving.
pub fn swap_used_without_swapping() -> Scenario {
    let mut h = Host::healthy("old-1:9100");
    h.memory.swap_used_percent = Shape::c(40.0);
    Scenario::new(
        "swap_used_without_swapping",
        "40% of swap in use but no pages moving: worth a note, not an alarm",
        vec![h],
        vec![expect(
            "old-1:9100",
            "memory.utilization.swap",
            "low",
            "low",
        )],
    )
}

/// A disk at 98 % with a deep queue and slow writes.
pub fn disk_bottleneck() -> Scenario {
    let mut h = Host::healthy("db-2:9100");
    let d = &mut h.disks[0];
    d.util = Shape::c(0.98);
    d.queue = Shape::c(14.0);
    d.write_iops = Shape::c(400.0);
    d.write_ms = Shape::c(80.0);
    h.pressure.io_some = Shape::c(0.35);
    h.cpu.iowait = Shape::c(0.2);
    Scenario::new(
        "disk_bottleneck",
        "sda busy 98% with 14 I/Os queued, 80 ms writes and 35% I/O pressure: a disk bottleneck",
        vec![h],
        vec![expect("db-2:9100", "disk.bottleneck", "critical", "critical").on("sda")],
    )
}

/// An NVMe device busy but fast.
pub fn disk_busy_fast_device() -> Scenario {
    let mut h = Host::healthy("ssd-1:9100");
    let d = &mut h.disks[0];
    d.name = "nvme0n1".into();
    d.util = Shape::c(0.95);
    d.queue = Shape::c(1.2);
    d.read_iops = Shape::c(5000.0);
    d.read_ms = Shape::c(0.3);
    d.write_ms = Shape::c(0.2);
    Scenario::new(
        "disk_busy_fast_device",
        "an NVMe device with an I/O in flight 95% of the time but no queue and 0.3 ms latency: busy, not a bottleneck",
        vec![h],
        vec![expect("ssd-1:9100", "disk.utilization", "medium", "medium").on("nvme0n1")],
    )
}

/// A mirror with a failed member.
pub fn raid_degraded() -> Scenario {
    let mut h = Host::healthy("storage-1:9100");
    h.md.push(Md {
        name: "md0".into(),
        required: 2.0,
        active: 1.0,
        failed: 1.0,
    });
    Scenario::new(
        "raid_degraded",
        "md0 runs on one of its two disks; the other failed",
        vec![h],
        vec![
            expect(
                "storage-1:9100",
                "disk.errors.md_degraded",
                "critical",
                "critical",
            )
            .on("md0"),
            expect("storage-1:9100", "disk.errors.md_failed", "high", "high").on("md0"),
        ],
    )
}

fn fs(mountpoint: &str, size_gib: f64, used_percent: f64, growth: f64) -> Filesystem {
    let name = mountpoint.trim_start_matches('/').replace('/', "_");
    Filesystem {
        mountpoint: mountpoint.into(),
        device: format!(
            "/dev/{}",
            if name.is_empty() {
                "root"
            } else {
                name.as_str()
            }
        ),
        fstype: "xfs".into(),
        size: size_gib * 1024.0 * 1024.0 * 1024.0,
        used_percent,
        growth,
        bursts: Vec::new(),
        inodes_used_percent: 5.0,
        readonly_from: None,
        readonly: false,
        device_error: false,
    }
}

/// A root filesystem at 98 % and still growing.
pub fn filesystem_full() -> Scenario {
    let mut h = Host::healthy("logs-1:9100");
    h.filesystems[0].used_percent = 98.0;
    h.filesystems[0].growth = 1_000_000.0;
    // A read-only image mount must not be reported.
    let mut image = fs("/snap/core", 0.1, 100.0, 0.0);
    image.fstype = "squashfs".into();
    image.readonly = true;
    h.filesystems.push(image);
    let mut s = Scenario::new(
        "filesystem_full",
        "/ at 98% and growing 1 MB/s for 7 hours (full in under an hour); a squashfs image at 100% is ignored",
        vec![h],
        vec![
            expect("logs-1:9100", "filesystem.space", "critical", "critical")
                .on("/")
                .mentioning("time until full"),
        ],
    );
    // A time to full needs the 6 hours of its fit, plus the hour it is held (issue 17 item 3).
    s.history = 7 * 3600;
    s
}

/// A data filesystem filling within a day.
pub fn filesystem_filling() -> Scenario {
    let mut h = Host::healthy("app-1:9100");
    h.filesystems.push(fs("/data", 500.0, 70.0, 3_000_000.0));
    let mut s = Scenario::new(
        "filesystem_filling",
        "/data at 70% but growing 3 MB/s for 7 hours: full in about 15 hours",
        vec![h],
        vec![expect("app-1:9100", "filesystem.time_to_full", "high", "high").on("/data")],
    );
    // A time to full needs the 6 hours of its fit, plus the hour it is held (issue 17 item 3).
    s.history = 7 * 3600;
    s
}

/// An interface at line rate, dropping and retransmitting.
pub fn network_bottleneck() -> Scenario {
    let mut h = Host::healthy("edge-1:9100");
    let n = &mut h.nics[0];
    n.rx_bytes = Shape::c(120_000_000.0);
    n.packets = Shape::c(80_000.0);
    n.drop_ratio = Shape::c(0.03);
    h.tcp_retrans_ratio = Shape::c(0.06);
    h.softnet_drops = Shape::c(20.0);
    Scenario::new(
        "network_bottleneck",
        "eth0 receiving at 96% of 1 Gbit/s while dropping 3% of packets and retransmitting 6%",
        vec![h],
        vec![expect("edge-1:9100", "network.bottleneck", "critical", "critical").on("eth0")],
    )
}

/// A virtual NIC without a link speed.
pub fn network_unknown_speed() -> Scenario {
    let mut h = Host::healthy("vm-net-1:9100");
    h.nics[0].speed = None;
    Scenario::new(
        "network_unknown_speed",
        "eth0 reports no link speed: utilization is a coverage gap, not a guess",
        vec![h],
        vec![expect("vm-net-1:9100", "coverage", "info", "info").mentioning("link speed unknown")],
    )
}

/// A flaky link.
pub fn network_errors() -> Scenario {
    let mut h = Host::healthy("flaky-1:9100");
    h.nics.push(Nic {
        name: "eth1".into(),
        error_ratio: Shape::c(0.02),
        carrier_changes: vec![-500, -450, -300, -250],
        ..h.nics[0].clone()
    });
    Scenario::new(
        "network_errors",
        "eth1 corrupts 2% of packets and lost carrier twice in ten minutes",
        vec![h],
        vec![
            expect(
                "flaky-1:9100",
                "network.errors.interface",
                "critical",
                "critical",
            )
            .on("eth1"),
            expect(
                "flaky-1:9100",
                "network.errors.carrier_flaps",
                "high",
                "high",
            )
            .on("eth1"),
        ],
    )
}

/// An application that does not accept fast enough.
pub fn listen_overflows() -> Scenario {
    let mut h = Host::healthy("frontend-1:9100");
    h.listen_overflows = Shape::c(12.0);
    Scenario::new(
        "listen_overflows",
        "12 listen-queue overflows per second: clients retry SYNs",
        vec![h],
        vec![expect(
            "frontend-1:9100",
            "network.saturation.listen_overflows",
            "critical",
            "critical",
        )],
    )
}

/// Kernel tables filling up.
pub fn system_limits() -> Scenario {
    let mut h = Host::healthy("gateway-1:9100");
    h.fd_allocated = Shape::c(950_000.0);
    h.conntrack = Shape::c(210_000.0);
    Scenario::new(
        "system_limits",
        "95% of fs.file-max allocated and the conntrack table 80% full",
        vec![h],
        vec![
            expect(
                "gateway-1:9100",
                "system.file_descriptors",
                "critical",
                "critical",
            ),
            expect("gateway-1:9100", "system.conntrack", "high", "high"),
        ],
    )
}

/// No time daemon.
pub fn clock_unsynchronised() -> Scenario {
    let mut h = Host::healthy("drift-1:9100");
    h.clock_synced = false;
    h.clock_maxerror = 16.5;
    h.clock_offset = Shape::c(0.8);
    Scenario::new(
        "clock_unsynchronised",
        "the kernel gave up on its time source and the clock is 800 ms off",
        vec![h],
        vec![
            expect(
                "drift-1:9100",
                "system.clock_unsynchronised",
                "high",
                "high",
            ),
            expect(
                "drift-1:9100",
                "system.clock_offset",
                "critical",
                "critical",
            ),
        ],
    )
}

/// A host whose exporter lacks several collectors.
pub fn missing_collectors() -> Scenario {
    let mut h = Host::healthy("minimal-1:9100");
    h.failing.extend(["pressure", "schedstat"]);
    h.disabled.push("netclass");
    Scenario::new(
        "missing_collectors",
        "no PSI, no schedstat, no netclass, no processes: coverage gaps said once, saturation from procs_running",
        vec![h],
        vec![expect("minimal-1:9100", "coverage", "info", "info").mentioning("netclass")],
    )
}

/// Twelve hosts, two in trouble, the rest healthy but imperfect (resets, gaps, sizes).
pub fn mixed_fleet() -> Scenario {
    let mut hosts = Vec::new();
    for i in 0..10 {
        let mut h = Host::healthy(&format!("node-{i}:9100"));
        h.cpus = [2, 4, 8, 16, 32][i % 5];
        cpu(&mut h, 0.05 + 0.05 * (i % 4) as f64, 0.03);
        if i % 3 == 0 {
            h.disks.push(Disk {
                name: "sdb".into(),
                ..h.disks[0].clone()
            });
        }
        if i == 4 {
            h.reset_at = Some(-200);
        }
        if i == 6 {
            h.gap = Some((-240, -180));
        }
        if i == 8 {
            h.jitter = false;
        }
        hosts.push(h);
    }
    let mut hot = Host::healthy("hot-7:9100");
    cpu_saturated(&mut hot);
    hosts.push(hot);
    let mut full = Host::healthy("full-3:9100");
    full.filesystems[0].used_percent = 97.5;
    hosts.push(full);
    Scenario::new(
        "mixed_fleet",
        "ten healthy hosts of 2 to 32 CPUs (one restarted, one with a scrape gap), one CPU bottleneck, one full disk",
        hosts,
        vec![
            expect("hot-7:9100", "cpu.bottleneck", "critical", "critical"),
            expect("full-3:9100", "filesystem.space", "critical", "critical").on("/"),
        ],
    )
}

/// Two identical bottlenecks, one on a host whose counters reset mid-window.
pub fn counter_reset_lowers_confidence() -> Scenario {
    let mut a = Host::healthy("twin-a:9100");
    cpu_saturated(&mut a);
    let mut b = Host::healthy("twin-b:9100");
    cpu_saturated(&mut b);
    b.reset_at = Some(-200);
    Scenario::new(
        "counter_reset_lowers_confidence",
        "the same CPU bottleneck on two hosts; twin-b restarted 200 s ago, which must lower confidence, not hide the finding",
        vec![a, b],
        vec![
            expect("twin-a:9100", "cpu.bottleneck", "critical", "critical"),
            expect("twin-b:9100", "cpu.bottleneck", "critical", "critical"),
        ],
    )
}

/// A fleet of `n` small hosts (2 CPUs, one disk, filesystem and interface) for benchmarks:
/// mostly healthy, with a CPU bottleneck every 50 hosts, a full filesystem every 97 and memory
/// pressure every 31, scraped every 30 s for 15 minutes.
pub fn fleet(n: usize) -> Scenario {
    let hosts = (0..n)
        .map(|i| {
            let mut h = Host::healthy(&format!("host-{i:05}:9100"));
            h.cpus = 2;
            if i % 50 == 7 {
                cpu_saturated(&mut h);
            }
            if i % 97 == 3 {
                h.filesystems[0].used_percent = 98.0;
            }
            if i % 31 == 5 {
                h.memory.used_percent = Shape::c(96.0);
                h.pressure.memory_some = Shape::c(0.25);
            }
            h
        })
        .collect();
    Scenario {
        name: "fleet",
        description: "a benchmark fleet",
        at: END,
        history: 900,
        step: 30,
        hosts,
        expect: Vec::new(),
        histograms: Vec::new(),
        histogram: None,
        slo: None,
        group_by: None,
        cluster: Cluster::default(),
    }
}

/// Offset at which [`workload_shift`]'s change starts (it lasts to the end).
pub const SHIFT_FROM: i64 = -420;

/// db-1's workload changes inside the window while its resources stay unstrained.
pub fn workload_shift() -> Scenario {
    let mut hosts: Vec<Host> = (1..=3)
        .map(|i| Host::healthy(&format!("db-{i}:9100")))
        .collect();
    let h = &mut hosts[0];
    h.context_switches = Shape::c(9_000.0).since(SHIFT_FROM, 45_000.0);
    let d = &mut h.disks[0];
    d.write_iops = Shape::c(d.write_iops.base).since(SHIFT_FROM, 3.0 * d.write_iops.base);
    Scenario::new(
        "workload_shift",
        "db-1's context switches jump from 9,000 to 45,000/s and sda's write IOPS triple (30 to 90/s) 7 minutes before the end, with sda's utilization and latency unchanged: a workload change, not a saturated resource",
        hosts,
        vec![
            expect("db-1:9100", "workload.context_switches", "low", "medium")
                .mentioning("Context switches"),
            expect("db-1:9100", "workload.disk_write_iops", "low", "medium").on("sda"),
        ],
    )
}

/// One process group uses most of a busy host's CPU.
pub fn culprit_process() -> Scenario {
    let mut h = Host::healthy("app-1:9100");
    h.cpus = 8;
    cpu(&mut h, 0.74, 0.14);
    h.running = Shape::c(7.0);
    h.load1 = Shape::c(7.2);
    h.processes.push(Process::new("postgres", 6.4));
    for name in [
        "nginx",
        "sshd",
        "cron",
        "rsyslogd",
        "node_exporter",
        "systemd",
        "containerd",
        "kubelet",
        "chronyd",
        "dbus-daemon",
        "bash",
    ] {
        h.processes.push(Process::new(name, 0.05));
    }
    let mut quiet = Host::healthy("quiet-1:9100");
    for name in ["sshd", "cron", "node_exporter"] {
        quiet.processes.push(Process::new(name, 0.02));
    }
    Scenario::new(
        "culprit_process",
        "app-1 at 88% of 8 CPUs with nothing waiting, 6.4 of its 7 busy CPUs used by postgres (process-exporter), 11 other groups at 0.05 CPUs; quiet-1 idle with 3 small processes",
        vec![h, quiet],
        vec![expect("app-1:9100", "cpu.utilization", "low", "low").mentioning("postgres")],
    )
}

/// Request latency of an API breaking its objective in the last 10 minutes.
pub fn latency_slo() -> Scenario {
    let mut http = Histogram::new(
        "http_request_duration_seconds",
        "api-1:8080",
        "api",
        &DEFAULT_BUCKETS,
        Shape::c(200.0),
        vec![(0.008, 0.60), (0.02, 0.37), (0.04, 0.03)],
    );
    http.during
        .push((-600, 0, vec![(0.008, 0.60), (0.02, 0.365), (0.8, 0.035)]));
    let mut s = Scenario::new(
        "latency_slo",
        "api-1:8080 serves 200 requests/s; in the last 10 minutes 3.5% take 0.8 s (p99 between 0.5 and 1 s, p50 still 8 ms) against an objective of 99% within 0.25 s; before, p99 was about 40 ms",
        vec![Host::healthy("api-1:9100")],
        vec![expect("api-1:8080", "latency.slo", "high", "critical").mentioning("p99")],
    );
    s.histograms.push(http);
    s.histogram = Some("http_request_duration_seconds");
    s.slo = Some("0.25@99");
    s
}

/// Fifty similar hosts, one far busier than its peers yet below any USE threshold.
pub fn fleet_outlier() -> Scenario {
    let hosts = (1..=50)
        .map(|i| {
            let mut h = Host::healthy(&format!("peer-{i:02}:9100"));
            h.cpus = 2;
            if i == 17 {
                cpu(&mut h, 0.66, 0.08);
            } else {
                cpu(&mut h, 0.22 + 0.01 * (i % 7) as f64, 0.06);
            }
            h
        })
        .collect();
    Scenario::new(
        "fleet_outlier",
        "50 peers of 2 CPUs at 28 to 34% CPU, and peer-17 at 74%: under the 80% USE warning with nothing waiting, but an outlier among its peers",
        hosts,
        vec![expect("peer-17:9100", "outlier.cpu.utilization", "low", "medium")],
    )
}

/// Offset at which [`transient_condition`]'s bottleneck starts.
pub const TRANSIENT_FROM: i64 = -480;
/// Offset at which [`transient_condition`]'s bottleneck ends.
pub const TRANSIENT_TO: i64 = -180;

/// A CPU bottleneck that came and went inside the window.
pub fn transient_condition() -> Scenario {
    let (from, to) = (TRANSIENT_FROM, TRANSIENT_TO);
    let mut h = Host::healthy("blip-1:9100");
    let calm = Host::healthy("calm-1:9100");
    // cpu_saturated between `from` and `to`, healthy outside.
    h.cpu.user = h.cpu.user.clone().burst(from, to, 0.85);
    h.cpu.system = h.cpu.system.clone().burst(from, to, 0.12);
    h.pressure.cpu = h.pressure.cpu.clone().burst(from, to, 0.40);
    h.runqueue_wait = h.runqueue_wait.clone().burst(from, to, 1.5);
    h.running = h.running.clone().burst(from, to, 10.0);
    h.load1 = h.load1.clone().burst(from, to, 10.5);
    Scenario::new(
        "transient_condition",
        "blip-1 at 97% CPU with tasks waiting 40% of the time (PSI) from 8 to 3 minutes before the end, healthy before and after; calm-1 healthy throughout",
        vec![h, calm],
        vec![expect("blip-1:9100", "cpu.bottleneck", "high", "critical")],
    )
}

/// A busy NIC and an application that does not accept() fast enough, on the same host.
pub fn busy_nic_listen_overflows() -> Scenario {
    let mut h = Host::healthy("front-2:9100");
    h.nics[0].rx_bytes = Shape::c(100_000_000.0);
    h.nics[0].packets = Shape::c(70_000.0);
    h.listen_overflows = Shape::c(12.0);
    Scenario::new(
        "busy_nic_listen_overflows",
        "eth0 at 80% of 1 Gbit/s with no drops, and 12 listen-queue overflows/s on the host: an accept() problem beside a busy NIC, not a NIC bottleneck",
        vec![h],
        vec![
            expect("front-2:9100", "network.utilization", "low", "low").on("eth0"),
            expect(
                "front-2:9100",
                "network.saturation.listen_overflows",
                "critical",
                "critical",
            ),
        ],
    )
}

/// A busy local disk that does not queue, while tasks stall on I/O elsewhere (NFS).
pub fn busy_disk_nfs_pressure() -> Scenario {
    let mut h = Host::healthy("build-1:9100");
    let d = &mut h.disks[0];
    d.util = Shape::c(0.85);
    d.queue = Shape::c(0.9);
    d.read_iops = Shape::c(300.0);
    d.read_ms = Shape::c(2.0);
    d.write_ms = Shape::c(3.0);
    h.pressure.io_some = Shape::c(0.35);
    h.cpu.iowait = Shape::c(0.15);
    Scenario::new(
        "busy_disk_nfs_pressure",
        "sda busy 85% with under one I/O queued and 2-3 ms latency, while tasks stall on I/O 35% of the time (PSI, which counts NFS waits too): I/O pressure of its own, not a bottleneck on sda",
        vec![h],
        vec![
            expect("build-1:9100", "disk.utilization", "low", "low").on("sda"),
            expect("build-1:9100", "disk.saturation.psi", "high", "critical"),
        ],
    )
}

/// Two 1-vCPU guests, each with one task running: busy with nothing queued.
pub fn one_vcpu_guest() -> Scenario {
    // PSI and schedstat unavailable: runnable tasks (procs_running) are the signal.
    let mut runnable = Host::healthy("tiny-1:9100");
    runnable.cpus = 1;
    runnable.failing.extend(["pressure", "schedstat"]);
    cpu(&mut runnable, 0.40, 0.10);
    runnable.running = Shape::c(1.0);
    runnable.load1 = Shape::c(1.0);
    // Neither, nor procs_running: load is the signal.
    let mut load = Host::healthy("tiny-2:9100");
    load.cpus = 1;
    weak_collectors(&mut load);
    cpu(&mut load, 0.40, 0.10);
    load.cpu.iowait = Shape::c(0.0);
    load.load1 = Shape::c(1.0);
    Scenario::new(
        "one_vcpu_guest",
        "1-vCPU guests at 50% CPU with one runnable task (node_exporter itself) and load 1.0: runnable equal to the CPU count is busy, not saturation",
        vec![runnable, load],
        vec![],
    )
}

/// Thermal throttling on a 64-core package: every core's counter moves with the package's.
pub fn throttling_many_cores() -> Scenario {
    let mut h = Host::healthy("hpc-1:9100");
    h.cpus = 64;
    h.throttles = Some(vec![-400, -200]);
    Scenario::new(
        "throttling_many_cores",
        "two package throttling events on 64 cores, counted by each core's counter and the package's: 2 events per core, not 130",
        vec![h],
        vec![expect("hpc-1:9100", "cpu.errors.throttling", "high", "high").mentioning("64 cores")],
    )
}

/// Offset at which [`short_burst_long_windows`]' burst starts (30 minutes before the end).
pub const BURST_FROM: i64 = -1800;
/// Offset at which it ends (3 minutes later).
pub const BURST_TO: i64 = -1620;
/// Share of the time tasks wait for a CPU during the burst (PSI cpu some).
pub const BURST_CPU_PRESSURE: f64 = 0.80;

/// A 3-minute CPU burst 30 minutes before the end, with 25 hours of history so that 1 h, 6 h and
/// 24 h windows can judge it.
pub fn short_burst_long_windows() -> Scenario {
    let (from, to) = (BURST_FROM, BURST_TO);
    let mut h = Host::healthy("burst-1:9100");
    h.cpu.user = h.cpu.user.clone().burst(from, to, 0.85);
    h.cpu.system = h.cpu.system.clone().burst(from, to, 0.12);
    h.pressure.cpu = h.pressure.cpu.clone().burst(from, to, BURST_CPU_PRESSURE);
    h.runqueue_wait = h.runqueue_wait.clone().burst(from, to, 2.0);
    h.running = h.running.clone().burst(from, to, 10.0);
    h.load1 = h.load1.clone().burst(from, to, 10.5);
    let mut s = Scenario::new(
        "short_burst_long_windows",
        "burst-1 at 97% CPU with tasks waiting 80% of the time for 3 minutes, 30 minutes before the end, healthy otherwise: a burst at 1 h, 6 h and 24 h windows, never a sustained condition; outside a 10-minute window",
        vec![h],
        vec![],
    );
    s.history = 25 * 3600;
    s
}

/// A disk bottleneck whose partitions carry the same I/O: one problem, reported once.
pub fn partitions_on_busy_disk() -> Scenario {
    let mut s = disk_bottleneck();
    let sda = s.hosts[0].disks[0].clone();
    for name in ["sda1", "sda2"] {
        s.hosts[0].disks.push(Disk {
            name: name.into(),
            ..sda.clone()
        });
    }
    s.name = "partitions_on_busy_disk";
    s.description = "disk_bottleneck with partitions sda1 and sda2 showing sda's own I/O (node_exporter exports partitions too): one disk bottleneck on sda, nothing on the partitions";
    s
}

/// A histogram the latency analysis cannot use: no `+Inf` bucket and almost no observations.
/// Not in [`all`]: for a dedicated test.
pub fn latency_bad_histogram() -> Scenario {
    let mut rpc = Histogram::new(
        "rpc_duration_seconds",
        "api-2:8080",
        "rpc",
        &DEFAULT_BUCKETS,
        Shape::c(0.01),
        vec![(0.008, 0.60), (0.02, 0.37), (0.04, 0.03)],
    );
    rpc.omit_inf = true;
    let mut s = Scenario::new(
        "latency_bad_histogram",
        "rpc_duration_seconds on api-2:8080 has no +Inf bucket and 0.01 observations/s: unusable for latency analysis",
        vec![Host::healthy("api-2:9100")],
        vec![],
    );
    s.histograms.push(rpc);
    s.histogram = Some("rpc_duration_seconds");
    s
}

/// Issue 17: threads exhaust pid_max while processes are few (pid_max limits tasks).
pub fn pid_max_threads() -> Scenario {
    let mut h = Host::healthy("threads-1:9100");
    h.disabled.retain(|c| *c != "processes");
    h.pids = Shape::c(400.0);
    h.pid_max = 32_768.0;
    h.threads = Shape::c(31_500.0);
    h.threads_max = 120_000.0;
    Scenario::new(
        "pid_max_threads",
        "400 processes but 31 500 tasks (threads) against a pid_max of 32 768; threads-max 120 000",
        vec![h],
        vec![
            expect("threads-1:9100", "system.pids", "critical", "critical")
                .mentioning("threads included"),
        ],
    )
}

/// Issue 17: fs.file-max at LONG_MAX (systemd >= 240) and one process group near its own
/// descriptor limit.
pub fn systemd_file_max() -> Scenario {
    let mut h = Host::healthy("web-1:9100");
    h.fd_max = 9_223_372_036_854_775_807.0;
    h.fd_allocated = Shape::c(12_000.0);
    let mut nginx = Process::new("nginx", 0.2);
    nginx.open_fds = 1_000.0;
    h.processes.push(nginx);
    h.processes.push(Process::new("sshd", 0.01));
    Scenario::new(
        "systemd_file_max",
        "fs.file-max is LONG_MAX (systemd >= 240); nginx holds 1000 of its 1024 descriptors (process-exporter)",
        vec![h],
        vec![
            expect("web-1:9256", "system.process_fds", "critical", "critical").on("nginx"),
            expect("web-1:9100", "coverage", "info", "low").mentioning("LONG_MAX"),
        ],
    )
}

/// Issue 17: a chrony host (kernel offset stays 0) and an ntpd host whose clock is being
/// slewed back from 0.9 s.
pub fn chrony_and_slewing_clocks() -> Scenario {
    let mut chrony = Host::healthy("chrony-1:9100");
    chrony.clock_offset = Shape::c(0.0);
    chrony.clock_maxerror = 0.01;
    let mut slewing = Host::healthy("ntp-1:9100");
    // From 0.9 s an hour ago to 0.1 s now, one step per scrape: shrinking throughout.
    let mut offset = Shape::c(0.1);
    for k in 0..240_u32 {
        let from = -3600 + 15 * i64::from(k);
        offset = offset.burst(from, from + 15, 0.9 - 0.8 * f64::from(k) / 240.0);
    }
    slewing.clock_offset = offset;
    Scenario::new(
        "chrony_and_slewing_clocks",
        "chrony-1: kernel offset exactly 0 (chrony does not use the kernel PLL); ntp-1: offset shrinking from 0.9 s to 0.1 s (being slewed back)",
        vec![chrony, slewing],
        vec![expect("chrony-1:9100", "coverage", "info", "low").mentioning("chrony_exporter")],
    )
}

/// Issue 17: the network stack's drops beyond NIC and accept queue: UDP socket buffers, SYN
/// queue, SYN retransmits, conntrack insertions.
pub fn network_stack_drops() -> Scenario {
    let mut udp = Host::healthy("dns-1:9100");
    udp.expert.udp_rcvbuf_errors = Shape::c(20.0);
    udp.expert.udp_other_in_errors = Shape::c(1.0);
    let mut syn = Host::healthy("listen-1:9100");
    syn.expert.listen_drops_beyond_overflows = Shape::c(2.0);
    syn.expert.syncookies = Shape::c(5.0);
    let mut client = Host::healthy("client-1:9100");
    client.expert.syn_retrans_ratio = Shape::c(0.10);
    let mut nat = Host::healthy("nat-1:9100");
    nat.expert.conntrack_insert_failed = Shape::c(0.5);
    Scenario::new(
        "network_stack_drops",
        "dns-1: 20 UDP datagrams/s dropped at full receive buffers; listen-1: 2 SYNs/s dropped beyond accept-queue overflows and 5 SYN cookies/s; client-1: 10 % of connection attempts retransmit their SYN; nat-1: 0.5 conntrack insertions/s fail",
        vec![udp, syn, client, nat],
        vec![
            expect("dns-1:9100", "network.saturation.udp_buffer_errors", "critical", "critical"),
            expect("listen-1:9100", "network.saturation.listen_drops", "high", "high"),
            expect("listen-1:9100", "network.saturation.syncookies", "high", "high"),
            expect("client-1:9100", "network.saturation.syn_retransmits", "high", "high"),
            expect("nat-1:9100", "system.errors.conntrack_drops", "critical", "critical")
                .mentioning("insertions failed"),
        ],
    )
}

/// Issue 17: direct reclaim, NUMA misses, and a host with node_exporter's default vmstat
/// fields (no reclaim counters).
pub fn memory_reclaim() -> Scenario {
    let mut reclaim = Host::healthy("cache-1:9100");
    reclaim.expert.allocstalls = Shape::c(20.0);
    reclaim.expert.pgscan_direct = Shape::c(5_000.0);
    reclaim.expert.pgscan_kswapd = Shape::c(20_000.0);
    let mut numa = Host::healthy("numa-1:9100");
    numa.disabled.retain(|c| *c != "meminfo_numa");
    numa.expert.numa_miss_ratio = Shape::c(0.3);
    let mut default_fields = Host::healthy("plain-1:9100");
    default_fields.expert.vmstat_reclaim_fields = false;
    Scenario::new(
        "memory_reclaim",
        "cache-1: 20 allocation stalls/s (direct reclaim); numa-1: 30 % of allocations miss their NUMA node; plain-1: default --collector.vmstat.fields (no reclaim counters)",
        vec![reclaim, numa, default_fields],
        vec![
            expect("cache-1:9100", "memory.saturation.direct_reclaim", "high", "high"),
            expect("numa-1:9100", "memory.saturation.numa_miss", "critical", "critical"),
            expect("plain-1:9100", "coverage", "info", "low")
                .mentioning("collector.vmstat.fields"),
        ],
    )
}

/// Issue 17: busy CPUs clocked at 45 % of their maximum; softirqs and device interrupts
/// landing on one CPU of eight.
pub fn cpu_frequency_and_irqs() -> Scenario {
    let mut capped = Host::healthy("capped-1:9100");
    cpu(&mut capped, 0.72, 0.1);
    capped.running = Shape::c(3.0);
    capped.expert.frequency_ratio = Shape::c(0.45);
    let mut irq = Host::healthy("irq-1:9100");
    irq.cpus = 8;
    irq.disabled
        .retain(|c| *c != "softirqs" && *c != "interrupts");
    irq.expert.hot_cpu_share = Some(0.8);
    Scenario::new(
        "cpu_frequency_and_irqs",
        "capped-1: 82 % busy at 45 % of the maximum clock; irq-1: 80 % of NET_RX/BLOCK softirqs and device interrupts on CPU 0 of 8",
        vec![capped, irq],
        vec![
            expect("capped-1:9100", "cpu.errors.frequency_capped", "high", "high"),
            expect("capped-1:9100", "cpu.utilization", "low", "low"),
            expect("irq-1:9100", "cpu.imbalance.softirqs", "medium", "medium").on("0"),
            expect("irq-1:9100", "cpu.imbalance.interrupts", "medium", "medium").on("0"),
        ],
    )
}

/// Issue 17: an md array recovering onto a replaced disk, and a CPU package at its critical
/// temperature.
pub fn raid_resync_and_hot_sensor() -> Scenario {
    let mut raid = Host::healthy("storage-2:9100");
    raid.md.push(Md {
        name: "md0".into(),
        required: 2.0,
        active: 2.0,
        failed: 0.0,
    });
    raid.expert.md_state = "recovering";
    raid.expert.md_synced = Shape::c(0.3);
    let mut hot = Host::healthy("hot-1:9100");
    hot.expert.temperature = Shape::c(97.0);
    hot.expert.crit_alarm_from = Some(-600);
    Scenario::new(
        "raid_resync_and_hot_sensor",
        "storage-2: md0 recovering, 30 % synced; hot-1: CPU package at 97 of 100 °C, critical alarm for the last 10 minutes",
        vec![raid, hot],
        vec![
            expect("storage-2:9100", "disk.errors.md_sync", "medium", "medium").on("md0"),
            expect("hot-1:9100", "system.errors.temperature", "critical", "critical")
                .on("platform_coretemp_0/temp1"),
        ],
    )
}

/// Issue 17 item 8: twins whose sdb writes at 80 ms per write (a slow volume, 40 % busy). On
/// twin-b sdb works in 6-minute spells every 10 minutes and is idle in between, the first 4 of
/// the last 10 minutes included: idle steps have no await (iostat shows none), they are not
/// missing data, so both findings keep the same confidence. (The same rhythm all along, so the
/// workload method sees no change.)
pub fn await_on_idle_disk() -> Scenario {
    let slow_disk = |h: &Host, intermittent: bool| {
        let busy = |value: f64| {
            if !intermittent {
                return Shape::c(value);
            }
            (1..6).fold(Shape::c(0.0).since(-360, value), |shape, k| {
                shape.burst(-360 - 600 * k, -600 * k, value)
            })
        };
        Disk {
            name: "sdb".into(),
            util: busy(0.4),
            queue: busy(4.0),
            read_iops: Shape::c(0.0),
            write_iops: busy(50.0),
            write_ms: Shape::c(80.0),
            ..h.disks[0].clone()
        }
    };
    let mut busy = Host::healthy("twin-a:9100");
    busy.disks.push(slow_disk(&busy, false));
    let mut idle = Host::healthy("twin-b:9100");
    idle.disks.push(slow_disk(&idle, true));
    Scenario::new(
        "await_on_idle_disk",
        "sdb writes at 80 ms per write, 40% busy, on both twins; on twin-b sdb is idle for the first 4 of the 10 minutes: the same slow writes, the same confidence",
        vec![busy, idle],
        vec![
            expect("twin-a:9100", "disk.saturation.write_await", "critical", "critical").on("sdb"),
            expect("twin-b:9100", "disk.saturation.write_await", "critical", "critical").on("sdb"),
        ],
    )
}

/// Issue 17 item 8: the same numbers mean different things on different devices. hdd-1's
/// spinning sda reads at 15 ms (normal random reads, flagged by a flat 10 ms); nvme-1's NVMe
/// device reads at 5 ms (ten times slow, missed by a flat 10 ms); flash-1's SATA SSD reads at
/// 8 ms; spindle-1's spinning sda keeps 2.5 I/Os queued at 60 % busy (aqu-sz > 1, missed by a
/// flat 5); nvme-2's NVMe device keeps 4 in flight at 0.1 ms, which is normal for it.
pub fn disk_classes() -> Scenario {
    // Each host its own job: five different machines, not peers the outlier method compares.
    let host = |instance: &str, device: &str, rotational: Option<bool>| {
        let mut h = Host::healthy(instance);
        h.job = instance.split(':').next().unwrap_or(instance).to_string();
        let d = &mut h.disks[0];
        d.name = device.into();
        d.rotational = rotational;
        h
    };
    let mut hdd = host("hdd-1:9100", "sda", Some(true));
    hdd.disks[0].read_ms = Shape::c(15.0);
    let mut nvme = host("nvme-1:9100", "nvme0n1", Some(false));
    nvme.disks[0].read_ms = Shape::c(5.0);
    nvme.disks[0].write_ms = Shape::c(0.1);
    let mut flash = host("flash-1:9100", "sda", Some(false));
    flash.disks[0].read_ms = Shape::c(8.0);
    flash.disks[0].write_ms = Shape::c(0.5);
    let mut spindle = host("spindle-1:9100", "sda", Some(true));
    spindle.disks[0].util = Shape::c(0.6);
    spindle.disks[0].queue = Shape::c(2.5);
    let mut parallel = host("nvme-2:9100", "nvme0n1", None);
    parallel.disks[0].util = Shape::c(0.5);
    parallel.disks[0].queue = Shape::c(4.0);
    parallel.disks[0].read_iops = Shape::c(40_000.0);
    parallel.disks[0].read_ms = Shape::c(0.1);
    parallel.disks[0].write_ms = Shape::c(0.05);
    Scenario::new(
        "disk_classes",
        "hdd-1: HDD reads at 15 ms (normal); nvme-1: NVMe reads at 5 ms (slow for NVMe); flash-1: SATA SSD reads at 8 ms (slow for an SSD); spindle-1: HDD with 2.5 I/Os queued (aqu-sz > 1); nvme-2: NVMe with 4 in flight at 0.1 ms (normal)",
        vec![hdd, nvme, flash, spindle, parallel],
        vec![
            expect("nvme-1:9100", "disk.saturation.read_await", "high", "high")
                .on("nvme0n1")
                .mentioning("NVMe"),
            expect("flash-1:9100", "disk.saturation.read_await", "high", "high")
                .on("sda")
                .mentioning("SATA/SAS SSD"),
            expect("spindle-1:9100", "disk.saturation.queue", "high", "high").on("sda"),
        ],
    )
}

/// Issue 17 item 8: disk_bottleneck with sda's partitions, an LVM volume (dm-1) over a
/// dm-crypt device (dm-0) over sda2, each showing sda's I/O: one disk bottleneck on sda that
/// names dm-0 and dm-1, nothing on the partitions or the layers.
pub fn stacked_devices_on_busy_disk() -> Scenario {
    let mut s = disk_bottleneck();
    let sda = s.hosts[0].disks[0].clone();
    for (name, backing) in [
        ("sda1", None),
        ("sda2", None),
        ("dm-0", Some("sda2")),
        ("dm-1", Some("dm-0")),
    ] {
        s.hosts[0].disks.push(Disk {
            name: name.into(),
            backing: backing.into_iter().map(String::from).collect(),
            ..sda.clone()
        });
    }
    s.name = "stacked_devices_on_busy_disk";
    s.description = "disk_bottleneck with partitions sda1 and sda2, dm-crypt dm-0 over sda2 and LVM dm-1 over dm-0, all showing sda's I/O: one disk bottleneck on sda, also seen on dm-0 and dm-1";
    s.expect = vec![
        expect("db-2:9100", "disk.bottleneck", "critical", "critical")
            .on("sda")
            .mentioning("Also seen on dm-0, dm-1"),
    ];
    s
}

/// Offset at which the write bursts of the `filesystem_burst_*` scenarios start (2 minutes
/// before the end for the short history, 10 minutes for the flat line).
pub const FS_BURST_SHORT_FROM: i64 = -120;
/// See [`FS_BURST_SHORT_FROM`].
pub const FS_BURST_FLAT_FROM: i64 = -600;
/// GiB [`filesystem_burst_little_space`]'s burst writes: enough that the 6-hour line over its
/// 2 hours of history would see the filesystem full within a day (about 16 h).
pub const FS_BURST_FLAT_GIB: f64 = 8.0;

/// A filesystem of `size_gib` GiB, `used_percent` used at the end, the last `gib` GiB of which
/// were written in a burst from `from` to the end.
fn burst_fs(mountpoint: &str, size_gib: f64, used_percent: f64, gib: f64, from: i64) -> Filesystem {
    let mut f = fs(mountpoint, size_gib, used_percent, 0.0);
    f.bursts
        .push((from, 0, gib * 1024.0 * 1024.0 * 1024.0 / -from as f64));
    f
}

/// Issue 17 item 3 (a): 15 minutes of history ending in a write burst. `/` has plenty of free
/// space; `/data` has little, but a quarter of an hour is no trend: no time to full on either,
/// and a note that the history is too short to project one.
pub fn filesystem_burst_short_history() -> Scenario {
    let mut h = Host::healthy("fresh-1:9100");
    h.filesystems[0] = burst_fs("/", 100.0, 30.0, 4.0, FS_BURST_SHORT_FROM);
    h.filesystems
        .push(burst_fs("/data", 100.0, 85.0, 4.0, FS_BURST_SHORT_FROM));
    let mut s = Scenario::new(
        "filesystem_burst_short_history",
        "fresh-1 has 15 minutes of history; 4 GiB were written in its last 2 minutes on / (30% used) and on /data (85% used): no time to full, and a note that there is not enough history to project a trend on /data",
        vec![h],
        vec![expect("fresh-1:9100", "coverage", "info", "info")
            .mentioning("not enough history to project a trend")],
    );
    s.history = 900;
    s
}

/// Issue 17 item 3 (b): a steady fill over 7 hours on a filesystem with 15 % free.
pub fn filesystem_steady_fill() -> Scenario {
    let mut h = Host::healthy("db-1:9100");
    h.filesystems
        .push(fs("/var/lib/db", 200.0, 85.0, 1_500_000.0));
    let mut s = Scenario::new(
        "filesystem_steady_fill",
        "/var/lib/db (200 GiB) at 85% used, filling at a steady 1.5 MB/s for 7 hours: full in about 6 hours",
        vec![h],
        vec![expect("db-1:9100", "filesystem.time_to_full", "high", "high").on("/var/lib/db")],
    );
    s.history = 7 * 3600;
    s
}

/// Issue 17 item 3 (c): two hours of a flat line on a filesystem with little free space, then
/// 8 GiB written in the last 10 minutes. The burst is not a trend: no time to full.
pub fn filesystem_burst_little_space() -> Scenario {
    let mut h = Host::healthy("batch-1:9100");
    h.filesystems.push(burst_fs(
        "/scratch",
        100.0,
        85.0,
        FS_BURST_FLAT_GIB,
        FS_BURST_FLAT_FROM,
    ));
    let mut s = Scenario::new(
        "filesystem_burst_little_space",
        "/scratch (100 GiB) flat at 77% used for 2 hours, then 8 GiB written in the last 10 minutes (85% used): a burst, never extrapolated into a time to full",
        vec![h],
        vec![],
    );
    s.history = 2 * 3600;
    s
}

/// Review fix (issue 17): two hours of history, the last 100 minutes of them a 10 GiB write on
/// a filesystem with 15 % free. Every step of the held hour sees the write in the 6-hour and
/// newer 3-hour lines, and there is no older half to be flat: without 6 hours of history the
/// slowest line is the burst. No time to full, and a note that the history is too short.
pub fn filesystem_long_burst_short_history() -> Scenario {
    let mut h = Host::healthy("copy-1:9100");
    h.filesystems
        .push(burst_fs("/backup", 100.0, 85.0, 10.0, -6000));
    let mut s = Scenario::new(
        "filesystem_long_burst_short_history",
        "/backup (100 GiB) has 2 hours of history, flat for 20 minutes, then 10 GiB written over the last 100 minutes (85% used now): no time to full from 2 hours, and a note that there is not enough history",
        vec![h],
        vec![expect("copy-1:9100", "coverage", "info", "info")
            .mentioning("not enough history to project a trend")],
    );
    s.history = 2 * 3600;
    s
}

/// Offset of [`late_step_change`]'s step: 2.5 minutes before the end of a 10-minute window.
pub const LATE_STEP_FROM: i64 = -150;

/// Issue 17 item 12: a workload step in the window's last quarter, and a noisy host without one.
pub fn late_step_change() -> Scenario {
    let mut step = Host::healthy("step-1:9100");
    step.context_switches = Shape::c(9_000.0).since(LATE_STEP_FROM, 45_000.0);
    let mut noisy = Host::healthy("noisy-1:9100");
    noisy.context_switches = noise(10_000.0, 5_000.0, SPAN);
    Scenario::new(
        "late_step_change",
        "step-1's context switches step from 9,000 to 45,000/s 2.5 minutes before the end (past 75% of a 10-minute window); noisy-1's wander between 5,000 and 15,000/s each minute without a step",
        vec![step, noisy],
        vec![expect("step-1:9100", "workload.context_switches", "low", "low")
            .mentioning("in a step at about 11:57 UTC")],
    )
}

/// A level with deterministic noise in ±`amplitude`, a new value each minute over `history`.
fn noise(level: f64, amplitude: f64, history: i64) -> Shape {
    let mut shape = Shape::c(level);
    let mut x: u64 = 17;
    for minute in 0..history / 60 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        let from = -history + 60 * minute;
        shape = shape.burst(from, from + 60, level + amplitude * (2.0 * unit - 1.0));
    }
    shape
}

/// Issue 17 item 4: one host whose scraping stopped 20 minutes before the end, one that reports.
/// Not in [`all`]: for a dedicated test (what the report says, not what it finds).
pub fn scraping_stopped() -> Scenario {
    let fine = Host::healthy("up-1:9100");
    let mut gone = Host::healthy("gone-1:9100");
    gone.gap = Some((-1200, 1));
    Scenario::new(
        "scraping_stopped",
        "gone-1's samples stop 20 minutes before the end; up-1 reports throughout",
        vec![fine, gone],
        Vec::new(),
    )
}

/// Issue 17 item 4: every host's scraping stopped three hours before the end. Not in [`all`].
pub fn all_scraping_stopped() -> Scenario {
    let mut hosts = vec![Host::healthy("old-1:9100"), Host::healthy("old-2:9100")];
    for h in &mut hosts {
        h.gap = Some((-3 * 3600, 1));
    }
    let mut s = Scenario::new(
        "all_scraping_stopped",
        "both hosts' samples stop three hours before the end",
        hosts,
        Vec::new(),
    );
    s.history = 4 * 3600;
    s
}

/// Issue 17 item 8 (follow-up): aqu-sz per device class. A spindle warns past 1 I/O queued
/// (Gregg's checklist); devices of unknown class (virtio, an `sd*` disk without the rotational
/// flag) serve I/Os in parallel and keep 5/10; an SSD 4/16 and NVMe 8/32. Stacked devices take
/// their disk's class: an LVM volume on an HDD queueing 2.5 warns, one on NVMe with 6 in flight
/// does not.
pub fn disk_queue_classes() -> Scenario {
    // Each host its own job: different machines, not peers the outlier method compares.
    let host = |instance: &str, disks: &[(&str, Option<bool>, f64, &[&str])]| {
        let mut h = Host::healthy(instance);
        h.job = instance.split(':').next().unwrap_or(instance).to_string();
        let template = h.disks[0].clone();
        h.disks = disks
            .iter()
            .map(|(name, rotational, queue, backing)| Disk {
                name: (*name).into(),
                rotational: *rotational,
                util: Shape::c(if *queue > 1.0 { 0.6 } else { 0.1 }),
                queue: Shape::c(*queue),
                // Fast for every class: only the queue is under test.
                read_ms: Shape::c(0.3),
                write_ms: Shape::c(0.3),
                backing: backing.iter().map(|b| (*b).to_string()).collect(),
                ..template.clone()
            })
            .collect();
        h
    };
    Scenario::new(
        "disk_queue_classes",
        "aqu-sz per class: spindle-2 HDD 2.5 queued (warning, over 1); virt-1 virtio vda 3 and legacy-1 sda without the rotational flag 3 (unknown class, 5/10: normal); ssd-2 SATA SSD 3 (4/16: normal); nvme-3 NVMe 6 (8/32: normal); lvm-hdd-1 dm-0 over an idle HDD's sda2 2.5 queued (the HDD's class: warning); lvm-nvme-1 dm-0 over an idle NVMe's partition 6 in flight (NVMe class: normal)",
        vec![
            host("spindle-2:9100", &[("sda", Some(true), 2.5, &[])]),
            host("virt-1:9100", &[("vda", None, 3.0, &[])]),
            host("legacy-1:9100", &[("sda", None, 3.0, &[])]),
            host("ssd-2:9100", &[("sda", Some(false), 3.0, &[])]),
            host("nvme-3:9100", &[("nvme0n1", None, 6.0, &[])]),
            host(
                "lvm-hdd-1:9100",
                &[("sda", Some(true), 0.3, &[]), ("dm-0", None, 2.5, &["sda2"])],
            ),
            host(
                "lvm-nvme-1:9100",
                &[
                    ("nvme0n1", None, 0.5, &[]),
                    ("dm-0", None, 6.0, &["nvme0n1p2"]),
                ],
            ),
        ],
        vec![
            expect("spindle-2:9100", "disk.saturation.queue", "high", "high").on("sda"),
            expect("lvm-hdd-1:9100", "disk.saturation.queue", "high", "high")
                .on("dm-0")
                .mentioning("from its disk sda"),
        ],
    )
}

/// Length of each write burst of [`filesystem_hourly_bursts`].
pub const HOURLY_BURST_SECONDS: i64 = 300;
/// Mean fill rate of [`filesystem_hourly_bursts`], bytes per second.
pub const HOURLY_BURST_MEAN_RATE: f64 = 1_500_000.0;

/// Issue 17 item 3 (follow-up): a steady fill written in hourly bursts: a 5-minute burst at
/// the top of every hour (the last 25 minutes before the end), 1.5 MB/s on average, on a
/// filesystem with 15 % free (about 6 hours left). Half of any hour is always flat, yet the
/// filesystem fills as surely as with a steady writer: node-mixin's alert would fire.
pub fn filesystem_hourly_bursts() -> Scenario {
    let mut h = Host::healthy("etl-1:9100");
    let mut f = fs("/var/spool/etl", 200.0, 85.0, 0.0);
    let rate = HOURLY_BURST_MEAN_RATE * 3600.0 / HOURLY_BURST_SECONDS as f64;
    for hour in 0..8 {
        let from = -1500 - 3600 * hour;
        f.bursts.push((from, from + HOURLY_BURST_SECONDS, rate));
    }
    h.filesystems.push(f);
    let mut s = Scenario::new(
        "filesystem_hourly_bursts",
        "/var/spool/etl (200 GiB) at 85% used, written in a 5-minute burst every hour (1.5 MB/s on average) for 8 hours: full in about 6 hours",
        vec![h],
        vec![expect("etl-1:9100", "filesystem.time_to_full", "high", "high").on("/var/spool/etl")],
    );
    s.history = 8 * 3600;
    s
}

/// Issue 17 item 3 (follow-up): one 20-minute burst of 8 GiB across the middle of the last
/// 6 hours (from 3 h 10 min to 2 h 50 min before the end, where both 3-hour fits see part of
/// it at the end of the window) on a filesystem with 15 % free and flat otherwise: a burst,
/// never a time to full.
pub fn filesystem_single_burst() -> Scenario {
    let mut h = Host::healthy("batch-2:9100");
    let mut f = fs("/scratch", 100.0, 85.0, 0.0);
    f.bursts
        .push((-11_400, -10_200, 8.0 * 1024.0 * 1024.0 * 1024.0 / 1200.0));
    h.filesystems.push(f);
    let mut s = Scenario::new(
        "filesystem_single_burst",
        "/scratch (100 GiB) flat for 7 hours but for 8 GiB written from 3 h 10 min to 2 h 50 min before the end (85% used now): a burst, never a time to full",
        vec![h],
        vec![],
    );
    s.history = 7 * 3600;
    s
}

/// Issue 17 item 3 (follow-up): node-mixin's per-level conditions on a time to full. Both
/// filesystems fill steadily (for 7 hours, the 6-hour fit plus the hour it is held) and will be
/// full in 3.5 and 2 hours (under the 4-hour critical horizon):
/// `/var/log` has 30 % available, under the warning's 40 % but not the critical's 20 %, so it
/// is a warning; `/srv` has 15 % available, so it is critical.
pub fn filesystem_fill_levels() -> Scenario {
    let mut h = Host::healthy("logs-2:9100");
    let full_in = |hours: f64, size_gib: f64, used_percent: f64| {
        size_gib * 1024.0 * 1024.0 * 1024.0 * (1.0 - used_percent / 100.0) / (hours * 3600.0)
    };
    h.filesystems
        .push(fs("/var/log", 100.0, 70.0, full_in(3.5, 100.0, 70.0)));
    h.filesystems
        .push(fs("/srv", 100.0, 85.0, full_in(2.0, 100.0, 85.0)));
    let mut s = Scenario::new(
        "filesystem_fill_levels",
        "logs-2: /var/log (30% available) and /srv (15% available) full in 3.5 and 2 hours at a steady rate for 7 hours: a warning on /var/log (a critical needs under 20% available), critical on /srv",
        vec![h],
        vec![
            expect("logs-2:9100", "filesystem.time_to_full", "high", "high").on("/var/log"),
            expect("logs-2:9100", "filesystem.time_to_full", "critical", "critical").on("/srv"),
        ],
    );
    s.history = 7 * 3600;
    s
}

/// A Kubernetes node: a healthy host whose nodename (its instance without the port) is the
/// node name kube-state-metrics reports.
fn k8s_node(name: &str) -> Host {
    Host::healthy(&format!("{name}:9100"))
}

/// `scenario` with `cluster` beside its hosts.
fn with_cluster(mut scenario: Scenario, cluster: Cluster) -> Scenario {
    scenario.cluster = cluster;
    scenario
}

/// shop/checkout-1/app uses 0.3 of its 2-core limit (15 %) yet 45 % of its CFS periods are
/// throttled for the last 30 minutes: saturated at low utilization, on a node with headroom.
pub fn container_cpu_throttled() -> Scenario {
    let mut checkout = Container::healthy("shop", "checkout-1", "app", "k8s-node-1");
    checkout.cpu = Shape::c(0.3);
    checkout.cpu_limit = Some(2.0);
    checkout.throttled = Shape::c(0.02).since(-1800, 0.45);
    let quiet = Container::healthy("shop", "cart-1", "app", "k8s-node-1");
    with_cluster(
        Scenario::new(
            "container_cpu_throttled",
            "a container throttled in 45 % of its CFS periods at 15 % of its CPU limit, its node idle",
            vec![k8s_node("k8s-node-1")],
            vec![
                expect("shop/checkout-1/app", "container.cpu.throttling", "high", "high")
                    .mentioning("the container's own CPU quota"),
            ],
        ),
        Cluster::new(vec![checkout, quiet]),
    )
}

/// shop/search-1/indexer's working set sits at 980 MiB of its 1 GiB limit.
pub fn container_memory_near_limit() -> Scenario {
    let mut indexer = Container::healthy("shop", "search-1", "indexer", "k8s-node-1");
    indexer.memory = Shape::c(400.0 * MIB).since(-2400, 980.0 * MIB);
    with_cluster(
        Scenario::new(
            "container_memory_near_limit",
            "a container's working set at 96 % of its memory limit, its node with free memory",
            vec![k8s_node("k8s-node-1")],
            vec![expect(
                "shop/search-1/indexer",
                "container.memory.utilization",
                "critical",
                "critical",
            )
            .mentioning("has headroom")],
        ),
        Cluster::new(vec![
            indexer,
            Container::healthy("shop", "cart-1", "app", "k8s-node-1"),
        ]),
    )
}

/// batch/report-1/worker is OOM-killed three times in the last half hour and restarts each time.
pub fn container_oom_restarts() -> Scenario {
    let mut worker = Container::healthy("batch", "report-1", "worker", "k8s-node-1");
    worker.memory = Shape::c(600.0 * MIB);
    worker.oom_kills = vec![-500, -300, -100];
    with_cluster(
        Scenario::new(
            "container_oom_restarts",
            "a container OOM-killed and restarted three times in ten minutes",
            vec![k8s_node("k8s-node-1")],
            vec![
                expect(
                    "batch/report-1/worker",
                    "container.errors.oom_kills",
                    "high",
                    "critical",
                )
                .mentioning("OOM-killed"),
                expect(
                    "batch/report-1/worker",
                    "container.errors.restarts",
                    "medium",
                    "high",
                ),
            ],
        ),
        Cluster::new(vec![worker]),
    )
}

/// k8s-node-2 is CPU-saturated by batch/cruncher-1/worker, which has no limit; shop/api-1/app
/// runs at 95 % of its 2-core limit there: its finding names the noisy neighbour.
pub fn container_noisy_neighbour() -> Scenario {
    let mut node = k8s_node("k8s-node-2");
    cpu_saturated(&mut node);
    let mut api = Container::healthy("shop", "api-1", "app", "k8s-node-2");
    api.cpu = Shape::c(1.9);
    api.cpu_limit = Some(2.0);
    api.throttled = Shape::c(0.10);
    let mut cruncher =
        Container::healthy("batch", "cruncher-1", "worker", "k8s-node-2").unlimited();
    cruncher.cpu = Shape::c(1.8);
    with_cluster(
        Scenario::new(
            "container_noisy_neighbour",
            "a container at 95 % of its CPU limit on a CPU-saturated node shared with an unlimited batch container",
            vec![node],
            vec![
                expect("k8s-node-2:9100", "cpu.bottleneck", "critical", "critical"),
                expect("shop/api-1/app", "container.cpu.utilization", "high", "high")
                    .mentioning("noisy neighbour"),
            ],
        ),
        Cluster::new(vec![api, cruncher]),
    )
}

/// Quiet pods, with and without limits: nothing above low; the unlimited one is said to have
/// no limit. The pod cgroups and pause containers are written too and must not be reported.
pub fn containers_healthy() -> Scenario {
    with_cluster(
        Scenario::new(
            "containers_healthy",
            "quiet containers, one without limits",
            vec![k8s_node("k8s-node-1")],
            Vec::new(),
        ),
        Cluster::new(vec![
            Container::healthy("shop", "cart-1", "app", "k8s-node-1"),
            Container::healthy("shop", "web-1", "nginx", "k8s-node-1").unlimited(),
        ]),
    )
}

/// A Prometheus that scrapes only cAdvisor: no node_exporter, no kube-state-metrics. The
/// throttled container is still found; its node cannot be judged.
pub fn cadvisor_only() -> Scenario {
    let mut checkout = Container::healthy("shop", "checkout-1", "app", "k8s-node-1");
    checkout.cpu = Shape::c(0.3);
    checkout.cpu_limit = Some(2.0);
    checkout.throttled = Shape::c(0.55);
    let mut cluster = Cluster::new(vec![checkout]);
    cluster.kube_state_metrics = false;
    with_cluster(
        Scenario::new(
            "cadvisor_only",
            "only cAdvisor is scraped: a throttled container, no node_exporter, no kube-state-metrics",
            Vec::new(),
            vec![
                expect("shop/checkout-1/app", "container.cpu.throttling", "critical", "critical")
                    .mentioning("unknown"),
            ],
        ),
        cluster,
    )
}

/// Memory saturation at the limit, on both cgroup versions, for the last 40 minutes.
/// shop/search-1/indexer runs on a cgroup v2 node whose cAdvisor exports pressure: its tasks
/// stall on memory 30 % of the time (PSI some) with its working set at 91 % of its limit, and
/// its failcnt stays 0 as cAdvisor reports it on v2. batch/report-2/worker runs on a cgroup v1
/// node: no PSI, but its usage hits the limit 40 times a second (failcnt) with its working set
/// at 88 %: the finding says the stall time is unobservable there. Both nodes have free memory.
pub fn container_memory_reclaim() -> Scenario {
    let from = -2400;
    let mut indexer = Container::healthy("shop", "search-1", "indexer", "k8s-node-1");
    indexer.memory = Shape::c(500.0 * MIB).since(from, 930.0 * MIB);
    indexer.pressure = Some(Pressure {
        cpu: Shape::c(0.02),
        memory: Shape::c(0.005).since(from, 0.30),
    });
    let mut worker = Container::healthy("batch", "report-2", "worker", "k8s-node-2");
    worker.memory = Shape::c(500.0 * MIB).since(from, 900.0 * MIB);
    worker.limit_hits = Shape::c(0.0).since(from, 40.0);
    with_cluster(
        Scenario::new(
            "container_memory_reclaim",
            "two containers reclaiming at their memory limits: one on cgroup v2 stalled 30 % of the time (PSI), one on cgroup v1 hitting its limit 40 times a second (failcnt, no PSI)",
            vec![k8s_node("k8s-node-1"), k8s_node("k8s-node-2")],
            vec![
                expect(
                    "shop/search-1/indexer",
                    "container.memory.saturation.psi",
                    "critical",
                    "critical",
                )
                .mentioning("cgroup PSI memory some"),
                expect(
                    "shop/search-1/indexer",
                    "container.memory.utilization",
                    "high",
                    "high",
                ),
                expect(
                    "batch/report-2/worker",
                    "container.memory.saturation.reclaim",
                    "medium",
                    "high",
                )
                .mentioning("unobservable"),
                expect(
                    "batch/report-2/worker",
                    "container.memory.utilization",
                    "high",
                    "high",
                ),
            ],
        ),
        Cluster::new(vec![indexer, worker]),
    )
}

/// shop/api-2/app uses 1.2 of its 4 cores (30 %), is never throttled, yet its runnable tasks
/// wait for a CPU 35 % of the time (cgroup PSI) for the last 40 minutes: k8s-node-3 is
/// CPU-saturated by batch/cruncher-2/worker, which has no limit. Contention, not its quota.
pub fn container_cpu_contention() -> Scenario {
    let mut node = k8s_node("k8s-node-3");
    cpu_saturated(&mut node);
    let mut api = Container::healthy("shop", "api-2", "app", "k8s-node-3");
    api.cpu = Shape::c(1.2);
    api.cpu_limit = Some(4.0);
    api.pressure = Some(Pressure {
        cpu: Shape::c(0.03).since(-2400, 0.35),
        memory: Shape::c(0.002),
    });
    let mut cruncher =
        Container::healthy("batch", "cruncher-2", "worker", "k8s-node-3").unlimited();
    cruncher.cpu = Shape::c(2.6);
    cruncher.pressure = Some(Pressure::low());
    with_cluster(
        Scenario::new(
            "container_cpu_contention",
            "a container waiting for CPU 35 % of the time (PSI) at 30 % of its limit and never throttled, on a node saturated by an unlimited batch container",
            vec![node],
            vec![
                expect("k8s-node-3:9100", "cpu.bottleneck", "critical", "critical"),
                expect("shop/api-2/app", "container.cpu.pressure", "critical", "critical")
                    .mentioning("noisy neighbour"),
            ],
        ),
        Cluster::new(vec![api, cruncher]),
    )
}

/// Quiet containers on cgroup v2 with pressure exported and low (2 % CPU, 0.5 % memory): the
/// pressure checks assess them and find nothing.
pub fn containers_healthy_psi() -> Scenario {
    let mut cart = Container::healthy("shop", "cart-1", "app", "k8s-node-1");
    cart.pressure = Some(Pressure::low());
    let mut web = Container::healthy("shop", "web-1", "nginx", "k8s-node-1");
    web.memory = Shape::c(700.0 * MIB);
    web.pressure = Some(Pressure::low());
    with_cluster(
        Scenario::new(
            "containers_healthy_psi",
            "quiet containers on cgroup v2 with low pressure (PSI) exported",
            vec![k8s_node("k8s-node-1")],
            Vec::new(),
        ),
        Cluster::new(vec![cart, web]),
    )
}

/// Offsets (seconds before the end) of the CPU episode of the two span scenarios: fifteen
/// minutes, three hours before the end of a six-hour history.
pub const EPISODE: (i64, i64) = (-3 * 3600, -3 * 3600 + 900);

/// History of the span scenarios: six hours, and the analyses judge all of them.
pub const EPISODE_HISTORY: i64 = 6 * 3600 + 600;

/// shop/api-1/app at 98 % of its 2-core limit for fifteen minutes, three hours before the end,
/// 15 % otherwise.
fn episode_container(node: &str) -> Container {
    let (from, to) = EPISODE;
    let mut api = Container::healthy("shop", "api-1", "app", node);
    api.cpu = Shape::c(0.3).burst(from, to, 1.96);
    api.cpu_limit = Some(2.0);
    api
}

/// CPU user and system shares, CPU pressure, run-queue wait, running tasks and load of a
/// saturated host (as [`cpu_saturated`]), or of a quiet one (as [`Host::healthy`]).
fn cpu_state(saturated: bool) -> (f64, f64, f64, f64, f64, f64) {
    if saturated {
        (0.85, 0.12, 0.40, 1.5, 10.0, 10.5)
    } else {
        (0.10, 0.04, 0.01, 0.02, 1.5, 0.8)
    }
}

/// `h` saturated (`saturated_in_episode`) only during [`EPISODE`], or everywhere but there.
fn node_around_episode(h: &mut Host, saturated_in_episode: bool) {
    let (from, to) = EPISODE;
    let inside = cpu_state(saturated_in_episode);
    let outside = cpu_state(!saturated_in_episode);
    let shape = |o: f64, i: f64| Shape::c(o).burst(from, to, i);
    h.cpu.user = shape(outside.0, inside.0);
    h.cpu.system = shape(outside.1, inside.1);
    h.pressure.cpu = shape(outside.2, inside.2);
    h.runqueue_wait = shape(outside.3, inside.3);
    h.running = shape(outside.4, inside.4);
    h.load1 = shape(outside.5, inside.5);
}

/// Issue 21: a container at its CPU limit for fifteen minutes of a six-hour window, on a node
/// saturated during those fifteen minutes only. Judged over the whole window the node is quiet
/// (14 % busy); over the finding's own span it is saturated: a noisy neighbour. Nothing is
/// left at the end (a 10-minute window finds nothing); `tests/integration/containers.rs`
/// judges the six hours.
pub fn container_episode_on_busy_node() -> Scenario {
    let mut node = k8s_node("k8s-node-3");
    node_around_episode(&mut node, true);
    let mut s = with_cluster(
        Scenario::new(
            "container_episode_on_busy_node",
            "a container at 98 % of its CPU limit for 15 minutes of 6 hours, its node saturated during those 15 minutes only: a noisy neighbour over the finding's span",
            vec![node],
            Vec::new(),
        ),
        Cluster::new(vec![episode_container("k8s-node-3")]),
    );
    s.history = EPISODE_HISTORY;
    s
}

/// The converse: the node is saturated for the whole window except the container's episode,
/// when it is half idle. Judged over the window the node is saturated (90 %); over the
/// finding's span it has headroom: the container hit its own limit. At the end (a 10-minute
/// window) only the node's CPU bottleneck is seen.
pub fn container_episode_on_quiet_node() -> Scenario {
    let mut node = k8s_node("k8s-node-4");
    node_around_episode(&mut node, false);
    let mut s = with_cluster(
        Scenario::new(
            "container_episode_on_quiet_node",
            "a container at 98 % of its CPU limit for 15 minutes of 6 hours, its node saturated all the rest of the time but quiet during the episode: its own limit over the finding's span",
            vec![node],
            vec![expect("k8s-node-4:9100", "cpu.bottleneck", "critical", "critical")],
        ),
        Cluster::new(vec![episode_container("k8s-node-4")]),
    );
    s.history = EPISODE_HISTORY;
    s
}

/// Issue 21: cAdvisor without container_oom_events_total (releases before v0.39, some
/// kubelets): batch/report-2/worker crashed (a failed probe), was OOM-killed, then crashed
/// again, so kube-state-metrics shows 3 restarts and OOMKilled as the last terminated reason
/// for a while, Error at the end. The OOM finding stands on kube-state-metrics alone and says
/// it cannot tell how many of the restarts were OOM kills (at least one).
pub fn container_oom_without_cadvisor_events() -> Scenario {
    let mut worker = Container::healthy("batch", "report-2", "worker", "k8s-node-1");
    worker.memory = Shape::c(600.0 * MIB);
    worker.crashes = vec![-500, -100];
    worker.oom_kills = vec![-300];
    let mut cluster = Cluster::new(vec![worker]);
    cluster.oom_events = false;
    with_cluster(
        Scenario::new(
            "container_oom_without_cadvisor_events",
            "cAdvisor without container_oom_events_total: a crash, an OOM kill, a crash, seen by kube-state-metrics only (3 restarts, last terminated OOMKilled then Error)",
            vec![k8s_node("k8s-node-1")],
            vec![
                expect(
                    "batch/report-2/worker",
                    "container.errors.oom_kills",
                    "high",
                    "critical",
                )
                .mentioning("at least once by the OOM killer"),
                expect(
                    "batch/report-2/worker",
                    "container.errors.restarts",
                    "medium",
                    "high",
                ),
            ],
        ),
        cluster,
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::http;

    fn text(s: &Scenario) -> (String, crate::host::Written) {
        let mut out = Vec::new();
        let written = s.write(&mut out).unwrap();
        (String::from_utf8(out).unwrap(), written)
    }

    /// An instant query at the scenario's evaluation time (`offset` seconds from it): the
    /// result vector as `(labels, value)`.
    fn query(p: &Prometheus, promql: &str, at: f64) -> Vec<(serde_json::Value, f64)> {
        let path = format!("/api/v1/query?query={}&time={at}", http::encode(promql));
        let (status, body) = http::get(p.addr(), &path).expect("Prometheus answers");
        assert_eq!(status, 200, "{promql}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (r["metric"].clone(), value)
            })
            .collect()
    }

    fn one(p: &Prometheus, promql: &str, at: f64) -> f64 {
        let r = query(p, promql, at);
        assert_eq!(r.len(), 1, "{promql}: {r:?}");
        r[0].1
    }

    #[test]
    fn new_scenarios_are_listed_last_in_order() {
        let names: Vec<&str> = all().iter().map(|s| s.name).collect();
        assert_eq!(
            names[names.len() - 42..],
            [
                "workload_shift",
                "culprit_process",
                "latency_slo",
                "fleet_outlier",
                "transient_condition",
                "busy_nic_listen_overflows",
                "busy_disk_nfs_pressure",
                "one_vcpu_guest",
                "throttling_many_cores",
                "short_burst_long_windows",
                "partitions_on_busy_disk",
                "pid_max_threads",
                "systemd_file_max",
                "chrony_and_slewing_clocks",
                "network_stack_drops",
                "memory_reclaim",
                "cpu_frequency_and_irqs",
                "raid_resync_and_hot_sensor",
                "await_on_idle_disk",
                "disk_classes",
                "stacked_devices_on_busy_disk",
                "filesystem_burst_short_history",
                "filesystem_steady_fill",
                "filesystem_burst_little_space",
                "late_step_change",
                "disk_queue_classes",
                "filesystem_hourly_bursts",
                "filesystem_single_burst",
                "filesystem_fill_levels",
                "filesystem_long_burst_short_history",
                // Issue 21: containers, together at the end.
                "container_cpu_throttled",
                "container_memory_near_limit",
                "container_oom_restarts",
                "container_noisy_neighbour",
                "containers_healthy",
                "cadvisor_only",
                // Issue 21: container memory and CPU pressure.
                "container_memory_reclaim",
                "container_cpu_contention",
                "containers_healthy_psi",
                // Issue 21's rest: the node over the finding's span, the OOM fallback.
                "container_episode_on_busy_node",
                "container_episode_on_quiet_node",
                "container_oom_without_cadvisor_events",
            ]
        );
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(!names.contains(&"latency_bad_histogram"));
        assert!(by_name("latency_bad_histogram").is_some());
        let info = latency_slo().info();
        assert_eq!(info.histogram, Some("http_request_duration_seconds"));
        assert_eq!(info.slo, Some("0.25@99"));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["slo"], "0.25@99");
        assert!(json["group_by"].is_null());
    }

    #[test]
    fn node_families_and_job() {
        let mut s = workload_shift();
        s.hosts[1].job = "db-nodes".into();
        let (text, _) = text(&s);
        for family in [
            "# TYPE node_intr counter",
            "# TYPE node_forks counter",
            "# TYPE node_netstat_Tcp_ActiveOpens unknown",
            "# TYPE node_netstat_Tcp_PassiveOpens unknown",
            "# TYPE node_netstat_Tcp_CurrEstab gauge",
        ] {
            assert_eq!(text.matches(family).count(), 1, "{family}");
        }
        assert!(text.contains("node_intr_total{instance=\"db-2:9100\",job=\"db-nodes\"} "));
        assert!(text.contains("node_forks_total{instance=\"db-1:9100\",job=\"node\"} "));
        // Only hosts with processes get process-exporter series.
        assert!(!text.contains("namedprocess"));
    }

    #[test]
    fn process_series_use_the_process_exporter_instance() {
        let (text, _) = text(&culprit_process());
        assert!(text.contains(
            "namedprocess_namegroup_cpu_seconds_total{instance=\"app-1:9256\",job=\"process-exporter\",groupname=\"postgres\",mode=\"user\"} "
        ));
        assert!(text.contains(
            "namedprocess_namegroup_memory_bytes{instance=\"quiet-1:9256\",job=\"process-exporter\",groupname=\"cron\",memtype=\"resident\"} "
        ));
        assert!(text.contains("ctxswitchtype=\"nonvoluntary\""));
        assert!(!text.contains("9100\",job=\"process-exporter\""));
        assert!(!text.contains("9256\",job=\"node\""));
        for family in [
            "namedprocess_namegroup_cpu_seconds counter",
            "namedprocess_namegroup_read_bytes counter",
            "namedprocess_namegroup_write_bytes counter",
            "namedprocess_namegroup_major_page_faults counter",
            "namedprocess_namegroup_context_switches counter",
            "namedprocess_namegroup_open_filedesc gauge",
            "namedprocess_namegroup_worst_fd_ratio gauge",
            "namedprocess_namegroup_memory_bytes gauge",
            "namedprocess_namegroup_num_procs gauge",
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {family}\n")).count(),
                1,
                "{family}"
            );
        }
        // Every family's series contiguous: a metric name never comes back after another one.
        let mut seen: Vec<&str> = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            if seen.last() != Some(&name) {
                assert!(!seen.contains(&name), "{name} is not contiguous");
                seen.push(name);
            }
        }
    }

    #[test]
    fn fleet_outlier_stays_small() {
        let (_, mixed) = text(&mixed_fleet());
        let (_, outlier) = text(&fleet_outlier());
        eprintln!("mixed_fleet {mixed:?}, fleet_outlier {outlier:?}");
        assert!(
            outlier.samples < 3 * mixed.samples,
            "{outlier:?} vs {mixed:?}"
        );
        let s = fleet_outlier();
        for h in &s.hosts {
            let u = Scenario::mean_utilization(h, 600);
            if h.instance == "peer-17:9100" {
                assert!((u - 74.0).abs() < 1e-9);
            } else {
                assert!(
                    (28.0 - 1e-9..=34.0 + 1e-9).contains(&u),
                    "{} {u}",
                    h.instance
                );
            }
        }
    }

    #[test]
    fn latency_slo_is_served() {
        let s = latency_slo();
        let p = s.serve();
        let at = s.at as f64;
        let buckets = query(&p, "http_request_duration_seconds_bucket", at);
        assert_eq!(buckets.len(), 12, "{buckets:?}");
        let les: Vec<&str> = buckets
            .iter()
            .map(|b| b.0["le"].as_str().unwrap())
            .collect();
        for le in ["0.005", "0.1", "1", "2.5", "10", "+Inf"] {
            assert!(les.contains(&le), "{les:?}");
        }
        assert_eq!(buckets[0].0["instance"], "api-1:8080");
        assert_eq!(buckets[0].0["job"], "api");
        let p99 = "histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[10m]))";
        let now = one(&p, p99, at);
        assert!((0.5..=1.0).contains(&now), "p99 {now}");
        let before = one(&p, p99, at - 600.0);
        assert!((0.025..=0.05).contains(&before), "p99 before {before}");
        let p50 = "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[10m]))";
        assert!(one(&p, p50, at) < 0.01);
        let rate = one(&p, "rate(http_request_duration_seconds_count[10m])", at);
        assert!((rate - 200.0).abs() < 1.0, "{rate}");
        // The host's node_exporter series are there too.
        assert_eq!(query(&p, "node_intr_total", at).len(), 1);
    }

    #[test]
    fn culprit_process_is_served() {
        let s = culprit_process();
        let p = s.serve();
        let at = s.at as f64;
        let cpu = query(
            &p,
            "sum by (instance, groupname) (rate(namedprocess_namegroup_cpu_seconds_total[10m]))",
            at,
        );
        assert_eq!(cpu.len(), 15, "{cpu:?}");
        let postgres = cpu
            .iter()
            .find(|(m, _)| m["groupname"] == "postgres")
            .unwrap();
        assert_eq!(postgres.0["instance"], "app-1:9256");
        assert!((postgres.1 - 6.4).abs() < 0.05, "{postgres:?}");
        let ratio = one(
            &p,
            "namedprocess_namegroup_worst_fd_ratio{groupname=\"postgres\"}",
            at,
        );
        assert!((ratio - 40.0 / 1024.0).abs() < 1e-9);
    }

    #[test]
    fn workload_shift_is_served() {
        let s = workload_shift();
        let p = s.serve();
        let at = s.at as f64;
        let cs = "rate(node_context_switches_total{instance=\"db-1:9100\"}[5m])";
        assert!((one(&p, cs, at) - 45_000.0).abs() < 500.0);
        assert!((one(&p, cs, at - 600.0) - 9_000.0).abs() < 100.0);
        let w = "rate(node_disk_writes_completed_total{instance=\"db-1:9100\",device=\"sda\"}[5m])";
        assert!((one(&p, w, at) - 90.0).abs() < 1.0);
        let bytes = "rate(node_disk_written_bytes_total{instance=\"db-1:9100\"}[5m])";
        assert!((one(&p, bytes, at) - 90.0 * 32_768.0).abs() < 40_000.0);
        assert_eq!(query(&p, "node_netstat_Tcp_CurrEstab", at).len(), 3);
    }

    #[test]
    fn fleet_outlier_and_transient_condition_are_served() {
        let s = fleet_outlier();
        let started = Instant::now();
        let p = s.serve();
        let took = started.elapsed();
        eprintln!("fleet_outlier served in {took:?}");
        assert!(took < Duration::from_secs(20), "{took:?}");
        let busy =
            "sum by (instance) (rate(node_cpu_seconds_total{mode!~\"idle|iowait|steal\"}[10m]))";
        assert_eq!(query(&p, busy, s.at as f64).len(), 50);
        drop(p);
        let s = transient_condition();
        let p = s.serve();
        let psi = "rate(node_pressure_cpu_waiting_seconds_total{instance=\"blip-1:9100\"}[1m])";
        let during = one(&p, psi, (s.at + (TRANSIENT_FROM + TRANSIENT_TO) / 2) as f64);
        assert!((during - 0.40).abs() < 0.01, "{during}");
        assert!(one(&p, psi, s.at as f64) < 0.02);
    }

    #[test]
    fn filesystem_bursts_are_served() {
        let s = filesystem_burst_little_space();
        let p = s.serve();
        let at = s.at as f64;
        let avail = "node_filesystem_avail_bytes{mountpoint=\"/scratch\"}";
        let gib = 1024.0 * 1024.0 * 1024.0;
        assert!((one(&p, avail, at) - 15.0 * gib).abs() < 1e6);
        let before = one(&p, avail, at + FS_BURST_FLAT_FROM as f64 - 60.0);
        let flat = (15.0 + FS_BURST_FLAT_GIB) * gib;
        assert!((before - flat).abs() < 1e6, "{before}");
        assert_eq!(one(&p, avail, at - 7000.0), before, "flat before the burst");
        let halfway = one(&p, avail, at + FS_BURST_FLAT_FROM as f64 / 2.0);
        let expected = (15.0 + FS_BURST_FLAT_GIB / 2.0) * gib;
        // The instant query sees the last sample, up to a scrape interval of writes earlier.
        let per_scrape = FS_BURST_FLAT_GIB * gib / -FS_BURST_FLAT_FROM as f64 * (STEP + 1) as f64;
        assert!((halfway - expected).abs() < per_scrape, "{halfway}");
    }

    #[test]
    fn latency_bad_histogram_is_served() {
        let s = latency_bad_histogram();
        let p = s.serve();
        let buckets = query(&p, "rpc_duration_seconds_bucket", s.at as f64);
        assert_eq!(buckets.len(), DEFAULT_BUCKETS.len());
        assert!(buckets.iter().all(|b| b.0["le"] != "+Inf"));
    }
}
