//! Prometheus HTTP API answers, parsed straight into typed samples.
//!
//! Sample values arrive as strings (`"0.25"`, `"NaN"`, `"+Inf"`); they are parsed to `f64`
//! while deserialising, so no intermediate strings are kept per sample.

use std::collections::BTreeMap;

use serde::{de, Deserialize, Deserializer, Serialize};

/// A series' labels, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// One value of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Series labels (the metric name is absent after most functions).
    pub labels: Labels,
    /// Evaluation timestamp, Unix seconds.
    pub timestamp: f64,
    /// The value. Native-histogram samples carry their count here.
    pub value: f64,
    /// A native histogram's buckets `(lower, upper, count)`, not cumulative.
    pub buckets: Option<Vec<(f64, f64, f64)>>,
}

/// One series of a range-query or range-selector answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Series labels.
    pub labels: Labels,
    /// `(Unix seconds, value)` in time order.
    pub points: Vec<(f64, f64)>,
}

/// What an instant query evaluates to.
#[derive(Clone, Debug, PartialEq)]
pub enum InstantValue {
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector (from a query like `x[5m]`).
    Matrix(Vec<Series>),
    /// A scalar `(timestamp, value)`.
    Scalar(f64, f64),
    /// A string `(timestamp, value)`.
    String(f64, String),
}

impl InstantValue {
    /// The vector samples, or an empty list for the other result types.
    pub fn into_vector(self) -> Vec<Sample> {
        match self {
            InstantValue::Vector(samples) => samples,
            InstantValue::Scalar(ts, v) => vec![Sample {
                labels: Labels::new(),
                timestamp: ts,
                value: v,
                buckets: None,
            }],
            _ => Vec::new(),
        }
    }
}

/// A successful answer plus any warnings Prometheus attached (e.g. partial data from a store).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    /// The data.
    pub data: T,
    /// The server's `warnings`: the answer may be incomplete (a Thanos store that did not
    /// answer, a truncated result). Notices, and they lower the confidence of what is built on
    /// the answer.
    pub warnings: Vec<String>,
    /// Notices that do not make the answer doubtful: PromQL's `infos` (e.g. "metric might not
    /// be a counter") and the client's own notes.
    pub infos: Vec<String>,
}

impl<T> Answer<T> {
    /// An answer with the server's `warnings` and `infos`. Thanos (0.36) sends PromQL's info
    /// annotations among its `warnings`; they keep their "PromQL info:" prefix and are moved
    /// to `infos`, so only real warnings make an answer doubtful.
    pub(crate) fn annotated(data: T, warnings: Vec<String>, mut infos: Vec<String>) -> Self {
        let (infos_in_warnings, warnings): (Vec<String>, Vec<String>) = warnings
            .into_iter()
            .partition(|w| w.starts_with("PromQL info:"));
        infos.extend(infos_in_warnings);
        Answer {
            data,
            warnings,
            infos,
        }
    }
}

/// `/api/v1/status/buildinfo`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct BuildInfo {
    /// e.g. `2.42.0`.
    #[serde(default)]
    pub version: String,
    /// Git revision.
    #[serde(default)]
    pub revision: String,
    /// Go version Prometheus was built with.
    #[serde(default, rename(deserialize = "goVersion"))]
    pub go_version: String,
}

/// `/api/v1/status/runtimeinfo`: only what the client uses.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The cores Prometheus' Go runtime runs on: how many queries it evaluates at once.
    #[serde(default, rename = "GOMAXPROCS")]
    pub gomaxprocs: Option<usize>,
}

/// The envelope every API answer comes in.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub status: String,
    pub data: Option<T>,
    #[serde(rename = "errorType")]
    pub error_type: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub infos: Vec<String>,
}

/// Only the error part of an envelope, for non-2xx answers whose data we don't need.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    #[serde(rename = "errorType")]
    pub error_type: Option<String>,
    pub error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum RawInstant {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar(Point),
    String(StringPoint),
}

impl From<RawInstant> for InstantValue {
    fn from(raw: RawInstant) -> Self {
        match raw {
            RawInstant::Vector(samples) => {
                InstantValue::Vector(samples.into_iter().map(Sample::from).collect())
            }
            RawInstant::Matrix(series) => {
                InstantValue::Matrix(series.into_iter().map(Series::from).collect())
            }
            RawInstant::Scalar(Point(ts, v)) => InstantValue::Scalar(ts, v),
            RawInstant::String(StringPoint(ts, s)) => InstantValue::String(ts, s),
        }
    }
}

/// `/api/v1/query_range` always answers a matrix.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum RawRange {
    Matrix(Vec<RawSeries>),
}

impl From<RawRange> for Vec<Series> {
    fn from(raw: RawRange) -> Self {
        match raw {
            RawRange::Matrix(series) => series.into_iter().map(Series::from).collect(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawSample {
    #[serde(default)]
    metric: Labels,
    value: Option<Point>,
    histogram: Option<HistogramPoint>,
}

impl From<RawSample> for Sample {
    fn from(raw: RawSample) -> Self {
        let (timestamp, value, buckets) = match (raw.value, raw.histogram) {
            (Some(Point(ts, v)), _) => (ts, v, None),
            (None, Some(HistogramPoint(ts, h))) => (ts, h.count, Some(h.buckets())),
            (None, None) => (0.0, f64::NAN, None),
        };
        Sample {
            labels: raw.metric,
            timestamp,
            value,
            buckets,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<Point>,
    #[serde(default)]
    histograms: Vec<HistogramPoint>,
}

impl From<RawSeries> for Series {
    fn from(raw: RawSeries) -> Self {
        let points = if raw.values.is_empty() {
            raw.histograms
                .into_iter()
                .map(|HistogramPoint(ts, h)| (ts, h.count))
                .collect()
        } else {
            raw.values.into_iter().map(|Point(ts, v)| (ts, v)).collect()
        };
        Series {
            labels: raw.metric,
            points,
        }
    }
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Deserialize)]
pub(crate) struct Point(f64, #[serde(deserialize_with = "sample_value")] f64);

impl Point {
    /// `(timestamp, value)`.
    pub(crate) fn pair(self) -> (f64, f64) {
        (self.0, self.1)
    }
}

#[derive(Deserialize)]
pub(crate) struct StringPoint(f64, String);

/// `[<unix seconds>, {"count": "…", "sum": "…", "buckets": …}]` (native histograms).
#[derive(Deserialize)]
pub(crate) struct HistogramPoint(f64, NativeHistogram);

impl HistogramPoint {
    /// `(timestamp, observation count)`.
    pub(crate) fn pair(self) -> (f64, f64) {
        (self.0, self.1.count)
    }
}

#[derive(Deserialize)]
pub(crate) struct NativeHistogram {
    #[serde(deserialize_with = "sample_value")]
    count: f64,
    /// `[boundary rule, "lower", "upper", "count"]` per populated bucket.
    #[serde(default)]
    buckets: Vec<(u8, String, String, String)>,
}

impl NativeHistogram {
    /// Populated buckets as numbers; unparsable ones are dropped.
    fn buckets(&self) -> Vec<(f64, f64, f64)> {
        self.buckets
            .iter()
            .filter_map(|(_, lower, upper, count)| {
                Some((
                    parse_sample_value(lower)?,
                    parse_sample_value(upper)?,
                    parse_sample_value(count)?,
                ))
            })
            .collect()
    }
}

/// Parse Prometheus' string-encoded float, including `NaN`, `+Inf` and `-Inf`.
pub(crate) fn parse_sample_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse::<f64>().ok(),
    }
}

fn sample_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a sample value as a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            parse_sample_value(v).ok_or_else(|| E::custom(format!("invalid sample value {v:?}")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
    }
    deserializer.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {

    #[test]
    fn promql_infos_among_warnings_are_infos() {
        let answer = Answer::annotated(
            (),
            vec![
                "PromQL info: metric might not be a counter, name does not end in _total".into(),
                "No StoreAPIs matched for this query".into(),
            ],
            vec!["PromQL info: ignored histogram".into()],
        );
        assert_eq!(answer.warnings, ["No StoreAPIs matched for this query"]);
        assert_eq!(answer.infos.len(), 2);
    }
    use super::*;

    fn parse_instant(json: &str) -> InstantValue {
        let env: Envelope<RawInstant> = serde_json::from_str(json).unwrap();
        env.data.unwrap().into()
    }

    #[test]
    fn vector_values_are_parsed_as_floats() {
        let v = parse_instant(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"instance":"a"},"value":[1700000000.5,"0.25"]},
                {"metric":{"instance":"b"},"value":[1700000000.5,"NaN"]},
                {"metric":{"instance":"c"},"value":[1700000000.5,"+Inf"]}]}}"#,
        );
        let samples = v.into_vector();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].labels["instance"], "a");
        assert_eq!(samples[0].value, 0.25);
        assert_eq!(samples[0].timestamp, 1700000000.5);
        assert!(samples[1].value.is_nan());
        assert_eq!(samples[2].value, f64::INFINITY);
    }

    #[test]
    fn scalar_matrix_and_native_histograms() {
        assert_eq!(
            parse_instant(
                r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#
            ),
            InstantValue::Scalar(1.0, 2.0)
        );
        let m = parse_instant(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[1,"1"],[2,"-Inf"]]},
                {"metric":{"h":"x"},"histograms":[[3,{"count":"7","sum":"1.5","buckets":[[0,"0","1","7"]]}]]}]}}"#,
        );
        let InstantValue::Matrix(series) = m else {
            panic!("expected a matrix")
        };
        assert_eq!(series[0].points, vec![(1.0, 1.0), (2.0, f64::NEG_INFINITY)]);
        assert_eq!(series[1].points, vec![(3.0, 7.0)]);
        // An instant native histogram keeps its buckets.
        let v = parse_instant(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{},"histogram":[3,{"count":"7","sum":"1.5","buckets":[[3,"-0.001","0.001","1"],[0,"0.5","0.6","6"]]}]}]}}"#,
        );
        let samples = v.into_vector();
        assert_eq!(samples[0].value, 7.0);
        assert_eq!(
            samples[0].buckets,
            Some(vec![(-0.001, 0.001, 1.0), (0.5, 0.6, 6.0)])
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let r: Result<Envelope<RawInstant>, _> = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#,
        );
        assert!(r.is_err());
    }
}
