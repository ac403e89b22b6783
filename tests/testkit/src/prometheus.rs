//! A real Prometheus on a free loopback port, in its own temporary directory.

use std::{
    fmt::Write as _,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::{http, install, process::Guard};

/// What the Prometheus should do.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `host:port` targets to scrape as job `node` (none for a backfilled Prometheus).
    pub scrape_targets: Vec<String>,
    /// Scrape interval in seconds (default 1).
    pub scrape_interval_secs: Option<u32>,
    /// Start on an existing TSDB directory (backfilled blocks) instead of an empty one.
    pub data_dir: Option<PathBuf>,
    /// A `--web.config.file` (TLS, basic auth) for security tests.
    pub web_config: Option<String>,
    /// `host:port` application targets to scrape as job `app` (native histograms, for one).
    pub app_targets: Vec<String>,
    /// `--enable-feature` flags, e.g. `native-histograms`.
    pub features: Vec<String>,
    /// `global.external_labels` (a Thanos sidecar refuses a Prometheus without them).
    pub external_labels: Vec<(String, String)>,
    /// `--web.route-prefix`, e.g. `/prometheus`: the API is then served under it only, as
    /// behind a reverse proxy or a multi-tenant gateway.
    pub route_prefix: Option<String>,
    /// More command-line flags, e.g. `--query.max-samples=100000` for limit tests.
    pub flags: Vec<String>,
}

/// A running Prometheus. Stopped and its directory removed when dropped.
#[derive(Debug)]
pub struct Prometheus {
    addr: SocketAddr,
    guard: Guard,
    scheme: &'static str,
    dir: tempfile::TempDir,
    options: Options,
    /// Directories that must live as long as this Prometheus (its backfilled TSDB).
    adopted: Vec<tempfile::TempDir>,
}

impl Prometheus {
    /// Start and wait until `/-/ready` answers. Panics with the log if it does not start.
    pub fn start(mut options: Options) -> Prometheus {
        if let Err(e) = install::ensure_installed() {
            panic!("testkit: {e}");
        }
        let mut dir = tempfile::Builder::new()
            .prefix("gregg-prometheus-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let scheme = if options.web_config.is_some() {
            "https"
        } else {
            "http"
        };
        let mut last_log = String::new();
        // A free port can be taken between our probe and Prometheus' bind: retry on that.
        for _ in 0..3 {
            let addr = free_port();
            let guard = match Self::launch(&options, dir.path(), addr) {
                Ok(guard) => guard,
                Err(e) => panic!("testkit: cannot start prometheus: {e}"),
            };
            let mut p = Prometheus {
                addr,
                guard,
                scheme,
                dir,
                options,
                adopted: Vec::new(),
            };
            if p.wait_ready(Duration::from_secs(30)) {
                return p;
            }
            p.guard.stop();
            last_log = p.log();
            if !last_log.contains("address already in use") {
                break;
            }
            Prometheus { dir, options, .. } = p;
        }
        panic!("testkit: Prometheus did not become ready:\n{last_log}");
    }

    fn launch(options: &Options, dir: &Path, addr: SocketAddr) -> std::io::Result<Guard> {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_yaml(options, addr))?;
        let data = options.data_dir.clone().unwrap_or_else(|| dir.join("data"));
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // Backfilled scenarios sit at fixed past times; retention counts from the newest
            // block, so generous retention keeps them.
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--log.level=warn");
        if let Some(prefix) = &options.route_prefix {
            cmd.arg(format!("--web.route-prefix={prefix}"));
        }
        for feature in &options.features {
            cmd.arg(format!("--enable-feature={feature}"));
        }
        cmd.args(&options.flags);
        if let Some(web) = &options.web_config {
            let path = dir.join("web.yml");
            std::fs::write(&path, web)?;
            cmd.arg(format!("--web.config.file={}", path.display()));
        }
        Guard::spawn("prometheus", cmd, &dir.join("prometheus.log"))
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !self.guard.is_running() {
                return false;
            }
            if self.scheme == "https" {
                // TLS servers can't be probed with plain HTTP; a TCP connect means it listens.
                if std::net::TcpStream::connect(self.addr).is_ok() {
                    thread::sleep(Duration::from_millis(300));
                    return true;
                }
            } else if matches!(http::get(self.addr, &self.path("/-/ready")), Some((200, _))) {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Another Prometheus serving a copy of this one's persisted blocks (a backfilled
    /// scenario), started with `flags` besides: the same data under other settings, such as
    /// a low `--query.max-samples`. Panics when this one has no data directory of its own.
    pub fn twin(&self, flags: &[&str]) -> Prometheus {
        self.twin_with(flags, &[])
    }

    /// Like [`Self::twin`], with the blocks of the TSDB directories `extra` besides (e.g. what
    /// `promtool tsdb create-blocks-from rules` wrote).
    pub fn twin_with(&self, flags: &[&str], extra: &[&Path]) -> Prometheus {
        let source = self
            .options
            .data_dir
            .clone()
            .expect("testkit: twin needs a Prometheus started on a data directory");
        let copy = tempfile::Builder::new()
            .prefix("gregg-twin-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let data = copy.path().join("data");
        for from in std::iter::once(source.as_path()).chain(extra.iter().copied()) {
            copy_blocks(from, &data).expect("cannot copy the TSDB blocks");
        }
        let mut twin = Prometheus::start(Options {
            data_dir: Some(data),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            ..Options::default()
        });
        twin.adopt(copy);
        twin
    }

    /// Keep `dir` until this Prometheus is dropped (after it has stopped).
    pub fn adopt(&mut self, dir: tempfile::TempDir) {
        self.adopted.push(dir);
    }

    /// `http://127.0.0.1:<port>` (or https with a web config), with the route prefix if any:
    /// the URL a data source is configured with.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.addr, self.path(""))
    }

    /// `path` under the route prefix.
    fn path(&self, path: &str) -> String {
        let prefix = self.options.route_prefix.as_deref().unwrap_or("");
        format!("{}{path}", prefix.trim_end_matches('/'))
    }

    /// The TSDB directory (a Thanos sidecar reads it).
    pub fn data_dir(&self) -> PathBuf {
        self.options
            .data_dir
            .clone()
            .unwrap_or_else(|| self.dir.path().join("data"))
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its log file (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Stop it (to simulate an outage); it stays stopped.
    pub fn stop(&mut self) {
        self.guard.stop();
    }

    /// Run an instant query over plain HTTP and return the JSON body.
    pub fn query(&self, promql: &str) -> Option<serde_json::Value> {
        let (status, body) = http::get(
            self.addr,
            &self.path(&format!("/api/v1/query?query={}", http::encode(promql))),
        )?;
        if status != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    /// Wait until `promql` returns at least one sample.
    pub fn wait_for(&self, promql: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let found = self
                .query(promql)
                .and_then(|v| v["data"]["result"].as_array().map(|r| !r.is_empty()))
                .unwrap_or(false);
            if found {
                return true;
            }
            thread::sleep(Duration::from_millis(250));
        }
        false
    }
}

/// Scrapes the node targets as job `node` and, for live (scraping) instances served over plain
/// HTTP, Prometheus itself as job `prometheus`: its `prometheus_http_request_duration_seconds`
/// is a real classic histogram for latency analysis.
fn config_yaml(options: &Options, addr: SocketAddr) -> String {
    let interval = options.scrape_interval_secs.unwrap_or(1);
    let mut yaml =
        format!("global:\n  scrape_interval: {interval}s\n  evaluation_interval: {interval}s\n");
    if !options.external_labels.is_empty() {
        yaml.push_str("  external_labels:\n");
        for (name, value) in &options.external_labels {
            let _ = writeln!(yaml, "    {name}: '{value}'");
        }
    }
    let live = !options.scrape_targets.is_empty() || !options.app_targets.is_empty();
    if live {
        yaml.push_str("scrape_configs:\n");
    }
    for (job, targets) in [
        ("node", &options.scrape_targets),
        ("app", &options.app_targets),
    ] {
        if targets.is_empty() {
            continue;
        }
        let _ = writeln!(
            yaml,
            "  - job_name: {job}\n    static_configs:\n      - targets:"
        );
        for t in targets {
            let _ = writeln!(yaml, "          - '{t}'");
        }
    }
    if live && options.web_config.is_none() {
        let _ = writeln!(
            yaml,
            "  - job_name: prometheus\n    static_configs:\n      - targets: ['{addr}']"
        );
    }
    yaml
}

/// Copy the persisted blocks of a TSDB directory (each a directory with a `meta.json`; the
/// head and WAL of the running server are left out).
fn copy_blocks(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.join("meta.json").is_file() {
            if let Some(name) = path.file_name() {
                copy_tree(&path, &to.join(name))?;
            }
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot bind a loopback port")
}
