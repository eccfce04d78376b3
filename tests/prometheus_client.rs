//! The Prometheus client against a real Prometheus (scraping itself), plus a tiny fake
//! HTTP server used only to inject behaviour a healthy Prometheus never shows: delays,
//! hangs, 5xx, garbage, and to inspect what the client sends.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope::prometheus::{CacheKind, PromClient, PromError, PromSettings};
use serde_json::{json, Value};
use support::prometheus::RealPrometheus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn client(url: &str) -> PromClient {
    PromClient::new(PromSettings::new(url)).unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn queries_against_a_real_prometheus() {
    let prom = RealPrometheus::start(&[]);
    let self_target = prom.address();
    prom.wait_for_query(
        "up",
        |d| d["result"].as_array().is_some_and(|r| !r.is_empty()),
        Duration::from_secs(15),
    )
    .await;
    let prom_client = client(&format!("{}/", prom.url()));
    assert_eq!(prom_client.base_url(), prom.url());

    // Instant query: `up` of the self-scrape.
    let data = prom_client.query("up", CacheKind::None).await.unwrap();
    assert_eq!(data["resultType"], "vector");
    let series = data["result"].as_array().unwrap();
    assert!(
        series
            .iter()
            .any(|s| s["metric"]["instance"] == self_target.as_str()
                && s["metric"]["job"] == "prometheus"
                && s["value"][1] == "1"),
        "{data}"
    );

    // vector(1) and ping.
    let data = prom_client
        .query("vector(1)", CacheKind::None)
        .await
        .unwrap();
    assert_eq!(data["resultType"], "vector");
    assert_eq!(data["result"][0]["value"][1], "1");
    prom_client.ping().await.unwrap();

    // Range query over the last minute.
    let end = now();
    let data = prom_client
        .query_range("up", end - 60.0, end, "5s")
        .await
        .unwrap();
    assert_eq!(data["resultType"], "matrix");
    let values = data["result"][0]["values"].as_array().unwrap();
    assert!(!values.is_empty(), "{data}");
    let data = prom_client
        .query_range("vector(1)", end - 60.0, end, "15s")
        .await
        .unwrap();
    assert_eq!(data["result"][0]["values"].as_array().unwrap().len(), 5);

    // A syntax error is a Query error carrying Prometheus's message.
    match prom_client.query("up{", CacheKind::Health).await {
        Err(PromError::Query { error_type, error }) => {
            assert_eq!(error_type, "bad_data");
            assert!(error.contains("parse error"), "{error}");
        }
        other => panic!("expected a query error, got {other:?}"),
    }
    // Errors are not cached: the same query is a miss again.
    let before = prom_client.stats();
    let _ = prom_client.query("up{", CacheKind::Health).await;
    let after = prom_client.stats();
    assert_eq!(
        after["cache_misses"],
        before["cache_misses"].as_u64().unwrap() + 1
    );
    assert_eq!(
        after["query_count"],
        before["query_count"].as_u64().unwrap() + 1
    );

    // Cache: the second identical query is a hit and sends nothing.
    let first = prom_client
        .query("count(up)", CacheKind::Metrics)
        .await
        .unwrap();
    let before = prom_client.stats();
    let second = prom_client
        .query("count(up)", CacheKind::Metrics)
        .await
        .unwrap();
    let after = prom_client.stats();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(
        after["cache_hits"],
        before["cache_hits"].as_u64().unwrap() + 1
    );
    assert_eq!(after["query_count"], before["query_count"]);
    // Each kind has its own cache.
    prom_client
        .query("count(up)", CacheKind::Health)
        .await
        .unwrap();
    assert_eq!(
        prom_client.stats()["query_count"],
        after["query_count"].as_u64().unwrap() + 1
    );

    let stats = prom_client.stats();
    for key in ["last_ms", "avg_ms", "last_ts"] {
        assert!(stats[key].is_number(), "{key} in {stats}");
    }
    assert_eq!(stats["in_flight"], 0);
}

#[tokio::test]
async fn stats_are_null_before_the_first_request() {
    let stats = client("http://127.0.0.1:9").stats();
    assert_eq!(
        stats,
        json!({"query_count": 0, "cache_hits": 0, "cache_misses": 0, "in_flight": 0,
               "last_ms": null, "avg_ms": null, "last_ts": null})
    );
}

// ---------------------------------------------------------------------------------------
// Fake server: behaviour injection only.

#[derive(Clone)]
enum Reply {
    /// Answer `status` with `body` after `delay`.
    Answer {
        status: u16,
        body: String,
        delay: Duration,
    },
    /// Read the request and never answer.
    Hang,
}

/// Answer `status` with `body` at once.
fn answer(status: u16, body: impl Into<String>) -> Reply {
    Reply::Answer {
        status,
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn ok(body: Value) -> Reply {
    answer(200, body.to_string())
}

fn success(result: Value) -> Reply {
    ok(json!({"status": "success", "data": {"resultType": "scalar", "result": result}}))
}

struct Fake {
    url: String,
    hits: Arc<AtomicUsize>,
    /// Request heads (request line and headers) as received.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    async fn start(reply: Reply) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (h, r) = (hits.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, r, reply) = (h.clone(), r.clone(), reply.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    r.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    match reply {
                        Reply::Hang => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        Reply::Answer {
                            status,
                            body,
                            delay,
                        } => {
                            tokio::time::sleep(delay).await;
                            let answer = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = sock.write_all(answer.as_bytes()).await;
                            let _ = sock.shutdown().await;
                        }
                    }
                });
            }
        });
        Fake {
            url,
            hits,
            requests,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn identical_concurrent_queries_share_one_request() {
    let fake = Fake::start(Reply::Answer {
        status: 200,
        body: json!({"status": "success", "data": {"resultType": "scalar", "result": [1, "7"]}})
            .to_string(),
        delay: Duration::from_millis(400),
    })
    .await;
    let prom = client(&fake.url);
    let kinds = [CacheKind::Generic, CacheKind::Health, CacheKind::None];
    let answers = futures::future::join_all((0..20).map(|i| {
        let prom = prom.clone();
        async move { prom.query("sum(up)", kinds[i % 3]).await }
    }))
    .await;
    assert_eq!(fake.hits(), 1, "20 identical queries, one HTTP request");
    for answer in &answers {
        assert_eq!(answer.as_ref().unwrap()["result"][1], "7");
    }
    let stats = prom.stats();
    assert_eq!(stats["query_count"], 1);
    assert_eq!(stats["in_flight"], 0);
    // The shared answer was stored in the kinds that asked for it.
    prom.query("sum(up)", CacheKind::Health).await.unwrap();
    prom.query("sum(up)", CacheKind::Generic).await.unwrap();
    assert_eq!(fake.hits(), 1);
    prom.query("sum(up)", CacheKind::Metrics).await.unwrap();
    assert_eq!(fake.hits(), 2);
    // Range queries are neither cached nor merged.
    let (a, b) = tokio::join!(
        prom.query_range("sum(up)", 0.0, 60.0, "1m"),
        prom.query_range("sum(up)", 0.0, 60.0, "1m")
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(fake.hits(), 4);
    let range_request = fake.requests.lock().unwrap().last().cloned().unwrap();
    assert!(
        range_request
            .starts_with("GET /api/v1/query_range?query=sum%28up%29&start=0.0&end=60.0&step=1m "),
        "{range_request}"
    );
}

#[tokio::test]
async fn unreachable_port() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let err = client(&url)
        .query("up", CacheKind::Health)
        .await
        .unwrap_err();
    match &err {
        PromError::Unreachable(msg) => assert!(msg.contains(&url), "{msg}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert_eq!(err.kind(), "unreachable");
}

#[tokio::test]
async fn silent_server_times_out() {
    let fake = Fake::start(Reply::Hang).await;
    let mut settings = PromSettings::new(&fake.url);
    settings.timeout = Duration::from_millis(300);
    let err = PromClient::new(settings)
        .unwrap()
        .query("up", CacheKind::None)
        .await
        .unwrap_err();
    assert_eq!(err, PromError::Timeout(Duration::from_millis(300)));
}

#[tokio::test]
async fn http_errors_and_garbage() {
    let fake = Fake::start(answer(500, "internal failure")).await;
    let prom = client(&fake.url);
    let err = prom.query("up", CacheKind::Generic).await.unwrap_err();
    assert_eq!(
        err,
        PromError::Http {
            status: 500,
            message: "Internal Server Error: internal failure".into()
        }
    );
    // Errors are never cached.
    let _ = prom.query("up", CacheKind::Generic).await;
    assert_eq!(fake.hits(), 2);

    // A Prometheus JSON error body keeps Prometheus's own text.
    let fake = Fake::start(answer(503, json!({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}).to_string()))
    .await;
    let err = client(&fake.url)
        .query("up", CacheKind::None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PromError::Http {
            status: 503,
            message: "query timed out in expression evaluation".into()
        }
    );

    let fake = Fake::start(answer(200, "<html>not prometheus</html>")).await;
    let err = client(&fake.url)
        .query("up", CacheKind::None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PromError::Malformed(m) if m.contains("not JSON")),
        "{err:?}"
    );

    let fake = Fake::start(ok(json!({"status": "success"}))).await;
    let err = client(&fake.url)
        .query("up", CacheKind::None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "malformed");
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_shown() {
    let fake = Fake::start(answer(401, "Unauthorized")).await;
    let mut settings = PromSettings::new(&fake.url);
    settings.basic_auth = Some(("admin".into(), "s3cr3t-pw".into()));
    let prom = PromClient::new(settings).unwrap();
    let err = prom.query("up", CacheKind::None).await.unwrap_err();
    assert!(
        matches!(err, PromError::Http { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cr3t-pw"));
    assert!(!format!("{prom:?}").contains("s3cr3t-pw"));
    let head = fake.requests.lock().unwrap()[0].to_lowercase();
    // base64("admin:s3cr3t-pw")
    assert!(
        head.contains("authorization: basic ywrtaw46cznjcjn0lxb3"),
        "{head}"
    );
    assert!(head.starts_with("get /api/v1/query?query=up "), "{head}");
}

#[tokio::test]
async fn reconfigure_clears_the_cache_when_the_target_changes() {
    let a = Fake::start(success(json!([1, "1"]))).await;
    let b = Fake::start(success(json!([1, "2"]))).await;
    let prom = client(&a.url);
    assert_eq!(
        prom.query("x", CacheKind::Metrics).await.unwrap()["result"][1],
        "1"
    );

    // Same target, other timeout: the cache survives.
    let mut settings = prom.settings();
    settings.timeout = Duration::from_secs(3);
    prom.reconfigure(settings).unwrap();
    prom.query("x", CacheKind::Metrics).await.unwrap();
    assert_eq!(a.hits(), 1);

    // Another URL: the old answer is gone.
    let mut settings = prom.settings();
    settings.base_url = b.url.clone();
    prom.reconfigure(settings).unwrap();
    assert_eq!(prom.base_url(), b.url);
    assert_eq!(
        prom.query("x", CacheKind::Metrics).await.unwrap()["result"][1],
        "2"
    );

    // Other credentials: cleared as well.
    let mut settings = prom.settings();
    settings.basic_auth = Some(("u".into(), "p".into()));
    prom.reconfigure(settings).unwrap();
    prom.query("x", CacheKind::Metrics).await.unwrap();
    assert_eq!(b.hits(), 2);

    // A failed reconfigure keeps the working client.
    let mut settings = prom.settings();
    settings.tls_ca_file = Some("/nonexistent/ca.pem".into());
    let err = prom.reconfigure(settings).unwrap_err();
    assert_eq!(err.kind(), "config");
    assert_eq!(prom.base_url(), b.url);
    prom.query("x", CacheKind::Metrics).await.unwrap();
    assert_eq!(b.hits(), 2);
}
