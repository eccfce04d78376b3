//! A static Prometheus exposition for tests: serves a text body at `GET /metrics` on a
//! free 127.0.0.1 port, for a real Prometheus ([`super::prometheus`]) to scrape. The body
//! can be replaced while it runs ([`Exposition::set`]); each body carries the gauge
//! `test_exposition_version`, so a test can wait until Prometheus has scraped a given one.
//! Stopped on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Exposition {
    addr: String,
    body: Arc<Mutex<String>>,
    version: Mutex<u64>,
    stop: Arc<AtomicBool>,
}

impl Exposition {
    /// Starts serving `body` (version 1).
    pub fn start(body: &str) -> Exposition {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the exposition listener");
        let addr = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Mutex::new(versioned(body, 1)));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let text = b.lock().unwrap().clone();
                    std::thread::spawn(move || answer(conn, &text));
                }
            }
        });
        Exposition {
            addr,
            body: shared,
            version: Mutex::new(1),
            stop,
        }
    }

    /// `host:port`, the scrape target.
    pub fn address(&self) -> String {
        self.addr.clone()
    }

    /// Replaces the body; returns its version number.
    pub fn set(&self, body: &str) -> u64 {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        *self.body.lock().unwrap() = versioned(body, *v);
        *v
    }
}

impl Drop for Exposition {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn versioned(body: &str, version: u64) -> String {
    format!(
        "{body}\n# HELP test_exposition_version Which body the test served.\n# TYPE test_exposition_version gauge\ntest_exposition_version {version}\n"
    )
}

fn answer(mut conn: TcpStream, body: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if seen.len() > 64 * 1024 {
            return;
        }
    }
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
}
