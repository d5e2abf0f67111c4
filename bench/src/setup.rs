//! The three targets, each with an EC P-256, an RSA-2048 and an AES-256
//! key on a token of its own: SoftHSM loaded in this process, SoftHSM
//! behind `p11-kit server` reached through `p11-kit-client.so`, and p11kms
//! (a `p11kmsd` on a temporary state directory, reached through
//! `libp11kms.so`, with a 1 KiB secret for the secret workloads).
//! Everything lives in one temporary directory and is stopped when
//! [`Targets`] is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use tempfile::TempDir;

use crate::Result;
use crate::secrets::{self, RawGetAttribute};

pub(crate) const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const P11_KIT_CLIENT: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so";
pub(crate) const SOFTHSM_PIN: &str = "12345678";
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Keys of one target.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    /// EC P-256 private key.
    pub ec: ObjectHandle,
    /// RSA-2048 private key.
    pub rsa: ObjectHandle,
    /// AES-256 key.
    pub aes: ObjectHandle,
}

/// One way of reaching a token.
#[derive(Debug)]
pub struct Target {
    /// `direct`, `p11-kit` or `p11kms`.
    pub name: &'static str,
    /// The loaded module.
    pub ctx: Pkcs11,
    /// The token's slot.
    pub slot: Slot,
    /// Its keys.
    pub keys: Keys,
    /// p11kms's admin socket (p11kms only).
    pub admin_socket: Option<PathBuf>,
    /// The module's own `C_GetAttributeValue` (p11kms only).
    pub raw_get_attribute: Option<RawGetAttribute>,
    /// The bench app's policy now (p11kms only: switched between runs).
    pub policy: crate::policies::Current,
    /// Keeps the login alive for the sessions the workloads open.
    _keeper: Session,
}

/// All three, with what runs behind them.
#[derive(Debug)]
pub struct Targets {
    targets: Vec<Target>,
    children: Vec<Child>,
    _daemon: Daemon,
    _dir: TempDir,
}

impl Targets {
    /// The targets in table order.
    pub fn all(&self) -> Vec<&Target> {
        self.targets.iter().collect()
    }

    /// Sets everything up. Environment variables are set here, before any
    /// thread starts, and read by each module's `C_Initialize`.
    pub fn prepare() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("p11kms-bench-").tempdir()?;
        let mut children = Vec::new();

        let direct_conf = softhsm_token(dir.path(), "direct")?;
        let kit_conf = softhsm_token(dir.path(), "kit")?;
        let kit_socket = dir.path().join("p11-kit.sock");
        children.push(
            Command::new("p11-kit")
                .args(["server", "-f", "--provider", SOFTHSM, "-n"])
                .arg(&kit_socket)
                .arg("pkcs11:token=kit")
                .env("SOFTHSM2_CONF", &kit_conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let bin = binaries()?;
        let daemon = Daemon::start(&bin, &dir.path().join("p11kms-state"), None)?;
        wait_for(&kit_socket)?;
        let app_pin = daemon.create_app(&bin, crate::policies::APP)?;
        secrets::create(&bin, &daemon.admin_socket(), dir.path())?;

        // SAFETY: single-threaded here; the modules read these at C_Initialize.
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &direct_conf);
            std::env::set_var("P11_KIT_SERVER_ADDRESS", format!("unix:path={}", kit_socket.display()));
            std::env::set_var("P11KMS_SOCKET", daemon.state.join("data.sock"));
        }
        let mut p11kms = target("p11kms", &bin.join("libp11kms.so"), "hsm1", &app_pin)?;
        p11kms.admin_socket = Some(daemon.admin_socket());
        p11kms.raw_get_attribute = Some(RawGetAttribute::of(&bin.join("libp11kms.so"))?);
        let targets = vec![
            target("direct", Path::new(SOFTHSM), "direct", SOFTHSM_PIN)?,
            target("p11-kit", Path::new(P11_KIT_CLIENT), "kit", SOFTHSM_PIN)?,
            p11kms,
        ];
        Ok(Self { targets, children, _daemon: daemon, _dir: dir })
    }
}

impl Drop for Targets {
    fn drop(&mut self) {
        self.children.iter_mut().for_each(stop);
    }
}

/// A `p11kmsd` on a state directory of its own, stopped when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its state directory, where its sockets are.
    pub state: PathBuf,
}

impl Daemon {
    /// Starts a daemon on `state`, with a cluster of `mirrors + 1` tokens
    /// and no daily images when `mirrors` is given (the embedded default
    /// otherwise), and waits for its admin socket.
    pub fn start(bin: &Path, state: &Path, mirrors: Option<u32>) -> Result<Self> {
        let config = mirrors.map(|mirrors| format!("[bootstrap]\nmirrors = {mirrors}\n[images]\ndaily = false\n"));
        Self::start_with_config(bin, state, config.as_deref())
    }

    /// Starts a daemon on `state` with the configuration file `config`
    /// (TOML; the embedded default without one).
    pub fn start_with_config(bin: &Path, state: &Path, config: Option<&str>) -> Result<Self> {
        let mut command = Command::new(bin.join("p11kmsd"));
        command.arg("--state-dir").arg(state);
        if let Some(config) = config {
            let path = state.with_extension("toml");
            std::fs::write(&path, config)?;
            command.arg("--config").arg(path);
        }
        let child = command.env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let daemon = Self { child, state: state.to_owned() };
        wait_for(&daemon.admin_socket())?;
        Ok(daemon)
    }

    /// Its admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.state.join("admin.sock")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates an app on `hsm1` through the CLI; returns its PIN.
    pub fn create_app(&self, bin: &Path, name: &str) -> Result<String> {
        let app = Command::new(bin.join("p11kms"))
            .args(["--json", "--query", "Pin", "app", "create", name, "--instance", "hsm1", "--policy", "all"])
            .env("P11KMS_ADMIN_SOCKET", self.admin_socket())
            .output()?;
        if !app.status.success() {
            return Err(format!("p11kms app create: {}", String::from_utf8_lossy(&app.stderr)).into());
        }
        Ok(String::from_utf8(app.stdout)?.trim().to_owned())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Asks a child to stop (SIGTERM, so it shuts down cleanly) and reaps it.
fn stop(child: &mut Child) {
    // SAFETY: kill with a valid pid and signal has no memory effects.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
}

/// The directory of the built binaries: the benchmark's own.
pub fn binaries() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("no directory of the benchmark binary")?.to_owned();
    for needed in ["p11kmsd", "p11kms", "libp11kms.so"] {
        if !dir.join(needed).exists() {
            return Err(format!("{} is missing: build the workspace first (scripts/bench does)", needed).into());
        }
    }
    Ok(dir)
}

/// Waits for a socket file to appear.
pub fn wait_for(path: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if Instant::now() > deadline {
            return Err(format!("{} did not appear", path.display()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}

/// A SoftHSM token directory and configuration with one token; returns
/// the configuration's path.
pub(crate) fn softhsm_token(dir: &Path, label: &str) -> Result<PathBuf> {
    let tokens = dir.join(format!("{label}-tokens"));
    std::fs::create_dir_all(&tokens)?;
    let conf = dir.join(format!("{label}-softhsm2.conf"));
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))?;
    let status = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label, "--pin", SOFTHSM_PIN, "--so-pin", "87654321"])
        .env("SOFTHSM2_CONF", &conf)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("softhsm2-util --init-token {label} failed").into());
    }
    Ok(conf)
}

/// Loads a module, logs in to the token labelled `token` and makes the keys.
fn target(name: &'static str, module: &Path, token: &str, pin: &str) -> Result<Target> {
    let ctx = Pkcs11::new(module)?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = ctx
        .get_slots_with_token()?
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token))
        .ok_or_else(|| format!("{name}: no token {token}"))?;
    let keeper = ctx.open_rw_session(slot)?;
    keeper.login(UserType::User, Some(&AuthPin::from(pin.to_owned())))?;
    let keys = make_keys(&keeper)?;
    Ok(Target {
        name,
        ctx,
        slot,
        keys,
        admin_socket: None,
        raw_get_attribute: None,
        policy: Default::default(),
        _keeper: keeper,
    })
}

fn make_keys(s: &Session) -> Result<Keys> {
    let (_, ec) = s.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[Attribute::Token(true), Attribute::EcParams(P256.to_vec()), Attribute::Verify(true)],
        &[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sign(true),
            Attribute::Label(b"bench-ec".to_vec()),
        ],
    )?;
    let (_, rsa) = s.generate_key_pair(
        &Mechanism::RsaPkcsKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::ModulusBits(2048.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Verify(true),
        ],
        &[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sign(true),
            Attribute::Label(b"bench-rsa".to_vec()),
        ],
    )?;
    let aes = s.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::ValueLen(32.into()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(b"bench-aes".to_vec()),
        ],
    )?;
    Ok(Keys { ec, rsa, aes })
}

/// What the numbers were measured on.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} CPUs ({model}), {date}")
}
