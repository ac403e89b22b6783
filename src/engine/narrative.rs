//! Turning a breach into an insight: fill the check's narrative with this target's numbers.

use chrono::{DateTime, Utc};

use super::{
    run::{instance_selector, render_query},
    Level, Observation,
};
use crate::{
    catalog::{Check, Thresholds},
    insight::{Evidence, Insight, Methodology},
    promql::{template, Selector},
};

/// Build the insight for one flagged observation.
#[allow(clippy::too_many_arguments)]
pub(super) fn insight(
    check: &Check,
    thresholds: &Thresholds,
    observation: &Observation,
    selector: &Selector,
    window: &str,
    promql: &str,
    extra_evidence: &[Evidence],
    at: DateTime<Utc>,
) -> Insight {
    let (severity, threshold) = match observation.level {
        Level::Critical => (check.severity.critical, thresholds.critical),
        _ => (check.severity.warning, thresholds.warning),
    };
    let values = NarrativeValues {
        instance: observation.instance.clone(),
        device: observation.device.clone().unwrap_or_default(),
        value: check.unit.format(observation.value),
        threshold: check.unit.format(threshold),
        level: observation.level.as_str().to_string(),
        window: window.to_string(),
        warning: check.unit.format(thresholds.warning),
        critical: check.unit.format(thresholds.critical),
    };
    let fill = |text: &str| values.fill(text.trim());

    let metric_name = check.id.replace('.', "_");
    let mut evidence = vec![
        Evidence::new(metric_name, observation.value, Some(check.unit.as_str())).from_query(promql),
        Evidence::new(
            "threshold_warning",
            thresholds.warning,
            Some(check.unit.as_str()),
        ),
        Evidence::new(
            "threshold_critical",
            thresholds.critical,
            Some(check.unit.as_str()),
        ),
    ];
    evidence.extend(extra_evidence.iter().cloned());

    let narrowed = instance_selector(selector, &observation.instance);
    let related_metrics = check
        .related_metrics
        .iter()
        .filter_map(|q| render_query(q, &narrowed, window).ok())
        .collect();

    let mut id = format!("{}:{}", check.id, observation.instance);
    if let Some(device) = &observation.device {
        id.push(':');
        id.push_str(device);
    }
    Insight {
        id,
        check: check.id.clone(),
        timestamp: at,
        methodology: Methodology::UseMethod,
        component: check.component.clone(),
        issue_type: check.issue_type,
        severity,
        title: fill(&check.title),
        instance: Some(observation.instance.clone()),
        device: observation.device.clone(),
        observation: fill(&check.observation),
        evidence,
        root_cause: reflow(&fill(&check.root_cause)),
        immediate_action: reflow(&fill(&check.immediate_action)),
        investigation_steps: check.investigation_steps.iter().map(|s| fill(s)).collect(),
        long_term_fix: reflow(&fill(&check.long_term_fix)),
        related_metrics,
        confidence: check.confidence,
        book_reference: Some(check.book_reference.clone()),
    }
}

/// The values a narrative template can refer to.
struct NarrativeValues {
    instance: String,
    device: String,
    value: String,
    threshold: String,
    level: String,
    window: String,
    warning: String,
    critical: String,
}

impl NarrativeValues {
    fn fill(&self, text: &str) -> String {
        // Placeholders were validated when the catalog loaded; an unknown one is left visible
        // rather than failing the whole insight.
        template::render(text, |name| {
            Some(match name {
                "instance" => self.instance.as_str(),
                "device" => self.device.as_str(),
                "value" => self.value.as_str(),
                "threshold" => self.threshold.as_str(),
                "level" => self.level.as_str(),
                "window" => self.window.as_str(),
                "warning" => self.warning.as_str(),
                "critical" => self.critical.as_str(),
                _ => return None,
            })
        })
        .unwrap_or_else(|_| text.to_string())
    }
}

/// Join the hard-wrapped lines of a TOML multi-line string into paragraphs.
fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}
