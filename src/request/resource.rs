//! The resource routes' parameters → what to compute and how to render it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    error::{Origin, Problem, RequestError},
    fields::Fields,
    filters::Filters,
    format::{parse_format, Format},
    methods,
    params::Params,
    query::{self, Query, QueryType},
    time::parse_time,
    window::{self, DEFAULT_DASHBOARD_WINDOW, DEFAULT_REPORT_WINDOW},
};
use crate::{dashboard::DashboardRequest, grafana::SearchQuery, insight::Methodology};

/// `format`: json by default.
fn format(params: &Params) -> Result<Format, RequestError> {
    params
        .last("format")
        .map(parse_format)
        .transpose()
        .map_err(|e| params.error("format", e).into())
        .map(|f| f.unwrap_or(Format::Json))
}

/// A time parameter.
fn time(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, RequestError> {
    params
        .last(name)
        .map(parse_time)
        .transpose()
        .map_err(|e| params.error(name, e).into())
}

/// `report` and `coverage`: the analysis a report query would run, its format and time.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRequest {
    /// How to render it.
    pub format: Format,
    /// Evaluation time (now when `None`).
    pub at: Option<DateTime<Utc>>,
    /// The analysis and its filters, as a `report` query.
    pub query: Query,
}

impl ReportRequest {
    /// The parameters `report` and `coverage` take.
    pub const PARAMETERS: &'static [&'static str] = &[
        "format",
        "window",
        "instances",
        "minSeverity",
        "components",
        "methodologies",
        "histogram",
        "slo",
        "groupBy",
        "at",
    ];

    /// Read the parameters; `coverage` needs the USE checks only (whatever `methodologies`
    /// says). The window is 10 minutes unless given.
    pub fn parse(params: &Params, coverage: bool) -> Result<ReportRequest, RequestError> {
        let format = format(params)?;
        params.only(Self::PARAMETERS, None)?;
        let window = query::window(params, DEFAULT_REPORT_WINDOW)?;
        let mut query = Query::new(Origin::Parameter, QueryType::Report, window);
        query.filters = Filters::parse(params)?;
        if coverage {
            query.filters.methodologies = Some(vec![Methodology::UseMethod]);
        }
        query.methods = methods::options(params, &query.filters)?;
        Ok(ReportRequest {
            format,
            at: time(params, "at")?,
            query,
        })
    }
}

/// `dashboards`: Grafana's dashboard search.
pub fn search(params: &Params) -> Result<SearchQuery, RequestError> {
    params.only(
        &["query", "tag", "tags", "folderUIDs", "folderUid", "limit"],
        None,
    )?;
    let limit = params
        .last("limit")
        .map(|l| {
            l.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                params.error(
                    "limit",
                    Problem::NotPositive {
                        text: crate::echo::short(l).into_owned(),
                    },
                )
            })
        })
        .transpose()?;
    let mut tags = params.all("tag");
    tags.extend(params.all("tags"));
    let mut folder_uids = params.all("folderUIDs");
    folder_uids.extend(params.all("folderUid"));
    Ok(SearchQuery {
        query: params.last("query").map(str::to_string),
        tags,
        folder_uids,
        limit,
    })
}

/// `dashboards/<uid>/analysis`: the range, panels, variables and filters of a dashboard
/// analysis, and the format of its report.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardAnalysisRequest {
    /// How to render it.
    pub format: Format,
    /// Start (`window` before `to` when `None`).
    pub from: Option<DateTime<Utc>>,
    /// End (now when `None`).
    pub to: Option<DateTime<Utc>>,
    /// The range's length when `from` is not given.
    pub window: std::time::Duration,
    /// Only these panels.
    pub panel_ids: Option<Vec<i64>>,
    /// Variable values (`var-<name>`, repeated for several).
    pub variables: BTreeMap<String, Vec<String>>,
    /// Which insights to report.
    pub filters: Filters,
}

impl DashboardAnalysisRequest {
    /// The parameters it takes, besides `var-<name>`.
    pub const PARAMETERS: &'static [&'static str] = &[
        "format",
        "window",
        "from",
        "to",
        "panels",
        "minSeverity",
        "components",
        "methodologies",
    ];

    /// Read the parameters.
    pub fn parse(params: &Params) -> Result<DashboardAnalysisRequest, RequestError> {
        params.only(Self::PARAMETERS, Some("var-"))?;
        let window = params
            .last("window")
            .map(window::parse_duration)
            .transpose()
            .map_err(|e| params.error("window", e))?
            .unwrap_or(DEFAULT_DASHBOARD_WINDOW);
        let panels = params.all("panels");
        let panel_ids = (!panels.is_empty())
            .then(|| {
                panels
                    .iter()
                    .map(|p| p.parse::<i64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        params.error(
                            "panels",
                            Problem::NotPanelIds {
                                text: crate::echo::short(&panels.join(",")).into_owned(),
                            },
                        )
                    })
            })
            .transpose()?;
        let mut variables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in params.iter() {
            if let Some(name) = k.strip_prefix("var-") {
                variables
                    .entry(name.to_string())
                    .or_default()
                    .push(v.to_string());
            }
        }
        Ok(DashboardAnalysisRequest {
            format: format(params)?,
            to: time(params, "to")?,
            from: time(params, "from")?,
            window,
            panel_ids,
            variables,
            filters: Filters::parse(params)?,
        })
    }

    /// The dashboard analysis of dashboard `uid`, `now` being the default end.
    pub fn dashboard_request(&self, uid: &str, now: DateTime<Utc>) -> DashboardRequest {
        let (from, to) = window::range(self.from, self.to, self.window, now);
        let mut request = DashboardRequest::new(uid, from, to);
        request.panel_ids = self.panel_ids.clone();
        request.variables = self.variables.clone();
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::Severity;

    fn params(query: &str) -> Params {
        Params::parse(query).unwrap()
    }

    #[test]
    fn the_report_reads_like_a_report_query() {
        let r = ReportRequest::parse(
            &params("format=md&window=30s&minSeverity=high&components=cpu&at=1795788300.5"),
            false,
        )
        .unwrap();
        assert_eq!(r.format, Format::Markdown);
        assert_eq!(r.query.window, std::time::Duration::from_secs(30));
        assert_eq!(r.query.filters.min_severity, Severity::High);
        assert_eq!(
            r.query.filters.components,
            Some(vec![crate::insight::Component::Cpu])
        );
        assert_eq!(r.at.map(|t| t.timestamp_millis()), Some(1_795_788_300_500));
        let defaults = ReportRequest::parse(&params(""), false).unwrap();
        assert_eq!((defaults.format, defaults.at), (Format::Json, None));
        assert_eq!(defaults.query.window, DEFAULT_REPORT_WINDOW);
        let coverage = ReportRequest::parse(&params("methodologies=latency"), true).unwrap();
        assert_eq!(
            coverage.query.methods.methods,
            [crate::methods::Method::Use]
        );
    }

    #[test]
    fn bad_report_parameters_name_themselves() {
        for (query, want) in [
            ("format=pdf", "parameter `format`: `pdf` is not a format"),
            ("window=5", "parameter `window`: `5` is not a duration"),
            ("window=10s", "parameter `window`: `10s` is too short"),
            (
                "instances=a(b",
                "parameter `instances`: not a valid regular expression",
            ),
            (
                "at=yesterday",
                "parameter `at`: `yesterday` is neither RFC 3339",
            ),
            ("at=-5", "parameter `at`: `-5` is before 1970"),
            (
                "colour=blue",
                "unknown parameter `colour`; known: format, window",
            ),
            (
                "minSeverity=worst",
                "parameter `minSeverity`: `worst` is not a severity",
            ),
        ] {
            let err = ReportRequest::parse(&params(query), false)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{query}: {err}");
        }
    }

    #[test]
    fn a_dashboard_analysis_reads_its_range_panels_variables_and_filters() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let r = DashboardAnalysisRequest::parse(&params(
            "from=1795784700000&to=1795788300&panels=2,5&var-node=a&var-node=b&minSeverity=low&components=disk",
        ))
        .unwrap();
        let d = r.dashboard_request("uid", t(0));
        assert_eq!((d.from, d.to), (t(1_795_784_700), t(1_795_788_300)));
        assert_eq!(d.panel_ids, Some(vec![2, 5]));
        assert_eq!(d.variables["node"], ["a", "b"]);
        assert_eq!(r.filters.min_severity, Severity::Low);
        assert_eq!(r.format, Format::Json);
        let windowed = DashboardAnalysisRequest::parse(&params("window=2h")).unwrap();
        let d = windowed.dashboard_request("uid", t(10_000));
        assert_eq!((d.from, d.to), (t(2_800), t(10_000)));
        for (query, want) in [
            ("x=1", "unknown parameter `x`; known: format"),
            ("to=z", "parameter `to`:"),
            ("panels=a", "parameter `panels`:"),
            ("window=soon", "parameter `window`:"),
        ] {
            let err = DashboardAnalysisRequest::parse(&params(query))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{query}: {err}");
        }
    }

    #[test]
    fn a_search_reads_tags_folders_and_a_positive_limit() {
        let s = search(&params("query=cpu&tag=a,b&tags=c&folderUIDs=f&limit=5")).unwrap();
        assert_eq!(s.tags, ["a", "b", "c"]);
        assert_eq!(s.folder_uids, ["f"]);
        assert_eq!(s.limit, Some(5));
        let err = search(&params("limit=0")).unwrap_err().to_string();
        assert_eq!(err, "parameter `limit`: `0` is not a positive whole number");
        assert!(search(&params("nope=1")).is_err());
    }
}
