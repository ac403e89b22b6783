//! Data source instances: validated settings and a Prometheus client, cached per data source.
//!
//! Grafana sends a data source's full settings (secrets decrypted) with every request; the Rust
//! SDK has no instance manager, so we keep one client per data source (organisation and uid: a
//! uid is unique within one organisation only) and rebuild it when the settings' `updated` time
//! changes. Clients hold connection pools and the concurrency
//! bound, so sharing them is what makes those limits real.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};

use super::telemetry::Telemetry;
use crate::{
    prometheus::{Client, PrometheusError, RangeCache},
    settings::{InstanceSettings, Settings, SettingsError},
};

/// The SDK's view of our data source settings.
pub type GrafanaSettings =
    grafana_plugin_sdk::backend::DataSourceInstanceSettings<serde_json::Value, SecureFields>;

/// `secureJsonData` as Grafana sends it: decrypted strings by key.
pub type SecureFields = BTreeMap<String, String>;

/// More data sources than this are unusual; beyond it the least recently used is dropped.
const MAX_CACHED: usize = 64;

/// One configured data source, ready to query.
#[derive(Debug)]
pub struct Instance {
    /// The Grafana organisation it belongs to (a uid is unique within one only).
    pub org_id: i64,
    /// The data source's uid.
    pub uid: String,
    /// When its settings were saved (Grafana's `updated`): the version of `settings`.
    pub updated: DateTime<Utc>,
    /// Validated settings.
    pub settings: Settings,
    /// Shared client for its Prometheus.
    pub client: Client,
    /// Client for Grafana's API (dashboard analysis), or why there is none. Built with the
    /// instance so a misconfiguration only fails dashboard queries, not the USE ones.
    pub grafana: Result<crate::grafana::Client, crate::grafana::GrafanaError>,
}

impl Instance {
    /// Which data source, in which version, an analysis of this instance reads.
    pub fn source(&self) -> crate::request::key::Source {
        crate::request::key::Source::new(self.org_id, &self.uid, self.updated)
    }

    /// The data source's identity across organisations, for per-data-source bounds.
    pub fn scoped_uid(&self) -> String {
        format!("{}/{}", self.org_id, self.uid)
    }
}

/// Why an instance could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The request carried no data source settings.
    #[error("the request has no data source settings (was it sent to a data source?)")]
    NoSettings,
    /// Settings that fail validation.
    #[error("invalid data source settings: {0}")]
    Settings(#[from] SettingsError),
    /// Settings that fail when building the client (PEM, header values).
    #[error("{0}")]
    Client(#[from] PrometheusError),
}

/// Settings that cannot be used are the request's to fix.
impl From<&InstanceError> for crate::request::Failure {
    fn from(err: &InstanceError) -> Self {
        crate::request::Failure::new(crate::request::Status::BadRequest, err)
    }
}

struct Entry {
    updated: DateTime<Utc>,
    instance: Arc<Instance>,
    last_used: u64,
}

/// The cache.
pub struct Instances {
    /// By organisation and uid: two orgs may each have a data source of one uid, with other
    /// URLs and credentials, and neither may ever be answered with the other's client.
    entries: Mutex<HashMap<(i64, String), Entry>>,
    clock: std::sync::atomic::AtomicU64,
    telemetry: Arc<Telemetry>,
    /// Range answers shared by every data source's analyses (keyed by source and revision).
    ranges: Arc<RangeCache>,
}

impl Instances {
    /// An empty cache whose clients report to `telemetry`.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock: Default::default(),
            ranges: Arc::new(RangeCache::standard(Some(telemetry.clone()))),
            telemetry,
        }
    }

    /// Drop the range answers past their TTL ([`RangeCache::expire_stale`]).
    pub fn expire_ranges(&self) {
        self.ranges.expire_stale();
    }

    /// The cached instance of `key` (organisation, uid) if its settings are still those of
    /// `updated`.
    fn cached(
        &self,
        key: &(i64, String),
        updated: DateTime<Utc>,
        tick: u64,
    ) -> Option<Arc<Instance>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(key)?;
        if entry.updated != updated {
            return None;
        }
        entry.last_used = tick;
        Some(entry.instance.clone())
    }

    /// The instance for these settings of organisation `org_id`, built if new or changed.
    pub fn get(
        &self,
        org_id: i64,
        grafana: Option<&GrafanaSettings>,
    ) -> Result<Arc<Instance>, InstanceError> {
        let grafana = grafana.ok_or(InstanceError::NoSettings)?;
        let tick = self
            .clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = (org_id, grafana.uid.clone());
        if let Some(instance) = self.cached(&key, grafana.updated, tick) {
            return Ok(instance);
        }
        let settings = Settings::from_grafana(&InstanceSettings {
            uid: &grafana.uid,
            name: &grafana.name,
            url: &grafana.url,
            basic_auth_enabled: grafana.basic_auth_enabled,
            basic_auth_user: &grafana.basic_auth_user,
            json_data: &grafana.json_data,
            secure_json_data: &grafana.decrypted_secure_json_data,
        })?;
        let observer: Arc<dyn crate::prometheus::RequestObserver> = self.telemetry.clone();
        // Keyed by organisation, uid and settings revision: answers from before a settings
        // change (another URL, other credentials), or of another org's data source of the same
        // uid, are never reused.
        let revision = format!(
            "{org_id}\0{}\0{}",
            grafana.uid,
            grafana
                .updated
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        );
        let client = Client::new(&settings.client, Some(observer))?
            .with_range_cache(self.ranges.clone(), &revision);
        let grafana_api = match crate::grafana::default_url(settings.grafana.url.as_ref()) {
            None => Err(crate::grafana::GrafanaError::NoUrl),
            Some(url) => crate::grafana::Client::new(&crate::grafana::GrafanaConfig::new(
                url,
                crate::grafana::token(settings.grafana.token.as_ref()),
            )),
        };
        let instance = Arc::new(Instance {
            org_id,
            uid: grafana.uid.clone(),
            updated: grafana.updated,
            settings,
            client,
            grafana: grafana_api,
        });
        {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            // Requests arriving together for a new data source each built a client above; the
            // first one stored wins, so they all share one client and with it one
            // `maxConcurrentQueries` bound (found by `go run mage.go load`).
            if let Some(entry) = entries.get_mut(&key) {
                if entry.updated == grafana.updated {
                    entry.last_used = tick;
                    return Ok(entry.instance.clone());
                }
            }
            if entries.len() >= MAX_CACHED && !entries.contains_key(&key) {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
            entries.insert(
                key,
                Entry {
                    updated: grafana.updated,
                    instance: instance.clone(),
                    last_used: tick,
                },
            );
            self.telemetry.instances.set(entries.len() as i64);
            tracing::info!(
                org = org_id,
                datasource = %grafana.uid,
                prometheus = %instance.client.url(),
                "Data source instance ready."
            );
        }
        Ok(instance)
    }
}
