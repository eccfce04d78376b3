//! The `rackscope` command: a thin shim that parses the command line, sets up logging and
//! hands over to the library (`serve`, `check`, `hash-password`).

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use rackscope::state::AppState;

/// mimalloc instead of glibc's malloc: requests allocate on a tokio worker and free on a
/// plugin thread (and back), a pattern glibc serves slowly (arena locks, consolidation);
/// `scripts/bench-plugins.sh` showed malloc/free as the top cost of a trivial Lua route.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rackscope",
    version,
    about = "Datacenter and HPC cluster monitoring with Lua plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Path of app.yaml.
        #[arg(long, env = "RACKSCOPE_APP_CONFIG", default_value = "config/app.yaml")]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: SocketAddr,
        /// Leave this plugin folder off on this process even when app.yaml enables it
        /// (repeat, or a comma-separated list). With several replicas on one config folder,
        /// run plugins with timers or scrape listeners (the simulator) on one replica only.
        #[arg(
            long = "without-plugin",
            env = "RACKSCOPE_WITHOUT_PLUGINS",
            value_delimiter = ',',
            value_name = "FOLDER"
        )]
        without_plugins: Vec<String>,
        /// How edits are noticed: `native` (inotify), or `poll` / `poll:<seconds>` to
        /// compare file contents every interval (config folders shared over NFS).
        #[arg(long, env = "RACKSCOPE_WATCH", default_value = "native")]
        watch: rackscope::app::watch::WatchMode,
    },
    /// Load and validate app.yaml and everything it names, without serving.
    Check {
        /// Path of app.yaml.
        #[arg(long, env = "RACKSCOPE_APP_CONFIG", default_value = "config/app.yaml")]
        config: PathBuf,
    },
    /// Write and test plugins: `plugin new NAME`, `plugin test [FOLDER...]`.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Print a bcrypt hash for `auth.password_hash`. The password is read from standard
    /// input when it is not a terminal (one line), else prompted for twice without echo.
    HashPassword,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin folder that loads and passes its own test at once: init.lua
    /// (metadata, a config with defaults and validate_config, a route, a menu section),
    /// README.md, a test file and the editor setup (.luarc.json).
    New {
        /// The plugin's id and folder name (lower-case letters, digits, '.', '_', '-').
        name: String,
        /// Where to create the folder; default: `paths.plugins` of the config.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path of app.yaml: the plugins it enables may not have this id.
        #[arg(long, env = "RACKSCOPE_APP_CONFIG", default_value = "config/app.yaml")]
        config: PathBuf,
    },
    /// Run the tests of plugins (`tests/*_test.lua` in each folder) on the real plugin
    /// runtime, with a fake clock and a fake Prometheus: no server, no network.
    Test {
        /// Plugin folders (default: the current folder).
        folders: Vec<PathBuf>,
        /// Run only the tests whose name (describe and it names) or file contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Report in TAP (version 13) instead of text.
        #[arg(long)]
        tap: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve {
            config,
            listen,
            without_plugins,
            watch,
        } => serve(
            config,
            listen,
            rackscope::server::Options {
                without_plugins: without_plugins
                    .into_iter()
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect(),
                watch,
            },
        ),
        Command::Check { config } => rackscope::check::run(&config),
        Command::Plugin {
            command:
                PluginCommand::Test {
                    folders,
                    filter,
                    tap,
                },
        } => plugin_test(folders, filter.as_deref(), tap),
        Command::Plugin {
            command: PluginCommand::New { name, dir, config },
        } => rackscope::kit::scaffold::run(&name, dir.as_deref(), &config),
        Command::HashPassword => hash_password(),
    }
}

/// Level from `RACKSCOPE_LOG_LEVEL`, else `RUST_LOG`, else `info`. Logs go to stderr;
/// `RACKSCOPE_LOG_FORMAT=json` writes JSON lines. The same records (same filter) are kept
/// in memory for `GET /api/logs` ([`rackscope::logs::CaptureLayer`]).
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let filter = std::env::var("RACKSCOPE_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        .and_then(|l| EnvFilter::try_new(l).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let output =
        if std::env::var("RACKSCOPE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
            output.json().boxed()
        } else {
            output.boxed()
        };
    tracing_subscriber::registry()
        .with(output)
        .with(rackscope::logs::CaptureLayer)
        .with(filter)
        .init();
}

fn serve(config: PathBuf, listen: SocketAddr, options: rackscope::server::Options) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = rackscope::server::shutdown_signal();
        let state = match AppState::load(&config) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(config = %config.display(), "refusing to start: {e}");
                return ExitCode::from(2);
            }
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%listen, error = %e, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(%listen, config = %config.display(), "rackscope serving");
        match rackscope::server::run(listener, state, options, shutdown).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}

/// `rackscope plugin test`: exit status 1 when a test failed, a file did not run, or no
/// test ran; 2 when a folder is not a plugin.
fn plugin_test(folders: Vec<PathBuf>, filter: Option<&str>, tap: bool) -> ExitCode {
    use rackscope::kit::{report, runner};
    let folders = if folders.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        folders
    };
    let mut plugins = Vec::new();
    for f in &folders {
        match runner::find(f) {
            Ok(p) => plugins.push(p),
            Err(e) => {
                eprintln!("rackscope plugin test: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let out = std::io::stdout().lock();
    let totals = if tap {
        runner::run(&plugins, filter, &mut report::Tap::new(out))
    } else {
        runner::run(&plugins, filter, &mut report::Human::new(out))
    };
    if totals.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `rackscope hash-password`: reads a password, refuses empty and over-long ones, prints
/// its bcrypt hash on stdout (and nothing else there, so `$(rackscope hash-password)` works).
fn hash_password() -> ExitCode {
    let password = match read_new_password() {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("rackscope hash-password: {msg}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("rackscope hash-password: the password is empty");
        return ExitCode::FAILURE;
    }
    if password.len() > rackscope::auth::password::MAX_PASSWORD_BYTES {
        eprintln!(
            "rackscope hash-password: the password is {} bytes long; bcrypt reads at most {}",
            password.len(),
            rackscope::auth::password::MAX_PASSWORD_BYTES
        );
        return ExitCode::FAILURE;
    }
    match rackscope::auth::password::hash_blocking(&password) {
        Ok(hash) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{hash}").and_then(|_| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rackscope hash-password: {e}");
            ExitCode::FAILURE
        }
    }
}

/// From a pipe: the first line (without its line ending). From a terminal: two prompts on
/// stderr, no echo, and both entries must match.
fn read_new_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut input = String::new();
        // A password is short; do not read an endless pipe into memory.
        stdin
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let line = input.split('\n').next().unwrap_or_default();
        return Ok(line.strip_suffix('\r').unwrap_or(line).to_string());
    }
    let prompt = |text: &str| -> Result<String, String> {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
        rpassword::read_password().map_err(|e| format!("cannot read the password: {e}"))
    };
    let first = prompt("New password: ")?;
    let second = prompt("Repeat password: ")?;
    if first != second {
        return Err("the two entries differ".into());
    }
    Ok(first)
}
