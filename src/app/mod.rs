//! The running application: the state ([`AppState`]: config, topology, Prometheus) and
//! the plugins ([`PluginManager`]), and the operations that change both in order: the
//! state first, then the plugins brought in line with it.
//!
//! This is the layer above `state` and `plugin`, so that neither imports the other: the
//! state never reaches into plugins, and plugins read the state they are given. The HTTP
//! layer serves an [`App`]; the file watcher ([`watch`]) drives one.

pub mod watch;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::config::{plugin_file, AppConfig};
use crate::plugin::PluginManager;
use crate::state::{AppState, ApplyError, BuildError, Snapshot};

/// State and plugins together; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub state: AppState,
    pub plugins: PluginManager,
}

impl FromRef<App> for AppState {
    fn from_ref(app: &App) -> AppState {
        app.state.clone()
    }
}

impl FromRef<App> for PluginManager {
    fn from_ref(app: &App) -> PluginManager {
        app.plugins.clone()
    }
}

impl App {
    /// `state` with no plugin loaded yet (see [`PluginManager::reconcile`]); the plugin
    /// folders in `without_plugins` stay off on this process whatever app.yaml says.
    pub fn new(state: AppState, without_plugins: BTreeSet<String>) -> App {
        App {
            state,
            plugins: PluginManager::new(without_plugins),
        }
    }

    /// Applies a validated config (`PUT /api/config`): plugin settings sent inside
    /// `plugins.<folder>` go to each plugin's own config file, then app.yaml is written
    /// and the new state published, then plugins are brought in line. The caller holds
    /// the state's write lock.
    pub async fn apply_config(&self, mut cfg: AppConfig) -> Result<Arc<Snapshot>, ApplyError> {
        let settings: Vec<_> = plugin_file::split_plugin_settings(&mut cfg)
            .into_iter()
            .map(|(folder, s)| {
                let path = self.plugins.config_path_of(&self.state, &folder);
                (path, folder, s)
            })
            .collect();
        // Each running plugin first loads aside with its merged settings, as for
        // `POST /api/plugins/{id}/config`: a refusal writes nothing at all.
        for (path, folder, s) in &settings {
            let stored =
                plugin_file::read(path).map_err(|e| ApplyError::Write(std::io::Error::other(e)))?;
            let merged = plugin_file::merge(&stored.config, s);
            if let Err(reason) = self.plugins.trial(&self.state, folder, merged).await {
                return Err(ApplyError::PluginRefused {
                    folder: folder.clone(),
                    reason,
                });
            }
        }
        let snapshot = self.state.apply_and_write(cfg, settings).await?;
        self.plugins.reconcile(&self.state, false).await;
        Ok(snapshot)
    }

    /// Rebuilds the state from disk and brings plugins in line; with `rebuild_plugins`
    /// (`POST /api/system/restart`) every plugin is rebuilt too. On failure nothing
    /// changes.
    pub async fn reload_from_disk(&self, rebuild_plugins: bool) -> Result<u64, BuildError> {
        let generation = self.state.reload_from_disk().await?;
        self.plugins.reconcile(&self.state, rebuild_plugins).await;
        Ok(generation)
    }

    /// Applies an edit of the topology, templates, checks or metrics files on disk (the
    /// file watcher): the state is rebuilt from the running config and swapped in, then
    /// plugins are brought in line. On failure nothing changes.
    pub async fn reload_data(&self) -> Result<(), BuildError> {
        let generation = self.state.reload_data().await?;
        self.plugins.reconcile(&self.state, false).await;
        tracing::info!(generation, "topology, template or library edit applied");
        Ok(())
    }

    /// Applies an edit of app.yaml on disk, if its content changed (the file watcher).
    pub async fn reload_if_changed(&self) -> Result<(), BuildError> {
        if !self.state.app_yaml_changed() {
            return Ok(());
        }
        let generation = self.reload_from_disk(false).await?;
        tracing::info!(generation, "app.yaml edit applied");
        Ok(())
    }
}
