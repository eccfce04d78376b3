//! Starts a real VictoriaMetrics (single node, Debian package `victoria-metrics`) on a free
//! 127.0.0.1 port with a temporary data directory, for tests that check the server against
//! a Prometheus-compatible engine. [`RealVictoria::start`] returns `None` when the binary is
//! not installed (CI installs it; see scripts/test.sh), so a test can say it skipped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running VictoriaMetrics owned by a test; killed on drop.
pub struct RealVictoria {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RealVictoria {
    /// Starts it and waits until `/health` answers, or `None` when it is not installed.
    pub fn start() -> Option<RealVictoria> {
        let binary = find_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("rackscope-vm-")
            .tempdir()
            .unwrap();
        let port = super::server::free_port();
        let log = std::fs::File::create(dir.path().join("vm.log")).unwrap();
        let child = Command::new(&binary)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=1d")
            // Fresh samples are visible at once (the default hides the last 30 s).
            .arg("-search.latencyOffset=0s")
            // Long queries (the default limit is 16 KiB; docs/deployment.md).
            .arg("-search.maxQueryLen=262144")
            .arg("-loggerLevel=WARN")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut vm = RealVictoria { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = vm.child.try_wait() {
                panic!("victoria-metrics exited with {status}:\n{}", vm.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && health_ok(port) {
                return Some(vm);
            }
            assert!(
                Instant::now() < deadline,
                "victoria-metrics not ready:\n{}",
                vm.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vm.log")).unwrap_or_default()
    }

    /// Imports samples in the Prometheus text format (`/api/v1/import/prometheus`).
    pub async fn import(&self, text: &str) {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/import/prometheus", self.url()))
            .body(text.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "import: {}", resp.status());
        // Make the imported samples searchable now.
        let _ = reqwest::Client::new()
            .get(format!("{}/internal/force_flush", self.url()))
            .send()
            .await;
    }
}

impl Drop for RealVictoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RACKSCOPE_TEST_VICTORIA") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|d| d.join("victoria-metrics"))
        .find(|p| p.is_file());
    found
}

/// True when `GET /health` answers 200 (plain blocking IO: the harness starts engines
/// outside any runtime).
fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    // "HTTP/1.0 200 OK" (Go answers an HTTP/1.0 request in kind) or "HTTP/1.1 200 OK".
    matches!(s.read(&mut buf), Ok(n) if n > 12 && buf.starts_with(b"HTTP/1.") && &buf[8..12] == b" 200")
}
