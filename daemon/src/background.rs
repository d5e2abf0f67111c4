//! Work the daemon does on its own: a pass every
//! `keys.scheduler_interval_seconds` (or sooner when woken: a migration
//! task due now) on the blocking pool, until shutdown:
//! the scheduler (rotations, deletion windows, expiries), then cluster
//! healing (members that answer again, versions members lack; a full
//! comparison every `hsm.resync_interval_seconds`), then the
//! daily mirror images. And every second, the audit trail's flush: the
//! key uses counted since, and every record made durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::backups;
use crate::clusters::{images, sync};
use crate::kms::scheduler;
use crate::service::Service;

/// Runs scheduler passes until `stop` fires.
pub async fn run(service: Arc<Service>, mut stop: broadcast::Receiver<()>) {
    let period = Duration::from_secs(service.config.keys.scheduler_interval_seconds);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let resync = Duration::from_secs(service.config.hsm.resync_interval_seconds);
    let mut last_full: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = service.scheduler_wake.notified() => {}
            _ = stop.recv() => return,
        }
        let full = last_full.is_none_or(|t| t.elapsed() >= resync);
        if full {
            last_full = Some(Instant::now());
        }
        let worker = service.clone();
        let pass = move || {
            scheduler::run_due(&worker.kms);
            backups::schedule::run_due(&worker.kms, &worker.backups);
            backups::transfer::sweep(&worker.kms, &worker.backups);
            backups::peer::tickets::sweep(&worker.kms, worker.backups.tickets());
            sync::heal_all(&worker, full);
            images::take_due(&worker);
        };
        if let Err(error) = tokio::task::spawn_blocking(pass).await {
            tracing::error!(%error, "scheduler pass panicked");
        }
    }
}

/// Flushes the audit trail every second until `stop` fires.
pub async fn flush_audit(service: Arc<Service>, mut stop: broadcast::Receiver<()>) {
    if !service.audit.is_enabled() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.recv() => return,
        }
        let worker = service.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || worker.audit.flush(&worker.kms.store)).await {
            tracing::error!(%error, "audit flush panicked");
        }
    }
}
