//! Fleet outliers: hosts whose utilization or saturation deviates robustly from their peers'
//! (hosts sharing a label, `job` by default).
//!
//! Per host, the window mean of each check in `outliers.toml`, taken from the USE run (no extra
//! query); per group, the median and the median absolute deviation. A host is an outlier when
//! its modified z-score passes Iglewicz and Hoaglin's 3.5 *and* it differs from the median by at
//! least the peer entry's `min_difference` (near-identical peers make MAD tiny and z-scores
//! huge for noise).
//!
//! Why not Grafana's `augurs-outlier` (DBSCAN, MAD): its detectors score every timestamp of
//! every series, which needs all hosts' full series in memory (10,000 hosts × every point) and
//! a sensitivity to tune, and it adds ~120k lines of dependencies to a build that is already
//! the slow part of CI. Window means per host plus median/MAD answer "which host is unlike its
//! peers over this window" exactly, in a few dozen lines, from data the USE run already holds.

use std::collections::{BTreeMap, HashMap};

use super::{Context, Output};
use crate::{
    catalog::Peer,
    insight::{Evidence, Insight, IssueType, Methodology, Severity},
    inventory,
    prometheus::{PrometheusError, Series},
    samples::{Over, PeerValues, QueryLog},
    stats::robust::{mad, median, modified_z, OUTLIER_Z},
};

/// Fewest hosts in a group for a median to mean anything.
pub const MIN_PEERS: usize = 5;

/// Compare every host with its peers on each check of `outliers.toml`.
/// Compare every peer check's per-host values (`values`: each host's highest window mean over
/// its devices, kept compactly by the checks) within each group of `group_by`.
pub async fn run(ctx: &Context<'_>, values: &PeerValues, group_by: &str) -> Output {
    let mut output = Output::default();
    let query = format!(
        "group by (instance, {group_by}) ({})",
        inventory::presence(ctx.selector)
    );
    let groups = match host_groups(ctx, &mut output.log, &query, group_by).await {
        Ok(groups) => groups,
        Err(e) => {
            output
                .log
                .warn(format!("outliers: grouping by {group_by} failed: {e}"));
            return output;
        }
    };
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for g in groups.values() {
        *sizes.entry(g.as_str()).or_default() += 1;
    }
    let small: Vec<&str> = sizes
        .iter()
        .filter(|(_, n)| **n < MIN_PEERS)
        .map(|(g, _)| *g)
        .collect();
    if groups.len() >= MIN_PEERS && sizes.len() == small.len() {
        output.log.warn(format!(
            "outliers: no group of {group_by} has {MIN_PEERS} or more hosts, so nobody has peers to differ from"
        ));
    }
    for peer in ctx.catalog.peers() {
        // Per host, its busiest device for per-device checks.
        let Some((check_query, per_host)) = values.check(&peer.check) else {
            continue;
        };
        let mut by_group: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
        for (instance, value) in per_host {
            if let Some(g) = groups.get(instance) {
                by_group
                    .entry(g.as_str())
                    .or_default()
                    .push((instance, value));
            }
        }
        for (group, hosts) in by_group {
            if hosts.len() < MIN_PEERS {
                continue;
            }
            output
                .insights
                .extend(judge(ctx, peer, group_by, group, &hosts, check_query));
        }
    }
    output
}

/// Each host's group (`""` where it has no `group_by` label), folded as the answer streams
/// in: decoded whole, the label maps of 10,000 hosts took some 7 MiB at once, the CLI's peak.
async fn host_groups(
    ctx: &Context<'_>,
    log: &mut QueryLog,
    query: &str,
    group_by: &str,
) -> Result<HashMap<String, String>, PrometheusError> {
    let label = group_by.to_string();
    let group = move |groups: &mut HashMap<String, String>, mut s: Series| {
        // Read first: the group label may be `instance` itself.
        let group = s.labels.get(&label).cloned().unwrap_or_default();
        if let Some(instance) = s.labels.remove("instance") {
            groups.insert(instance, group);
        }
    };
    let purpose = "outliers/groups";
    let at = Over::Instant(ctx.timing.at);
    ctx.recorder
        .fold(log, purpose, query, at, HashMap::new(), group, HashMap::len)
        .await
}

fn judge(
    ctx: &Context<'_>,
    peer: &Peer,
    group_by: &str,
    group: &str,
    hosts: &[(&str, f64)],
    query: &str,
) -> Vec<Insight> {
    let Some(check) = ctx.catalog.check(&peer.check) else {
        return Vec::new();
    };
    let values: Vec<f64> = hosts.iter().map(|(_, v)| *v).collect();
    let (Some(m), Some(spread)) = (median(&values), mad(&values)) else {
        return Vec::new();
    };
    let unit = check.unit;
    // Identical peers leave a MAD of float dust, which would print absurd z-scores.
    let spread = if spread <= 1e-9 * m.abs().max(1.0) {
        0.0
    } else {
        spread
    };
    let mut out = Vec::new();
    for &(instance, value) in hosts {
        let difference = value - m;
        let z = modified_z(value, m, spread);
        let outlying = z.abs() >= OUTLIER_Z
            && difference.abs() >= peer.min_difference
            && (difference > 0.0 || peer.low_side);
        if !outlying {
            continue;
        }
        let high = difference > 0.0;
        let severity = if high && difference.abs() >= 2.0 * peer.min_difference {
            Severity::Medium
        } else {
            Severity::Low
        };
        let peers = hosts.len() - 1;
        let z_text = if z.is_finite() && z.abs() < 1000.0 {
            format!("a robust z-score of {z:.1}")
        } else if z.is_finite() {
            "a robust z-score above 1000".to_string()
        } else {
            "every peer at the same value".to_string()
        };
        let group_text = if group.is_empty() {
            format!("no {group_by} label")
        } else {
            format!("{group_by}=\"{group}\"")
        };
        let side = if high { "above" } else { "below" };
        let confidence = (55.0 + (peers as f64).min(50.0) / 2.0).min(85.0);
        out.push(Insight {
            id: format!("outlier.{}:{instance}", check.id),
            timestamp: ctx.timing.at,
            methodology: Methodology::FleetOutliers,
            component: check.component,
            issue_type: IssueType::Anomaly,
            use_signal: Some(check.signal),
            severity,
            title: format!(
                "{instance}: {} {} against {} on its {peers} peers",
                check.label,
                unit.format(value),
                unit.format(m)
            ),
            observation: format!(
                "Over the last {}, {instance}'s {} averaged {}, {} {side} the median of the {peers} other hosts with {group_text} ({}; median absolute deviation {}), {z_text}: past the outlier rule of 3.5 and the minimum difference of {}.",
                crate::promql::format_duration(ctx.timing.window),
                check.label,
                unit.format(value),
                unit.format(difference.abs()),
                unit.format(m),
                unit.format(spread),
                unit.format(peer.min_difference),
            ),
            evidence: Evidence::new()
                .with(check.metric.clone(), value)
                .with(format!("peer_median_{}", check.metric), m)
                .with(format!("peer_mad_{}", check.metric), spread)
                .with("robust_z_ratio", z)
                .with("peers_count", peers as f64),
            root_cause: if high {
                "A host working harder than peers that should share the load evenly: uneven load balancing (sticky sessions, hashing hot keys), a runaway or extra process on this host only, a different configuration or hardware, or a noisy neighbour on the same physical host.".into()
            } else {
                "A host doing less than its peers: the load balancer is not sending it work (failed health check, drained, wrong weight), or the service on it is stuck or stopped.".into()
            },
            immediate_action: format!(
                "Compare {instance} with a typical peer: the same top-level commands on both, and the load balancer's view of this host."
            ),
            investigation_steps: vec![
                format!("Run on {instance} and on a peer: uptime; vmstat 1 5; mpstat -P ALL 1 5; pidstat 1 5   # what differs"),
                "Check the load balancer's per-backend request rates and weights".into(),
                "Diff configuration, kernel and package versions against a peer (e.g. `rpm -qa`/`dpkg -l`, `sysctl -a`)".into(),
            ],
            long_term_fix: "Balance load on what is actually consumed (least-connections, CPU-aware), keep peers identical (configuration management, the same instance types), and alert on peer deviation as well as on absolute thresholds.".into(),
            related_metrics: vec![query.to_string()],
            confidence,
            book_reference: Some("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.11 Workload Characterization; 2.8.6 Outliers; 2.5.12 Drill-Down Analysis".into()),
            instance: Some(instance.to_string()),
            device: None,
            check: format!("outlier.{}", check.id),
            started_at: None,
            ended_at: None,
        });
    }
    out
}

/// A host already flagged by the USE method on the same resource needs no second finding:
/// the peer comparison joins that finding ("and it is the only one of its 49 peers like this").
/// Outliers without a USE finding stay findings of their own.
pub fn merge(insights: &mut [Insight], outliers: Vec<Insight>) -> Vec<Insight> {
    let mut own = Vec::new();
    for o in outliers {
        let target = insights.iter_mut().find(|i| {
            i.methodology == Methodology::UseMethod
                && i.issue_type != IssueType::Coverage
                && i.severity >= Severity::Low
                && i.component == o.component
                && i.instance == o.instance
        });
        match target {
            Some(finding) => {
                // One "Peer comparison:" however many of the resource's metrics stand out.
                let lead = if finding.observation.contains("Peer comparison: ") {
                    ""
                } else {
                    " Peer comparison:"
                };
                finding.observation =
                    format!("{}{lead} {}", finding.observation.trim_end(), o.observation);
                for (name, value) in o.evidence.iter() {
                    if name.starts_with("peer") || name == "robust_z_ratio" {
                        finding.evidence.set(name, value);
                    }
                }
            }
            None => own.push(o),
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::Component;

    fn insight(
        methodology: Methodology,
        component: Component,
        instance: &str,
        severity: Severity,
    ) -> Insight {
        Insight {
            id: format!("{methodology:?}:{instance}"),
            timestamp: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid"),
            methodology,
            component,
            issue_type: IssueType::Saturation,
            use_signal: None,
            severity,
            title: "t".into(),
            observation: format!("{methodology:?} on {instance}."),
            evidence: Evidence::new()
                .with("peer_median_percent", 20.0)
                .with("robust_z_ratio", 9.5)
                .with("cpu_utilization_percent", 97.0),
            root_cause: String::new(),
            immediate_action: String::new(),
            investigation_steps: Vec::new(),
            long_term_fix: String::new(),
            related_metrics: Vec::new(),
            confidence: 80.0,
            book_reference: None,
            instance: Some(instance.to_string()),
            device: None,
            check: "cpu.utilization".into(),
            started_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn an_outlier_joins_the_use_finding_of_its_host_and_resource() {
        let mut use_findings = vec![insight(
            Methodology::UseMethod,
            Component::Cpu,
            "db-1:9100",
            Severity::High,
        )];
        use_findings[0].evidence = Evidence::new().with("cpu_utilization_percent", 97.0);
        let outlier = insight(
            Methodology::FleetOutliers,
            Component::Cpu,
            "db-1:9100",
            Severity::Medium,
        );
        let own = merge(&mut use_findings, vec![outlier]);
        assert!(own.is_empty(), "{own:#?}");
        let merged = &use_findings[0];
        assert!(
            merged
                .observation
                .ends_with("Peer comparison: FleetOutliers on db-1:9100."),
            "{}",
            merged.observation
        );
        assert_eq!(merged.evidence.get("peer_median_percent"), Some(20.0));
        // A second metric of the same resource joins the same comparison, without a second lead.
        let psi = insight(
            Methodology::FleetOutliers,
            Component::Cpu,
            "db-1:9100",
            Severity::Medium,
        );
        assert!(merge(&mut use_findings, vec![psi]).is_empty());
        assert_eq!(
            use_findings[0]
                .observation
                .matches("Peer comparison:")
                .count(),
            1,
            "{}",
            use_findings[0].observation
        );
        assert_eq!(use_findings[0].evidence.get("robust_z_ratio"), Some(9.5));
        assert_eq!(
            use_findings[0].severity,
            Severity::High,
            "the USE verdict stands"
        );
    }

    #[test]
    fn outliers_without_a_matching_finding_stay_their_own() {
        let mut use_findings = vec![
            insight(
                Methodology::UseMethod,
                Component::Cpu,
                "db-2:9100",
                Severity::High,
            ),
            insight(
                Methodology::UseMethod,
                Component::Memory,
                "db-1:9100",
                Severity::High,
            ),
            insight(
                Methodology::UseMethod,
                Component::Cpu,
                "db-1:9100",
                Severity::Info,
            ),
        ];
        let before = use_findings.clone();
        let outlier = insight(
            Methodology::FleetOutliers,
            Component::Cpu,
            "db-1:9100",
            Severity::Medium,
        );
        let own = merge(&mut use_findings, vec![outlier.clone()]);
        assert_eq!(own, vec![outlier]);
        assert_eq!(use_findings, before);
    }
}
