//! Each host's value of a check, kept compactly for comparing hosts with their peers.
//!
//! The outlier method needs, per peer check, one number per host: its highest window mean over
//! its devices (a host's busiest disk stands for it). Over 10,000 hosts that is kept as one
//! `f32` per host in a column indexed like the inventory's sorted instance list, which all
//! columns share, instead of an observation with strings per target.

use std::{collections::BTreeMap, sync::Arc};

/// One check's values, filled as its series are judged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerColumn {
    values: Vec<Option<f32>>,
    /// Instances missing from the inventory (gone before the evaluation time, yet with data
    /// in the window): rare, so kept by name.
    others: BTreeMap<String, f32>,
}

impl PeerColumn {
    /// An empty column for `instances` (sorted, as the inventory keeps them).
    pub fn new(instances: &[String]) -> Self {
        Self {
            values: vec![None; instances.len()],
            others: BTreeMap::new(),
        }
    }

    /// Keep `value` for `instance` if it is its highest so far (non-finite values are ignored).
    pub fn record_highest(&mut self, instances: &[String], instance: &str, value: f64) {
        if !value.is_finite() {
            return;
        }
        #[allow(clippy::cast_possible_truncation)] // a comparison's value: f32 is ample
        let candidate = value as f32;
        let slot = match instances.binary_search_by(|i| i.as_str().cmp(instance)) {
            Ok(index) => self.values.get_mut(index),
            Err(_) => None,
        };
        match slot {
            Some(slot) => {
                if slot.is_none_or(|c| candidate > c) {
                    *slot = Some(candidate);
                }
            }
            None => {
                let kept = self.others.entry(instance.to_string()).or_insert(candidate);
                if candidate > *kept {
                    *kept = candidate;
                }
            }
        }
    }
}

/// Every peer check's values per host, and the query that measured them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerValues {
    /// The analysis' instances, sorted; every column is indexed like it.
    instances: Arc<[String]>,
    checks: BTreeMap<String, (String, PeerColumn)>,
}

impl PeerValues {
    /// No checks yet, over `instances` (sorted).
    pub fn new(instances: Arc<[String]>) -> Self {
        Self {
            instances,
            checks: BTreeMap::new(),
        }
    }

    /// Keep `check`'s column (`None`: it ran but no host had a value) and its query.
    pub fn insert(&mut self, check: String, query: String, column: Option<PeerColumn>) {
        let mut column = column.unwrap_or_default();
        column.values.shrink_to_fit();
        self.checks.insert(check, (query, column));
    }

    /// Whether `check` ran: its query, and each host's value (inventory order first, then any
    /// the inventory did not list).
    pub fn check(&self, check: &str) -> Option<(&str, impl Iterator<Item = (&str, f64)> + '_)> {
        let (query, column) = self.checks.get(check)?;
        let listed = self
            .instances
            .iter()
            .zip(&column.values)
            .filter_map(|(instance, v)| Some((instance.as_str(), widen((*v)?))));
        let others = column.others.iter().map(|(i, v)| (i.as_str(), widen(*v)));
        Some((query.as_str(), listed.chain(others)))
    }
}

/// An `f32` as `f64` without the binary noise of widening: 97.3 stays 97.3, not 97.30000305
/// (tables and evidence show it). Rounded to 7 significant digits, all an `f32` holds;
/// arithmetic, not formatting, since a matrix over a large fleet widens hundreds of thousands
/// of values.
pub fn widen(value: f32) -> f64 {
    let v = f64::from(value);
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(6 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_keeps_its_highest_value() {
        let instances: Arc<[String]> = vec!["a".to_string(), "b".to_string()].into();
        let mut column = PeerColumn::new(&instances);
        column.record_highest(&instances, "b", 10.0);
        column.record_highest(&instances, "b", 97.3);
        column.record_highest(&instances, "b", 50.0);
        column.record_highest(&instances, "gone", 5.0);
        column.record_highest(&instances, "a", f64::NAN);
        let mut values = PeerValues::new(instances);
        values.insert("cpu".into(), "q".into(), Some(column));
        values.insert("disk".into(), "d".into(), None);
        let (query, hosts) = values.check("cpu").unwrap();
        assert_eq!(query, "q");
        assert_eq!(hosts.collect::<Vec<_>>(), [("b", 97.3), ("gone", 5.0)]);
        assert_eq!(values.check("disk").unwrap().1.count(), 0);
        assert!(values.check("memory").is_none());
    }
}
