//! Pure arithmetic the methods share, tested alone: robust statistics (median, MAD, modified
//! z-scores), change detection over a series and the last step in it.

pub mod change;
pub mod robust;
pub mod step;

/// Test points one minute apart from `values` (shared by the tests of the statistics).
#[cfg(test)]
pub(crate) fn minute_series(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 * 60.0, *v))
        .collect()
}
