//! The query types this data source answers, and their names in `queryType`.

/// The query types this data source answers (docs/frames.md has each frame contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "snake_case"))]
pub enum QueryType {
    /// CPU utilization per instance as a table.
    UseSummary,
    /// One row per insight, every field of the model.
    Insights,
    /// What the report panel renders: summary, insights, checks, coverage, Markdown.
    Report,
    /// One region per period a condition held within the dashboard's range.
    Annotations,
    /// `severity_level` per instance × check, for Grafana Alerting.
    Alert,
    /// Instances × resources × utilization/saturation/errors.
    UseMatrix,
    /// The worst severity per component (or instance) over the range, as a wide time series.
    SeverityTimeline,
    /// A user's own PromQL check, judged like a catalog check.
    PromqlCheck,
    /// Instance names, for template variables.
    Instances,
    /// A Grafana dashboard's panels read the Gregg way (insight rows).
    Dashboard,
}

impl QueryType {
    /// Every query type, with its name.
    pub const ALL: &'static [(QueryType, &'static str)] = &[
        (QueryType::UseSummary, "use_summary"),
        (QueryType::Insights, "insights"),
        (QueryType::Report, "report"),
        (QueryType::Annotations, "annotations"),
        (QueryType::Alert, "alert"),
        (QueryType::UseMatrix, "use_matrix"),
        (QueryType::SeverityTimeline, "severity_timeline"),
        (QueryType::PromqlCheck, "promql_check"),
        (QueryType::Instances, "instances"),
        (QueryType::Dashboard, "dashboard"),
    ];

    /// The query type used when a query names none.
    pub const DEFAULT: QueryType = QueryType::UseSummary;

    /// Its name in `queryType`.
    pub fn as_str(self) -> &'static str {
        QueryType::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    /// Every name.
    pub fn names() -> Vec<&'static str> {
        QueryType::ALL.iter().map(|(_, n)| *n).collect()
    }

    pub(super) fn parse(name: &str) -> Option<QueryType> {
        QueryType::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }
}
