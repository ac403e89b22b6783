//! Panels → the Prometheus queries to run: data sources resolved (uid, name, `${DS}`
//! variables and `__inputs`, mixed panels), repeated panels expanded per value, variables and
//! built-ins interpolated, and the resulting PromQL parsed with `promql-parser` (the metrics and
//! the `instance` matchers it selects are read from the syntax tree). Whatever cannot be run is
//! a note naming the panel and why.

use std::collections::BTreeSet;

use promql_parser::{
    label::MatchOp,
    parser::{self as promql, Expr},
};

use super::{
    model::{Dashboard, DataSourceRef, FieldConfig, Panel, Target},
    variables::{self, Intervals, Values},
};
use crate::grafana::DataSourceRef as KnownDataSource;

/// Most targets run per dashboard; the rest are noted.
pub const MAX_TARGETS: usize = 200;

/// Most copies of one repeated panel.
pub const MAX_REPEATS: usize = 20;

/// One query to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Extracted {
    /// Panel id.
    pub panel_id: Option<i64>,
    /// Panel title, variables interpolated (a repeat's copy says which value it shows).
    pub panel_title: String,
    /// Panel type.
    pub panel_kind: String,
    /// The target's refId.
    pub ref_id: String,
    /// The PromQL as written in the dashboard.
    pub original: String,
    /// The PromQL that runs: interpolated, parsed and printed back by the parser.
    pub promql: String,
    /// Metric names it selects.
    pub metrics: Vec<String>,
    /// Values of `instance="…"` matchers (exact ones only).
    pub instances: Vec<String>,
    /// `legendFormat`.
    pub legend: Option<String>,
    /// Judging config.
    pub field: FieldConfig,
}

/// The extraction of one dashboard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extraction {
    /// Queries to run, in panel order.
    pub targets: Vec<Extracted>,
    /// What was skipped and why, one line each.
    pub notes: Vec<String>,
    /// Panels read.
    pub panels: usize,
}

/// What a data source reference resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Prometheus,
    Mixed,
    Other(String),
    Unknown(String),
}

/// Extract the queries of `dashboard` (only panels in `panel_ids` when given).
pub fn extract(
    dashboard: &Dashboard,
    values: &Values,
    intervals: &Intervals,
    data_sources: &[KnownDataSource],
    panel_ids: Option<&[i64]>,
) -> Extraction {
    let mut reader = Reader {
        dashboard,
        intervals,
        data_sources,
        out: Extraction::default(),
        skipped_targets: 0,
    };
    if dashboard.panels_cut > 0 {
        reader.out.notes.push(format!(
            "The dashboard has more than {} panels; {} panel(s) beyond that were not read.",
            super::model::MAX_PANELS,
            dashboard.panels_cut
        ));
    }
    for panel in &dashboard.panels {
        if let Some(ids) = panel_ids {
            if !panel.id.is_some_and(|id| ids.contains(&id)) {
                continue;
            }
        }
        reader.panel(panel, values);
    }
    reader.finish()
}

/// The state of one extraction: what every panel is read against (the dashboard, its
/// built-ins, the known data sources) and what has been gathered so far. A struct rather than
/// arguments because every step below adds to the same notes and the same target count.
struct Reader<'a> {
    dashboard: &'a Dashboard,
    intervals: &'a Intervals,
    data_sources: &'a [KnownDataSource],
    out: Extraction,
    /// Runnable targets past [`MAX_TARGETS`]: counted, and noted once at the end.
    skipped_targets: usize,
}

/// One copy of a panel: the `var=value` it shows (`None` for an unrepeated panel) and the
/// variable values it is read with.
type PanelCopy = (Option<String>, Values);

impl Reader<'_> {
    /// Read one panel: notes for a library panel that was not resolved and for a panel of
    /// another data source type, else the targets of every copy of it.
    fn panel(&mut self, panel: &Panel, values: &Values) {
        self.out.panels += 1;
        let name = describe(panel);
        if panel.library_uid.is_some() && panel.targets.is_empty() {
            self.out.notes.push(format!(
                "{name}: library panel `{}` could not be resolved; skipped.",
                panel.library_uid.as_deref().unwrap_or("")
            ));
            return;
        }
        let panel_kind = kind(&panel.datasource, self.dashboard, self.data_sources, true);
        if let Kind::Other(t) = &panel_kind {
            if !panel.targets.is_empty() {
                self.out.notes.push(format!(
                    "{name}: data source type `{t}` is not Prometheus; skipped."
                ));
            }
            return;
        }
        for (copy, values) in self.copies(panel, &name, values) {
            let title = copy_title(panel, copy.as_deref(), &values, self.intervals);
            for target in panel.targets.iter().filter(|t| !t.hide) {
                let label = format!("{name} query {}", target.ref_id);
                self.target(panel, &panel_kind, &title, &label, target, &values);
            }
        }
    }

    /// Repeated panels: one copy per value of the repeat variable (at most [`MAX_REPEATS`],
    /// noted when cut); a panel that does not repeat, or repeats over a variable with no
    /// values, is one copy read with the dashboard's values.
    fn copies(&mut self, panel: &Panel, name: &str, values: &Values) -> Vec<PanelCopy> {
        let Some(var) = &panel.repeat else {
            return vec![(None, values.clone())];
        };
        let each = values.each(var);
        if each.is_empty() {
            return vec![(None, values.clone())];
        }
        if each.len() > MAX_REPEATS {
            self.out.notes.push(format!(
                "{name}: repeats over {} values of ${var}; only the first {MAX_REPEATS} were analysed.",
                each.len()
            ));
        }
        each.into_iter()
            .take(MAX_REPEATS)
            .map(|v| {
                let mut one = values.clone();
                one.set(var, variables::Value::Single(v.clone()));
                (Some(format!("{var}={v}")), one)
            })
            .collect()
    }

    /// One target of one copy of a panel: kept when its data source may be Prometheus and its
    /// PromQL interpolates and parses, else noted; counted past [`MAX_TARGETS`].
    fn target(
        &mut self,
        panel: &Panel,
        panel_kind: &Kind,
        title: &str,
        label: &str,
        target: &Target,
        values: &Values,
    ) {
        let target_kind = match &target.datasource {
            DataSourceRef::Inherit => panel_kind.clone(),
            ds => kind(ds, self.dashboard, self.data_sources, false),
        };
        let Some((expr, parsed)) = self.runnable(panel, label, target, &target_kind, values) else {
            return;
        };
        if self.out.targets.len() >= MAX_TARGETS {
            self.skipped_targets += 1;
            return;
        }
        let mut selects = Selects::default();
        selects.walk(&parsed);
        self.out.targets.push(Extracted {
            panel_id: panel.id,
            panel_title: title.to_string(),
            panel_kind: panel.kind.clone(),
            ref_id: target.ref_id.clone(),
            original: expr.to_string(),
            promql: parsed.to_string(),
            metrics: selects.metrics.into_iter().collect(),
            instances: selects.instances.into_iter().collect(),
            legend: target.legend.clone(),
            field: panel.field.clone(),
        });
    }

    /// The target's PromQL as written and as parsed, or `None` with a note saying why it cannot
    /// run: another data source type, a mixed panel's target without its own, no PromQL from an
    /// unknown data source, unknown variables, or PromQL that does not parse.
    fn runnable<'t>(
        &mut self,
        panel: &Panel,
        label: &str,
        target: &'t Target,
        target_kind: &Kind,
        values: &Values,
    ) -> Option<(&'t str, Expr)> {
        match target_kind {
            Kind::Other(t) => {
                self.out.notes.push(format!(
                    "{label}: data source type `{t}` is not Prometheus; skipped."
                ));
                return None;
            }
            Kind::Mixed => {
                self.out.notes.push(format!(
                    "{label}: no data source of its own in a mixed panel; skipped."
                ));
                return None;
            }
            Kind::Unknown(_) | Kind::Prometheus => {}
        }
        let Some(expr) = target.expr.as_deref().filter(|e| !e.trim().is_empty()) else {
            if let Kind::Unknown(what) = target_kind {
                self.out.notes.push(format!(
                    "{label}: data source {what} is unknown and the target has no PromQL; skipped."
                ));
            }
            return None;
        };
        let interval = panel_intervals(panel, self.intervals);
        let interpolated = variables::interpolate(expr, values, &interval);
        if !interpolated.unknown.is_empty() {
            self.out.notes.push(format!(
                "{label}: unknown variable(s) {} in `{}`; skipped.",
                interpolated
                    .unknown
                    .iter()
                    .map(|u| format!("${u}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                one_line(expr)
            ));
            return None;
        }
        match promql::parse(&interpolated.text) {
            Ok(parsed) => Some((expr, parsed)),
            Err(e) => {
                self.out.notes.push(format!(
                    "{label}: the PromQL does not parse ({}): `{}`; skipped.",
                    one_line(&e),
                    one_line(&interpolated.text)
                ));
                None
            }
        }
    }

    /// The extraction, with a note for the targets cut by [`MAX_TARGETS`].
    fn finish(mut self) -> Extraction {
        if self.skipped_targets > 0 {
            self.out.notes.push(format!(
                "Only the first {MAX_TARGETS} queries were run; {} more were skipped (choose panels with panelIds / --panel).",
                self.skipped_targets
            ));
        }
        self.out
    }
}

/// The title of one copy of a panel, variables interpolated; a repeat's copy names the value
/// it shows unless the title already does.
fn copy_title(panel: &Panel, copy: Option<&str>, values: &Values, intervals: &Intervals) -> String {
    let title = variables::interpolate(&panel.title, values, intervals).text;
    match copy {
        Some(c) if !title.contains(c.split('=').nth(1).unwrap_or("\u{0}")) => {
            format!("{title} ({c})")
        }
        _ => title,
    }
}

/// The built-ins a panel's queries are interpolated with: its `minInterval`, when set and
/// larger, raises `$__interval` (as Grafana does).
fn panel_intervals(panel: &Panel, intervals: &Intervals) -> Intervals {
    panel
        .min_interval
        .as_deref()
        .and_then(|i| crate::promql::parse_duration(i).ok())
        .map(|min| Intervals {
            interval: intervals.interval.max(min),
            ..*intervals
        })
        .unwrap_or(*intervals)
}

/// `panel 12 "CPU Busy"`.
fn describe(panel: &Panel) -> String {
    match panel.id {
        Some(id) => format!("Panel {id} \"{}\"", panel.title),
        None => format!("Panel \"{}\"", panel.title),
    }
}

fn one_line(text: &str) -> String {
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 200 {
        format!("{}…", t.chars().take(200).collect::<String>())
    } else {
        t
    }
}

/// What `${name}`, `$name` or `[[name]]` names, if the text is only a variable reference.
fn variable_name(text: &str) -> Option<&str> {
    let t = text.trim();
    t.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(|r| r.split(':').next().unwrap_or(r))
        .or_else(|| t.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")))
        .or_else(|| t.strip_prefix('$'))
}

fn kind_of_type(t: &str) -> Kind {
    match t {
        "prometheus" => Kind::Prometheus,
        "datasource" | "-- Mixed --" | "mixed" => Kind::Mixed,
        other => Kind::Other(other.to_string()),
    }
}

/// Resolve a data source reference to its type.
fn kind(
    ds: &DataSourceRef,
    dashboard: &Dashboard,
    known: &[KnownDataSource],
    is_panel: bool,
) -> Kind {
    let by_variable = |name: &str| -> Option<Kind> {
        if let Some(var) = dashboard
            .variables
            .iter()
            .find(|v| v.name == name && v.kind == "datasource")
        {
            return var.query.as_deref().map(kind_of_type);
        }
        dashboard
            .inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, plugin)| kind_of_type(plugin))
    };
    let by_known = |text: &str| {
        known
            .iter()
            .find(|d| d.uid == text || d.name == text)
            .map(|d| kind_of_type(&d.kind))
    };
    match ds {
        DataSourceRef::Inherit => {
            if is_panel {
                match known.iter().find(|d| d.is_default) {
                    Some(d) => kind_of_type(&d.kind),
                    None => Kind::Unknown("(the default)".to_string()),
                }
            } else {
                Kind::Unknown("(inherited)".to_string())
            }
        }
        DataSourceRef::Object { kind: t, uid } => {
            if let Some(t) = t.as_deref() {
                if t == "datasource" {
                    // Grafana's own pseudo data sources: `-- Mixed --`, `-- Dashboard --`, `-- Grafana --`.
                    return match uid.as_deref() {
                        Some("-- Mixed --") => Kind::Mixed,
                        Some(other) => Kind::Other(other.to_string()),
                        None => Kind::Mixed,
                    };
                }
                if t == "__expr__" {
                    return Kind::Other("__expr__ (server-side expression)".to_string());
                }
                if variable_name(t).is_none() {
                    return kind_of_type(t);
                }
            }
            match uid.as_deref() {
                Some(u) => variable_name(u)
                    .and_then(by_variable)
                    .or_else(|| by_known(u))
                    .unwrap_or_else(|| Kind::Unknown(format!("`{u}`"))),
                None => Kind::Unknown("(no uid)".to_string()),
            }
        }
        DataSourceRef::Name(name) => match name.as_str() {
            "-- Mixed --" => Kind::Mixed,
            "-- Grafana --" | "-- Dashboard --" => Kind::Other(name.clone()),
            "__expr__" => Kind::Other("__expr__ (server-side expression)".to_string()),
            n => variable_name(n)
                .and_then(by_variable)
                .or_else(|| by_known(n))
                .unwrap_or_else(|| Kind::Unknown(format!("`{n}`"))),
        },
    }
}

/// What a PromQL expression selects, read from its syntax tree.
#[derive(Default)]
struct Selects {
    metrics: BTreeSet<String>,
    instances: BTreeSet<String>,
}

impl Selects {
    fn walk(&mut self, expr: &Expr) {
        match expr {
            Expr::VectorSelector(vs) => self.selector(vs),
            Expr::MatrixSelector(ms) => self.selector(&ms.vs),
            Expr::Aggregate(a) => {
                self.walk(&a.expr);
                if let Some(p) = &a.param {
                    self.walk(p);
                }
            }
            Expr::Unary(u) => self.walk(&u.expr),
            Expr::Binary(b) => {
                self.walk(&b.lhs);
                self.walk(&b.rhs);
            }
            Expr::Paren(p) => self.walk(&p.expr),
            Expr::Subquery(s) => self.walk(&s.expr),
            Expr::Call(c) => {
                for a in &c.args.args {
                    self.walk(a);
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }

    fn selector(&mut self, vs: &promql_parser::parser::VectorSelector) {
        if let Some(name) = &vs.name {
            self.metrics.insert(name.clone());
        }
        for m in &vs.matchers.matchers {
            if m.name == "__name__" && m.op == MatchOp::Equal {
                self.metrics.insert(m.value.clone());
            }
            if m.name == "instance" && m.op == MatchOp::Equal && !m.value.is_empty() {
                self.instances.insert(m.value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::model;
    use serde_json::json;
    use std::time::Duration;

    fn iv() -> Intervals {
        Intervals {
            interval: Duration::from_secs(15),
            scrape: Duration::from_secs(15),
            range: Duration::from_secs(3600),
        }
    }

    #[test]
    fn data_sources_repeats_and_bad_targets() {
        let d = model::parse(&json!({
            "__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"}],
            "templating": {"list": [
                {"name": "ds", "type": "datasource", "query": "prometheus"},
                {"name": "node", "type": "custom", "multi": true, "current": {"value": ["a:1", "b:1"]}, "options": []}
            ]},
            "panels": [
                {"id": 1, "title": "By var", "datasource": {"type": "prometheus", "uid": "${ds}"},
                 "targets": [{"refId": "A", "expr": "rate(node_cpu_seconds_total{instance=~\"$node\"}[$__rate_interval])"}]},
                {"id": 2, "title": "Input", "datasource": "${DS_PROM}", "repeat": "node",
                 "targets": [{"refId": "A", "expr": "node_load1{instance=\"$node\"}"}]},
                {"id": 3, "title": "Logs", "datasource": {"type": "loki", "uid": "l"}, "targets": [{"expr": "{a=\"b\"}"}]},
                {"id": 4, "title": "Mixed", "datasource": {"type": "datasource", "uid": "-- Mixed --"},
                 "targets": [{"refId": "A", "datasource": {"type": "testdata", "uid": "t"}},
                             {"refId": "B", "datasource": {"type": "prometheus", "uid": "p"}, "expr": "up"},
                             {"refId": "C", "datasource": {"type": "__expr__", "uid": "__expr__"}, "expression": "$B"}]},
                {"id": 5, "title": "Broken", "datasource": {"type": "prometheus", "uid": "p"}, "targets": [{"refId": "A", "expr": "rate(x[5m]"}]},
                {"id": 6, "title": "Unknown var", "datasource": {"type": "prometheus", "uid": "p"}, "targets": [{"refId": "A", "expr": "x{a=\"$nope\"}"}]},
                {"id": 7, "title": "Library", "libraryPanel": {"uid": "lib1", "name": "L"}}
            ]
        }));
        let mut values = Values::new();
        for v in &d.variables {
            if let Some(val) = variables::value_of(v, None) {
                values.set(&v.name, val);
            }
        }
        let x = extract(&d, &values, &iv(), &[], None);
        let got: Vec<(Option<i64>, &str, &str)> = x
            .targets
            .iter()
            .map(|t| (t.panel_id, t.ref_id.as_str(), t.promql.as_str()))
            .collect();
        assert_eq!(got.len(), 4, "{got:#?} {:#?}", x.notes);
        assert!(
            got[0].2.contains("[1m]") && got[0].2.contains(r#"instance=~"(a:1|b:1)""#),
            "{got:?}"
        );
        // The repeat expands per value, each copy selecting one instance.
        assert_eq!(x.targets[1].instances, ["a:1"]);
        assert_eq!(x.targets[2].instances, ["b:1"]);
        assert!(x.targets[2].panel_title.contains("node=b:1"));
        assert_eq!(x.targets[3].panel_id, Some(4));
        assert_eq!(x.targets[0].metrics, ["node_cpu_seconds_total"]);
        let notes = x.notes.join("\n");
        for needle in [
            "Panel 3 \"Logs\": data source type `loki`",
            "Panel 4 \"Mixed\" query A: data source type `testdata`",
            "Panel 4 \"Mixed\" query C: data source type `__expr__",
            "Panel 5 \"Broken\" query A: the PromQL does not parse",
            "Panel 6 \"Unknown var\" query A: unknown variable(s) $nope",
            "Panel 7 \"Library\": library panel `lib1` could not be resolved",
        ] {
            assert!(notes.contains(needle), "{needle} not in\n{notes}");
        }
        // Only the panels asked for.
        let only = extract(&d, &values, &iv(), &[], Some(&[4]));
        assert_eq!(only.targets.len(), 1);
        assert_eq!(only.panels, 1);
    }
}
