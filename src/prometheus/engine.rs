//! Which Prometheus-compatible engine answers: Prometheus, Thanos Query or VictoriaMetrics.
//!
//! Users query through Thanos or VictoriaMetrics as often as Prometheus itself, and health and
//! reports should name what they talk to. None of the status endpoints is guaranteed:
//! VictoriaMetrics 1.79 answers `buildinfo` with an empty object and refuses `flags` and
//! `runtimeinfo` ("unsupported path requested"); Thanos built without release flags gives an
//! empty version; proxies may hide all three. So the engine is read from the *shape* of the
//! answers (Thanos' flags are its own; Prometheus' name its TSDB path), and a missing version
//! is said as "version unknown", never left blank.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{BuildInfo, PrometheusError};

/// The engine behind the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Prometheus itself.
    Prometheus,
    /// Thanos Query.
    Thanos,
    /// VictoriaMetrics (single node or vmselect).
    VictoriaMetrics,
    /// Answers the Prometheus API, but says nothing that names it.
    Unknown,
}

impl Engine {
    /// The name for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Prometheus => "Prometheus",
            Engine::Thanos => "Thanos",
            Engine::VictoriaMetrics => "VictoriaMetrics",
            Engine::Unknown => "The Prometheus-compatible server",
        }
    }
}

/// The engine and its version, when the server tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// Which engine.
    pub engine: Engine,
    /// Its version; `None` when no endpoint gave one.
    pub version: Option<String>,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            engine: Engine::Unknown,
            version: None,
        }
    }
}

impl ServerInfo {
    /// "Prometheus 2.45.3", "Thanos (version unknown)": never a blank where the version goes.
    pub fn name(&self) -> String {
        match (&self.version, self.engine) {
            (Some(v), Engine::Unknown) => format!("{} (version {v})", self.engine.as_str()),
            (Some(v), engine) => format!("{} {v}", engine.as_str()),
            (None, engine) => format!("{} (version unknown)", engine.as_str()),
        }
    }

    /// Recognise the engine from what `buildinfo` and `flags` answered (either may be an
    /// error: servers without the endpoint are still usable).
    pub fn recognise(
        build: Result<&BuildInfo, &PrometheusError>,
        flags: Result<&BTreeMap<String, String>, &PrometheusError>,
    ) -> ServerInfo {
        let version = build
            .ok()
            .map(|b| b.version.trim().to_string())
            .filter(|v| !v.is_empty());
        let engine = match flags {
            Ok(flags) if is_thanos(flags) => Engine::Thanos,
            Ok(flags) if flags.contains_key("storage.tsdb.path") => Engine::Prometheus,
            Ok(_) => Engine::Unknown,
            Err(e) if is_victoria_metrics(e) => Engine::VictoriaMetrics,
            // A server whose buildinfo names a version but whose flags are hidden (a proxy) is
            // most likely Prometheus, but saying so would be a guess.
            Err(_) => Engine::Unknown,
        };
        ServerInfo { engine, version }
    }
}

/// Flags only Thanos Query (and its other components) have.
fn is_thanos(flags: &BTreeMap<String, String>) -> bool {
    ["query.replica-label", "endpoint", "store.response-timeout"]
        .iter()
        .any(|f| flags.contains_key(*f))
}

/// VictoriaMetrics refuses the status endpoints it lacks with its own wording.
fn is_victoria_metrics(err: &PrometheusError) -> bool {
    matches!(err, PrometheusError::Status { message, .. } if message.contains("unsupported path requested"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(version: &str) -> BuildInfo {
        BuildInfo {
            version: version.into(),
            ..BuildInfo::default()
        }
    }

    fn flags(names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .map(|n| (n.to_string(), String::new()))
            .collect()
    }

    fn refused(message: &str) -> PrometheusError {
        PrometheusError::Status {
            url: "http://vm".into(),
            endpoint: "/api/v1/status/flags".into(),
            status: 400,
            message: message.into(),
        }
    }

    #[test]
    fn engines_are_named_with_their_version_or_version_unknown() {
        let prometheus = ServerInfo::recognise(
            Ok(&build("2.45.3")),
            Ok(&flags(&["storage.tsdb.path", "web.listen-address"])),
        );
        assert_eq!(prometheus.name(), "Prometheus 2.45.3");
        let thanos = ServerInfo::recognise(
            Ok(&build("")),
            Ok(&flags(&["query.replica-label", "grpc-address"])),
        );
        assert_eq!(thanos.engine, Engine::Thanos);
        assert_eq!(thanos.name(), "Thanos (version unknown)");
        let unsupported =
            refused("remoteAddr: \"x\"; unsupported path requested: \"/api/v1/status/flags\"");
        let vm = ServerInfo::recognise(Ok(&build("")), Err(&unsupported));
        assert_eq!(vm.name(), "VictoriaMetrics (version unknown)");
        let hidden = refused("forbidden by the proxy");
        let proxied = ServerInfo::recognise(Ok(&build("2.45.3")), Err(&hidden));
        assert_eq!(
            proxied.name(),
            "The Prometheus-compatible server (version 2.45.3)"
        );
        let unknown = ServerInfo::recognise(Err(&hidden), Err(&hidden));
        assert_eq!(
            unknown.name(),
            "The Prometheus-compatible server (version unknown)"
        );
        let blank = ServerInfo::recognise(Ok(&build("  ")), Ok(&flags(&["storage.tsdb.path"])));
        assert_eq!(blank.name(), "Prometheus (version unknown)");
        assert!(!blank.name().contains("  "));
    }
}
