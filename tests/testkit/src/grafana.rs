//! A small stand-in for Grafana's HTTP API on a loopback port: fixed answers by path (query
//! strings ignored), a bearer token required on every request, and a log of what was asked.
//! Enough to serve real dashboard JSON under `/api/dashboards/uid/<uid>`. Path prefixes may be
//! forwarded to a real upstream (path after the prefix and query string kept), as Grafana's
//! data source proxy forwards `/api/datasources/proxy/uid/<uid>/…` to the data source.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

/// One fixed answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// A running stub; stops when dropped.
pub struct GrafanaStub {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl GrafanaStub {
    /// Serve `routes` (path → answer; anything else is Grafana's 404), requiring
    /// `Authorization: Bearer <token>` (401 otherwise).
    pub fn start(token: &str, routes: BTreeMap<String, Answer>) -> GrafanaStub {
        Self::start_with_proxy(token, routes, BTreeMap::new())
    }

    /// As [`GrafanaStub::start`], and every authorised GET under a `proxy` prefix (`/api/…/`)
    /// forwarded to its upstream address, the rest of the path and the query string kept.
    pub fn start_with_proxy(
        token: &str,
        routes: BTreeMap<String, Answer>,
        proxy: BTreeMap<String, SocketAddr>,
    ) -> GrafanaStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let addr = listener.local_addr().expect("bound socket has an address");
        listener
            .set_nonblocking(true)
            .expect("cannot make the listener non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), requests.clone());
        let routes = Arc::new((routes, proxy));
        let expected = format!("Bearer {token}");
        thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (routes, log, expected) =
                            (routes.clone(), log.clone(), expected.clone());
                        thread::spawn(move || {
                            handle(stream, &routes.0, &routes.1, &log, &expected)
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        GrafanaStub {
            addr,
            stop,
            requests,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Request lines received (`GET /api/search?…`).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for GrafanaStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(
    mut stream: TcpStream,
    routes: &BTreeMap<String, Answer>,
    proxy: &BTreeMap<String, SocketAddr>,
    log: &Mutex<Vec<String>>,
    expected_auth: &str,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&raw).to_string();
    let line = head.lines().next().unwrap_or("").to_string();
    if let Ok(mut l) = log.lock() {
        l.push(line.split(" HTTP/").next().unwrap_or("").to_string());
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let authorised = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("authorization") && v.trim() == expected_auth
        })
    });
    let answer = if !authorised {
        Answer {
            status: 401,
            body: r#"{"message":"Unauthorized"}"#.into(),
        }
    } else if let Some((prefix, upstream)) = proxy.iter().find(|(p, _)| target.starts_with(*p)) {
        let rest = &target[prefix.len()..];
        match crate::http::get(*upstream, &format!("/{rest}")) {
            Some((status, body)) => Answer { status, body },
            None => Answer {
                status: 502,
                body: r#"{"message":"Bad Gateway"}"#.into(),
            },
        }
    } else {
        routes.get(path).cloned().unwrap_or(Answer {
            status: 404,
            body: r#"{"message":"Not found"}"#.into(),
        })
    };
    let reason = match answer.status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
    let _ = stream.flush();
}
