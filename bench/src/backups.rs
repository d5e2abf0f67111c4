//! Instance backups (`docs/backups.md`), p11kms only: a daemon on the test
//! clock with a software instance of 10,000 AES-256 keys and 1,000
//! secrets (`--backup-keys N` for another scale, with N / 10 secrets),
//! made through several admin connections at once (set-up, not measured),
//! and a retained software backup of it. Measured, through the admin API
//! as the CLI sends it (one connection, no process start-up):
//!
//! 1. the full of `backup enable` (taken before it returns), cold: every
//!    key version wrapped inside the HSM under the backup root key, every
//!    object written; the backup is reset between runs, which deletes the
//!    objects no other backup names and forgets their wraps;
//! 2. `clock advance 5m` (the scheduler's pass and the backups' points,
//!    run before the command returns) after 10 keys were tagged, against
//!    the same advance with nothing changed, in turns;
//! 3. `backup restore-key` of a key destroyed since (7-day window, then
//!    8 days on the clock);
//! 4. 30 simulated days, 1 % of the keys tagged each day, then `clock
//!    advance 1d` (the day's fulls): the backup's `StoredBytes` against
//!    the same after its first full, and the size of `<state>/backups/`
//!    against the same once both backups held every key (after the system
//!    backup's first incremental of them).
//!
//! The daemon's configuration differs from the default only in what the
//! set-up needs (the test clock, quotas above the keys and secrets) and
//! in two pieces of background work that are not backups and would land
//! at random in the timed calls: no daily mirror images, and the clusters'
//! full comparison once a day instead of every 5 minutes.
//!
//! The instance also has its system backup (the daemon makes one for
//! every instance, at the first pass after it exists): it is made while
//! the instance is still empty, and from then on takes its own points in
//! the same passes. So every timed pass does the points of both, and
//! `<state>/backups/` holds both (objects are shared: stored once).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use p11kms_proto::admin::op::{
    AdvanceClock, CreateBackup, CreateInstance, CreateKey, CreateSecret, DescribeBackup, EnableBackup, GetClock,
    ResetBackup, RestoreBackupKey, ScheduleKeyDeletion, SetClock, TagResource,
};
use p11kms_proto::admin::{
    AdvanceClockRequest, BackupInfo, BackupRef, BackupType, CreateBackupRequest, CreateInstanceRequest,
    CreateKeyRequest, CreateSecretRequest, EnableBackupRequest, InstanceKind, KeySpec, Origin, RestoreKeyRequest,
    ScheduleKeyDeletionRequest, SetClockRequest, Tag, TagResourceRequest, TaggedResource,
};
use p11kms_proto::{SecretString, Timestamp};

use crate::Result;
use crate::admin::Admin;
use crate::setup::Daemon;

/// Keys by default (the 10,000); `--backup-keys N` for another
/// scale. Secrets are a tenth of the keys.
pub const KEYS: usize = 10_000;
/// The flag that sets the number of keys.
pub const KEYS_FLAG: &str = "--backup-keys";
/// Cold fulls at most (each is the slowest figure): the median of
/// `min(--runs, FULL_RUNS)`.
const FULL_RUNS: usize = 3;
/// Admin connections making the keys and secrets at set-up.
const SETUP_CONNECTIONS: usize = 4;
/// Keys tagged before the timed incremental.
const CHANGES: usize = 10;
/// Simulated days of the storage figure.
const DAYS: usize = 30;
/// The instance.
const INSTANCE: &str = "bench-soft";

/// The targets.
const FULL_TARGET_S: f64 = 30.0;
const INCREMENTAL_TARGET_MS: f64 = 200.0;
const STORAGE_TARGET: f64 = 2.0;

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// A directory's size: its files' lengths (`du --apparent-size`) and the
/// blocks they take (`du`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Size {
    /// Sum of the files' lengths.
    pub apparent: u64,
    /// Sum of the blocks allocated to them.
    pub allocated: u64,
    /// Files.
    pub files: u64,
}

/// Everything measured.
#[derive(Debug, Clone, Default)]
pub struct BackupFigures {
    /// Keys in the instance.
    pub keys: usize,
    /// Secrets in it.
    pub secrets: usize,
    /// Seconds to make the keys and the secrets (set-up).
    pub setup_s: [f64; 2],
    /// Each cold full (`backup enable`), ms.
    pub full_ms: Vec<f64>,
    /// Each `clock advance 5m` after [`CHANGES`] tags, ms.
    pub changed_pass_ms: Vec<f64>,
    /// Each `clock advance 5m` with nothing changed, ms.
    pub idle_pass_ms: Vec<f64>,
    /// Passes after tags that took no incremental of the backup (should be 0).
    pub missed_incrementals: usize,
    /// Each day's `clock advance 1d` (the day's fulls), ms.
    pub daily_pass_ms: Vec<f64>,
    /// Each `backup restore-key`, ms.
    pub restore_ms: Vec<f64>,
    /// The backup's `StoredBytes` after its first full, and after the days.
    pub stored_bytes: [u64; 2],
    /// Its points after the days.
    pub points: u64,
    /// `<state>/backups/` after the first full, and after the days.
    pub size: [Size; 2],
}

/// The `--backup-keys N` of `args`, or [`KEYS`].
pub fn keys_from_args(args: &[String]) -> usize {
    args.iter().position(|a| a == KEYS_FLAG).and_then(|p| args.get(p + 1)).and_then(|n| n.parse().ok()).unwrap_or(KEYS)
}

/// Sets up and measures, `runs` runs per figure ([`FULL_RUNS`] at most for
/// the full), with `keys` keys and `keys / 10` secrets.
pub fn measure(bin: &Path, dir: &Path, runs: usize, keys: usize) -> Result<BackupFigures> {
    let secrets = (keys / 10).max(1);
    let config = format!(
        "clock = \"manual\"\n[images]\ndaily = false\n[hsm]\nresync_interval_seconds = 86400\n[instances]\n\
         key_quota = {}\nsecret_quota = {}\n",
        (keys * 10).max(100_000),
        (secrets * 2).max(2_000)
    );
    let daemon = Daemon::start_with_config(bin, &dir.join("backups"), Some(&config))?;
    let socket = daemon.admin_socket();
    let mut admin = Admin::connect(&socket)?;
    let mut figures = BackupFigures { keys, secrets, ..Default::default() };

    // 01:00 UTC of the next day: hours of 5-minute steps before a day's
    // full would fall inside a timed pass.
    let now = admin.op::<GetClock>(&())?.now.unix();
    let morning = Timestamp::from_unix((now.div_euclid(DAY) + 1) * DAY + 3600);
    admin.op::<SetClock>(&SetClockRequest { time: morning })?;
    admin.op::<CreateInstance>(&CreateInstanceRequest {
        name: INSTANCE.to_owned(),
        kind: InstanceKind::Software,
        cluster: "hsm1".to_owned(),
    })?;
    // A pass: the instance's system backup, while it is empty.
    advance(&mut admin, 1)?;

    let start = Instant::now();
    let key_ids = in_parallel(&socket, 0..keys, |admin, i| {
        let key = admin.op::<CreateKey>(&CreateKeyRequest {
            instance: INSTANCE.to_owned(),
            key_spec: KeySpec::Aes256,
            key_usage: None,
            description: String::new(),
            alias: None,
            origin: Origin::AliyunKms,
            tags: vec![Tag { tag_key: "n".into(), tag_value: i.to_string() }],
            enable_automatic_rotation: false,
            rotation_interval: None,
            deletion_protection: false,
        })?;
        Ok(key.key_metadata.key_id)
    })?;
    figures.setup_s[0] = start.elapsed().as_secs_f64();
    let start = Instant::now();
    // The first alone: it makes the instance's service key for secrets,
    // which the others then find.
    let make_secret = |admin: &mut Admin, i: usize| -> Result<String> {
        let name = format!("bench-backup-secret-{i:05}");
        let value = SecretString::new(format!("{name}: {}", "v".repeat(200)));
        admin.op::<CreateSecret>(&CreateSecretRequest::generic_text(&name, INSTANCE, value))?;
        Ok(name)
    };
    make_secret(&mut admin, 0)?;
    in_parallel(&socket, 1..secrets, make_secret)?;
    figures.setup_s[1] = start.elapsed().as_secs_f64();
    eprintln!(
        "backups: set-up: {keys} AES-256 keys in {:.0} s, {secrets} secrets in {:.0} s ({SETUP_CONNECTIONS} admin \
         connections)",
        figures.setup_s[0], figures.setup_s[1]
    );

    // 1. Cold fulls.
    let backup = admin
        .op::<CreateBackup>(&CreateBackupRequest {
            backup_type: BackupType::Retained,
            instance_kind: InstanceKind::Software,
            alias: Some("bench".to_owned()),
            viewable_days: Some(30),
            duration_days: Some(365),
        })?
        .backup_id;
    let enable = EnableBackupRequest { backup_id: backup.clone(), instance: INSTANCE.to_owned(), alias: None };
    let reference = BackupRef { backup_id: backup.clone() };
    for run in 0..runs.clamp(1, FULL_RUNS) {
        if run > 0 {
            admin.op::<ResetBackup>(&reference)?;
        }
        let start = Instant::now();
        let info = admin.op::<EnableBackup>(&enable)?;
        figures.full_ms.push(ms(start.elapsed()));
        eprintln!(
            "backups: full {}: {:.1} s, {} points, {} bytes",
            run + 1,
            start.elapsed().as_secs_f64(),
            info.point_count,
            info.stored_bytes
        );
    }
    figures.stored_bytes[0] = describe(&mut admin, &backup)?.stored_bytes;

    // 2. Incrementals. The first pass 5 minutes on makes the system
    // backup's incremental of everything made since it was enabled: not
    // measured. After it, both backups hold every key once: the size the
    // 30 days are compared with.
    let start = Instant::now();
    advance(&mut admin, 5 * MINUTE)?;
    eprintln!("backups: first pass (the system backup's incremental of the set-up): {:.1} s", secs(start));
    figures.size[0] = size(&daemon.state.join("backups"))?;
    let mut next_key = 0;
    for _ in 0..runs {
        let start = Instant::now();
        advance(&mut admin, 5 * MINUTE)?;
        figures.idle_pass_ms.push(ms(start.elapsed()));
        for _ in 0..CHANGES {
            tag(&mut admin, &key_ids[next_key % key_ids.len()], "changed", "incremental")?;
            next_key += 1;
        }
        let before = describe(&mut admin, &backup)?.point_count;
        let start = Instant::now();
        advance(&mut admin, 5 * MINUTE)?;
        figures.changed_pass_ms.push(ms(start.elapsed()));
        if describe(&mut admin, &backup)?.point_count != before + 1 {
            figures.missed_incrementals += 1;
        }
    }
    eprintln!(
        "backups: pass 5 min on, {CHANGES} keys tagged: median {:.1} ms; nothing changed: {:.1} ms",
        median(&figures.changed_pass_ms),
        median(&figures.idle_pass_ms)
    );

    // 4. Thirty days, 1 % of the keys tagged each day.
    let per_day = (keys / 100).max(1);
    for day in 1..=DAYS {
        for _ in 0..per_day {
            tag(&mut admin, &key_ids[next_key % key_ids.len()], "day", &day.to_string())?;
            next_key += 1;
        }
        let start = Instant::now();
        advance(&mut admin, DAY)?;
        figures.daily_pass_ms.push(ms(start.elapsed()));
        eprintln!("backups: day {day}: {per_day} keys tagged, the day's pass {:.1} s", secs(start));
    }
    let info = describe(&mut admin, &backup)?;
    figures.stored_bytes[1] = info.stored_bytes;
    figures.points = info.point_count;
    figures.size[1] = size(&daemon.state.join("backups"))?;

    // 3. Restores of keys destroyed since.
    let today = admin.op::<GetClock>(&())?.now.to_rfc3339()[..10].to_owned();
    let doomed: Vec<String> = key_ids.iter().rev().take(runs).cloned().collect();
    for key in &doomed {
        admin.op::<ScheduleKeyDeletion>(&ScheduleKeyDeletionRequest { key: key.clone(), pending_window_in_days: 7 })?;
    }
    let start = Instant::now();
    advance(&mut admin, 8 * DAY)?;
    eprintln!("backups: 8 days on ({} keys destroyed): {:.1} s", doomed.len(), secs(start));
    for key in &doomed {
        let start = Instant::now();
        let restored = admin.op::<RestoreBackupKey>(&RestoreKeyRequest {
            backup_id: backup.clone(),
            date: Some(today.clone()),
            at: None,
            key_id: key.clone(),
            to_instance: INSTANCE.to_owned(),
        })?;
        figures.restore_ms.push(ms(start.elapsed()));
        if restored.key_version_ids.is_empty() {
            return Err(format!("key {key} restored with no version").into());
        }
    }
    drop(admin);
    drop(daemon);
    Ok(figures)
}

/// `clock advance`: the pass runs before it returns.
fn advance(admin: &mut Admin, seconds: i64) -> Result<()> {
    admin.op::<AdvanceClock>(&AdvanceClockRequest { seconds }).map(drop)
}

fn describe(admin: &mut Admin, backup: &str) -> Result<BackupInfo> {
    admin.op::<DescribeBackup>(&BackupRef { backup_id: backup.to_owned() })
}

fn tag(admin: &mut Admin, key: &str, name: &str, value: &str) -> Result<()> {
    admin
        .op::<TagResource>(&TagResourceRequest {
            resource: TaggedResource::Key(key.to_owned()),
            tags: vec![Tag { tag_key: name.to_owned(), tag_value: value.to_owned() }],
        })
        .map(drop)
}

/// `make(admin, i)` for each i of `range` over [`SETUP_CONNECTIONS`]
/// connections; the answers in the order of i.
fn in_parallel<F>(socket: &Path, range: std::ops::Range<usize>, make: F) -> Result<Vec<String>>
where
    F: Fn(&mut Admin, usize) -> Result<String> + Sync,
{
    let (make, range) = (&make, &range);
    let parts: Vec<std::result::Result<Vec<(usize, String)>, String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..SETUP_CONNECTIONS)
            .map(|t| {
                scope.spawn(move || {
                    let mut admin = Admin::connect(socket).map_err(|e| e.to_string())?;
                    range
                        .clone()
                        .skip(t)
                        .step_by(SETUP_CONNECTIONS)
                        .map(|i| make(&mut admin, i).map(|answer| (i, answer)).map_err(|e| e.to_string()))
                        .collect()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or_else(|_| Err("a set-up thread panicked".into()))).collect()
    });
    let mut all = Vec::with_capacity(range.len());
    for part in parts {
        all.extend(part?);
    }
    all.sort();
    Ok(all.into_iter().map(|(_, answer)| answer).collect())
}

/// What `du` says of `dir`, apparent and allocated.
fn size(dir: &Path) -> Result<Size> {
    use std::os::unix::fs::MetadataExt;
    let mut total = Size::default();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total.apparent += meta.len();
                total.allocated += meta.blocks() * 512;
                total.files += 1;
            }
        }
    }
    Ok(total)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn met(ratio: f64) -> &'static str {
    if ratio <= 1.0 { "met" } else { "missed" }
}

impl BackupFigures {
    /// The incrementals' own cost: the pass after the tags less the pass
    /// with nothing to do.
    fn incremental_ms(&self) -> f64 {
        median(&self.changed_pass_ms) - median(&self.idle_pass_ms)
    }

    /// The Markdown table.
    pub fn print(&self) {
        let (keys, secrets) = (self.keys, self.secrets);
        println!(
            "\nInstance backups (p11kms only; a software instance of {keys} AES-256 keys and {secrets} secrets on a \
             cluster of a primary and two mirrors, a retained software backup, the daemon on the test clock; set-up: \
             keys {:.0} s, secrets {:.0} s over {SETUP_CONNECTIONS} admin connections). Each timed pass also takes \
             the points of the instance's system backup:\n",
            self.setup_s[0], self.setup_s[1]
        );
        println!("| measure | median | target | ratio to target |");
        println!("|---|---|---|---|");
        let full_s = median(&self.full_ms) / 1e3;
        let full_ratio = full_s / FULL_TARGET_S;
        println!(
            "| full backup (`backup enable`), cold: every version wrapped in the HSM, every object written ({} runs, \
             reset between) | {full_s:.1} s | ≤ {FULL_TARGET_S:.0} s | {full_ratio:.2} ({}) |",
            self.full_ms.len(),
            met(full_ratio)
        );
        let changed = median(&self.changed_pass_ms);
        let incremental = self.incremental_ms();
        println!(
            "| `clock advance 5m` after {CHANGES} keys tagged: the pass with both incrementals ({} runs) | {changed:.1} \
             ms | ≤ {INCREMENTAL_TARGET_MS:.0} ms | {:.2} ({}) |",
            self.changed_pass_ms.len(),
            changed / INCREMENTAL_TARGET_MS,
            met(changed / INCREMENTAL_TARGET_MS)
        );
        println!(
            "| the incrementals alone: that pass less the same pass with nothing changed ({:.1} ms) | {incremental:.1} \
             ms | ≤ {INCREMENTAL_TARGET_MS:.0} ms | {:.2} ({}) |",
            median(&self.idle_pass_ms),
            incremental / INCREMENTAL_TARGET_MS,
            met(incremental / INCREMENTAL_TARGET_MS)
        );
        println!(
            "| restore one destroyed key (`backup restore-key --date`; {} keys) | {:.1} ms | – | – |",
            self.restore_ms.len(),
            median(&self.restore_ms)
        );
        let [first, after] = self.size;
        for (what, now, then) in
            [("`du`", after.allocated, first.allocated), ("`du --apparent-size`", after.apparent, first.apparent)]
        {
            let times = ratio(now, then);
            println!(
                "| `<state>/backups/` (both backups, objects shared) after {DAYS} days with 1 % of the keys tagged \
                 daily, against when both first held every key, {what} | {:.1} MiB against {:.1} MiB | ≤ 2× | {:.2} \
                 ({}; {times:.2}×) |",
                mib(now),
                mib(then),
                times / STORAGE_TARGET,
                met(times / STORAGE_TARGET),
            );
        }
        let stored_ratio = ratio(self.stored_bytes[1], self.stored_bytes[0]);
        println!(
            "| the retained backup's `StoredBytes` then ({} points), against after its first full | {:.1} MiB against {:.1} \
             MiB | ≤ 2× | {:.2} ({}; {:.2}× the first full) |",
            self.points,
            mib(self.stored_bytes[1]),
            mib(self.stored_bytes[0]),
            stored_ratio / STORAGE_TARGET,
            met(stored_ratio / STORAGE_TARGET),
            stored_ratio
        );
        println!(
            "| `clock advance 1d` with the day's fulls (both backups, warm: versions wrapped before), {DAYS} days | \
             {:.2} s | – | – |",
            median(&self.daily_pass_ms) / 1e3
        );
        if self.missed_incrementals > 0 {
            println!(
                "\n{} of {} passes after the tags took no incremental of the backup.",
                self.missed_incrementals,
                self.changed_pass_ms.len()
            );
        }
    }

    /// The figures for `target/bench.json`.
    pub fn to_json(&self) -> Value {
        let size = |s: &Size| json!({ "apparent_bytes": s.apparent, "allocated_bytes": s.allocated, "files": s.files });
        json!({
            "keys": self.keys,
            "secrets": self.secrets,
            "setup_s": { "keys": self.setup_s[0], "secrets": self.setup_s[1] },
            "full_cold_ms": { "median": median(&self.full_ms), "runs": self.full_ms, "target": FULL_TARGET_S * 1e3 },
            "pass_5m_after_10_tags_ms": { "median": median(&self.changed_pass_ms), "runs": self.changed_pass_ms },
            "pass_5m_nothing_changed_ms": { "median": median(&self.idle_pass_ms), "runs": self.idle_pass_ms },
            "incremental_ms": { "median_difference": self.incremental_ms(), "target": INCREMENTAL_TARGET_MS },
            "missed_incrementals": self.missed_incrementals,
            "restore_key_ms": { "median": median(&self.restore_ms), "runs": self.restore_ms },
            "daily_pass_with_fulls_ms": { "median": median(&self.daily_pass_ms), "days": self.daily_pass_ms },
            "storage_after_30_days": {
                "stored_bytes": { "first_full": self.stored_bytes[0], "after": self.stored_bytes[1] },
                "points": self.points,
                "backups_dir": { "first_full": size(&self.size[0]), "after": size(&self.size[1]) },
                "ratio_du": ratio(self.size[1].allocated, self.size[0].allocated),
                "ratio_du_apparent": ratio(self.size[1].apparent, self.size[0].apparent),
                "ratio_stored_bytes": ratio(self.stored_bytes[1], self.stored_bytes[0]),
                "target_ratio": STORAGE_TARGET,
            },
        })
    }
}
