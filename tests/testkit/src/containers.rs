//! Kubernetes containers as cAdvisor v0.49 (the kubelet's `/metrics/cadvisor`) and
//! kube-state-metrics v2.13 expose them: the series, labels and units of those exporters, so
//! that scenarios exercise the container checks without a cluster (no cAdvisor binary can be
//! built here: its `cmd` module is not on the Go module proxy).
//!
//! cAdvisor writes one series per cgroup: the container's (labels `id`, `name`, `image`,
//! `namespace`, `pod`, `container`), the pod-level cgroup (no `container` label: `""` is no
//! label in Prometheus) and the pause container (`container="POD"`). Both extra cgroups are
//! written, the pod's with a quota and usage summed over its containers, so a check that does
//! not exclude them reports them.
//!
//! The memory limit hits and the pressure families follow the two cgroup versions as cAdvisor
//! reports them: `container_memory_failcnt` for every cgroup (counting only on cgroup v1; on
//! v2 cAdvisor reports 0), and the `container_pressure_*` families (cAdvisor v0.52.0, cgroup v2
//! only) for the containers that have [`Pressure`].

use std::io::{self, Write};

use crate::host::{Shape, Written};

/// CFS period, microseconds (the kernel's default, cAdvisor's `container_spec_cpu_period`).
const CFS_PERIOD_US: f64 = 100_000.0;

/// One container of a pod.
#[derive(Clone, Debug)]
pub struct Container {
    /// Kubernetes namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// The node it runs on (node_exporter's nodename, the instance without its port).
    pub node: String,
    /// CPU used, cores.
    pub cpu: Shape,
    /// CPU limit, cores (`None`: no limit, no CFS quota).
    pub cpu_limit: Option<f64>,
    /// Share of CFS periods throttled (0–1); only where there is a limit.
    pub throttled: Shape,
    /// Working set, bytes.
    pub memory: Shape,
    /// Memory limit, bytes (`None`: cAdvisor writes 0).
    pub memory_limit: Option<f64>,
    /// Offsets (seconds before the end) at which the OOM killer killed it; it restarts each time.
    pub oom_kills: Vec<i64>,
    /// Offsets at which it exited otherwise (a crash, a failed liveness probe); it restarts
    /// each time, and kube-state-metrics' last terminated reason is then `Error`.
    pub crashes: Vec<i64>,
    /// Memory usage hitting the limit, per second (`container_memory_failcnt`'s rate): cgroup
    /// v1 only; a container with [`Pressure`] runs on cgroup v2, where it stays 0.
    pub limit_hits: Shape,
    /// Pressure stall information (cgroup v2, cAdvisor v0.52.0 or later); `None`: none exported.
    pub pressure: Option<Pressure>,
}

/// A cgroup's pressure stall information: the share of wall time (0–1) at least one of its
/// tasks waited (PSI "some"); "full" (all of its non-idle tasks at once) is derived.
#[derive(Clone, Debug)]
pub struct Pressure {
    /// Runnable tasks waiting for a CPU.
    pub cpu: Shape,
    /// Tasks stalled on memory (reclaim, refaults, swap-in).
    pub memory: Shape,
}

impl Pressure {
    /// Little pressure: 2 % CPU, 0.5 % memory.
    pub fn low() -> Pressure {
        Pressure {
            cpu: Shape::c(0.02),
            memory: Shape::c(0.005),
        }
    }
}

impl Container {
    /// A quiet container: 0.1 of a core under a 1-core limit, 200 MiB under a 1 GiB limit.
    pub fn healthy(namespace: &str, pod: &str, container: &str, node: &str) -> Container {
        Container {
            namespace: namespace.into(),
            pod: pod.into(),
            container: container.into(),
            node: node.into(),
            cpu: Shape::c(0.1),
            cpu_limit: Some(1.0),
            throttled: Shape::c(0.0),
            memory: Shape::c(200.0 * MIB),
            memory_limit: Some(1024.0 * MIB),
            oom_kills: Vec::new(),
            limit_hits: Shape::c(0.0),
            pressure: None,
            crashes: Vec::new(),
        }
    }

    /// The same without any limit.
    #[must_use]
    pub fn unlimited(mut self) -> Container {
        self.cpu_limit = None;
        self.memory_limit = None;
        self
    }

    /// `namespace/pod/container`: the instance of its findings.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.pod, self.container)
    }

    /// OOM kills by `offset`: cAdvisor's container_oom_events_total.
    fn oom_kills_at(&self, offset: f64) -> f64 {
        self.oom_kills
            .iter()
            .filter(|k| (**k as f64) <= offset)
            .count() as f64
    }

    /// Restarts by `offset` (OOM kills and crashes): kube-state-metrics' restarts counter.
    fn restarts_at(&self, offset: f64) -> f64 {
        self.oom_kills_at(offset)
            + self
                .crashes
                .iter()
                .filter(|k| (**k as f64) <= offset)
                .count() as f64
    }

    /// The reason of its last termination by `offset`, if it terminated.
    fn last_terminated_at(&self, offset: f64) -> Option<&'static str> {
        let last = |times: &[i64]| {
            times
                .iter()
                .copied()
                .filter(|t| (*t as f64) <= offset)
                .max()
        };
        match (last(&self.oom_kills), last(&self.crashes)) {
            (Some(oom), Some(crash)) if crash > oom => Some("Error"),
            (Some(_), _) => Some("OOMKilled"),
            (None, Some(_)) => Some("Error"),
            (None, None) => None,
        }
    }
}

/// Mebibyte.
pub const MIB: f64 = 1024.0 * 1024.0;

/// What runs beside the hosts: containers, and which exporters see them.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// The containers.
    pub containers: Vec<Container>,
    /// Whether kube-state-metrics is scraped.
    pub kube_state_metrics: bool,
    /// Whether cAdvisor is scraped.
    pub cadvisor: bool,
    /// Every series scraped twice: cAdvisor by the kubelet's /metrics/cadvisor and by a
    /// standalone cAdvisor DaemonSet, kube-state-metrics by two replicas (HA). The checks must
    /// not count a container or a pod twice.
    pub twice: bool,
    /// Whether cAdvisor exports container_oom_events_total (v0.39 and later; older releases
    /// and some kubelets do not, and kube-state-metrics is then the only source of OOM kills).
    pub oom_events: bool,
}

impl Cluster {
    /// cAdvisor and kube-state-metrics both scraped.
    pub fn new(containers: Vec<Container>) -> Cluster {
        Cluster {
            containers,
            kube_state_metrics: true,
            cadvisor: true,
            twice: false,
            oom_events: true,
        }
    }

    fn nodes(&self) -> Vec<&str> {
        let mut nodes: Vec<&str> = self.containers.iter().map(|c| c.node.as_str()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    fn pods(&self) -> Vec<(&str, &str, &str)> {
        let mut pods: Vec<(&str, &str, &str)> = self
            .containers
            .iter()
            .map(|c| (c.namespace.as_str(), c.pod.as_str(), c.node.as_str()))
            .collect();
        pods.sort_unstable();
        pods.dedup();
        pods
    }
}

/// A series: its labels (without the metric name) and its value at an offset.
type Series<'a> = (String, Box<dyn Fn(f64) -> f64 + 'a>);

/// Writes families of series sampled every `step` over `history` seconds ending at `end`.
struct Families<'w, W: Write> {
    out: &'w mut W,
    end: i64,
    history: i64,
    step: i64,
    written: Written,
    /// See [`Cluster::twice`].
    twice: bool,
}

/// The labels of the same series from the second scraper: a standalone cAdvisor on port 8080
/// (job `cadvisor`), or the second kube-state-metrics replica.
fn second_scraper(labels: &str) -> String {
    labels
        .replace(
            ":10250\",job=\"kubelet\",metrics_path=\"/metrics/cadvisor\"",
            ":8080\",job=\"cadvisor\"",
        )
        .replace(
            "instance=\"kube-state-metrics:8080\"",
            "instance=\"kube-state-metrics-b:8080\"",
        )
}

impl<W: Write> Families<'_, W> {
    /// One family (`kind` gauge or counter): every series contiguous, samples in time order.
    fn family(&mut self, name: &str, kind: &str, series: Vec<Series<'_>>) -> io::Result<()> {
        if series.is_empty() {
            return Ok(());
        }
        let meta = if kind == "counter" {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name
        };
        writeln!(self.out, "# TYPE {meta} {kind}")?;
        for (labels, value) in series {
            let second = self.twice.then(|| second_scraper(&labels));
            for labels in std::iter::once(labels).chain(second) {
                self.written.series += 1;
                let mut t = self.end - self.history;
                while t <= self.end {
                    let v = value((t - self.end) as f64);
                    if v.is_finite() {
                        writeln!(self.out, "{name}{{{labels}}} {v} {t}.000")?;
                        self.written.samples += 1;
                    }
                    t += self.step;
                }
            }
        }
        Ok(())
    }
}

/// cAdvisor's labels for a cgroup of a pod; `container` empty for the pod-level cgroup.
fn cadvisor_labels(c: &Container, container: &str) -> String {
    let id = if container.is_empty() {
        format!("/kubepods/burstable/pod{}", c.pod)
    } else {
        format!("/kubepods/burstable/pod{}/{}", c.pod, container)
    };
    let image = if container == "POD" {
        "registry.k8s.io/pause:3.9".to_string()
    } else {
        format!("registry.example/{}:1.0", c.container)
    };
    format!(
        "container=\"{container}\",id=\"{id}\",image=\"{image}\",instance=\"{}:10250\",job=\"kubelet\",metrics_path=\"/metrics/cadvisor\",name=\"k8s_{container}_{}\",namespace=\"{}\",pod=\"{}\"",
        c.node, c.pod, c.namespace, c.pod
    )
}

fn ksm_labels(c: &Container) -> String {
    format!(
        "container=\"{}\",instance=\"kube-state-metrics:8080\",job=\"kube-state-metrics\",namespace=\"{}\",pod=\"{}\",uid=\"uid-{}\"",
        c.container, c.namespace, c.pod, c.pod
    )
}

/// Integrate a rate `shape` (per second) from the start of the history to `offset`.
fn integral(rate: impl Fn(f64) -> f64, start: f64, offset: f64, step: f64) -> f64 {
    let mut total = 0.0;
    let mut t = start;
    while t < offset {
        total += rate(t) * step;
        t += step;
    }
    total
}

/// Write `cluster` as cAdvisor and kube-state-metrics families. No `# EOF`.
pub fn write_families<W: Write>(
    out: &mut W,
    cluster: &Cluster,
    end: i64,
    history: i64,
    step: i64,
) -> io::Result<Written> {
    let mut f = Families {
        out,
        end,
        history,
        step,
        written: Written::default(),
        twice: cluster.twice,
    };
    if cluster.cadvisor {
        cadvisor(&mut f, cluster)?;
    }
    if cluster.kube_state_metrics {
        kube_state_metrics(&mut f, cluster)?;
    }
    Ok(f.written)
}

fn cadvisor<W: Write>(f: &mut Families<'_, W>, cluster: &Cluster) -> io::Result<()> {
    let (start, step) = (-(f.history as f64), f.step as f64);
    let cs = &cluster.containers;
    // Usage: each container, the pause container (a trickle) and the pod cgroup (their sum).
    let mut usage: Vec<Series<'_>> = Vec::new();
    for c in cs {
        usage.push((
            cadvisor_labels(c, &c.container),
            Box::new(move |o| integral(|t| c.cpu.at(t), start, o, step)),
        ));
        usage.push((
            cadvisor_labels(c, "POD"),
            Box::new(move |o| integral(|_| 0.0005, start, o, step)),
        ));
        usage.push((
            cadvisor_labels(c, ""),
            Box::new(move |o| integral(|t| c.cpu.at(t) + 0.0005, start, o, step)),
        ));
    }
    f.family("container_cpu_usage_seconds_total", "counter", usage)?;
    let limited: Vec<&Container> = cs.iter().filter(|c| c.cpu_limit.is_some()).collect();
    let cfs = |rate: fn(&Container, f64) -> f64| -> Vec<Series<'_>> {
        limited
            .iter()
            .map(|c| {
                let c = *c;
                let s: Series<'_> = (
                    cadvisor_labels(c, &c.container),
                    Box::new(move |o| integral(|t| rate(c, t), start, o, step)),
                );
                s
            })
            .collect()
    };
    // 1 s / 100 ms: ten CFS periods a second while the container runs.
    f.family(
        "container_cpu_cfs_periods_total",
        "counter",
        cfs(|_, _| 10.0),
    )?;
    f.family(
        "container_cpu_cfs_throttled_periods_total",
        "counter",
        cfs(|c, t| 10.0 * c.throttled.at(t)),
    )?;
    // A throttled period loses the rest of it: about half a period per throttled period.
    f.family(
        "container_cpu_cfs_throttled_seconds_total",
        "counter",
        cfs(|c, t| 10.0 * c.throttled.at(t) * 0.05),
    )?;
    let quota = |c: &Container| c.cpu_limit.map(|l| l * CFS_PERIOD_US);
    let mut quotas: Vec<Series<'_>> = Vec::new();
    let mut period: Vec<Series<'_>> = Vec::new();
    for c in &limited {
        let q = quota(c).unwrap_or(0.0);
        quotas.push((cadvisor_labels(c, &c.container), Box::new(move |_| q)));
        period.push((
            cadvisor_labels(c, &c.container),
            Box::new(|_| CFS_PERIOD_US),
        ));
    }
    // The pod cgroup's quota is the sum of its containers' (so the pod looks limited too).
    for c in &limited {
        let q = quota(c).unwrap_or(0.0);
        quotas.push((cadvisor_labels(c, ""), Box::new(move |_| q)));
        period.push((cadvisor_labels(c, ""), Box::new(|_| CFS_PERIOD_US)));
    }
    f.family("container_spec_cpu_quota", "gauge", quotas)?;
    f.family("container_spec_cpu_period", "gauge", period)?;
    let mut limits: Vec<Series<'_>> = Vec::new();
    let mut working: Vec<Series<'_>> = Vec::new();
    let mut used: Vec<Series<'_>> = Vec::new();
    let mut rss: Vec<Series<'_>> = Vec::new();
    for c in cs {
        let limit = c.memory_limit.unwrap_or(0.0);
        limits.push((cadvisor_labels(c, &c.container), Box::new(move |_| limit)));
        limits.push((cadvisor_labels(c, "POD"), Box::new(|_| 0.0)));
        working.push((
            cadvisor_labels(c, &c.container),
            Box::new(move |o| c.memory.at(o)),
        ));
        working.push((cadvisor_labels(c, "POD"), Box::new(|_| 400.0 * 1024.0)));
        used.push((
            cadvisor_labels(c, &c.container),
            Box::new(move |o| c.memory.at(o) + 50.0 * MIB),
        ));
        // Anonymous memory: the working set less the active page cache (20 MiB here).
        rss.push((
            cadvisor_labels(c, &c.container),
            Box::new(move |o| (c.memory.at(o) - 20.0 * MIB).max(0.0)),
        ));
    }
    f.family("container_spec_memory_limit_bytes", "gauge", limits)?;
    f.family("container_memory_working_set_bytes", "gauge", working)?;
    f.family("container_memory_usage_bytes", "gauge", used)?;
    f.family("container_memory_rss", "gauge", rss)?;
    memory_limit_hits(f, cs)?;
    pressure(f, cs)?;
    if !cluster.oom_events {
        return Ok(());
    }
    let ooms: Vec<Series<'_>> = cs
        .iter()
        .map(|c| {
            let s: Series<'_> = (
                cadvisor_labels(c, &c.container),
                Box::new(move |o| c.oom_kills_at(o)),
            );
            s
        })
        .collect();
    f.family("container_oom_events_total", "counter", ooms)
}

/// `container_memory_failcnt`: every cgroup has it; the pause container never hits a limit.
/// cAdvisor types it a counter without the `_total` suffix, which OpenMetrics (what promtool
/// backfills) refuses for a counter: written untyped, as node_exporter's netstat fields are.
fn memory_limit_hits<W: Write>(f: &mut Families<'_, W>, cs: &[Container]) -> io::Result<()> {
    let (start, step) = (-(f.history as f64), f.step as f64);
    let mut hits: Vec<Series<'_>> = Vec::new();
    for c in cs {
        hits.push((
            cadvisor_labels(c, &c.container),
            Box::new(move |o| integral(|t| c.limit_hits.at(t), start, o, step).round()),
        ));
        hits.push((cadvisor_labels(c, "POD"), Box::new(|_| 0.0)));
    }
    f.family("container_memory_failcnt", "unknown", hits)
}

/// The six `container_pressure_*` families (seconds stalled) of the containers with PSI, their
/// pod cgroups (which stall whenever a container of theirs does) and pause containers (idle).
fn pressure<W: Write>(f: &mut Families<'_, W>, cs: &[Container]) -> io::Result<()> {
    let (start, step) = (-(f.history as f64), f.step as f64);
    type Share = fn(&Pressure, f64) -> f64;
    let families: [(&str, Share); 6] = [
        ("container_pressure_cpu_stalled_seconds_total", |p, t| {
            0.3 * p.cpu.at(t)
        }),
        ("container_pressure_cpu_waiting_seconds_total", |p, t| {
            p.cpu.at(t)
        }),
        ("container_pressure_io_stalled_seconds_total", |_, _| 0.001),
        ("container_pressure_io_waiting_seconds_total", |_, _| 0.002),
        ("container_pressure_memory_stalled_seconds_total", |p, t| {
            0.4 * p.memory.at(t)
        }),
        ("container_pressure_memory_waiting_seconds_total", |p, t| {
            p.memory.at(t)
        }),
    ];
    for (name, share) in families {
        let mut series: Vec<Series<'_>> = Vec::new();
        for c in cs {
            let Some(p) = &c.pressure else { continue };
            for cgroup in [c.container.as_str(), ""] {
                series.push((
                    cadvisor_labels(c, cgroup),
                    Box::new(move |o| integral(|t| share(p, t), start, o, step)),
                ));
            }
            series.push((cadvisor_labels(c, "POD"), Box::new(|_| 0.0)));
        }
        f.family(name, "counter", series)?;
    }
    Ok(())
}

fn kube_state_metrics<W: Write>(f: &mut Families<'_, W>, cluster: &Cluster) -> io::Result<()> {
    let cs = &cluster.containers;
    let nodes: Vec<Series<'_>> = cluster
        .nodes()
        .into_iter()
        .map(|n| {
            let s: Series<'_> = (
                format!("instance=\"kube-state-metrics:8080\",internal_ip=\"10.0.0.1\",job=\"kube-state-metrics\",kernel_version=\"6.1.0\",node=\"{n}\""),
                Box::new(|_| 1.0),
            );
            s
        })
        .collect();
    f.family("kube_node_info", "gauge", nodes)?;
    let pods: Vec<Series<'_>> = cluster
        .pods()
        .into_iter()
        .map(|(ns, pod, node)| {
            let s: Series<'_> = (
                format!("created_by_kind=\"ReplicaSet\",host_ip=\"10.0.0.1\",instance=\"kube-state-metrics:8080\",job=\"kube-state-metrics\",namespace=\"{ns}\",node=\"{node}\",pod=\"{pod}\",uid=\"uid-{pod}\""),
                Box::new(|_| 1.0),
            );
            s
        })
        .collect();
    f.family("kube_pod_info", "gauge", pods)?;
    let mut limits: Vec<Series<'_>> = Vec::new();
    for c in cs {
        let base = format!("{},node=\"{}\"", ksm_labels(c), c.node);
        if let Some(cpu) = c.cpu_limit {
            limits.push((
                format!("{base},resource=\"cpu\",unit=\"core\""),
                Box::new(move |_| cpu),
            ));
        }
        if let Some(mem) = c.memory_limit {
            limits.push((
                format!("{base},resource=\"memory\",unit=\"byte\""),
                Box::new(move |_| mem),
            ));
        }
    }
    f.family("kube_pod_container_resource_limits", "gauge", limits)?;
    let restarts: Vec<Series<'_>> = cs
        .iter()
        .map(|c| {
            let s: Series<'_> = (ksm_labels(c), Box::new(move |o| c.restarts_at(o)));
            s
        })
        .collect();
    f.family(
        "kube_pod_container_status_restarts_total",
        "counter",
        restarts,
    )?;
    // kube-state-metrics writes 1 for the reason of the last termination (one series per
    // reason seen, the others absent), nothing before the first.
    let mut terminated: Vec<Series<'_>> = Vec::new();
    for c in cs {
        let reasons = [("OOMKilled", &c.oom_kills), ("Error", &c.crashes)];
        for (reason, _) in reasons.into_iter().filter(|(_, at)| !at.is_empty()) {
            terminated.push((
                format!("{},reason=\"{reason}\"", ksm_labels(c)),
                Box::new(move |o| {
                    if c.last_terminated_at(o) == Some(reason) {
                        1.0
                    } else {
                        f64::NAN
                    }
                }),
            ));
        }
    }
    f.family(
        "kube_pod_container_status_last_terminated_reason",
        "gauge",
        terminated,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_contiguous_and_the_extra_cgroups_are_written() {
        let mut c = Container::healthy("shop", "web-1", "app", "node-a");
        c.oom_kills = vec![-600];
        let cluster = Cluster::new(vec![c]);
        let mut out = Vec::new();
        let w = write_families(&mut out, &cluster, 10_000, 3600, 15).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(w.series > 10 && w.samples > w.series);
        // Each family's TYPE appears once.
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let mut unique = types.clone();
        unique.dedup();
        assert_eq!(types, unique);
        assert!(text.contains("container=\"POD\""));
        assert!(text.contains("container=\"\",id=\"/kubepods/burstable/podweb-1\""));
        assert!(text.contains("kube_pod_container_status_last_terminated_reason{"));
        // No sample is written where a series is absent.
        assert!(!text.contains("NaN"));
        // Limit hits for every cgroup; no pressure without PSI (cgroup v1, cAdvisor < v0.52).
        assert!(text.contains("# TYPE container_memory_failcnt unknown"));
        assert!(!text.contains("container_pressure_"));
    }

    #[test]
    fn pressure_is_written_as_cadvisor_exports_it_on_cgroup_v2() {
        let mut c = Container::healthy("shop", "web-1", "app", "node-a");
        c.pressure = Some(Pressure {
            cpu: Shape::c(0.2),
            memory: Shape::c(0.1),
        });
        let quiet = Container::healthy("shop", "cart-1", "app", "node-a");
        let mut out = Vec::new();
        write_families(&mut out, &Cluster::new(vec![c, quiet]), 10_000, 3600, 15).unwrap();
        let text = String::from_utf8(out).unwrap();
        for resource in ["cpu", "memory", "io"] {
            for kind in ["waiting", "stalled"] {
                let family = format!("# TYPE container_pressure_{resource}_{kind}_seconds counter");
                assert_eq!(text.matches(&family).count(), 1, "{family}");
            }
        }
        // The container, its pod cgroup and its pause container; nothing for cart-1.
        let last = |labels: &str| -> f64 {
            let prefix = format!("container_pressure_cpu_waiting_seconds_total{{{labels}}} ");
            let line = text.lines().rfind(|l| l.starts_with(&prefix)).unwrap();
            line[prefix.len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let c = Container::healthy("shop", "web-1", "app", "node-a");
        // 0.2 of each second over the hour (the last step's rate not yet integrated).
        assert!((last(&cadvisor_labels(&c, "app")) - 0.2 * 3600.0).abs() < 10.0);
        assert!((last(&cadvisor_labels(&c, "")) - 0.2 * 3600.0).abs() < 10.0);
        assert_eq!(last(&cadvisor_labels(&c, "POD")), 0.0);
        assert!(!text.contains("container_pressure_cpu_waiting_seconds_total{container=\"app\",id=\"/kubepods/burstable/podcart-1"));
    }

    #[test]
    fn a_cluster_scraped_twice_writes_every_series_under_both_scrapers() {
        let c = Container::healthy("shop", "web-1", "app", "node-a");
        let once = Cluster::new(vec![c]);
        let twice = Cluster {
            twice: true,
            ..once.clone()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let w1 = write_families(&mut a, &once, 10_000, 3600, 15).unwrap();
        let w2 = write_families(&mut b, &twice, 10_000, 3600, 15).unwrap();
        assert_eq!(w2.series, 2 * w1.series);
        let text = String::from_utf8(b).unwrap();
        assert!(text.contains("instance=\"node-a:8080\",job=\"cadvisor\""));
        assert!(text.contains("instance=\"kube-state-metrics-b:8080\""));
    }
}
