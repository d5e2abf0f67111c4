//! `p11kmsd`: parse the command line, load the configuration, bring the
//! service up on its state directory (single-threaded: SoftHSM instances
//! are loaded here), then start the async runtime and serve until SIGTERM
//! or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use p11kmsd::config::{ClockMode, Config, DEFAULT_STATE_DIR};
use p11kmsd::paths::StatePaths;

/// The p11kms daemon.
#[derive(Debug, Parser)]
#[command(name = "p11kmsd", version, about)]
struct Args {
    /// State directory (store, sockets, managed SoftHSM tokens, secrets).
    #[arg(long, env = "P11KMS_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Configuration file (every key is documented in conf/p11kmsd.toml);
    /// without it the daemon runs on defaults.
    #[arg(long, env = "P11KMSD_CONFIG")]
    config: Option<PathBuf>,
    /// Use the manual test clock (same as `clock = "manual"`).
    #[arg(long)]
    test_clock: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("p11kmsd: {error}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if args.test_clock {
        config.clock = ClockMode::Manual;
    }
    // cryptoki logs an error for every mechanism of a token that it has no
    // Rust name for; the daemon only asks about mechanisms it offers.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&config.log.filter))
        .add_directive("cryptoki::mechanism=off".parse().unwrap_or_default());
    // Colours only on a terminal: a log file or journald gets plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr).init();

    let state_dir =
        args.state_dir.or_else(|| config.state_dir.clone()).unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let paths = match StatePaths::new(&state_dir) {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("p11kmsd: state directory {}: {error}", state_dir.display());
            return ExitCode::from(2);
        }
    };
    let (service, _lock) = match p11kmsd::startup::start(config, paths) {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(%error, "p11kmsd cannot start");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("p11kmsd").build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(p11kmsd::front::serve(service, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "p11kmsd stopped on an error");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
