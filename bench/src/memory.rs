//! Memory: the daemon's resident set with many keys (with mirrors and
//! without), SoftHSM's own growth with as many keys in a process of its own
//! (to split the daemon's figure between SoftHSM and p11kms), and what
//! loading the module adds to a client process.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use crate::Result;
use crate::setup::{self, Daemon};

/// The hidden flag that makes the benchmark binary run [`softhsm_alone_child`].
pub const SOFTHSM_ALONE_FLAG: &str = "--softhsm-alone";

/// Resident set size of a process, in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What [`daemon_with_keys`] measured.
#[derive(Debug)]
pub struct Memory {
    /// Daemon RSS before the keys, KiB.
    pub daemon_before_kib: u64,
    /// Daemon RSS after them, KiB.
    pub daemon_after_kib: u64,
    /// Seconds the keys took to make.
    pub seconds: f64,
    /// What loading, initializing and logging in through the module added
    /// to this process's RSS, KiB.
    pub module_kib: u64,
}

/// How much SoftHSM alone grows with `keys` AES-256 token keys, in KiB:
/// measured in a child process (this binary with [`SOFTHSM_ALONE_FLAG`]),
/// so that nothing else shares its heap.
pub fn softhsm_alone(keys: usize) -> Result<u64> {
    let output = Command::new(std::env::current_exe()?).arg(SOFTHSM_ALONE_FLAG).arg(keys.to_string()).output()?;
    if !output.status.success() {
        return Err(format!("SoftHSM memory run failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.trim().parse().map_err(|_| format!("SoftHSM memory run printed {text:?}"))?)
}

/// The child side of [`softhsm_alone`]: loads SoftHSM on a token of its
/// own, makes `keys` keys with the template the module's memory run uses,
/// and prints how much this process grew, in KiB.
pub fn softhsm_alone_child(keys: usize) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("p11kms-bench-softhsm-").tempdir()?;
    let conf = setup::softhsm_token(dir.path(), "alone")?;
    // SAFETY: nothing else runs in this process yet; SoftHSM reads it at
    // C_Initialize.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
    let ctx = Pkcs11::new(setup::SOFTHSM)?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = ctx.get_slots_with_token()?.into_iter().next().ok_or("no SoftHSM token")?;
    let session = ctx.open_rw_session(slot)?;
    session.login(UserType::User, Some(&AuthPin::from(setup::SOFTHSM_PIN.to_owned())))?;
    let before = rss_kib("self").unwrap_or(0);
    for _ in 0..keys {
        session.generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::Token(true), Attribute::ValueLen(32.into()), Attribute::Encrypt(true)],
        )?;
    }
    println!("{}", rss_kib("self").unwrap_or(0).saturating_sub(before));
    Ok(())
}

/// Resident set of a daemon (cluster of `mirrors + 1` tokens) after
/// `keys` AES-256 keys were made through the module in this process,
/// which must not have loaded the module yet; and what the module adds to
/// this process.
pub fn daemon_with_keys(bin: &Path, dir: &Path, keys: usize, mirrors: u32) -> Result<Memory> {
    std::fs::create_dir_all(dir)?;
    let daemon = Daemon::start(bin, &dir.join("memory-state"), Some(mirrors))?;
    let pid = daemon.pid().to_string();
    let pin = daemon.create_app(bin, "mem")?;
    // SAFETY: single-threaded here; the module reads it at C_Initialize.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.state.join("data.sock")) };
    let own_before = rss_kib("self").unwrap_or(0);
    let ctx = Pkcs11::new(bin.join("libp11kms.so"))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = ctx
        .get_slots_with_token()?
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == "hsm1"))
        .ok_or("no hsm1")?;
    let session = ctx.open_rw_session(slot)?;
    session.login(UserType::User, Some(&AuthPin::from(pin)))?;
    let module_kib = rss_kib("self").unwrap_or(0).saturating_sub(own_before);
    let before = rss_kib(&pid).unwrap_or(0);
    let start = Instant::now();
    for _ in 0..keys {
        session.generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::Token(true), Attribute::ValueLen(32.into()), Attribute::Encrypt(true)],
        )?;
    }
    let took = start.elapsed().as_secs_f64();
    let after = rss_kib(&pid).unwrap_or(0);
    drop(session);
    ctx.finalize()?;
    drop(daemon);
    Ok(Memory { daemon_before_kib: before, daemon_after_kib: after, seconds: took, module_kib })
}
