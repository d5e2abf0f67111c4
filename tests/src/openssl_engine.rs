//! OpenSSL's pkcs11 engine (libp11, `libengine-pkcs11-openssl`) on the
//! module under test: where the engine is, and an OpenSSL configuration
//! that loads it, with or without the app's PIN (without, a key URI's
//! `pin-value=` is the only PIN).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{Daemon, module, run};

/// The engine's shared object, in OpenSSL's ENGINESDIR.
pub fn engine_path() -> PathBuf {
    let out = String::from_utf8(run(Command::new("openssl").args(["version", "-e"]))).expect("utf-8");
    // ENGINESDIR: "/usr/lib/x86_64-linux-gnu/engines-3"
    let dir = out.split('"').nth(1).expect("ENGINESDIR");
    let path = Path::new(dir).join("pkcs11.so");
    assert!(path.exists(), "{} is missing: run scripts/deps (libengine-pkcs11-openssl)", path.display());
    path
}

/// Writes `dir/openssl.cnf`, loading the engine on `libp11kms.so` with
/// `pin` when given (and a bare `[req]` section for `openssl req`);
/// returns its path.
pub fn engine_config(dir: &Path, pin: Option<&str>) -> PathBuf {
    let pin = pin.map(|pin| format!("PIN = {pin}\n")).unwrap_or_default();
    let config = format!(
        "openssl_conf = openssl_init\n\
         [openssl_init]\n\
         engines = engine_section\n\
         [engine_section]\n\
         pkcs11 = pkcs11_section\n\
         [pkcs11_section]\n\
         engine_id = pkcs11\n\
         dynamic_path = {}\n\
         MODULE_PATH = {}\n\
         {pin}\
         init = 1\n\
         [req]\n\
         distinguished_name = req_dn\n\
         [req_dn]\n",
        engine_path().display(),
        module().display()
    );
    let path = dir.join("openssl.cnf");
    std::fs::write(&path, config).expect("openssl.cnf");
    path
}

/// `openssl ARGS` as a client of `daemon`, through the engine
/// configuration `config` ([`engine_config`]), in `dir`, within 120 s.
/// Its standard input is closed: a PIN prompt fails instead of waiting.
///
/// # Panics
/// When `openssl` cannot be started.
pub fn engine_openssl(daemon: &Daemon, config: &Path, dir: &Path, args: &[&str]) -> Output {
    daemon
        .client_command("timeout")
        .args(["120", "openssl"])
        .args(args)
        .env("OPENSSL_CONF", config)
        .current_dir(dir)
        .output()
        .expect("run openssl")
}
