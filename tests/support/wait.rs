//! Waiting on a condition instead of sleeping a fixed time: [`until`] polls an async check
//! until it yields a value or the deadline passes, then fails with what it last saw;
//! [`eventually`] is the same for a check that only says yes or no.
//!
//! Checks are polled often at first (10 ms) and less as time goes by (at most every
//! 100 ms): a condition that holds soon is seen soon, and a slow one costs little.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `check` until it returns `Ok(value)`, and returns the value; after `secs`
/// seconds, panics naming `what` with the last `Err` it returned (what was seen).
pub async fn until<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = Duration::from_millis(10);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if Instant::now() > deadline => {
                panic!("timed out after {secs} s waiting for {what}; last seen: {seen}")
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }
}

/// Calls `check` until it returns true; after `secs` seconds, panics naming `what`.
pub async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until(what, secs, || {
        let seen = check();
        async move {
            if seen.await {
                Ok(())
            } else {
                Err("not yet".to_string())
            }
        }
    })
    .await
}
