//! Work the daemon does on its own: a scheduler pass every
//! `keys.scheduler_interval_seconds` (rotations, deletion windows,
//! expiries), on the blocking pool, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::kms::scheduler;
use crate::service::Service;

/// Runs scheduler passes until `stop` fires.
pub async fn run(service: Arc<Service>, mut stop: broadcast::Receiver<()>) {
    let period = Duration::from_secs(service.config.keys.scheduler_interval_seconds);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.recv() => return,
        }
        let worker = service.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || scheduler::run_due(&worker)).await {
            tracing::error!(%error, "scheduler pass panicked");
        }
    }
}
