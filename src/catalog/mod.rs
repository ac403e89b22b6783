//! The check catalog: every check the analyzer runs, declared as data in one place.
//!
//! Checks live in `checks/<component>.toml`, one `[[check]]` table each: id, signal, PromQL
//! template, unit, thresholds, severity, required collectors, book reference and the narrative.
//! Adding a check is adding one table; nothing else in the crate changes. The catalog is
//! embedded at compile time and validated by [`Catalog::load`] (and by a unit test, so a bad
//! entry fails `cargo test`, never a user's query).
//!
//! `collectors.toml` lists the node_exporter collectors the analyzer reads and what is lost
//! without each; health checks and coverage reports are generated from it.

mod check;
mod thresholds;

use std::{collections::HashSet, sync::OnceLock};

use serde::Deserialize;
use thiserror::Error;

pub use check::{Check, Direction, EvidenceQuery, SeverityMap, Signal, Unit};
pub use thresholds::{ThresholdOverride, ThresholdOverrides, Thresholds};

use crate::promql::template;

/// The check files, in report order.
const CHECK_FILES: &[(&str, &str)] = &[("checks/cpu.toml", include_str!("checks/cpu.toml"))];

const COLLECTORS: &str = include_str!("collectors.toml");

/// Placeholders a PromQL template may use.
pub const QUERY_PLACEHOLDERS: &[&str] = &["selector", "window"];

/// Placeholders a narrative template may use.
pub const NARRATIVE_PLACEHOLDERS: &[&str] = &[
    "instance",
    "device",
    "value",
    "threshold",
    "level",
    "window",
    "warning",
    "critical",
];

/// A node_exporter collector the analyzer reads.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    /// The collector's name, as in `node_scrape_collector_success{collector="…"}`.
    pub name: String,
    /// Whether node_exporter enables it by default.
    pub default_enabled: bool,
    /// What the analysis cannot see without it.
    pub lost: String,
}

/// The checks and collectors, validated.
#[derive(Debug)]
pub struct Catalog {
    checks: Vec<Check>,
    collectors: Vec<Collector>,
}

/// A catalog entry or a user's override that cannot be used.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// TOML that does not parse into checks.
    #[error("{file}: {reason}")]
    Parse {
        /// The file.
        file: String,
        /// The TOML error.
        reason: String,
    },
    /// A check that breaks a catalog rule.
    #[error("check `{id}`: {reason}")]
    InvalidCheck {
        /// The check.
        id: String,
        /// The rule it breaks.
        reason: String,
    },
    /// An override for a check that does not exist.
    #[error("unknown check `{id}` in threshold overrides; known checks: {}", known.join(", "))]
    UnknownCheck {
        /// The unknown id.
        id: String,
        /// Every known id.
        known: Vec<String>,
    },
    /// An override with impossible values.
    #[error("thresholds for `{id}`: {reason}")]
    InvalidThreshold {
        /// The check.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    check: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectorFile {
    collector: Vec<Collector>,
}

/// The catalog compiled into this binary.
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The sources are compiled in and validated by `builtin_catalog_is_valid` in the test
        // suite, so this can only fail in a build whose tests fail.
        Catalog::load(CHECK_FILES, COLLECTORS).expect("the built-in check catalog is valid")
    })
}

impl Catalog {
    /// Parse and validate check files and the collector list.
    pub fn load(check_files: &[(&str, &str)], collectors: &str) -> Result<Catalog, CatalogError> {
        let collectors = toml::from_str::<CollectorFile>(collectors)
            .map_err(|e| CatalogError::Parse {
                file: "collectors.toml".to_string(),
                reason: e.to_string(),
            })?
            .collector;
        let mut checks = Vec::new();
        for (file, text) in check_files {
            let parsed: CheckFile = toml::from_str(text).map_err(|e| CatalogError::Parse {
                file: (*file).to_string(),
                reason: e.to_string(),
            })?;
            checks.extend(parsed.check);
        }
        let catalog = Catalog { checks, collectors };
        catalog.validate()?;
        Ok(catalog)
    }

    /// All checks, in report order.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The collectors the analyzer reads.
    pub fn collectors(&self) -> &[Collector] {
        &self.collectors
    }

    /// The checks that need `collector`.
    pub fn checks_requiring<'a>(&'a self, collector: &'a str) -> impl Iterator<Item = &'a Check> {
        self.checks
            .iter()
            .filter(move |c| c.requires.iter().any(|r| r == collector))
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let mut ids = HashSet::new();
        let collector_names: HashSet<&str> =
            self.collectors.iter().map(|c| c.name.as_str()).collect();
        for check in &self.checks {
            let invalid = |reason: String| CatalogError::InvalidCheck {
                id: check.id.clone(),
                reason,
            };
            if !ids.insert(check.id.as_str()) {
                return Err(invalid("the id is used twice".to_string()));
            }
            let well_formed = check.id.split('.').count() >= 2
                && check.id.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
            if !well_formed || !check.id.starts_with(&format!("{}.", check.component)) {
                return Err(invalid(format!(
                    "ids are `component.signal[.detail]` in lowercase, starting with the component `{}`",
                    check.component
                )));
            }
            let ordered = match check.direction {
                Direction::Above => check.warning <= check.critical,
                Direction::Below => check.warning >= check.critical,
            };
            if !ordered || !check.warning.is_finite() || !check.critical.is_finite() {
                return Err(invalid(
                    "warning and critical must be finite and ordered for the direction".to_string(),
                ));
            }
            if check.severity.critical < check.severity.warning {
                return Err(invalid(
                    "the critical severity must not be lower than the warning severity".to_string(),
                ));
            }
            if !(0.0..=100.0).contains(&check.confidence) {
                return Err(invalid("confidence is a percentage (0-100)".to_string()));
            }
            if check.requires.is_empty() {
                return Err(invalid(
                    "`requires` must name at least one collector".to_string(),
                ));
            }
            for r in &check.requires {
                if !collector_names.contains(r.as_str()) {
                    return Err(invalid(format!(
                        "requires collector `{r}`, which collectors.toml does not list"
                    )));
                }
            }
            if check.investigation_steps.is_empty() {
                return Err(invalid("needs at least one investigation step".to_string()));
            }
            let queries = std::iter::once(&check.query)
                .chain(check.related_metrics.iter())
                .chain(check.evidence.iter().map(|e| &e.query));
            for q in queries {
                check_placeholders(q, QUERY_PLACEHOLDERS).map_err(invalid)?;
            }
            let narratives = [
                &check.title,
                &check.observation,
                &check.root_cause,
                &check.immediate_action,
                &check.long_term_fix,
            ]
            .into_iter()
            .chain(check.investigation_steps.iter());
            for n in narratives {
                check_placeholders(n, NARRATIVE_PLACEHOLDERS).map_err(invalid)?;
            }
        }
        Ok(())
    }
}

fn check_placeholders(text: &str, allowed: &[&str]) -> Result<(), String> {
    for name in template::placeholders(text) {
        if !allowed.contains(&name) {
            return Err(format!(
                "unknown placeholder `${{{name}}}` (allowed: {})",
                allowed.join(", ")
            ));
        }
    }
    template::render(text, |_| Some("x"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid() {
        let catalog = Catalog::load(CHECK_FILES, COLLECTORS).unwrap();
        assert!(catalog.check("cpu.utilization").is_some());
        assert!(catalog.collectors().iter().any(|c| c.name == "pressure"));
    }

    #[test]
    fn thresholds_are_never_literals_in_queries() {
        // node-mixin's drift: a threshold hard-coded in a query no longer follows the config.
        // Comparisons belong to the engine, so no query may compare against a number.
        for check in builtin().checks() {
            for op in ["> ", ">= ", "< ", "<= ", "== "] {
                assert!(
                    !check.query.contains(op),
                    "{}: query compares with `{op}`; thresholds belong in `warning`/`critical`",
                    check.id
                );
            }
        }
    }

    #[test]
    fn invalid_entries_are_rejected_with_the_check_id() {
        let base = CHECK_FILES[0].1;
        let duplicated = format!("{base}\n{base}");
        let err = Catalog::load(&[("dup.toml", &duplicated)], COLLECTORS).unwrap_err();
        assert!(err.to_string().contains("used twice"), "{err}");

        let bad_collector = base.replace("requires = [\"cpu\"]", "requires = [\"nope\"]");
        let err = Catalog::load(&[("c.toml", &bad_collector)], COLLECTORS).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");

        let bad_placeholder = base.replace("${instance}", "${host}");
        let err = Catalog::load(&[("p.toml", &bad_placeholder)], COLLECTORS).unwrap_err();
        assert!(err.to_string().contains("${host}"), "{err}");

        let unknown_field = base.replace("confidence = ", "confidance = ");
        assert!(Catalog::load(&[("f.toml", &unknown_field)], COLLECTORS).is_err());
    }
}
