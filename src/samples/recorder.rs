//! The recording client: every query the analysis sends goes through it, is recorded once in
//! the caller's [`QueryLog`], and Prometheus' warnings land there as notices.

use chrono::{DateTime, Utc};

use crate::prometheus::{Answer, Client, InstantValue, PrometheusError, QueryRange, Series};

use super::{ExecutedQuery, QueryKind, QueryLog};

/// When a folded query is evaluated.
#[derive(Clone, Copy, Debug)]
pub enum Over<'r> {
    /// At one time.
    Instant(DateTime<Utc>),
    /// Over a range.
    Range(&'r QueryRange),
}

impl Over<'_> {
    fn kind(&self) -> QueryKind {
        match self {
            Over::Instant(_) => QueryKind::Instant,
            Over::Range(_) => QueryKind::Range,
        }
    }
}

/// A [`Client`] that records what it sends.
#[derive(Clone, Copy, Debug)]
pub struct Recorder<'a> {
    client: &'a Client,
}

impl<'a> Recorder<'a> {
    /// Record the queries sent through `client`.
    pub fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The client underneath (its URL, bound and priority).
    pub fn client(&self) -> &'a Client {
        self.client
    }

    /// An instant query at `at`.
    pub async fn instant(
        &self,
        log: &mut QueryLog,
        purpose: impl Into<String>,
        promql: &str,
        at: DateTime<Utc>,
    ) -> Result<InstantValue, PrometheusError> {
        let record = ExecutedQuery::start(purpose.into(), promql, QueryKind::Instant);
        let answer = self.client.query(promql, at).await;
        let series = |v: &InstantValue| match v {
            InstantValue::Vector(v) => v.len(),
            InstantValue::Matrix(m) => m.len(),
            _ => 0,
        };
        finish(log, record, answer, series)
    }

    /// A range query over `range`.
    pub async fn range(
        &self,
        log: &mut QueryLog,
        purpose: impl Into<String>,
        promql: &str,
        range: &QueryRange,
    ) -> Result<Vec<Series>, PrometheusError> {
        let record = ExecutedQuery::start(purpose.into(), promql, QueryKind::Range);
        let answer = self.client.query_range(promql, range).await;
        finish(log, record, answer, Vec::len)
    }

    /// A query whose series are folded into `acc` as they are decoded (memory bounded by what
    /// the fold keeps, not by the answer); `kept` says how many series the fold kept, for the
    /// record.
    // The fold's three parts (start, step, count) stay separate arguments so each call site
    // reads as one query: what, which, when, then how it is folded.
    #[allow(clippy::too_many_arguments)]
    pub async fn fold<A, F>(
        &self,
        log: &mut QueryLog,
        purpose: impl Into<String>,
        promql: &str,
        over: Over<'_>,
        acc: A,
        on_series: F,
        kept: impl FnOnce(&A) -> usize,
    ) -> Result<A, PrometheusError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Series) + Send + 'static,
    {
        let record = ExecutedQuery::start(purpose.into(), promql, over.kind());
        let answer = match over {
            Over::Instant(at) => self.client.query_fold(promql, at, acc, on_series).await,
            Over::Range(range) => {
                self.client
                    .query_range_fold(promql, range, acc, on_series)
                    .await
            }
        };
        finish(log, record, answer, kept)
    }
}

/// Complete the record, keep Prometheus' warnings and infos as notices (counting the answers
/// with warnings: they may be partial), and hand back the data.
fn finish<T>(
    log: &mut QueryLog,
    record: ExecutedQuery,
    answer: Result<Answer<T>, PrometheusError>,
    series: impl FnOnce(&T) -> usize,
) -> Result<T, PrometheusError> {
    match answer {
        Ok(answer) => {
            log.queries.push(record.finish(series(&answer.data), None));
            if !answer.warnings.is_empty() {
                log.doubtful_answers += 1;
            }
            log.warnings.extend(answer.warnings);
            log.warnings.extend(answer.infos);
            Ok(answer.data)
        }
        Err(e) => {
            let mut record = record.finish(0, Some(e.to_string()));
            record.refused = e.size_refusal().map(|r| r.as_str());
            log.queries.push(record);
            Err(e)
        }
    }
}
