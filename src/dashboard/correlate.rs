//! Panels that tell the same story: series that move together (Pearson's r over the points
//! both have; every query ran on the same grid, so timestamps align exactly) and changes that
//! begin within one step of each other.

use super::judge::SeriesData;

/// |r| at or above which two series move together.
pub const MIN_CORRELATION: f64 = 0.8;

/// Fewest common points for a correlation to mean anything.
pub const MIN_POINTS: usize = 10;

/// Most series of one query compared (the most variable ones).
pub const SERIES_PER_QUERY: usize = 5;

/// Two queries whose series move together.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// Index of the first query.
    pub a: usize,
    /// Index of the second.
    pub b: usize,
    /// Pearson's r.
    pub r: f64,
    /// The series of `a`.
    pub series_a: String,
    /// The series of `b`.
    pub series_b: String,
    /// Common points.
    pub points: usize,
}

/// Pearson's r of the points two series share; `None` with too few or a flat side.
pub fn pearson(a: &[(f64, f64)], b: &[(f64, f64)]) -> Option<(f64, usize)> {
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (ta, va) = a[i];
        let (tb, vb) = b[j];
        if (ta - tb).abs() < 1e-6 {
            if va.is_finite() && vb.is_finite() {
                pairs.push((va, vb));
            }
            i += 1;
            j += 1;
        } else if ta < tb {
            i += 1;
        } else {
            j += 1;
        }
    }
    let n = pairs.len();
    if n < MIN_POINTS {
        return None;
    }
    let mean = |f: fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(|p| p.0), mean(|p| p.1));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    // A flat series correlates with nothing (and tiny float noise must not pass for movement).
    let flat = |s: f64, m: f64| s <= 1e-12 * (1.0 + m * m) * n as f64;
    if flat(saa, ma) || flat(sbb, mb) {
        return None;
    }
    Some((sab / (saa * sbb).sqrt(), n))
}

fn variance(points: &[(f64, f64)]) -> f64 {
    let v: Vec<f64> = points
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
}

/// For each query in `of` (flagged ones), the other queries (of other panels) whose series
/// move with one of its series. `panel` gives each query's panel key, so a panel's own
/// queries are not reported as correlated with each other.
pub fn correlations(queries: &[&[SeriesData]], panel: &[String], of: &[usize]) -> Vec<Correlation> {
    let top: Vec<Vec<&SeriesData>> = queries
        .iter()
        .map(|series| {
            let mut s: Vec<&SeriesData> = series.iter().collect();
            s.sort_by(|a, b| variance(&b.points).total_cmp(&variance(&a.points)));
            s.truncate(SERIES_PER_QUERY);
            s
        })
        .collect();
    let mut out = Vec::new();
    for &a in of {
        for b in 0..queries.len() {
            if b == a || panel[b] == panel[a] {
                continue;
            }
            // Each pair once when both are flagged.
            if of.contains(&b) && b < a {
                continue;
            }
            let mut best: Option<Correlation> = None;
            for sa in &top[a] {
                for sb in &top[b] {
                    let Some((r, n)) = pearson(&sa.points, &sb.points) else {
                        continue;
                    };
                    if r.abs() >= MIN_CORRELATION
                        && best.as_ref().is_none_or(|c| r.abs() > c.r.abs())
                    {
                        best = Some(Correlation {
                            a,
                            b,
                            r,
                            series_a: sa.name(),
                            series_b: sb.name(),
                            points: n,
                        });
                    }
                }
            }
            out.extend(best);
        }
    }
    out
}

/// Groups of queries whose changes begin within `step` seconds of each other (only groups
/// spanning at least two panels). `changes` is (query index, time).
pub fn simultaneous(changes: &[(usize, f64)], panel: &[String], step: f64) -> Vec<Vec<usize>> {
    let mut sorted = changes.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut groups: Vec<Vec<(usize, f64)>> = Vec::new();
    for c in sorted {
        match groups.last_mut() {
            Some(g) if g.last().is_some_and(|last| c.1 - last.1 <= step * 1.0001) => g.push(c),
            _ => groups.push(vec![c]),
        }
    }
    groups
        .into_iter()
        .filter(|g| {
            let mut panels: Vec<&String> = g.iter().map(|(i, _)| &panel[*i]).collect();
            panels.sort();
            panels.dedup();
            panels.len() >= 2
        })
        .map(|g| g.into_iter().map(|(i, _)| i).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[f64]) -> SeriesData {
        SeriesData {
            labels: Default::default(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 * 15.0, *v))
                .collect(),
        }
    }

    #[test]
    fn moving_together_and_apart() {
        let up: Vec<f64> = (0..30)
            .map(|i| (i as f64 / 3.0).sin() + i as f64 * 0.1)
            .collect();
        let scaled: Vec<f64> = up.iter().map(|v| v * 40.0 + 7.0).collect();
        let noise: Vec<f64> = (0..30).map(|i| ((i * 7919) % 13) as f64).collect();
        let (r, n) = pearson(&s(&up).points, &s(&scaled).points).unwrap();
        assert!((r - 1.0).abs() < 1e-9 && n == 30);
        assert!(pearson(&s(&up).points, &s(&[5.0; 30]).points).is_none());
        let a = [s(&up)];
        let b = [s(&scaled)];
        let c = [s(&noise)];
        let queries: Vec<&[SeriesData]> = vec![&a, &b, &c];
        let panels = vec!["1".to_string(), "2".to_string(), "3".to_string()];
        let found = correlations(&queries, &panels, &[0]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].a, found[0].b), (0, 1));
        // Same panel: not reported.
        let same = vec!["1".to_string(), "1".to_string(), "3".to_string()];
        assert!(correlations(&queries, &same, &[0]).is_empty());
    }

    #[test]
    fn changes_within_a_step() {
        let panels = vec!["1".into(), "2".into(), "3".into(), "3".into()];
        let groups = simultaneous(
            &[(0, 100.0), (1, 115.0), (2, 900.0), (3, 905.0)],
            &panels,
            15.0,
        );
        assert_eq!(groups, vec![vec![0, 1]]);
    }
}
