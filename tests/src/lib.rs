//! The end-to-end harness: a real `p11kmsd` on its own temporary state
//! directory (so tests run in parallel), the real `p11kms` CLI, the real
//! `libp11kms.so`, and helpers to drive `pkcs11-tool` and `openssl`.
//!
//! The binaries are found next to the test executable's profile directory
//! (`target/<profile>/`): run `cargo build --workspace` before
//! `cargo test --workspace`, as `scripts/test` does.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub mod backups;
pub mod data_client;
pub mod keys;
pub mod openssl_engine;
pub mod output;
pub mod raw;
mod sessions;
pub use sessions::{run_session, sh_block};

/// `target/<profile>/`, where cargo put the binaries of this build.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_owned()
}

/// Path of a built artifact, with a clear message when it is missing.
pub fn artifact(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --workspace` first (scripts/test does)", path.display());
    path
}

/// The PKCS#11 module under test.
pub fn module() -> PathBuf {
    artifact("libp11kms.so")
}

/// A running daemon on a private state directory; stopped with SIGTERM
/// when dropped.
#[derive(Debug)]
pub struct Daemon {
    dir: TempDir,
    child: Option<Child>,
    extra_args: Vec<String>,
    /// Run the daemon as this uid (through `setpriv`), when set.
    run_as: Option<u32>,
    /// Environment variables the daemon gets (test hooks such as
    /// `P11KMS_TEST_CRASH_AT`), from its next start on.
    env: Vec<(String, String)>,
}

impl Daemon {
    /// Starts a daemon on a new state directory and waits until it serves.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a daemon with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Self {
        let dir = tempfile::Builder::new().prefix("p11kms-e2e-").tempdir().expect("state dir");
        let mut daemon = Self {
            dir,
            child: None,
            extra_args: args.iter().map(|s| (*s).to_owned()).collect(),
            run_as: None,
            env: Vec::new(),
        };
        daemon.spawn();
        daemon
    }

    /// Sets (`Some`) or removes (`None`) an environment variable of the
    /// daemon; it takes effect at the next start (`restart`).
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(value) = value {
            self.env.push((key.to_owned(), value.to_owned()));
        }
    }

    /// True while the daemon process runs (it may have ended on its own:
    /// a test crash point kills it).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Runs a CLI command that an armed test crash point
    /// (`P11KMS_TEST_CRASH_AT`) kills the daemon in: the CLI loses its
    /// connection, and the daemon is gone (waited for).
    pub fn crash_in(&mut self, args: &[&str]) {
        let (code, _, err) = self.cli_outcome(args);
        assert_ne!(code, Some(0), "the daemon died before answering: {err}");
        for _ in 0..100 {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the daemon survived its crash point:\n{}", self.log());
    }

    /// Starts a daemon that does not run as root (as `nobody` when the
    /// tests do), so that file permissions bind it: for faults such as an
    /// unreadable token directory.
    pub fn start_unprivileged(args: &[&str]) -> Self {
        let dir = tempfile::Builder::new().prefix("p11kms-e2e-").tempdir().expect("state dir");
        // SAFETY: getuid has no preconditions.
        let run_as = (unsafe { libc::getuid() } == 0).then_some(65534);
        if let Some(uid) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).expect("chown state dir");
        }
        let mut daemon = Self {
            dir,
            child: None,
            extra_args: args.iter().map(|s| (*s).to_owned()).collect(),
            run_as,
            env: Vec::new(),
        };
        daemon.spawn();
        daemon
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("daemon.log")).expect("log file");
        let mut command = match self.run_as {
            Some(uid) => {
                let mut c = Command::new("setpriv");
                c.args([format!("--reuid={uid}"), format!("--regid={uid}"), "--clear-groups".into()]);
                c.arg(artifact("p11kmsd"));
                c
            }
            None => Command::new(artifact("p11kmsd")),
        };
        let child = command
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(&self.extra_args)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start p11kmsd");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("p11kmsd exited with {status} during start:\n{}", self.log());
                }
            }
            if self.log().contains("p11kmsd ready") && UnixStream::connect(self.admin_socket()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("p11kmsd did not become ready within 60 s:\n{}", self.log());
    }

    /// The daemon's resident memory now, in KiB (from `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().map(Child::id).expect("the daemon runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a number of KiB")
    }

    /// Stops the daemon with SIGTERM and waits for it; returns its exit
    /// status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: kill with a valid pid and signal has no memory effects.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills the daemon with SIGKILL, as a crash would, and waits for it:
    /// nothing of it runs afterwards, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts again on the same state directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The daemon's process id while it runs (for `/proc/<pid>/…`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data socket.
    pub fn data_socket(&self) -> PathBuf {
        self.dir.path().join("data.sock")
    }

    /// The admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// The token directory of a managed member of cluster `hsm1`, by
    /// token label (SoftHSM names the directories by UUID; the label is
    /// inside `token.object`).
    pub fn token_dir(&self, label: &str) -> PathBuf {
        let tokens = self.state_dir().join("clusters/hsm1/tokens");
        std::fs::read_dir(&tokens)
            .expect("token directory")
            .map(|entry| entry.expect("entry").path())
            .find(|dir| {
                let object = std::fs::read(dir.join("token.object")).unwrap_or_default();
                object.windows(label.len()).any(|w| w == label.as_bytes())
            })
            .unwrap_or_else(|| panic!("no token directory for {label}"))
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("daemon.log")) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Runs the CLI against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(artifact("p11kms"))
            .args(args)
            .env("P11KMS_ADMIN_SOCKET", self.admin_socket())
            .output()
            .expect("run p11kms")
    }

    /// Runs the CLI against this daemon with `input` on standard input.
    pub fn cli_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(artifact("p11kms"))
            .args(args)
            .env("P11KMS_ADMIN_SOCKET", self.admin_socket())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run p11kms");
        child.stdin.take().expect("stdin").write_all(input).expect("write standard input");
        child.wait_with_output().expect("wait for p11kms")
    }

    /// Runs the CLI with `--json`, asserts success, parses the output.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.cli(&full);
        assert!(out.status.success(), "p11kms {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// Creates secret `name` on `instance` whose first version holds
    /// exactly `value` (a binary value when `binary`), with `p11kms secret
    /// create --secret-data-file`.
    pub fn create_secret(&self, name: &str, instance: &str, value: &[u8], binary: bool) {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("value");
        std::fs::write(&file, value).expect("write the value");
        let mut args = vec!["secret", "create", name, "--instance", instance, "--version-id", "v1"];
        args.extend(["--secret-data-file", file.to_str().expect("utf-8 path")]);
        if binary {
            args.extend(["--secret-data-type", "binary"]);
        }
        self.cli_json(&args);
    }

    /// Creates an app that may use every key and secret of `instance`
    /// (`--policy all`) and returns its PIN.
    pub fn create_app(&self, name: &str, instance: &str) -> String {
        let json = self.cli_json(&["app", "create", name, "--instance", instance, "--policy", "all"]);
        json["Pin"].as_str().expect("Pin").to_owned()
    }

    /// Creates an app with the policy document `policy` (JSON) and returns
    /// its PIN.
    pub fn create_app_with_policy(&self, name: &str, instance: &str, policy: &str) -> String {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("policy.json");
        std::fs::write(&file, policy).expect("write the policy");
        let path = file.to_str().expect("utf-8 path");
        let json = self.cli_json(&["app", "create", name, "--instance", instance, "--policy", path]);
        json["Pin"].as_str().expect("Pin").to_owned()
    }

    /// Replaces app `name`'s policy with `policy` (JSON, through standard
    /// input: `app update-policy NAME --policy -`).
    pub fn update_app_policy(&self, name: &str, policy: &str) {
        let out = self.cli_with_input(&["app", "update-policy", name, "--policy", "-"], policy.as_bytes());
        assert!(out.status.success(), "app update-policy: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A command with the environment a PKCS#11 client of this daemon needs.
    pub fn client_command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("P11KMS_SOCKET", self.data_socket());
        command
    }

    /// Runs `pkcs11-tool --module libp11kms.so ARGS`, asserts success,
    /// returns stdout.
    pub fn pkcs11_tool(&self, args: &[&str]) -> String {
        let out = self.pkcs11_tool_output(args);
        assert!(
            out.status.success(),
            "pkcs11-tool {args:?} failed:\n{}\n{}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `pkcs11-tool` and returns its output whatever the outcome.
    pub fn pkcs11_tool_output(&self, args: &[&str]) -> Output {
        self.client_command("pkcs11-tool").arg("--module").arg(module()).args(args).output().expect("run pkcs11-tool")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Daemon {
    /// Runs the CLI and returns (exit code, stdout, stderr).
    pub fn cli_outcome(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.cli(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the CLI with `--json` for a command whose exit status matters
    /// as much as its report (`cluster verify`, `cluster resync`): both.
    pub fn cli_json_outcome(&self, args: &[&str]) -> (Option<i32>, Value) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let (code, out, err) = self.cli_outcome(&full);
        (code, serde_json::from_str(&out).unwrap_or_else(|_| panic!("{args:?}: {out}\n{err}")))
    }

    /// Runs the CLI, asserts it failed with an API error, returns its code
    /// (the text before the first `: ` on stderr).
    pub fn cli_error(&self, args: &[&str]) -> String {
        let (code, _, stderr) = self.cli_outcome(args);
        assert_eq!(code, Some(1), "p11kms {args:?} should fail with an API error: {stderr}");
        stderr.split(": ").next().unwrap_or_default().trim().to_owned()
    }

    /// Creates a key and returns its id.
    pub fn create_key(&self, args: &[&str]) -> String {
        let mut full = vec!["key", "create", "--instance", "hsm1"];
        full.extend_from_slice(args);
        let json = self.cli_json(&full);
        json["KeyMetadata"]["KeyId"].as_str().expect("KeyId").to_owned()
    }

    /// The ids of a key's versions, as the HSM objects' `CKA_ID`.
    pub fn version_ids(&self, key: &str) -> Vec<[u8; 16]> {
        let versions = self.cli_json(&["key", "list-versions", key]);
        versions["KeyVersions"]
            .as_array()
            .expect("KeyVersions")
            .iter()
            .map(|v| {
                let id = v["KeyVersionId"].as_str().expect("version id").replace('-', "");
                let bytes: Vec<u8> =
                    (0..16).map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).expect("hex")).collect();
                bytes.try_into().expect("16 bytes")
            })
            .collect()
    }

    /// One field of a key's `describe`, by dotted path.
    pub fn key_field(&self, key: &str, path: &str) -> serde_json::Value {
        let mut value = self.cli_json(&["key", "describe", key]);
        for part in path.split('.') {
            value = value[part].take();
        }
        value
    }

    /// Imports `material` into an EXTERNAL key, wrapped by openssl with
    /// `algorithm` (`RSAES_OAEP_SHA_256`, `RSAES_OAEP_SHA_1`,
    /// `RSAES_PKCS1_V1_5`); returns the CLI's outcome.
    pub fn import_material(
        &self,
        key: &str,
        material: &[u8],
        algorithm: &str,
        extra: &[&str],
    ) -> (Option<i32>, String, String) {
        let wrapped = self.wrap_for_import(key, material, algorithm);
        let mut args = vec![
            "key",
            "import-key-material",
            key,
            "--import-token",
            &wrapped.0,
            "--encrypted-key-material",
            &wrapped.1,
        ];
        args.extend_from_slice(extra);
        self.cli_outcome(&args)
    }

    /// Gets import parameters for `key` and wraps `material` under them
    /// with openssl: returns (import token, base64 of the wrapped material).
    pub fn wrap_for_import(&self, key: &str, material: &[u8], algorithm: &str) -> (String, String) {
        let params = self.cli_json(&["key", "get-parameters-for-import", key, "--wrapping-algorithm", algorithm]);
        let dir = tempfile::tempdir().expect("work dir");
        std::fs::write(dir.path().join("wrap.pem"), params["PublicKey"].as_str().expect("PublicKey")).expect("pem");
        std::fs::write(dir.path().join("material"), material).expect("material");
        let padding: &[&str] = match algorithm {
            "RSAES_OAEP_SHA_256" => &[
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                "rsa_oaep_md:sha256",
                "-pkeyopt",
                "rsa_mgf1_md:sha256",
            ],
            "RSAES_OAEP_SHA_1" => &["-pkeyopt", "rsa_padding_mode:oaep"],
            _ => &["-pkeyopt", "rsa_padding_mode:pkcs1"],
        };
        run(Command::new("openssl")
            .args(["pkeyutl", "-encrypt", "-pubin", "-inkey", "wrap.pem", "-in", "material", "-out", "wrapped"])
            .args(padding)
            .current_dir(dir.path()));
        let wrapped = std::fs::read(dir.path().join("wrapped")).expect("wrapped");
        (params["ImportToken"].as_str().expect("ImportToken").to_owned(), p11kms_proto::bytes::to_base64(&wrapped))
    }
}

/// Runs a command, asserts success, returns stdout.
pub fn run(command: &mut Command) -> Vec<u8> {
    let out = command.output().expect("run command");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The `CK_RV` of a call expected to fail.
pub fn rv<T: std::fmt::Debug>(result: Result<T, cryptoki::error::Error>) -> cryptoki::error::RvError {
    match result {
        Err(cryptoki::error::Error::Pkcs11(rv, _)) => rv,
        other => panic!("expected a PKCS#11 error, got {other:?}"),
    }
}

/// The slot whose token has `label` (the instance name).
pub fn slot_labelled(ctx: &cryptoki::context::Pkcs11, label: &str) -> cryptoki::slot::Slot {
    ctx.get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).map(|t| t.label() == label).unwrap_or(false))
        .unwrap_or_else(|| panic!("no token labelled {label}"))
}

/// The slot of the hardware instance `hsm1`.
pub fn hsm1(ctx: &cryptoki::context::Pkcs11) -> cryptoki::slot::Slot {
    slot_labelled(ctx, "hsm1")
}

/// Loads the module in this process for `daemon` and initializes it. Call
/// it once per test binary: the module finds its daemon through
/// `P11KMS_SOCKET`, read at `C_Initialize`.
pub fn load_module(daemon: &Daemon) -> cryptoki::context::Pkcs11 {
    // SAFETY: test binaries that load the module hold one test, and the
    // harness's other threads do not touch the environment while it runs.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let ctx = cryptoki::context::Pkcs11::new(module()).expect("load libp11kms.so");
    ctx.initialize(cryptoki::context::CInitializeArgs::new(cryptoki::context::CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    ctx
}

/// The daemon's member tokens of cluster `hsm1` opened directly with
/// SoftHSM, as another process on the same files (an intruder, a failing
/// disk, or a test checking what the daemon stored). Open it once per test
/// binary: SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`.
#[derive(Debug)]
pub struct MemberTokens {
    ctx: cryptoki::context::Pkcs11,
    state: PathBuf,
}

impl MemberTokens {
    /// Loads SoftHSM on the daemon's cluster configuration.
    pub fn open(daemon: &Daemon) -> Self {
        let conf = daemon.state_dir().join("clusters/hsm1/softhsm2.conf");
        // SAFETY: read by SoftHSM at C_Initialize just below; the module
        // under test reads only P11KMS_SOCKET.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
        let ctx = cryptoki::context::Pkcs11::new("/usr/lib/softhsm/libsofthsm2.so").expect("load SoftHSM");
        ctx.initialize(cryptoki::context::CInitializeArgs::new(cryptoki::context::CInitializeFlags::OS_LOCKING_OK))
            .expect("SoftHSM C_Initialize");
        Self { ctx, state: daemon.state_dir().to_owned() }
    }

    /// A read-write session on member `index` (0: the primary), logged in
    /// with the PIN the daemon keeps for it.
    pub fn session(&self, index: u32) -> cryptoki::session::Session {
        let slot = slot_labelled(&self.ctx, &format!("hsm1-{index}"));
        let pin = std::fs::read_to_string(self.state.join(format!("secrets/hsm1-{index}.user-pin"))).expect("pin");
        let session = self.ctx.open_rw_session(slot).expect("session");
        // Another session of this process may hold the login already.
        match session
            .login(cryptoki::session::UserType::User, Some(&cryptoki::types::AuthPin::from(pin.trim().to_owned())))
        {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(error) => panic!("login: {error}"),
        }
        session
    }

    /// The distinct 16-byte `CKA_ID`s of the key objects on member
    /// `index`: one per key version (and the cluster key's label is not
    /// 16 bytes long).
    pub fn version_ids(&self, index: u32) -> std::collections::HashSet<Vec<u8>> {
        use cryptoki::object::{Attribute, AttributeType};
        let session = self.session(index);
        let mut ids = std::collections::HashSet::new();
        for object in session.find_objects(&[Attribute::Token(true)]).expect("find") {
            if let Some(Attribute::Id(id)) = session.get_attributes(object, &[AttributeType::Id]).expect("id").first() {
                if id.len() == 16 {
                    ids.insert(id.clone());
                }
            }
        }
        ids
    }
}
