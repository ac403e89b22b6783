//! The record of the queries an analysis sent: a plain value, no I/O (the [`super::Recorder`]
//! fills it in).

use std::time::{Duration, Instant};

use serde::Serialize;

/// How a query was evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    /// `/api/v1/query_range`: every step of a window.
    Range,
    /// `/api/v1/query`: one evaluation time.
    Instant,
}

impl QueryKind {
    /// `range` or `instant`, as the query inspector shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Range => "range",
            QueryKind::Instant => "instant",
        }
    }
}

/// A query that was sent, for the query inspector and for benchmarks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutedQuery {
    /// What it was for: a check id, `check/guard`, `check/evidence name`, or `inventory`.
    pub purpose: String,
    /// The PromQL.
    pub promql: String,
    /// Range or instant.
    pub kind: QueryKind,
    /// Series returned (for folded answers: the series the stage kept).
    pub series: usize,
    /// Wall time.
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Duration,
    /// When it was sent, after the analysis started: with `duration`, a waterfall of the run.
    #[serde(rename = "sent_after", serialize_with = "serialize_secs")]
    pub offset: Duration,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The engine refused it for its size ([`crate::prometheus::SizeRefusal`]): it was then
    /// fetched in smaller instance groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<&'static str>,
    /// `(part, of)` when the query was sent in instance groups, part counted from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<(usize, usize)>,
    /// When it was sent (`offset` is derived from it once the analysis ends).
    #[serde(skip)]
    pub sent: Instant,
}

impl ExecutedQuery {
    /// The record of a query about to be sent; [`ExecutedQuery::finish`] completes it.
    pub(super) fn start(purpose: String, promql: &str, kind: QueryKind) -> Self {
        Self {
            purpose,
            promql: promql.to_string(),
            kind,
            series: 0,
            duration: Duration::ZERO,
            offset: Duration::ZERO,
            error: None,
            refused: None,
            group: None,
            sent: Instant::now(),
        }
    }

    /// The answer is in: `series` kept, or the failure.
    pub(super) fn finish(mut self, series: usize, error: Option<String>) -> Self {
        self.duration = self.sent.elapsed();
        self.series = series;
        self.error = error;
        self
    }

    /// Approximate bytes held (what a cache of analyses weighs).
    pub fn approximate_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.purpose.len() + self.promql.len()
    }
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The queries one piece of work sent and what the user should hear about them (Prometheus'
/// warnings, evidence that could not be fetched). Concurrent work keeps a log each and merges
/// them in a fixed order, so the report lists queries the same way every time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryLog {
    /// Every query sent, in the order the work asked for them.
    pub queries: Vec<ExecutedQuery>,
    /// Notices for the report: Prometheus warnings, and what is missing and why.
    pub warnings: Vec<String>,
    /// Answers the server marked as possibly incomplete (its `warnings`: a Thanos store that
    /// did not answer, for one). What is built on them is less certain; PromQL's `infos` and
    /// our own notices do not count.
    pub doubtful_answers: usize,
}

impl QueryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append another log's queries and warnings after this one's.
    pub fn extend(&mut self, other: QueryLog) {
        self.queries.extend(other.queries);
        self.warnings.extend(other.warnings);
        self.doubtful_answers += other.doubtful_answers;
    }

    /// Add a notice.
    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// Stamp every query with when it was sent relative to `started` (the analysis' start).
    pub fn stamp_offsets(&mut self, started: std::time::Instant) {
        for q in &mut self.queries {
            q.offset = q.sent.saturating_duration_since(started);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_the_inspector_shows_them() {
        assert_eq!(
            serde_json::to_string(&QueryKind::Range).unwrap(),
            r#""range""#
        );
        assert_eq!(QueryKind::Instant.as_str(), "instant");
    }

    #[test]
    fn logs_merge_in_order_and_failures_are_kept() {
        let mut a = QueryLog::new();
        a.queries
            .push(ExecutedQuery::start("a".into(), "up", QueryKind::Instant).finish(3, None));
        let mut b = QueryLog::new();
        b.queries.push(
            ExecutedQuery::start("b".into(), "up", QueryKind::Range)
                .finish(0, Some("timeout".into())),
        );
        b.warn("b: evidence missing");
        a.extend(b);
        let purposes: Vec<&str> = a.queries.iter().map(|q| q.purpose.as_str()).collect();
        assert_eq!(purposes, ["a", "b"]);
        assert_eq!(a.queries[1].error.as_deref(), Some("timeout"));
        assert_eq!(a.warnings, ["b: evidence missing"]);
        let json = serde_json::to_value(&a.queries[0]).unwrap();
        assert!(json.get("error").is_none(), "{json}");
        assert_eq!(json["kind"], "instant");
    }
}
