//! Deterministic scenarios: generated samples → OpenMetrics → `promtool tsdb
//! create-blocks-from openmetrics` → a Prometheus started on those blocks.
//!
//! Timestamps are whole seconds at fixed past times (promtool reads seconds; milliseconds are
//! silently taken as seconds and land in the year 58874). Each scenario gets its own
//! Prometheus, which scrapes nothing, so no live data ever overlaps the synthetic history.

use std::{collections::BTreeMap, fmt::Write as _, process::Command};

use crate::{
    install,
    prometheus::{Options, Prometheus},
};

/// The OpenMetrics type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A gauge.
    Gauge,
    /// A counter; the family name must end in `_total`.
    Counter,
    /// Untyped (node_exporter's vmstat and netstat families).
    Unknown,
}

/// Samples for one series: `(unix seconds, value)`, in time order.
pub type Samples = Vec<(i64, f64)>;

/// A series: its labels and samples.
type Series = (BTreeMap<String, String>, Samples);

/// A set of metric families to backfill.
#[derive(Debug, Default)]
pub struct Dataset {
    families: BTreeMap<String, (Kind, Vec<Series>)>,
}

impl Dataset {
    /// An empty dataset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one series of `family`.
    pub fn series(&mut self, family: &str, kind: Kind, labels: &[(&str, &str)], samples: Samples) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.families
            .entry(family.to_string())
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push((labels, samples));
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.families.values().map(|(_, s)| s.len()).sum()
    }

    /// The OpenMetrics text promtool reads.
    pub fn to_openmetrics(&self) -> String {
        let mut out = String::new();
        for (family, (kind, series)) in &self.families {
            let (type_name, meta_name) = match kind {
                Kind::Gauge => ("gauge", family.as_str()),
                Kind::Counter => ("counter", family.strip_suffix("_total").unwrap_or(family)),
                Kind::Unknown => ("unknown", family.as_str()),
            };
            let _ = writeln!(out, "# TYPE {meta_name} {type_name}");
            for (labels, samples) in series {
                let rendered: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                let head = if rendered.is_empty() {
                    family.clone()
                } else {
                    format!("{family}{{{}}}", rendered.join(","))
                };
                for (t, v) in samples {
                    let _ = writeln!(out, "{head} {} {t}", format_value(*v));
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// Write the blocks and start a Prometheus on them.
    pub fn serve(&self) -> Prometheus {
        if let Err(e) = install::ensure_installed() {
            panic!("testkit: {e}");
        }
        let work = tempfile::Builder::new()
            .prefix("gregg-backfill-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let input = work.path().join("input.om");
        std::fs::write(&input, self.to_openmetrics()).expect("cannot write the OpenMetrics file");
        let data = work.path().join("data");
        let output = Command::new("promtool")
            .args([
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=24h",
            ])
            .arg(&input)
            .arg(&data)
            .output()
            .expect("cannot run promtool");
        assert!(
            output.status.success(),
            "promtool failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let _ = std::fs::remove_file(&input);
        // The blocks must outlive the server reading them: the Prometheus adopts the directory.
        let mut prometheus = Prometheus::start(Options {
            data_dir: Some(data),
            ..Options::default()
        });
        prometheus.adopt(work);
        prometheus
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_text_has_types_timestamps_and_eof() {
        let mut d = Dataset::new();
        d.series(
            "x_total",
            Kind::Counter,
            &[("instance", "a\"b")],
            vec![(10, 1.0), (25, 2.5)],
        );
        d.series("g", Kind::Gauge, &[], vec![(10, f64::NAN)]);
        let text = d.to_openmetrics();
        assert_eq!(
            text,
            "# TYPE g gauge\ng NaN 10\n# TYPE x counter\nx_total{instance=\"a\\\"b\"} 1 10\nx_total{instance=\"a\\\"b\"} 2.5 25\n# EOF\n"
        );
    }
}
