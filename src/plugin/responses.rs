//! Encoded answers of the queries a dashboard refresh repeats.
//!
//! A dashboard refreshed within the analysis cache's lifetime asks the same queries again. The
//! analysis is cached ([`super::cache`]), but building and encoding the frames of a fleet's
//! insights again costs milliseconds per panel (hundreds of insights with their narratives).
//! This cache keeps the encoded protobuf answer of each query that depends only on the
//! analysis (`insights`, `report`, `alert`, `use_matrix`) under everything that decides it:
//! the data source and its settings' version, the refId (it is written into the frames), the
//! query's JSON as sent, and the evaluation time rounded to the analysis cache's bucket. A hit
//! shares the kept frames' bytes (`Bytes`, no copy); nothing is recomputed.
//!
//! Only successful answers are kept, for [`cache::TTL`], within [`MAX_BYTES`] in total (the
//! oldest are dropped first); an answer larger than [`MAX_ENTRY_BYTES`] is not kept at all.
//! Keeping a query's answer drops the answers it kept for earlier times: a refreshed panel
//! does not ask for its previous refresh again, and at 10,000 hosts each answer of the
//! `insights` table is some 3 MiB that would stay resident through the next analysis.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use grafana_plugin_sdk::pluginv2;

use super::{answer::DataAnswer, cache};
use crate::request::query::{self, QueryType};

/// Total size of the answers kept.
pub const MAX_BYTES: usize = 8 << 20;

/// Answers larger than this are not kept (a report of tens of thousands of insights).
pub const MAX_ENTRY_BYTES: usize = 4 << 20;

struct Entry {
    created: Instant,
    bytes: usize,
    response: DataAnswer,
}

/// The cache: answers by key.
#[derive(Default)]
pub struct Responses {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// Everything that decides a kept answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// What was asked: the data source and its settings' version, the refId, the query type
    /// and the query's JSON.
    asked: String,
    /// The evaluation time rounded to the analysis cache's bucket, Unix seconds.
    bucket: i64,
}

impl Key {
    /// Whether `other` is the same query at an earlier time (see [`cache::Supersedes`] for
    /// why never a later one).
    fn is_same_but_earlier(&self, other: &Key) -> bool {
        self.asked == other.asked && other.bucket < self.bucket
    }
}

/// A query that may be answered from this cache: its key and type.
pub struct Cacheable {
    /// Everything that decides the answer.
    pub key: Key,
    /// Its query type (for the plugin's metrics).
    pub query_type: QueryType,
}

/// The cache key of `q`, if its answer depends only on the analysis of its data source at its
/// (bucketed) time.
pub fn cacheable(
    context: Option<&pluginv2::PluginContext>,
    q: &pluginv2::DataQuery,
) -> Option<Cacheable> {
    let context = context?;
    let settings = context.data_source_instance_settings.as_ref()?;
    let json: serde_json::Value = if q.json.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&q.json).ok()?
    };
    let parsed = query::parse(&q.query_type, &json).ok()?;
    if !matches!(
        parsed.query_type,
        QueryType::Insights | QueryType::Report | QueryType::Alert | QueryType::UseMatrix
    ) {
        return None;
    }
    let to = chrono::DateTime::from_timestamp_millis(q.time_range.as_ref()?.to_epoch_ms)?;
    let asked = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        context.org_id,
        settings.uid,
        settings.id,
        settings.last_updated_ms,
        q.ref_id,
        q.query_type,
        String::from_utf8_lossy(&q.json),
    );
    let key = Key {
        asked,
        bucket: cache::bucketed(to).timestamp(),
    };
    Some(Cacheable {
        key,
        query_type: parsed.query_type,
    })
}

impl Responses {
    /// The answer kept under `key`, if fresh.
    pub fn get(&self, key: &Key) -> Option<DataAnswer> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|e| e.created.elapsed() < cache::TTL)
            .map(|e| e.response.clone())
    }

    /// Keep `response` under `key` if it succeeded and is small enough, in place of the
    /// answers to the same query at earlier times.
    pub fn put(&self, key: Key, response: &DataAnswer) {
        if !response.rest.error.is_empty() {
            return;
        }
        let bytes = response.frame_bytes() + key.asked.len();
        if bytes > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|k, e| e.created.elapsed() < cache::TTL && !key.is_same_but_earlier(k));
        let mut total: usize = entries.values().map(|e| e.bytes).sum();
        while total + bytes > MAX_BYTES {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            total -= entries.remove(&oldest).map_or(0, |e| e.bytes);
        }
        entries.insert(
            key,
            Entry {
                created: Instant::now(),
                bytes,
                response: response.clone(),
            },
        );
    }

    /// Drop the answers past their TTL now rather than at the next `put` (see
    /// [`super::cache::Cache::expire`]).
    pub fn expire(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.created.elapsed() < cache::TTL);
    }

    /// The number of answers kept (for tests).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|e| e.created.elapsed() < cache::TTL)
            .count()
    }

    /// Whether nothing fresh is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(updated: i64) -> pluginv2::PluginContext {
        pluginv2::PluginContext {
            org_id: 1,
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                uid: "ds".into(),
                last_updated_ms: updated,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn query(json: &str, to_ms: i64) -> pluginv2::DataQuery {
        pluginv2::DataQuery {
            ref_id: "A".into(),
            json: json.as_bytes().to_vec(),
            time_range: Some(pluginv2::TimeRange {
                from_epoch_ms: to_ms - 600_000,
                to_epoch_ms: to_ms,
            }),
            ..Default::default()
        }
    }

    /// A key asked of bucket 0.
    fn k(asked: &str) -> Key {
        Key {
            asked: asked.into(),
            bucket: 0,
        }
    }

    fn ok(bytes: usize) -> DataAnswer {
        DataAnswer::from(pluginv2::DataResponse {
            frames: vec![vec![0; bytes]],
            status: 200,
            ..Default::default()
        })
    }

    #[test]
    fn only_analysis_queries_are_cacheable() {
        let c = context(1);
        let at = 1_748_865_600_000;
        for t in ["insights", "report", "alert", "use_matrix"] {
            let q = query(&format!(r#"{{"queryType":"{t}"}}"#), at);
            assert!(cacheable(Some(&c), &q).is_some(), "{t}");
        }
        for t in [
            "use_summary",
            "annotations",
            "severity_timeline",
            "instances",
            "dashboard",
        ] {
            let q = query(&format!(r#"{{"queryType":"{t}"}}"#), at);
            assert!(cacheable(Some(&c), &q).is_none(), "{t}");
        }
        assert!(cacheable(Some(&c), &query(r#"{"queryType":"nope"}"#, at)).is_none());
        assert!(cacheable(None, &query(r#"{"queryType":"insights"}"#, at)).is_none());
    }

    #[test]
    fn the_key_follows_the_settings_the_bucket_and_the_query() {
        let key = |updated: i64, json: &str, to: i64| {
            cacheable(Some(&context(updated)), &query(json, to)).map(|c| c.key)
        };
        let at = 1_748_865_600_000;
        let base = key(1, r#"{"queryType":"insights"}"#, at);
        // The same refresh a few milliseconds later: the same bucket.
        assert_eq!(base, key(1, r#"{"queryType":"insights"}"#, at - 3));
        // Settings saved, another window, the next bucket: another answer.
        assert_ne!(base, key(2, r#"{"queryType":"insights"}"#, at));
        assert_ne!(
            base,
            key(1, r#"{"queryType":"insights","window":"5m"}"#, at)
        );
        assert_ne!(base, key(1, r#"{"queryType":"insights"}"#, at + 20_000));
        // The same data source uid in another organisation.
        let mut other_org = context(1);
        other_org.org_id = 2;
        let q = query(r#"{"queryType":"insights"}"#, at);
        assert_ne!(base, cacheable(Some(&other_org), &q).map(|c| c.key));
    }

    #[test]
    fn only_successes_within_the_size_bounds_are_kept() {
        let r = Responses::default();
        r.put(k("a"), &ok(10));
        assert!(r.get(&k("a")).is_some());
        // A hit shares the kept bytes.
        let (first, second) = (r.get(&k("a")), r.get(&k("a")));
        let frame = |a: &Option<DataAnswer>| a.as_ref().map(|a| a.frames[0].as_ptr());
        assert_eq!(frame(&first), frame(&second));
        let failed = DataAnswer::failed(502, "boom".into());
        r.put(k("b"), &failed);
        assert!(r.get(&k("b")).is_none());
        r.put(k("big"), &ok(MAX_ENTRY_BYTES + 1));
        assert!(r.get(&k("big")).is_none());
        // Filling past the total drops the oldest first.
        for i in 0..(MAX_BYTES / MAX_ENTRY_BYTES + 1) {
            r.put(k(&format!("k{i}")), &ok(MAX_ENTRY_BYTES - 16));
        }
        assert!(r.get(&k("a")).is_none());
        assert!(r
            .get(&k(&format!("k{}", MAX_BYTES / MAX_ENTRY_BYTES)))
            .is_some());
        assert!(r.len() <= MAX_BYTES / MAX_ENTRY_BYTES);
    }

    #[test]
    fn expired_answers_can_be_dropped_without_a_put() {
        let r = Responses::default();
        r.put(k("old"), &ok(10));
        r.put(k("new"), &ok(10));
        let held = || r.entries.lock().unwrap().len();
        r.expire();
        assert_eq!(held(), 2, "fresh answers stay");
        // "old" made a TTL ago (std's Instant cannot be paused).
        r.entries
            .lock()
            .unwrap()
            .get_mut(&k("old"))
            .unwrap()
            .created -= cache::TTL;
        assert_eq!(held(), 2, "nothing put since: still held");
        r.expire();
        assert_eq!(held(), 1);
        assert!(r.get(&k("new")).is_some());
    }

    #[test]
    fn an_answer_replaces_the_same_querys_answers_at_earlier_times() {
        let r = Responses::default();
        let at = |asked: &str, bucket: i64| Key {
            asked: asked.into(),
            bucket,
        };
        r.put(at("insights", 15), &ok(10));
        r.put(at("report", 15), &ok(10));
        r.put(at("insights", 30), &ok(10));
        assert!(
            r.get(&at("insights", 15)).is_none(),
            "the older refresh went"
        );
        assert!(r.get(&at("insights", 30)).is_some());
        assert!(r.get(&at("report", 15)).is_some(), "another query stays");
        r.put(at("insights", 0), &ok(10));
        assert!(
            r.get(&at("insights", 30)).is_some(),
            "an earlier answer drops no later one"
        );
        assert!(r.get(&at("insights", 0)).is_some());
        assert_eq!(r.len(), 3);
    }
}
