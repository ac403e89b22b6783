//! A real VictoriaMetrics (Debian's `victoria-metrics`, single node) on a loopback port, loaded
//! with a scenario's samples through its Prometheus text import.

use std::{
    net::SocketAddr,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::{http, install, process::Guard, prometheus::free_port, scenarios::Scenario};

/// Bytes per import request: bounded so one POST never holds a large fleet in memory twice.
const IMPORT_CHUNK: usize = 8 << 20;

/// A running VictoriaMetrics. Stopped and its directory removed when dropped.
#[derive(Debug)]
pub struct VictoriaMetrics {
    guard: Guard,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl VictoriaMetrics {
    /// Start on an empty storage and wait until `/health` answers.
    pub fn start() -> VictoriaMetrics {
        VictoriaMetrics::start_with(&[])
    }

    /// Like [`Self::start`] with more command-line flags (query limits such as
    /// `-search.maxQueryLen=2048`).
    pub fn start_with(flags: &[&str]) -> VictoriaMetrics {
        if let Err(e) = install::ensure_installed() {
            panic!("testkit: {e}");
        }
        let dir = tempfile::Builder::new()
            .prefix("gregg-victoria-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let addr = free_port();
        let mut cmd = Command::new("victoria-metrics");
        cmd.arg(format!(
            "-storageDataPath={}",
            dir.path().join("data").display()
        ))
        .arg(format!("-httpListenAddr={addr}"))
        // Scenarios sit at fixed past times.
        .arg("-retentionPeriod=100y")
        // Imported samples are final: answer with them at once, not 30 s later.
        .arg("-search.latencyOffset=0s")
        .arg("-loggerLevel=WARN")
        .args(flags);
        let guard = Guard::spawn(
            "victoria-metrics",
            cmd,
            &dir.path().join("victoria-metrics.log"),
        )
        .unwrap_or_else(|e| panic!("testkit: cannot start victoria-metrics: {e}"));
        let mut vm = VictoriaMetrics { guard, addr, dir };
        if !vm.wait_ready(Duration::from_secs(30)) {
            panic!(
                "testkit: victoria-metrics did not become ready:\n{}",
                vm.log()
            );
        }
        vm
    }

    /// Start and import `scenario`.
    pub fn serve(scenario: &Scenario) -> VictoriaMetrics {
        VictoriaMetrics::serve_with(scenario, &[])
    }

    /// Like [`Self::serve`] with more command-line flags (see [`Self::start_with`]).
    pub fn serve_with(scenario: &Scenario, flags: &[&str]) -> VictoriaMetrics {
        let vm = VictoriaMetrics::start_with(flags);
        let mut text = Vec::new();
        scenario
            .write(&mut text)
            .expect("cannot write the scenario");
        vm.import_openmetrics(&text);
        vm
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !self.guard.is_running() {
                return false;
            }
            if matches!(http::get(self.addr, "/health"), Some((200, _))) {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Import OpenMetrics text as written for promtool (seconds) through
    /// `/api/v1/import/prometheus` (milliseconds), then flush so queries see every sample.
    pub fn import_openmetrics(&self, openmetrics: &[u8]) {
        let text = String::from_utf8_lossy(openmetrics);
        let mut chunk = String::with_capacity(IMPORT_CHUNK + 4096);
        for line in text.lines() {
            if let Some(sample) = to_import_line(line) {
                chunk.push_str(&sample);
                chunk.push('\n');
            }
            if chunk.len() >= IMPORT_CHUNK {
                self.post_import(&chunk);
                chunk.clear();
            }
        }
        if !chunk.is_empty() {
            self.post_import(&chunk);
        }
        match http::get(self.addr, "/internal/force_flush") {
            Some((200, _)) => {}
            other => panic!("testkit: victoria-metrics force_flush failed: {other:?}"),
        }
    }

    fn post_import(&self, body: &str) {
        let answer = http::post(
            self.addr,
            "/api/v1/import/prometheus",
            "text/plain",
            body.as_bytes(),
        );
        match answer {
            Some((204 | 200, _)) => {}
            other => panic!(
                "testkit: victoria-metrics import failed: {other:?}\n{}",
                self.log()
            ),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("victoria-metrics.log")).unwrap_or_default()
    }
}

/// One OpenMetrics sample line with its timestamp in seconds turned into the exposition line
/// VictoriaMetrics imports, in milliseconds; `None` for comments, `# EOF` and blank lines.
pub fn to_import_line(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (head, time) = line.rsplit_once(' ')?;
    let seconds: f64 = time.parse().ok()?;
    Some(format!("{head} {}", (seconds * 1000.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_milliseconds_and_comments_go() {
        assert_eq!(
            to_import_line(r#"node_load1{instance="a:9100",job="node"} 0.5 1700000000"#),
            Some(r#"node_load1{instance="a:9100",job="node"} 0.5 1700000000000"#.into())
        );
        assert_eq!(
            to_import_line("x 1 1700000000.25"),
            Some("x 1 1700000000250".into())
        );
        assert_eq!(to_import_line("# TYPE x gauge"), None);
        assert_eq!(to_import_line("# EOF"), None);
        assert_eq!(to_import_line(""), None);
    }
}
