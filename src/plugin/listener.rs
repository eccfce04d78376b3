//! The scrape listeners plugins ask for (`rackscope.metrics.serve(addr)`, D4): one per
//! plugin folder, opened when an instance that asks for it is published, kept across
//! reloads while the address stays the same, and closed when the plugin stops asking.
//!
//! A listener serves whatever registry the folder's *current* instance has (the
//! [`metrics::CurrentRegistry`] the manager hands in), so a reload never closes the port
//! Prometheus scrapes. An address that is taken is retried every [`LISTENER_RETRY`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::metrics;

/// How often a scrape listener whose address is taken tries again.
const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// Scrape listeners by plugin folder. A std mutex: held only to look up or change the map,
/// never across an await.
#[derive(Default)]
pub struct Listeners {
    by_folder: parking_lot::Mutex<HashMap<String, Listener>>,
}

/// One listener: the address it asked for, whether it is bound yet, and the task that
/// binds it (retrying while the address is taken) and then serves it.
struct Listener {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Listeners {
    /// Makes the listener of `folder` match what its instance asks for: none (`want` is
    /// None: any open one is closed), or one on that address (an open one on the same
    /// address is kept; otherwise a new one serves the registry `current` gives).
    pub fn ensure(
        &self,
        folder: &str,
        plugin_id: &str,
        want: Option<SocketAddr>,
        current: impl FnOnce() -> metrics::CurrentRegistry,
    ) {
        let mut map = self.by_folder.lock();
        match (want, map.get(folder)) {
            (Some(addr), Some(cur)) if cur.addr == addr => {}
            (Some(addr), _) => {
                if let Some(old) = map.remove(folder) {
                    old.task.abort();
                }
                let open = Arc::new(AtomicBool::new(false));
                let task = tokio::spawn(bind_and_serve(
                    plugin_id.to_string(),
                    addr,
                    open.clone(),
                    current(),
                ));
                map.insert(folder.to_string(), Listener { addr, open, task });
            }
            (None, _) => {
                if let Some(old) = map.remove(folder) {
                    old.task.abort();
                }
            }
        }
    }

    /// Closes the listener of `folder`, if any.
    pub fn stop(&self, folder: &str) {
        if let Some(l) = self.by_folder.lock().remove(folder) {
            l.task.abort();
        }
    }

    /// Closes every listener (server shutdown).
    pub fn stop_all(&self) {
        for (_, l) in self.by_folder.lock().drain() {
            l.task.abort();
        }
    }

    /// The address of the listener of `folder`, once it is bound.
    pub fn open_addr(&self, folder: &str) -> Option<SocketAddr> {
        self.by_folder
            .lock()
            .get(folder)
            .filter(|l| l.open.load(Ordering::SeqCst))
            .map(|l| l.addr)
    }
}

/// Binds a plugin's scrape listener and serves it. An address that is taken (another
/// process still holds it, say, during a restart) is logged once and tried again every
/// [`LISTENER_RETRY`], until it is free or the plugin stops asking for it.
async fn bind_and_serve(
    plugin: String,
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    current: metrics::CurrentRegistry,
) {
    let mut attempts = 0u32;
    let listener = loop {
        attempts += 1;
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                if attempts == 1 {
                    tracing::error!(%plugin, %addr, error = %e, "cannot open metrics listener; trying again every {} s", LISTENER_RETRY.as_secs());
                }
                tokio::time::sleep(LISTENER_RETRY).await;
            }
        }
    };
    open.store(true, Ordering::SeqCst);
    tracing::info!(%plugin, %addr, attempts, "metrics listener open");
    metrics::serve(listener, current).await;
}
