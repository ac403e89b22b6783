//! Judgements and correlations → insights in the common model, methodology
//! `dashboard_analysis`. Every insight names its panel(s) and query(ies); numbers go in the
//! evidence with unit suffixes; the PromQL that ran leads `related_metrics`.

use chrono::{DateTime, Utc};

use super::{
    correlate::Correlation,
    extract::Extracted,
    judge::{self, Breach, Judgement, Level, Plateau, StepChange},
    rules,
};
use crate::insight::{Evidence, Insight, IssueType, Methodology, Severity, UseSignal};

/// One query with what was found.
pub struct Judged<'a> {
    /// The query.
    pub target: &'a Extracted,
    /// Its judgement.
    pub judgement: &'a Judgement,
    /// The dashboard uid.
    pub uid: &'a str,
}

/// `Panel 12 "CPU Busy"` (or the title alone without an id).
pub fn panel_name(t: &Extracted) -> String {
    match t.panel_id {
        Some(id) => format!("panel {id} \"{}\"", t.panel_title),
        None => format!("panel \"{}\"", t.panel_title),
    }
}

/// The insight's `check`: `dashboard.<kind>`.
fn check(kind: &str) -> String {
    format!("dashboard.{kind}")
}

fn id(uid: &str, t: &Extracted, kind: &str, instance: Option<&str>) -> String {
    format!(
        "dashboard:{uid}:{}:{}:{}:{kind}:{}",
        t.panel_id.map(|i| i.to_string()).unwrap_or_default(),
        t.panel_title,
        t.ref_id,
        instance.unwrap_or("")
    )
}

fn time(t: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t as i64, 0)
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn suffix(t: &Extracted) -> &'static str {
    judge::display_unit(t.field.unit.as_deref())
        .map(|(u, _)| u.suffix())
        .unwrap_or("_value")
}

fn scaled(t: &Extracted, v: f64) -> f64 {
    judge::display_unit(t.field.unit.as_deref())
        .map(|(_, f)| v * f)
        .unwrap_or(v)
}

fn base(j: &Judged<'_>, at: DateTime<Utc>) -> Insight {
    let rule = rules::rule_for(&j.target.metrics);
    let mut related = vec![j.target.promql.clone()];
    if j.target.original.trim() != j.target.promql {
        related.push(format!(
            "as written in the dashboard: {}",
            j.target.original.trim()
        ));
    }
    Insight {
        id: String::new(),
        timestamp: at,
        methodology: Methodology::DashboardAnalysis,
        component: rule.component,
        issue_type: IssueType::Anomaly,
        use_signal: None,
        severity: Severity::Info,
        title: String::new(),
        observation: String::new(),
        evidence: Evidence::new(),
        root_cause: rule.root_cause.to_string(),
        immediate_action: rule.immediate_action.to_string(),
        investigation_steps: rule.steps.iter().map(|s| s.to_string()).collect(),
        long_term_fix: rule.long_term_fix.to_string(),
        related_metrics: related,
        confidence: 60.0,
        book_reference: Some(rule.book.to_string()),
        instance: None,
        device: None,
        check: String::new(),
        started_at: None,
        ended_at: None,
    }
}

/// The insights of one judged query: a breach (high/critical past red, medium past orange),
/// else a plateau at the limit (medium), else a step change (low).
pub fn findings(j: &Judged<'_>, at: DateTime<Utc>, window: &str) -> Vec<Insight> {
    let judgement = j.judgement;
    let insight = if let Some(b) = &judgement.breach {
        breach_insight(j, b, at, window)
    } else if let Some(p) = &judgement.plateau {
        plateau_insight(j, p, at, window)
    } else if let Some(s) = &judgement.step {
        step_insight(j, s, at)
    } else {
        return Vec::new();
    };
    vec![insight]
}

/// How a sentence names the query: `query A `<PromQL>``.
fn query_name(t: &Extracted) -> String {
    format!("query {} `{}`", t.ref_id, t.promql)
}

/// ` on <instance>` for a title, or nothing.
fn on_instance(instance: Option<&str>) -> String {
    instance.map(|x| format!(" on {x}")).unwrap_or_default()
}

/// A sustained breach of a threshold: critical past red for half the window or more, high for
/// less, medium past a warning colour; saturation when the series also plateaus at the limit.
fn breach_insight(j: &Judged<'_>, b: &Breach, at: DateTime<Utc>, window: &str) -> Insight {
    let t = j.target;
    let f = &t.field;
    let unit = suffix(t);
    let mut i = base(j, at);
    let critical = b.threshold.level == Level::Critical;
    i.severity = match (critical, b.share >= 0.5) {
        (true, true) => Severity::Critical,
        (true, false) => Severity::High,
        (false, _) => Severity::Medium,
    };
    i.issue_type = if j.judgement.plateau.is_some() {
        IssueType::Saturation
    } else {
        IssueType::Capacity
    };
    i.use_signal = Some(UseSignal::Utilization);
    let side = if b.threshold.above { "above" } else { "below" };
    let colour = if critical { "red" } else { "warning" };
    i.title = format!(
        "Dashboard panel \"{}\" {side} its {colour} threshold of {}{}",
        t.panel_title,
        judge::format(f, b.threshold.value),
        on_instance(b.instance.as_deref())
    );
    i.observation = format!(
        "In {}, {}, series {} was {side} the panel's {colour} threshold of {} for {} of the last {window} (mean {}, {} {}); {} series of this query were {side} it for a sustained stretch.{}",
        panel_name(t),
        query_name(t),
        b.series,
        judge::format(f, b.threshold.value),
        percent(b.share),
        judge::format(f, b.mean),
        if b.threshold.above { "peak" } else { "lowest" },
        judge::format(f, b.peak),
        b.series_breaching,
        j.judgement
            .plateau
            .as_ref()
            .map(|p| format!(
                " It sat flat at the panel's limit of {} for {} of the window: a saturation-like plateau.",
                judge::format(f, p.limit),
                percent(p.share)
            ))
            .unwrap_or_default()
    );
    i.evidence = Evidence::new()
        .with(format!("threshold{unit}"), scaled(t, b.threshold.value))
        .with(format!("mean{unit}"), scaled(t, b.mean))
        .with(format!("peak{unit}"), scaled(t, b.peak))
        .with("breach_share_percent", b.share * 100.0)
        .with("series_breaching_count", b.series_breaching as f64);
    if let Some(p) = &j.judgement.plateau {
        i.evidence.set("plateau_share_percent", p.share * 100.0);
    }
    i.confidence = (55.0 + 40.0 * b.share).min(95.0);
    i.instance = b.instance.clone();
    i.started_at = time(b.from);
    i.ended_at = time(b.to);
    i.id = id(j.uid, t, "breach", b.instance.as_deref());
    i.check = check("threshold");
    i
}

/// A series pinned at the panel's limit with no threshold breached: medium, saturation.
fn plateau_insight(j: &Judged<'_>, p: &Plateau, at: DateTime<Utc>, window: &str) -> Insight {
    let t = j.target;
    let f = &t.field;
    let mut i = base(j, at);
    i.severity = Severity::Medium;
    i.issue_type = IssueType::Saturation;
    i.use_signal = Some(UseSignal::Saturation);
    i.title = format!(
        "Dashboard panel \"{}\" flat at its limit of {}{}",
        t.panel_title,
        judge::format(f, p.limit),
        on_instance(p.instance.as_deref())
    );
    i.observation = format!(
        "In {}, {}, series {} sat at the panel's limit of {} for {} of the last {window}. A value pinned at its maximum hides how much more is wanted: look for the queue behind it (saturation).",
        panel_name(t),
        query_name(t),
        p.series,
        judge::format(f, p.limit),
        percent(p.share)
    );
    i.evidence = Evidence::new()
        .with(format!("limit{}", suffix(t)), scaled(t, p.limit))
        .with("plateau_share_percent", p.share * 100.0);
    i.confidence = 60.0;
    i.instance = p.instance.clone();
    i.started_at = time(p.from);
    i.id = id(j.uid, t, "plateau", p.instance.as_deref());
    i.check = check("plateau");
    i
}

/// A held step change with nothing breached or pinned: low, an anomaly to explain, with the
/// book's rule replaced by advice about changes.
fn step_insight(j: &Judged<'_>, s: &StepChange, at: DateTime<Utc>) -> Insight {
    let t = j.target;
    let f = &t.field;
    let unit = suffix(t);
    let mut i = base(j, at);
    i.severity = Severity::Low;
    i.issue_type = IssueType::Anomaly;
    let dir = if s.after >= s.before { "rose" } else { "fell" };
    i.title = format!(
        "Dashboard panel \"{}\" {dir} from {} to {}{}",
        t.panel_title,
        judge::format(f, s.before),
        judge::format(f, s.after),
        on_instance(s.instance.as_deref())
    );
    i.observation = format!(
        "In {}, {}, series {} {dir} from a median of {} to {} at {} and stayed there. A step change with no threshold crossed is a change of workload or configuration worth explaining.",
        panel_name(t),
        query_name(t),
        s.series,
        judge::format(f, s.before),
        judge::format(f, s.after),
        time(s.at)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    );
    i.root_cause =
        "A change of workload, deployment or configuration at that moment (a step, not a drift)."
            .into();
    i.immediate_action =
        "Correlate the time of the change with deployments, cron jobs and traffic changes.".into();
    i.evidence = Evidence::new()
        .with(format!("before{unit}"), scaled(t, s.before))
        .with(format!("after{unit}"), scaled(t, s.after));
    i.confidence = 50.0;
    i.instance = s.instance.clone();
    i.started_at = time(s.at);
    i.id = id(j.uid, t, "step", s.instance.as_deref());
    i.check = check("step_change");
    i
}

/// An insight naming two panels whose series move together.
pub fn correlation(
    uid: &str,
    c: &Correlation,
    a: &Extracted,
    b: &Extracted,
    at: DateTime<Utc>,
) -> Insight {
    let rule = rules::rule_for(&a.metrics);
    let together = if c.r > 0.0 {
        "together"
    } else {
        "in opposite directions"
    };
    Insight {
        id: format!(
            "dashboard:{uid}:correlation:{}:{}:{}:{}",
            a.panel_id.unwrap_or_default(),
            a.ref_id,
            b.panel_id.unwrap_or_default(),
            b.ref_id
        ),
        timestamp: at,
        methodology: Methodology::DashboardAnalysis,
        component: rule.component,
        issue_type: IssueType::Anomaly,
        use_signal: None,
        severity: Severity::Low,
        title: format!(
            "Dashboard panels \"{}\" and \"{}\" move {together}",
            a.panel_title, b.panel_title
        ),
        observation: format!(
            "Series {} of {} (query {} `{}`) and series {} of {} (query {} `{}`) move {together} (Pearson r = {:.2} over {} points): read them as one story, and look for the cause that drives both.",
            c.series_a,
            panel_name(a),
            a.ref_id,
            a.promql,
            c.series_b,
            panel_name(b),
            b.ref_id,
            b.promql,
            c.r,
            c.points
        ),
        evidence: Evidence::new()
            .with("pearson_r_ratio", c.r)
            .with("points_count", c.points as f64),
        root_cause: "One cause behind both panels: the resource of one is the bottleneck of the other, or both follow the same workload.".into(),
        immediate_action: "Overlay both queries in Explore and check which one moves first.".into(),
        investigation_steps: vec![
            "Overlay the two queries in one Explore panel".into(),
            "Check which series leads (the cause usually moves first)".into(),
        ],
        long_term_fix: "Put correlated signals side by side on the dashboard, so the next incident reads them together.".into(),
        related_metrics: vec![a.promql.clone(), b.promql.clone()],
        confidence: (c.r.abs() * 80.0).min(90.0),
        book_reference: Some("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.12 Drill-Down Analysis; 2.8 Statistics".into()),
        instance: None,
        device: None,
        check: check("correlation"),
        started_at: None,
        ended_at: None,
    }
}

/// An insight naming the panels whose changes began at the same time.
pub fn simultaneous(uid: &str, group: &[&Extracted], when: f64, at: DateTime<Utc>) -> Insight {
    let names: Vec<String> = group
        .iter()
        .map(|t| format!("{} (query {} `{}`)", panel_name(t), t.ref_id, t.promql))
        .collect();
    let titles: Vec<String> = group
        .iter()
        .map(|t| format!("\"{}\"", t.panel_title))
        .collect();
    let when_text = time(when)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    Insight {
        id: format!("dashboard:{uid}:simultaneous:{}", when as i64),
        timestamp: at,
        methodology: Methodology::DashboardAnalysis,
        component: rules::rule_for(&group[0].metrics).component,
        issue_type: IssueType::Anomaly,
        use_signal: None,
        severity: Severity::Low,
        title: format!("{} changed at the same time ({when_text})", titles.join(", ")),
        observation: format!(
            "These panels changed within one step of each other at {when_text}: {}. Changes that start together usually share a cause.",
            names.join("; ")
        ),
        evidence: Evidence::new().with("panels_count", group.len() as f64),
        root_cause: "One event (a deployment, a job, a traffic shift, a failing component) at that moment.".into(),
        immediate_action: "Look up what happened at that time: deploys, cron jobs, failovers.".into(),
        investigation_steps: vec!["Annotate the dashboard with deployments and incidents".into()],
        long_term_fix: "Record deployments as Grafana annotations so changes explain themselves.".into(),
        related_metrics: group.iter().map(|t| t.promql.clone()).collect(),
        confidence: 60.0,
        book_reference: Some("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.6 Scientific Method; 2.5.13 Latency Analysis".into()),
        instance: None,
        device: None,
        check: check("simultaneous_change"),
        started_at: time(when),
        ended_at: None,
    }
}
