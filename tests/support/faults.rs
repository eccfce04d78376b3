//! A small HTTP proxy in front of a real Prometheus that injects faults on demand: pass
//! requests through, hang, answer late, answer 5xx, answer garbage, or refuse connections.
//! It counts the requests it sees and the most it had in flight at once, so a test can
//! prove there is no pile-up while Prometheus is slow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with the next requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward to Prometheus.
    Pass,
    /// Never answer.
    Hang,
    /// Forward, but answer only after this long.
    Slow(Duration),
    /// Answer this HTTP status with a short text body.
    Status(u16),
    /// Answer 200 with a body that is not Prometheus JSON.
    Garbage,
    /// Close every connection at once, without an answer.
    Close,
}

/// The proxy; it stops when dropped.
pub struct FaultProxy {
    pub url: String,
    mode: Arc<parking_lot::Mutex<Fault>>,
    requests: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(parking_lot::Mutex::new(Fault::Pass));
        let requests = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.trim_end_matches('/').to_string();
        let (m, r, f, mx) = (
            mode.clone(),
            requests.clone(),
            in_flight.clone(),
            max_in_flight.clone(),
        );
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (m, r, f, mx, http, up) = (
                    m.clone(),
                    r.clone(),
                    f.clone(),
                    mx.clone(),
                    http.clone(),
                    upstream.clone(),
                );
                tokio::spawn(async move {
                    serve(sock, m, r, f, mx, http, up).await;
                });
            }
        });
        FaultProxy {
            url,
            mode,
            requests,
            in_flight,
            max_in_flight,
            task,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.mode.lock() = fault;
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests it had open at once since the last reset.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn reset_counts(&self) {
        self.requests.store(0, Ordering::SeqCst);
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

/// Reads one request (head and body) from `sock`; None at end of stream.
async fn read_request(sock: &mut TcpStream) -> Option<(String, String, Vec<u8>, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let mut length = 0usize;
    let mut content_type = String::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("content-type") {
                content_type = v.trim().to_string();
            }
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, target, body, content_type))
}

async fn respond(sock: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.is_ok() && sock.write_all(body).await.is_ok()
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    mut sock: TcpStream,
    mode: Arc<parking_lot::Mutex<Fault>>,
    requests: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    http: reqwest::Client,
    upstream: String,
) {
    loop {
        let fault = mode.lock().clone();
        if fault == Fault::Close {
            return;
        }
        let Some((method, target, body, content_type)) = read_request(&mut sock).await else {
            return;
        };
        requests.fetch_add(1, Ordering::SeqCst);
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max_in_flight.fetch_max(now, Ordering::SeqCst);
        let fault = mode.lock().clone();
        let ok = match fault {
            Fault::Close => false,
            Fault::Hang => {
                // Never answer; notice when the client gives up (its connection closes).
                let mut byte = [0u8; 1];
                let _ = sock.read(&mut byte).await;
                false
            }
            Fault::Status(code) => {
                respond(&mut sock, code, "text/plain", b"injected failure").await
            }
            Fault::Garbage => respond(&mut sock, 200, "application/json", b"<html>not json").await,
            Fault::Pass | Fault::Slow(_) => {
                if let Fault::Slow(d) = fault {
                    // Late; a client that gives up meanwhile closes its connection.
                    let mut byte = [0u8; 1];
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = sock.read(&mut byte) => {
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            return;
                        }
                    }
                }
                let mut req = http.request(
                    method.parse().unwrap_or(reqwest::Method::GET),
                    format!("{upstream}{target}"),
                );
                if !content_type.is_empty() {
                    req = req.header("content-type", content_type);
                }
                match req.body(body).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let bytes = r.bytes().await.unwrap_or_default();
                        respond(&mut sock, status, "application/json", &bytes).await
                    }
                    Err(_) => respond(&mut sock, 502, "text/plain", b"upstream failed").await,
                }
            }
        };
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if !ok {
            return;
        }
    }
}
