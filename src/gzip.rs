//! Gzip of answers encoded ahead: the `/api/sites` tree once per state generation, a
//! plugin's large published answer once per publish ([`Lazy`]). The compression layer
//! would otherwise gzip the same megabytes again for every browser request.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

/// Gzip at the default level (what a browser would get from a compressing proxy); None
/// (logged) if the encoder fails, and the plain answer is served.
pub fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 8),
        flate2::Compression::default(),
    );
    match enc.write_all(data).and_then(|()| enc.finish()) {
        Ok(out) => Some(out),
        Err(e) => {
            tracing::error!(error = %e, "gzip failed");
            None
        }
    }
}

/// The gzip of one answer, made once, in the background, when a client first asks for it.
#[derive(Debug, Default)]
pub struct Lazy {
    done: OnceLock<Bytes>,
    started: AtomicBool,
}

impl Lazy {
    /// The gzip of `body` if it is made; else None, and it is being made (started by the
    /// first call, on the blocking pool: a 5 MB answer takes tens of milliseconds, and
    /// the callers meanwhile send the plain answer rather than wait or each gzip it).
    pub fn get_or_start(self: &Arc<Self>, body: &Bytes) -> Option<Bytes> {
        if let Some(gz) = self.done.get() {
            return Some(gz.clone());
        }
        if !self.started.swap(true, Ordering::AcqRel) {
            let (me, body) = (self.clone(), body.clone());
            tokio::task::spawn_blocking(move || {
                if let Some(gz) = gzip(&body) {
                    let _ = me.done.set(Bytes::from(gz));
                }
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn round_trip() {
        let data = br#"{"nodes":[1,2,3]}"#.repeat(1000);
        let gz = super::gzip(&data).unwrap();
        assert!(gz.len() < data.len() / 10);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[tokio::test]
    async fn made_once_in_the_background() {
        let body = bytes::Bytes::from(br#"{"a":1}"#.repeat(1000));
        let lazy = std::sync::Arc::new(super::Lazy::default());
        assert!(lazy.get_or_start(&body).is_none(), "not made yet: plain");
        let gz = loop {
            if let Some(gz) = lazy.get_or_start(&body) {
                break gz;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        };
        assert_eq!(super::gzip(&body).unwrap(), gz);
        assert_eq!(
            lazy.get_or_start(&body).unwrap().as_ptr(),
            gz.as_ptr(),
            "kept"
        );
    }
}
