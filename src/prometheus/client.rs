//! The HTTP client: one per Prometheus, shared by every query of a data source.
//!
//! It bounds what one Prometheus can cost us: a deadline per request (body included), a cap on
//! requests in flight, and a cap on the size of an answer, enforced while the body streams in so
//! a runaway answer is abandoned instead of buffered.

use std::{
    error::Error as StdError,
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
    time::{Duration, Instant},
};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::{header, Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::transport::{display_url, innermost};

use super::{
    config::{Auth, ClientConfig, QueryMethod, TlsOptions},
    error::{ApiErrorKind, PrometheusError},
    limiter::{Limiter, Permit, Priority},
    range_cache::{self, replay, Keep, RangeCache, Shared, Span},
    response::{
        Answer, BuildInfo, Envelope, ErrorEnvelope, InstantValue, Labels, RawInstant, RawRange,
        Series,
    },
    stream,
};
use crate::promql::format_duration;

/// Bytes of an error body worth reading for its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Receives one call per finished request, for the plugin's own metrics.
pub trait RequestObserver: Send + Sync {
    /// `endpoint` is e.g. `query`; `outcome` is `success` or a [`PrometheusError::kind`];
    /// `elapsed` is the HTTP exchange alone (body included), not the wait for a slot.
    fn observe(&self, endpoint: &'static str, outcome: &'static str, elapsed: Duration);

    /// A request waited `waited` for one of this client's own slots (the
    /// `maxConcurrentQueries` bound) before it was sent.
    fn slot_waited(&self, _waited: Duration) {}
}

/// When a request was asked for and when its HTTP exchange started (its slot was ours).
#[derive(Clone, Copy, Debug)]
struct Clock {
    asked: Instant,
    sent: Option<Instant>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            asked: Instant::now(),
            sent: None,
        }
    }

    /// The HTTP exchange so far (zero if it never started).
    fn exchange(&self) -> Duration {
        self.sent.map(|s| s.elapsed()).unwrap_or_default()
    }
}

/// Start, end and resolution of a range query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryRange {
    /// First evaluation time.
    pub start: DateTime<Utc>,
    /// Last evaluation time.
    pub end: DateTime<Utc>,
    /// Distance between evaluations.
    pub step: Duration,
}

/// The times a query asked about: samples stamped outside them are not the answer (a broken
/// proxy, a server with a skewed clock) and are dropped rather than judged as in the window.
#[derive(Clone, Copy, Debug)]
struct Within {
    first: f64,
    last: f64,
}

impl Within {
    /// Slack for the millisecond rounding of Prometheus' timestamps.
    const SLACK: f64 = 0.001;

    fn range(range: &QueryRange) -> Within {
        Within {
            first: range.start.timestamp_millis() as f64 / 1000.0 - Self::SLACK,
            last: range.end.timestamp_millis() as f64 / 1000.0 + Self::SLACK,
        }
    }

    /// An instant query at `at` (vector results carry `at` itself).
    fn instant(at: DateTime<Utc>) -> Within {
        let at = at.timestamp_millis() as f64 / 1000.0;
        Within {
            first: at - Self::SLACK,
            last: at + Self::SLACK,
        }
    }

    /// Drop `series`' points outside the times asked about; how many were dropped.
    fn keep(&self, series: &mut Series) -> usize {
        let before = series.points.len();
        series
            .points
            .retain(|(t, _)| *t >= self.first && *t <= self.last);
        before - series.points.len()
    }

    fn warning(&self, dropped: usize) -> Option<String> {
        (dropped > 0).then(|| {
            format!("Prometheus answered {dropped} samples stamped outside the queried time range; they were ignored")
        })
    }
}

/// A request whose status and headers were fine, with its concurrency slot and deadline.
struct Opened {
    response: reqwest::Response,
    _permit: Permit,
    deadline: tokio::time::Instant,
    api_path: String,
}

/// A Prometheus HTTP API client. Cheap to clone; clones share connections and limits.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Which queue this handle's requests wait in when the bound is reached.
    priority: Priority,
    /// Range answers shared across overlapping windows (the plugin's; the CLI has none).
    range_cache: Option<Shared>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    shown_url: String,
    timeout: Duration,
    max_response_bytes: usize,
    query_method: QueryMethod,
    limiter: Arc<Limiter>,
    observer: Option<Arc<dyn RequestObserver>>,
    fetched: Arc<Counters>,
    /// Set once the bound was fitted to the server's cores (or the server does not say).
    fitted: std::sync::atomic::AtomicBool,
    /// Every credential this client sends, as sent (password, its basic auth encoding, token,
    /// header values): redacted from error text that quotes the server.
    secrets: Vec<String>,
}

/// What a client has received so far: the cost of an analysis on the wire and in samples.
#[derive(Debug, Default)]
struct Counters {
    bytes: AtomicU64,
    samples: AtomicU64,
    slot_wait_micros: AtomicU64,
}

/// Bytes and samples a client has received since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Response body bytes.
    pub bytes: u64,
    /// Samples decoded (points of range results, elements of instant vectors).
    pub samples: u64,
    /// Time requests spent waiting for one of the client's own slots, summed.
    pub slot_wait: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.shown_url)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Build a client. Fails on settings that can never work (bad PEM, bad header name).
    pub fn new(
        config: &ClientConfig,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Self, PrometheusError> {
        let (base, auth) = base_url_and_auth(config)?;
        let shown_url = display_url(&base);
        let (headers, secrets) = default_headers(config, &auth)?;
        let http = http_client(config, headers)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                shown_url,
                timeout: config.timeout,
                max_response_bytes: config.max_response_bytes.max(1024),
                query_method: config.query_method,
                limiter: Limiter::new(config.max_concurrent_requests),
                observer,
                fetched: Arc::default(),
                fitted: Default::default(),
                secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            }),
            priority: Priority::Urgent,
            range_cache: None,
        })
    }

    /// The same client, sharing range answers through `cache` under `source` (the data
    /// source's identity and settings revision: answers are reused only under the same one).
    pub fn with_range_cache(&self, cache: Arc<RangeCache>, source: &str) -> Client {
        Client {
            inner: self.inner.clone(),
            priority: self.priority,
            range_cache: Some(Shared {
                cache,
                source: Arc::from(source),
            }),
        }
    }

    /// The same client (connections, bound) whose requests wait behind urgent ones: for
    /// queries nothing else in the analysis waits on.
    pub fn with_priority(&self, priority: Priority) -> Client {
        Client {
            inner: self.inner.clone(),
            priority,
            range_cache: self.range_cache.clone(),
        }
    }

    /// The Prometheus URL without credentials, for messages.
    pub fn url(&self) -> &str {
        &self.inner.shown_url
    }

    /// Bytes and samples received so far by this client and its clones.
    pub fn fetched(&self) -> Fetched {
        Fetched {
            bytes: self.inner.fetched.bytes.load(Ordering::Relaxed),
            samples: self.inner.fetched.samples.load(Ordering::Relaxed),
            slot_wait: Duration::from_micros(
                self.inner.fetched.slot_wait_micros.load(Ordering::Relaxed),
            ),
        }
    }

    /// The deadline of each HTTP exchange (waiting for a slot not included).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Instant query at `at`.
    pub async fn query(
        &self,
        promql: &str,
        at: DateTime<Utc>,
    ) -> Result<Answer<InstantValue>, PrometheusError> {
        let params = self.instant_params(promql, at);
        let answer: Answer<RawInstant> =
            self.call("query", self.query_http_method(), params).await?;
        let data: InstantValue = answer.data.into();
        let samples = match &data {
            InstantValue::Vector(v) => v.len(),
            InstantValue::Matrix(m) => m.iter().map(|s| s.points.len()).sum(),
            InstantValue::Scalar(..) | InstantValue::String(..) => 1,
        };
        self.count_samples(samples);
        Ok(Answer {
            data,
            warnings: answer.warnings,
            infos: answer.infos,
        })
    }

    /// Parameters of an instant query at `at`, with the server-side timeout.
    fn instant_params(&self, promql: &str, at: DateTime<Utc>) -> Vec<(&'static str, String)> {
        vec![
            ("query", promql.to_string()),
            ("time", unix_seconds(at)),
            ("timeout", format_duration(self.inner.timeout)),
        ]
    }

    /// Parameters of a range query over `range`, with the server-side timeout.
    fn range_params(&self, promql: &str, range: &QueryRange) -> Vec<(&'static str, String)> {
        let step = range.step.as_secs_f64().max(0.001);
        vec![
            ("query", promql.to_string()),
            ("start", unix_seconds(range.start)),
            ("end", unix_seconds(range.end)),
            ("step", format!("{step}")),
            ("timeout", format_duration(self.inner.timeout)),
        ]
    }

    fn count_samples(&self, n: usize) {
        self.inner
            .fetched
            .samples
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Range query over `range`.
    pub async fn query_range(
        &self,
        promql: &str,
        range: &QueryRange,
    ) -> Result<Answer<Vec<Series>>, PrometheusError> {
        let shared = self.shared_range(promql);
        if let Some(cached) = shared.and_then(|s| s.cache.lookup(&s.source, promql, span(range))) {
            let data = range_cache::slice(&cached, span(range));
            return Ok(Answer {
                data,
                warnings: Vec::new(),
                infos: Vec::new(),
            });
        }
        let params = self.range_params(promql, range);
        let answer: Answer<RawRange> = self
            .call("query_range", self.query_http_method(), params)
            .await?;
        let mut data: Vec<Series> = answer.data.into();
        let window = Within::range(range);
        let dropped: usize = data.iter_mut().map(|s| window.keep(s)).sum();
        self.count_samples(data.iter().map(|s| s.points.len()).sum());
        let mut infos = answer.infos;
        infos.extend(window.warning(dropped));
        if let (Some(s), true) = (shared, answer.warnings.is_empty() && infos.is_empty()) {
            s.cache.store(&s.source, promql, span(range), data.clone());
        }
        Ok(Answer {
            data,
            warnings: answer.warnings,
            infos,
        })
    }

    /// The range cache, when this client shares range answers and `promql` may be shared.
    fn shared_range(&self, promql: &str) -> Option<&Shared> {
        self.range_cache
            .as_ref()
            .filter(|_| range_cache::cacheable(promql))
    }

    /// Instant query at `at`, handing each sample (as a one-point series) to `on_series` as it
    /// is decoded. For vector results only.
    pub async fn query_fold<A, F>(
        &self,
        promql: &str,
        at: DateTime<Utc>,
        acc: A,
        on_series: F,
    ) -> Result<Answer<A>, PrometheusError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Series) + Send + 'static,
    {
        let params = self.instant_params(promql, at);
        self.fold_within("query", params, Within::instant(at), acc, on_series)
            .await
    }

    /// Range query, handing each series to `on_series` as it is decoded.
    pub async fn query_range_fold<A, F>(
        &self,
        promql: &str,
        range: &QueryRange,
        acc: A,
        mut on_series: F,
    ) -> Result<Answer<A>, PrometheusError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Series) + Send + 'static,
    {
        let Some(shared) = self.shared_range(promql) else {
            let params = self.range_params(promql, range);
            return self
                .fold_within("query_range", params, Within::range(range), acc, on_series)
                .await;
        };
        let span = span(range);
        if let Some(cached) = shared.cache.lookup(&shared.source, promql, span) {
            return Ok(replay(&cached, span, acc, on_series));
        }
        let params = self.range_params(promql, range);
        let kept = Arc::new(std::sync::Mutex::new(Keep::default()));
        let keep = kept.clone();
        let budget = shared.cache.entry_budget();
        let collecting = move |acc: &mut A, series: Series| {
            keep.lock()
                .unwrap_or_else(|p| p.into_inner())
                .offer(&series, budget);
            on_series(acc, series);
        };
        let answer = self
            .fold_within("query_range", params, Within::range(range), acc, collecting)
            .await?;
        let kept = std::mem::take(&mut *kept.lock().unwrap_or_else(|p| p.into_inner()));
        if let (Some(series), true) = (
            kept.series,
            answer.warnings.is_empty() && answer.infos.is_empty(),
        ) {
            shared.cache.store(&shared.source, promql, span, series);
        }
        Ok(answer)
    }

    /// [`Self::fold`], with every sample outside `window` dropped before `on_series` sees it
    /// and a warning saying how many were.
    async fn fold_within<A, F>(
        &self,
        endpoint: &'static str,
        params: Vec<(&str, String)>,
        window: Within,
        acc: A,
        mut on_series: F,
    ) -> Result<Answer<A>, PrometheusError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Series) + Send + 'static,
    {
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        let checked = move |acc: &mut A, mut series: Series| {
            counter.fetch_add(window.keep(&mut series) as u64, Ordering::Relaxed);
            if !series.points.is_empty() {
                on_series(acc, series);
            }
        };
        let mut answer = self.fold(endpoint, params, acc, checked).await?;
        let dropped = dropped.load(Ordering::Relaxed) as usize;
        answer.infos.extend(window.warning(dropped));
        Ok(answer)
    }

    /// Label sets of the series matching any of `matchers` between `start` and `end`.
    pub async fn series(
        &self,
        matchers: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Answer<Vec<Labels>>, PrometheusError> {
        let mut params: Vec<(&str, String)> =
            matchers.iter().map(|m| ("match[]", m.clone())).collect();
        params.push(("start", unix_seconds(start)));
        params.push(("end", unix_seconds(end)));
        self.call("series", self.query_http_method(), params).await
    }

    /// Values of `label` on series matching `matchers` (all series when empty).
    pub async fn label_values(
        &self,
        label: &str,
        matchers: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Answer<Vec<String>>, PrometheusError> {
        if !crate::promql::is_label_name(label) {
            return Err(PrometheusError::Config(format!(
                "`{label}` is not a valid label name"
            )));
        }
        let mut params: Vec<(&str, String)> =
            matchers.iter().map(|m| ("match[]", m.clone())).collect();
        params.push(("start", unix_seconds(start)));
        params.push(("end", unix_seconds(end)));
        // The label name was validated above, so it is safe as a path segment.
        self.call_path(
            "label_values",
            &format!("label/{label}/values"),
            Method::GET,
            params,
        )
        .await
    }

    /// Label names on series matching `matchers` (all series when empty) between `start` and
    /// `end`.
    pub async fn label_names(
        &self,
        matchers: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Answer<Vec<String>>, PrometheusError> {
        let mut params: Vec<(&str, String)> =
            matchers.iter().map(|m| ("match[]", m.clone())).collect();
        params.push(("start", unix_seconds(start)));
        params.push(("end", unix_seconds(end)));
        self.call_path("label_names", "labels", Method::GET, params)
            .await
    }

    /// Lower the bound on requests in flight to what the server can evaluate at once: its
    /// cores (Go's `GOMAXPROCS` in `/api/v1/status/runtimeinfo`) plus one, so a core never idles
    /// between two answers, and never below two. Asked once per client; servers without the
    /// endpoint (Thanos, Mimir, VictoriaMetrics spread queries over many machines) keep the
    /// configured bound. A failed request is asked again next time.
    pub async fn fit_bound_to_server(&self) {
        if self.inner.fitted.load(Ordering::Relaxed) {
            return;
        }
        let answer: Result<Answer<super::RuntimeInfo>, _> = self
            .call_path("runtimeinfo", "status/runtimeinfo", Method::GET, Vec::new())
            .await;
        match answer {
            Ok(a) => {
                if let Some(cores) = a.data.gomaxprocs.filter(|n| *n > 0) {
                    self.inner.limiter.limit_to((cores + 1).max(2));
                }
                self.inner.fitted.store(true, Ordering::Relaxed);
            }
            Err(e) if endpoint_missing(&e) => {
                self.inner.fitted.store(true, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }

    /// Requests this client sends at once at most.
    pub fn concurrency(&self) -> usize {
        self.inner.limiter.slots()
    }

    /// Prometheus' version and build details.
    pub async fn build_info(&self) -> Result<BuildInfo, PrometheusError> {
        let answer: Answer<BuildInfo> = self
            .call_path("buildinfo", "status/buildinfo", Method::GET, Vec::new())
            .await?;
        Ok(answer.data)
    }

    /// The server's command-line flags (`/api/v1/status/flags`), which name the engine.
    pub async fn flags(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, PrometheusError> {
        let answer: Answer<std::collections::BTreeMap<String, String>> = self
            .call_path("flags", "status/flags", Method::GET, Vec::new())
            .await?;
        Ok(answer.data)
    }

    /// Which engine answers and its version ([`super::ServerInfo`]), from `buildinfo` and
    /// `flags` asked at once. A server that cannot be reached or refuses the credentials is
    /// an error; a missing or refused status endpoint only leaves the engine or its version
    /// unknown (VictoriaMetrics, proxies).
    pub async fn server_info(&self) -> Result<super::ServerInfo, PrometheusError> {
        let (build, flags) = tokio::join!(self.build_info(), self.flags());
        match build {
            Err(e) if !endpoint_missing(&e) => Err(e),
            build => Ok(super::ServerInfo::recognise(build.as_ref(), flags.as_ref())),
        }
    }

    fn query_http_method(&self) -> Method {
        match self.inner.query_method {
            QueryMethod::Post => Method::POST,
            QueryMethod::Get => Method::GET,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        params: Vec<(&str, String)>,
    ) -> Result<Answer<T>, PrometheusError> {
        self.call_path(endpoint, endpoint, method, params).await
    }

    async fn call_path<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        method: Method,
        params: Vec<(&str, String)>,
    ) -> Result<Answer<T>, PrometheusError> {
        let mut clock = Clock::start();
        let result = self
            .send(path, method, params, &mut clock)
            .await
            .map_err(|e| e.redacted(&self.inner.secrets));
        self.observe(endpoint, &result, &clock);
        result
    }

    /// Send a request and check its status; the permit and deadline travel with the answer
    /// so that reading the body stays within both.
    async fn open(
        &self,
        path: &str,
        method: Method,
        params: Vec<(&str, String)>,
        clock: &mut Clock,
    ) -> Result<Opened, PrometheusError> {
        let inner = &self.inner;
        let api_path = format!("/api/v1/{path}");
        // Waiting for one of our own slots is not Prometheus' time: the deadline starts once
        // the slot is ours and covers the request and the whole body, so a timeout always
        // means Prometheus (or the network) was slow. How long analyses may queue is bounded
        // above this client (the plugin admits a few analyses per data source at once), and a
        // cancelled caller drops this future and its place in the queue.
        let permit = inner.limiter.acquire(self.priority).await;
        let sent = Instant::now();
        clock.sent = Some(sent);
        let waited = sent - clock.asked;
        inner
            .fetched
            .slot_wait_micros
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
        if let Some(observer) = &inner.observer {
            observer.slot_waited(waited);
        }
        let deadline = tokio::time::Instant::now() + inner.timeout;
        let timeout_error = || self.timeout_error(&api_path);

        let mut url = inner.base.clone();
        url.set_path(&format!(
            "{}{}",
            inner.base.path().trim_end_matches('/'),
            api_path
        ));
        let request = if method == Method::POST {
            inner.http.post(url).form(&params)
        } else {
            inner.http.get(url).query(&params)
        };
        let response = tokio::time::timeout_at(
            deadline,
            request.header(header::ACCEPT, "application/json").send(),
        )
        .await
        .map_err(|_| timeout_error())?
        .map_err(|e| self.transport_error(e, &api_path))?;

        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !status.is_success() {
            let body = tokio::time::timeout_at(
                deadline,
                self.read_body(response, ERROR_BODY_LIMIT, &api_path, true),
            )
            .await
            .map_err(|_| timeout_error())??;
            return Err(self.status_error(status, &body, &api_path));
        }
        if !content_type.is_empty() && !content_type.contains("json") {
            return Err(self.malformed(
                &api_path,
                format!(
                    "expected JSON but the content type is `{content_type}`; is the URL pointing at Prometheus' HTTP API and not at a web page or proxy login?"
                ),
            ));
        }
        Ok(Opened {
            response,
            _permit: permit,
            deadline,
            api_path,
        })
    }

    /// Request and decode a whole answer into `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        method: Method,
        params: Vec<(&str, String)>,
        clock: &mut Clock,
    ) -> Result<Answer<T>, PrometheusError> {
        let opened = self.open(path, method, params, clock).await?;
        let api_path = opened.api_path.clone();
        let body = tokio::time::timeout_at(
            opened.deadline,
            self.read_body(
                opened.response,
                self.inner.max_response_bytes,
                &api_path,
                false,
            ),
        )
        .await
        .map_err(|_| self.timeout_error(&api_path))??;
        self.inner
            .fetched
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let envelope: Envelope<T> = serde_json::from_slice(&body)
            .map_err(|e| self.malformed(&api_path, format!("invalid JSON ({e})")))?;
        if envelope.status != "success" {
            return Err(PrometheusError::Api {
                kind: ApiErrorKind::from_error_type(envelope.error_type.as_deref().unwrap_or("")),
                message: envelope.error.unwrap_or_else(|| "no message".to_string()),
            });
        }
        let data = envelope
            .data
            .ok_or_else(|| self.malformed(&api_path, "the answer has no `data`".to_string()))?;
        Ok(Answer::annotated(data, envelope.warnings, envelope.infos))
    }

    /// Request a vector or matrix and hand each series to `on_series` while the body streams
    /// in; returns the accumulator. Memory stays at one series plus a few body chunks.
    async fn fold<A, F>(
        &self,
        endpoint: &'static str,
        params: Vec<(&str, String)>,
        mut acc: A,
        mut on_series: F,
    ) -> Result<Answer<A>, PrometheusError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Series) + Send + 'static,
    {
        let mut clock = Clock::start();
        let result = async {
            let opened = self
                .open(endpoint, self.query_http_method(), params, &mut clock)
                .await?;
            let Opened {
                mut response,
                _permit,
                deadline,
                api_path,
            } = opened;
            // Two pieces in flight (`stream::forward`): enough for the parser to keep up.
            let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(2);
            let fetched = self.inner.fetched.clone();
            let parser = tokio::task::spawn_blocking(move || {
                let mut counted = |acc: &mut A, series: Series| {
                    fetched
                        .samples
                        .fetch_add(series.points.len() as u64, Ordering::Relaxed);
                    on_series(acc, series)
                };
                let envelope = stream::parse(stream::ChunkReader::new(rx), &mut acc, &mut counted);
                (envelope, acc)
            });
            let limit = self.inner.max_response_bytes;
            let feed = async {
                let mut total = 0usize;
                if response.content_length().unwrap_or(0) as usize > limit {
                    return Err(self.too_large(&api_path, limit));
                }
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| self.transport_error(e, &api_path))?
                {
                    total += chunk.len();
                    self.inner
                        .fetched
                        .bytes
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if total > limit {
                        return Err(self.too_large(&api_path, limit));
                    }
                    if !stream::forward(&tx, chunk).await {
                        // The parser stopped early (it found an error); it will say which.
                        break;
                    }
                }
                Ok(())
            };
            let fed = tokio::time::timeout_at(deadline, feed)
                .await
                .map_err(|_| self.timeout_error(&api_path))
                .and_then(|r| r);
            drop(tx);
            let (parsed, acc) = parser.await.map_err(|e| {
                self.malformed(&api_path, format!("the answer could not be decoded ({e})"))
            })?;
            // A transport problem explains a truncated parse: report it first.
            fed?;
            let envelope =
                parsed.map_err(|e| self.malformed(&api_path, format!("invalid JSON ({e})")))?;
            if envelope.status != "success" {
                return Err(PrometheusError::Api {
                    kind: ApiErrorKind::from_error_type(
                        envelope.error_type.as_deref().unwrap_or(""),
                    ),
                    message: envelope.error.unwrap_or_else(|| "no message".to_string()),
                });
            }
            if !envelope.saw_data {
                return Err(self.malformed(&api_path, "the answer has no `data`".to_string()));
            }
            Ok(Answer::annotated(acc, envelope.warnings, envelope.infos))
        }
        .await
        .map_err(|e| e.redacted(&self.inner.secrets));
        self.observe(endpoint, &result, &clock);
        result
    }

    /// Tell the observer (the plugin's own metrics) how a request ended.
    fn observe<T>(
        &self,
        endpoint: &'static str,
        result: &Result<T, PrometheusError>,
        clock: &Clock,
    ) {
        if let Some(observer) = &self.inner.observer {
            let outcome = match result {
                Ok(_) => "success",
                Err(e) => e.kind(),
            };
            observer.observe(endpoint, outcome, clock.exchange());
        }
    }

    fn timeout_error(&self, api_path: &str) -> PrometheusError {
        PrometheusError::Timeout {
            url: self.inner.shown_url.clone(),
            endpoint: api_path.to_string(),
            timeout: self.inner.timeout,
        }
    }

    fn malformed(&self, api_path: &str, reason: String) -> PrometheusError {
        PrometheusError::Malformed {
            url: self.inner.shown_url.clone(),
            endpoint: api_path.to_string(),
            reason,
        }
    }

    fn too_large(&self, api_path: &str, limit: usize) -> PrometheusError {
        PrometheusError::TooLarge {
            url: self.inner.shown_url.clone(),
            endpoint: api_path.to_string(),
            limit_mib: limit.div_ceil(1024 * 1024),
        }
    }

    /// Read at most `limit` bytes. Over the limit: an error, unless `truncate` (error bodies,
    /// where the first bytes carry the message).
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        limit: usize,
        api_path: &str,
        truncate: bool,
    ) -> Result<Vec<u8>, PrometheusError> {
        let too_large = || self.too_large(api_path, limit);
        let declared = response.content_length().unwrap_or(0) as usize;
        if declared > limit && !truncate {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(declared.min(limit).min(1024 * 1024));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e, api_path))?
        {
            if body.len() + chunk.len() > limit {
                if truncate {
                    let room = limit - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn status_error(&self, status: StatusCode, body: &[u8], api_path: &str) -> PrometheusError {
        let url = self.inner.shown_url.clone();
        let parsed: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
        let api_message = parsed.as_ref().and_then(|e| e.error.clone());
        let message = api_message.clone().unwrap_or_else(|| body_excerpt(body));
        match status.as_u16() {
            401 | 403 => PrometheusError::Auth {
                url,
                status: status.as_u16(),
                message: if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                },
            },
            404 if api_message.is_none() => PrometheusError::NotFound {
                url,
                endpoint: api_path.to_string(),
            },
            _ => match (parsed.and_then(|e| e.error_type), api_message) {
                (Some(kind), Some(message)) => PrometheusError::Api {
                    kind: ApiErrorKind::from_error_type(&kind),
                    message,
                },
                _ => {
                    let hint = if message.contains("HTTPS server") {
                        " (the server speaks HTTPS: use an https:// URL)"
                    } else {
                        ""
                    };
                    PrometheusError::Status {
                        url,
                        endpoint: api_path.to_string(),
                        status: status.as_u16(),
                        message: format!("{message}{hint}"),
                    }
                }
            },
        }
    }

    fn transport_error(&self, err: reqwest::Error, api_path: &str) -> PrometheusError {
        let url = self.inner.shown_url.clone();
        let err = err.without_url();
        if err.is_timeout() {
            return PrometheusError::Timeout {
                url,
                endpoint: api_path.to_string(),
                timeout: self.inner.timeout,
            };
        }
        if let Some(tls) = find_in_chain::<rustls::Error>(&err) {
            return tls_error(url, tls);
        }
        if let Some(io) = find_in_chain::<std::io::Error>(&err) {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return PrometheusError::Timeout {
                    url,
                    endpoint: api_path.to_string(),
                    timeout: self.inner.timeout,
                };
            }
        }
        let reason = error_chain(&err);
        if reason.contains("dns error") {
            return PrometheusError::UnknownHost {
                url,
                reason: innermost(&err),
            };
        }
        if err.is_body() || err.is_decode() {
            return PrometheusError::Malformed {
                url,
                endpoint: api_path.to_string(),
                reason: format!(
                    "the connection broke before the whole answer arrived ({})",
                    innermost(&err)
                ),
            };
        }
        PrometheusError::Unreachable {
            url,
            reason: innermost(&err),
        }
    }
}

/// The first `T` in an error's source chain, looking inside `io::Error`s too: TLS errors arrive
/// as a `rustls::Error` wrapped in an `io::Error` wrapped in another `io::Error`, and
/// `io::Error::source` skips the wrapped error itself.
fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    if let Some(found) = err.downcast_ref::<T>() {
        return Some(found);
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        if let Some(inner) = io.get_ref() {
            let inner: &(dyn StdError + 'static) = inner;
            if let Some(found) = find_in_chain::<T>(inner) {
                return Some(found);
            }
        }
    }
    err.source().and_then(find_in_chain::<T>)
}

fn tls_error(url: String, err: &rustls::Error) -> PrometheusError {
    use rustls::{CertificateError, Error as E};
    let hint = match err {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "The server's certificate is not signed by a trusted CA: add that CA certificate to the data source (With CA Cert), or enable Skip TLS verify for testing only."
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "The certificate was not issued for the host name in the URL: use the name it was issued for.",
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "The server's certificate has expired: renew it.",
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "The server may not speak TLS: try http:// instead of https://."
        }
        E::AlertReceived(_) | E::NoCertificatesPresented => {
            "The server rejected the connection; if it requires a client certificate, configure TLS Client Auth."
        }
        _ => "Check the server's certificate and the data source's TLS settings.",
    };
    PrometheusError::Tls {
        url,
        reason: err.to_string(),
        hint,
    }
}

/// The URL requests go to and the authentication they carry. Credentials embedded in the URL
/// become basic auth (unless auth is configured otherwise), and leave the URL, so they can't
/// leak through any message that shows it.
fn base_url_and_auth(config: &ClientConfig) -> Result<(Url, Auth), PrometheusError> {
    let mut base = config.url.clone();
    if !matches!(base.scheme(), "http" | "https") {
        return Err(PrometheusError::Config(format!(
            "the Prometheus URL must start with http:// or https://, got {}://",
            base.scheme()
        )));
    }
    let mut auth = config.auth.clone();
    if !base.username().is_empty() || base.password().is_some() {
        if auth == Auth::None {
            auth = Auth::Basic {
                user: percent_decode(base.username()),
                password: crate::secret::Secret::new(percent_decode(base.password().unwrap_or(""))),
            };
        }
        let _ = base.set_username("");
        let _ = base.set_password(None);
    }
    Ok((base, auth))
}

/// The headers every request sends: the configured ones, `Authorization` from `auth`, and our
/// `User-Agent`; all but the last marked sensitive. Also returns every credential as sent, to
/// be redacted from error text that quotes the server.
fn default_headers(
    config: &ClientConfig,
    auth: &Auth,
) -> Result<(header::HeaderMap, Vec<String>), PrometheusError> {
    let mut secrets: Vec<String> = Vec::new();
    let mut headers = header::HeaderMap::new();
    for (name, value) in &config.headers {
        secrets.push(value.expose().trim().to_string());
        if let Some(reason) = super::config::reserved_header(name) {
            return Err(PrometheusError::Config(reason));
        }
        let name = header::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            PrometheusError::Config(format!("`{name}` is not a valid HTTP header name"))
        })?;
        let mut value = header::HeaderValue::from_str(value.expose()).map_err(|_| {
            PrometheusError::Config(format!(
                "the value of header `{name}` contains characters not allowed in HTTP headers"
            ))
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    match auth {
        Auth::None => {}
        Auth::Basic { user, password } => {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", password.expose()));
            secrets.push(password.expose().to_string());
            secrets.push(token.clone());
            headers.insert(header::AUTHORIZATION, sensitive(&format!("Basic {token}"))?);
        }
        Auth::Bearer(token) => {
            secrets.push(token.expose().trim().to_string());
            headers.insert(
                header::AUTHORIZATION,
                sensitive(&format!("Bearer {}", token.expose().trim()))?,
            );
        }
    }
    headers.insert(
        header::USER_AGENT,
        header::HeaderValue::from_static(concat!("gregg-insights/", env!("CARGO_PKG_VERSION"))),
    );
    Ok((headers, secrets))
}

/// The HTTP client: deadlines, connection pool, at most 3 redirects, rustls with the
/// configured trust and client identity.
fn http_client(
    config: &ClientConfig,
    headers: header::HeaderMap,
) -> Result<reqwest::Client, PrometheusError> {
    let mut builder = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::limited(3))
        .use_rustls_tls();
    if config.tls.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder = with_ca_certificate(builder, &config.tls)?;
    builder = with_client_identity(builder, &config.tls)?;
    builder
        .build()
        .map_err(|e| PrometheusError::Config(error_chain(&e)))
}

/// Trust the configured CA bundle, if any, instead of the system trust store (like Grafana).
fn with_ca_certificate(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, PrometheusError> {
    let Some(pem) = tls.ca_cert_pem.as_deref().filter(|p| !p.trim().is_empty()) else {
        return Ok(builder);
    };
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
        PrometheusError::Config(format!("the CA certificate is not valid PEM: {e}"))
    })?;
    if certs.is_empty() {
        return Err(PrometheusError::Config(
            "the CA certificate field holds no PEM certificate".to_string(),
        ));
    }
    builder = builder.tls_built_in_root_certs(false);
    for cert in certs {
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

/// Present the configured client certificate (mutual TLS); a certificate without its key is a
/// configuration error, a key without a certificate is ignored.
fn with_client_identity(
    builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, PrometheusError> {
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) if !cert.trim().is_empty() && !key.is_empty() => {
            let mut pem = cert.trim_end().to_string();
            pem.push('\n');
            pem.push_str(key.expose());
            let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|_| {
                PrometheusError::Config(
                    "the TLS client certificate or key is not valid PEM".to_string(),
                )
            })?;
            Ok(builder.identity(identity))
        }
        (Some(cert), None) if !cert.trim().is_empty() => Err(PrometheusError::Config(
            "a TLS client certificate was given without its key".to_string(),
        )),
        _ => Ok(builder),
    }
}

fn sensitive(value: &str) -> Result<header::HeaderValue, PrometheusError> {
    let mut v = header::HeaderValue::from_str(value).map_err(|_| {
        PrometheusError::Config(
            "the credentials contain characters not allowed in HTTP headers".to_string(),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// `a: b: c` from an error and its sources, without repeats.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// First line(s) of a non-JSON body, printable characters only.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        "empty body".to_string()
    } else {
        trimmed
    }
}

/// A range's points as the range cache (and Prometheus) count them: Unix milliseconds.
fn span(range: &QueryRange) -> Span {
    Span::new(
        range.start.timestamp_millis(),
        range.end.timestamp_millis(),
        i64::try_from(range.step.as_millis()).unwrap_or(i64::MAX),
    )
}

fn unix_seconds(t: DateTime<Utc>) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The server answered, but not this status endpoint (absent, refused, or in another shape):
/// engines other than Prometheus lack some of them.
fn endpoint_missing(err: &PrometheusError) -> bool {
    matches!(
        err,
        PrometheusError::NotFound { .. }
            | PrometheusError::Status { .. }
            | PrometheusError::Api { .. }
            | PrometheusError::Malformed { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_outside_the_queried_range_are_dropped_and_told() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let range = QueryRange {
            start: t(1_000),
            end: t(1_100),
            step: Duration::from_secs(50),
        };
        let within = Within::range(&range);
        let mut series = Series {
            labels: Default::default(),
            points: vec![
                (900.0, 1.0),
                (1_000.0, 2.0),
                (1_050.0, 3.0),
                (1_100.0, 4.0),
                (9e9, 5.0),
            ],
        };
        assert_eq!(within.keep(&mut series), 2);
        assert_eq!(
            series.points,
            [(1_000.0, 2.0), (1_050.0, 3.0), (1_100.0, 4.0)]
        );
        assert!(within
            .warning(2)
            .unwrap()
            .contains("2 samples stamped outside"));
        assert_eq!(within.warning(0), None);
        let instant = Within::instant(t(1_100));
        let mut sample = Series {
            labels: Default::default(),
            points: vec![(1_100.0, 1.0)],
        };
        assert_eq!(instant.keep(&mut sample), 0);
    }

    #[test]
    fn percent_decoding_of_url_credentials() {
        assert_eq!(percent_decode("p%40ss%3Aword"), "p@ss:word");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn url_credentials_move_out_of_the_url() {
        let config = ClientConfig::new(Url::parse("http://admin:secret@127.0.0.1:9/").unwrap());
        let client = Client::new(&config, None).unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:9");
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let mut config = ClientConfig::new(Url::parse("ftp://x/").unwrap());
        assert!(matches!(
            Client::new(&config, None),
            Err(PrometheusError::Config(_))
        ));
        config.url = Url::parse("http://x/").unwrap();
        config.tls.ca_cert_pem = Some("not a pem".into());
        assert!(matches!(
            Client::new(&config, None),
            Err(PrometheusError::Config(_))
        ));
        config.tls.ca_cert_pem = None;
        config.headers = vec![("Bad Header".into(), crate::secret::Secret::new("v"))];
        assert!(matches!(
            Client::new(&config, None),
            Err(PrometheusError::Config(_))
        ));
    }

    #[test]
    fn excerpts_are_single_line_and_short() {
        assert_eq!(
            body_excerpt(b"<html>\n<b>Bad\tGateway</b>\n</html>"),
            "<html> <b>Bad Gateway</b> </html>"
        );
        assert_eq!(body_excerpt(b""), "empty body");
        assert!(body_excerpt(&[b'x'; 1000]).len() <= 300);
    }
}
