//! The node_exporter families behind the expert checks of issue 17: memory reclaim and NUMA,
//! UDP and SYN handling, conntrack failures, CPU frequency, per-CPU softirqs and interrupts,
//! md sync and hardware temperatures. Shaped as node_exporter exposes them (names, types,
//! labels), from the collector sources: `vmstat`, `meminfo_numa`, `netstat`, `conntrack`,
//! `cpufreq`, `softirqs`, `interrupts`, `mdadm`, `hwmon`.

use std::io::{self, Write};

use super::{Host, Shape, Writer};

/// What a host's expert families report; [`Expert::healthy`] is quiet.
#[derive(Clone, Debug)]
pub struct Expert {
    /// Whether node_exporter runs with `--collector.vmstat.fields` wide enough for `pgscan_*`,
    /// `pgsteal_*` and `allocstall_*` (its default regex leaves them out).
    pub vmstat_reclaim_fields: bool,
    /// Pages scanned per second by kswapd.
    pub pgscan_kswapd: Shape,
    /// Pages scanned per second in direct reclaim.
    pub pgscan_direct: Shape,
    /// Allocation stalls (direct reclaim entries) per second.
    pub allocstalls: Shape,
    /// NUMA nodes (`meminfo_numa`).
    pub numa_nodes: u32,
    /// Share of page allocations served by another node than intended.
    pub numa_miss_ratio: Shape,
    /// UDP datagrams dropped at a full receive buffer, per second.
    pub udp_rcvbuf_errors: Shape,
    /// UDP datagrams dropped for other input errors (checksums), per second.
    pub udp_other_in_errors: Shape,
    /// SYNs dropped beyond accept-queue overflows, per second (ListenDrops − ListenOverflows).
    pub listen_drops_beyond_overflows: Shape,
    /// SYN cookies sent per second.
    pub syncookies: Shape,
    /// SYN retransmits per outgoing connection attempt.
    pub syn_retrans_ratio: Shape,
    /// Conntrack packets dropped per second.
    pub conntrack_drops: Shape,
    /// Conntrack entries evicted early per second.
    pub conntrack_early_drops: Shape,
    /// Conntrack insertions failed per second.
    pub conntrack_insert_failed: Shape,
    /// Maximum scaling frequency, Hz.
    pub max_hertz: f64,
    /// Current scaling frequency as a share of the maximum.
    pub frequency_ratio: Shape,
    /// NET_RX softirqs per second over all CPUs.
    pub net_rx_softirqs: Shape,
    /// Device interrupts per second over all CPUs.
    pub device_interrupts: Shape,
    /// Share of softirqs and device interrupts taken by CPU 0; `None`: spread evenly.
    pub hot_cpu_share: Option<f64>,
    /// Share of each md array's blocks synced.
    pub md_synced: Shape,
    /// The md arrays' state (`active`, `resync`, `recovering`, `check`).
    pub md_state: &'static str,
    /// CPU package temperature, °C.
    pub temperature: Shape,
    /// Its critical temperature, °C.
    pub temperature_crit: f64,
    /// Offsets where the chip raised its critical alarm.
    pub crit_alarm_from: Option<i64>,
}

/// A rate at an offset of a host's history.
type RateAt = fn(&Host, f64) -> f64;

/// md states node_exporter reports, one series each.
const MD_STATES: [&str; 5] = ["active", "inactive", "recovering", "resync", "check"];

impl Expert {
    /// Quiet: light kswapd scanning, no direct reclaim, two NUMA nodes with hardly a miss, no
    /// UDP or SYN trouble, CPUs at 90 % of 3 GHz, softirqs and interrupts spread evenly, md
    /// arrays in sync, 45 °C of 100 °C.
    pub fn healthy() -> Expert {
        Expert {
            vmstat_reclaim_fields: true,
            pgscan_kswapd: Shape::c(40.0),
            pgscan_direct: Shape::c(0.0),
            allocstalls: Shape::c(0.0),
            numa_nodes: 2,
            numa_miss_ratio: Shape::c(0.001),
            udp_rcvbuf_errors: Shape::c(0.0),
            udp_other_in_errors: Shape::c(0.0),
            listen_drops_beyond_overflows: Shape::c(0.0),
            syncookies: Shape::c(0.0),
            syn_retrans_ratio: Shape::c(0.002),
            conntrack_drops: Shape::c(0.0),
            conntrack_early_drops: Shape::c(0.0),
            conntrack_insert_failed: Shape::c(0.0),
            max_hertz: 3.0e9,
            frequency_ratio: Shape::c(0.9),
            net_rx_softirqs: Shape::c(2_000.0),
            device_interrupts: Shape::c(1_500.0),
            hot_cpu_share: None,
            md_synced: Shape::c(1.0),
            md_state: "active",
            temperature: Shape::c(45.0),
            temperature_crit: 100.0,
            crit_alarm_from: None,
        }
    }
}

/// `total` spread over the host's CPUs: CPU 0 takes the hot share, the others the rest evenly.
fn per_cpu_share(h: &Host, cpu: usize, total: f64) -> f64 {
    let n = f64::from(h.cpus.max(1));
    match h.expert.hot_cpu_share {
        Some(hot) if h.cpus > 1 => {
            if cpu == 0 {
                total * hot
            } else {
                total * (1.0 - hot) / (n - 1.0)
            }
        }
        _ => total / n,
    }
}

impl<W: Write> Writer<'_, W> {
    /// Every expert family (see the module's documentation).
    pub(super) fn expert(&mut self) -> io::Result<()> {
        self.expert_memory()?;
        self.expert_network()?;
        self.expert_cpu()?;
        self.expert_md_and_hwmon()
    }

    fn expert_memory(&mut self) -> io::Result<()> {
        let none = |_: &Host| vec![Vec::new()];
        let reclaim = |h: &Host| {
            if h.expert.vmstat_reclaim_fields {
                vec![Vec::new()]
            } else {
                Vec::new()
            }
        };
        let fields: [(&str, RateAt); 5] = [
            ("node_vmstat_pgscan_kswapd", |h, t| {
                h.expert.pgscan_kswapd.at(t)
            }),
            ("node_vmstat_pgscan_direct", |h, t| {
                h.expert.pgscan_direct.at(t)
            }),
            ("node_vmstat_pgsteal_kswapd", |h, t| {
                0.9 * h.expert.pgscan_kswapd.at(t)
            }),
            ("node_vmstat_pgsteal_direct", |h, t| {
                0.5 * h.expert.pgscan_direct.at(t)
            }),
            ("node_vmstat_allocstall_normal", |h, t| {
                h.expert.allocstalls.at(t)
            }),
        ];
        for (name, rate) in fields {
            self.counter(name, "unknown", "vmstat", reclaim, move |h, _, t| {
                rate(h, t.offset)
            })?;
        }
        // Also a field the default regex keeps, so a host without the reclaim fields still
        // shows that vmstat runs.
        self.counter(
            "node_vmstat_pgfault",
            "unknown",
            "vmstat",
            none,
            |_, _, _| 3_000.0,
        )?;
        let nodes = |h: &Host| {
            (0..h.expert.numa_nodes)
                .map(|n| vec![("node".to_string(), n.to_string())])
                .collect()
        };
        // 10 000 allocations per second per node, a share of them missed.
        self.counter(
            "node_memory_numa_numa_hit_total",
            "counter",
            "meminfo_numa",
            nodes,
            |h, _, t| 10_000.0 * (1.0 - h.expert.numa_miss_ratio.at(t.offset)),
        )?;
        self.counter(
            "node_memory_numa_numa_miss_total",
            "counter",
            "meminfo_numa",
            nodes,
            |h, _, t| 10_000.0 * h.expert.numa_miss_ratio.at(t.offset),
        )
    }

    fn expert_network(&mut self) -> io::Result<()> {
        let none = |_: &Host| vec![Vec::new()];
        let counters: [(&str, RateAt); 8] = [
            ("node_netstat_Udp_RcvbufErrors", |h, t| {
                h.expert.udp_rcvbuf_errors.at(t)
            }),
            ("node_netstat_Udp_SndbufErrors", |_, _| 0.0),
            ("node_netstat_Udp_InErrors", |h, t| {
                h.expert.udp_rcvbuf_errors.at(t) + h.expert.udp_other_in_errors.at(t)
            }),
            ("node_netstat_Udp_InDatagrams", |_, _| 800.0),
            ("node_netstat_TcpExt_ListenDrops", |h, t| {
                h.listen_overflows.at(t) + h.expert.listen_drops_beyond_overflows.at(t)
            }),
            ("node_netstat_TcpExt_SyncookiesSent", |h, t| {
                h.expert.syncookies.at(t)
            }),
            ("node_netstat_TcpExt_TCPSynRetrans", |h, t| {
                h.tcp_active_opens.at(t) * h.expert.syn_retrans_ratio.at(t)
            }),
            ("node_nf_conntrack_stat_found", |_, _| 50.0),
        ];
        for (name, rate) in counters {
            let collector = if name.starts_with("node_nf") {
                "conntrack"
            } else {
                "netstat"
            };
            self.counter(name, "unknown", collector, none, move |h, _, t| {
                rate(h, t.offset)
            })?;
        }
        // node_exporter exposes the conntrack statistics as gauges that only grow.
        let conntrack: [(&str, RateAt); 3] = [
            ("node_nf_conntrack_stat_drop", |h, t| {
                h.expert.conntrack_drops.at(t)
            }),
            ("node_nf_conntrack_stat_early_drop", |h, t| {
                h.expert.conntrack_early_drops.at(t)
            }),
            ("node_nf_conntrack_stat_insert_failed", |h, t| {
                h.expert.conntrack_insert_failed.at(t)
            }),
        ];
        for (name, rate) in conntrack {
            self.counter(name, "gauge", "conntrack", none, move |h, _, t| {
                rate(h, t.offset)
            })?;
        }
        Ok(())
    }

    fn expert_cpu(&mut self) -> io::Result<()> {
        let per_cpu = |h: &Host| {
            (0..h.cpus)
                .map(|c| vec![("cpu".to_string(), c.to_string())])
                .collect()
        };
        self.gauge(
            "node_cpu_scaling_frequency_hertz",
            "cpufreq",
            per_cpu,
            |h, _, t| h.expert.max_hertz * h.expert.frequency_ratio.at(t.offset),
        )?;
        self.gauge(
            "node_cpu_scaling_frequency_max_hertz",
            "cpufreq",
            per_cpu,
            |h, _, _| h.expert.max_hertz,
        )?;
        const SOFTIRQS: [(&str, f64); 3] = [("NET_RX", 1.0), ("TIMER", 0.0), ("BLOCK", 0.1)];
        let softirq_labels = |h: &Host| {
            (0..h.cpus)
                .flat_map(|c| {
                    SOFTIRQS.map(|(t, _)| {
                        vec![
                            ("cpu".to_string(), c.to_string()),
                            ("type".to_string(), t.to_string()),
                        ]
                    })
                })
                .collect()
        };
        self.counter(
            "node_softirqs_functions_total",
            "counter",
            "softirqs",
            softirq_labels,
            |h, i, t| {
                let (cpu, (_, weight)) = (i / SOFTIRQS.len(), SOFTIRQS[i % SOFTIRQS.len()]);
                if weight == 0.0 {
                    // TIMER: every CPU alike.
                    return 250.0;
                }
                weight * per_cpu_share(h, cpu, h.expert.net_rx_softirqs.at(t.offset))
            },
        )?;
        const IRQS: [(&str, &str, &str, bool); 2] = [
            ("LOC", "", "Local timer interrupts", false),
            ("24", "eth0-TxRx-0", "PCI-MSI 1048576-edge", true),
        ];
        let irq_labels = |h: &Host| {
            (0..h.cpus)
                .flat_map(|c| {
                    IRQS.map(|(t, devices, info, _)| {
                        vec![
                            ("cpu".to_string(), c.to_string()),
                            ("devices".to_string(), devices.to_string()),
                            ("info".to_string(), info.to_string()),
                            ("type".to_string(), t.to_string()),
                        ]
                    })
                })
                .collect()
        };
        self.counter(
            "node_interrupts_total",
            "counter",
            "interrupts",
            irq_labels,
            |h, i, t| {
                let (cpu, device) = (i / IRQS.len(), IRQS[i % IRQS.len()].3);
                if device {
                    per_cpu_share(h, cpu, h.expert.device_interrupts.at(t.offset))
                } else {
                    1_000.0
                }
            },
        )
    }

    fn expert_md_and_hwmon(&mut self) -> io::Result<()> {
        const BLOCKS: f64 = 976_630_464.0;
        let md_labels = |h: &Host| {
            h.md.iter()
                .map(|m| vec![("device".to_string(), m.name.clone())])
                .collect()
        };
        self.gauge("node_md_blocks", "mdadm", md_labels, |_, _, _| BLOCKS)?;
        self.gauge("node_md_blocks_synced", "mdadm", md_labels, |h, _, t| {
            (BLOCKS * h.expert.md_synced.at(t.offset)).floor()
        })?;
        let md_state_labels = |h: &Host| {
            h.md.iter()
                .flat_map(|m| {
                    MD_STATES.map(|s| {
                        vec![
                            ("device".to_string(), m.name.clone()),
                            ("state".to_string(), s.to_string()),
                        ]
                    })
                })
                .collect()
        };
        self.gauge("node_md_state", "mdadm", md_state_labels, |h, i, _| {
            f64::from(u8::from(
                MD_STATES[i % MD_STATES.len()] == h.expert.md_state,
            ))
        })?;
        let sensor = |_: &Host| {
            vec![vec![
                ("chip".to_string(), "platform_coretemp_0".to_string()),
                ("sensor".to_string(), "temp1".to_string()),
            ]]
        };
        self.gauge("node_hwmon_temp_celsius", "hwmon", sensor, |h, _, t| {
            h.expert.temperature.at(t.offset)
        })?;
        self.gauge(
            "node_hwmon_temp_crit_celsius",
            "hwmon",
            sensor,
            |h, _, _| h.expert.temperature_crit,
        )?;
        self.gauge(
            "node_hwmon_temp_crit_alarm_celsius",
            "hwmon",
            sensor,
            |h, _, t| {
                let on = h
                    .expert
                    .crit_alarm_from
                    .is_some_and(|f| t.offset >= f as f64);
                f64::from(u8::from(on))
            },
        )
    }
}
