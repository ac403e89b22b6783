//! Prometheus recording and alerting rules generated from the catalog, for the engine to
//! evaluate itself (Prometheus, Thanos Ruler, vmalert: the standard rule-file format, and only
//! the template functions all three have: `$labels`, `$value`, `humanize`).
//!
//! ```text
//!  catalog check ─► record  gregg_insights:<check>{gregg_rate="2m"}  (its query, no selector)
//!                ─► alerts  Gregg<Check>Warning / …Critical: record past the threshold for
//!                           min_duration, labels severity (critical/warning/info) +
//!                           gregg_severity + check, annotations title,
//!                           summary, runbook, book
//!                ─► or a line in the skipped list, with why
//! ```
//!
//! A recorded series carries the `rate()` interval it was computed with (`gregg_rate`), so an
//! analysis reads it only where it would compute the very same values (see
//! [`crate::engine`]'s recorded-series lookup).

mod text;
mod yaml;

use std::time::Duration;

use crate::{
    catalog::{Catalog, Check, Direction, Evaluation},
    insight::{Component, Severity},
    promql::{format_duration, render_query},
};

/// Prefix of every recorded series name.
pub const RECORD_PREFIX: &str = "gregg_insights:";

/// The label naming the `rate()` interval a recorded series was computed with.
pub const RATE_LABEL: &str = "gregg_rate";

/// The recorded series of `check_id`: `gregg_insights:cpu_utilization` for `cpu.utilization`.
pub fn recorded_name(check_id: &str) -> String {
    format!("{RECORD_PREFIX}{}", check_id.replace(['.', '-'], "_"))
}

/// How the rules are generated.
#[derive(Clone, Copy, Debug)]
pub struct RuleOptions {
    /// `${rate}` of the recorded queries: the analysis reads recorded series only when its own
    /// rate interval is this one (2m for 30 s scrapes, 1m for 15 s).
    pub rate: Duration,
    /// How often the engine evaluates the groups.
    pub interval: Duration,
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self {
            rate: Duration::from_secs(120),
            interval: Duration::from_secs(60),
        }
    }
}

/// A check, or a check's alerts, that no rule expresses, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The check id.
    pub check: String,
    /// `record and alerts` or `alerts`.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

/// The generated rule file.
#[derive(Clone, Debug)]
pub struct RuleFile {
    /// The YAML text (`groups:` …), the skipped list at its head as comments.
    pub yaml: String,
    /// Checks recorded.
    pub recorded: usize,
    /// Alerting rules written.
    pub alerts: usize,
    /// What was left out.
    pub skipped: Vec<Skipped>,
}

/// One recording rule and the alerting rules on it.
struct CheckRules {
    record: yaml::Rule,
    alerts: Vec<yaml::Rule>,
}

/// The rules of every check of `catalog`, grouped by component.
pub fn generate(catalog: &Catalog, options: &RuleOptions) -> RuleFile {
    let mut skipped = Vec::new();
    let mut groups: Vec<(Component, Vec<yaml::Rule>)> = Vec::new();
    let (mut recorded, mut alerts) = (0, 0);
    for check in catalog.checks() {
        let Some(rules) = check_rules(check, options, &mut skipped) else {
            continue;
        };
        recorded += 1;
        alerts += rules.alerts.len();
        let group = match groups.iter_mut().find(|(c, _)| *c == check.component) {
            Some((_, group)) => group,
            None => {
                groups.push((check.component, Vec::new()));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        group.push(rules.record);
        group.extend(rules.alerts);
    }
    let yaml = yaml::file(&groups, options.interval, &skipped);
    RuleFile {
        yaml,
        recorded,
        alerts,
        skipped,
    }
}

/// Why `check` cannot be recorded at all, if it cannot.
fn unrecordable(check: &Check) -> Option<String> {
    match check.evaluation {
        Evaluation::Event => Some(
            "an event check: counted once over the analysis window, whose length each analysis chooses, not a signal to record at every evaluation".into(),
        ),
        Evaluation::Sustained => None,
    }
}

/// Why the alerts of a recorded `check` cannot be written, if they cannot.
fn unalertable(check: &Check) -> Option<String> {
    if !check.class_thresholds.is_empty() {
        return Some(
            "thresholds differ by device class (rotational or not), which the analysis looks up per device"
                .into(),
        );
    }
    check.when.as_ref().map(|guard| {
        format!(
            "it holds only where its guard does ({}), which the analysis applies point by point",
            guard.reason
        )
    })
}

fn check_rules(
    check: &Check,
    options: &RuleOptions,
    skipped: &mut Vec<Skipped>,
) -> Option<CheckRules> {
    if let Some(reason) = unrecordable(check) {
        skipped.push(Skipped {
            check: check.id.clone(),
            what: "record and alerts",
            reason,
        });
        return None;
    }
    // The catalog's own template: `${window}` only appears in event checks and guards.
    let expr = render_query(&check.query, "", options.rate, options.rate * 5).ok()?;
    let name = recorded_name(&check.id);
    let rate = format_duration(options.rate);
    let record = yaml::Rule::Record {
        record: name.clone(),
        expr,
        labels: vec![(RATE_LABEL.into(), rate.clone())],
    };
    let alerts = match unalertable(check) {
        Some(reason) => {
            skipped.push(Skipped {
                check: check.id.clone(),
                what: "alerts",
                reason,
            });
            Vec::new()
        }
        None => [Level::Warning, Level::Critical]
            .into_iter()
            .map(|level| alert(check, level, &name, &rate))
            .collect(),
    };
    Some(CheckRules { record, alerts })
}

/// A threshold level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Warning,
    Critical,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// The alerting rule of `check` at `level`, on its recorded series.
fn alert(check: &Check, level: Level, record: &str, rate: &str) -> yaml::Rule {
    let (threshold, severity) = match level {
        Level::Warning => (check.warning, check.severity.warning),
        Level::Critical => (check.critical, check.severity.critical),
    };
    let op = match check.direction {
        Direction::Above => ">",
        Direction::Below => "<",
    };
    let texts = text::Texts {
        check,
        level: level.as_str(),
        threshold,
    };
    yaml::Rule::Alert {
        alert: alert_name(&check.id, level),
        expr: format!("{record}{{{RATE_LABEL}=\"{rate}\"}} {op} {threshold}"),
        for_: format_duration(check.min_duration),
        labels: vec![
            ("severity".into(), alertmanager_severity(severity).into()),
            ("gregg_severity".into(), severity.as_str().into()),
            ("check".into(), check.id.clone()),
            ("level".into(), level.as_str().into()),
        ],
        annotations: texts.annotations(),
    }
}

/// The `severity` label standard Alertmanager routes match (kube-prometheus, the mixins:
/// `critical` pages, `warning` goes to a ticket queue, `info` is muted by default): our
/// critical pages, high and medium warn, low and info inform. Our own level stays in
/// `gregg_severity`.
fn alertmanager_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High | Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

/// `GreggCpuUtilizationCritical` for `cpu.utilization` at critical.
fn alert_name(check_id: &str, level: Level) -> String {
    let mut name = String::from("Gregg");
    for word in check_id.split(['.', '_', '-']).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    let level = level.as_str();
    name.push_str(&level[..1].to_uppercase());
    name.push_str(&level[1..]);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleFile {
        generate(crate::catalog::builtin(), &RuleOptions::default())
    }

    #[test]
    fn every_sustained_check_is_recorded_and_every_other_is_listed_with_why() {
        let catalog = crate::catalog::builtin();
        let file = rules();
        for check in catalog.checks() {
            let recorded = file
                .yaml
                .contains(&format!("record: \"{}\"", recorded_name(&check.id)));
            let skipped = file
                .skipped
                .iter()
                .any(|s| s.check == check.id && s.what == "record and alerts");
            assert!(
                recorded != skipped,
                "{}: recorded {recorded}, skipped {skipped}",
                check.id
            );
            assert_eq!(
                recorded,
                check.evaluation == Evaluation::Sustained,
                "{}",
                check.id
            );
        }
        assert!(
            file.recorded > 20 && file.alerts > 20,
            "{} {}",
            file.recorded,
            file.alerts
        );
        assert!(file.skipped.iter().all(|s| !s.reason.is_empty()));
        assert!(file
            .yaml
            .starts_with("# Generated by `gregg-insights rules`"));
        assert!(file.yaml.contains("# skipped: "));
    }

    #[test]
    fn an_alert_carries_severity_check_title_and_runbook() {
        let file = rules();
        let at = file
            .yaml
            .find("alert: \"GreggCpuUtilizationCritical\"")
            .expect("cpu.utilization's critical alert");
        let rule = &file.yaml[at..];
        let rule = &rule[..rule[1..].find("\n      - ").map_or(rule.len(), |e| e + 1)];
        let check = crate::catalog::builtin()
            .check("cpu.utilization")
            .expect("in the catalog");
        let book = format!("book: \"{}\"", check.book_reference);
        for wanted in [
            "expr: \"gregg_insights:cpu_utilization{gregg_rate=\\\"2m\\\"} > 95\"",
            "for: \"5m\"",
            "severity: \"critical\"",
            "gregg_severity: \"critical\"",
            "check: \"cpu.utilization\"",
            "title: \"CPU busy on {{ $labels.instance }}: {{ $value | humanize }}% utilized, no saturation yet\"",
            "runbook: ",
            book.as_str(),
        ] {
            assert!(rule.contains(wanted), "{wanted} not in\n{rule}");
        }
    }

    /// The text of the alerting rule `name` in the generated file.
    fn alert_rule(file: &RuleFile, name: &str) -> String {
        let at = file
            .yaml
            .find(&format!("alert: \"{name}\""))
            .unwrap_or_else(|| panic!("{name} generated"));
        let rule = &file.yaml[at..];
        rule[..rule[1..].find("\n      - ").map_or(rule.len(), |e| e + 1)].to_string()
    }

    #[test]
    fn severity_is_what_alertmanager_routes_match_and_ours_is_kept() {
        let file = rules();
        let warning = alert_rule(&file, "GreggMemoryUtilizationWarning");
        for wanted in ["severity: \"warning\"", "gregg_severity: \"high\""] {
            assert!(warning.contains(wanted), "{wanted} not in\n{warning}");
        }
        for level in ["high", "medium", "low"] {
            assert!(
                !file.yaml.contains(&format!("  severity: \"{level}\"")),
                "severity {level} would match no standard route"
            );
        }
        assert_eq!(alertmanager_severity(Severity::Low), "info");
    }

    #[test]
    fn container_throttling_waits_fifteen_minutes_like_kubernetes_mixin() {
        let file = rules();
        for level in ["Warning", "Critical"] {
            let rule = alert_rule(&file, &format!("GreggContainerCpuThrottling{level}"));
            assert!(rule.contains("for: \"15m\""), "{rule}");
        }
    }

    #[test]
    fn names_are_valid_for_prometheus() {
        assert_eq!(
            recorded_name("cpu.saturation.psi"),
            "gregg_insights:cpu_saturation_psi"
        );
        assert_eq!(
            alert_name("memory.saturation.psi_some", Level::Warning),
            "GreggMemorySaturationPsiSomeWarning"
        );
    }
}
