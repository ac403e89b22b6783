//! Dashboard analysis: read a Grafana dashboard, run its panels' Prometheus queries over the
//! time range, judge each panel against its own thresholds and limits, correlate panels, and
//! tie what is found to the USE Method's findings for the same instances.
//!
//! ```text
//!  Grafana ──► model (panels, variables) ──► extract (PromQL per target) ──► Prometheus
//!                                                                                │ series
//!  insights ◄── narrative ◄── correlate ◄── judge (thresholds, plateaus, steps) ◄┘
//!     ▲
//!     └── engine::analyze (USE) for the instances the panels show
//! ```
//!
//! Whatever cannot be analysed (another data source, broken PromQL, an unknown variable, a
//! library panel that does not resolve, queries beyond the cap) is a note, and the rest of the
//! dashboard is still analysed. The result is an [`Analysis`] so the report and frames render
//! it like any other.

pub mod correlate;
pub mod extract;
pub mod judge;
pub mod model;
pub mod narrative;
pub mod rules;
pub mod variables;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};
use thiserror::Error;

use crate::{
    catalog,
    engine::{self, Analysis, AnalysisRequest, ExecutedQuery, Timing},
    grafana::{self, GrafanaError},
    insight::{sort_insights, Evidence, Insight, IssueType, Methodology, Severity},
    inventory::Inventory,
    methods::MethodsRequest,
    prometheus::{self, QueryRange},
    promql::{format_duration, Matcher, Selector},
};

use self::{extract::Extracted, judge::SeriesData};

/// Most series kept per query; the rest are counted in a note.
pub const MAX_SERIES_PER_QUERY: usize = 50;

/// Points per query over the range (Grafana's max data points for a typical panel width).
pub const DEFAULT_MAX_POINTS: u32 = 200;

/// Queries in flight at once (the Prometheus client has its own bound too).
const CONCURRENCY: usize = 8;

/// Most library panels fetched per dashboard.
const MAX_LIBRARY_PANELS: usize = 50;

/// What to analyse.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardRequest {
    /// The dashboard's uid.
    pub uid: String,
    /// Only these panels (all when `None`).
    pub panel_ids: Option<Vec<i64>>,
    /// Variable values overriding the dashboard's current ones.
    pub variables: BTreeMap<String, Vec<String>>,
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// Points per query.
    pub max_points: u32,
    /// The data source's scrape interval (for `$__rate_interval`).
    pub scrape_interval: Duration,
}

impl DashboardRequest {
    /// The whole dashboard over `from`…`to`, 200 points per query, 15s scrapes.
    pub fn new(uid: impl Into<String>, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            uid: uid.into(),
            panel_ids: None,
            variables: BTreeMap::new(),
            from,
            to,
            max_points: DEFAULT_MAX_POINTS,
            scrape_interval: Duration::from_secs(15),
        }
    }
}

/// Why a dashboard could not be analysed at all.
#[derive(Debug, Error)]
pub enum DashboardError {
    /// Grafana did not hand over the dashboard.
    #[error(transparent)]
    Grafana(#[from] GrafanaError),
    /// Every query failed against Prometheus.
    #[error("every query of the dashboard failed against Prometheus; the first error: {0}")]
    Prometheus(prometheus::PrometheusError),
    /// A request that cannot be answered.
    #[error("{0}")]
    Request(String),
}

/// A dashboard's reading.
#[derive(Clone, Debug)]
pub struct DashboardAnalysis {
    /// Uid.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Panels read.
    pub panels: usize,
    /// The queries that ran.
    pub targets: Vec<Extracted>,
    /// What was skipped and why.
    pub notes: Vec<String>,
    /// The report-ready analysis: dashboard insights, the panel queries, notes as warnings.
    pub analysis: Analysis,
}

/// Fetch dashboard `request.uid` from Grafana and analyse it.
pub async fn analyze(
    grafana: &grafana::Client,
    prometheus: &prometheus::Client,
    request: &DashboardRequest,
) -> Result<DashboardAnalysis, DashboardError> {
    let model = grafana.dashboard(&request.uid).await?;
    let mut dashboard = model::parse(&model);
    let mut notes = Vec::new();
    // Library panels: resolve the references, once per uid.
    let mut fetched: BTreeMap<String, Result<serde_json::Value, String>> = BTreeMap::new();
    for panel in dashboard.panels.iter_mut() {
        let Some(uid) = panel.library_uid.clone() else {
            continue;
        };
        if !panel.targets.is_empty() {
            continue;
        }
        if !fetched.contains_key(&uid) {
            let result = if fetched.len() >= MAX_LIBRARY_PANELS {
                Err(format!("more than {MAX_LIBRARY_PANELS} library panels"))
            } else {
                grafana.library_panel(&uid).await.map_err(|e| e.to_string())
            };
            fetched.insert(uid.clone(), result);
        }
        match fetched.get(&uid) {
            Some(Ok(m)) => *panel = model::resolve_library(panel, m),
            Some(Err(e)) => notes.push(format!(
                "Panel {} \"{}\": library panel `{uid}` could not be resolved ({e}); skipped.",
                panel.id.map(|i| i.to_string()).unwrap_or_default(),
                panel.title
            )),
            None => {}
        }
    }
    let data_sources = match grafana.data_sources().await {
        Ok(list) => list,
        Err(e) => {
            notes.push(format!(
                "Data sources could not be listed ({e}); panels naming a data source by uid or name are assumed to be Prometheus when they carry PromQL."
            ));
            Vec::new()
        }
    };
    let mut result = analyze_dashboard(&dashboard, &data_sources, prometheus, request).await?;
    // Notes of the library panels that did not resolve replace the generic ones.
    result.notes.retain(|n| {
        !(n.contains("library panel") && n.ends_with("could not be resolved; skipped."))
    });
    notes.append(&mut result.notes);
    result.notes = notes;
    result.analysis.warnings = result.notes.clone();
    Ok(result)
}

/// Resolve every variable: given values, the dashboard's current ones, and `label_values(…)`
/// queries against Prometheus for query variables that have none.
async fn resolve_variables(
    dashboard: &model::Dashboard,
    prometheus: &prometheus::Client,
    request: &DashboardRequest,
    intervals: &variables::Intervals,
    notes: &mut Vec<String>,
) -> variables::Values {
    let mut values = variables::Values::new();
    for name in request.variables.keys() {
        if !dashboard.variables.iter().any(|v| &v.name == name) {
            notes.push(format!(
                "Variable `{name}` was given but the dashboard has no such variable; ignored."
            ));
        }
    }
    for var in &dashboard.variables {
        if matches!(var.kind.as_str(), "datasource" | "adhoc") {
            continue;
        }
        let given = request.variables.get(&var.name).map(Vec::as_slice);
        if let Some(v) = variables::value_of(var, given) {
            values.set(&var.name, v);
            continue;
        }
        if var.kind == "interval" {
            values.set(
                &var.name,
                variables::Value::Single(format!("{}s", intervals.interval.as_secs())),
            );
            continue;
        }
        let query = var.query.as_deref().unwrap_or("");
        match label_values(query, &values, intervals) {
            Some((label, matcher)) => {
                let matchers: Vec<String> = matcher.into_iter().collect();
                match prometheus
                    .label_values(&label, &matchers, request.from, request.to)
                    .await
                {
                    Ok(answer) if !answer.data.is_empty() => {
                        let mut found = answer.data;
                        found.sort();
                        let value = if var.include_all || var.multi {
                            match &var.all_value {
                                Some(all) if var.include_all => {
                                    variables::Value::Custom(all.clone())
                                }
                                _ => variables::Value::Multi(found),
                            }
                        } else {
                            variables::Value::Single(found[0].clone())
                        };
                        values.set(&var.name, value);
                    }
                    Ok(_) => notes.push(format!(
                        "Variable `{}`: `{query}` found no values in the range.",
                        var.name
                    )),
                    Err(e) => notes.push(format!(
                        "Variable `{}`: `{query}` failed against Prometheus ({e}).",
                        var.name
                    )),
                }
            }
            None => notes.push(format!(
                "Variable `{}` has no current value and its query `{query}` is not label_values(…); give it a value.",
                var.name
            )),
        }
    }
    values
}

/// `label_values(selector, label)` or `label_values(label)` → (label, optional match[]).
fn label_values(
    query: &str,
    values: &variables::Values,
    intervals: &variables::Intervals,
) -> Option<(String, Option<String>)> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let interpolated = variables::interpolate(inner, values, intervals);
    if !interpolated.unknown.is_empty() {
        return None;
    }
    let text = interpolated.text;
    match text.rsplit_once(',') {
        Some((selector, label)) => {
            let selector = selector.trim();
            // The selector must be PromQL; the parser checks it before Prometheus sees it.
            promql_parser::parser::parse(selector).ok()?;
            Some((label.trim().to_string(), Some(selector.to_string())))
        }
        None => Some((text.trim().to_string(), None)),
    }
}

/// Analyse a parsed dashboard (library panels already resolved).
pub async fn analyze_dashboard(
    dashboard: &model::Dashboard,
    data_sources: &[grafana::DataSourceRef],
    prometheus: &prometheus::Client,
    request: &DashboardRequest,
) -> Result<DashboardAnalysis, DashboardError> {
    if request.to <= request.from {
        return Err(DashboardError::Request(
            "the time range is empty: `to` must be after `from`".into(),
        ));
    }
    let range = (request.to - request.from)
        .to_std()
        .unwrap_or(Duration::from_secs(3600));
    let step = variables::step(range, request.max_points, request.scrape_interval);
    let intervals = variables::Intervals {
        interval: step,
        scrape: request.scrape_interval,
        range,
    };
    let mut notes = Vec::new();
    let values = resolve_variables(dashboard, prometheus, request, &intervals, &mut notes).await;
    let extraction = extract::extract(
        dashboard,
        &values,
        &intervals,
        data_sources,
        request.panel_ids.as_deref(),
    );
    notes.extend(extraction.notes.iter().cloned());
    if let Some(ids) = &request.panel_ids {
        let known: BTreeSet<i64> = dashboard.panels.iter().filter_map(|p| p.id).collect();
        for id in ids.iter().filter(|i| !known.contains(i)) {
            notes.push(format!("Panel {id} is not on the dashboard."));
        }
    }

    // Run every query on one grid, so series of different panels align point for point.
    let end = DateTime::from_timestamp(
        request.to.timestamp() - request.to.timestamp().rem_euclid(step.as_secs() as i64),
        0,
    )
    .unwrap_or(request.to);
    let grid = QueryRange {
        start: end - chrono::Duration::from_std(range).unwrap_or_default(),
        end,
        step,
    };
    let started = Instant::now();
    let runs: Vec<_> = stream::iter(extraction.targets.iter().cloned())
        .map(|t| {
            let client = prometheus.clone();
            async move {
                let sent = Instant::now();
                let result = client
                    .query_range_fold(
                        &t.promql,
                        &grid,
                        (Vec::<SeriesData>::new(), 0usize),
                        |acc, s| {
                            if acc.0.len() < MAX_SERIES_PER_QUERY {
                                acc.0.push(SeriesData {
                                    labels: s.labels,
                                    points: s.points,
                                });
                            } else {
                                acc.1 += 1;
                            }
                        },
                    )
                    .await;
                (t, result, sent)
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;

    let mut targets = Vec::new();
    let mut series: Vec<Vec<SeriesData>> = Vec::new();
    let mut queries = Vec::new();
    let mut first_error = None;
    for (t, result, sent) in runs {
        let label = format!("{} query {}", narrative::panel_name(&t), t.ref_id);
        match result {
            Ok(answer) => {
                let (kept, cut) = answer.data;
                if cut > 0 {
                    notes.push(format!(
                        "{label}: {} series; only the first {MAX_SERIES_PER_QUERY} were judged.",
                        kept.len() + cut
                    ));
                }
                for w in answer.warnings {
                    notes.push(format!("{label}: Prometheus warning: {w}"));
                }
                queries.push(ExecutedQuery {
                    purpose: label,
                    promql: t.promql.clone(),
                    kind: "range",
                    series: kept.len() + cut,
                    duration: sent.elapsed(),
                    offset: sent.saturating_duration_since(started),
                    sent,
                });
                targets.push(t);
                series.push(kept);
            }
            Err(e) => {
                notes.push(format!("{label}: Prometheus could not run it: {e}"));
                if first_error.is_none() && !e.is_query_error() {
                    first_error = Some(e);
                }
            }
        }
    }
    if targets.is_empty() {
        if let Some(e) = first_error {
            return Err(DashboardError::Prometheus(e));
        }
    }

    // Judge, then correlate the flagged queries with every other.
    let judgements: Vec<judge::Judgement> = targets
        .iter()
        .zip(&series)
        .map(|(t, s)| judge::judge(&t.field, s))
        .collect();
    let window = format_duration(range);
    let at = request.to;
    let mut insights = Vec::new();
    for (t, j) in targets.iter().zip(&judgements) {
        let mut found = narrative::findings(
            &narrative::Judged {
                target: t,
                judgement: j,
                uid: &dashboard.uid,
            },
            at,
            &window,
        );
        // An aggregated series has no `instance` label; a query that selects exactly one
        // instance still says which host it shows.
        if let [only] = t.instances.as_slice() {
            for i in found.iter_mut().filter(|i| i.instance.is_none()) {
                i.instance = Some(only.clone());
            }
        }
        insights.extend(found);
    }
    let panel_keys: Vec<String> = targets
        .iter()
        .map(|t| format!("{:?}|{}", t.panel_id, t.panel_title))
        .collect();
    let flagged: Vec<usize> = judgements
        .iter()
        .enumerate()
        .filter(|(_, j)| j.breach.is_some() || j.plateau.is_some())
        .map(|(i, _)| i)
        .collect();
    let scales: Vec<f64> = targets
        .iter()
        .zip(&series)
        .map(|(t, s)| {
            let values = s.iter().flat_map(|x| x.points.iter().map(|(_, v)| *v));
            let (lo, hi) = values
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            judge::panel_scale(&t.field, lo, hi)
        })
        .collect();
    let inputs: Vec<correlate::Query<'_>> = targets
        .iter()
        .zip(&series)
        .zip(&scales)
        .zip(&panel_keys)
        .map(|(((t, s), scale), panel)| correlate::Query {
            series: s,
            panel: panel.clone(),
            scale: *scale,
            metrics: &t.metrics,
        })
        .collect();
    let correlations = correlate::correlations(&inputs, &flagged);
    for c in &correlations {
        insights.push(narrative::correlation(
            &dashboard.uid,
            c,
            &targets[c.a],
            &targets[c.b],
            at,
        ));
        // The flagged panel's own insight names its companion too.
        let (a, b) = (&targets[c.a], &targets[c.b]);
        let prefix = format!(
            "dashboard:{}:{}:{}:",
            dashboard.uid,
            a.panel_id.map(|x| x.to_string()).unwrap_or_default(),
            a.panel_title,
        );
        for i in insights
            .iter_mut()
            .filter(|i| i.check != "dashboard.correlation" && i.id.starts_with(&prefix))
        {
            i.observation.push_str(&format!(
                " It moves with {} (r = {:.2}).",
                narrative::panel_name(b),
                c.r
            ));
        }
    }
    let changes: Vec<(usize, f64)> = judgements
        .iter()
        .enumerate()
        .filter_map(|(i, j)| {
            // A breach that holds from the first point began before the range: no change seen.
            let first = grid.start.timestamp() as f64 + step.as_secs_f64();
            let from_step = j.step.as_ref().map(|s| s.at);
            let from_breach = j.breach.as_ref().map(|b| b.from).filter(|t| *t > first);
            from_step.or(from_breach).map(|t| (i, t))
        })
        .collect();
    for group in correlate::simultaneous(&changes, &panel_keys, step.as_secs_f64()) {
        let when = changes
            .iter()
            .find(|(i, _)| *i == group[0])
            .map(|(_, t)| *t)
            .unwrap_or_default();
        let members: Vec<&Extracted> = group.iter().map(|i| &targets[*i]).collect();
        insights.push(narrative::simultaneous(&dashboard.uid, &members, when, at));
    }

    // Tie to the USE Method: the same instances over the same window.
    let instances: BTreeSet<String> = insights
        .iter()
        .filter_map(|i| i.instance.clone())
        .chain(
            flagged
                .iter()
                .flat_map(|i| targets[*i].instances.iter().cloned()),
        )
        .collect();
    let mut use_analysis = None;
    if !instances.is_empty() {
        let list: Vec<String> = instances.iter().cloned().collect();
        match Matcher::any_of("instance", &list) {
            Ok(m) => {
                let mut req = AnalysisRequest::new(
                    request.to,
                    range.clamp(Duration::from_secs(300), Duration::from_secs(24 * 3600)),
                    Selector::empty().with(m),
                );
                req.methods = MethodsRequest::use_only();
                match engine::analyze(prometheus, catalog::builtin(), &req).await {
                    Ok(a) => use_analysis = Some(a),
                    Err(e) => notes.push(format!(
                        "The USE Method could not run for {}: {e}",
                        list.join(", ")
                    )),
                }
            }
            Err(e) => notes.push(format!(
                "The USE Method could not select the instances: {e}"
            )),
        }
    }
    if let Some(u) = &use_analysis {
        tie_to_use(&mut insights, &u.insights);
    }

    let flagged_count = insights.len();
    insights.push(summary(
        dashboard,
        extraction.panels,
        &targets,
        flagged_count,
        &notes,
        at,
        &window,
    ));
    sort_insights(&mut insights);

    let mut all_queries = queries;
    let (timing, inventory, selector) = match use_analysis {
        Some(u) => {
            all_queries.extend(u.queries);
            (
                Timing {
                    window: range,
                    ..u.timing
                },
                u.inventory,
                u.selector,
            )
        }
        None => (
            Timing::new(request.to, range, Some(request.scrape_interval)),
            Inventory {
                prometheus: None,
                instances: instances.into_iter().collect(),
                exporter_versions: BTreeMap::new(),
                scrape_interval: Some(request.scrape_interval),
                collectors: Vec::new(),
                missing: BTreeMap::new(),
            },
            String::new(),
        ),
    };
    let analysis = Analysis {
        timing,
        prometheus_url: prometheus.url().to_string(),
        selector,
        concurrency: prometheus.concurrency(),
        inventory,
        outcomes: Vec::new(),
        insights,
        queries: all_queries,
        warnings: notes.clone(),
        workload: Vec::new(),
        latency: None,
        episodes: Vec::new(),
        levels: Default::default(),
    };
    Ok(DashboardAnalysis {
        uid: dashboard.uid.clone(),
        title: dashboard.title.clone(),
        panels: extraction.panels,
        targets,
        notes,
        analysis,
    })
}

/// Reference, in each dashboard finding, the USE findings of the same instance and resource.
fn tie_to_use(insights: &mut [Insight], use_insights: &[Insight]) {
    for i in insights.iter_mut() {
        let Some(instance) = &i.instance else {
            continue;
        };
        let matching: Vec<&Insight> = use_insights
            .iter()
            .filter(|u| {
                u.instance.as_ref() == Some(instance)
                    && u.component == i.component
                    && u.severity >= Severity::Low
                    && u.issue_type != IssueType::Coverage
            })
            .collect();
        i.evidence.set("use_findings_count", matching.len() as f64);
        if matching.is_empty() {
            i.observation.push_str(&format!(
                " The USE Method found nothing past its thresholds for {} on {instance} over the same window.",
                i.component
            ));
            continue;
        }
        let named: Vec<String> = matching
            .iter()
            .map(|u| format!("\"{}\" ({}, {})", u.title, u.severity, u.id))
            .collect();
        i.observation.push_str(&format!(
            " The USE Method agrees for {instance}: {}.",
            named.join("; ")
        ));
        i.confidence = (i.confidence + 15.0).min(95.0);
        if let Some(first) = matching.first() {
            i.root_cause = format!("{} (USE: {})", i.root_cause, first.root_cause);
        }
    }
}

/// The info insight every analysis carries: what was read, run and found.
fn summary(
    dashboard: &model::Dashboard,
    panels: usize,
    targets: &[Extracted],
    flagged: usize,
    notes: &[String],
    at: DateTime<Utc>,
    window: &str,
) -> Insight {
    let panel_count = targets
        .iter()
        .map(|t| (t.panel_id, t.panel_title.as_str()))
        .collect::<BTreeSet<_>>()
        .len();
    Insight {
        id: format!("dashboard:{}:summary", dashboard.uid),
        timestamp: at,
        methodology: Methodology::DashboardAnalysis,
        component: crate::insight::Component::System,
        issue_type: IssueType::Coverage,
        use_signal: None,
        severity: Severity::Info,
        title: format!(
            "Dashboard \"{}\": {} finding(s) over the last {window}",
            dashboard.title, flagged
        ),
        observation: format!(
            "Read {panels} panel(s) of dashboard \"{}\" ({}); ran {} Prometheus quer{} from {panel_count} panel(s) over the last {window}; {flagged} finding(s); {} note(s) on what was skipped.",
            dashboard.title,
            dashboard.uid,
            targets.len(),
            if targets.len() == 1 { "y" } else { "ies" },
            notes.len()
        ),
        evidence: Evidence::new()
            .with("panels_count", panels as f64)
            .with("queries_count", targets.len() as f64)
            .with("findings_count", flagged as f64)
            .with("notes_count", notes.len() as f64),
        root_cause: String::new(),
        immediate_action: String::new(),
        investigation_steps: Vec::new(),
        long_term_fix: String::new(),
        related_metrics: Vec::new(),
        confidence: 100.0,
        book_reference: None,
        instance: None,
        device: None,
        check: "dashboard.summary".into(),
        started_at: None,
        ended_at: None,
    }
}
