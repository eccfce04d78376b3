//! Serving the application: `run(listener, state, shutdown)` takes its listener and its
//! shutdown future as arguments, so tests can bind `127.0.0.1:0` and stop it at will.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::http;
use crate::state::AppState;

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish before returning.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.plugins().reconcile(&state).await;
    // Keep the watcher alive for as long as we serve.
    let _watcher = match crate::plugin::watch::start(state.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "file watching unavailable; edits need POST /api/system/restart");
            None
        }
    };
    let app = http::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    state.plugins().shutdown_all().await;
    served
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
