//! Starts the real `rackscope` binary on a free loopback port, with a private copy of a
//! config directory, and stops it on drop. Its log output is captured to a file so tests
//! can inspect it (for example to prove that no secret is ever logged).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The project root (where Cargo.toml lives).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace's `shared/` folder (the spec and Rackscope's fixtures): `../shared` next
/// to the project, or where `RACKSCOPE_SHARED` says (.ci/run sets it for a clone made
/// away from it).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("RACKSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared"))
}

/// `shared/fixtures/rackscope`, where Rackscope's example configs are (read in place, never
/// copied). Fails, naming the folder, when it is not there.
pub fn fixtures_dir() -> PathBuf {
    let dir = shared_dir().join("fixtures/rackscope");
    assert!(
        dir.is_dir(),
        "the Rackscope fixtures are missing: expected them in ../shared/fixtures/rackscope \
         next to the project, or under RACKSCOPE_SHARED ({})",
        dir.display()
    );
    dir
}

/// Copies a directory tree (test setup only).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the project's demo config in a temporary directory:
/// `<tmp>/config/app.yaml`, topology, templates...; `<tmp>/plugins` for plugins.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    /// A copy of the project's demo config, with no plugin enabled.
    pub fn demo() -> ConfigDir {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&project_root().join("config"), &dir.path().join("config"));
        fs::create_dir_all(dir.path().join("plugins")).unwrap();
        let cd = ConfigDir { dir };
        cd.edit_app_yaml(|doc| {
            doc["plugins"] = serde_json::json!({});
        });
        cd
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn app_yaml(&self) -> PathBuf {
        self.dir.path().join("config/app.yaml")
    }

    pub fn read_app_yaml(&self) -> serde_json::Value {
        let text = fs::read_to_string(self.app_yaml()).unwrap();
        serde_norway::from_str(&text).unwrap()
    }

    /// Rewrites app.yaml through a JSON view of it (comments are lost; fine for tests).
    pub fn edit_app_yaml(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut doc = self.read_app_yaml();
        f(&mut doc);
        fs::write(self.app_yaml(), serde_norway::to_string(&doc).unwrap()).unwrap();
    }
}

/// A running `rackscope serve`.
pub struct TestServer {
    child: Child,
    pub addr: String,
    pub log_path: PathBuf,
    _log_dir: tempfile::TempDir,
}

/// A free loopback port (bound then released), for a server or listener a test starts.
///
/// Taken below the kernel's ephemeral range when there is room: ports from that range are
/// also handed to every outgoing connection the tests make, and one could take the port
/// between this check and the server's bind. Above it, only another test picking the same
/// random port could.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(0);
    const LOW: u16 = 10_000;
    if ephemeral_low > LOW + 2_000 {
        for _ in 0..100 {
            // Each RandomState has new keys: a fresh random number per call.
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            let port = LOW + (random % u64::from(ephemeral_low - LOW)) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestServer {
    /// Starts the server on `app_yaml` with extra environment variables, and waits until
    /// it answers `/healthz`. Panics with the server's log if it does not come up.
    pub fn start_with_env(app_yaml: &Path, envs: &[(&str, &str)]) -> TestServer {
        Self::try_start(app_yaml, envs).unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    pub fn start(app_yaml: &Path) -> TestServer {
        Self::start_with_env(app_yaml, &[])
    }

    /// Like `start_with_env`, with `cwd` as the server's working directory (where
    /// relative paths of app.yaml are looked up first, as Rackscope's own configs expect).
    pub fn start_in(cwd: &Path, app_yaml: &Path, envs: &[(&str, &str)]) -> TestServer {
        Self::try_start_in(Some(cwd), app_yaml, envs)
            .unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Like `start_with_env`, but returns the captured log when the server exits or does
    /// not answer within 20 s.
    pub fn try_start(app_yaml: &Path, envs: &[(&str, &str)]) -> Result<TestServer, String> {
        Self::try_start_in(None, app_yaml, envs)
    }

    fn try_start_in(
        cwd: Option<&Path>,
        app_yaml: &Path,
        envs: &[(&str, &str)],
    ) -> Result<TestServer, String> {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log_dir = tempfile::tempdir().unwrap();
        let log_path = log_dir.path().join("server.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rackscope"));
        cmd.args(["serve", "--config"])
            .arg(app_yaml)
            .args(["--listen", &addr])
            .env_remove("RACKSCOPE_APP_CONFIG")
            .env("RACKSCOPE_LOG_LEVEL", "debug")
            .env("PROMETHEUS_URL", "http://127.0.0.1:9")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(fs::read_to_string(&log_path).unwrap_or_default());
            }
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(fs::read_to_string(&log_path).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(TestServer {
            child,
            addr,
            log_path,
            _log_dir: log_dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status (None if it did not exit in 10 s).
    pub fn terminate(mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small HTTP client for tests: JSON in, (status, JSON) out.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    pub fn new(server: &TestServer) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: format!("http://{}", server.addr),
            token: None,
        }
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.request(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}
