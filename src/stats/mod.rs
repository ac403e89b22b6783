//! Pure arithmetic the methods share, tested alone: robust statistics (median, MAD, modified
//! z-scores) and change detection over a series.

pub mod change;
pub mod robust;
