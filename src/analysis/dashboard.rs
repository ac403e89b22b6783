//! Dashboard analysis through the pipeline: read a Grafana dashboard, run and judge its panels
//! ([`crate::dashboard`]), run the USE method over the instances they show, tie the two, and
//! hand back the same report model as every other analysis.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use chrono::DateTime;

use crate::{
    catalog,
    dashboard::{
        extract::{self, Extracted},
        interval, model,
        read::{self, Frame, Ran},
        resolve, summary, tie_to_use, variables, DashboardError, DashboardRequest,
        MAX_LIBRARY_PANELS,
    },
    grafana,
    insight::{sort_insights, Insight},
    inventory::{self, Inventory},
    methods::MethodsRequest,
    prometheus::{self, QueryRange},
    promql::{format_duration, Matcher, Selector},
    samples::{QueryLog, Timing},
};

use super::{analyze as analyze_use, Analysis, AnalysisRequest, DashboardHeader};

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
    /// How many series each of them returned, parallel to `targets`.
    pub series: Vec<usize>,
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
    let proxies = Proxies {
        grafana: Some(grafana),
        data_sources: &data_sources,
    };
    let mut result =
        analyze_dashboard(&dashboard, &data_sources, prometheus, &proxies, request).await?;
    // Notes of the library panels that did not resolve replace the generic ones.
    result.notes.retain(|n| {
        !(n.contains("library panel") && n.ends_with("could not be resolved; skipped."))
    });
    notes.append(&mut result.notes);
    result.notes = notes;
    result.analysis.warnings = result.notes.clone();
    Ok(result)
}

/// The dashboard's time grid: its range, the step every query ran at.
struct Range {
    grid: QueryRange,
    length: Duration,
    intervals: variables::Intervals,
}

impl Range {
    /// The range of `request`, its step Grafana's `$__interval` for it: range ÷ max data
    /// points rounded to a nice interval, no finer than the scrape interval.
    fn of(request: &DashboardRequest, scrape: Duration) -> Result<Self, DashboardError> {
        if request.to <= request.from {
            return Err(DashboardError::Request(
                "the time range is empty: `to` must be after `from`".into(),
            ));
        }
        let length = (request.to - request.from)
            .to_std()
            .unwrap_or(Duration::from_secs(3600));
        let step = interval::calculate(length, request.max_points, scrape);
        // Every query runs on one grid, so series of different panels align point for point.
        let end = DateTime::from_timestamp(
            request.to.timestamp() - request.to.timestamp().rem_euclid(step.as_secs() as i64),
            0,
        )
        .unwrap_or(request.to);
        let grid = QueryRange {
            start: crate::samples::before(end, length),
            end,
            step,
        };
        let intervals = variables::Intervals {
            interval: step,
            scrape,
            range: length,
        };
        Ok(Self {
            grid,
            length,
            intervals,
        })
    }
}

/// Analyse a parsed dashboard (library panels already resolved).
pub async fn analyze_dashboard(
    dashboard: &model::Dashboard,
    data_sources: &[grafana::DataSourceRef],
    prometheus: &prometheus::Client,
    proxies: &Proxies<'_>,
    request: &DashboardRequest,
) -> Result<DashboardAnalysis, DashboardError> {
    let started = Instant::now();
    let scrape = scrape_interval(prometheus, request).await;
    let range = Range::of(request, scrape)?;
    let mut notes = Vec::new();
    let other_prometheus = variable_sources(dashboard, data_sources, prometheus, proxies);
    let cx = resolve::Context {
        prometheus,
        request,
        intervals: &range.intervals,
        data_sources,
        other_prometheus: &other_prometheus,
    };
    let resolved = resolve::resolve(dashboard, &cx, &mut notes).await;
    let extraction = extract::extract(
        dashboard,
        &resolved.values,
        &range.intervals,
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
    let (mut ran, others) = run_all(prometheus, proxies, &extraction.targets, &range.grid).await;
    notes.append(&mut ran.notes);
    if ran.targets.is_empty() {
        if let Some(e) = ran.first_error.take() {
            return Err(DashboardError::Prometheus(e));
        }
    }
    let window = format_duration(range.length);
    let frame = Frame {
        uid: &dashboard.uid,
        grid: &range.grid,
        at: request.to,
        window: &window,
    };
    let reading = read::judge_panels(&ran, &frame);
    let sources: Vec<Option<String>> = reading
        .origins
        .iter()
        .map(|i| ran.targets[*i].data_source.clone())
        .collect();
    let mut insights = reading.insights;
    let shown = Shown {
        insights: &insights,
        sources: &sources,
        ran: &ran,
        flagged: &reading.flagged,
    };
    let instances = shown.on(None);
    let use_analysis = use_method(prometheus, request, range.length, &instances, &mut notes).await;
    let other_uses = use_on_others(&others, &shown, request, range.length, &mut notes).await;
    tie_per_source(
        &mut insights,
        &sources,
        use_analysis.as_ref(),
        &others,
        &other_uses,
    );
    let flagged_count = insights.len();
    insights.push(summary(
        dashboard,
        extraction.panels,
        &ran.targets,
        flagged_count,
        &notes,
        request.to,
        &window,
    ));
    sort_insights(&mut insights);
    let mut log = std::mem::take(&mut ran.log);
    log.stamp_offsets(started);
    // The USE queries run on the other data sources are part of what this analysis sent.
    log.queries
        .extend(other_uses.into_iter().flatten().flat_map(|u| u.queries));
    let header = header(dashboard, request, &resolved, &extraction, &ran, &others);
    let analysis = report_model(
        prometheus,
        header,
        &range,
        instances,
        use_analysis,
        insights,
        log,
        &notes,
    );
    Ok(DashboardAnalysis {
        uid: dashboard.uid.clone(),
        title: dashboard.title.clone(),
        panels: extraction.panels,
        targets: ran.targets,
        series: ran.returned,
        notes,
        analysis,
    })
}

/// How to reach the other Prometheus data sources a dashboard's targets name: Grafana's data
/// source proxy, with Grafana's token.
pub struct Proxies<'a> {
    /// Grafana (none: every target runs on the plugin's own Prometheus).
    pub grafana: Option<&'a grafana::Client>,
    /// The data sources Grafana lists.
    pub data_sources: &'a [grafana::DataSourceRef],
}

impl Proxies<'_> {
    /// The data source `uid` when it is another Prometheus than `own` (neither the default,
    /// which the plugin's Prometheus stands for, nor at `own`'s URL), with a client through
    /// Grafana's proxy for it, or why none could be built.
    fn other(
        &self,
        uid: &str,
        own: &prometheus::Client,
    ) -> Option<(String, Result<prometheus::Client, String>)> {
        let grafana = self.grafana?;
        let ds = self.data_sources.iter().find(|d| d.uid == uid)?;
        let (url, token) = grafana.data_source_proxy(uid);
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        if ds.is_default
            || (!ds.url.is_empty() && same(&ds.url, own.url()))
            || same(url.as_str(), own.url())
        {
            return None;
        }
        let name = format!(
            "Prometheus data source \"{}\" (uid `{}`, through Grafana's data source proxy)",
            crate::echo::short(&ds.name),
            crate::echo::short(uid)
        );
        let mut config = prometheus::ClientConfig::new(url);
        config.query_method = prometheus::QueryMethod::Get;
        if let Some(t) = token {
            config.auth = prometheus::Auth::Bearer(t);
        }
        let client = prometheus::Client::new(&config, None).map_err(|e| e.to_string());
        Some((name, client))
    }
}

/// Clients (by uid) for the other Prometheus data sources a query variable may ask: only
/// when some query variable names a data source at all, so a dashboard on the default data
/// source builds none.
fn variable_sources(
    dashboard: &model::Dashboard,
    data_sources: &[grafana::DataSourceRef],
    prometheus: &prometheus::Client,
    proxies: &Proxies<'_>,
) -> BTreeMap<String, prometheus::Client> {
    let names_one = dashboard
        .variables
        .iter()
        .any(|v| v.kind == "query" && v.datasource != model::DataSourceRef::Inherit);
    if !names_one {
        return BTreeMap::new();
    }
    data_sources
        .iter()
        .filter(|d| d.kind == "prometheus")
        .filter_map(|d| match proxies.other(&d.uid, prometheus)? {
            (_, Ok(client)) => Some((d.uid.clone(), client)),
            (_, Err(_)) => None,
        })
        .collect()
}

/// Another Prometheus data source some targets ran on, through Grafana's proxy.
struct Other {
    /// Its uid (what [`Extracted::data_source`] holds).
    uid: String,
    /// How notes and the report name it.
    name: String,
    /// A client through Grafana's data source proxy.
    client: prometheus::Client,
}

/// Run every target: on the data source it names when that is another Prometheus Grafana
/// knows (through Grafana's proxy), else on the plugin's own Prometheus. Targets that ran on
/// the own Prometheus end with no `data_source`, so what follows knows where each ran; the
/// other data sources reached are returned for the USE Method to run on too.
async fn run_all(
    prometheus: &prometheus::Client,
    proxies: &Proxies<'_>,
    targets: &[Extracted],
    grid: &QueryRange,
) -> (Ran, Vec<Other>) {
    let mut own = Vec::new();
    let mut others: BTreeMap<String, Vec<Extracted>> = BTreeMap::new();
    for t in targets {
        match &t.data_source {
            Some(uid) => others.entry(uid.clone()).or_default().push(t.clone()),
            None => own.push(t.clone()),
        }
    }
    let mut routed = Vec::new();
    for (uid, group) in others {
        match proxies.other(&uid, prometheus) {
            Some(found) => routed.push((uid, found, group)),
            None => own.extend(group.into_iter().map(|t| Extracted {
                data_source: None,
                ..t
            })),
        }
    }
    let mut ran = read::run_queries(prometheus, "Prometheus", &own, grid).await;
    let mut reached = Vec::new();
    for (uid, (name, client), group) in routed {
        match client {
            Ok(c) => {
                ran.append(read::run_queries(&c, &name, &group, grid).await);
                reached.push(Other {
                    uid,
                    name,
                    client: c,
                });
            }
            Err(e) => ran.notes.extend(group.iter().map(|t| {
                format!(
                    "{} query {}: {name} could not be reached: {e}",
                    crate::dashboard::narrative::panel_name(t),
                    t.ref_id
                )
            })),
        }
    }
    (ran, reached)
}

/// The findings read from one data source (`None`: the plugin's own Prometheus), `sources`
/// being parallel to `insights`.
fn from_source<'a>(
    insights: &'a mut [Insight],
    sources: &'a [Option<String>],
    source: Option<&'a str>,
) -> impl Iterator<Item = &'a mut Insight> {
    insights
        .iter_mut()
        .zip(sources)
        .filter(move |(_, s)| s.as_deref() == source)
        .map(|(i, _)| i)
}

/// The scrape interval `$__rate_interval` is built on: the request's, else the spacing of
/// Prometheus' own samples of node_exporter, else Grafana's default of 15s.
async fn scrape_interval(prometheus: &prometheus::Client, request: &DashboardRequest) -> Duration {
    if let Some(s) = request.scrape_interval {
        return s;
    }
    match inventory::basics(prometheus, &Selector::empty(), request.to).await {
        Ok(b) => b.scrape_interval.unwrap_or(DEFAULT_SCRAPE),
        Err(_) => DEFAULT_SCRAPE,
    }
}

/// Grafana's Prometheus data source's scrape interval when none is configured.
const DEFAULT_SCRAPE: Duration = Duration::from_secs(15);

/// What the panels showed, to pick the instances the USE Method runs on per data source.
struct Shown<'a> {
    /// The dashboard's findings.
    insights: &'a [Insight],
    /// Parallel to `insights`: the data source each was read from (`None`: the own one).
    sources: &'a [Option<String>],
    /// The queries that answered.
    ran: &'a Ran,
    /// Indices into `ran.targets` of the flagged queries.
    flagged: &'a [usize],
}

impl Shown<'_> {
    /// The instances the findings and the flagged panels read from `source` show.
    fn on(&self, source: Option<&str>) -> BTreeSet<String> {
        let findings = self
            .insights
            .iter()
            .zip(self.sources)
            .filter(|(_, s)| s.as_deref() == source)
            .filter_map(|(i, _)| i.instance.clone());
        let flagged = self
            .flagged
            .iter()
            .map(|i| &self.ran.targets[*i])
            .filter(|t| t.data_source.as_deref() == source)
            .flat_map(|t| t.instances.iter().cloned());
        findings.chain(flagged).collect()
    }
}

/// The USE Method on each other data source, for the instances its panels' findings show
/// there (hosts that may be on no other Prometheus), parallel to `others`.
async fn use_on_others(
    others: &[Other],
    shown: &Shown<'_>,
    request: &DashboardRequest,
    length: Duration,
    notes: &mut Vec<String>,
) -> Vec<Option<Analysis>> {
    let mut uses = Vec::with_capacity(others.len());
    for other in others {
        let instances = shown.on(Some(&other.uid));
        let mut other_notes = Vec::new();
        let u = use_method(&other.client, request, length, &instances, &mut other_notes).await;
        notes.extend(
            other_notes
                .into_iter()
                .map(|n| format!("{}: {n}", other.name)),
        );
        uses.push(u);
    }
    uses
}

/// Tie each finding to the USE analysis of the data source it was read from: the plugin's
/// own Prometheus, or another one (`other_uses` parallel to `others`).
fn tie_per_source(
    insights: &mut [Insight],
    sources: &[Option<String>],
    own: Option<&Analysis>,
    others: &[Other],
    other_uses: &[Option<Analysis>],
) {
    if let Some(u) = own {
        tie_to_use(from_source(insights, sources, None), &u.insights, None);
    }
    for (other, u) in others.iter().zip(other_uses) {
        if let Some(u) = u {
            let mine = from_source(insights, sources, Some(&other.uid));
            tie_to_use(mine, &u.insights, Some(&other.name));
        }
    }
}

/// The USE method over the same instances and (clamped) window.
async fn use_method(
    prometheus: &prometheus::Client,
    request: &DashboardRequest,
    length: Duration,
    instances: &BTreeSet<String>,
    notes: &mut Vec<String>,
) -> Option<Analysis> {
    if instances.is_empty() {
        return None;
    }
    let list: Vec<String> = instances.iter().cloned().collect();
    let matcher = match Matcher::any_of("instance", &list) {
        Ok(m) => m,
        Err(e) => {
            notes.push(format!(
                "The USE Method could not select the instances: {e}"
            ));
            return None;
        }
    };
    let mut req = AnalysisRequest::new(
        request.to,
        length.clamp(Duration::from_secs(300), Duration::from_secs(24 * 3600)),
        Selector::empty().with(matcher),
    );
    req.methods = MethodsRequest::use_only();
    match Box::pin(analyze_use(prometheus, catalog::builtin(), &req)).await {
        Ok(a) => Some(a),
        Err(e) => {
            notes.push(format!(
                "The USE Method could not run for {}: {e}",
                list.join(", ")
            ));
            None
        }
    }
}

/// The report model of a dashboard: its insights and queries on the grid its panels ran on
/// (never a grid of the report's own); the USE analysis' inventory and queries where it ran,
/// otherwise the instances its panels show (nothing more is known of them).
#[allow(clippy::too_many_arguments)]
fn report_model(
    prometheus: &prometheus::Client,
    header: DashboardHeader,
    range: &Range,
    instances: BTreeSet<String>,
    use_analysis: Option<Analysis>,
    insights: Vec<Insight>,
    log: QueryLog,
    notes: &[String],
) -> Analysis {
    let mut queries = log.queries;
    let timing = Timing::of_grid(
        &range.grid,
        range.length,
        range.intervals.rate_interval(),
        range.intervals.scrape,
    );
    let (inventory, selector, partial_data) = match use_analysis {
        Some(u) => {
            queries.extend(u.queries);
            (u.inventory, u.selector, u.partial_data)
        }
        None => (
            Inventory::seen(instances.into_iter().collect(), range.intervals.scrape),
            String::new(),
            None,
        ),
    };
    Analysis {
        timing,
        prometheus_url: prometheus.url().to_string(),
        selector,
        concurrency: prometheus.concurrency(),
        inventory,
        outcomes: Vec::new(),
        insights,
        queries,
        warnings: notes.to_vec(),
        workload: Vec::new(),
        latency: None,
        episodes: Vec::new(),
        levels: Default::default(),
        dashboard: Some(header),
        partial_data,
    }
}

/// The head of the report: what was read, run, judged and skipped.
fn header(
    dashboard: &model::Dashboard,
    request: &DashboardRequest,
    resolved: &resolve::Resolved,
    extraction: &extract::Extraction,
    ran: &Ran,
    others: &[Other],
) -> DashboardHeader {
    let key = |t: &Extracted| (t.panel_id, t.panel_title.clone());
    let judged: BTreeSet<_> = ran
        .targets
        .iter()
        .filter(|t| t.not_judged.is_none())
        .map(key)
        .collect();
    // Panels count once however many copies a repeat made of them.
    let judged_panels = judged
        .iter()
        .map(|(id, _)| *id)
        .collect::<BTreeSet<_>>()
        .len();
    let instances: BTreeSet<String> = ran
        .series
        .iter()
        .flatten()
        .filter_map(|s| s.labels.get("instance").cloned())
        .chain(ran.targets.iter().flat_map(|t| t.instances.iter().cloned()))
        .collect();
    DashboardHeader {
        data_sources: instances_by_source(ran, others),
        uid: dashboard.uid.clone(),
        title: dashboard.title.clone(),
        from: request.from,
        to: request.to,
        variables: resolved.used.clone(),
        panels_read: extraction.panels,
        panels_judged: judged_panels.min(extraction.panels),
        panels_skipped: extraction.panels.saturating_sub(judged_panels),
        grafana_queries: extraction.grafana_queries,
        queries_sent: extraction.targets.len(),
        queries_answered: ran.targets.len(),
        instances: instances.into_iter().collect(),
    }
}

/// Which data source each instance the panels show came from, the plugin's own Prometheus
/// first; empty when every query ran on it (nothing to tell apart).
fn instances_by_source(ran: &Ran, others: &[Other]) -> Vec<(String, Vec<String>)> {
    if others.is_empty() {
        return Vec::new();
    }
    let mut by_source: BTreeMap<Option<&str>, BTreeSet<String>> = BTreeMap::new();
    for (t, series) in ran.targets.iter().zip(&ran.series) {
        let shown = series
            .iter()
            .filter_map(|s| s.labels.get("instance").cloned())
            .chain(t.instances.iter().cloned());
        by_source
            .entry(t.data_source.as_deref())
            .or_default()
            .extend(shown);
    }
    by_source
        .into_iter()
        .map(|(source, instances)| {
            let name = match source {
                None => "the plugin's Prometheus".to_string(),
                Some(uid) => others
                    .iter()
                    .find(|o| o.uid == uid)
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| format!("data source `{uid}`")),
            };
            (name, instances.into_iter().collect())
        })
        .collect()
}
