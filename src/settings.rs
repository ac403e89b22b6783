//! Data source settings: Grafana's instance settings → a validated Prometheus connection,
//! target selector and threshold overrides.
//!
//! Field names follow Grafana's Prometheus data source wherever one exists (`url`,
//! `basicAuth`, `tlsSkipVerify`, `tlsAuthWithCACert`, `timeout`, `httpHeaderName1`…), so
//! provisioning files look the same. Parsing is done by hand from JSON values rather than by a
//! strict serde struct: one wrong type must produce a message naming the field, not fail every
//! request with a generic decoding error.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Map, Value};
use thiserror::Error;
use url::Url;

use crate::{
    catalog::{self, CatalogError, ThresholdOverrides},
    prometheus::{Auth, ClientConfig, QueryMethod, DEFAULT_MAX_RESPONSE_BYTES},
    promql::{Selector, SelectorError},
    secret::Secret,
};

/// Ceiling of `maxResponseMiB`: 4096 let one data source hold 3.4 GB for 200k series.
pub const MAX_RESPONSE_MIB: u64 = 1024;

/// Ceiling of `querySampleBudget`: twenty times Prometheus' default `--query.max-samples`
/// (50,000,000); a budget above every engine's limit plans no groups at all.
pub const MAX_QUERY_SAMPLE_BUDGET: u64 = 1_000_000_000;

/// Longest per-request timeout accepted; Grafana's own data proxy gives up well before.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// What Grafana sends about a data source instance, independent of the SDK's types.
#[derive(Clone, Debug)]
pub struct InstanceSettings<'a> {
    /// The data source's uid.
    pub uid: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The instance URL field (the Prometheus URL).
    pub url: &'a str,
    /// Grafana's "Basic auth" switch.
    pub basic_auth_enabled: bool,
    /// Grafana's basic auth user.
    pub basic_auth_user: &'a str,
    /// `jsonData`.
    pub json_data: &'a Value,
    /// `secureJsonData`, decrypted by Grafana.
    pub secure_json_data: &'a BTreeMap<String, String>,
}

/// Validated settings of one data source.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How to reach Prometheus.
    pub client: ClientConfig,
    /// Which targets are analysed (empty: every target exposing node_exporter metrics).
    pub selector: Selector,
    /// Threshold overrides by check id.
    pub thresholds: ThresholdOverrides,
    /// How to reach Grafana's HTTP API, for dashboard analysis.
    pub grafana: GrafanaSettings,
    /// Samples one query may load (`jsonData.querySampleBudget`, the CLI's
    /// `--query-sample-budget`): a check's query over more instances is planned in instance
    /// groups. Set it below the engine's own limit when that is lower than the default.
    /// `None`: the analysis' default ([`crate::samples::DEFAULT_SAMPLE_BUDGET`], 10,000,000).
    pub query_sample_budget: Option<u64>,
}

/// Grafana's HTTP API as configured on the data source: `jsonData.grafanaUrl` (empty: the URL
/// Grafana hands its plugins, `GF_APP_URL`) and `secureJsonData.grafanaToken` (a service
/// account token).
#[derive(Clone, Debug, Default)]
pub struct GrafanaSettings {
    /// `jsonData.grafanaUrl`, validated; `None` when empty.
    pub url: Option<Url>,
    /// `secureJsonData.grafanaToken`; `None` when empty.
    pub token: Option<Secret>,
}

/// A setting that cannot be used, with the field it concerns.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// No Prometheus URL.
    #[error(
        "the data source has no Prometheus URL: set the URL field (e.g. http://prometheus:9090)"
    )]
    MissingUrl,
    /// An unparseable URL.
    #[error("the Prometheus URL `{url}` is invalid: {reason}")]
    InvalidUrl {
        /// The URL as given (never contains secrets we know of; credentials are stripped).
        url: String,
        /// Why.
        reason: String,
    },
    /// A jsonData field with a wrong type or value.
    #[error("jsonData.{field}: {reason}")]
    InvalidField {
        /// Field name.
        field: String,
        /// What is expected.
        reason: String,
    },
    /// The target selector does not parse.
    #[error("jsonData.targetSelector: {0}")]
    Selector(#[from] SelectorError),
    /// Threshold overrides that don't fit the catalog.
    #[error("jsonData.thresholds: {0}")]
    Thresholds(#[from] CatalogError),
}

impl Settings {
    /// Validate Grafana's instance settings.
    pub fn from_grafana(instance: &InstanceSettings<'_>) -> Result<Settings, SettingsError> {
        let empty = Map::new();
        let json = match instance.json_data {
            Value::Object(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(SettingsError::InvalidField {
                    field: "(root)".to_string(),
                    reason: "jsonData must be a JSON object".to_string(),
                })
            }
        };
        let fields = Fields(json);
        let secure = instance.secure_json_data;
        let secret = |key: &str| {
            secure
                .get(key)
                .filter(|v| !v.is_empty())
                .map(|v| Secret::new(v.clone()))
        };

        let url = parse_url(instance.url)?;
        let mut client = ClientConfig::new(url);

        client.auth = if instance.basic_auth_enabled {
            Auth::Basic {
                user: instance.basic_auth_user.to_string(),
                password: secret("basicAuthPassword").unwrap_or_default(),
            }
        } else if let Some(token) = secret("bearerToken") {
            Auth::Bearer(token)
        } else {
            Auth::None
        };

        client.tls.skip_verify = fields.bool("tlsSkipVerify")?.unwrap_or(false);
        if fields.bool("tlsAuthWithCACert")?.unwrap_or(false) {
            client.tls.ca_cert_pem = secret("tlsCACert").map(|s| s.expose().to_string());
        }
        if fields.bool("tlsAuth")?.unwrap_or(false) {
            client.tls.client_cert_pem = secret("tlsClientCert").map(|s| s.expose().to_string());
            client.tls.client_key_pem = secret("tlsClientKey");
        }
        if let Some(timeout) = fields.seconds("timeout")? {
            client.timeout = timeout;
        }
        if let Some(method) = fields.string("httpMethod")? {
            client.query_method = match method.to_ascii_uppercase().as_str() {
                "" | "POST" => QueryMethod::Post,
                "GET" => QueryMethod::Get,
                _ => {
                    return Err(SettingsError::InvalidField {
                        field: "httpMethod".to_string(),
                        reason: format!("must be POST or GET, got `{method}`"),
                    })
                }
            };
        }
        if let Some(n) = fields.positive_integer("maxConcurrentQueries", 256)? {
            client.max_concurrent_requests = n as usize;
        }
        // The ceiling bounds memory: an answer read whole (series, label values) is held while
        // it is decoded, so one data source buffers at most maxConcurrentQueries × this at
        // once, whatever the number of analyses (range and instant queries stream instead).
        if let Some(mib) = fields.positive_integer("maxResponseMiB", MAX_RESPONSE_MIB)? {
            client.max_response_bytes = (mib as usize) * 1024 * 1024;
        } else {
            client.max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES;
        }
        client.headers = custom_headers(&fields, secure)?;

        let selector = match fields.string("targetSelector")? {
            Some(text) => Selector::parse(&text)?,
            None => Selector::empty(),
        };
        let thresholds: ThresholdOverrides = match json.get("thresholds") {
            None | Some(Value::Null) => ThresholdOverrides::new(),
            Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
                SettingsError::InvalidField {
                    field: "thresholds".to_string(),
                    reason: format!(
                        "expected {{\"<check id>\": {{\"warning\": <number>, \"critical\": <number>}}}} ({e})"
                    ),
                }
            })?,
        };
        catalog::builtin().validate_overrides(&thresholds)?;
        let grafana = GrafanaSettings {
            url: match fields.string("grafanaUrl")? {
                None => None,
                Some(text) => Some(parse_url(&text).map_err(|e| SettingsError::InvalidField {
                    field: "grafanaUrl".to_string(),
                    reason: e.to_string().replace("Prometheus URL", "Grafana URL"),
                })?),
            },
            token: secret("grafanaToken"),
        };
        let query_sample_budget =
            fields.positive_integer("querySampleBudget", MAX_QUERY_SAMPLE_BUDGET)?;
        Ok(Settings {
            client,
            selector,
            thresholds,
            grafana,
            query_sample_budget,
        })
    }
}

fn parse_url(text: &str) -> Result<Url, SettingsError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SettingsError::MissingUrl);
    }
    let url = Url::parse(text).map_err(|e| SettingsError::InvalidUrl {
        url: crate::transport::display_url_str(text),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SettingsError::InvalidUrl {
            url: crate::transport::display_url(&url),
            reason: "it must start with http:// or https://".to_string(),
        });
    }
    Ok(url)
}

/// `httpHeaderName<N>` in jsonData paired with `httpHeaderValue<N>` in secureJsonData.
fn custom_headers(
    fields: &Fields<'_>,
    secure: &BTreeMap<String, String>,
) -> Result<Vec<(String, Secret)>, SettingsError> {
    let mut headers = Vec::new();
    let mut keys: Vec<(u32, &String)> = fields
        .0
        .keys()
        .filter_map(|k| {
            k.strip_prefix("httpHeaderName")
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| (n, k))
        })
        .collect();
    keys.sort();
    for (n, key) in keys {
        let Some(name) = fields.string(key)? else {
            continue;
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            continue;
        }
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(SettingsError::InvalidField {
                field: key.clone(),
                reason: format!(
                    "`{}` is not a valid HTTP header name",
                    crate::echo::short(&name)
                ),
            });
        }
        if let Some(reason) = crate::prometheus::reserved_header(&name) {
            return Err(SettingsError::InvalidField {
                field: key.clone(),
                reason,
            });
        }
        let value = secure
            .get(&format!("httpHeaderValue{n}"))
            .cloned()
            .unwrap_or_default();
        headers.push((name, Secret::new(value)));
    }
    Ok(headers)
}

/// Typed access to jsonData fields with messages that name the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn invalid(field: &str, reason: impl Into<String>) -> SettingsError {
        SettingsError::InvalidField {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    fn bool(&self, field: &str) -> Result<Option<bool>, SettingsError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(Self::invalid(
                field,
                format!("must be true or false, got {other}"),
            )),
        }
    }

    fn string(&self, field: &str) -> Result<Option<String>, SettingsError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Self::invalid(
                field,
                format!("must be a string, got {other}"),
            )),
        }
    }

    fn number(&self, field: &str) -> Result<Option<f64>, SettingsError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| Self::invalid(field, format!("must be a number, got \"{s}\""))),
            Some(other) => Err(Self::invalid(
                field,
                format!("must be a number, got {other}"),
            )),
        }
    }

    /// Seconds, as Grafana's Prometheus `timeout` (a number, or a numeric string).
    fn seconds(&self, field: &str) -> Result<Option<Duration>, SettingsError> {
        match self.number(field)? {
            None => Ok(None),
            Some(s) if s > 0.0 && s <= MAX_TIMEOUT.as_secs_f64() => {
                Ok(Some(Duration::from_secs_f64(s)))
            }
            Some(s) => Err(Self::invalid(
                field,
                format!(
                    "must be a number of seconds between 0 and {}, got {s}",
                    MAX_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    fn positive_integer(&self, field: &str, max: u64) -> Result<Option<u64>, SettingsError> {
        match self.number(field)? {
            None => Ok(None),
            Some(n) if n >= 1.0 && n <= max as f64 && n.fract() == 0.0 => Ok(Some(n as u64)),
            Some(n) => Err(Self::invalid(
                field,
                format!("must be a whole number from 1 to {max}, got {n}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(
        url: &str,
        basic: bool,
        json: Value,
        secure: &[(&str, &str)],
    ) -> Result<Settings, SettingsError> {
        let secure: BTreeMap<String, String> = secure
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_grafana(&InstanceSettings {
            uid: "u",
            name: "n",
            url,
            basic_auth_enabled: basic,
            basic_auth_user: "alice",
            json_data: &json,
            secure_json_data: &secure,
        })
    }

    #[test]
    fn defaults_from_an_empty_configuration() {
        let s = parse("http://prom:9090", false, json!({}), &[]).unwrap();
        assert_eq!(s.client.auth, Auth::None);
        assert!(!s.client.tls.skip_verify);
        assert_eq!(s.client.timeout, crate::prometheus::DEFAULT_TIMEOUT);
        assert!(s.selector.is_empty());
        assert!(s.thresholds.is_empty());
        assert_eq!(s.query_sample_budget, None, "the analysis' default");
        // Grafana may send null jsonData for a data source saved without options.
        assert!(parse("http://prom:9090", false, Value::Null, &[]).is_ok());
    }

    #[test]
    fn grafana_standard_fields_are_understood() {
        let s = parse(
            "https://prom:9090/prefix",
            true,
            json!({
                "tlsSkipVerify": true,
                "tlsAuthWithCACert": true,
                "timeout": "45",
                "httpMethod": "GET",
                "httpHeaderName1": "X-Scope-OrgID",
                "httpHeaderName2": "  ",
                "targetSelector": "job=\"node\"",
                "thresholds": {"cpu.utilization": {"warning": 70}},
            }),
            &[
                ("basicAuthPassword", "pw"),
                ("tlsCACert", "-----BEGIN CERTIFICATE-----"),
                ("httpHeaderValue1", "tenant-a"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.client.auth,
            Auth::Basic {
                user: "alice".into(),
                password: Secret::new("pw")
            }
        );
        assert!(s.client.tls.skip_verify);
        assert!(s.client.tls.ca_cert_pem.is_some());
        assert_eq!(s.client.timeout, Duration::from_secs(45));
        assert_eq!(s.client.query_method, QueryMethod::Get);
        assert_eq!(
            s.client.headers,
            vec![("X-Scope-OrgID".to_string(), Secret::new("tenant-a"))]
        );
        assert_eq!(s.selector.to_string(), r#"job="node""#);
        assert_eq!(s.thresholds["cpu.utilization"].warning, Some(70.0));
    }

    #[test]
    fn bearer_token_when_basic_auth_is_off_and_ca_only_when_enabled() {
        let s = parse(
            "http://prom",
            false,
            json!({"tlsAuthWithCACert": false}),
            &[("bearerToken", "tok"), ("tlsCACert", "pem")],
        )
        .unwrap();
        assert_eq!(s.client.auth, Auth::Bearer(Secret::new("tok")));
        assert_eq!(s.client.tls.ca_cert_pem, None);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"timeout": "soon"}), "jsonData.timeout"),
            (json!({"timeout": -1}), "jsonData.timeout"),
            (json!({"tlsSkipVerify": "yes"}), "jsonData.tlsSkipVerify"),
            (
                json!({"targetSelector": "job=node"}),
                "jsonData.targetSelector",
            ),
            (
                json!({"thresholds": {"cpu.nope": {}}}),
                "jsonData.thresholds",
            ),
            (json!({"thresholds": [1]}), "jsonData.thresholds"),
            (json!({"httpMethod": "PUT"}), "jsonData.httpMethod"),
            (
                json!({"httpHeaderName1": "bad header"}),
                "jsonData.httpHeaderName1",
            ),
            (
                json!({"maxConcurrentQueries": 0}),
                "jsonData.maxConcurrentQueries",
            ),
            (json!({"maxResponseMiB": 4096}), "jsonData.maxResponseMiB"),
            (
                json!({"querySampleBudget": 0}),
                "jsonData.querySampleBudget",
            ),
            (
                json!({"querySampleBudget": 2.5}),
                "jsonData.querySampleBudget",
            ),
            (
                json!({"querySampleBudget": "lots"}),
                "jsonData.querySampleBudget",
            ),
            (
                json!({"querySampleBudget": 2_000_000_000u64}),
                "jsonData.querySampleBudget",
            ),
        ];
        for (json, field) in cases {
            let err = parse("http://prom", false, json.clone(), &[])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(field), "{json}: {err}");
        }
        assert!(matches!(
            parse(" ", false, json!({}), &[]),
            Err(SettingsError::MissingUrl)
        ));
        let err = parse("prom:9090", false, json!({}), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("http://"), "{err}");
    }

    #[test]
    fn the_sample_budget_is_a_whole_number_or_a_numeric_string() {
        for (value, budget) in [
            (json!(40_000), Some(40_000)),
            (json!("250000"), Some(250_000)),
            (json!(""), None),
        ] {
            let s = parse(
                "http://prom",
                false,
                json!({"querySampleBudget": value}),
                &[],
            )
            .expect("valid");
            assert_eq!(s.query_sample_budget, budget, "{value}");
        }
    }

    #[test]
    fn framing_and_routing_headers_are_refused_by_name() {
        for name in ["Host", "content-length", "Transfer-Encoding", "Connection"] {
            let json = json!({ "httpHeaderName2": name });
            let err = parse("http://prom", false, json, &[])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("jsonData.httpHeaderName2"), "{err}");
            assert!(err.contains("cannot be a custom header"), "{err}");
            assert!(
                err.to_lowercase()
                    .contains(&format!("`{}`", name.to_lowercase())),
                "{err}"
            );
        }
        let ok = parse(
            "http://prom",
            false,
            json!({"httpHeaderName1": "X-Scope-OrgID"}),
            &[],
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn secrets_never_appear_in_debug_or_errors() {
        let s = parse(
            "http://prom",
            true,
            json!({"httpHeaderName1": "Authorization", "tlsAuth": true}),
            &[
                ("basicAuthPassword", "pw-SECRET-1"),
                ("httpHeaderValue1", "hv-SECRET-2"),
                ("tlsClientKey", "key-SECRET-3"),
                ("tlsClientCert", "cert"),
                ("grafanaToken", "glsa_SECRET-5"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.grafana.token.as_ref().map(Secret::expose),
            Some("glsa_SECRET-5")
        );
        let debug = format!("{s:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        let err = parse("http://user:pw-SECRET-4@prom:bad", false, json!({}), &[])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn grafana_url_and_token() {
        let s = parse(
            "http://prom",
            false,
            json!({"grafanaUrl": "http://grafana:3000/sub/"}),
            &[("grafanaToken", "t")],
        )
        .unwrap();
        assert_eq!(
            s.grafana.url.map(|u| u.to_string()),
            Some("http://grafana:3000/sub/".to_string())
        );
        let s = parse("http://prom", false, json!({"grafanaUrl": ""}), &[]).unwrap();
        assert!(s.grafana.url.is_none() && s.grafana.token.is_none());
        let err = parse(
            "http://prom",
            false,
            json!({"grafanaUrl": "grafana:3000"}),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("jsonData.grafanaUrl"), "{err}");
    }

    #[test]
    fn no_secret_field_shows_in_debug_of_settings_or_client() {
        for basic in [true, false] {
            let s = parse(
                "http://user:url-SECRET-5@prom:9090",
                basic,
                json!({"httpHeaderName1": "X-Scope-OrgID", "tlsAuth": true}),
                &[
                    ("basicAuthPassword", "pw-SECRET-1"),
                    ("bearerToken", "tok-SECRET-6"),
                    ("httpHeaderValue1", "hv-SECRET-2"),
                    ("tlsClientKey", "key-SECRET-3"),
                    ("grafanaToken", "gt-SECRET-7"),
                ],
            )
            .unwrap();
            let debug = format!("{s:?}");
            assert!(!debug.contains("SECRET"), "{debug}");
            // The key is not valid PEM: the client's error must not quote it either.
            let client = crate::prometheus::Client::new(&s.client, None);
            let shown = match &client {
                Ok(c) => format!("{c:?}"),
                Err(e) => format!("{e} {e:?}"),
            };
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }
}
