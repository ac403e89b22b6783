//! Every template variable of a dashboard given the value Grafana gives it when the
//! dashboard opens: in dependency order (a chained variable after those its query names),
//! query variables asked of Prometheus as Grafana's Prometheus data source asks
//! ([`super::varquery`]), the saved `current` value kept when it is still an option, else
//! "All" (for `includeAll`) or the first option, and a variable without options empty, as
//! Grafana interpolates it. Values passed with the request win over all of that.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{
    extract, interval,
    jsregex::JsRegex,
    model::{Dashboard, DataSourceRef, Variable, ALL},
    variables::{self, Intervals, Value, Values},
    varquery::{self, Finder, Opt},
    DashboardRequest,
};
use crate::{
    grafana::DataSourceRef as KnownDataSource,
    prometheus::{self, InstantValue},
};

/// Variables with their values, and what the report says about them.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// The values the queries are interpolated with.
    pub values: Values,
    /// `name = value` per variable, in dashboard order, for the report's header.
    pub used: Vec<(String, String)>,
    /// Ad hoc filters `(key, operator, value)` Grafana adds to every query.
    pub filters: Vec<(String, String, String)>,
}

/// Where the variables are resolved: Prometheus, the range and the data sources Grafana knows.
pub struct Context<'a> {
    /// The Prometheus the query variables ask.
    pub prometheus: &'a prometheus::Client,
    /// The request (range, given values).
    pub request: &'a DashboardRequest,
    /// Built-in intervals.
    pub intervals: &'a Intervals,
    /// Grafana's data sources, for datasource variables.
    pub data_sources: &'a [KnownDataSource],
    /// Clients for the other Prometheus data sources (by uid, through Grafana's data source
    /// proxy): a query variable whose data source is one of them (often through `${ds}`) asks
    /// it, as Grafana would, not the plugin's own Prometheus.
    pub other_prometheus: &'a BTreeMap<String, prometheus::Client>,
}

/// Resolve every variable of `dashboard`; what could not be resolved is a note.
pub async fn resolve(dashboard: &Dashboard, cx: &Context<'_>, notes: &mut Vec<String>) -> Resolved {
    let mut out = Resolved::default();
    builtins(dashboard, cx, &mut out.values);
    for name in cx.request.variables.keys() {
        if !dashboard.variables.iter().any(|v| &v.name == name) {
            notes.push(format!(
                "Variable `{name}` was given but the dashboard has no such variable; ignored."
            ));
        }
    }
    for var in in_dependency_order(&dashboard.variables, cx.intervals) {
        if var.kind == "adhoc" {
            out.filters.extend(var.filters.iter().cloned());
            out.values.add_filters(&var.filters);
            continue;
        }
        let given = cx
            .request
            .variables
            .get(&var.name)
            .filter(|g| !g.is_empty());
        let value = match given {
            Some(g) => given_value(var, g),
            None => default_value(var, cx, &out.values, notes).await,
        };
        out.values.set(&var.name, value);
    }
    out.used = dashboard
        .variables
        .iter()
        .map(|v| match v.kind.as_str() {
            "adhoc" if v.filters.is_empty() => (v.name.clone(), "(no filters)".to_string()),
            "adhoc" => (
                v.name.clone(),
                v.filters
                    .iter()
                    .map(|(k, o, x)| format!("{k}{o}\"{x}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            "datasource" => (
                v.name.clone(),
                data_source_display(out.values.get(&v.name), cx.data_sources),
            ),
            _ => (v.name.clone(), display(out.values.get(&v.name))),
        })
        .collect();
    out
}

/// The built-ins that are values rather than intervals: `$__dashboard`, `$__from`, `$__to`,
/// and each `auto` interval variable's `$__auto_interval_<name>`.
fn builtins(dashboard: &Dashboard, cx: &Context<'_>, values: &mut Values) {
    let single = |s: String| Value::Single(s);
    values.set("__dashboard", single(dashboard.title.clone()));
    values.set(
        "__from",
        single(cx.request.from.timestamp_millis().to_string()),
    );
    values.set("__to", single(cx.request.to.timestamp_millis().to_string()));
    for var in dashboard.variables.iter().filter(|v| v.kind == "interval") {
        if let Some(auto) = auto_interval(var, cx.intervals) {
            values.set(&format!("__auto_interval_{}", var.name), single(auto));
        }
    }
}

/// An `auto` interval variable's value for the range.
fn auto_interval(var: &Variable, intervals: &Intervals) -> Option<String> {
    let (count, min) = var.auto.as_ref()?;
    let min = crate::promql::parse_duration(min).unwrap_or(std::time::Duration::from_secs(10));
    Some(interval::hms(interval::auto(intervals.range, *count, min)))
}

/// The variables each variable's query, regex, custom "All" value and data source name.
fn dependencies(var: &Variable, intervals: &Intervals) -> BTreeSet<String> {
    let empty = Values::new();
    let source = match &var.datasource {
        DataSourceRef::Object { uid, .. } => uid.as_deref(),
        DataSourceRef::Name(name) => Some(name.as_str()),
        DataSourceRef::Inherit => None,
    };
    [
        var.query.as_deref(),
        var.regex.as_deref(),
        var.all_value.as_deref(),
        source,
    ]
    .into_iter()
    .flatten()
    .flat_map(|t| variables::interpolate(t, &empty, intervals).unknown)
    .filter(|n| n != &var.name)
    .collect()
}

/// Variables in the order Grafana resolves them: each after the variables it depends on,
/// otherwise in dashboard order (a cycle is broken in dashboard order).
fn in_dependency_order<'a>(vars: &'a [Variable], intervals: &Intervals) -> Vec<&'a Variable> {
    let names: BTreeSet<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    let deps: Vec<BTreeSet<String>> = vars
        .iter()
        .map(|v| {
            dependencies(v, intervals)
                .into_iter()
                .filter(|d| names.contains(d.as_str()))
                .collect()
        })
        .collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::with_capacity(vars.len());
    while order.len() < vars.len() {
        let ready = (0..vars.len())
            .find(|i| !done.contains(&vars[*i].name) && deps[*i].iter().all(|d| done.contains(d)));
        // A cycle: take the first one left, as written.
        let next = ready.or_else(|| (0..vars.len()).find(|i| !done.contains(&vars[*i].name)));
        let Some(i) = next else { break };
        done.insert(vars[i].name.clone());
        order.push(&vars[i]);
    }
    order
}

/// A value passed with the request: `$__all` is "All", several values a multi value.
fn given_value(var: &Variable, given: &[String]) -> Value {
    if given.iter().any(|g| g == ALL) {
        return match &var.all_value {
            Some(all) => Value::Custom(all.clone()),
            None => Value::Multi(var.options.clone()),
        };
    }
    if given.len() == 1 && !var.multi && !var.include_all {
        Value::Single(given[0].clone())
    } else {
        Value::Multi(given.to_vec())
    }
}

/// The value of a variable nobody chose: per type, as the dashboard opens.
async fn default_value(
    var: &Variable,
    cx: &Context<'_>,
    values: &Values,
    notes: &mut Vec<String>,
) -> Value {
    let current = || var.current.first().cloned().unwrap_or_default();
    match var.kind.as_str() {
        "constant" => Value::Single(var.query.clone().unwrap_or_default()),
        "textbox" => Value::Single(
            Some(current())
                .filter(|c| !c.is_empty())
                .or_else(|| var.query.clone())
                .unwrap_or_default(),
        ),
        "interval" => {
            let c = current();
            if c == "auto" || c.starts_with("$__auto_interval") {
                let auto = auto_interval(var, cx.intervals).unwrap_or_else(|| "1m".into());
                return Value::Single(auto);
            }
            let opts = var.query.as_deref().map(varquery::custom_options);
            pick(var, &opts.unwrap_or_default())
        }
        "datasource" => datasource_value(var, cx, values, notes),
        "custom" => {
            let opts = match var.options.is_empty() {
                true => varquery::custom_options(var.query.as_deref().unwrap_or("")),
                false => var.options.iter().map(Opt::plain).collect(),
            };
            pick(var, &opts)
        }
        "query" => {
            let opts = query_options(var, cx, values, notes).await;
            pick(var, &opts)
        }
        _ => pick(var, &var.options.iter().map(Opt::plain).collect::<Vec<_>>()),
    }
}

/// A datasource variable's value as Grafana picks it: among its options
/// ([`datasource_options`]) the saved one, else "All" or the first, exactly as for a query
/// variable. The value is the data source's uid, which a target's `${ds}` then names. When
/// Grafana's data sources could not be listed the saved value stands.
fn datasource_value(
    var: &Variable,
    cx: &Context<'_>,
    values: &Values,
    notes: &mut Vec<String>,
) -> Value {
    let (known, intervals) = (cx.data_sources, cx.intervals);
    let current = var.current.first().cloned().unwrap_or_default();
    if known.is_empty() {
        return Value::Single(current);
    }
    let opts = match datasource_options(var, known, values, intervals) {
        Ok(opts) => opts,
        Err(e) => {
            notes.push(format!(
                "Variable `{}`: {e}; every data source of its type was offered.",
                var.name
            ));
            let unfiltered = Variable {
                regex: None,
                ..var.clone()
            };
            datasource_options(&unfiltered, known, values, intervals).unwrap_or_default()
        }
    };
    if opts.is_empty() {
        notes.push(format!(
            "Variable `{}`: Grafana has no `{}` data source{}; it keeps its saved value `{current}`.",
            var.name,
            plugin_of(var),
            if var.regex.is_some() { " its regex matches" } else { "" }
        ));
        return Value::Single(current);
    }
    pick(var, &opts)
}

/// The plugin type a datasource variable lists (`query`), Prometheus when none is given.
fn plugin_of(var: &Variable) -> &str {
    var.query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .unwrap_or("prometheus")
}

/// Grafana's options of a datasource variable (`DataSourceVariable.getValueOptions`): every
/// data source of its plugin type whose name its `regex` matches (text: the name, value: the
/// uid), and `default` after the org's default data source when "default" matches too.
fn datasource_options(
    var: &Variable,
    known: &[KnownDataSource],
    values: &Values,
    intervals: &Intervals,
) -> Result<Vec<Opt>, varquery::RegexError> {
    let regex = var
        .regex
        .as_deref()
        .map(|r| JsRegex::new(&variables::interpolate(r, values, intervals).text))
        .transpose()?;
    let matches = |text: &str| -> Result<bool, varquery::RegexError> {
        match &regex {
            None => Ok(true),
            Some(re) => re.is_match(text),
        }
    };
    let mut opts = Vec::new();
    for ds in known.iter().filter(|d| d.kind == plugin_of(var)) {
        if matches(&ds.name)? {
            let value = if ds.uid.is_empty() { &ds.name } else { &ds.uid };
            opts.push(Opt {
                text: ds.name.clone(),
                value: value.clone(),
            });
        }
        if ds.is_default && matches("default")? {
            opts.push(Opt::plain("default"));
        }
    }
    Ok(opts)
}

/// A datasource variable's value as the report shows it: the data source's name and uid.
fn data_source_display(value: Option<&Value>, known: &[KnownDataSource]) -> String {
    let one = |v: &String| match known.iter().find(|d| &d.uid == v || &d.name == v) {
        Some(d) if d.uid == *v && d.name != *v => format!("{} (uid {})", d.name, d.uid),
        _ => v.clone(),
    };
    match value {
        Some(Value::Single(v)) if !v.is_empty() => one(v),
        Some(Value::Multi(list)) if !list.is_empty() => {
            list.iter().map(one).collect::<Vec<_>>().join(", ")
        }
        other => display(other),
    }
}

/// Grafana's choice among `opts`: the saved value(s) still offered (or "All"), else "All"
/// for an `includeAll` variable, else the first option; nothing offered is empty (or the
/// custom all value, which needs no options).
fn pick(var: &Variable, opts: &[Opt]) -> Value {
    let multi = var.multi || var.include_all;
    let all = || match &var.all_value {
        Some(a) => Value::Custom(a.clone()),
        None => Value::Multi(opts.iter().map(|o| o.value.clone()).collect()),
    };
    if var.include_all && var.current.iter().any(|c| c == ALL) {
        return all();
    }
    let valid: Vec<String> = var
        .current
        .iter()
        .filter_map(|c| {
            opts.iter()
                .find(|o| &o.value == c || &o.text == c)
                .map(|o| o.value.clone())
        })
        .collect();
    if let Some(first) = valid.first() {
        return if multi {
            Value::Multi(valid.clone())
        } else {
            Value::Single(first.clone())
        };
    }
    match opts.first() {
        None if var.include_all && var.all_value.is_some() => all(),
        None => Value::Single(String::new()),
        Some(_) if var.include_all => all(),
        Some(first) if multi => Value::Multi(vec![first.value.clone()]),
        Some(first) => Value::Single(first.value.clone()),
    }
}

/// A query variable's options: the saved ones when it never refreshes, else Prometheus'
/// answer to its query (interpolated with the variables before it), through its regex and
/// sort. A failed query leaves no options, as in Grafana, with a note.
async fn query_options(
    var: &Variable,
    cx: &Context<'_>,
    values: &Values,
    notes: &mut Vec<String>,
) -> Vec<Opt> {
    if var.refresh == 0 && !var.options.is_empty() {
        return var.options.iter().map(Opt::plain).collect();
    }
    let query = var.query.as_deref().unwrap_or("").trim();
    if query.is_empty() {
        return var.options.iter().map(Opt::plain).collect();
    }
    let text = variables::interpolate(query, values, cx.intervals).text;
    let (client, asked) = variable_source(var, cx, values);
    let found = match find(&varquery::finder(&text), client, cx.request).await {
        Ok(found) => found,
        Err(e) => {
            notes.push(format!(
                "Variable `{}`: `{text}` failed against {asked} ({e}); it has no options, so it is empty, as in Grafana.",
                var.name
            ));
            return Vec::new();
        }
    };
    let count = found.len();
    let opts = match varquery::options(found.clone(), var.regex.as_deref(), var.sort) {
        Ok(o) => o,
        Err(e) => {
            notes.push(format!(
                "Variable `{}`: {e}; its options were used unfiltered.",
                var.name
            ));
            varquery::sorted(found, var.sort)
        }
    };
    if opts.is_empty() {
        notes.push(format!(
            "Variable `{}`: `{text}` found {count} value(s){} in the range; it is empty, as in Grafana.",
            var.name,
            if count > 0 { ", none through its regex" } else { "" }
        ));
    }
    opts
}

/// The Prometheus a query variable asks, and how a note names it: the other Prometheus data
/// source its `datasource` names (directly or through a datasource variable's value) when
/// there is a client for it, else the plugin's own.
fn variable_source<'c>(
    var: &Variable,
    cx: &'c Context<'_>,
    values: &Values,
) -> (&'c prometheus::Client, String) {
    extract::named_prometheus(&var.datasource, cx.data_sources, values)
        .and_then(|uid| cx.other_prometheus.get_key_value(&uid))
        .map(|(uid, client)| {
            (
                client,
                format!(
                    "data source `{}` (through Grafana's proxy)",
                    crate::echo::short(uid)
                ),
            )
        })
        .unwrap_or((cx.prometheus, "Prometheus".to_string()))
}

/// Ask `p` what a variable's query finds over the request's range.
async fn find(
    finder: &Finder,
    p: &prometheus::Client,
    request: &DashboardRequest,
) -> Result<Vec<Opt>, prometheus::PrometheusError> {
    let (from, to) = (request.from, request.to);
    let plain = |v: Vec<String>| v.into_iter().map(Opt::plain).collect::<Vec<_>>();
    Ok(match finder {
        Finder::LabelValues { label, selector } => {
            let m: Vec<String> = selector.iter().cloned().collect();
            plain(p.label_values(label, &m, from, to).await?.data)
        }
        Finder::LabelNames(selector) => {
            let m: Vec<String> = selector.iter().cloned().collect();
            plain(p.label_names(&m, from, to).await?.data)
        }
        Finder::Metrics(pattern) => {
            let names = p.label_values("__name__", &[], from, to).await?.data;
            let re = regex::Regex::new(pattern).map_err(|e| {
                prometheus::PrometheusError::Config(format!("metrics({pattern}): {e}"))
            })?;
            plain(names.into_iter().filter(|n| re.is_match(n)).collect())
        }
        Finder::QueryResult(expr) => query_result(p, expr, to).await?,
        Finder::Series(expr) => {
            let series = p.series(std::slice::from_ref(expr), from, to).await?.data;
            series
                .iter()
                .map(|l| Opt::plain(varquery::series_text(l)))
                .collect()
        }
    })
}

/// `query_result(expr)`: an instant query at the end of the range, each sample as text.
async fn query_result(
    p: &prometheus::Client,
    expr: &str,
    at: DateTime<Utc>,
) -> Result<Vec<Opt>, prometheus::PrometheusError> {
    Ok(match p.query(expr, at).await?.data {
        InstantValue::Vector(samples) => samples
            .iter()
            .map(|s| Opt::plain(varquery::query_result_text(&s.labels, s.value, s.timestamp)))
            .collect(),
        InstantValue::Scalar(_, v) => vec![Opt::plain(v.to_string())],
        InstantValue::String(_, s) => vec![Opt::plain(s)],
        InstantValue::Matrix(_) => Vec::new(),
    })
}

/// A value as the report shows it.
fn display(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::Single(v)) if v.is_empty() => "(empty)".into(),
        Some(Value::Single(v)) => v.clone(),
        Some(Value::Custom(v)) => format!("All ({v})"),
        Some(Value::Multi(v)) if v.is_empty() => "(empty)".into(),
        Some(Value::Multi(v)) => v.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(kind: &str) -> Variable {
        Variable {
            name: "v".into(),
            kind: kind.into(),
            current: vec![],
            options: vec![],
            query: None,
            multi: false,
            include_all: false,
            all_value: None,
            regex: None,
            sort: 0,
            refresh: 1,
            auto: None,
            filters: vec![],
            datasource: DataSourceRef::Inherit,
        }
    }

    #[test]
    fn grafana_picks_saved_then_all_then_first_then_empty() {
        let opts = vec![Opt::plain("a"), Opt::plain("b")];
        let mut v = var("query");
        v.current = vec!["b".into()];
        assert_eq!(pick(&v, &opts), Value::Single("b".into()));
        v.current = vec!["gone".into()];
        assert_eq!(pick(&v, &opts), Value::Single("a".into()));
        v.include_all = true;
        assert_eq!(pick(&v, &opts), Value::Multi(vec!["a".into(), "b".into()]));
        v.all_value = Some(".*".into());
        assert_eq!(pick(&v, &[]), Value::Custom(".*".into()));
        v.include_all = false;
        assert_eq!(pick(&v, &[]), Value::Single(String::new()));
        v.multi = true;
        v.current = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(pick(&v, &opts), Value::Multi(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn a_datasource_variable_offers_data_sources_of_its_type_through_its_regex() {
        let iv = Intervals {
            interval: std::time::Duration::from_secs(20),
            scrape: std::time::Duration::from_secs(15),
            range: std::time::Duration::from_secs(3600),
        };
        let ds = |uid: &str, name: &str, kind: &str, is_default: bool| KnownDataSource {
            uid: uid.into(),
            name: name.into(),
            kind: kind.into(),
            is_default,
            url: String::new(),
        };
        let known = [
            ds("prom", "Prometheus", "prometheus", true),
            ds("second", "Second Prometheus", "prometheus", false),
            ds("lts", "Long-term Thanos", "prometheus", false),
            ds("logs", "Loki", "loki", false),
        ];
        let mut v = var("datasource");
        v.query = Some("prometheus".into());
        let values = Values::new();
        let options = |v: &Variable| {
            datasource_options(v, &known, &values, &iv)
                .expect("regex")
                .into_iter()
                .map(|o| o.value)
                .collect::<Vec<_>>()
        };
        // Every Prometheus, `default` after the default one; no Loki.
        assert_eq!(options(&v), ["prom", "default", "second", "lts"]);
        v.regex = Some("/Prometheus$/".into());
        assert_eq!(options(&v), ["prom", "second"]);
        // A bare regex matches the whole name.
        v.regex = Some("Second.*".into());
        assert_eq!(options(&v), ["second"]);
        v.regex = Some("/Prometheus$/".into());
        let opts = datasource_options(&v, &known, &values, &iv).expect("regex");
        // The saved value, by uid or (older dashboards) by name, is the data source's uid.
        v.current = vec!["Second Prometheus".into()];
        assert_eq!(pick(&v, &opts), Value::Single("second".into()));
        v.current = vec!["second".into()];
        assert_eq!(pick(&v, &opts), Value::Single("second".into()));
        // A saved value the regex no longer offers: the first option, as Grafana.
        v.current = vec!["lts".into()];
        assert_eq!(pick(&v, &opts), Value::Single("prom".into()));
        assert_eq!(
            data_source_display(Some(&Value::Single("second".into())), &known),
            "Second Prometheus (uid second)"
        );
    }

    #[test]
    fn chained_variables_come_after_what_they_name() {
        let iv = Intervals {
            interval: std::time::Duration::from_secs(20),
            scrape: std::time::Duration::from_secs(15),
            range: std::time::Duration::from_secs(3600),
        };
        let mut a = var("query");
        a.name = "instance".into();
        a.query = Some("label_values(up{job=~\"$job\"}, instance)".into());
        let mut b = var("query");
        b.name = "job".into();
        b.query = Some("label_values(up, job)".into());
        let vars = [a, b];
        let order: Vec<&str> = in_dependency_order(&vars, &iv)
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(order, ["job", "instance"]);
    }
}
