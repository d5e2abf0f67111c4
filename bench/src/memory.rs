//! Memory: the daemon's resident set with many keys, and what loading the
//! module adds to a client process.

use std::path::Path;
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use crate::Result;
use crate::setup::Daemon;

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

/// Resident set of a daemon (cluster of `mirrors + 1` tokens) after
/// `keys` AES-256 keys were made through the module in this process,
/// which must not have loaded the module yet; and what the module adds to
/// this process.
pub fn daemon_with_keys(bin: &Path, dir: &Path, keys: usize, mirrors: u32) -> Result<Memory> {
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
