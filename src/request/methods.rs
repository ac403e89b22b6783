//! Method options: which methods run (a query's `methodologies`, the CLI's `--methods`), the
//! histogram and its SLO, the peer-group label.

use super::{error::FieldError, fields::Fields, filters::Filters};
use crate::{
    insight::Methodology,
    methods::{group_label, HistogramRequest, Method, MethodError, MethodsRequest, Slo},
};

/// The methods behind `methodologies`: every method when there is no such filter, USE when it
/// names none that runs (dashboard analysis, custom queries).
pub fn methods_of(methodologies: Option<&[Methodology]>) -> Vec<Method> {
    let Some(list) = methodologies else {
        return Method::ALL.to_vec();
    };
    let mut methods: Vec<Method> = list.iter().filter_map(|m| method_of(*m)).collect();
    methods.sort();
    methods.dedup();
    if methods.is_empty() {
        methods.push(Method::Use);
    }
    methods
}

fn method_of(m: Methodology) -> Option<Method> {
    match m {
        Methodology::UseMethod => Some(Method::Use),
        Methodology::WorkloadCharacterization => Some(Method::Workload),
        Methodology::DrillDown => Some(Method::Drilldown),
        Methodology::LatencyAnalysis => Some(Method::Latency),
        Methodology::FleetOutliers => Some(Method::Outliers),
        Methodology::DashboardAnalysis | Methodology::CustomQuery => None,
    }
}

/// The methods options of a query or resource: the methods of its `methodologies` filter,
/// `histogram` (with `slo`) and `groupBy`.
pub fn options(fields: &impl Fields, filters: &Filters) -> Result<MethodsRequest, FieldError> {
    let field = |name: &'static str| move |e: MethodError| fields.error(name, e);
    let slo = fields
        .non_blank("slo")?
        .map(|s| slo(&s))
        .transpose()
        .map_err(field("slo"))?;
    let histogram = fields
        .non_blank("histogram")?
        .map(|h| HistogramRequest::parse(&h, slo))
        .transpose()
        .map_err(field("histogram"))?;
    let group_by = fields
        .non_blank("groupBy")?
        .map(|label| group_label(&label))
        .transpose()
        .map_err(field("groupBy"))?;
    Ok(assemble(
        methods_of(filters.methodologies.as_deref()),
        histogram,
        slo,
        group_by,
    ))
}

/// The methods request of chosen options; the SLO belongs to the histogram; the default peer
/// group label when none is given.
pub fn assemble(
    methods: Vec<Method>,
    histogram: Option<HistogramRequest>,
    slo: Option<Slo>,
    group_by: Option<String>,
) -> MethodsRequest {
    let default = MethodsRequest::default();
    MethodsRequest {
        methods,
        histogram: histogram.map(|h| HistogramRequest { slo, ..h }),
        group_by: group_by.unwrap_or(default.group_by),
    }
}

/// A comma-separated method list (`use,workload`, `all`).
pub fn method_list(text: &str) -> Result<Vec<Method>, MethodError> {
    Method::parse_list(text)
}

/// A histogram: `metric` or `metric{matchers}` (its SLO is given apart).
pub fn histogram(text: &str) -> Result<HistogramRequest, MethodError> {
    HistogramRequest::parse(text, None)
}

/// A latency objective `THRESHOLD@TARGET`.
pub fn slo(text: &str) -> Result<Slo, MethodError> {
    Slo::parse(text)
}

/// The label grouping hosts into peers.
pub fn group_by(text: &str) -> Result<String, MethodError> {
    group_label(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::params::Params;

    #[test]
    fn methodologies_choose_the_methods() {
        assert_eq!(methods_of(None), Method::ALL);
        assert_eq!(
            methods_of(Some(&[
                Methodology::FleetOutliers,
                Methodology::UseMethod,
                Methodology::UseMethod
            ])),
            [Method::Use, Method::Outliers]
        );
        assert_eq!(
            methods_of(Some(&[Methodology::DashboardAnalysis])),
            [Method::Use]
        );
    }

    #[test]
    fn histogram_slo_and_group_are_read_and_named_when_wrong() {
        let params =
            Params::parse("histogram=http_seconds_bucket{job=\"api\"}&slo=250ms@99.9&groupBy=env")
                .unwrap();
        let m = options(&params, &Filters::default()).unwrap();
        let h = m.histogram.unwrap();
        assert_eq!(h.metric, "http_seconds");
        assert_eq!(h.slo.map(|s| s.target_percent), Some(99.9));
        assert_eq!(m.group_by, "env");
        assert_eq!(
            options(&Params::default(), &Filters::default()).unwrap(),
            MethodsRequest::default()
        );
        for (query, field) in [
            ("slo=fast", "slo"),
            ("histogram=a{b=}", "histogram"),
            ("groupBy=not a label", "groupBy"),
        ] {
            let err = options(&Params::parse(query).unwrap(), &Filters::default())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&format!("parameter `{field}`: ")), "{err}");
        }
    }
}
