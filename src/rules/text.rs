//! An alert's annotations from the check's narrative: the placeholders an alerting rule knows
//! (`${instance}`, `${device}`, `${value}`, `${threshold}`, `${level}`) become Go template
//! actions every rule engine expands; a text needing anything else (the evidence the analysis
//! gathers) is replaced by a plain one.

use crate::catalog::{Check, Unit};

/// What the annotations of one alert are made from.
pub(super) struct Texts<'a> {
    pub check: &'a Check,
    pub level: &'a str,
    pub threshold: f64,
}

impl Texts<'_> {
    /// `title`, `summary`, `description`, `runbook`, `book`, in that order.
    pub fn annotations(&self) -> Vec<(String, String)> {
        let check = self.check;
        let summary = self.summary();
        let title = self
            .convert(&check.title)
            .unwrap_or_else(|| summary.clone());
        let mut notes = vec![("title".to_string(), title), ("summary".into(), summary)];
        if let Some(cause) = self.convert(&check.root_cause) {
            notes.push(("description".into(), cause));
        }
        notes.push(("runbook".into(), self.runbook()));
        notes.push(("book".into(), check.book_reference.clone()));
        notes
    }

    /// "CPU utilization at 97.2% on host:9100, past the critical threshold of 95% for 5m".
    fn summary(&self) -> String {
        let check = self.check;
        let device = check
            .device_label
            .as_ref()
            .map(|l| format!(" {{{{ $labels.{l} }}}}"))
            .unwrap_or_default();
        format!(
            "{} at {} on {{{{ $labels.instance }}}}{device}, past the {} threshold of {} for {}",
            check.label,
            value(check.unit),
            self.level,
            check.unit.format(self.threshold),
            crate::promql::format_duration(check.min_duration),
        )
    }

    /// The immediate action, then the investigation steps, numbered.
    fn runbook(&self) -> String {
        let check = self.check;
        let mut text = self.lenient(&check.immediate_action);
        for (i, step) in check.investigation_steps.iter().enumerate() {
            text.push_str(&format!("\n{}. {}", i + 1, self.lenient(step)));
        }
        text
    }

    /// `template` with its placeholders as template actions, or `None` when it needs one a
    /// rule does not have (or already contains template delimiters).
    fn convert(&self, template: &str) -> Option<String> {
        self.expand(template, false).map(|t| one_line(&t))
    }

    /// Like [`Self::convert`], a placeholder a rule does not have shown as `<name>` (steps
    /// read well with it: "compare <cpu_count> with…"), template delimiters spaced out.
    fn lenient(&self, template: &str) -> String {
        let spaced = template.replace("{{", "{ {").replace("}}", "} }");
        one_line(&self.expand(&spaced, true).unwrap_or(spaced))
    }

    fn expand(&self, template: &str, lenient: bool) -> Option<String> {
        if template.contains("{{") || template.contains("}}") {
            return None;
        }
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            match self.placeholder(name) {
                Some(action) => out.push_str(&action),
                None if lenient => out.push_str(&format!("<{name}>")),
                None => return None,
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn placeholder(&self, name: &str) -> Option<String> {
        let check = self.check;
        Some(match name {
            "instance" => "{{ $labels.instance }}".into(),
            "device" => format!("{{{{ $labels.{} }}}}", check.device_label.as_ref()?),
            "value" => value(check.unit),
            "threshold" => check.unit.format(self.threshold),
            "level" => self.level.into(),
            _ => return None,
        })
    }
}

/// Catalog prose is wrapped over several lines: an annotation reads it as one paragraph.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The alert's value in the check's unit, with functions Prometheus, Thanos Ruler and vmalert
/// all have.
fn value(unit: Unit) -> String {
    match unit {
        Unit::Percent => "{{ $value | humanize }}%".into(),
        Unit::Seconds => "{{ $value | humanizeDuration }}".into(),
        Unit::Milliseconds => "{{ $value | humanize }} ms".into(),
        Unit::Hours => "{{ $value | humanize }} h".into(),
        Unit::Bytes => "{{ $value | humanize1024 }}B".into(),
        Unit::PerSecond => "{{ $value | humanize }}/s".into(),
        Unit::BytesPerSecond => "{{ $value | humanize1024 }}B/s".into(),
        Unit::Ratio | Unit::Count => "{{ $value | humanize }}".into(),
    }
}
