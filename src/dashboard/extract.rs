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

/// Most targets run per dashboard; the rest are noted. Above the largest public dashboards
/// (Node Exporter Full sends 275 queries), so a dashboard runs every query Grafana would;
/// the cap only bounds generated dashboards of thousands of panels.
pub const MAX_TARGETS: usize = 500;

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
    /// Why the panel is not judged although its query runs: a transformation that changes
    /// what its series mean (the panel shows the transformed values, not these).
    pub not_judged: Option<String>,
    /// The uid of the Prometheus data source the target names (directly, or through a
    /// datasource variable's value) when it is a known one other than the default (Grafana
    /// would run it there, not on the plugin's own Prometheus).
    pub data_source: Option<String>,
}

/// Transformations after which the query's series are no longer what the panel shows.
const REWRITING: &[&str] = &[
    "reduce",
    "calculateField",
    "filterByValue",
    "groupBy",
    "joinByField",
    "merge",
    "seriesToRows",
    "histogram",
    "rowsToFields",
    "groupingToMatrix",
    "partitionByValues",
    "concatenate",
    "timeSeriesTable",
    "regression",
    "formatTime",
    "groupToNestedTable",
];

/// The first transformation of `panel` that changes what its series mean, if any.
fn rewriting(panel: &Panel) -> Option<String> {
    panel
        .transformations
        .iter()
        .find(|t| REWRITING.contains(&t.as_str()))
        .cloned()
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
    /// Queries Grafana would send to Prometheus for these panels (visible Prometheus targets
    /// with PromQL, per copy of a repeated panel), whether or not they parse.
    pub grafana_queries: usize,
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
        let name = describe(panel, values, self.intervals);
        if panel.library_uid.is_some() && panel.targets.is_empty() {
            self.out.notes.push(format!(
                "{name}: library panel `{}` could not be resolved; skipped.",
                panel.library_uid.as_deref().unwrap_or("")
            ));
            return;
        }
        let panel_kind = kind(
            &panel.datasource,
            self.dashboard,
            self.data_sources,
            values,
            true,
        );
        if let Kind::Other(t) = &panel_kind {
            if !panel.targets.is_empty() {
                self.out.notes.push(format!(
                    "{name}: data source type `{t}` is not Prometheus; skipped."
                ));
            }
            return;
        }
        if let Some(t) = rewriting(panel).filter(|_| !panel.targets.is_empty()) {
            self.out.notes.push(format!(
                "{name}: its `{t}` transformation changes what the series mean; its queries ran but the panel is not judged."
            ));
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
        let target_kind = match (&target.datasource, panel_kind) {
            // A mixed panel's target without its own data source uses the default one.
            (DataSourceRef::Inherit, Kind::Mixed) => kind(
                &DataSourceRef::Inherit,
                self.dashboard,
                self.data_sources,
                values,
                true,
            ),
            (DataSourceRef::Inherit, _) => panel_kind.clone(),
            (ds, _) => kind(ds, self.dashboard, self.data_sources, values, false),
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
            not_judged: rewriting(panel),
            data_source: named_prometheus(
                match &target.datasource {
                    DataSourceRef::Inherit => &panel.datasource,
                    ds => ds,
                },
                self.data_sources,
                values,
            ),
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
        self.out.grafana_queries += 1;
        let interval = panel_intervals(panel, self.intervals);
        let interpolated = variables::interpolate(expr, values, &interval);
        let unknown = interpolated
            .unknown
            .iter()
            .map(|u| format!("${u}"))
            .collect::<Vec<_>>()
            .join(", ");
        match promql::parse(&interpolated.text) {
            Ok(mut parsed) => {
                let (matchers, refused) = filter_matchers(values.filters());
                for f in refused {
                    self.out.notes.push(format!(
                        "{label}: ad hoc filter `{f}` is not a label matcher Prometheus takes; not applied."
                    ));
                }
                with_filters(&mut parsed, &matchers);
                // Grafana sends a name that is no variable as written; so do we.
                if !unknown.is_empty() {
                    self.out.notes.push(format!(
                        "{label}: {unknown} is not a variable of the dashboard; the query ran with it as written, as in Grafana."
                    ));
                }
                Some((expr, parsed))
            }
            Err(e) => {
                let why = if unknown.is_empty() {
                    String::new()
                } else {
                    format!(" after {unknown}, unknown variable(s), were left as written")
                };
                self.out.notes.push(format!(
                    "{label}: the PromQL does not parse{why} ({}): `{}`; skipped, as Prometheus would refuse it.",
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

/// The title of one copy of a panel, variables interpolated ([`shown_title`]); a repeat's copy
/// names the value it shows unless the title already does.
fn copy_title(panel: &Panel, copy: Option<&str>, values: &Values, intervals: &Intervals) -> String {
    let title = shown_title(panel, values, intervals);
    match copy {
        Some(c) if !title.contains(c.split('=').nth(1).unwrap_or("\u{0}")) => {
            format!("{title} ({c})")
        }
        _ => title,
    }
}

/// The name a user finds a panel by: its title, variables interpolated; an untitled panel (a
/// gauge row often has none) by its first query's legend, else by its type and place on the
/// dashboard.
pub fn shown_title(panel: &Panel, values: &Values, intervals: &Intervals) -> String {
    let title = variables::interpolate(&panel.title, values, intervals).text;
    if !title.trim().is_empty() {
        return title.trim().to_string();
    }
    let kind = panel.kind.as_str();
    let legend = panel
        .targets
        .iter()
        .filter(|t| !t.hide)
        .filter_map(|t| t.legend.as_deref())
        .map(|l| variables::interpolate(l, values, intervals).text)
        .map(|l| without_placeholders(&l))
        .find(|l| !l.is_empty());
    if let Some(legend) = legend {
        return format!("{legend} (untitled {kind})");
    }
    let row = panel
        .row
        .as_deref()
        .map(|r| format!(" in row \"{r}\""))
        .unwrap_or_default();
    match panel.position {
        Some((x, y)) => format!("untitled {kind}{row} at x={x}, y={y}"),
        None => format!("untitled {kind}{row}"),
    }
}

/// A legend without its `{{label}}` placeholders (they name each series, not the panel).
fn without_placeholders(legend: &str) -> String {
    let mut out = String::new();
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The width in pixels a dashboard is assumed to be drawn at: a full-HD screen. Grafana asks
/// each panel for as many points as it is pixels wide, so a panel of `gridPos.w` 12 of 24
/// asks for 960.
pub const DASHBOARD_WIDTH_PX: u32 = 1920;

/// The points Grafana asks a panel for: its `maxDataPoints` when set, else its width in
/// pixels on a [`DASHBOARD_WIDTH_PX`] dashboard; `None` when the panel says neither.
pub fn panel_points(panel: &Panel) -> Option<u32> {
    panel.max_data_points.or_else(|| {
        panel.width.map(|w| {
            let w = w.clamp(1, 24) as u32;
            (DASHBOARD_WIDTH_PX * w).div_ceil(24)
        })
    })
}

/// The built-ins a panel's queries are interpolated with, as Grafana computes them for that
/// panel: `$__interval` is the range over the panel's points ([`panel_points`]) rounded, no
/// finer than the scrape interval or the panel's `minInterval`. A panel that says neither
/// its width nor its points keeps the dashboard's interval (the request's point count).
fn panel_intervals(panel: &Panel, intervals: &Intervals) -> Intervals {
    let min = panel
        .min_interval
        .as_deref()
        .and_then(|i| crate::promql::parse_duration(i).ok());
    let low = min.map_or(intervals.scrape, |m| m.max(intervals.scrape));
    let interval = match panel_points(panel) {
        Some(points) => super::interval::calculate(intervals.range, points, low),
        None => intervals.interval.max(low),
    };
    Intervals {
        interval,
        ..*intervals
    }
}

/// `Panel 12 "CPU Busy"`, an untitled panel named as [`shown_title`] names it.
fn describe(panel: &Panel, values: &Values, intervals: &Intervals) -> String {
    let title = shown_title(panel, values, intervals);
    match panel.id {
        Some(id) => format!("Panel {id} \"{title}\""),
        None => format!("Panel \"{title}\""),
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

/// The uid of the known, non-default Prometheus data source `ds` names by uid or name, if any;
/// a `${ds}` reference names the data source its variable's value names.
pub(super) fn named_prometheus(
    ds: &DataSourceRef,
    known: &[KnownDataSource],
    values: &Values,
) -> Option<String> {
    let text = match ds {
        DataSourceRef::Object { uid: Some(u), .. } => u.as_str(),
        DataSourceRef::Name(n) => n.as_str(),
        _ => return None,
    };
    let concrete = match variable_name(text) {
        Some(name) => variable_value(name, values)?,
        None => text.to_string(),
    };
    lookup(known, &concrete)
        .filter(|d| d.kind == "prometheus" && !d.is_default && !d.uid.is_empty())
        .map(|d| d.uid.clone())
}

/// The value variable `name` has, as a data source reference reads it: a multi-value one
/// by its first value (Grafana's data source service takes the first).
fn variable_value(name: &str, values: &Values) -> Option<String> {
    match values.get(name)? {
        variables::Value::Single(v) | variables::Value::Custom(v) => Some(v.clone()),
        variables::Value::Multi(list) => list.first().cloned(),
    }
    .filter(|v| !v.is_empty())
}

/// The known data source `text` names by uid or name; `default` is the org's default.
fn lookup<'k>(known: &'k [KnownDataSource], text: &str) -> Option<&'k KnownDataSource> {
    known
        .iter()
        .find(|d| d.uid == text || d.name == text)
        .or_else(|| {
            (text == "default")
                .then(|| known.iter().find(|d| d.is_default))
                .flatten()
        })
}

/// Resolve a data source reference to its type.
fn kind(
    ds: &DataSourceRef,
    dashboard: &Dashboard,
    known: &[KnownDataSource],
    values: &Values,
    is_panel: bool,
) -> Kind {
    let by_variable = |name: &str| -> Option<Kind> {
        // The data source the variable's value names, when Grafana knows it.
        let named = variable_value(name, values).and_then(|v| lookup(known, &v));
        if let Some(d) = named {
            return Some(kind_of_type(&d.kind));
        }
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
            // A `${ds}` uid whose value names a data source Grafana knows: that data source's
            // type, whatever type the reference was saved with (Grafana looks it up by uid).
            let by_value = uid
                .as_deref()
                .and_then(variable_name)
                .and_then(|name| variable_value(name, values))
                .and_then(|v| lookup(known, &v));
            if let Some(d) = by_value {
                return kind_of_type(&d.kind);
            }
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
            if m.name != "instance" || m.value.is_empty() {
                continue;
            }
            match &m.op {
                MatchOp::Equal => {
                    self.instances.insert(m.value.clone());
                }
                // `instance=~"a:9100|b:9100"`, as a multi-value variable writes it: the
                // instances it can only match.
                MatchOp::Re(_) => self.instances.extend(literal_alternatives(&m.value)),
                _ => {}
            }
        }
    }
}

/// Ad hoc filters as label matchers (parsed by the PromQL parser, so the value is quoted and
/// the regex checked as Prometheus would); the ones that are not, as text.
fn filter_matchers(
    filters: &[(String, String, String)],
) -> (Vec<promql_parser::label::Matcher>, Vec<String>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for (key, op, value) in filters {
        let quoted = serde_json::Value::String(value.clone()).to_string();
        let text = format!("{{{key}{op}{quoted}}}");
        match promql::parse(&text) {
            Ok(Expr::VectorSelector(vs)) if vs.matchers.matchers.len() == 1 => {
                ok.extend(vs.matchers.matchers)
            }
            _ => refused.push(format!("{key}{op}{quoted}")),
        }
    }
    (ok, refused)
}

/// Add `matchers` to every selector of `expr`, as Grafana adds ad hoc filters to a query.
fn with_filters(expr: &mut Expr, matchers: &[promql_parser::label::Matcher]) {
    if matchers.is_empty() {
        return;
    }
    match expr {
        Expr::VectorSelector(vs) => vs.matchers.matchers.extend(matchers.iter().cloned()),
        Expr::MatrixSelector(ms) => ms.vs.matchers.matchers.extend(matchers.iter().cloned()),
        Expr::Aggregate(a) => {
            with_filters(&mut a.expr, matchers);
            if let Some(p) = a.param.as_mut() {
                with_filters(p, matchers);
            }
        }
        Expr::Unary(u) => with_filters(&mut u.expr, matchers),
        Expr::Binary(b) => {
            with_filters(&mut b.lhs, matchers);
            with_filters(&mut b.rhs, matchers);
        }
        Expr::Paren(p) => with_filters(&mut p.expr, matchers),
        Expr::Subquery(s) => with_filters(&mut s.expr, matchers),
        Expr::Call(c) => {
            for a in c.args.args.iter_mut() {
                with_filters(a, matchers);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// The strings a regex matches when it is a literal or an alternation of literals
/// (`(a\.b|c)`); empty for any other regex.
fn literal_alternatives(re: &str) -> Vec<String> {
    use regex_syntax::hir::{Hir, HirKind};
    fn literal(h: &Hir) -> Option<String> {
        match h.kind() {
            HirKind::Literal(l) => String::from_utf8(l.0.to_vec()).ok(),
            HirKind::Capture(c) => literal(&c.sub),
            HirKind::Concat(parts) => parts.iter().map(literal).collect(),
            _ => None,
        }
    }
    let Ok(hir) = regex_syntax::parse(re) else {
        return Vec::new();
    };
    let hir = match hir.kind() {
        HirKind::Capture(c) => (*c.sub).clone(),
        _ => hir,
    };
    match hir.kind() {
        HirKind::Alternation(alts) => alts.iter().map(literal).collect::<Option<Vec<_>>>(),
        _ => literal(&hir).map(|l| vec![l]),
    }
    .unwrap_or_default()
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
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
        values.set(
            "node",
            variables::Value::Multi(vec!["a:1".into(), "b:1".into()]),
        );
        let x = extract(&d, &values, &iv(), &[], None);
        let got: Vec<(Option<i64>, &str, &str)> = x
            .targets
            .iter()
            .map(|t| (t.panel_id, t.ref_id.as_str(), t.promql.as_str()))
            .collect();
        assert_eq!(got.len(), 5, "{got:#?} {:#?}", x.notes);
        // Every Prometheus target Grafana would send, the broken one too.
        assert_eq!(x.grafana_queries, 6);
        assert_eq!(
            literal_alternatives(r"(a:1|b\.c:1)"),
            ["a:1".to_string(), "b.c:1".to_string()]
        );
        assert!(literal_alternatives("a.*").is_empty());
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
            "Panel 6 \"Unknown var\" query A: $nope is not a variable of the dashboard",
            "Panel 7 \"Library\": library panel `lib1` could not be resolved",
        ] {
            assert!(notes.contains(needle), "{needle} not in\n{notes}");
        }
        // Ad hoc filters are added to every selector.
        let mut filtered = values.clone();
        filtered.add_filters(&[("job".into(), "=".into(), "node".into())]);
        let f = extract(&d, &filtered, &iv(), &[], Some(&[4]));
        assert_eq!(f.targets[0].promql, r#"up{job="node"}"#, "{:?}", f.notes);
        // Only the panels asked for.
        let only = extract(&d, &values, &iv(), &[], Some(&[4]));
        assert_eq!(only.targets.len(), 1);
        assert_eq!(only.panels, 1);
    }

    #[test]
    fn interval_follows_each_panels_width_or_max_data_points() {
        let panel = |id: i64, extra: serde_json::Value| {
            let mut p = json!({"id": id, "title": format!("P{id}"),
                "targets": [{"refId": "A", "expr": "rate(x[$__interval])"}]});
            if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
                p.extend(extra.clone());
            }
            p
        };
        let d = model::parse(&json!({"panels": [
            panel(1, json!({"gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}})),
            panel(2, json!({"gridPos": {"x": 0, "y": 8, "w": 24, "h": 8}})),
            panel(3, json!({"gridPos": {"x": 0, "y": 16, "w": 24, "h": 8}, "maxDataPoints": 100})),
            panel(4, json!({"span": 6})),
            panel(5, json!({})),
            panel(6, json!({"gridPos": {"w": 24}, "interval": "5m"}))
        ]}));
        // One day; the dashboard's own interval (200 points) is 10m.
        let day = Intervals {
            interval: Duration::from_secs(600),
            scrape: Duration::from_secs(15),
            range: Duration::from_secs(86_400),
        };
        let x = extract(&d, &Values::new(), &day, &[], None);
        let windows: Vec<&str> = x.targets.iter().map(|t| t.promql.as_str()).collect();
        assert_eq!(
            windows,
            [
                // 960 px: 90s rounds to 2m; 1920 px: 45s rounds to 1m.
                "rate(x[2m])",
                "rate(x[1m])",
                // maxDataPoints wins over the width: 864s rounds to 10m.
                "rate(x[10m])",
                // An old schema's span 6 of 12 is half the width, as gridPos.w 12.
                "rate(x[2m])",
                // No width: the dashboard's interval.
                "rate(x[10m])",
                // The panel's min interval raises it.
                "rate(x[5m])",
            ],
            "{:?}",
            x.notes
        );
        assert_eq!(panel_points(&d.panels[0]), Some(960));
    }

    fn known(uid: &str, name: &str, kind: &str, is_default: bool) -> KnownDataSource {
        KnownDataSource {
            uid: uid.into(),
            name: name.into(),
            kind: kind.into(),
            is_default,
            url: String::new(),
        }
    }

    #[test]
    fn a_datasource_variable_routes_targets_to_the_data_source_its_value_names() {
        let d = model::parse(&json!({
            "templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"}]},
            "panels": [
                {"id": 1, "title": "Object", "datasource": {"type": "prometheus", "uid": "${ds}"},
                 "targets": [{"refId": "A", "datasource": {"uid": "${ds}"}, "expr": "up"}]},
                {"id": 2, "title": "Bare", "datasource": "$ds",
                 "targets": [{"refId": "A", "expr": "up"}]},
                {"id": 3, "title": "No such variable", "datasource": {"uid": "${DS_PROMETHEUS}"},
                 "targets": [{"refId": "A", "expr": "up"}]}
            ]
        }));
        let sources = [
            known("prom", "Prometheus", "prometheus", true),
            known("second", "Second Prometheus", "prometheus", false),
            known("logs", "Loki", "loki", false),
        ];
        let with = |value: &str| {
            let mut v = Values::new();
            v.set("ds", variables::Value::Single(value.into()));
            extract(&d, &v, &iv(), &sources, None)
        };
        let routed = |x: &Extraction| -> Vec<(Option<i64>, Option<String>)> {
            x.targets
                .iter()
                .map(|t| (t.panel_id, t.data_source.clone()))
                .collect()
        };
        let second = Some("second".to_string());
        // By uid or by name, in the object form and the older bare string form.
        for value in ["second", "Second Prometheus"] {
            let x = with(value);
            assert_eq!(
                routed(&x),
                [
                    (Some(1), second.clone()),
                    (Some(2), second.clone()),
                    (Some(3), None)
                ],
                "{value}: {:?}",
                x.notes
            );
        }
        // `default` and the default's own uid: the plugin's own Prometheus.
        for value in ["default", "prom"] {
            let x = with(value);
            assert!(x.targets.iter().all(|t| t.data_source.is_none()), "{value}");
            assert_eq!(x.targets.len(), 3, "{value}: {:?}", x.notes);
        }
        // A value naming a Loki data source: those panels are not Prometheus.
        let x = with("logs");
        assert_eq!(routed(&x), [(Some(3), None)], "{:?}", x.notes);
        let notes = x.notes.join("\n");
        assert!(
            notes.contains("Panel 1 \"Object\": data source type `loki` is not Prometheus")
                && notes.contains("Panel 2 \"Bare\": data source type `loki`"),
            "{notes}"
        );
    }

    #[test]
    fn untitled_panels_are_named_as_a_user_finds_them() {
        let d = model::parse(&json!({
            "panels": [
                {"type": "row", "title": "Quick CPU", "panels": []},
                {"id": 1, "type": "gauge", "title": "", "gridPos": {"x": 6, "y": 1},
                 "targets": [{"expr": "up", "legendFormat": "Busy {{instance}}"}]},
                {"id": 2, "type": "gauge", "title": " ", "gridPos": {"x": 12, "y": 1},
                 "targets": [{"expr": "up", "legendFormat": "{{instance}}"}]}
            ]
        }));
        let (v, i) = (Values::new(), iv());
        assert_eq!(shown_title(&d.panels[0], &v, &i), "Busy (untitled gauge)");
        assert_eq!(
            shown_title(&d.panels[1], &v, &i),
            "untitled gauge in row \"Quick CPU\" at x=12, y=1"
        );
    }
}
