//! Serving the application: `run(listener, state, options, shutdown)` takes its listener
//! and its shutdown future as arguments, so tests can bind `127.0.0.1:0` and stop it at will.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::app::watch::WatchMode;
use crate::app::App;
use crate::http;
use crate::state::AppState;

/// Choices of this process that app.yaml does not hold: several replicas can share one
/// config folder (docs/deployment.md).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Plugin folders left off here even when app.yaml enables them: plugins with timers
    /// or scrape listeners (the simulator) should run on one replica only.
    pub without_plugins: BTreeSet<String>,
    /// How edits of app.yaml and plugin files are noticed.
    pub watch: WatchMode,
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish before returning.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Temporary files of writes a crash interrupted (never the files themselves, which
    // atomic writes keep whole): next to app.yaml and in the plugins' config folders.
    let app_dir = state
        .config_path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let dir = if app_dir.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            app_dir
        };
        crate::fsutil::remove_stale_temporaries(&dir, false)
            + crate::fsutil::remove_stale_temporaries(&dir.join("plugins"), true)
    });
    let app = App::new(state.clone(), options.without_plugins);
    // Plugins load in the background: core routes answer at once, and requests that may
    // need a plugin wait for the first load (`PluginManager::ready`).
    let loader = app.clone();
    tokio::spawn(async move { loader.plugins.reconcile(&loader.state, false).await });
    // Keep the watcher alive for as long as we serve.
    let _watcher = match crate::app::watch::start(app.clone(), options.watch) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "file watching unavailable; edits need POST /api/system/restart");
            None
        }
    };
    let heartbeat = tokio::spawn(heartbeat(state.clone()));
    // The health engine's loop: recomputes the states from the current snapshot's inputs.
    let health = {
        let source = state.clone();
        tokio::spawn(state.health().clone().run(
            move || source.snapshot().health.clone(),
            state.prometheus().clone(),
        ))
    };
    let service = http::app(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    heartbeat.abort();
    health.abort();
    app.plugins.shutdown_all().await;
    served
}

/// Pings Prometheus every `telemetry.prometheus_heartbeat_seconds` (at least 10 s; the
/// interval follows config changes), logging when it stops or starts answering.
async fn heartbeat(state: AppState) {
    let mut healthy = None;
    loop {
        let secs = state
            .snapshot()
            .config
            .telemetry
            .prometheus_heartbeat_seconds
            .max(10);
        tokio::time::sleep(std::time::Duration::from_secs(secs as u64)).await;
        let ok = match state.prometheus().ping().await {
            Ok(()) => true,
            Err(e) => {
                if healthy != Some(false) {
                    tracing::warn!(error = %e, url = %state.prometheus().base_url(), "Prometheus heartbeat failed");
                }
                false
            }
        };
        if ok && healthy == Some(false) {
            tracing::info!(url = %state.prometheus().base_url(), "Prometheus answers again");
        }
        healthy = Some(ok);
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives while the server is still
/// starting is not lost (and does not kill the process the default way).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
                        _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
                    }
                }
                _ => {
                    tracing::warn!("cannot listen for signals; stop the server with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received, shutting down");
        }
    }
}
