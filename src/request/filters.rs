//! Insight filters: which targets (`instances`), which insights (`components`, `minSeverity`,
//! `methodologies`). The same names and meaning for every query type and resource.

pub use super::filter_values::{
    component, instances, methodology, methodology_of, severity, FilterError,
};
use super::{error::FieldError, fields::Fields};
use crate::insight::{Component, Insight, Methodology, Severity};

/// Which targets and insights a request keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    /// An `instance` regex (anchored, RE2), added to the data source's target selector.
    pub instances: Option<String>,
    /// Only these components (all when `None`).
    pub components: Option<Vec<Component>>,
    /// Insights below this severity are left out.
    pub min_severity: Severity,
    /// Only insights of these methodologies (all when `None`).
    pub methodologies: Option<Vec<Methodology>>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            instances: None,
            components: None,
            min_severity: Severity::Info,
            methodologies: None,
        }
    }
}

impl Filters {
    /// The filters of a query or resource: `instances`, `components`, `minSeverity`,
    /// `methodologies`.
    pub fn parse(fields: &impl Fields) -> Result<Filters, FieldError> {
        let field = |name: &'static str| move |e: FilterError| fields.error(name, e);
        Ok(Filters {
            instances: fields
                .non_blank("instances")?
                .map(|regex| instances(&regex).map(|()| regex))
                .transpose()
                .map_err(field("instances"))?,
            components: list(fields, "components", component)?,
            min_severity: fields
                .non_blank("minSeverity")?
                .map(|s| severity(&s))
                .transpose()
                .map_err(field("minSeverity"))?
                .unwrap_or(Severity::Info),
            methodologies: list(fields, "methodologies", methodology)?,
        })
    }

    /// Does `insight` pass? (`instances` narrows the targets, not the insights.)
    pub fn keeps(&self, insight: &Insight) -> bool {
        insight.severity >= self.min_severity
            && self
                .components
                .as_ref()
                .is_none_or(|c| c.contains(&insight.component))
            && self
                .methodologies
                .as_ref()
                .is_none_or(|m| m.contains(&insight.methodology))
    }

    /// The insights that pass, in their order.
    pub fn apply<'a>(&self, insights: &'a [Insight]) -> Vec<&'a Insight> {
        insights.iter().filter(|i| self.keeps(i)).collect()
    }

    /// Drop the insights that do not pass.
    pub fn retain(&self, insights: &mut Vec<Insight>) {
        insights.retain(|i| self.keeps(i));
    }
}

/// A list field of names, each parsed by `parse`.
fn list<T>(
    fields: &impl Fields,
    name: &str,
    parse: fn(&str) -> Result<T, FilterError>,
) -> Result<Option<Vec<T>>, FieldError> {
    fields
        .names(name)?
        .map(|names| {
            names
                .iter()
                .map(|n| parse(n))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| fields.error(name, e))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::{fields::JsonFields, params::Params};

    fn insight(severity: Severity, component: Component, methodology: Methodology) -> Insight {
        Insight {
            id: "x".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            methodology,
            component,
            issue_type: crate::insight::IssueType::Capacity,
            use_signal: None,
            severity,
            title: String::new(),
            observation: String::new(),
            evidence: crate::insight::Evidence::new(),
            root_cause: String::new(),
            immediate_action: String::new(),
            investigation_steps: Vec::new(),
            long_term_fix: String::new(),
            related_metrics: Vec::new(),
            confidence: 50.0,
            book_reference: None,
            instance: None,
            device: None,
            check: "x.y".into(),
            started_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn a_query_and_a_resource_filter_alike() {
        let value = json!({"components": ["cpu", "disk"], "minSeverity": "HIGH", "methodologies": "use", "instances": "web-.*"});
        let serde_json::Value::Object(map) = &value else {
            unreachable!()
        };
        let from_json = Filters::parse(&JsonFields(map)).unwrap();
        let params = Params::parse("components=cpu&components=disk&minSeverity=high&methodologies=use_method&instances=web-.*").unwrap();
        let from_params = Filters::parse(&params).unwrap();
        assert_eq!(from_json, from_params);
        assert_eq!(from_json.min_severity, Severity::High);
        assert_eq!(from_json.methodologies, Some(vec![Methodology::UseMethod]));
        let keep = |s, c, m| from_json.keeps(&insight(s, c, m));
        assert!(keep(Severity::High, Component::Cpu, Methodology::UseMethod));
        assert!(!keep(
            Severity::Medium,
            Component::Cpu,
            Methodology::UseMethod
        ));
        assert!(!keep(
            Severity::High,
            Component::Memory,
            Methodology::UseMethod
        ));
        assert!(!keep(
            Severity::High,
            Component::Disk,
            Methodology::DrillDown
        ));
        assert!(Filters::default().keeps(&insight(
            Severity::Info,
            Component::Memory,
            Methodology::DashboardAnalysis
        )));
    }

    #[test]
    fn bad_filters_name_the_field_and_the_choices() {
        for (query, field, want) in [
            (
                "instances=a(b",
                "instances",
                "not a valid regular expression",
            ),
            (
                "components=cpu,gpu",
                "components",
                "unknown component `gpu`; use cpu, memory",
            ),
            (
                "minSeverity=worst",
                "minSeverity",
                "`worst` is not a severity: use critical, high",
            ),
            (
                "methodologies=magic",
                "methodologies",
                "unknown methodology `magic`; use use_method",
            ),
        ] {
            let err = Filters::parse(&Params::parse(query).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&format!("parameter `{field}`: ")), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }
}
