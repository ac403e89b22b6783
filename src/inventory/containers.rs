//! What a Prometheus has of containers: how many cAdvisor reports, and whether
//! kube-state-metrics is there. Health says it beside node_exporter's story, so that a
//! Prometheus with only cAdvisor and kube-state-metrics is usable (the container checks run)
//! and a missing exporter is named with what it costs.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    prometheus::{Client, PrometheusError},
    promql::Selector,
};

/// Containers and pods the exporters report at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPresence {
    /// Containers cAdvisor reports (pod cgroups and pause containers left out).
    pub cadvisor_containers: usize,
    /// Pods kube-state-metrics reports (`kube_pod_info`).
    pub kube_state_metrics_pods: usize,
}

/// What is lost without cAdvisor (the catalog's `cadvisor` source says the same).
const CADVISOR_LOST: &str =
    "containers' CPU and memory against their limits, CFS throttling and OOM kills";
/// What is lost without kube-state-metrics.
const KSM_LOST: &str = "restarts, OOMKilled terminations, limits from pod specs and the node of each pod (so container findings cannot say whether their node is saturated too)";

impl ContainerPresence {
    /// Count both at `at` (two instant queries; the counts do not grow with the fleet).
    pub async fn take(
        client: &Client,
        selector: &Selector,
        at: DateTime<Utc>,
    ) -> Result<ContainerPresence, PrometheusError> {
        let cadvisor = format!(
            "count(count by (namespace, pod, container) (last_over_time(container_cpu_usage_seconds_total{{container!=\"\", container!=\"POD\", {selector}}}[5m])))"
        );
        // Highly available kube-state-metrics (two replicas, both scraped) reports every pod
        // twice: count pods, not series.
        let ksm = format!(
            "count(count by (namespace, pod) (last_over_time(kube_pod_info{{{selector}}}[5m])))"
        );
        let (c, k) = tokio::join!(client.query(&cadvisor, at), client.query(&ksm, at));
        let count = |v: crate::prometheus::Answer<crate::prometheus::InstantValue>| {
            v.data
                .into_vector()
                .first()
                .map(|s| s.value.max(0.0) as usize)
                .unwrap_or(0)
        };
        Ok(ContainerPresence {
            cadvisor_containers: count(c?),
            kube_state_metrics_pods: count(k?),
        })
    }

    /// Whether any container exporter is there.
    pub fn any(&self) -> bool {
        self.cadvisor_containers > 0 || self.kube_state_metrics_pods > 0
    }

    /// One sentence: what exists and what is missing with its cost; `None` where neither
    /// exporter is there (most Prometheus servers watch hosts only: nothing to say).
    pub fn describe(&self) -> Option<String> {
        if !self.any() {
            return None;
        }
        let cadvisor = match self.cadvisor_containers {
            0 => format!("cAdvisor is missing (lost: {CADVISOR_LOST})"),
            n => format!("cAdvisor reports {n} container{}", plural(n)),
        };
        let ksm = match self.kube_state_metrics_pods {
            0 => format!("kube-state-metrics is missing (lost: {KSM_LOST})"),
            n => format!("kube-state-metrics reports {n} pod{}", plural(n)),
        };
        Some(format!("Containers: {cadvisor}; {ksm}."))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_exporter_is_named_with_its_cost() {
        assert_eq!(ContainerPresence::default().describe(), None);
        let only_cadvisor = ContainerPresence {
            cadvisor_containers: 3,
            kube_state_metrics_pods: 0,
        };
        let said = only_cadvisor.describe().unwrap();
        assert!(said.starts_with("Containers: cAdvisor reports 3 containers; kube-state-metrics is missing (lost: restarts"), "{said}");
        let only_ksm = ContainerPresence {
            cadvisor_containers: 0,
            kube_state_metrics_pods: 1,
        };
        let said = only_ksm.describe().unwrap();
        assert!(
            said.contains("cAdvisor is missing (lost: containers' CPU"),
            "{said}"
        );
        assert!(said.contains("kube-state-metrics reports 1 pod."), "{said}");
    }
}
