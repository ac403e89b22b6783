//! Gregg's distinction for a container that runs short of CPU or memory: did it hit its own
//! limit, or is its node saturated too (a noisy neighbour)? The catalog fetches the node's
//! utilization as evidence (`node_cpu_busy_percent`, `node_memory_used_percent`, with the node
//! as the insight's device); this says which case it is, in words, on the container's insight.

use crate::insight::{Component, Insight};

use super::span::SPAN_SECONDS;

/// A node this busy (percent of its CPUs, or of its memory) is saturated itself: the same bar
/// as the host's own CPU utilization warning.
const NODE_SATURATED_PERCENT: f64 = 80.0;

/// The node evidence a container check carries, and what its resource is called.
const NODE_EVIDENCE: &[(&str, &str)] = &[
    ("node_cpu_busy_percent", "CPUs"),
    ("node_memory_used_percent", "memory"),
];

/// Add the node's verdict to every container insight that knows its node's utilization.
/// Without it (no kube-state-metrics, or no node_exporter on the node) the observation says
/// that the node cannot be judged, so silence is not read as "the node is fine". An OOM
/// finding that only kube-state-metrics saw is worded as what it is (see [`oom_from_restarts`]).
pub(super) fn place_on_nodes(insights: &mut [Insight]) {
    for insight in insights
        .iter_mut()
        .filter(|i| i.component == Component::Container)
    {
        oom_from_restarts(insight);
        if let Some(sentence) = node_verdict(insight) {
            insight.observation.push(' ');
            insight.observation.push_str(&sentence);
        }
    }
}

/// Without cAdvisor's container_oom_events_total the OOM check counts restarts in a window
/// where kube-state-metrics gave OOMKilled as the last termination's reason at its end, or
/// began to inside it (the catalog's query); where cAdvisor exports the counter, its count
/// stands, 0 included:
/// two probe failures and one OOM kill are three restarts, at least one (not three) by the OOM
/// killer, and the counter cannot tell more. Say so, with the bounds it does give.
fn oom_from_restarts(insight: &mut Insight) {
    if insight.check != "container.errors.oom_kills"
        || insight.evidence.get("oom_events_count").is_some()
    {
        return;
    }
    let name = insight.instance.as_deref().unwrap_or("?");
    let restarts = insight
        .evidence
        .get("restarts_count")
        .or_else(|| insight.evidence.get("oom_kills_count"))
        .unwrap_or(0.0)
        .round();
    let (title_tail, how_many) = if restarts <= 1.0 {
        (
            "restarted once, by the OOM killer".to_string(),
            "that restart was an OOM kill".to_string(),
        )
    } else {
        (
            format!("restarted {restarts:.0} times, at least once by the OOM killer"),
            format!(
                "between 1 and {restarts:.0} of the restarts were OOM kills, how many is unknown"
            ),
        )
    };
    insight.title = format!("Container {name} {title_tail}");
    let rest = insight
        .observation
        .find("Its memory limit")
        .map(|i| insight.observation[i..].to_string())
        .unwrap_or_default();
    insight.observation = format!(
        "Container {name} {title_tail}: kube-state-metrics gave OOMKilled as the reason of its last termination (kube_pod_container_status_last_terminated_reason) and counted the restarts; without cAdvisor's container_oom_events_total, {how_many}. {rest}"
    )
    .trim_end()
    .to_string();
}

/// The sentence for one container insight, `None` for checks without node evidence.
fn node_verdict(insight: &Insight) -> Option<String> {
    let check_has_node = |name: &str| {
        (name == "node_cpu_busy_percent" && insight.check.starts_with("container.cpu."))
            || (name == "node_memory_used_percent"
                && insight.check.starts_with("container.memory."))
    };
    let (name, resource) = NODE_EVIDENCE.iter().find(|(n, _)| check_has_node(n))?;
    let node = insight.device.as_deref().unwrap_or("its node");
    let when = when_judged(insight);
    // CFS throttling is always the container's own quota, whatever its node does: the node's
    // load is context there, never the cause.
    let own_quota = insight.check == "container.cpu.throttling";
    Some(match insight.evidence.get(name) {
        Some(busy) if own_quota => format!(
            "For context, its node {node} had {resource} {busy:.0}% used {when}; throttling is the container's own CPU quota either way."
        ),
        Some(busy) if busy >= NODE_SATURATED_PERCENT => format!(
            "Its node {node} is saturated too ({resource} {busy:.0}% used {when}): a noisy neighbour, not only its own limit — look at the other pods on {node} (kubectl top pod -A --sort-by=cpu, on that node) before raising the limit."
        ),
        // CPU pressure with an idle node is not always a limit: a container without one can
        // still wait, held by its cpuset or its own threads outnumbering its CPUs.
        Some(busy) if insight.check == "container.cpu.pressure" => format!(
            "Its node {node} has headroom ({resource} {busy:.0}% used {when}): not a noisy neighbour; the wait is the container's own — its CPU quota where it has one (see its throttling), else its cpuset or more runnable threads than the CPUs it may use."
        ),
        Some(busy) => format!(
            "Its node {node} has headroom ({resource} {busy:.0}% used {when}): the container hit its own limit, not a noisy neighbour."
        ),
        None => format!(
            "Whether its node is saturated too is unknown: no kube-state-metrics kube_pod_info naming the node, or no node_exporter on {node} (node_uname_info{{nodename}})."
        ),
    })
}

/// Over what the node was judged: the finding's own span where the engine judged it there
/// (`span::SPAN_SECONDS` long, ending at the finding's end), else the whole window.
fn when_judged(insight: &Insight) -> String {
    let span = insight.evidence.get(SPAN_SECONDS);
    match (span, insight.ended_at) {
        (Some(seconds), Some(end)) if seconds.is_finite() && seconds > 0.0 => {
            let start = end - chrono::Duration::seconds(seconds.round() as i64);
            format!(
                "from {} to {} UTC, the finding's own span",
                start.format("%H:%M"),
                end.format("%H:%M")
            )
        }
        _ => "over the window".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::{Evidence, IssueType, Methodology, Severity, UseSignal};

    fn container(check: &str, node: Option<&str>, busy: Option<f64>) -> Insight {
        let mut evidence = Evidence::new();
        if let Some(b) = busy {
            evidence.set("node_cpu_busy_percent", b);
        }
        Insight {
            id: check.into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            methodology: Methodology::UseMethod,
            component: Component::Container,
            issue_type: IssueType::Saturation,
            use_signal: Some(UseSignal::Saturation),
            severity: Severity::High,
            title: "t".into(),
            observation: "Throttled.".into(),
            evidence,
            root_cause: String::new(),
            immediate_action: String::new(),
            investigation_steps: Vec::new(),
            long_term_fix: String::new(),
            related_metrics: Vec::new(),
            confidence: 90.0,
            book_reference: None,
            instance: Some("shop/web-1/app".into()),
            device: node.map(str::to_string),
            check: check.into(),
            started_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn own_limit_and_noisy_neighbour_are_told_apart() {
        let mut insights = vec![
            container("container.cpu.throttling", Some("node-a"), Some(35.0)),
            container("container.cpu.utilization", Some("node-b"), Some(97.0)),
            container("container.cpu.throttling", None, None),
            container("container.errors.restarts", None, None),
        ];
        let before = insights[3].observation.clone();
        place_on_nodes(&mut insights);
        assert!(insights[0]
            .observation
            .contains("For context, its node node-a had CPUs 35% used over the window; throttling is the container's own CPU quota"));
        assert!(insights[1].observation.contains(
            "Its node node-b is saturated too (CPUs 97% used over the window): a noisy neighbour"
        ));
        assert!(insights[2]
            .observation
            .contains("Whether its node is saturated too is unknown"));
        assert_eq!(insights[3].observation, before);
    }

    #[test]
    fn throttling_on_a_saturated_node_is_never_a_noisy_neighbour() {
        let mut insights = vec![
            container("container.cpu.throttling", Some("node-b"), Some(97.0)),
            container("container.cpu.utilization", Some("node-a"), Some(35.0)),
        ];
        place_on_nodes(&mut insights);
        let throttled = &insights[0].observation;
        assert!(!throttled.contains("noisy neighbour"), "{throttled}");
        assert!(
            !throttled.contains("before raising the limit"),
            "{throttled}"
        );
        assert!(
            throttled.contains("node node-b had CPUs 97% used"),
            "{throttled}"
        );
        assert!(insights[1]
            .observation
            .contains("Its node node-a has headroom (CPUs 35% used over the window)"));
    }

    #[test]
    fn cpu_pressure_on_an_idle_node_does_not_claim_a_limit() {
        let mut insights = vec![container(
            "container.cpu.pressure",
            Some("node-c"),
            Some(20.0),
        )];
        place_on_nodes(&mut insights);
        let text = &insights[0].observation;
        assert!(text.contains("not a noisy neighbour"), "{text}");
        assert!(text.contains("else its cpuset"), "{text}");
        assert!(!text.contains("hit its own limit"), "{text}");
    }

    #[test]
    fn a_node_judged_over_the_findings_span_says_so() {
        use chrono::TimeZone;
        let at = |h, m| chrono::Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).unwrap();
        let mut spanned = container("container.cpu.utilization", Some("node-b"), Some(92.0));
        spanned.started_at = Some(at(10, 6));
        spanned.ended_at = Some(at(10, 20));
        spanned.evidence.set(SPAN_SECONDS, 900.0);
        // The same times without the engine's mark: the value is the window's, said so.
        let mut windowed = spanned.clone();
        windowed.evidence = Evidence::new().with("node_cpu_busy_percent", 30.0);
        let mut insights = vec![spanned, windowed];
        place_on_nodes(&mut insights);
        assert!(
            insights[0].observation.contains(
                "Its node node-b is saturated too (CPUs 92% used from 10:05 to 10:20 UTC, the finding's own span): a noisy neighbour"
            ),
            "{}",
            insights[0].observation
        );
        assert!(
            insights[1]
                .observation
                .contains("has headroom (CPUs 30% used over the window)"),
            "{}",
            insights[1].observation
        );
    }

    #[test]
    fn restarts_ending_in_an_oom_kill_are_not_counted_as_oom_kills() {
        let oom = |cadvisor: bool| {
            let mut i = container("container.errors.oom_kills", None, None);
            i.title = "Container shop/web-1/app OOM-killed: 6 times".into();
            i.observation = "The kernel's OOM killer killed container shop/web-1/app n/a times in the last 1h (threshold 1); it restarted 6 times. Its memory limit is 512 MiB.".into();
            i.evidence.set("oom_kills_count", 6.0);
            i.evidence.set("restarts_count", 6.0);
            if cadvisor {
                i.evidence.set("oom_events_count", 6.0);
            }
            i
        };
        let mut insights = vec![oom(false), oom(true)];
        let counted = insights[1].clone();
        place_on_nodes(&mut insights);
        assert_eq!(
            insights[0].title,
            "Container shop/web-1/app restarted 6 times, at least once by the OOM killer"
        );
        let observation = &insights[0].observation;
        assert!(!observation.contains("OOM killer killed"), "{observation}");
        assert!(
            observation
                .contains("between 1 and 6 of the restarts were OOM kills, how many is unknown")
                && observation.ends_with("Its memory limit is 512 MiB."),
            "{observation}"
        );
        // Where cAdvisor counted the OOM events, the count is the kills'.
        assert_eq!(insights[1].title, counted.title);
        assert_eq!(insights[1].observation, counted.observation);
    }
}
