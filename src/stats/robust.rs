//! Robust statistics for comparing a host with its peers: the median and the median absolute
//! deviation (MAD) are not moved by the outlier they are meant to find, unlike the mean and
//! the standard deviation.

/// The median of `values` (NaNs ignored); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// The median absolute deviation from the median.
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    median(&deviations)
}

/// Iglewicz and Hoaglin's modified z-score: 0.6745 (x − median) / MAD. Above 3.5 in absolute
/// value is their outlier rule. With a MAD of zero (most peers identical) it is infinite for
/// any difference, which is why callers also require a minimum difference in the unit.
pub fn modified_z(x: f64, median: f64, mad: f64) -> f64 {
    let d = x - median;
    if mad > 0.0 {
        0.6745 * d / mad
    } else if d == 0.0 {
        0.0
    } else {
        d.signum() * f64::INFINITY
    }
}

/// The modified z-score beyond which a value is an outlier (Iglewicz & Hoaglin, 1993).
pub const OUTLIER_Z: f64 = 3.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
        // One wild value moves neither.
        let mut peers = vec![30.0, 31.0, 29.0, 30.5, 29.5, 30.0];
        let before = (median(&peers), mad(&peers));
        peers.push(95.0);
        assert_eq!(median(&peers), Some(30.0));
        assert!(mad(&peers).unwrap() - before.1.unwrap() < 0.6);
        let z = modified_z(95.0, 30.0, mad(&peers).unwrap());
        assert!(z > 50.0, "{z}");
        assert_eq!(modified_z(1.0, 1.0, 0.0), 0.0);
        assert_eq!(modified_z(2.0, 1.0, 0.0), f64::INFINITY);
    }
}
