//! Reading a dashboard's panels: every extracted query run on one grid, then each panel judged
//! by its own thresholds and the flagged ones correlated with the others.

use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};

use crate::{
    insight::Insight,
    prometheus::{self, QueryRange},
    samples::{Over, QueryLog, Recorder},
};

use super::{
    correlate,
    extract::Extracted,
    judge::{self, SeriesData},
    narrative, CONCURRENCY, MAX_SERIES_PER_QUERY,
};

/// The queries that ran, with their series.
pub struct Ran {
    /// The queries that answered, in the order extracted.
    pub targets: Vec<Extracted>,
    /// Their series (at most [`MAX_SERIES_PER_QUERY`] each), parallel to `targets`.
    pub series: Vec<Vec<SeriesData>>,
    /// How many series each returned, cut ones included, parallel to `targets`.
    pub returned: Vec<usize>,
    /// Every query sent.
    pub log: QueryLog,
    /// What was cut or failed, per query.
    pub notes: Vec<String>,
    /// The first error that was not the query's own (Prometheus unusable).
    pub first_error: Option<prometheus::PrometheusError>,
}

/// Run every target over `grid`, a few at a time, on `client` (named `source` in notes).
pub async fn run_queries(
    client: &prometheus::Client,
    source: &str,
    targets: &[Extracted],
    grid: &QueryRange,
) -> Ran {
    let recorder = Recorder::new(client);
    let answers: Vec<_> = stream::iter(targets.iter().cloned())
        .map(|t| async move {
            let mut log = QueryLog::new();
            let label = format!("{} query {}", narrative::panel_name(&t), t.ref_id);
            let keep = |acc: &mut (Vec<SeriesData>, usize), s: prometheus::Series| {
                if acc.0.len() < MAX_SERIES_PER_QUERY {
                    acc.0.push(SeriesData {
                        labels: s.labels,
                        points: s.points,
                    });
                } else {
                    acc.1 += 1;
                }
            };
            let kept = |acc: &(Vec<SeriesData>, usize)| acc.0.len() + acc.1;
            let answer = recorder
                .fold(
                    &mut log,
                    label.clone(),
                    &t.promql,
                    Over::Range(grid),
                    (Vec::new(), 0),
                    keep,
                    kept,
                )
                .await;
            (t, label, answer, log)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut ran = Ran {
        targets: Vec::new(),
        series: Vec::new(),
        returned: Vec::new(),
        log: QueryLog::new(),
        notes: Vec::new(),
        first_error: None,
    };
    for (t, label, answer, mut log) in answers {
        for w in std::mem::take(&mut log.warnings) {
            ran.notes.push(format!("{label}: Prometheus warning: {w}"));
        }
        ran.log.extend(log);
        match answer {
            Ok((kept, cut)) => {
                if cut > 0 {
                    ran.notes.push(format!(
                        "{label}: {} series; only the first {MAX_SERIES_PER_QUERY} were judged.",
                        kept.len() + cut
                    ));
                }
                ran.targets.push(t);
                ran.returned.push(kept.len() + cut);
                ran.series.push(kept);
            }
            Err(e) => {
                ran.notes
                    .push(format!("{label}: {source} could not run it: {e}"));
                if ran.first_error.is_none() && !e.is_query_error() {
                    ran.first_error = Some(e);
                }
            }
        }
    }
    ran
}

impl Ran {
    /// Add the queries of `other` (run on another data source) after these; its first error
    /// is left out (it says nothing about this Prometheus).
    pub fn append(&mut self, other: Ran) {
        self.targets.extend(other.targets);
        self.series.extend(other.series);
        self.returned.extend(other.returned);
        self.log.extend(other.log);
        self.notes.extend(other.notes);
    }
}

/// What the panels showed: their findings, and which queries were flagged.
pub struct Reading {
    /// Panel findings, correlations and simultaneous changes.
    pub insights: Vec<Insight>,
    /// Indices (into `Ran::targets`) of the flagged queries.
    pub flagged: Vec<usize>,
    /// Parallel to `insights`: the query (index into `Ran::targets`) each finding comes from
    /// (a correlation's or simultaneous change's first panel), so a finding can be tied to
    /// the USE Method of the data source it was read from.
    pub origins: Vec<usize>,
}

/// Where and when the panels were read.
pub struct Frame<'a> {
    /// The dashboard's uid.
    pub uid: &'a str,
    /// The grid every query ran on.
    pub grid: &'a QueryRange,
    /// The end of the range.
    pub at: DateTime<Utc>,
    /// The range as text (`1h`).
    pub window: &'a str,
}

/// Judge every panel, then correlate the flagged queries with every other.
pub fn judge_panels(ran: &Ran, frame: &Frame<'_>) -> Reading {
    let (targets, series) = (&ran.targets, &ran.series);
    let judgements: Vec<judge::Judgement> = targets
        .iter()
        .zip(series)
        .map(|(t, s)| match &t.not_judged {
            // The panel shows transformed values: judging the raw series would misread it.
            Some(_) => judge::Judgement {
                breach: None,
                plateau: None,
                step: None,
                thresholds: Vec::new(),
            },
            None => judge::judge(&t.field, s),
        })
        .collect();
    let (mut insights, mut origins) = panel_findings(targets, &judgements, frame);
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
    let found = Found {
        insights: &mut insights,
        origins: &mut origins,
    };
    correlations(ran, &panel_keys, &flagged, frame, found);
    let found = Found {
        insights: &mut insights,
        origins: &mut origins,
    };
    simultaneous_changes(targets, &judgements, &panel_keys, frame, found);
    Reading {
        insights,
        flagged,
        origins,
    }
}

/// The findings gathered so far and, parallel to them, the query each comes from.
struct Found<'a> {
    insights: &'a mut Vec<Insight>,
    origins: &'a mut Vec<usize>,
}

impl Found<'_> {
    fn push(&mut self, insight: Insight, origin: usize) {
        self.insights.push(insight);
        self.origins.push(origin);
    }
}

/// Each panel's own findings.
fn panel_findings(
    targets: &[Extracted],
    judgements: &[judge::Judgement],
    frame: &Frame<'_>,
) -> (Vec<Insight>, Vec<usize>) {
    let mut insights = Vec::new();
    let mut origins = Vec::new();
    for (index, (t, j)) in targets.iter().zip(judgements).enumerate() {
        let judged = narrative::Judged {
            target: t,
            judgement: j,
            uid: frame.uid,
        };
        let mut found = narrative::findings(&judged, frame.at, frame.window);
        // An aggregated series has no `instance` label; a query that selects exactly one
        // instance still says which host it shows.
        if let [only] = t.instances.as_slice() {
            for i in found.iter_mut().filter(|i| i.instance.is_none()) {
                i.instance = Some(only.clone());
            }
        }
        origins.extend(std::iter::repeat_n(index, found.len()));
        insights.extend(found);
    }
    (insights, origins)
}

/// Flagged queries that move with another panel's series.
fn correlations(
    ran: &Ran,
    panel_keys: &[String],
    flagged: &[usize],
    frame: &Frame<'_>,
    mut found: Found<'_>,
) {
    let targets = &ran.targets;
    let scales: Vec<f64> = targets
        .iter()
        .zip(&ran.series)
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
        .zip(&ran.series)
        .zip(&scales)
        .zip(panel_keys)
        .map(|(((t, s), scale), panel)| correlate::Query {
            series: s,
            panel: panel.clone(),
            scale: *scale,
            metrics: &t.metrics,
        })
        .collect();
    for c in &correlate::correlations(&inputs, flagged) {
        let (a, b) = (&targets[c.a], &targets[c.b]);
        found.push(narrative::correlation(frame.uid, c, a, b, frame.at), c.a);
        // The flagged panel's own insight names its companion too.
        let prefix = format!(
            "dashboard:{}:{}:{}:",
            frame.uid,
            a.panel_id.map(|x| x.to_string()).unwrap_or_default(),
            a.panel_title,
        );
        for i in found
            .insights
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
}

/// Panels that changed at the same time.
fn simultaneous_changes(
    targets: &[Extracted],
    judgements: &[judge::Judgement],
    panel_keys: &[String],
    frame: &Frame<'_>,
    mut found: Found<'_>,
) {
    let step = frame.grid.step;
    let changes: Vec<(usize, f64)> = judgements
        .iter()
        .enumerate()
        .filter_map(|(i, j)| {
            // A breach that holds from the first point began before the range: no change seen.
            let first = frame.grid.start.timestamp() as f64 + step.as_secs_f64();
            let from_step = j.step.as_ref().map(|s| s.at);
            let from_breach = j.breach.as_ref().map(|b| b.from).filter(|t| *t > first);
            from_step.or(from_breach).map(|t| (i, t))
        })
        .collect();
    for group in correlate::simultaneous(&changes, panel_keys, step.as_secs_f64()) {
        let when = changes
            .iter()
            .find(|(i, _)| *i == group[0])
            .map(|(_, t)| *t)
            .unwrap_or_default();
        let members: Vec<&Extracted> = group.iter().map(|i| &targets[*i]).collect();
        found.push(
            narrative::simultaneous(frame.uid, &members, when, frame.at),
            group[0],
        );
    }
}
