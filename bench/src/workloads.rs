//! The workloads and how one is measured on one target: a number of
//! threads, each with its own sessions, run the operation in a loop for a
//! fixed time; ops/s per run, the median over runs, and latency
//! percentiles over all operations.

use std::time::{Duration, Instant};

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::Session;
use serde_json::{Value, json};

use std::path::Path;

use cryptoki::context::Pkcs11;
use cryptoki::slot::Slot;

use crate::admin::Admin;
use crate::policies::Policy;
use crate::secrets::{self, RawGetAttribute};
use crate::setup::{Keys, Target};

/// One operation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `C_SignInit` + `C_Sign`, ECDSA P-256 over a 32-byte digest.
    EcdsaSign,
    /// The same, the app's policy 50 statements long (`crate::policies`).
    EcdsaSignPolicy50,
    /// `C_SignInit` + `C_Sign`, RSA-2048 PKCS#1 v1.5 with SHA-256.
    RsaSign,
    /// `C_EncryptInit` + `C_Encrypt`, AES-256-GCM of 64 bytes.
    AesGcm64,
    /// The same of 4 KiB.
    AesGcm4k,
    /// `C_EncryptInit`, sixteen 4 KiB `C_EncryptUpdate`s and
    /// `C_EncryptFinal`, AES-256-CBC: a 64 KiB stream in parts.
    AesCbcStream64k,
    /// `C_GenerateRandom` of 32 bytes.
    Random32,
    /// A whole find of the EC private key by label.
    FindByLabel,
    /// `GetSecretValue` of a 1 KiB secret over the admin socket.
    SecretAdmin,
    /// A whole find of a 1 KiB secret's data object by label, then one
    /// `C_GetAttributeValue(CKA_VALUE)`.
    SecretPkcs11,
}

impl Workload {
    /// In table order.
    pub fn all() -> [Self; 10] {
        [
            Self::EcdsaSign,
            Self::EcdsaSignPolicy50,
            Self::RsaSign,
            Self::AesGcm64,
            Self::AesGcm4k,
            Self::AesCbcStream64k,
            Self::Random32,
            Self::FindByLabel,
            Self::SecretAdmin,
            Self::SecretPkcs11,
        ]
    }

    /// True for what only p11kms has: SoftHSM holds no secrets and has
    /// no app policies.
    pub fn p11kms_only(self) -> bool {
        self.reference().is_some()
    }

    /// What a p11kms-only workload is set against, the two taking turns
    /// run by run: a secret read against AES-GCM 64 B, the signature under
    /// a 50-statement policy against the one under `--policy all`.
    pub fn reference(self) -> Option<Self> {
        match self {
            Self::SecretAdmin | Self::SecretPkcs11 => Some(Self::AesGcm64),
            Self::EcdsaSignPolicy50 => Some(Self::EcdsaSign),
            _ => None,
        }
    }

    /// The bench app's policy it is measured under.
    pub fn policy(self) -> Policy {
        if self == Self::EcdsaSignPolicy50 { Policy::Fifty } else { Policy::Full }
    }

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaSign => "ECDSA P-256 sign",
            Self::EcdsaSignPolicy50 => "ECDSA P-256 sign, 50-statement policy",
            Self::RsaSign => "RSA-2048 PKCS#1 sign",
            Self::AesGcm64 => "AES-256-GCM encrypt 64 B",
            Self::AesGcm4k => "AES-256-GCM encrypt 4 KiB",
            Self::AesCbcStream64k => "AES-256-CBC encrypt 64 KiB in 4 KiB updates",
            Self::Random32 => "GenerateRandom 32 B",
            Self::FindByLabel => "find by label",
            Self::SecretAdmin => "GetSecretValue 1 KiB, admin API",
            Self::SecretPkcs11 => "secret read 1 KiB, PKCS#11",
        }
    }

    /// What one thread's operations go through on `target`.
    fn open(self, target: Reach<'_>) -> crate::Result<Channel> {
        match (self, target.admin_socket) {
            (Self::SecretAdmin, Some(socket)) => Ok(Channel::Admin(Admin::connect(socket)?)),
            (Self::SecretAdmin, None) => Err("no admin socket".into()),
            _ => Ok(Channel::Session(target.ctx.open_ro_session(target.slot)?)),
        }
    }

    /// Runs it once.
    fn run(self, channel: &mut Channel, target: Reach<'_>, n: u64) -> crate::Result<()> {
        let session = match channel {
            Channel::Admin(admin) if self == Self::SecretAdmin => {
                return admin.get_secret_value(secrets::NAME).map(drop);
            }
            Channel::Admin(_) => return Err("an admin connection runs no PKCS#11".into()),
            Channel::Session(session) => session,
        };
        let keys = &target.keys;
        Ok(match self {
            Self::EcdsaSign | Self::EcdsaSignPolicy50 => {
                session.sign(&Mechanism::Ecdsa, keys.ec, &[0x42; 32]).map(drop)
            }
            Self::RsaSign => session.sign(&Mechanism::Sha256RsaPkcs, keys.rsa, b"benchmark message").map(drop),
            Self::AesGcm64 | Self::AesGcm4k => {
                let mut iv = [0u8; 12];
                iv[..8].copy_from_slice(&n.to_be_bytes());
                let params = GcmParams::new(&mut iv, b"", 128.into())?;
                let data = if self == Self::AesGcm64 { &[7u8; 64][..] } else { &[7u8; 4096][..] };
                session.encrypt(&Mechanism::AesGcm(params), keys.aes, data).map(drop)
            }
            Self::AesCbcStream64k => {
                let mut iv = [0u8; 16];
                iv[..8].copy_from_slice(&n.to_be_bytes());
                session.encrypt_init(&Mechanism::AesCbc(iv), keys.aes)?;
                for _ in 0..16 {
                    session.encrypt_update(&[7u8; 4096])?;
                }
                session.encrypt_final().map(drop)
            }
            Self::Random32 => session.generate_random_vec(32).map(drop),
            Self::FindByLabel => session
                .find_objects(&[Attribute::Label(b"bench-ec".to_vec()), Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .map(drop),
            Self::SecretPkcs11 => {
                let raw = target.raw_get_attribute.ok_or("no raw C_GetAttributeValue")?;
                return secrets::read(session, raw).map(drop);
            }
            Self::SecretAdmin => return Err("GetSecretValue needs an admin connection".into()),
        }?)
    }
}

/// What the threads of a run share of a [`Target`] (not its login
/// session, which no second thread may touch).
#[derive(Debug, Clone, Copy)]
struct Reach<'a> {
    ctx: &'a Pkcs11,
    slot: Slot,
    keys: Keys,
    admin_socket: Option<&'a Path>,
    raw_get_attribute: Option<RawGetAttribute>,
}

impl<'a> Reach<'a> {
    fn of(target: &'a Target) -> Self {
        Reach {
            ctx: &target.ctx,
            slot: target.slot,
            keys: target.keys,
            admin_socket: target.admin_socket.as_deref(),
            raw_get_attribute: target.raw_get_attribute,
        }
    }
}

/// What a thread's operations go through: a PKCS#11 session of the
/// target, or a connection to p11kms's admin socket.
#[derive(Debug)]
enum Channel {
    Session(Session),
    Admin(Admin),
}

/// Threads and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One thread, one session.
    One,
    /// Two threads, a session each.
    Two,
    /// Two threads, four sessions each, used in turn.
    EightSessions,
}

impl Shape {
    /// In table order.
    pub fn all() -> [Self; 3] {
        [Self::One, Self::Two, Self::EightSessions]
    }

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::One => "1 thread",
            Self::Two => "2 threads",
            Self::EightSessions => "8 sessions / 2 threads",
        }
    }

    fn threads_and_sessions(self) -> (usize, usize) {
        match self {
            Self::One => (1, 1),
            Self::Two => (2, 1),
            Self::EightSessions => (2, 4),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// Operations per second, median of the runs.
    pub ops_per_s: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
}

impl Figure {
    /// From latencies measured over `elapsed` by one thread.
    pub fn from_samples(samples: &[Duration], elapsed: Duration) -> Self {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let at = |q: f64| us.get(((us.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        Self { ops_per_s: samples.len() as f64 / elapsed.as_secs_f64().max(1e-9), p50_us: at(0.5), p99_us: at(0.99) }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({ "ops_per_s": self.ops_per_s, "p50_us": self.p50_us, "p99_us": self.p99_us })
    }
}

/// Measures `workload` in `shape` on every target, one run of each in
/// turn (direct, p11-kit, p11kms, direct, ...), so that a change in the
/// machine's load during the measurement touches every target alike and
/// the ratios stay fair. A target that cannot do the workload (its first
/// operation fails) gets `None`.
pub fn measure(
    targets: &[&Target],
    workload: Workload,
    shape: Shape,
    runs: usize,
    run_time: Duration,
) -> Vec<Option<Figure>> {
    let entries: Vec<(&Target, Workload)> = targets.iter().map(|target| (*target, workload)).collect();
    measure_in_turns(&entries, shape, runs, run_time)
}

/// Measures each (target, workload) entry in `shape`, one run of each in
/// turn: the targets of one workload, or one target's workload and the
/// workload it is compared with (a secret read and AES-GCM 64 B), so that
/// the machine's load lands on both alike. An entry that cannot run (its
/// first operation fails; SoftHSM and a secret workload) gets `None`.
pub fn measure_in_turns(
    entries: &[(&Target, Workload)],
    shape: Shape,
    runs: usize,
    run_time: Duration,
) -> Vec<Option<Figure>> {
    let able: Vec<bool> = entries
        .iter()
        .map(|(target, workload)| {
            let reach = Reach::of(target);
            (!workload.p11kms_only() || target.name == "p11kms")
                && under_its_policy(target, *workload)
                && match workload.open(reach).and_then(|mut probe| workload.run(&mut probe, reach, u64::MAX)) {
                    Ok(()) => true,
                    Err(error) => {
                        eprintln!("{}: {} not measured: {error}", target.name, workload.name());
                        false
                    }
                }
        })
        .collect();
    let mut rates = vec![Vec::new(); entries.len()];
    let mut latencies = vec![Vec::new(); entries.len()];
    for run in 0..runs {
        for (index, (target, workload)) in entries.iter().enumerate() {
            if able[index] && under_its_policy(target, *workload) {
                let (ops, samples) = one_run(target, *workload, shape, run, run_time);
                rates[index].push(ops as f64 / run_time.as_secs_f64());
                latencies[index].extend(samples);
            }
        }
    }
    (0..entries.len())
        .map(|index| {
            if !able[index] {
                return None;
            }
            let rates = &mut rates[index];
            rates.sort_by(f64::total_cmp);
            let latency = Figure::from_samples(&latencies[index], Duration::from_secs(1));
            Some(Figure { ops_per_s: rates.get(rates.len() / 2).copied().unwrap_or(0.0), ..latency })
        })
        .collect()
}

/// Gives p11kms's bench app the policy `workload` runs under (nothing to
/// do on SoftHSM's targets); false, said on stderr, when that fails.
fn under_its_policy(target: &Target, workload: Workload) -> bool {
    let Some(socket) = &target.admin_socket else {
        return true;
    };
    match target.policy.switch(socket, workload.policy()) {
        Ok(()) => true,
        Err(error) => {
            eprintln!("{}: the bench app's policy for {}: {error}", target.name, workload.name());
            false
        }
    }
}

/// One run on one target: its threads, each with its own sessions (they
/// are not shared between threads), do the operation in a loop for
/// `run_time`. Returns the operations done and their latencies.
fn one_run(
    target: &Target,
    workload: Workload,
    shape: Shape,
    run: usize,
    run_time: Duration,
) -> (usize, Vec<Duration>) {
    let (threads, sessions) = shape.threads_and_sessions();
    let target = Reach::of(target);
    let results: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut opened: Vec<Channel> = (0..sessions).filter_map(|_| workload.open(target).ok()).collect();
                    let mut samples = Vec::new();
                    if opened.is_empty() {
                        return samples;
                    }
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < run_time {
                        let count = opened.len();
                        let channel = &mut opened[n as usize % count];
                        let nonce = ((run as u64) << 40) | ((t as u64) << 32) | n;
                        let began = Instant::now();
                        if workload.run(channel, target, nonce).is_err() {
                            break;
                        }
                        samples.push(began.elapsed());
                        n += 1;
                    }
                    samples
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let samples: Vec<Duration> = results.into_iter().flatten().collect();
    (samples.len(), samples)
}
