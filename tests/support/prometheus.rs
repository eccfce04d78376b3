//! Starts a real Prometheus for tests: the `prometheus` binary on a free 127.0.0.1 port,
//! with a temporary data directory and a generated config that scrapes itself (job
//! `prometheus`) and the given targets (job `targets`, with `honor_labels`) every second.
//! The process is killed when the [`RealPrometheus`] is dropped.
//!
//! Note: Prometheus hands newly discovered targets to its scraper about 5 s after start, so
//! the first samples exist 5-6 s after [`RealPrometheus::start`] returns; give
//! [`RealPrometheus::wait_for_query`] at least 15 s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long Prometheus may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "install it with `sudo apt-get install -y prometheus` (Debian/Ubuntu), \
     or put a `prometheus` binary on PATH, or set RACKSCOPE_TEST_PROMETHEUS to its path";

/// A running Prometheus owned by a test.
pub struct RealPrometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    binary: PathBuf,
}

impl RealPrometheus {
    /// Starts Prometheus scraping itself and `scrape_targets` (`host:port`) every second,
    /// and waits until it is ready. Panics with a clear message when the binary is missing
    /// or it does not start.
    pub fn start(scrape_targets: &[String]) -> RealPrometheus {
        let binary = find_binary();
        let mut last_error = String::new();
        // A port picked free can be taken again before Prometheus binds it: retry a few times.
        for _ in 0..3 {
            match Self::try_start(&binary, scrape_targets) {
                Ok(prom) => return prom,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "could not start Prometheus ({}): {last_error}",
            binary.display()
        );
    }

    fn try_start(binary: &Path, scrape_targets: &[String]) -> Result<RealPrometheus, String> {
        let dir = tempfile::Builder::new()
            .prefix("rackscope-prom-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let port = super::server::free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml(port, scrape_targets))
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let child = spawn(binary, dir.path(), port)?;
        let mut prom = RealPrometheus {
            child,
            port,
            dir,
            binary: binary.to_path_buf(),
        };
        prom.wait_ready()?;
        Ok(prom)
    }

    /// Stops Prometheus (SIGKILL, as a crash would); `restart` brings it back.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts Prometheus again on the same port, with the same config and data.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, self.dir.path(), self.port)
            .unwrap_or_else(|e| panic!("could not restart Prometheus: {e}"));
        if let Err(e) = self.wait_ready() {
            panic!("Prometheus did not come back: {e}");
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let port = self.port;
        let prom = self;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = prom.child.try_wait() {
                return Err(format!(
                    "prometheus exited with {status} before it was ready; log:\n{}",
                    prom.log()
                ));
            }
            if http_status(port, "/-/ready") == Some(200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not ready after {READY_TIMEOUT:?}; log:\n{}",
                    prom.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `host:port` Prometheus listens on (its own scrape target).
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What Prometheus has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Runs the instant query `promql` until `predicate` accepts its `data` object
    /// (`{resultType, result}`), and returns that object. Panics after `timeout` with the
    /// last answer.
    pub async fn wait_for_query(
        &self,
        promql: &str,
        predicate: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            let answer = http
                .get(format!("{}/api/v1/query", self.url()))
                .query(&[("query", promql)])
                .send()
                .await;
            match answer {
                Ok(resp) => match resp.json::<Value>().await {
                    Ok(body) => {
                        if let Some(data) = body.get("data") {
                            if predicate(data) {
                                return data.clone();
                            }
                        }
                        last = body.to_string();
                    }
                    Err(e) => last = format!("unreadable answer: {e}"),
                },
                Err(e) => last = format!("request failed: {e}"),
            }
            if Instant::now() > deadline {
                panic!("`{promql}` did not satisfy the predicate within {timeout:?}; last answer: {last}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for RealPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the Prometheus binary with the config and data in `dir`, logging to
/// `dir/prometheus.log`.
fn spawn(binary: &Path, dir: &Path, port: u16) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("prometheus.log"))
        .map_err(|e| format!("log file: {e}"))?;
    let log_err = log.try_clone().map_err(|e| format!("log file: {e}"))?;
    Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-lifecycle")
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("spawn failed: {e}"))
}

/// `RACKSCOPE_TEST_PROMETHEUS`, else `prometheus` on PATH, else `/usr/bin/prometheus`.
fn find_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("RACKSCOPE_TEST_PROMETHEUS") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    });
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"));
    if !binary.is_file() {
        panic!("these tests need a real Prometheus, and no `prometheus` binary was found; {INSTALL_HINT} (scripts/prometheus.sh installs it too)");
    }
    binary
}

fn config_yaml(port: u16, targets: &[String]) -> String {
    let mut yaml = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    if !targets.is_empty() {
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        // honor_labels: a target may speak for many machines (the simulator): keep the
        // `instance` and `job` labels its series carry (the node name, `node`) instead of
        // renaming them to exported_*; see scripts/prometheus.sh.
        yaml.push_str(&format!(
            "  - job_name: targets\n    honor_labels: true\n    static_configs:\n      - targets: [{list}]\n"
        ));
    }
    yaml
}

/// Status code of a plain HTTP/1.0 GET, or `None` when nothing answers. Blocking and
/// dependency-free, so that `start` works outside an async runtime.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
