//! Crash consistency: the daemon is killed with SIGKILL at random moments
//! while clients create keys, rotate them, encrypt and create apps, twenty
//! times over; after every restart each write the daemon acknowledged is
//! there and usable (keys described, versions listed, blobs decrypting to
//! their plaintext, apps described), and `cluster verify` finds every
//! member holding exactly what the store says (what a crash left of an
//! unacknowledged creation is destroyed at the start).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use p11kms_tests::Daemon;
use serde_json::Value;

/// Rounds of work, crash and restart.
const ROUNDS: usize = 20;

/// What the daemon acknowledged (its CLI exited 0 with an answer).
#[derive(Default)]
struct Acknowledged {
    keys: Vec<String>,
    /// The symmetric ones among them (they rotate and encrypt).
    aes_keys: Vec<String>,
    versions: Vec<(String, String)>,
    blobs: Vec<(String, String)>,
    apps: Vec<String>,
}

/// A small generator of random numbers, seeded once (the seed is printed,
/// so that a failing run can be replayed).
struct Random(AtomicU64);

impl Random {
    fn next(&self, below: u64) -> u64 {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Ordering::Relaxed);
        x % below
    }
}

/// Runs the CLI; its JSON answer when it succeeded.
fn ok(daemon: &Daemon, args: &[&str]) -> Option<Value> {
    let out = daemon.cli(&[args, &["--json"]].concat());
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// One of the symmetric keys acknowledged so far, at random.
fn any_aes_key(acked: &Mutex<Acknowledged>, random: &Random) -> Option<String> {
    let acked = acked.lock().unwrap();
    let keys = &acked.aes_keys;
    (!keys.is_empty()).then(|| keys[random.next(keys.len() as u64) as usize].clone())
}

/// One worker: a kind of write, again and again until told to stop.
fn work(daemon: &Daemon, kind: usize, done: &AtomicBool, random: &Random, acked: &Mutex<Acknowledged>, tag: &str) {
    let mut n = 0;
    while !done.load(Ordering::Relaxed) {
        n += 1;
        match kind {
            0 => {
                let spec = if random.next(2) == 0 { "AES_256" } else { "EC_P256" };
                let answer = ok(daemon, &["key", "create", "--instance", "hsm1", "--key-spec", spec]);
                if let Some(id) = answer.as_ref().and_then(|a| a["KeyMetadata"]["KeyId"].as_str()) {
                    let mut acked = acked.lock().unwrap();
                    acked.keys.push(id.to_owned());
                    if spec == "AES_256" {
                        acked.aes_keys.push(id.to_owned());
                    }
                }
            }
            1 => {
                let Some(key) = any_aes_key(acked, random) else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                if let Some(version) = ok(daemon, &["key", "create-version", &key]) {
                    if let Some(v) = version["KeyVersionId"].as_str() {
                        acked.lock().unwrap().versions.push((key, v.to_owned()));
                    }
                }
            }
            2 => {
                let Some(key) = any_aes_key(acked, random) else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let plaintext = format!("{tag}-{n}");
                if let Some(blob) = ok(daemon, &["encrypt", "--key-id", &key, "--plaintext", &plaintext]) {
                    if let Some(blob) = blob["CiphertextBlob"].as_str() {
                        acked.lock().unwrap().blobs.push((key, format!("{blob} {plaintext}")));
                    }
                }
            }
            _ => {
                let name = format!("app-{tag}-{n}");
                if ok(daemon, &["app", "create", &name, "--instance", "hsm1"]).is_some() {
                    acked.lock().unwrap().apps.push(name);
                }
            }
        }
    }
}

/// How much of each list was acknowledged before a round.
#[derive(Clone, Copy, Default)]
struct Marks {
    keys: usize,
    versions: usize,
    blobs: usize,
    apps: usize,
}

impl Acknowledged {
    fn marks(&self) -> Marks {
        Marks { keys: self.keys.len(), versions: self.versions.len(), blobs: self.blobs.len(), apps: self.apps.len() }
    }
}

/// Every write acknowledged since `from` is there and usable, and the
/// members hold what the store says.
fn check(daemon: &Daemon, acked: &Acknowledged, from: Marks, round: usize) {
    for key in &acked.keys[from.keys..] {
        assert!(ok(daemon, &["key", "describe", key]).is_some(), "round {round}: key {key} is gone");
    }
    for (key, version) in &acked.versions[from.versions..] {
        let listed = ok(daemon, &["key", "list-versions", key]).expect("versions");
        let ids: Vec<&str> =
            listed["KeyVersions"].as_array().expect("list").iter().filter_map(|v| v["KeyVersionId"].as_str()).collect();
        assert!(ids.contains(&version.as_str()), "round {round}: version {version} of {key} is gone: {ids:?}");
    }
    for (key, blob_and_plaintext) in &acked.blobs[from.blobs..] {
        let (blob, plaintext) = blob_and_plaintext.split_once(' ').expect("blob and plaintext");
        let opened = ok(daemon, &["decrypt", "--ciphertext-blob", blob])
            .unwrap_or_else(|| panic!("round {round}: a blob of {key} no longer decrypts"));
        assert_eq!(opened["Plaintext"], p11kms_proto::bytes::to_base64(plaintext.as_bytes()), "round {round}");
    }
    for app in &acked.apps[from.apps..] {
        assert!(ok(daemon, &["app", "describe", app]).is_some(), "round {round}: app {app} is gone");
    }
    let verify = daemon.cli(&["cluster", "verify", "hsm1", "--json"]);
    assert!(
        verify.status.success(),
        "round {round}: cluster verify: {}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1;
    eprintln!("crash test seed: {seed}");
    let random = Arc::new(Random(AtomicU64::new(seed)));
    let mut daemon = Daemon::start();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    for round in 0..ROUNDS {
        let marks = acked.lock().unwrap().marks();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for kind in 0..4 {
                let (daemon, done, random, acked) = (&daemon, &done, &random, &acked);
                let tag = format!("{round}.{kind}");
                scope.spawn(move || work(daemon, kind, done, random, acked, &tag));
            }
            // Let the work begin, then crash the daemon in the middle of it.
            std::thread::sleep(Duration::from_millis(300 + random.next(900)));
            let pid = daemon.pid().expect("the daemon runs");
            // SAFETY: kill has no memory effects; the pid is the daemon's,
            // a child of this process not yet reaped, so it names no other.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            done.store(true, Ordering::Relaxed);
        });
        daemon.kill();
        daemon.restart();
        // What this round acknowledged, after its crash.
        check(&daemon, &acked.lock().unwrap(), marks, round);
    }
    // And everything, after all the crashes.
    let acked = acked.lock().unwrap();
    check(&daemon, &acked, Marks::default(), ROUNDS);
    eprintln!(
        "after {ROUNDS} crashes: {} keys, {} versions, {} blobs, {} apps acknowledged and found",
        acked.keys.len(),
        acked.versions.len(),
        acked.blobs.len(),
        acked.apps.len()
    );
    assert!(
        acked.keys.len() >= ROUNDS && !acked.versions.is_empty() && !acked.blobs.is_empty() && !acked.apps.is_empty(),
        "every kind of work ran"
    );
}
