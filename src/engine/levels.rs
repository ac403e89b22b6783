//! Each check's worst target per instance, kept compactly for the tables that cover the whole
//! selection (`use_matrix`, `alert`).
//!
//! A dashboard's cached analysis needs, for every instance and check, only the level and value
//! of the instance's worst target. Keeping every observation instead (instance and device
//! strings, mean, peak) costs about 100 bytes per target: 45 checks over 10,000 hosts with
//! their disks and interfaces is some 70 MiB per analysis, several of which live in the cache
//! at once. Here a cell is 8 bytes (the value as `f32`, ample for a table) in a column per
//! check indexed like the inventory's sorted instance list, which all columns share.

use std::{cmp::Ordering, collections::BTreeMap, sync::Arc};

use super::evaluate::Level;

/// The worst target of one instance for one check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    /// Its mean over the window, in the check's unit.
    pub value: f32,
    /// Its sustained level.
    pub level: Level,
}

impl Cell {
    /// The value as `f64` without the binary noise of widening an `f32`: 97.3 stays 97.3, not
    /// 97.30000305 (tables and evidence show it).
    /// Rounded to 7 significant digits, all an `f32` holds; arithmetic, not formatting, since a
    /// matrix over a large fleet widens hundreds of thousands of cells.
    pub fn decimal(&self) -> f64 {
        crate::samples::widen(self.value)
    }
}

/// One check's cells, filled as its series are judged; indexed like the analysis' instances.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Column {
    cells: Vec<Option<Cell>>,
    /// Instances missing from the inventory (gone before the evaluation time, yet with data in
    /// the window): rare, so kept by name.
    others: BTreeMap<String, Cell>,
}

impl Column {
    /// An empty column for `instances` (sorted, as the inventory keeps them).
    pub(super) fn new(instances: &[String]) -> Self {
        Self {
            cells: vec![None; instances.len()],
            others: BTreeMap::new(),
        }
    }

    /// Record a target of `instance`; it replaces the instance's cell if it is worse (a higher
    /// level, or at the same level a value `worse` orders first).
    pub(super) fn record(
        &mut self,
        instances: &[String],
        instance: &str,
        value: f64,
        level: Level,
        worse: impl Fn(f64, f64) -> Ordering,
    ) {
        #[allow(clippy::cast_possible_truncation)] // a table's value: f32 is ample
        let candidate = Cell {
            value: value as f32,
            level,
        };
        let slot = match instances.binary_search_by(|i| i.as_str().cmp(instance)) {
            Ok(index) => self.cells.get_mut(index),
            Err(_) => None,
        };
        let slot = match slot {
            Some(slot) => slot,
            None => {
                let current = self.others.get(instance);
                if current.is_none_or(|c| is_worse(&candidate, c, &worse)) {
                    self.others.insert(instance.to_string(), candidate);
                }
                return;
            }
        };
        if slot
            .as_ref()
            .is_none_or(|c| is_worse(&candidate, c, &worse))
        {
            *slot = Some(candidate);
        }
    }
}

fn is_worse(a: &Cell, b: &Cell, worse: &impl Fn(f64, f64) -> Ordering) -> bool {
    a.level > b.level
        || (a.level == b.level && worse(f64::from(a.value), f64::from(b.value)) == Ordering::Less)
}

/// Every kept check's worst target per instance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Levels {
    /// The analysis' instances, sorted; every column is indexed like it.
    instances: Arc<[String]>,
    columns: BTreeMap<String, Column>,
}

impl Levels {
    /// No columns yet, over `instances` (sorted).
    pub(super) fn new(instances: Arc<[String]>) -> Self {
        Self {
            instances,
            columns: BTreeMap::new(),
        }
    }

    /// Keep `check`'s column.
    pub(super) fn insert(&mut self, check: String, mut column: Column) {
        column.cells.shrink_to_fit();
        self.columns.insert(check, column);
    }

    /// The instances `check` judged, each with its worst target; instances in the inventory's
    /// order first, then any the inventory did not list. Empty if the check kept no column.
    pub fn column(&self, check: &str) -> impl Iterator<Item = (&str, Cell)> + '_ {
        let column = self.columns.get(check);
        let listed = column.into_iter().flat_map(|c| {
            self.instances
                .iter()
                .zip(&c.cells)
                .filter_map(|(instance, cell)| Some((instance.as_str(), (*cell)?)))
        });
        let others = column
            .into_iter()
            .flat_map(|c| c.others.iter().map(|(i, cell)| (i.as_str(), *cell)));
        listed.chain(others)
    }

    /// Approximate bytes held (cells and the names of instances the inventory lacked; the
    /// instance list is the inventory's, shared).
    pub fn approximate_bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|(check, c)| {
                check.len()
                    + c.cells.capacity() * std::mem::size_of::<Option<Cell>>()
                    + c.others.keys().map(|k| k.len() + 64).sum::<usize>()
            })
            .sum()
    }

    /// Whether no check kept a cell.
    pub fn is_empty(&self) -> bool {
        self.columns
            .values()
            .all(|c| c.others.is_empty() && c.cells.iter().all(Option::is_none))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(a: f64, b: f64) -> Ordering {
        b.total_cmp(&a)
    }

    #[test]
    fn an_instance_keeps_its_worst_target() {
        let instances: Arc<[String]> = vec!["a:9100".to_string(), "b:9100".to_string()].into();
        let mut levels = Levels::new(instances.clone());
        let mut column = Column::new(&instances);
        column.record(&instances, "a:9100", 40.0, Level::Ok, above);
        column.record(&instances, "a:9100", 90.0, Level::Warning, above);
        column.record(&instances, "a:9100", 99.0, Level::Ok, above); // higher, a lower level
        column.record(&instances, "a:9100", 92.0, Level::Warning, above);
        column.record(&instances, "gone:9100", 5.0, Level::Ok, above);
        column.record(&instances, "gone:9100", 7.0, Level::Ok, above);
        levels.insert("disk.utilization".to_string(), column);
        let got: Vec<(&str, f32, Level)> = levels
            .column("disk.utilization")
            .map(|(i, c)| (i, c.value, c.level))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a:9100", 92.0, Level::Warning),
                ("gone:9100", 7.0, Level::Ok)
            ]
        );
        assert_eq!(levels.column("cpu.utilization").count(), 0);
        assert!(!levels.is_empty());
        assert!(Levels::new(instances).is_empty());
    }

    #[test]
    fn values_widen_without_binary_noise() {
        let cell = Cell {
            value: 97.3,
            level: Level::Ok,
        };
        assert_eq!(cell.decimal(), 97.3);
        assert_ne!(f64::from(cell.value), 97.3);
        for (value, decimal) in [
            (0.000_123_4_f32, 0.000_123_4),
            (1.5e9, 1.5e9),
            (-2.25, -2.25),
        ] {
            let cell = Cell {
                value,
                level: Level::Ok,
            };
            assert_eq!(cell.decimal(), decimal);
        }
    }

    #[test]
    fn a_cell_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<Option<Cell>>(), 8);
    }
}
