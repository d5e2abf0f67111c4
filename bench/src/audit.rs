//! What the audit trail costs: two daemons alike but for `[audit]
//! enabled`, measured in turns, run by run. ECDSA P-256 signing (1
//! thread, 1 session) runs in a child process per run (this binary with
//! [`SIGN_CHILD_FLAG`]: the module talks to one daemon per process), the
//! same for both, so process start-up is outside every figure; key
//! creation through the `p11kms` CLI, one key from each daemon in turn.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use crate::Result;
use crate::setup::Daemon;
use crate::workloads::Figure;

/// The flag of the signing child: `--audit-sign-child DATA_SOCKET PIN MILLIS`.
pub const SIGN_CHILD_FLAG: &str = "--audit-sign-child";

/// Keys created per daemon for the key-creation figure.
const KEYS: usize = 25;

/// The trail on against off.
#[derive(Debug, Clone)]
pub struct AuditCost {
    /// Signing with the trail on and off.
    pub sign: [Figure; 2],
    /// Median milliseconds to create an EC P-256 key, on and off.
    pub key_creation_ms: [f64; 2],
}

/// Measures signing in `runs` runs of `run_time` each, and key creation.
pub fn measure(bin: &Path, dir: &Path, runs: usize, run_time: Duration) -> Result<AuditCost> {
    let configs = ["[images]\ndaily = false\n", "[images]\ndaily = false\n[audit]\nenabled = false\n"];
    let mut daemons = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let daemon = Daemon::start_with_config(bin, &dir.join(format!("audit-{i}")), Some(config))?;
        let pin = daemon.create_app(bin, "bench")?;
        cli(
            bin,
            &daemon,
            &["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256", "--alias", "alias/bench-ec"],
        )?;
        daemons.push((daemon, pin));
    }
    let mut rates = [Vec::new(), Vec::new()];
    let mut samples: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, (daemon, pin)) in daemons.iter().enumerate() {
            let (ops, mut latencies) = sign_run(daemon, pin, run_time)?;
            rates[i].push(ops as f64 / run_time.as_secs_f64());
            samples[i].append(&mut latencies);
        }
    }
    let figure = |i: usize| {
        let mut rates = rates[i].clone();
        rates.sort_by(f64::total_cmp);
        let latency = Figure::from_samples(&samples[i], Duration::from_secs(1));
        Figure { ops_per_s: rates.get(rates.len() / 2).copied().unwrap_or(0.0), ..latency }
    };
    let mut creation = [Vec::new(), Vec::new()];
    for _ in 0..KEYS {
        for (i, (daemon, _)) in daemons.iter().enumerate() {
            let start = Instant::now();
            cli(bin, daemon, &["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256"])?;
            creation[i].push(start.elapsed());
        }
    }
    let median_ms = |times: &mut Vec<Duration>| {
        times.sort();
        times.get(times.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let [on, off] = &mut creation;
    Ok(AuditCost { sign: [figure(0), figure(1)], key_creation_ms: [median_ms(on), median_ms(off)] })
}

fn cli(bin: &Path, daemon: &Daemon, args: &[&str]) -> Result<()> {
    let out = Command::new(bin.join("p11kms"))
        .args(args)
        .env("P11KMS_ADMIN_SOCKET", daemon.admin_socket())
        .stdout(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(format!("p11kms {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// One signing run in a child process: the signatures made and their
/// latencies.
fn sign_run(daemon: &Daemon, pin: &str, run_time: Duration) -> Result<(usize, Vec<Duration>)> {
    let out = Command::new(std::env::current_exe()?)
        .arg(SIGN_CHILD_FLAG)
        .arg(daemon.state.join("data.sock"))
        .arg(pin)
        .arg(run_time.as_millis().to_string())
        .output()?;
    if !out.status.success() {
        return Err(format!("signing run: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let latencies: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|ns| ns.parse().ok().map(Duration::from_nanos))
        .collect();
    Ok((latencies.len(), latencies))
}

/// The child side of a signing run: logs in to `hsm1` of the daemon at
/// `socket`, signs for `millis` ms, prints each signature's nanoseconds.
pub fn sign_child(socket: &str, pin: &str, millis: u64) -> Result<()> {
    // SAFETY: nothing else runs in this process yet; the module reads it
    // at C_Initialize.
    unsafe { std::env::set_var("P11KMS_SOCKET", socket) };
    let module = crate::setup::binaries()?.join("libp11kms.so");
    let ctx = Pkcs11::new(module)?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = ctx
        .get_slots_with_token()?
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == "hsm1"))
        .ok_or("no hsm1 slot")?;
    let session = ctx.open_ro_session(slot)?;
    session.login(UserType::User, Some(&AuthPin::from(pin.to_owned())))?;
    let key = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"bench-ec".to_vec())])?
        .first()
        .copied()
        .ok_or("no bench-ec key")?;
    // One signature before the clock starts: the connection is warm.
    session.sign(&Mechanism::Ecdsa, key, &[0x42; 32])?;
    let mut out = String::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(millis) {
        let began = Instant::now();
        session.sign(&Mechanism::Ecdsa, key, &[0x42; 32])?;
        out.push_str(&began.elapsed().as_nanos().to_string());
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}
