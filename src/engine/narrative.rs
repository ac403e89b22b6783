//! Turning drafts into insights: fill the narrative templates with this target's numbers.

use crate::{
    catalog::{format_evidence, Catalog, Check, Evaluation},
    insight::{Evidence, Insight, IssueType, Methodology},
    promql::{format_duration, template, Selector},
    samples::Timing,
};

use super::{
    diagnose::{qualified, Draft, Ref},
    evaluate::Level,
    execute::{held_text, CheckExecution},
    finding::Finding,
};

/// Build the insight for one draft.
pub(super) fn insight(
    catalog: &Catalog,
    executions: &[CheckExecution],
    draft: &Draft,
    selector: &Selector,
    timing: &Timing,
) -> Insight {
    match draft {
        Draft::Single {
            finding,
            severity,
            confidence,
            corroboration,
            also,
        } => {
            let check = &catalog.checks()[executions[finding.0].index];
            let f = &executions[finding.0].findings[finding.1];
            let mut insight = single(check, f, selector, timing);
            if f.assessment.level == Level::Ok {
                told_as_burst(check, f, timing, &mut insight);
            }
            insight.severity = *severity;
            insight.confidence = *confidence;
            for (name, value) in corroboration {
                insight.evidence.set(name.clone(), *value);
            }
            if !also.is_empty() {
                let mut parts = Vec::new();
                for r in also {
                    let other = &catalog.checks()[executions[r.0].index];
                    let of = &executions[r.0].findings[r.1];
                    insight.evidence.set(&other.metric, of.assessment.value);
                    parts.push(format!(
                        "{} {} ({})",
                        other.label,
                        other.unit.format(of.assessment.value),
                        of.assessment.level.as_str()
                    ));
                    for q in &of.queries {
                        if !insight.related_metrics.contains(q) {
                            insight
                                .related_metrics
                                .insert(1.min(insight.related_metrics.len()), q.clone());
                        }
                    }
                }
                insight
                    .observation
                    .push_str(&format!(" At the same time: {}.", parts.join("; ")));
            }
            insight
        }
        Draft::Bottleneck {
            component,
            utilization,
            saturation,
            severity,
            confidence,
            corroboration,
            host_wide,
        } => {
            let mut insight = bottleneck(
                catalog,
                executions,
                *component,
                *utilization,
                saturation,
                *severity,
                *confidence,
                timing,
            );
            let mut also_on: Vec<String> = executions[utilization.0].findings[utilization.1]
                .also_on
                .clone();
            for r in saturation {
                let check = &catalog.checks()[executions[r.0].index];
                let f = &executions[r.0].findings[r.1];
                insight.observation.push_str(&class_note(check, f));
                also_on.extend(f.also_on.iter().cloned());
            }
            also_on.sort_unstable();
            also_on.dedup();
            insight.observation.push_str(&also_on_note(&also_on));
            // The weaker signals of the same chain, where they ran: they agree or they don't.
            for (name, value) in corroboration {
                if insight.evidence.get(name).is_none() {
                    insight.evidence.set(name.clone(), *value);
                }
            }
            host_wide_corroboration(catalog, executions, host_wide, &mut insight);
            insight
        }
    }
}

fn single(check: &Check, f: &Finding, selector: &Selector, timing: &Timing) -> Insight {
    let a = &f.assessment;
    let threshold = match a.level {
        Level::Critical => f.thresholds.critical,
        _ => f.thresholds.warning,
    };
    let window = format_duration(timing.window);
    let held = if check.evaluation == Evaluation::Event {
        window.clone()
    } else {
        held_text(a.held)
    };
    let fill = |text: &str| -> String {
        let rendered = template::render(text.trim(), |name| match name {
            "instance" => Some(f.instance.clone()),
            "device" => Some(f.device.clone().unwrap_or_default()),
            "value" => Some(check.unit.format(a.value)),
            "peak" => Some(check.unit.format(a.peak)),
            "threshold" => Some(check.unit.format(threshold)),
            "level" => Some(a.level.as_str().to_string()),
            "window" => Some(window.clone()),
            "held" => Some(held.clone()),
            "warning" => Some(check.unit.format(f.thresholds.warning)),
            "critical" => Some(check.unit.format(f.thresholds.critical)),
            evidence => Some(
                f.evidence
                    .get(evidence)
                    .map(|v| format_evidence(evidence, v))
                    .unwrap_or_else(|| "n/a".to_string()),
            ),
        });
        reflow(&rendered.unwrap_or_else(|_| text.to_string()))
    };

    let mut evidence = Evidence::new().with(&check.metric, a.value);
    if check.evaluation == Evaluation::Sustained {
        evidence.set(qualified(&check.metric, "peak"), a.peak);
    }
    evidence.set(
        qualified(&check.metric, "warning_threshold"),
        f.thresholds.warning,
    );
    evidence.set(
        qualified(&check.metric, "critical_threshold"),
        f.thresholds.critical,
    );
    if check.evaluation == Evaluation::Sustained {
        evidence.set("held_seconds", a.held.as_secs_f64());
    }
    for (name, value) in f.evidence.iter() {
        evidence.set(name, value);
    }

    let mut related = f.queries.clone();
    let targets = check.component.instance_is_target();
    let narrowed = super::evidence::narrowed_to_one(targets, selector, &f.instance).to_string();
    let node_selector = super::evidence::for_check(targets, selector).to_string();
    for q in &check.related_metrics {
        if let Ok(rendered) = timing.render_split(q, &narrowed, &node_selector) {
            if !related.contains(&rendered) {
                related.push(rendered);
            }
        }
    }

    Insight {
        id: insight_id(&check.id, &f.instance, f.device.as_deref()),
        timestamp: timing.at,
        methodology: Methodology::UseMethod,
        component: check.component,
        issue_type: check.issue_type,
        use_signal: Some(check.signal),
        severity: check.severity.warning,
        title: fill(&check.title),
        observation: fill(&check.observation) + &class_note(check, f) + &also_on_note(&f.also_on),
        evidence,
        root_cause: fill(&check.root_cause),
        immediate_action: fill(&check.immediate_action),
        investigation_steps: check.investigation_steps.iter().map(|s| fill(s)).collect(),
        long_term_fix: fill(&check.long_term_fix),
        related_metrics: related,
        confidence: check.confidence,
        book_reference: Some(check.book_reference.clone()),
        instance: Some(f.instance.clone()),
        device: f.device.clone(),
        check: check.id.clone(),
        started_at: a.started_at,
        ended_at: a.ended_at,
    }
}

#[allow(clippy::too_many_arguments)]
fn bottleneck(
    catalog: &Catalog,
    executions: &[CheckExecution],
    component: crate::insight::Component,
    utilization: Ref,
    saturation: &[Ref],
    severity: crate::insight::Severity,
    confidence: f64,
    timing: &Timing,
) -> Insight {
    let check_of = |r: Ref| &catalog.checks()[executions[r.0].index];
    let finding_of = |r: Ref| &executions[r.0].findings[r.1];
    let ucheck = check_of(utilization);
    let u = finding_of(utilization);
    let spec = catalog
        .component(component)
        .and_then(|c| c.bottleneck.as_ref());
    let window = format_duration(timing.window);
    let held = held_text(u.assessment.held);
    let saturation_text = saturation
        .iter()
        .map(|r| {
            let c = check_of(*r);
            let f = finding_of(*r);
            format!("{} {}", c.label, c.unit.format(f.assessment.value))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let device = u.device.clone().unwrap_or_default();
    let utilization_text = ucheck.unit.format(u.assessment.value);
    let fill = |text: &str| -> String {
        reflow(
            &template::render(text.trim(), |name| match name {
                "instance" => Some(u.instance.clone()),
                "device" => Some(device.clone()),
                "utilization" => Some(utilization_text.clone()),
                "saturation" => Some(saturation_text.clone()),
                "window" => Some(window.clone()),
                "held" => Some(held.clone()),
                _ => None,
            })
            .unwrap_or_else(|_| text.to_string()),
        )
    };

    let (evidence, related) = bottleneck_evidence(catalog, executions, utilization, saturation);
    let check_id = format!("{component}.bottleneck");
    let (
        title,
        observation,
        root_cause,
        immediate_action,
        investigation_steps,
        long_term_fix,
        book,
    ) = match spec {
        Some(b) => (
            fill(&b.title),
            fill(&b.observation),
            fill(&b.root_cause),
            fill(&b.immediate_action),
            b.investigation_steps.iter().map(|s| fill(s)).collect(),
            fill(&b.long_term_fix),
            Some(b.book_reference.clone()),
        ),
        None => (
            format!("{component} bottleneck on {}", u.instance),
            format!("{} {utilization_text} with {saturation_text}", ucheck.label),
            String::new(),
            String::new(),
            Vec::new(),
            String::new(),
            None,
        ),
    };
    Insight {
        id: insight_id(&check_id, &u.instance, u.device.as_deref()),
        timestamp: timing.at,
        methodology: Methodology::UseMethod,
        component,
        issue_type: IssueType::Bottleneck,
        use_signal: None,
        severity,
        title,
        observation,
        evidence,
        root_cause,
        immediate_action,
        investigation_steps,
        long_term_fix,
        related_metrics: related,
        confidence,
        book_reference: book,
        instance: Some(u.instance.clone()),
        device: u.device.clone(),
        check: check_id,
        started_at: u.assessment.started_at,
        ended_at: u.assessment.ended_at,
    }
}

/// A bottleneck's evidence (utilization, its peak and how long it held, every saturation
/// signal and the utilization's own evidence) and the queries that produced it.
fn bottleneck_evidence(
    catalog: &Catalog,
    executions: &[CheckExecution],
    utilization: Ref,
    saturation: &[Ref],
) -> (Evidence, Vec<String>) {
    let check_of = |r: Ref| &catalog.checks()[executions[r.0].index];
    let finding_of = |r: Ref| &executions[r.0].findings[r.1];
    let (ucheck, u) = (check_of(utilization), finding_of(utilization));
    let mut evidence = Evidence::new()
        .with(&ucheck.metric, u.assessment.value)
        .with(qualified(&ucheck.metric, "peak"), u.assessment.peak)
        .with("held_seconds", u.assessment.held.as_secs_f64());
    let mut related = u.queries.clone();
    for (name, value) in u.evidence.iter() {
        evidence.set(name, value);
    }
    for r in saturation {
        let c = check_of(*r);
        let f = finding_of(*r);
        evidence.set(&c.metric, f.assessment.value);
        if c.evaluation == Evaluation::Sustained {
            evidence.set(qualified(&c.metric, "peak"), f.assessment.peak);
        }
        for q in &f.queries {
            if !related.contains(q) {
                related.push(q.clone());
            }
        }
    }
    (evidence, related)
}

/// Which device class' thresholds judged `f` (issue 17 item 8), as a sentence; empty when the
/// check's own thresholds did.
fn class_note(check: &Check, f: &Finding) -> String {
    match &f.class {
        Some(class) => format!(
            " {} judged against the thresholds for {class} devices: warning {}, critical {}.",
            capitalized(&check.label),
            check.unit.format(f.thresholds.warning),
            check.unit.format(f.thresholds.critical)
        ),
        None => String::new(),
    }
}

/// The stacked devices (dm, md) folded into this disk's finding, as a sentence.
fn also_on_note(also_on: &[String]) -> String {
    if also_on.is_empty() {
        return String::new();
    }
    format!(
        " Also seen on {}, stacked on this disk: the same I/O, reported once.",
        also_on.join(", ")
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A condition that crossed a threshold and ended before holding `min_duration`: said as a
/// burst, with when and how long, never as a sustained condition.
fn told_as_burst(check: &Check, f: &Finding, timing: &Timing, insight: &mut Insight) {
    let Some(burst) = &f.assessment.burst else {
        return;
    };
    // Each point is a rate over the step before it: the burst began up to a step earlier.
    let step = chrono::Duration::from_std(timing.step).unwrap_or_default();
    let began = burst.start - step;
    let lasted = (burst.end - began).to_std().unwrap_or(timing.step);
    let about = format_duration(lasted);
    let at = began.format("%H:%M").to_string();
    let threshold = match burst.level {
        Level::Critical => f.thresholds.critical,
        _ => f.thresholds.warning,
    };
    let target = match &f.device {
        Some(d) => format!("{} {d}", f.instance),
        None => f.instance.clone(),
    };
    insight.title = format!(
        "Burst of {} on {target}: a {about} burst at {at} (peak {}), not sustained",
        check.label,
        check.unit.format(burst.peak)
    );
    insight.observation = format!(
        "{} on {target} went past the {} threshold of {} for about {about} from {at} UTC (peak {}) and came back, in the last {}: a burst, shorter than the {} a sustained condition needs (judged on {} points). Not a sustained problem; if it recurs, look at what runs then.",
        check.label,
        burst.level.as_str(),
        check.unit.format(threshold),
        check.unit.format(burst.peak),
        format_duration(timing.window),
        format_duration(check.min_duration),
        format_duration(timing.step),
    );
    insight
        .evidence
        .set(qualified(&check.metric, "peak"), burst.peak);
    insight.evidence.set("burst_seconds", lasted.as_secs_f64());
    insight.started_at = Some(began);
    insight.ended_at = Some(burst.end);
}

/// Host-wide saturation beside a device bottleneck: evidence, and a sentence that names it as
/// host-wide (the host's, not this device's queue), so a reader does not take it for the cause.
fn host_wide_corroboration(
    catalog: &Catalog,
    executions: &[CheckExecution],
    host_wide: &[Ref],
    insight: &mut Insight,
) {
    if host_wide.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    for r in host_wide {
        let check = &catalog.checks()[executions[r.0].index];
        let f = &executions[r.0].findings[r.1];
        insight.evidence.set(&check.metric, f.assessment.value);
        parts.push(format!(
            "{} {}",
            check.label,
            check.unit.format(f.assessment.value)
        ));
        for q in &f.queries {
            if !insight.related_metrics.contains(q) {
                insight.related_metrics.push(q.clone());
            }
        }
    }
    insight.observation.push_str(&format!(
        " Host-wide, not measured on {}: {}; this corroborates, it does not locate the queue.",
        insight.device.as_deref().unwrap_or("this device"),
        parts.join(", ")
    ));
}

/// `check:instance[:device]`: the same problem on the same target keeps its id across executions.
pub(super) fn insight_id(check: &str, instance: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("{check}:{instance}:{d}"),
        None => format!("{check}:{instance}"),
    }
}

/// Join the hard-wrapped lines of a TOML multi-line string into paragraphs.
pub(super) fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        engine::fixtures::{catalog, execution, timing},
        insight::Severity,
    };

    fn busy(evidence: &[(&str, f64)]) -> Insight {
        let mut run = execution(
            "cpu.utilization",
            &[("db-1:9100", None, Level::Warning, 97.04)],
        );
        for (name, value) in evidence {
            run.findings[0].evidence.set(*name, *value);
        }
        let draft = Draft::Single {
            finding: (0, 0),
            severity: Severity::Low,
            confidence: 85.0,
            corroboration: Vec::new(),
            also: Vec::new(),
        };
        insight(catalog(), &[run], &draft, &Selector::empty(), &timing())
    }

    fn texts(i: &Insight) -> Vec<&str> {
        let mut all = vec![
            i.title.as_str(),
            i.observation.as_str(),
            i.root_cause.as_str(),
            i.immediate_action.as_str(),
            i.long_term_fix.as_str(),
        ];
        all.extend(i.investigation_steps.iter().map(String::as_str));
        all
    }

    #[test]
    fn templates_are_filled_from_the_finding_and_its_evidence() {
        let i = busy(&[
            ("cpu_count", 8.0),
            ("steal_percent", 1.2),
            ("iowait_percent", 0.5),
        ]);
        assert_eq!(
            i.title,
            "CPU busy on db-1:9100: 97.0% utilized, no saturation yet"
        );
        assert!(i.observation.contains("peak 97.0%"), "{}", i.observation);
        assert!(i.observation.contains("over 8 CPUs"), "{}", i.observation);
        assert!(
            i.observation.contains("warning threshold of 80%"),
            "{}",
            i.observation
        );
        assert!(
            i.observation.contains("of the last 10m"),
            "{}",
            i.observation
        );
        assert_eq!(i.severity, Severity::Low);
        assert_eq!(i.instance.as_deref(), Some("db-1:9100"));
        assert!(
            i.related_metrics
                .iter()
                .any(|q| q.contains(r#"instance="db-1:9100""#)),
            "the queries name the host: {:?}",
            i.related_metrics
        );
    }

    #[test]
    fn missing_evidence_never_leaves_a_placeholder() {
        let i = busy(&[]);
        for text in texts(&i) {
            assert!(!text.contains("${"), "unfilled placeholder in {text:?}");
        }
    }
}
