//! A synthetic host that behaves like node_exporter on Linux: every metric family the analyzer
//! reads, with consistent counters (integrated from rates, restarting on a reset), scrape
//! jitter, gaps, collectors that fail or are disabled, and any number of CPUs, disks,
//! filesystems and interfaces.
//!
//! Behaviour is described by [`Shape`]s: a base value plus bursts at offsets (seconds, negative)
//! relative to the end of the data. Everything is deterministic.

use std::io::{self, Write};

use crate::histogram::{self, Histogram};

mod expert;

pub use expert::Expert;

/// A value over time: `base`, except during bursts `(from, to, value)`, with offsets in seconds
/// relative to the end of the data (`-600` is ten minutes before it).
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// Value outside bursts.
    pub base: f64,
    /// `(from, to, value)` windows, offsets relative to the end.
    pub bursts: Vec<(i64, i64, f64)>,
}

impl Shape {
    /// A constant.
    pub fn c(value: f64) -> Shape {
        Shape {
            base: value,
            bursts: Vec::new(),
        }
    }

    /// This shape with `value` between offsets `from` and `to`.
    #[must_use]
    pub fn burst(mut self, from: i64, to: i64, value: f64) -> Shape {
        self.bursts.push((from, to, value));
        self
    }

    /// This shape with `value` from offset `from` through the end of the data (the last sample
    /// included, which `burst(from, 0, value)` leaves out).
    #[must_use]
    pub fn since(self, from: i64, value: f64) -> Shape {
        self.burst(from, 1, value)
    }

    /// The value at `offset` seconds relative to the end.
    pub fn at(&self, offset: f64) -> f64 {
        self.bursts
            .iter()
            .rev()
            .find(|(from, to, _)| offset >= *from as f64 && offset < *to as f64)
            .map(|(_, _, v)| *v)
            .unwrap_or(self.base)
    }
}

/// CPU time shares of each CPU (fractions per second).
#[derive(Clone, Debug)]
pub struct Cpu {
    /// user share.
    pub user: Shape,
    /// system share.
    pub system: Shape,
    /// iowait share.
    pub iowait: Shape,
    /// steal share.
    pub steal: Shape,
    /// One CPU that runs at a different user share (imbalance).
    pub hot: Option<(u32, Shape)>,
}

/// Pressure stall shares (fractions of wall time).
#[derive(Clone, Debug)]
pub struct Pressure {
    /// cpu some.
    pub cpu: Shape,
    /// memory some.
    pub memory_some: Shape,
    /// memory full.
    pub memory_full: Shape,
    /// io some.
    pub io_some: Shape,
    /// io full.
    pub io_full: Shape,
}

/// Memory and swap.
#[derive(Clone, Debug)]
pub struct Memory {
    /// MemTotal bytes.
    pub total: f64,
    /// Percent not available (100 - MemAvailable share).
    pub used_percent: Shape,
    /// SwapTotal bytes (0: no swap).
    pub swap_total: f64,
    /// Percent of swap used.
    pub swap_used_percent: Shape,
    /// Pages swapped in + out per second.
    pub swap_pages: Shape,
    /// Major faults per second.
    pub major_faults: Shape,
    /// Offsets of OOM kills.
    pub oom_kills: Vec<i64>,
    /// HardwareCorrupted bytes.
    pub hardware_corrupted: f64,
}

/// One block device.
#[derive(Clone, Debug)]
pub struct Disk {
    /// Device name (`sda`, `nvme0n1`).
    pub name: String,
    /// Busy share (io_time rate, 0–1).
    pub util: Shape,
    /// Average queue length (io_time_weighted rate).
    pub queue: Shape,
    /// Reads per second.
    pub read_iops: Shape,
    /// Writes per second.
    pub write_iops: Shape,
    /// Mean read latency, ms.
    pub read_ms: Shape,
    /// Mean write latency, ms.
    pub write_ms: Shape,
    /// Mean read size, bytes per I/O (read bytes = read IOPS × this).
    pub read_size: Shape,
    /// Mean write size, bytes per I/O (written bytes = write IOPS × this).
    pub write_size: Shape,
    /// `/sys/block/<dev>/queue/rotational`, as node_exporter >= 1.9 labels `node_disk_info`;
    /// `None`: the label is absent, as with older exporters (Debian 12's 1.5).
    pub rotational: Option<bool>,
    /// For a device-mapper device, the devices beneath it
    /// (`node_disk_device_mapper_backing_device_info`, node_exporter >= 1.9).
    pub backing: Vec<String>,
}

/// One mounted filesystem.
#[derive(Clone, Debug)]
pub struct Filesystem {
    /// Mount point.
    pub mountpoint: String,
    /// Device.
    pub device: String,
    /// Type.
    pub fstype: String,
    /// Size in bytes.
    pub size: f64,
    /// Percent used at the end of the data.
    pub used_percent: f64,
    /// Bytes written per second (available space shrinks by it; negative frees space).
    pub growth: f64,
    /// Write bursts on top of `growth`: `(from, to, bytes per second)`, offsets relative to the
    /// end; the space they take stays taken (`used_percent` includes it).
    pub bursts: Vec<(i64, i64, f64)>,
    /// Percent of inodes used.
    pub inodes_used_percent: f64,
    /// Turned read-only at this offset.
    pub readonly_from: Option<i64>,
    /// Read-only from the start (by design).
    pub readonly: bool,
    /// statfs fails.
    pub device_error: bool,
}

impl Filesystem {
    /// Bytes its bursts write between `offset` and the end (what is still free at `offset`
    /// beyond the end's available space).
    pub fn burst_bytes_after(&self, offset: f64) -> f64 {
        self.bursts
            .iter()
            .map(|(from, to, rate)| {
                let (from, to) = ((*from as f64).max(offset), (*to as f64).min(0.0));
                rate * (to - from).max(0.0)
            })
            .sum()
    }
}

/// One network interface.
#[derive(Clone, Debug)]
pub struct Nic {
    /// Interface name.
    pub name: String,
    /// Link speed, bytes/s; `None` reports -1 (unknown, like virtual NICs).
    pub speed: Option<f64>,
    /// Received bytes/s.
    pub rx_bytes: Shape,
    /// Sent bytes/s.
    pub tx_bytes: Shape,
    /// Packets/s in each direction.
    pub packets: Shape,
    /// Share of packets dropped.
    pub drop_ratio: Shape,
    /// FIFO overruns per second.
    pub fifo: Shape,
    /// Share of packets with errors.
    pub error_ratio: Shape,
    /// Offsets of carrier changes.
    pub carrier_changes: Vec<i64>,
}

/// An md RAID array.
#[derive(Clone, Debug)]
pub struct Md {
    /// Device name (`md0`).
    pub name: String,
    /// Disks required.
    pub required: f64,
    /// Active disks.
    pub active: f64,
    /// Failed disks.
    pub failed: f64,
}

/// One process group as process-exporter (`namedprocess_namegroup_*`) reports it.
#[derive(Clone, Debug)]
pub struct Process {
    /// `groupname` label.
    pub name: String,
    /// CPUs used (CPU seconds per second), 80 % user and 20 % system.
    pub cpu: Shape,
    /// Bytes read per second.
    pub read_bytes: Shape,
    /// Bytes written per second.
    pub write_bytes: Shape,
    /// Major page faults per second.
    pub major_faults: Shape,
    /// Context switches per second, 70 % voluntary and 30 % nonvoluntary.
    pub context_switches: Shape,
    /// Open file descriptors (of the process with the most).
    pub open_fds: f64,
    /// Its file descriptor limit.
    pub fd_limit: f64,
    /// Resident memory, bytes.
    pub resident_bytes: f64,
    /// Processes in the group.
    pub procs: u32,
}

impl Process {
    /// A single small process using `cpu` CPUs: 1 kB/s read, 2 kB/s written, 0.1 major
    /// faults/s, 50 context switches/s, 40 of 1024 file descriptors, 50 MiB resident.
    pub fn new(name: &str, cpu: f64) -> Process {
        Process {
            name: name.to_string(),
            cpu: Shape::c(cpu),
            read_bytes: Shape::c(1_000.0),
            write_bytes: Shape::c(2_000.0),
            major_faults: Shape::c(0.1),
            context_switches: Shape::c(50.0),
            open_fds: 40.0,
            fd_limit: 1024.0,
            resident_bytes: 50.0 * 1024.0 * 1024.0,
            procs: 1,
        }
    }
}

/// A synthetic host.
#[derive(Clone, Debug)]
pub struct Host {
    /// `instance` label.
    pub instance: String,
    /// `job` label of its node_exporter series.
    pub job: String,
    /// Number of CPUs.
    pub cpus: u32,
    /// CPU shares.
    pub cpu: Cpu,
    /// PSI shares.
    pub pressure: Pressure,
    /// Tasks waiting per CPU (schedstat waiting seconds per second per CPU).
    pub runqueue_wait: Shape,
    /// Runnable tasks (procs_running).
    pub running: Shape,
    /// Blocked tasks (procs_blocked).
    pub blocked: Shape,
    /// 1-minute load average.
    pub load1: Shape,
    /// Context switches per second (whole host).
    pub context_switches: Shape,
    /// Interrupts per second (whole host).
    pub interrupts: Shape,
    /// Processes created per second.
    pub forks: Shape,
    /// Memory.
    pub memory: Memory,
    /// Block devices.
    pub disks: Vec<Disk>,
    /// Filesystems.
    pub filesystems: Vec<Filesystem>,
    /// Interfaces.
    pub nics: Vec<Nic>,
    /// softnet drops/s (whole host).
    pub softnet_drops: Shape,
    /// softnet squeezes/s.
    pub softnet_squeezes: Shape,
    /// TCP segments sent/s.
    pub tcp_out: Shape,
    /// Share of segments retransmitted.
    pub tcp_retrans_ratio: Shape,
    /// Listen overflows/s.
    pub listen_overflows: Shape,
    /// TCP connections opened per second by this host (active opens).
    pub tcp_active_opens: Shape,
    /// TCP connections accepted per second (passive opens).
    pub tcp_passive_opens: Shape,
    /// TCP connections currently established.
    pub tcp_established: Shape,
    /// Allocated file descriptors.
    pub fd_allocated: Shape,
    /// fs.file-max.
    pub fd_max: f64,
    /// PIDs in use.
    pub pids: Shape,
    /// pid_max.
    pub pid_max: f64,
    /// Threads in use.
    pub threads: Shape,
    /// threads-max.
    pub threads_max: f64,
    /// conntrack entries.
    pub conntrack: Shape,
    /// conntrack limit.
    pub conntrack_limit: f64,
    /// Clock offset, seconds.
    pub clock_offset: Shape,
    /// Kernel clock synchronised.
    pub clock_synced: bool,
    /// Kernel max error, seconds.
    pub clock_maxerror: f64,
    /// md arrays.
    pub md: Vec<Md>,
    /// Offsets of correctable ECC errors.
    pub ecc_correctable: Vec<i64>,
    /// Offsets of uncorrectable ECC errors.
    pub ecc_uncorrectable: Vec<i64>,
    /// Offsets of thermal throttling events (`None`: the counters are not exported, as in VMs).
    pub throttles: Option<Vec<i64>>,
    /// Collectors enabled but failing (success 0, no metrics).
    pub failing: Vec<&'static str>,
    /// Collectors not enabled (no success series, no metrics). `processes` is off by default.
    pub disabled: Vec<&'static str>,
    /// Counters restart (node_exporter or host restart) at this offset.
    pub reset_at: Option<i64>,
    /// Scrape timestamps jitter by up to ±0.3 s.
    pub jitter: bool,
    /// No samples between these offsets.
    pub gap: Option<(i64, i64)>,
    /// node_exporter version label.
    pub version: String,
    /// Whether `node_scrape_collector_success` is exported at all.
    pub collector_status: bool,
    /// Process groups reported by a process-exporter on the same machine (port 9256); none:
    /// no process-exporter.
    pub processes: Vec<Process>,
    /// The families behind the expert checks (reclaim, NUMA, UDP, SYNs, conntrack failures,
    /// CPU frequency, softirqs, interrupts, md sync, temperatures).
    pub expert: Expert,
}

/// Every collector a host reports, in node_exporter's names.
pub const COLLECTORS: &[&str] = &[
    "cpu",
    "loadavg",
    "pressure",
    "schedstat",
    "stat",
    "meminfo",
    "vmstat",
    "diskstats",
    "filesystem",
    "netdev",
    "netclass",
    "netstat",
    "softnet",
    "filefd",
    "edac",
    "mdadm",
    "conntrack",
    "processes",
    "timex",
    "hwmon",
    "cpufreq",
    "meminfo_numa",
    "softirqs",
    "interrupts",
];

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

impl Host {
    /// A quiet, healthy host: 4 CPUs at 15 %, memory 40 % used, one disk, one filesystem and
    /// one 1 Gbit/s interface lightly used, every default collector working (PSI included,
    /// schedstat included), `processes`, `meminfo_numa`, `softirqs` and `interrupts` disabled as in node_exporter's defaults, job `node`,
    /// no process-exporter.
    pub fn healthy(instance: &str) -> Host {
        Host {
            instance: instance.to_string(),
            job: "node".to_string(),
            cpus: 4,
            cpu: Cpu {
                user: Shape::c(0.10),
                system: Shape::c(0.04),
                iowait: Shape::c(0.01),
                steal: Shape::c(0.0),
                hot: None,
            },
            pressure: Pressure {
                cpu: Shape::c(0.01),
                memory_some: Shape::c(0.0),
                memory_full: Shape::c(0.0),
                io_some: Shape::c(0.005),
                io_full: Shape::c(0.001),
            },
            runqueue_wait: Shape::c(0.02),
            running: Shape::c(1.5),
            blocked: Shape::c(0.0),
            load1: Shape::c(0.8),
            context_switches: Shape::c(9_000.0),
            interrupts: Shape::c(4_000.0),
            forks: Shape::c(6.0),
            memory: Memory {
                total: 16.0 * GIB,
                used_percent: Shape::c(40.0),
                swap_total: 2.0 * GIB,
                swap_used_percent: Shape::c(1.0),
                swap_pages: Shape::c(0.0),
                major_faults: Shape::c(2.0),
                oom_kills: Vec::new(),
                hardware_corrupted: 0.0,
            },
            disks: vec![Disk {
                name: "sda".into(),
                util: Shape::c(0.10),
                queue: Shape::c(0.2),
                read_iops: Shape::c(20.0),
                write_iops: Shape::c(30.0),
                read_ms: Shape::c(2.0),
                write_ms: Shape::c(3.0),
                read_size: Shape::c(16_384.0),
                write_size: Shape::c(32_768.0),
                rotational: None,
                backing: Vec::new(),
            }],
            filesystems: vec![Filesystem {
                mountpoint: "/".into(),
                device: "/dev/sda1".into(),
                fstype: "ext4".into(),
                size: 100.0 * GIB,
                used_percent: 45.0,
                growth: 0.0,
                bursts: Vec::new(),
                inodes_used_percent: 10.0,
                readonly_from: None,
                readonly: false,
                device_error: false,
            }],
            nics: vec![Nic {
                name: "eth0".into(),
                speed: Some(125_000_000.0),
                rx_bytes: Shape::c(5_000_000.0),
                tx_bytes: Shape::c(3_000_000.0),
                packets: Shape::c(5_000.0),
                drop_ratio: Shape::c(0.0),
                fifo: Shape::c(0.0),
                error_ratio: Shape::c(0.0),
                carrier_changes: Vec::new(),
            }],
            softnet_drops: Shape::c(0.0),
            softnet_squeezes: Shape::c(0.1),
            tcp_out: Shape::c(2_000.0),
            tcp_retrans_ratio: Shape::c(0.001),
            listen_overflows: Shape::c(0.0),
            tcp_active_opens: Shape::c(3.0),
            tcp_passive_opens: Shape::c(8.0),
            tcp_established: Shape::c(120.0),
            fd_allocated: Shape::c(2_000.0),
            fd_max: 1_000_000.0,
            pids: Shape::c(300.0),
            pid_max: 4_194_304.0,
            threads: Shape::c(900.0),
            threads_max: 120_000.0,
            conntrack: Shape::c(500.0),
            conntrack_limit: 262_144.0,
            clock_offset: Shape::c(0.0005),
            clock_synced: true,
            clock_maxerror: 0.05,
            md: Vec::new(),
            ecc_correctable: Vec::new(),
            ecc_uncorrectable: Vec::new(),
            throttles: None,
            failing: Vec::new(),
            disabled: vec!["processes", "meminfo_numa", "softirqs", "interrupts"],
            reset_at: None,
            jitter: true,
            gap: None,
            version: "1.5.0".to_string(),
            collector_status: true,
            processes: Vec::new(),
            expert: Expert::healthy(),
        }
    }

    /// CPU utilization in percent as Gregg Insights defines it (idle, iowait, steal not busy),
    /// over the whole host, at `offset`.
    pub fn utilization_percent_at(&self, offset: f64) -> f64 {
        let mut busy = 0.0;
        for cpu in 0..self.cpus {
            busy += self.cpu_user(cpu, offset) + self.cpu.system.at(offset);
        }
        100.0 * busy / f64::from(self.cpus)
    }

    /// Whether `collector` produces metrics on this host (`""`: always, like build info).
    pub fn has(&self, collector: &str) -> bool {
        collector.is_empty()
            || (!self.failing.contains(&collector) && !self.disabled.contains(&collector))
    }

    fn cpu_user(&self, cpu: u32, offset: f64) -> f64 {
        match &self.cpu.hot {
            Some((hot, shape)) if *hot == cpu => shape.at(offset),
            _ => self.cpu.user.at(offset),
        }
    }

    fn cpu_shares(&self, cpu: u32, offset: f64) -> [(&'static str, f64); 8] {
        let user = self.cpu_user(cpu, offset);
        let system = self.cpu.system.at(offset);
        let iowait = self.cpu.iowait.at(offset);
        let steal = self.cpu.steal.at(offset);
        let idle = (1.0 - user - system - iowait - steal).max(0.0);
        [
            ("idle", idle),
            ("user", user),
            ("system", system),
            ("iowait", iowait),
            ("steal", steal),
            ("nice", 0.0),
            ("irq", 0.0),
            ("softirq", 0.0),
        ]
    }
}

/// A sample time: end-relative offset (for shapes) and absolute Unix seconds (for output).
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    /// Seconds relative to the end (≤ 0).
    pub offset: f64,
    /// Unix seconds of the sample.
    pub time: f64,
}

/// The sample times of a host: every `step` seconds over `history` seconds ending at `end`,
/// with the host's jitter and gap.
pub fn ticks(host: &Host, host_index: usize, end: i64, history: i64, step: i64) -> Vec<Tick> {
    let n = history / step;
    (0..=n)
        .filter_map(|k| {
            let offset = (k * step - history) as f64;
            if let Some((from, to)) = host.gap {
                if offset >= from as f64 && offset < to as f64 {
                    return None;
                }
            }
            let jitter = if host.jitter && k != n {
                // Deterministic, in ±0.3 s, never moving the last sample past `end`.
                let x = ((host_index as u64 * 7919 + k as u64 * 104_729) % 601) as f64;
                (x - 300.0) / 1000.0
            } else {
                0.0
            };
            Some(Tick {
                offset,
                time: (end as f64 + offset + jitter).min(end as f64),
            })
        })
        .collect()
}

/// Writes OpenMetrics families for a set of hosts (node_exporter, then process-exporter
/// series), then application histograms, one family at a time.
pub struct Writer<'a, W: Write> {
    out: &'a mut W,
    hosts: &'a [Host],
    histograms: &'a [Histogram],
    cluster: Option<&'a crate::containers::Cluster>,
    end: i64,
    history: i64,
    step: i64,
    ticks: Vec<Vec<Tick>>,
    /// `# TYPE` line of the current family, written before its first sample (families
    /// without samples are left out).
    pending: Option<String>,
    written: Written,
    last_head: String,
}

/// What a [`Writer`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Distinct series.
    pub series: usize,
    /// Samples.
    pub samples: usize,
}

impl<'a, W: Write> Writer<'a, W> {
    /// Prepare to write `hosts` sampled over `history` seconds every `step`, ending at `end`.
    pub fn new(out: &'a mut W, hosts: &'a [Host], end: i64, history: i64, step: i64) -> Self {
        let ticks = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| ticks(h, i, end, history, step))
            .collect();
        Writer {
            out,
            hosts,
            histograms: &[],
            cluster: None,
            end,
            history,
            step,
            ticks,
            pending: None,
            written: Written::default(),
            last_head: String::new(),
        }
    }

    /// Also write `histograms` (sampled every `step` over the same history, without jitter),
    /// after the hosts' families.
    #[must_use]
    pub fn histograms(mut self, histograms: &'a [Histogram]) -> Self {
        self.histograms = histograms;
        self
    }

    /// Also write `cluster`'s cAdvisor and kube-state-metrics families, after the hosts'.
    #[must_use]
    pub fn containers(mut self, cluster: &'a crate::containers::Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Write every family, then `# EOF`; returns how many series and samples were written.
    pub fn write_all(mut self) -> io::Result<Written> {
        self.gauges()?;
        self.counters()?;
        self.expert()?;
        self.processes()?;
        let h = histogram::write_families(
            self.out,
            self.histograms,
            self.end,
            self.history,
            self.step,
        )?;
        self.written.series += h.series;
        self.written.samples += h.samples;
        if let Some(cluster) = self.cluster {
            let c = crate::containers::write_families(
                self.out,
                cluster,
                self.end,
                self.history,
                self.step,
            )?;
            self.written.series += c.series;
            self.written.samples += c.samples;
        }
        writeln!(self.out, "# EOF")?;
        Ok(self.written)
    }

    fn family(&mut self, name: &str, kind: &str) -> io::Result<()> {
        let meta = if kind == "counter" {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name
        };
        self.pending = Some(format!("# TYPE {meta} {kind}"));
        Ok(())
    }

    fn sample(&mut self, head: &str, value: f64, time: f64) -> io::Result<()> {
        if let Some(line) = self.pending.take() {
            writeln!(self.out, "{line}")?;
        }
        if head != self.last_head {
            self.written.series += 1;
            self.last_head.clear();
            self.last_head.push_str(head);
        }
        self.written.samples += 1;
        write_sample(self.out, head, value, time)
    }

    /// One gauge series per host (and label set) from `value(host, tick)`.
    fn gauge<F>(
        &mut self,
        name: &str,
        collector: &str,
        labels: impl Fn(&Host) -> Vec<Vec<(String, String)>>,
        value: F,
    ) -> io::Result<()>
    where
        F: Fn(&Host, usize, Tick) -> f64,
    {
        self.gauge_series(
            name,
            collector,
            |h| labels(h).iter().map(|e| head(name, h, e)).collect(),
            value,
        )
    }

    /// Like [`Self::gauge`], with each series' name and labels given whole by `heads`.
    fn gauge_series<F>(
        &mut self,
        name: &str,
        collector: &str,
        heads: impl Fn(&Host) -> Vec<String>,
        value: F,
    ) -> io::Result<()>
    where
        F: Fn(&Host, usize, Tick) -> f64,
    {
        self.family(name, "gauge")?;
        let hosts = self.hosts;
        for (h, host) in hosts.iter().enumerate() {
            if !host.has(collector) {
                continue;
            }
            for (series, head) in heads(host).iter().enumerate() {
                for i in 0..self.ticks[h].len() {
                    let tick = self.ticks[h][i];
                    self.sample(head, value(host, series, tick), tick.time)?;
                }
            }
        }
        Ok(())
    }

    /// One counter series per host (and label set), integrating `rate(host, tick)` over time
    /// and restarting at the host's reset.
    fn counter<F>(
        &mut self,
        name: &str,
        kind: &str,
        collector: &str,
        labels: impl Fn(&Host) -> Vec<Vec<(String, String)>>,
        rate: F,
    ) -> io::Result<()>
    where
        F: Fn(&Host, usize, Tick) -> f64,
    {
        self.counter_series(
            name,
            kind,
            collector,
            |h| labels(h).iter().map(|e| head(name, h, e)).collect(),
            rate,
        )
    }

    /// Like [`Self::counter`], with each series' name and labels given whole by `heads`.
    fn counter_series<F>(
        &mut self,
        name: &str,
        kind: &str,
        collector: &str,
        heads: impl Fn(&Host) -> Vec<String>,
        rate: F,
    ) -> io::Result<()>
    where
        F: Fn(&Host, usize, Tick) -> f64,
    {
        self.family(name, kind)?;
        let hosts = self.hosts;
        for (h, host) in hosts.iter().enumerate() {
            if !host.has(collector) {
                continue;
            }
            for (series, head) in heads(host).iter().enumerate() {
                let mut total = 1_000.0 + 37.0 * series as f64;
                let mut previous: Option<Tick> = None;
                for i in 0..self.ticks[h].len() {
                    let tick = self.ticks[h][i];
                    if let Some(p) = previous {
                        let reset = host
                            .reset_at
                            .is_some_and(|r| p.offset < r as f64 && tick.offset >= r as f64);
                        if reset {
                            total = 0.0;
                        }
                        total += rate(host, series, tick).max(0.0) * (tick.time - p.time);
                    }
                    self.sample(head, total, tick.time)?;
                    previous = Some(tick);
                }
            }
        }
        Ok(())
    }

    /// process-exporter families of every host with processes.
    fn processes(&mut self) -> io::Result<()> {
        const MODES: &[(&str, f64)] = &[("user", 0.8), ("system", 0.2)];
        const SWITCHES: &[(&str, f64)] = &[("voluntary", 0.7), ("nonvoluntary", 0.3)];
        const RESIDENT: &[(&str, f64)] = &[("resident", 1.0)];
        let name = "namedprocess_namegroup_cpu_seconds_total";
        self.counter_series(
            name,
            "counter",
            "",
            |h| process_heads(name, h, Some(("mode", MODES))),
            |h, i, t| h.processes[i / 2].cpu.at(t.offset) * MODES[i % 2].1,
        )?;
        let name = "namedprocess_namegroup_read_bytes_total";
        self.counter_series(
            name,
            "counter",
            "",
            |h| process_heads(name, h, None),
            |h, i, t| h.processes[i].read_bytes.at(t.offset),
        )?;
        let name = "namedprocess_namegroup_write_bytes_total";
        self.counter_series(
            name,
            "counter",
            "",
            |h| process_heads(name, h, None),
            |h, i, t| h.processes[i].write_bytes.at(t.offset),
        )?;
        let name = "namedprocess_namegroup_major_page_faults_total";
        self.counter_series(
            name,
            "counter",
            "",
            |h| process_heads(name, h, None),
            |h, i, t| h.processes[i].major_faults.at(t.offset),
        )?;
        let name = "namedprocess_namegroup_context_switches_total";
        self.counter_series(
            name,
            "counter",
            "",
            |h| process_heads(name, h, Some(("ctxswitchtype", SWITCHES))),
            |h, i, t| h.processes[i / 2].context_switches.at(t.offset) * SWITCHES[i % 2].1,
        )?;
        let name = "namedprocess_namegroup_open_filedesc";
        self.gauge_series(
            name,
            "",
            |h| process_heads(name, h, None),
            |h, i, _| h.processes[i].open_fds,
        )?;
        let name = "namedprocess_namegroup_worst_fd_ratio";
        self.gauge_series(
            name,
            "",
            |h| process_heads(name, h, None),
            |h, i, _| h.processes[i].open_fds / h.processes[i].fd_limit,
        )?;
        let name = "namedprocess_namegroup_memory_bytes";
        self.gauge_series(
            name,
            "",
            |h| process_heads(name, h, Some(("memtype", RESIDENT))),
            |h, i, _| h.processes[i].resident_bytes,
        )?;
        let name = "namedprocess_namegroup_num_procs";
        self.gauge_series(
            name,
            "",
            |h| process_heads(name, h, None),
            |h, i, _| f64::from(h.processes[i].procs),
        )
    }

    fn gauges(&mut self) -> io::Result<()> {
        let none = |_: &Host| vec![Vec::new()];
        self.gauge(
            "node_exporter_build_info",
            "",
            |h| vec![vec![("version".into(), h.version.clone())]],
            |_, _, _| 1.0,
        )?;
        // node_uname_info: what public dashboards chain their host variables on; the
        // nodename is the instance without its port.
        self.gauge(
            "node_uname_info",
            "uname",
            |h| {
                let nodename = h.instance.split(':').next().unwrap_or("").to_string();
                vec![vec![
                    ("machine".into(), "x86_64".into()),
                    ("nodename".into(), nodename),
                    ("release".into(), "6.1.0".into()),
                    ("sysname".into(), "Linux".into()),
                ]]
            },
            |_, _, _| 1.0,
        )?;
        // node_scrape_collector_success: every collector not disabled, 0 when failing.
        self.family("node_scrape_collector_success", "gauge")?;
        let hosts = self.hosts;
        for (h, host) in hosts.iter().enumerate().filter(|(_, h)| h.collector_status) {
            for collector in COLLECTORS {
                if host.disabled.contains(collector) {
                    continue;
                }
                let ok = if host.failing.contains(collector) {
                    0.0
                } else {
                    1.0
                };
                let head = head(
                    "node_scrape_collector_success",
                    host,
                    &[("collector".to_string(), collector.to_string())],
                );
                for i in 0..self.ticks[h].len() {
                    let time = self.ticks[h][i].time;
                    self.sample(&head, ok, time)?;
                }
            }
        }
        self.gauge("node_load1", "loadavg", none, |h, _, t| {
            h.load1.at(t.offset)
        })?;
        self.gauge("node_procs_running", "stat", none, |h, _, t| {
            h.running.at(t.offset)
        })?;
        self.gauge("node_procs_blocked", "stat", none, |h, _, t| {
            h.blocked.at(t.offset)
        })?;
        self.gauge("node_memory_MemTotal_bytes", "meminfo", none, |h, _, _| {
            h.memory.total
        })?;
        self.gauge(
            "node_memory_MemAvailable_bytes",
            "meminfo",
            none,
            |h, _, t| h.memory.total * (1.0 - h.memory.used_percent.at(t.offset) / 100.0),
        )?;
        self.gauge("node_memory_SwapTotal_bytes", "meminfo", none, |h, _, _| {
            h.memory.swap_total
        })?;
        self.gauge("node_memory_SwapFree_bytes", "meminfo", none, |h, _, t| {
            h.memory.swap_total * (1.0 - h.memory.swap_used_percent.at(t.offset) / 100.0)
        })?;
        self.gauge(
            "node_memory_HardwareCorrupted_bytes",
            "meminfo",
            none,
            |h, _, _| h.memory.hardware_corrupted,
        )?;
        let fs_labels = |h: &Host| {
            h.filesystems
                .iter()
                .map(|f| {
                    vec![
                        ("device".to_string(), f.device.clone()),
                        ("fstype".to_string(), f.fstype.clone()),
                        ("mountpoint".to_string(), f.mountpoint.clone()),
                    ]
                })
                .collect()
        };
        self.gauge(
            "node_filesystem_size_bytes",
            "filesystem",
            fs_labels,
            |h, i, _| h.filesystems[i].size,
        )?;
        self.gauge(
            "node_filesystem_avail_bytes",
            "filesystem",
            fs_labels,
            |h, i, t| {
                let f = &h.filesystems[i];
                let at_end = f.size * (1.0 - f.used_percent / 100.0);
                (at_end - f.growth * t.offset + f.burst_bytes_after(t.offset)).clamp(0.0, f.size)
            },
        )?;
        self.gauge(
            "node_filesystem_files",
            "filesystem",
            fs_labels,
            |_, _, _| 6_553_600.0,
        )?;
        self.gauge(
            "node_filesystem_files_free",
            "filesystem",
            fs_labels,
            |h, i, _| 6_553_600.0 * (1.0 - h.filesystems[i].inodes_used_percent / 100.0),
        )?;
        self.gauge(
            "node_filesystem_readonly",
            "filesystem",
            fs_labels,
            |h, i, t| {
                let f = &h.filesystems[i];
                let flipped = f.readonly_from.is_some_and(|r| t.offset >= r as f64);
                if f.readonly || flipped {
                    1.0
                } else {
                    0.0
                }
            },
        )?;
        self.gauge(
            "node_filesystem_device_error",
            "filesystem",
            fs_labels,
            |h, i, _| {
                if h.filesystems[i].device_error {
                    1.0
                } else {
                    0.0
                }
            },
        )?;
        let nic_labels = |h: &Host| {
            h.nics
                .iter()
                .map(|n| vec![("device".to_string(), n.name.clone())])
                .collect()
        };
        self.gauge(
            "node_network_speed_bytes",
            "netclass",
            nic_labels,
            |h, i, _| h.nics[i].speed.unwrap_or(-125_000.0),
        )?;
        self.gauge("node_network_up", "netclass", nic_labels, |_, _, _| 1.0)?;
        self.gauge("node_netstat_Tcp_CurrEstab", "netstat", none, |h, _, t| {
            h.tcp_established.at(t.offset)
        })?;
        self.gauge("node_filefd_allocated", "filefd", none, |h, _, t| {
            h.fd_allocated.at(t.offset)
        })?;
        self.gauge("node_filefd_maximum", "filefd", none, |h, _, _| h.fd_max)?;
        self.gauge("node_processes_pids", "processes", none, |h, _, t| {
            h.pids.at(t.offset)
        })?;
        self.gauge(
            "node_processes_max_processes",
            "processes",
            none,
            |h, _, _| h.pid_max,
        )?;
        self.gauge("node_processes_threads", "processes", none, |h, _, t| {
            h.threads.at(t.offset)
        })?;
        self.gauge(
            "node_processes_max_threads",
            "processes",
            none,
            |h, _, _| h.threads_max,
        )?;
        self.gauge("node_nf_conntrack_entries", "conntrack", none, |h, _, t| {
            h.conntrack.at(t.offset)
        })?;
        self.gauge(
            "node_nf_conntrack_entries_limit",
            "conntrack",
            none,
            |h, _, _| h.conntrack_limit,
        )?;
        self.gauge("node_timex_offset_seconds", "timex", none, |h, _, t| {
            h.clock_offset.at(t.offset)
        })?;
        self.gauge("node_timex_sync_status", "timex", none, |h, _, _| {
            if h.clock_synced {
                1.0
            } else {
                0.0
            }
        })?;
        self.gauge("node_timex_maxerror_seconds", "timex", none, |h, _, _| {
            h.clock_maxerror
        })?;
        let disk_info_labels = |h: &Host| {
            h.disks
                .iter()
                .map(|d| {
                    let mut labels = vec![("device".to_string(), d.name.clone())];
                    if let Some(rotational) = d.rotational {
                        labels.push(("rotational".to_string(), u8::from(rotational).to_string()));
                    }
                    labels
                })
                .collect()
        };
        self.gauge(
            "node_disk_info",
            "diskstats",
            disk_info_labels,
            |_, _, _| 1.0,
        )?;
        let backing_labels = |h: &Host| {
            h.disks
                .iter()
                .flat_map(|d| {
                    d.backing.iter().map(|b| {
                        vec![
                            ("device".to_string(), d.name.clone()),
                            ("backing_device".to_string(), b.clone()),
                        ]
                    })
                })
                .collect()
        };
        self.gauge(
            "node_disk_device_mapper_backing_device_info",
            "diskstats",
            backing_labels,
            |_, _, _| 1.0,
        )?;
        let md_labels = |h: &Host| {
            h.md.iter()
                .map(|m| vec![("device".to_string(), m.name.clone())])
                .collect()
        };
        self.gauge("node_md_disks_required", "mdadm", md_labels, |h, i, _| {
            h.md[i].required
        })?;
        let md_state_labels = |h: &Host| {
            h.md.iter()
                .flat_map(|m| {
                    ["active", "failed", "spare"].map(|s| {
                        vec![
                            ("device".to_string(), m.name.clone()),
                            ("state".to_string(), s.to_string()),
                        ]
                    })
                })
                .collect()
        };
        self.gauge("node_md_disks", "mdadm", md_state_labels, |h, i, _| {
            let m = &h.md[i / 3];
            [m.active, m.failed, 0.0][i % 3]
        })
    }

    fn counters(&mut self) -> io::Result<()> {
        let none = |_: &Host| vec![Vec::new()];
        let per_cpu_mode = |h: &Host| {
            (0..h.cpus)
                .flat_map(|c| {
                    [
                        "idle", "user", "system", "iowait", "steal", "nice", "irq", "softirq",
                    ]
                    .map(|m| {
                        vec![
                            ("cpu".to_string(), c.to_string()),
                            ("mode".to_string(), m.to_string()),
                        ]
                    })
                })
                .collect()
        };
        self.counter(
            "node_cpu_seconds_total",
            "counter",
            "cpu",
            per_cpu_mode,
            |h, i, t| h.cpu_shares(i as u32 / 8, t.offset)[i % 8].1,
        )?;
        let throttle_labels = |h: &Host| match &h.throttles {
            Some(_) => (0..h.cpus)
                .map(|c| {
                    vec![
                        ("core".to_string(), c.to_string()),
                        ("package".to_string(), "0".to_string()),
                    ]
                })
                .collect(),
            None => Vec::new(),
        };
        self.counter(
            "node_cpu_core_throttles_total",
            "counter",
            "cpu",
            throttle_labels,
            |h, _, t| events_rate(h.throttles.as_deref().unwrap_or(&[]), t.offset),
        )?;
        // One package counter per package, moving with every event (a package at its limit
        // throttles all its cores, which count the event too).
        let package_labels = |h: &Host| match &h.throttles {
            Some(_) => vec![vec![("package".to_string(), "0".to_string())]],
            None => Vec::new(),
        };
        self.counter(
            "node_cpu_package_throttles_total",
            "counter",
            "cpu",
            package_labels,
            |h, _, t| events_rate(h.throttles.as_deref().unwrap_or(&[]), t.offset),
        )?;
        self.counter(
            "node_pressure_cpu_waiting_seconds_total",
            "counter",
            "pressure",
            none,
            |h, _, t| h.pressure.cpu.at(t.offset),
        )?;
        self.counter(
            "node_pressure_memory_waiting_seconds_total",
            "counter",
            "pressure",
            none,
            |h, _, t| h.pressure.memory_some.at(t.offset),
        )?;
        self.counter(
            "node_pressure_memory_stalled_seconds_total",
            "counter",
            "pressure",
            none,
            |h, _, t| h.pressure.memory_full.at(t.offset),
        )?;
        self.counter(
            "node_pressure_io_waiting_seconds_total",
            "counter",
            "pressure",
            none,
            |h, _, t| h.pressure.io_some.at(t.offset),
        )?;
        self.counter(
            "node_pressure_io_stalled_seconds_total",
            "counter",
            "pressure",
            none,
            |h, _, t| h.pressure.io_full.at(t.offset),
        )?;
        let per_cpu = |h: &Host| {
            (0..h.cpus)
                .map(|c| vec![("cpu".to_string(), c.to_string())])
                .collect()
        };
        self.counter(
            "node_schedstat_waiting_seconds_total",
            "counter",
            "schedstat",
            per_cpu,
            |h, _, t| h.runqueue_wait.at(t.offset),
        )?;
        self.counter(
            "node_schedstat_timeslices_total",
            "counter",
            "schedstat",
            per_cpu,
            |_, _, _| 500.0,
        )?;
        self.counter(
            "node_context_switches_total",
            "counter",
            "stat",
            none,
            |h, _, t| h.context_switches.at(t.offset),
        )?;
        self.counter("node_intr_total", "counter", "stat", none, |h, _, t| {
            h.interrupts.at(t.offset)
        })?;
        self.counter("node_forks_total", "counter", "stat", none, |h, _, t| {
            h.forks.at(t.offset)
        })?;
        self.counter(
            "node_vmstat_pswpin",
            "unknown",
            "vmstat",
            none,
            |h, _, t| h.memory.swap_pages.at(t.offset) / 2.0,
        )?;
        self.counter(
            "node_vmstat_pswpout",
            "unknown",
            "vmstat",
            none,
            |h, _, t| h.memory.swap_pages.at(t.offset) / 2.0,
        )?;
        self.counter(
            "node_vmstat_pgmajfault",
            "unknown",
            "vmstat",
            none,
            |h, _, t| h.memory.major_faults.at(t.offset),
        )?;
        self.counter(
            "node_vmstat_oom_kill",
            "unknown",
            "vmstat",
            none,
            |h, _, t| events_rate(&h.memory.oom_kills, t.offset),
        )?;
        let disk_labels = |h: &Host| {
            h.disks
                .iter()
                .map(|d| vec![("device".to_string(), d.name.clone())])
                .collect()
        };
        self.counter(
            "node_disk_io_time_seconds_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| h.disks[i].util.at(t.offset),
        )?;
        self.counter(
            "node_disk_io_time_weighted_seconds_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| h.disks[i].queue.at(t.offset),
        )?;
        self.counter(
            "node_disk_reads_completed_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| h.disks[i].read_iops.at(t.offset),
        )?;
        self.counter(
            "node_disk_writes_completed_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| h.disks[i].write_iops.at(t.offset),
        )?;
        self.counter(
            "node_disk_read_time_seconds_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| {
                let d = &h.disks[i];
                d.read_iops.at(t.offset) * d.read_ms.at(t.offset) / 1000.0
            },
        )?;
        self.counter(
            "node_disk_write_time_seconds_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| {
                let d = &h.disks[i];
                d.write_iops.at(t.offset) * d.write_ms.at(t.offset) / 1000.0
            },
        )?;
        self.counter(
            "node_disk_read_bytes_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| {
                let d = &h.disks[i];
                d.read_iops.at(t.offset) * d.read_size.at(t.offset)
            },
        )?;
        self.counter(
            "node_disk_written_bytes_total",
            "counter",
            "diskstats",
            disk_labels,
            |h, i, t| {
                let d = &h.disks[i];
                d.write_iops.at(t.offset) * d.write_size.at(t.offset)
            },
        )?;
        let nic_labels = |h: &Host| {
            h.nics
                .iter()
                .map(|n| vec![("device".to_string(), n.name.clone())])
                .collect()
        };
        self.counter(
            "node_network_receive_bytes_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| h.nics[i].rx_bytes.at(t.offset),
        )?;
        self.counter(
            "node_network_transmit_bytes_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| h.nics[i].tx_bytes.at(t.offset),
        )?;
        self.counter(
            "node_network_receive_packets_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| h.nics[i].packets.at(t.offset),
        )?;
        self.counter(
            "node_network_transmit_packets_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| h.nics[i].packets.at(t.offset),
        )?;
        self.counter(
            "node_network_receive_drop_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| {
                let n = &h.nics[i];
                n.packets.at(t.offset) * n.drop_ratio.at(t.offset)
            },
        )?;
        self.counter(
            "node_network_transmit_drop_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| {
                let n = &h.nics[i];
                n.packets.at(t.offset) * n.drop_ratio.at(t.offset)
            },
        )?;
        self.counter(
            "node_network_receive_fifo_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| h.nics[i].fifo.at(t.offset),
        )?;
        self.counter(
            "node_network_transmit_fifo_total",
            "counter",
            "netdev",
            nic_labels,
            |_, _, _| 0.0,
        )?;
        self.counter(
            "node_network_receive_errs_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| {
                let n = &h.nics[i];
                n.packets.at(t.offset) * n.error_ratio.at(t.offset)
            },
        )?;
        self.counter(
            "node_network_transmit_errs_total",
            "counter",
            "netdev",
            nic_labels,
            |h, i, t| {
                let n = &h.nics[i];
                n.packets.at(t.offset) * n.error_ratio.at(t.offset)
            },
        )?;
        self.counter(
            "node_network_carrier_changes_total",
            "counter",
            "netclass",
            nic_labels,
            |h, i, t| events_rate(&h.nics[i].carrier_changes, t.offset),
        )?;
        self.counter(
            "node_softnet_dropped_total",
            "counter",
            "softnet",
            per_cpu,
            |h, _, t| h.softnet_drops.at(t.offset) / f64::from(h.cpus),
        )?;
        self.counter(
            "node_softnet_times_squeezed_total",
            "counter",
            "softnet",
            per_cpu,
            |h, _, t| h.softnet_squeezes.at(t.offset) / f64::from(h.cpus),
        )?;
        self.counter(
            "node_netstat_Tcp_OutSegs",
            "unknown",
            "netstat",
            none,
            |h, _, t| h.tcp_out.at(t.offset),
        )?;
        self.counter(
            "node_netstat_Tcp_RetransSegs",
            "unknown",
            "netstat",
            none,
            |h, _, t| h.tcp_out.at(t.offset) * h.tcp_retrans_ratio.at(t.offset),
        )?;
        self.counter(
            "node_netstat_TcpExt_ListenOverflows",
            "unknown",
            "netstat",
            none,
            |h, _, t| h.listen_overflows.at(t.offset),
        )?;
        self.counter(
            "node_netstat_Tcp_ActiveOpens",
            "unknown",
            "netstat",
            none,
            |h, _, t| h.tcp_active_opens.at(t.offset),
        )?;
        self.counter(
            "node_netstat_Tcp_PassiveOpens",
            "unknown",
            "netstat",
            none,
            |h, _, t| h.tcp_passive_opens.at(t.offset),
        )?;
        let edac_labels = |_: &Host| vec![vec![("controller".to_string(), "0".to_string())]];
        self.counter(
            "node_edac_correctable_errors_total",
            "counter",
            "edac",
            edac_labels,
            |h, _, t| events_rate(&h.ecc_correctable, t.offset),
        )?;
        self.counter(
            "node_edac_uncorrectable_errors_total",
            "counter",
            "edac",
            edac_labels,
            |h, _, t| events_rate(&h.ecc_uncorrectable, t.offset),
        )
    }
}

/// Events as a rate: each event is one count spread over the 15 s before it.
fn events_rate(events: &[i64], offset: f64) -> f64 {
    events
        .iter()
        .filter(|e| offset > **e as f64 && offset <= **e as f64 + 15.0)
        .count() as f64
        / 15.0
}

fn head(name: &str, host: &Host, extra: &[(String, String)]) -> String {
    let mut labels = vec![
        format!("instance=\"{}\"", escape(&host.instance)),
        format!("job=\"{}\"", escape(&host.job)),
    ];
    for (k, v) in extra {
        labels.push(format!("{k}=\"{}\"", escape(v)));
    }
    format!("{name}{{{}}}", labels.join(","))
}

/// The `instance` of the process-exporter beside `host`'s node_exporter: the same host, port
/// 9256.
pub fn process_exporter_instance(host: &Host) -> String {
    let machine = host
        .instance
        .rsplit_once(':')
        .map_or(host.instance.as_str(), |(machine, _)| machine);
    format!("{machine}:9256")
}

/// Series heads of a process-exporter family: one per process, or one per process and value
/// of `split` (`(label, [(value, share)])`), process-major.
fn process_heads(name: &str, host: &Host, split: Option<(&str, &[(&str, f64)])>) -> Vec<String> {
    let instance = process_exporter_instance(host);
    let labels = |p: &Process, extra: Option<(&str, &str)>| {
        let mut labels = vec![
            format!("instance=\"{}\"", escape(&instance)),
            "job=\"process-exporter\"".to_string(),
            format!("groupname=\"{}\"", escape(&p.name)),
        ];
        if let Some((k, v)) = extra {
            labels.push(format!("{k}=\"{}\"", escape(v)));
        }
        format!("{name}{{{}}}", labels.join(","))
    };
    host.processes
        .iter()
        .flat_map(|p| match split {
            None => vec![labels(p, None)],
            Some((label, values)) => values
                .iter()
                .map(|(v, _)| labels(p, Some((label, v))))
                .collect(),
        })
        .collect()
}

pub(crate) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn write_sample<W: Write>(out: &mut W, head: &str, value: f64, time: f64) -> io::Result<()> {
    if value.is_finite() {
        writeln!(out, "{head} {value} {time:.3}")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_ticks() {
        let s = Shape::c(1.0).burst(-60, -30, 5.0);
        assert_eq!(s.at(-100.0), 1.0);
        assert_eq!(s.at(-45.0), 5.0);
        assert_eq!(s.at(-30.0), 1.0);
        let mut h = Host::healthy("h:9100");
        h.gap = Some((-120, -60));
        let t = ticks(&h, 0, 1_000_000, 600, 15);
        assert_eq!(t.last().map(|t| t.time), Some(1_000_000.0));
        assert!(t.iter().all(|t| !(t.offset >= -120.0 && t.offset < -60.0)));
        assert!(t.windows(2).all(|w| w[0].time < w[1].time));
    }

    #[test]
    fn disabled_collectors_emit_nothing() {
        let mut h = Host::healthy("h:9100");
        h.disabled.push("pressure");
        h.failing.push("schedstat");
        let mut out = Vec::new();
        Writer::new(&mut out, std::slice::from_ref(&h), 1_000_000, 60, 15)
            .write_all()
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("node_pressure_cpu_waiting_seconds_total{"));
        assert!(!text.contains("node_schedstat_waiting_seconds_total{"));
        assert!(text.contains("collector=\"schedstat\"} 0 "));
        assert!(!text.contains("collector=\"pressure\""));
        assert!(text.contains(
            "node_cpu_seconds_total{instance=\"h:9100\",job=\"node\",cpu=\"3\",mode=\"steal\"}"
        ));
        assert!(text.ends_with("# EOF\n"));
    }
}
