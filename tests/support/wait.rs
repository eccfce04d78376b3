//! Waiting on a condition instead of sleeping a fixed time: [`until`] polls an async check
//! until it yields a value or the deadline passes, then fails with what it last saw.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `check` every 100 ms until it returns `Ok(value)`, and returns the value; after
/// `secs` seconds, panics naming `what` with the last `Err` it returned (what was seen).
pub async fn until<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if Instant::now() > deadline => {
                panic!("timed out after {secs} s waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
