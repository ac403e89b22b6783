//! Threshold overrides: one place to tune any check, keyed by its stable id.
//!
//! Data source settings (`jsonData.thresholds`), query options and CLI flags all produce a
//! [`ThresholdOverrides`]; the catalog validates it once, so a typo in a check id or a warning
//! above its critical is an error with a clear message, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check::Direction, Catalog, CatalogError};

/// New warning and/or critical values for one check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    /// Replaces the check's warning threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    /// Replaces the check's critical threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
}

/// Overrides by check id, e.g. `{"cpu.utilization": {"warning": 70}}`.
pub type ThresholdOverrides = BTreeMap<String, ThresholdOverride>;

/// `top` over `base`, field by field: a query's `{"warning": 70}` keeps the data source's
/// critical value for that check.
pub fn layered(base: &ThresholdOverrides, top: &ThresholdOverrides) -> ThresholdOverrides {
    let mut merged = base.clone();
    for (id, o) in top {
        let entry = merged.entry(id.clone()).or_default();
        entry.warning = o.warning.or(entry.warning);
        entry.critical = o.critical.or(entry.critical);
    }
    merged
}

/// The thresholds in force for one check (or, in a check's `class_thresholds`, one class of
/// device).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Warning level.
    pub warning: f64,
    /// Critical level.
    pub critical: f64,
}

impl Catalog {
    /// The thresholds of `check_id` after `overrides` (the defaults for unknown ids).
    pub fn thresholds(&self, check_id: &str, overrides: &ThresholdOverrides) -> Option<Thresholds> {
        let check = self.check(check_id)?;
        let o = overrides.get(check_id).copied().unwrap_or_default();
        Some(Thresholds {
            warning: o.warning.unwrap_or(check.warning),
            critical: o.critical.unwrap_or(check.critical),
        })
    }

    /// Check that every override names a known check and keeps warning before critical.
    pub fn validate_overrides(&self, overrides: &ThresholdOverrides) -> Result<(), CatalogError> {
        for (id, o) in overrides {
            let Some(check) = self.check(id) else {
                return Err(CatalogError::UnknownCheck {
                    id: id.clone(),
                    known: self.checks().iter().map(|c| c.id.clone()).collect(),
                });
            };
            for v in [o.warning, o.critical].into_iter().flatten() {
                if !v.is_finite() {
                    return Err(CatalogError::InvalidThreshold {
                        id: id.clone(),
                        reason: "thresholds must be finite numbers".to_string(),
                    });
                }
            }
            let t = self
                .thresholds(id, overrides)
                .ok_or_else(|| CatalogError::UnknownCheck {
                    id: id.clone(),
                    known: Vec::new(),
                })?;
            let ordered = match check.direction {
                Direction::Above => t.warning <= t.critical,
                Direction::Below => t.warning >= t.critical,
            };
            if !ordered {
                let word = match check.direction {
                    Direction::Above => "at or below",
                    Direction::Below => "at or above",
                };
                return Err(CatalogError::InvalidThreshold {
                    id: id.clone(),
                    reason: format!(
                        "the warning threshold ({}) must be {word} the critical threshold ({})",
                        t.warning, t.critical
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::builtin;

    #[test]
    fn overrides_replace_defaults_one_value_at_a_time() {
        let mut o = ThresholdOverrides::new();
        o.insert(
            "cpu.utilization".into(),
            ThresholdOverride {
                warning: Some(70.0),
                critical: None,
            },
        );
        builtin().validate_overrides(&o).unwrap();
        let t = builtin().thresholds("cpu.utilization", &o).unwrap();
        assert_eq!((t.warning, t.critical), (70.0, 95.0));
    }

    #[test]
    fn bad_overrides_are_explained() {
        let mut o = ThresholdOverrides::new();
        o.insert("cpu.utilisation".into(), ThresholdOverride::default());
        let err = builtin().validate_overrides(&o).unwrap_err().to_string();
        assert!(
            err.contains("cpu.utilisation") && err.contains("cpu.utilization"),
            "{err}"
        );

        let mut o = ThresholdOverrides::new();
        o.insert(
            "cpu.utilization".into(),
            ThresholdOverride {
                warning: Some(99.0),
                critical: Some(90.0),
            },
        );
        let err = builtin().validate_overrides(&o).unwrap_err().to_string();
        assert!(err.contains("warning threshold (99)"), "{err}");
    }
}
