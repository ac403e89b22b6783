//! What a Prometheus has of containers: how many cAdvisor reports, and whether
//! kube-state-metrics is there. Health says it beside node_exporter's story, so that a
//! Prometheus with only cAdvisor and kube-state-metrics is usable (the container checks run)
//! and a missing exporter is named with what it costs. cAdvisor's pressure (PSI) families are
//! counted apart: most clusters still run a cAdvisor or a cgroup version without them, and the
//! container pressure checks then say nothing, which health must not leave unexplained.

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
    /// Containers with cAdvisor's pressure stall information (`container_pressure_*`, cAdvisor
    /// v0.52.0 or later on cgroup v2).
    pub pressure_containers: usize,
}

/// What is lost without cAdvisor (the catalog's `cadvisor` source says the same).
const CADVISOR_LOST: &str =
    "containers' CPU and memory against their limits, CFS throttling and OOM kills";
/// What is lost where no container has pressure stall information, and how to get it.
const PSI_LOST: &str = "No container has pressure stall information (container_pressure_cpu_waiting_seconds_total and the other container_pressure_* families need cgroup v2 and cAdvisor v0.52.0 or later; the kubelet's /metrics/cadvisor exports them behind the KubeletPSI feature gate), so the time containers' tasks waited for CPU or stalled on memory is unobservable: memory saturation falls back to limit hits (container_memory_failcnt, counted on cgroup v1 only) and CPU saturation to CFS throttling";
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
        let pressure = format!(
            "count(count by (namespace, pod, container) (last_over_time(container_pressure_cpu_waiting_seconds_total{{container!=\"\", container!=\"POD\", {selector}}}[5m])))"
        );
        let (c, k, p) = tokio::join!(
            client.query(&cadvisor, at),
            client.query(&ksm, at),
            client.query(&pressure, at)
        );
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
            pressure_containers: count(p?),
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
        Some(format!("Containers: {cadvisor}; {ksm}.{}", self.pressure()))
    }

    /// The sentence on pressure stall information, empty where there is nothing to say (no
    /// cAdvisor at all is said already).
    fn pressure(&self) -> String {
        match (self.cadvisor_containers, self.pressure_containers) {
            (0, _) => String::new(),
            (_, 0) => format!(" {PSI_LOST}."),
            (all, with) if with >= all => {
                " Every container has pressure stall information (cgroup PSI).".to_string()
            }
            (all, with) => format!(
                " {with} of the {all} containers have pressure stall information (cgroup PSI); for the others the time their tasks waited for CPU or memory is unobservable (cgroup v1, or a cAdvisor older than v0.52.0)."
            ),
        }
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
            pressure_containers: 3,
        };
        let said = only_cadvisor.describe().unwrap();
        assert!(said.starts_with("Containers: cAdvisor reports 3 containers; kube-state-metrics is missing (lost: restarts"), "{said}");
        let only_ksm = ContainerPresence {
            cadvisor_containers: 0,
            kube_state_metrics_pods: 1,
            pressure_containers: 0,
        };
        let said = only_ksm.describe().unwrap();
        assert!(
            said.contains("cAdvisor is missing (lost: containers' CPU"),
            "{said}"
        );
        assert!(said.contains("kube-state-metrics reports 1 pod."), "{said}");
        // Without cAdvisor there is no pressure to speak of: nothing more is said.
        assert!(said.ends_with("reports 1 pod."), "{said}");
    }

    #[test]
    fn missing_pressure_is_named_with_its_cost_and_its_fix() {
        let count = |all, with| ContainerPresence {
            cadvisor_containers: all,
            kube_state_metrics_pods: all,
            pressure_containers: with,
        };
        let none = count(2, 0).describe().unwrap();
        assert!(
            none.contains("reports 2 pods. No container has pressure stall information")
                && none.contains("cAdvisor v0.52.0 or later")
                && none.contains("KubeletPSI")
                && none.contains("container_memory_failcnt"),
            "{none}"
        );
        let some = count(3, 1).describe().unwrap();
        assert!(
            some.contains("1 of the 3 containers have pressure stall information"),
            "{some}"
        );
        let all = count(2, 2).describe().unwrap();
        assert!(
            all.ends_with("Every container has pressure stall information (cgroup PSI)."),
            "{all}"
        );
    }
}
