//! A real Thanos: a sidecar beside each Prometheus and a Thanos Query in front of them, on
//! loopback ports, as a fleet too large for one Prometheus is queried.
//!
//! The `thanos` binary is built from the Go module proxy by `go run mage.go thanos` into
//! `~/.cache/gregg-insights/thanos-v0.36.1/thanos` (the test command does that first and passes
//! the path in `GREGG_THANOS`).

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::{
    http,
    process::Guard,
    prometheus::{free_port, Prometheus},
};

/// The Thanos release the tests run (later ones need a module the Go proxy refuses).
pub const VERSION: &str = "v0.36.1";

/// The `thanos` binary: `GREGG_THANOS`, else the cache `go run mage.go thanos` fills (Go's
/// user cache directory: `$XDG_CACHE_HOME`, else `~/.cache`). Panics with what to run when
/// neither exists (a missing engine fails the test, it is never skipped).
pub fn binary() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    let path = std::env::var_os("GREGG_THANOS")
        .map(PathBuf::from)
        .or_else(|| {
            cache.map(|dir| {
                dir.join("gregg-insights")
                    .join(format!("thanos-{VERSION}"))
                    .join("thanos")
            })
        });
    match path {
        Some(p) if p.is_file() => p,
        other => panic!(
            "testkit: no thanos binary at {other:?}: run `go run mage.go thanos` (builds Thanos {VERSION} from the Go module proxy, about 3 minutes) or set GREGG_THANOS"
        ),
    }
}

/// One Thanos process (sidecar or query) with its log in a temporary directory.
#[derive(Debug)]
struct Process {
    guard: Guard,
    http: SocketAddr,
    grpc: SocketAddr,
    dir: tempfile::TempDir,
}

impl Process {
    fn start(component: &str, args: &[String]) -> Process {
        let dir = tempfile::Builder::new()
            .prefix(&format!("gregg-thanos-{component}-"))
            .tempdir()
            .expect("cannot create a temporary directory");
        let (http, grpc) = (free_port(), free_port());
        let mut cmd = Command::new(binary());
        cmd.arg(component)
            .arg(format!("--http-address={http}"))
            .arg(format!("--grpc-address={grpc}"))
            .arg("--log.level=warn")
            .args(args);
        let guard = Guard::spawn(
            &format!("thanos {component}"),
            cmd,
            &dir.path().join("thanos.log"),
        )
        .unwrap_or_else(|e| panic!("testkit: cannot start thanos {component}: {e}"));
        let mut process = Process {
            guard,
            http,
            grpc,
            dir,
        };
        if !process.wait_ready(Duration::from_secs(60)) {
            panic!(
                "testkit: thanos {component} did not become ready:\n{}",
                process.log()
            );
        }
        process
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !self.guard.is_running() {
                return false;
            }
            if matches!(http::get(self.http, "/-/ready"), Some((200, _))) {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("thanos.log")).unwrap_or_default()
    }
}

/// A sidecar serving one Prometheus' data over the Store API.
#[derive(Debug)]
pub struct Sidecar {
    process: Process,
}

impl Sidecar {
    /// Start a sidecar for `prometheus`, which must have external labels.
    pub fn start(prometheus: &Prometheus) -> Sidecar {
        let args = vec![
            format!("--prometheus.url={}", prometheus.url()),
            format!("--tsdb.path={}", prometheus.data_dir().display()),
        ];
        Sidecar {
            process: Process::start("sidecar", &args),
        }
    }

    /// Its Store API (gRPC) address.
    pub fn grpc(&self) -> SocketAddr {
        self.process.grpc
    }

    /// Stop it (a store gone: Thanos Query answers partially).
    pub fn stop(&mut self) {
        self.process.guard.stop();
    }
}

/// A Thanos Query over store endpoints, deduplicating replicas by a replica label.
#[derive(Debug)]
pub struct Query {
    process: Process,
}

impl Query {
    /// Start Thanos Query over `endpoints` with `--query.replica-label=replica_label` and
    /// `extra` flags, and wait until it has connected to every endpoint. Strict endpoints
    /// (`--endpoint-strict`) stay queried when they fail, so their absence is a partial
    /// answer with a warning rather than a store silently dropped.
    pub fn start(
        endpoints: &[SocketAddr],
        replica_label: &str,
        extra: &[String],
        strict: bool,
    ) -> Query {
        let flag = if strict {
            "--endpoint-strict"
        } else {
            "--endpoint"
        };
        let mut args: Vec<String> = endpoints.iter().map(|e| format!("{flag}={e}")).collect();
        args.push(format!("--query.replica-label={replica_label}"));
        args.extend(extra.iter().cloned());
        let query = Query {
            process: Process::start("query", &args),
        };
        query.wait_for_stores(endpoints.len(), Duration::from_secs(60));
        query
    }

    /// `http://127.0.0.1:<port>`: the Prometheus HTTP API of the whole fleet.
    pub fn url(&self) -> String {
        format!("http://{}", self.process.http)
    }

    /// Its log (for failure messages).
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Endpoints are discovered asynchronously after `/-/ready`: wait until `/api/v1/stores`
    /// lists `n` healthy stores, so the first query sees every shard.
    fn wait_for_stores(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Some((200, body)) = http::get(self.process.http, "/api/v1/stores") {
                if healthy_stores(&body) >= n {
                    return;
                }
                last = body;
            }
            thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "testkit: thanos query did not connect to {n} stores: {last}\n{}",
            self.log()
        );
    }
}

/// Stores in an `/api/v1/stores` answer that have been checked and have no error.
fn healthy_stores(body: &str) -> usize {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return 0;
    };
    let Some(groups) = value["data"].as_object() else {
        return 0;
    };
    groups
        .values()
        .filter_map(|g| g.as_array())
        .flatten()
        .filter(|s| s["lastError"].is_null() && !s["lastCheck"].is_null())
        .count()
}

/// A fleet behind Thanos: each shard a Prometheus (external labels `shard`, `replica`) with a
/// sidecar, optionally a replica of the first shard, and Thanos Query deduplicating on
/// `replica`. Fields drop in order: the query first, then sidecars, then the servers.
#[derive(Debug)]
pub struct Fleet {
    /// Thanos Query.
    pub query: Query,
    /// One sidecar per Prometheus.
    pub sidecars: Vec<Sidecar>,
    /// The Prometheus servers.
    pub prometheus: Vec<Prometheus>,
}

impl Fleet {
    /// Start sidecars beside `prometheus` and a query in front of them.
    pub fn start(prometheus: Vec<Prometheus>) -> Fleet {
        Fleet::start_with(prometheus, &[], false)
    }

    /// [`Fleet::start`] with more flags for Thanos Query (tenancy, for one), and strict
    /// endpoints if `strict` (see [`Query::start`]).
    pub fn start_with(prometheus: Vec<Prometheus>, query_flags: &[String], strict: bool) -> Fleet {
        let sidecars: Vec<Sidecar> = prometheus.iter().map(Sidecar::start).collect();
        let endpoints: Vec<SocketAddr> = sidecars.iter().map(Sidecar::grpc).collect();
        let query = Query::start(&endpoints, "replica", query_flags, strict);
        Fleet {
            query,
            sidecars,
            prometheus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_checked_stores_without_errors_count() {
        let body = r#"{"status":"success","data":{"sidecar":[
            {"name":"a","lastCheck":"2024-01-01T00:00:00Z","lastError":null},
            {"name":"b","lastCheck":"2024-01-01T00:00:00Z","lastError":"connection refused"},
            {"name":"c","lastCheck":null,"lastError":null}]}}"#;
        assert_eq!(healthy_stores(body), 1);
        assert_eq!(healthy_stores("not json"), 0);
    }
}
