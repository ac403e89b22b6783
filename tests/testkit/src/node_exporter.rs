//! A real node_exporter (Debian's `prometheus-node-exporter`) on a free loopback port.

use std::{
    net::SocketAddr,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::{http, install, process::Guard, prometheus::free_port};

/// A running node_exporter, stopped when dropped.
#[derive(Debug)]
pub struct NodeExporter {
    addr: SocketAddr,
    guard: Guard,
    _dir: tempfile::TempDir,
}

impl NodeExporter {
    /// Start with the default collectors plus `processes`, and wait for `/metrics`.
    pub fn start() -> NodeExporter {
        if let Err(e) = install::ensure_installed() {
            panic!("testkit: {e}");
        }
        let dir = tempfile::Builder::new()
            .prefix("gregg-node-exporter-")
            .tempdir()
            .expect("cannot create a temporary directory");
        for _ in 0..3 {
            let addr = free_port();
            let mut cmd = Command::new("prometheus-node-exporter");
            cmd.arg(format!("--web.listen-address={addr}"))
                .arg("--collector.processes")
                .arg("--log.level=warn");
            let log = dir.path().join("node_exporter.log");
            let Ok(mut guard) = Guard::spawn("node_exporter", cmd, &log) else {
                continue;
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline && guard.is_running() {
                if matches!(http::get(addr, "/metrics"), Some((200, _))) {
                    return NodeExporter {
                        addr,
                        guard,
                        _dir: dir,
                    };
                }
                thread::sleep(Duration::from_millis(100));
            }
            guard.stop();
        }
        panic!("testkit: node_exporter did not start");
    }

    /// `127.0.0.1:<port>`, as a scrape target.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Stop it.
    pub fn stop(&mut self) {
        self.guard.stop();
    }
}
