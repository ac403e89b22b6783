//! A Grafana dashboard's JSON → the parts the analysis needs: panels (rows and collapsed rows
//! flattened, library panel references kept), their targets, field config (unit, min, max,
//! thresholds), repeat options and template variables.
//!
//! Parsed by hand from `serde_json::Value`: dashboards in the wild carry every schema version
//! since 2016, and one odd field must cost one panel, not the dashboard.

use serde_json::Value;

/// Most panels walked; a larger dashboard is cut here with a note.
pub const MAX_PANELS: usize = 5_000;

/// The parts of a dashboard the analysis reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Dashboard {
    /// Uid.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Every panel that is not a row, in reading order, rows flattened.
    pub panels: Vec<Panel>,
    /// Template variables, in the order Grafana resolves them.
    pub variables: Vec<Variable>,
    /// `__inputs` of an exported dashboard: input name → plugin id (`DS_PROMETHEUS` →
    /// `prometheus`).
    pub inputs: Vec<(String, String)>,
    /// Panels beyond [`MAX_PANELS`], not read.
    pub panels_cut: usize,
}

/// Where a panel or target gets its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSourceRef {
    /// None given: the panel's (for a target) or the org's default (for a panel).
    Inherit,
    /// `{"type": …, "uid": …}`; either may be a `${variable}`.
    Object {
        /// Plugin type, if given.
        kind: Option<String>,
        /// Uid, if given.
        uid: Option<String>,
    },
    /// A bare string: a name, `${variable}`, `-- Mixed --`, `-- Grafana --`…
    Name(String),
}

/// How threshold values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Values in the panel's unit.
    Absolute,
    /// Percent of the panel's min…max.
    Percentage,
}

/// One threshold step: from `value` (the base step has none) the colour is `color`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Lower bound; `None` for the base step.
    pub value: Option<f64>,
    /// Grafana colour name or CSS colour.
    pub color: String,
}

/// `fieldConfig.defaults` as far as judging goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldConfig {
    /// Grafana unit id (`percent`, `percentunit`, `bytes`, `s`…).
    pub unit: Option<String>,
    /// Axis/gauge minimum.
    pub min: Option<f64>,
    /// Axis/gauge maximum.
    pub max: Option<f64>,
    /// Threshold mode.
    pub mode: Option<ThresholdMode>,
    /// Steps, ascending.
    pub steps: Vec<Step>,
    /// Whether the panel shows its thresholds at all: a stat panel with `colorMode: none`
    /// carries Grafana's default steps without meaning them.
    pub thresholds_hidden: bool,
}

/// A query of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// `refId` (A, B…).
    pub ref_id: String,
    /// The PromQL (`expr`), if any.
    pub expr: Option<String>,
    /// The target's own data source (mixed panels).
    pub datasource: DataSourceRef,
    /// Hidden targets are not drawn and not analysed.
    pub hide: bool,
    /// `legendFormat`.
    pub legend: Option<String>,
}

/// A panel that draws data.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// `id`.
    pub id: Option<i64>,
    /// `title` (may hold variables).
    pub title: String,
    /// `type` (timeseries, stat, gauge, text…).
    pub kind: String,
    /// The row it sits in.
    pub row: Option<String>,
    /// Whether that row is collapsed.
    pub in_collapsed_row: bool,
    /// Panel data source.
    pub datasource: DataSourceRef,
    /// Targets.
    pub targets: Vec<Target>,
    /// `repeat`: the variable the panel repeats over.
    pub repeat: Option<String>,
    /// `libraryPanel.uid` of a library panel reference.
    pub library_uid: Option<String>,
    /// `interval`: the panel's minimum interval.
    pub min_interval: Option<String>,
    /// Judging config.
    pub field: FieldConfig,
    /// `gridPos` `(x, y)`: where the panel sits (x in 24ths of the width, y in rows).
    pub position: Option<(i64, i64)>,
    /// `transformations[].id`, in order.
    pub transformations: Vec<String>,
    /// The panel's width in 24ths of the dashboard's (`gridPos.w`; an old schema's `span`
    /// counts twelfths), which sets how many points Grafana asks for.
    pub width: Option<i64>,
    /// `maxDataPoints`: the points Grafana asks for when set, whatever the width.
    pub max_data_points: Option<u32>,
}

/// A template variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// Name.
    pub name: String,
    /// `query`, `custom`, `constant`, `textbox`, `interval`, `datasource`, `adhoc`.
    pub kind: String,
    /// `current.value` (a list for multi-value variables).
    pub current: Vec<String>,
    /// `options[].value`.
    pub options: Vec<String>,
    /// `query` as text (for query variables: `label_values(…)`).
    pub query: Option<String>,
    /// Multi-value.
    pub multi: bool,
    /// Has an "All" option.
    pub include_all: bool,
    /// The custom value "All" stands for.
    pub all_value: Option<String>,
    /// `regex`: the `/pattern/flags` a query variable's results are filtered and captured by.
    pub regex: Option<String>,
    /// `sort`: 0 none, 1/2 alphabetical, 3/4 numerical, 5/6 case-insensitive, 7/8 natural
    /// (odd ascending, even descending).
    pub sort: i64,
    /// `refresh`: 0 never (the saved options stand), 1 on load, 2 on time range change.
    pub refresh: i64,
    /// Interval variables: whether an `auto` option exists, in how many steps it splits the
    /// range and its lower limit.
    pub auto: Option<(u32, String)>,
    /// Ad hoc filters: `(key, operator, value)`.
    pub filters: Vec<(String, String, String)>,
    /// The data source a query variable asks (often `${ds}`); inherit means the default.
    pub datasource: DataSourceRef,
}

/// Grafana's value of the "All" option.
pub const ALL: &str = "$__all";

/// Parse a dashboard model (the `dashboard` object of `/api/dashboards/uid/…`).
pub fn parse(model: &Value) -> Dashboard {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut panels = Vec::new();
    let mut cut = 0;
    let mut push = |p: Panel| {
        if panels.len() < MAX_PANELS {
            panels.push(p);
        } else {
            cut += 1;
        }
    };
    let mut row: Option<(String, bool)> = None;
    // A repeated row repeats every panel in it: each panel without a repeat of its own takes
    // the row's, so it is read once per value as Grafana draws it.
    let mut row_repeat: Option<String> = None;
    let in_row = |p: &Value, row: Option<(String, bool)>, repeat: &Option<String>| {
        let mut read = panel(p, row);
        if read.repeat.is_none() {
            read.repeat = repeat.clone();
        }
        read
    };
    for p in array(model, "panels") {
        if p.get("type").and_then(Value::as_str) == Some("row") {
            let collapsed = p.get("collapsed").and_then(Value::as_bool).unwrap_or(false);
            row = Some((text(p, "title"), collapsed));
            row_repeat = repeat_of(p);
            // A collapsed row keeps its panels inside it.
            for inner in array(p, "panels") {
                push(in_row(inner, Some((text(p, "title"), true)), &row_repeat));
            }
            continue;
        }
        push(in_row(p, row.clone(), &row_repeat));
    }
    // Schema < 16: `rows[].panels`.
    for r in array(model, "rows") {
        let title = text(r, "title");
        let collapsed = r.get("collapse").and_then(Value::as_bool).unwrap_or(false);
        let repeat = repeat_of(r);
        for p in array(r, "panels") {
            push(in_row(p, Some((title.clone(), collapsed)), &repeat));
        }
    }
    let variables = model
        .get("templating")
        .map(|t| array(t, "list"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(variable)
        .collect();
    let inputs = array(model, "__inputs")
        .into_iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("datasource"))
        .map(|i| (text(i, "name"), text(i, "pluginId")))
        .collect();
    Dashboard {
        uid: text(model, "uid"),
        title: text(model, "title"),
        panels,
        variables,
        inputs,
        panels_cut: cut,
    }
}

/// `repeat` of a panel or row, when it names a variable.
fn repeat_of(v: &Value) -> Option<String> {
    v.get("repeat")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

fn array<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn datasource(v: Option<&Value>) -> DataSourceRef {
    match v {
        None | Some(Value::Null) => DataSourceRef::Inherit,
        Some(Value::String(s)) if s.trim().is_empty() => DataSourceRef::Inherit,
        Some(Value::String(s)) => DataSourceRef::Name(s.clone()),
        Some(Value::Object(o)) => {
            let field = |k: &str| {
                o.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
            };
            DataSourceRef::Object {
                kind: field("type"),
                uid: field("uid"),
            }
        }
        Some(_) => DataSourceRef::Inherit,
    }
}

/// A library panel reference's model merged into the reference, as Grafana does when it
/// loads the dashboard: the reference keeps its id, position and title.
pub fn resolve_library(reference: &Panel, model: &Value) -> Panel {
    let mut resolved = panel(model, None);
    resolved.id = reference.id.or(resolved.id);
    if !reference.title.is_empty() {
        resolved.title = reference.title.clone();
    }
    resolved.row = reference.row.clone();
    resolved.in_collapsed_row = reference.in_collapsed_row;
    resolved.library_uid = None;
    resolved
}

fn panel(p: &Value, row: Option<(String, bool)>) -> Panel {
    let defaults = p.get("fieldConfig").and_then(|f| f.get("defaults"));
    let num = |k: &str| defaults.and_then(|d| d.get(k)).and_then(Value::as_f64);
    let thresholds = defaults.and_then(|d| d.get("thresholds"));
    let steps = thresholds
        .map(|t| array(t, "steps"))
        .unwrap_or_default()
        .into_iter()
        .map(|s| Step {
            value: s.get("value").and_then(Value::as_f64),
            color: s
                .get("color")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
        .collect();
    let targets = array(p, "targets")
        .into_iter()
        .enumerate()
        .map(|(i, t)| Target {
            ref_id: t
                .get("refId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| ((b'A' + (i % 26) as u8) as char).to_string()),
            expr: t.get("expr").and_then(Value::as_str).map(str::to_string),
            datasource: datasource(t.get("datasource")),
            hide: t.get("hide").and_then(Value::as_bool).unwrap_or(false),
            legend: t
                .get("legendFormat")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect();
    Panel {
        id: p.get("id").and_then(Value::as_i64),
        title: p
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        kind: p
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("graph")
            .to_string(),
        in_collapsed_row: row.as_ref().is_some_and(|(_, c)| *c),
        row: row.map(|(t, _)| t).filter(|t| !t.is_empty()),
        datasource: datasource(p.get("datasource")),
        targets,
        repeat: repeat_of(p),
        library_uid: p
            .get("libraryPanel")
            .and_then(|l| l.get("uid"))
            .and_then(Value::as_str)
            .map(str::to_string),
        min_interval: p
            .get("interval")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        position: p.get("gridPos").map(|g| {
            let at = |k: &str| g.get(k).and_then(Value::as_i64).unwrap_or(0);
            (at("x"), at("y"))
        }),
        width: p
            .get("gridPos")
            .and_then(|g| g.get("w"))
            .and_then(Value::as_i64)
            .or_else(|| {
                p.get("span")
                    .and_then(Value::as_f64)
                    .map(|s| (s * 2.0) as i64)
            })
            .filter(|w| *w > 0),
        max_data_points: p
            .get("maxDataPoints")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .map(|n| n.min(u64::from(u32::MAX)) as u32),
        transformations: array(p, "transformations")
            .into_iter()
            .filter(|t| !t.get("disabled").and_then(Value::as_bool).unwrap_or(false))
            .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_string))
            .collect(),
        field: FieldConfig {
            unit: defaults
                .and_then(|d| d.get("unit"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            min: num("min"),
            max: num("max"),
            mode: thresholds
                .and_then(|t| t.get("mode"))
                .and_then(Value::as_str)
                .map(|m| {
                    if m == "percentage" {
                        ThresholdMode::Percentage
                    } else {
                        ThresholdMode::Absolute
                    }
                }),
            steps,
            thresholds_hidden: p.get("type").and_then(Value::as_str) == Some("stat")
                && p.get("options")
                    .and_then(|o| o.get("colorMode"))
                    .and_then(Value::as_str)
                    == Some("none"),
        },
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn variable(v: &Value) -> Option<Variable> {
    let name = v.get("name").and_then(Value::as_str)?.to_string();
    let query = match v.get("query") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("query").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    Some(Variable {
        name,
        kind: v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("query")
            .to_string(),
        current: strings(v.get("current").and_then(|c| c.get("value"))),
        options: v
            .get("options")
            .and_then(Value::as_array)
            .map(|o| {
                o.iter()
                    .flat_map(|x| strings(x.get("value")))
                    .filter(|x| x != ALL)
                    .collect()
            })
            .unwrap_or_default(),
        query,
        multi: v.get("multi").and_then(Value::as_bool).unwrap_or(false),
        include_all: v
            .get("includeAll")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        all_value: v
            .get("allValue")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        regex: v
            .get("regex")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        sort: v.get("sort").and_then(Value::as_i64).unwrap_or(0),
        refresh: v.get("refresh").and_then(Value::as_i64).unwrap_or(1),
        datasource: datasource(v.get("datasource")),
        auto: v
            .get("auto")
            .and_then(Value::as_bool)
            .filter(|a| *a)
            .map(|_| {
                let count = v.get("auto_count").and_then(Value::as_u64).unwrap_or(30);
                let min = v
                    .get("auto_min")
                    .and_then(Value::as_str)
                    .unwrap_or("10s")
                    .to_string();
                (count.clamp(1, 10_000) as u32, min)
            }),
        filters: array(v, "filters")
            .into_iter()
            .map(|f| {
                let field = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (field("key"), field("operator"), field("value"))
            })
            .filter(|(k, _, _)| !k.is_empty())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_collapsed_rows_and_old_schema_rows_are_flattened() {
        let model = json!({
            "uid": "u", "title": "T",
            "panels": [
                {"type": "row", "title": "Open", "collapsed": false, "panels": []},
                {"id": 1, "type": "timeseries", "title": "A", "targets": [{"expr": "up"}]},
                {"type": "row", "title": "Closed", "collapsed": true, "panels": [
                    {"id": 2, "type": "stat", "title": "B", "targets": [{"refId": "X", "expr": "up", "hide": true}]}
                ]}
            ],
            "rows": [{"title": "Old", "panels": [{"id": 3, "title": "C"}]}]
        });
        let d = parse(&model);
        let ids: Vec<_> = d.panels.iter().map(|p| p.id).collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        assert_eq!(d.panels[0].row.as_deref(), Some("Open"));
        assert!(d.panels[1].in_collapsed_row && d.panels[1].targets[0].hide);
        assert_eq!(d.panels[0].targets[0].ref_id, "A");
        assert_eq!(d.panels[2].kind, "graph");
    }

    #[test]
    fn a_repeated_row_repeats_its_panels_and_untitled_panels_keep_their_place() {
        let model = json!({
            "panels": [
                {"type": "row", "title": "Host $node", "repeat": "node", "panels": []},
                {"id": 1, "type": "gauge", "title": "", "gridPos": {"x": 6, "y": 1},
                 "transformations": [{"id": "reduce"}], "targets": [{"expr": "up"}]},
                {"id": 2, "type": "stat", "title": "B", "repeat": "dev", "targets": [{"expr": "up"}]}
            ]
        });
        let d = parse(&model);
        assert_eq!(d.panels[0].repeat.as_deref(), Some("node"));
        assert_eq!(d.panels[1].repeat.as_deref(), Some("dev"));
        assert_eq!(d.panels[0].position, Some((6, 1)));
        assert_eq!(d.panels[0].transformations, ["reduce"]);
    }
}
