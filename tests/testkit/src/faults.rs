//! A deliberately broken HTTP server: the faults a Prometheus (or what stands in front of it)
//! can produce, on demand, on a loopback port.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

/// What the server does with each request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Read the request and never answer (until the client hangs up, which is counted).
    Hang,
    /// Answer with this status, content type and body.
    Respond {
        /// HTTP status.
        status: u16,
        /// Content-Type header.
        content_type: String,
        /// Body.
        body: Vec<u8>,
    },
    /// Send headers, then one byte of body every 200 ms, forever.
    Trickle,
    /// Promise a long body, send part of it, close.
    Truncated,
    /// Stream a valid-looking JSON body forever (no Content-Length).
    Endless,
    /// Accept and close at once.
    Close,
}

impl Fault {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: &str) -> Fault {
        Fault::Respond {
            status,
            content_type: "application/json".to_string(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Prometheus' error envelope with `status`.
    pub fn prometheus_error(status: u16, error_type: &str, message: &str) -> Fault {
        Fault::json(
            status,
            &serde_json::json!({"status": "error", "errorType": error_type, "error": message})
                .to_string(),
        )
    }
}

/// What the server does: always the same fault, or forward to a real server except for
/// requests containing a marker.
#[derive(Clone, Debug)]
enum Mode {
    Always(Fault),
    Proxy {
        upstream: SocketAddr,
        needle: String,
        fault: Fault,
    },
}

/// A running fault server; stops when dropped.
pub struct FaultServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    hung_up: Arc<AtomicUsize>,
    last_request: Arc<Mutex<String>>,
}

impl FaultServer {
    /// Serve `fault` for every request.
    pub fn start(fault: Fault) -> FaultServer {
        Self::run(Mode::Always(fault))
    }

    /// Forward every request to `upstream` (a real Prometheus), except those whose head or
    /// body contains `needle` (e.g. a metric name in a form-encoded query), which get `fault`.
    pub fn proxy(upstream: SocketAddr, needle: &str, fault: Fault) -> FaultServer {
        Self::run(Mode::Proxy {
            upstream,
            needle: needle.to_string(),
            fault,
        })
    }

    fn run(mode: Mode) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let addr = listener.local_addr().expect("bound socket has an address");
        listener
            .set_nonblocking(true)
            .expect("cannot make the listener non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let last_request = Arc::new(Mutex::new(String::new()));
        let hung_up = Arc::new(AtomicUsize::new(0));
        let (stop_flag, counter, last) = (stop.clone(), requests.clone(), last_request.clone());
        let hangups = hung_up.clone();
        thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        let mode = mode.clone();
                        let stop = stop_flag.clone();
                        let last = last.clone();
                        let hangups = hangups.clone();
                        thread::spawn(move || handle(stream, &mode, &stop, &last, &hangups));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FaultServer {
            addr,
            stop,
            requests,
            hung_up,
            last_request,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The head and body of the most recent request, as received.
    pub fn last_request(&self) -> String {
        self.last_request
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Connections whose client hung up while `Fault::Hang` held them: a client that gives up
    /// on a request must close its connection, or every timeout leaks one.
    pub fn hung_up(&self) -> usize {
        self.hung_up.load(Ordering::Relaxed)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_request(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Send `request` to `upstream` with `Connection: close` and copy the answer back.
fn forward(client: &mut TcpStream, upstream: SocketAddr, request: &str) {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut rewritten = format!("{first}\r\nConnection: close\r\n");
    for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("\r\n");
    rewritten.push_str(body);
    if up.write_all(rewritten.as_bytes()).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn handle(
    mut stream: TcpStream,
    mode: &Mode,
    stop: &AtomicBool,
    last: &Mutex<String>,
    hung_up: &AtomicUsize,
) {
    let request = read_request(&mut stream);
    if let Ok(mut l) = last.lock() {
        l.clone_from(&request);
    }
    let fault = match mode {
        Mode::Always(fault) => fault,
        Mode::Proxy { needle, fault, .. } if request.contains(needle.as_str()) => fault,
        Mode::Proxy { upstream, .. } => {
            forward(&mut stream, *upstream, &request);
            return;
        }
    };
    match fault {
        Fault::Hang => {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let mut byte = [0u8; 1];
            while !stop.load(Ordering::Relaxed) {
                match stream.read(&mut byte) {
                    Ok(0) => {
                        hung_up.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => {
                        hung_up.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }
        Fault::Respond {
            status,
            content_type,
            body,
        } => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
        Fault::Trickle => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{"
            );
            while !stop.load(Ordering::Relaxed) {
                if stream.write_all(b" ").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
            }
        }
        Fault::Truncated => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":["
            );
        }
        Fault::Endless => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            let start = b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[";
            let _ = write!(stream, "{:x}\r\n", start.len());
            let _ = stream.write_all(start);
            let _ = stream.write_all(b"\r\n");
            let item = b"{\"metric\":{\"instance\":\"x\"},\"value\":[1,\"1\"]},";
            let block: Vec<u8> = item
                .iter()
                .copied()
                .cycle()
                .take(item.len() * 1000)
                .collect();
            while !stop.load(Ordering::Relaxed) {
                if write!(stream, "{:x}\r\n", block.len()).is_err()
                    || stream.write_all(&block).is_err()
                    || stream.write_all(b"\r\n").is_err()
                {
                    break;
                }
            }
        }
        Fault::Close => {}
    }
}
