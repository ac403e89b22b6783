//! Which resource a panel shows, from the metrics its PromQL selects, and what Gregg would do
//! next for that resource. Declarative: one row per resource, first match wins.

use crate::insight::Component;

/// What to say about findings on one resource.
pub struct Rule {
    /// The resource.
    pub component: Component,
    /// Metric name prefixes that belong to it.
    pub prefixes: &'static [&'static str],
    /// Likely cause of a panel past its threshold or at its limit.
    pub root_cause: &'static str,
    /// What to do now.
    pub immediate_action: &'static str,
    /// The next commands, in order.
    pub steps: &'static [&'static str],
    /// The sustainable fix.
    pub long_term_fix: &'static str,
    /// Where to read more.
    pub book: &'static str,
}

/// The rules, most specific first; the last one matches everything.
pub const RULES: &[Rule] = &[
    Rule {
        component: Component::Cpu,
        prefixes: &["node_cpu", "instance:node_cpu", "node_load", "instance:node_load", "node_pressure_cpu", "node_schedstat", "node_context_switches", "node_intr", "node_procs_running", "process_cpu"],
        root_cause: "CPU demand at or beyond what the processors deliver: runnable threads wait for a CPU, so latency grows with the run queue.",
        immediate_action: "Find the consumers (top, pidstat 1) and move, throttle or scale the heaviest.",
        steps: &["uptime; vmstat 1 (r column vs CPU count)", "mpstat -P ALL 1 (one hot CPU or all?)", "pidstat 1 (who consumes)", "perf top / profile -F 49 (what code)"],
        long_term_fix: "Right-size CPU for the workload's peak, set CPU limits/shares for noisy neighbours, profile and fix hot code paths.",
        book: "Systems Performance 2nd ed., Ch. 6 CPUs: 6.5.2 USE Method; 6.6.2 vmstat; 6.6.3 mpstat",
    },
    Rule {
        component: Component::Memory,
        prefixes: &["node_memory", "instance:node_memory", "node_vmstat", "instance:node_vmstat", "node_pressure_memory", "process_resident_memory"],
        root_cause: "Memory demand near physical capacity: the kernel reclaims page cache, swaps or kills (OOM), and every miss becomes disk I/O.",
        immediate_action: "Check for swapping and OOM kills (vmstat 1, dmesg -T | grep -i oom) and find the largest resident sets.",
        steps: &["free -m; vmstat 1 (si/so)", "dmesg -T | grep -i oom", "ps -eo pid,rss,comm --sort=-rss | head", "sar -B 1 (major faults, scans)"],
        long_term_fix: "Size memory for the working set, set memory limits per service, fix leaks.",
        book: "Systems Performance 2nd ed., Ch. 7 Memory: 7.4.2 USE Method; 7.5.1 vmstat",
    },
    Rule {
        component: Component::Filesystem,
        prefixes: &["node_filesystem"],
        root_cause: "A filesystem filling up: writes will fail with ENOSPC once it is full.",
        immediate_action: "Free space or grow the volume before it fills; find what grows (du -xh --max-depth=2).",
        steps: &["df -h; df -i", "du -xh --max-depth=2 <mount> | sort -h | tail", "lsof +L1 (deleted but open files)"],
        long_term_fix: "Retention and log rotation, capacity alerts on the rate of growth, larger volumes.",
        book: "Systems Performance 2nd ed., Ch. 8 File Systems: 8.3.16 Capacity",
    },
    Rule {
        component: Component::Disk,
        prefixes: &["node_disk", "instance_device:node_disk", "node_pressure_io", "node_md"],
        root_cause: "Storage devices busy or queueing: I/O waits lengthen as the device approaches saturation.",
        immediate_action: "Find which devices and processes drive the I/O (iostat -xz 1, biotop).",
        steps: &["iostat -xz 1 (%util, aqu-sz, r_await/w_await)", "biotop / iotop (who)", "biolatency (latency distribution)"],
        long_term_fix: "Spread I/O across devices, faster storage, more page cache, fewer synchronous writes.",
        book: "Systems Performance 2nd ed., Ch. 9 Disks: 9.5.2 USE Method; 9.6.1 iostat",
    },
    Rule {
        component: Component::Network,
        prefixes: &["node_network", "instance:node_network", "node_netstat", "node_sockstat", "node_nf_conntrack", "node_softnet"],
        root_cause: "Network interfaces or the TCP/IP stack near their limits: drops, retransmits and queueing add latency.",
        immediate_action: "Check interface throughput against link speed and look for drops and retransmits (sar -n DEV,EDEV,TCP,ETCP 1).",
        steps: &["sar -n DEV,EDEV 1", "nstat -az | grep -i retrans", "ss -tiepm (per-connection state)", "ethtool -S <iface> (drops)"],
        long_term_fix: "Faster or bonded links, spread traffic, tune socket buffers and queue lengths.",
        book: "Systems Performance 2nd ed., Ch. 10 Network: 10.5.2 USE Method; 10.6.6 sar",
    },
    Rule {
        component: Component::System,
        prefixes: &[""],
        root_cause: "The panel's own thresholds define what is bad here; the metric is outside node_exporter's resources.",
        immediate_action: "Open the panel in Explore and split the query by instance to see which target drives it.",
        steps: &["Run the panel's query in Explore, by instance", "Compare with the same time yesterday (offset 1d)"],
        long_term_fix: "Agree on a threshold with the panel's owners and turn it into an alert rule.",
        book: "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5 Methodology; 2.8 Statistics",
    },
];

/// The rule for a query selecting `metrics` (the first metric that matches a rule decides).
pub fn rule_for(metrics: &[String]) -> &'static Rule {
    let specific = &RULES[..RULES.len() - 1];
    metrics
        .iter()
        .find_map(|m| {
            specific
                .iter()
                .find(|r| r.prefixes.iter().any(|p| m.starts_with(p)))
        })
        .unwrap_or(&RULES[RULES.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_map_to_resources() {
        let r = |m: &str| rule_for(&[m.to_string()]).component;
        assert_eq!(r("node_cpu_seconds_total"), Component::Cpu);
        assert_eq!(
            r("instance:node_memory_utilisation:ratio"),
            Component::Memory
        );
        assert_eq!(r("node_filesystem_avail_bytes"), Component::Filesystem);
        assert_eq!(
            r("instance_device:node_disk_io_time_seconds:rate5m"),
            Component::Disk
        );
        assert_eq!(r("node_network_receive_bytes_total"), Component::Network);
        assert_eq!(r("http_requests_total"), Component::System);
        assert_eq!(rule_for(&[]).component, Component::System);
    }
}
