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

/// Most correlations named per flagged panel (the strongest).
pub const PER_PANEL: usize = 3;

/// One query's series with what correlation needs to know about it.
pub struct Query<'a> {
    /// Its series.
    pub series: &'a [SeriesData],
    /// Its panel (queries of one panel are not correlated with each other).
    pub panel: String,
    /// The panel's scale: series moving less than a tenth of it are left out.
    pub scale: f64,
    /// Metrics it selects (sorted): two queries of the same metrics are the same measurement
    /// drawn twice.
    pub metrics: &'a [String],
}

/// For each query in `of` (flagged ones), the queries of other panels whose series move with
/// one of its series: one per pair of panels, the strongest [`PER_PANEL`] per flagged panel.
pub fn correlations(queries: &[Query<'_>], of: &[usize]) -> Vec<Correlation> {
    let top: Vec<Vec<&SeriesData>> = queries
        .iter()
        .map(|q| {
            let mut s: Vec<&SeriesData> = q
                .series
                .iter()
                .filter(|s| super::judge::moves(&s.points, q.scale))
                .collect();
            s.sort_by(|a, b| variance(&b.points).total_cmp(&variance(&a.points)));
            s.truncate(SERIES_PER_QUERY);
            s
        })
        .collect();
    let mut best_pair: Vec<Correlation> = Vec::new();
    for &a in of {
        for b in 0..queries.len() {
            let (qa, qb) = (&queries[a], &queries[b]);
            if b == a || qa.panel == qb.panel {
                continue;
            }
            // The same metrics drawn twice (a "basic" and a "detail" panel) say nothing new.
            if !qa.metrics.is_empty() && qa.metrics == qb.metrics {
                continue;
            }
            for sa in &top[a] {
                for sb in &top[b] {
                    let Some((r, n)) = pearson(&sa.points, &sb.points) else {
                        continue;
                    };
                    if r.abs() < MIN_CORRELATION {
                        continue;
                    }
                    let candidate = Correlation {
                        a,
                        b,
                        r,
                        series_a: sa.name(),
                        series_b: sb.name(),
                        points: n,
                    };
                    // One per unordered pair of panels.
                    let same_pair = |c: &Correlation| {
                        let (pa, pb) = (&queries[c.a].panel, &queries[c.b].panel);
                        (pa == &qa.panel && pb == &qb.panel) || (pa == &qb.panel && pb == &qa.panel)
                    };
                    match best_pair.iter_mut().find(|c| same_pair(c)) {
                        Some(existing) if existing.r.abs() < r.abs() => *existing = candidate,
                        Some(_) => {}
                        None => best_pair.push(candidate),
                    }
                }
            }
        }
    }
    best_pair.sort_by(|x, y| y.r.abs().total_cmp(&x.r.abs()));
    let mut per_panel: std::collections::BTreeMap<&str, usize> = Default::default();
    best_pair
        .into_iter()
        .filter(|c| {
            let n = per_panel.entry(queries[c.a].panel.as_str()).or_default();
            *n += 1;
            *n <= PER_PANEL
        })
        .collect()
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

    fn q<'a>(
        series: &'a [SeriesData],
        panel: &str,
        scale: f64,
        metrics: &'a [String],
    ) -> Query<'a> {
        Query {
            series,
            panel: panel.to_string(),
            scale,
            metrics,
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
        let (m1, m2, m3) = (["x".to_string()], ["y".to_string()], ["z".to_string()]);
        let queries = [
            q(&a, "1", 4.0, &m1),
            q(&b, "2", 200.0, &m2),
            q(&c, "3", 13.0, &m3),
        ];
        let found = correlations(&queries, &[0]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].a, found[0].b), (0, 1));
        // Same panel, same metric, or a series too flat for its panel: not reported.
        let same_panel = [q(&a, "1", 4.0, &m1), q(&b, "1", 200.0, &m2)];
        assert!(correlations(&same_panel, &[0]).is_empty());
        let same_metric = [q(&a, "1", 4.0, &m1), q(&b, "2", 200.0, &m1)];
        assert!(correlations(&same_metric, &[0]).is_empty());
        let flat = [q(&a, "1", 4.0, &m1), q(&b, "2", 100_000.0, &m2)];
        assert!(correlations(&flat, &[0]).is_empty());
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
