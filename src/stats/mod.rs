//! Pure arithmetic the methods share, tested alone: robust statistics (median, MAD, modified
//! z-scores), change detection over a series and the last step in it.

pub mod change;
pub mod robust;
pub mod step;
