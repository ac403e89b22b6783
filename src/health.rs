//! The health verdict behind Grafana's "Save & test" and `gregg-insights health`.
//!
//! Healthy means more than "Prometheus answers": the analyzer needs node_exporter data, so a
//! Prometheus without it is an error with its own message. Each failure mode gets a message
//! that says what to change.

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::{
    catalog::Catalog,
    inventory::{self, containers::ContainerPresence, Inventory},
    prometheus::{Client, PrometheusError},
    promql::{format_duration, Selector},
};

/// OK or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ready to analyse.
    Ok,
    /// Not usable; the message says why.
    Error,
}

/// The verdict: status, a message for people and details for machines.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthReport {
    /// OK or error.
    pub status: Status,
    /// One paragraph saying what was found and, on error, what to do.
    pub message: String,
    /// Structured details (always a JSON object, as Grafana requires).
    pub details: serde_json::Value,
}

/// Check Prometheus and its node_exporter data.
pub async fn check(client: &Client, catalog: &Catalog, selector: &Selector) -> HealthReport {
    check_at(client, catalog, selector, Utc::now()).await
}

/// [`check`] as of `now` (tests look at data recorded in the past).
pub async fn check_at(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    now: chrono::DateTime<Utc>,
) -> HealthReport {
    // Containers are an addition: a failed count leaves them unsaid, never fails health.
    let containers = ContainerPresence::take(client, &selector.for_containers(), now)
        .await
        .unwrap_or_default();
    match inventory::take(client, catalog, selector, now).await {
        Ok(inv) if inv.instances.is_empty() && containers.cadvisor_containers > 0 => {
            containers_only(client, selector, &inv, containers)
        }
        Ok(inv) if inv.instances.is_empty() => {
            // No data now: stopped scraping, or never any? Stale data is not "no data".
            let (stopped, _) = inventory::stopped(
                client,
                selector,
                now,
                (
                    inventory::STOPPED_LOOKBACK,
                    std::time::Duration::from_secs(60),
                ),
                inventory::Reach {
                    instances: &[],
                    budget: crate::samples::DEFAULT_SAMPLE_BUDGET,
                },
            )
            .await;
            let stopped = stopped.unwrap_or_default();
            verdict(client, selector, &inv, &stopped, now)
        }
        Ok(inv) => with_containers(
            verdict(client, selector, &inv, &[], now),
            containers,
            selector,
        ),
        Err(err) => failure(client, &err),
    }
}

fn failure(client: &Client, err: &PrometheusError) -> HealthReport {
    let headline = match err {
        PrometheusError::UnknownHost { .. } | PrometheusError::Unreachable { .. } => {
            "Prometheus is unreachable"
        }
        PrometheusError::NotFound { .. } => "This URL is not a Prometheus API",
        PrometheusError::Auth { .. } => "Prometheus refused the credentials",
        PrometheusError::Tls { .. } => "TLS failed",
        PrometheusError::Timeout { .. } => "Prometheus timed out",
        PrometheusError::TooLarge { .. } => "Prometheus' answer was too large",
        PrometheusError::Config(_) => "The connection settings are invalid",
        _ => "Prometheus answered with an error",
    };
    HealthReport {
        status: Status::Error,
        message: format!("{headline}: {err}"),
        details: json!({
            "prometheusUrl": client.url(),
            "error": err.kind(),
            "message": err.to_string(),
        }),
    }
}

fn verdict(
    client: &Client,
    selector: &Selector,
    inv: &Inventory,
    stopped: &[inventory::Stopped],
    now: chrono::DateTime<Utc>,
) -> HealthReport {
    let version = inv.server.name();
    let details = json!({
        "prometheusUrl": client.url(),
        "prometheusVersion": inv.server.version,
        "engine": inv.server.engine,
        "instances": inv.instances.len(),
        "nodeExporterVersions": inv.exporter_versions,
        "scrapeIntervalSeconds": inv.scrape_interval.map(|d| d.as_secs_f64()),
        "targetSelector": selector.to_string(),
        "collectors": inv.collectors,
    });
    if let Some(said) = inventory::describe_stopped(stopped, now) {
        let mut details = details;
        details["stopped"] = json!(stopped);
        return HealthReport {
            status: Status::Error,
            message: format!(
                "{version} at {} is up but its {said}. Check the targets (Status → Targets) and the exporters.",
                client.url()
            ),
            details,
        };
    }
    if inv.instances.is_empty() {
        let scope = if selector.is_empty() {
            "no target exposes node_cpu_seconds_total".to_string()
        } else {
            format!("no target matching the selector {{{selector}}} exposes node_cpu_seconds_total")
        };
        return HealthReport {
            status: Status::Error,
            message: format!(
                "{version} at {} is up but has no node_exporter data: {scope}. Check that Prometheus scrapes node_exporter (Status → Targets){}.",
                client.url(),
                if selector.is_empty() { "" } else { " and that the data source's target selector matches those targets" }
            ),
            details,
        };
    }

    let mut message = format!(
        "{version} at {} is healthy: {} {} node_exporter metrics",
        client.url(),
        inv.instances.len(),
        if inv.instances.len() == 1 {
            "instance exposes"
        } else {
            "instances expose"
        },
    );
    if !inv.exporter_versions.is_empty() {
        let versions: Vec<String> = inv
            .exporter_versions
            .iter()
            .map(|(v, n)| {
                if inv.exporter_versions.len() == 1 {
                    format!("node_exporter {v}")
                } else {
                    format!("{v} on {n}")
                }
            })
            .collect();
        message.push_str(&format!(" ({})", versions.join(", ")));
    }
    match inv.scrape_interval {
        Some(d) => message.push_str(&format!(
            ", scraped every {}",
            format_duration(round_interval(d))
        )),
        None => message.push_str(", scrape interval not yet measurable (fewer than two scrapes)"),
    }
    message.push('.');
    let missing: Vec<String> = inv
        .missing_collectors()
        .map(|c| {
            let state = if c.failing > 0 && c.absent == 0 {
                "failing"
            } else if c.absent > 0 && c.failing == 0 {
                "disabled"
            } else {
                "missing"
            };
            format!(
                "{} ({state} on {} of {}: {})",
                c.name,
                c.missing(),
                inv.instances.len(),
                c.lost
            )
        })
        .collect();
    if !inv.collector_status_known() {
        message.push_str(" The exporters do not report node_scrape_collector_success, so missing collectors cannot be listed; signals without data are reported as coverage gaps when analysed.");
    } else if missing.is_empty() {
        message.push_str(" Every collector the analyzer reads is working.");
    } else {
        message.push_str(&format!(
            " Collectors the analyzer reads that are not available, so those signals are reported as coverage gaps: {}.",
            missing.join("; ")
        ));
    }
    HealthReport {
        status: Status::Ok,
        message,
        details,
    }
}

/// A Prometheus with cAdvisor but no node_exporter: usable, the container checks run on what
/// exists; the message says what is missing and what that costs.
fn containers_only(
    client: &Client,
    selector: &Selector,
    inv: &Inventory,
    containers: ContainerPresence,
) -> HealthReport {
    let version = inv.server.name();
    let scope = if selector.is_empty() {
        String::new()
    } else {
        format!(" matching the selector {{{selector}}}")
    };
    let mut said = containers.describe().unwrap_or_default();
    if let Some(note) = container_selector_note(selector) {
        said = format!("{said} {note}");
    }
    HealthReport {
        status: Status::Ok,
        message: format!(
            "{version} at {} is usable for containers only: no target{scope} exposes node_exporter metrics (node_cpu_seconds_total), so the hosts' CPU, memory, disk and network checks cannot run and no finding can be tied to a machine's own saturation. {said} The container checks run on what exists.",
            client.url()
        ),
        details: json!({
            "prometheusUrl": client.url(),
            "prometheusVersion": inv.server.version,
            "engine": inv.server.engine,
            "instances": 0,
            "targetSelector": selector.to_string(),
            "containerSelector": selector.for_containers().to_string(),
            "containers": containers,
        }),
    }
}

/// `report` with the containers the exporters report, where there are any.
fn with_containers(
    mut report: HealthReport,
    containers: ContainerPresence,
    selector: &Selector,
) -> HealthReport {
    if let Some(said) = containers.describe() {
        report.message.push(' ');
        report.message.push_str(&said);
        if let Some(note) = container_selector_note(selector) {
            report.message.push(' ');
            report.message.push_str(&note);
        }
        report.details["containers"] = json!(containers);
        report.details["containerSelector"] = json!(selector.for_containers().to_string());
    }
    report
}

/// Where the target selector names scrape targets (`job="node"`), say that container series
/// are read without those matchers: the kubelet and kube-state-metrics are other targets, and
/// a reader who wrote `job="node"` should not wonder why containers still show, nor lose them.
fn container_selector_note(selector: &Selector) -> Option<String> {
    let left_out = selector.left_out_for_containers();
    if left_out.is_empty() {
        return None;
    }
    let (verb, them) = if left_out.len() == 1 {
        ("names", "it")
    } else {
        ("name", "them")
    };
    let rest = selector.for_containers();
    let on = if rest.is_empty() {
        "every container series".to_string()
    } else {
        format!("container series matching {{{rest}}}")
    };
    Some(format!(
        "The target selector's {} {verb} node_exporter's scrape targets: container checks (cAdvisor, kube-state-metrics) run without {them}, on {on}.",
        left_out.join(", ")
    ))
}

/// Scrape timestamps jitter by milliseconds; show the interval to the nearest second.
fn round_interval(d: std::time::Duration) -> std::time::Duration {
    let secs = d.as_secs_f64().round().max(1.0);
    std::time::Duration::from_secs(secs as u64)
}
