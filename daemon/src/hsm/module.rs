//! A loaded and initialized PKCS#11 library.
//!
//! One [`HsmModule`] is one *instance* of a library in this process. SoftHSM
//! reads its configuration (hence its token directory) once, at
//! `C_Initialize`, from the `SOFTHSM2_CONF` environment variable, and the
//! dynamic loader hands out the same instance for every `dlopen` of the same
//! file. To give each cluster its own token directory the daemon loads a
//! private *copy* of the library per cluster (see `softhsm.rs` and
//! `docs/cluster.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::slot::Slot;

use super::error::{Context, HsmError};

/// A PKCS#11 library instance.
#[derive(Debug)]
pub struct HsmModule {
    path: PathBuf,
    ctx: Pkcs11,
}

/// `SOFTHSM2_CONF` is process-wide: loads that set it must not interleave.
static ENV_LOCK: Mutex<()> = Mutex::new(());

impl HsmModule {
    /// Loads and initializes a library that needs no environment.
    pub fn load(path: &Path) -> Result<Self, HsmError> {
        Self::init(path)
    }

    /// Loads and initializes a SoftHSM library instance that reads `conf`.
    pub fn load_softhsm(library: &Path, conf: &Path) -> Result<Self, HsmError> {
        let environment = [("SOFTHSM2_CONF".to_owned(), conf.display().to_string())].into_iter().collect();
        Self::load_with_environment(library, &environment)
    }

    /// Loads and initializes a library that reads `environment` at
    /// `C_Initialize` (set for the call, then removed).
    ///
    /// Setting an environment variable is only sound while no other thread
    /// reads the environment, so this refuses to run once the process has
    /// more than one thread: the daemon loads its clusters before it starts
    /// any.
    pub fn load_with_environment(library: &Path, environment: &BTreeMap<String, String>) -> Result<Self, HsmError> {
        if environment.is_empty() {
            return Self::init(library);
        }
        let _guard = ENV_LOCK.lock().map_err(|_| HsmError::Unexpected("environment lock poisoned".into()))?;
        if thread_count() != Some(1) {
            return Err(HsmError::Module {
                path: library.display().to_string(),
                reason: "modules that read the environment must be loaded before the daemon starts its threads".into(),
            });
        }
        for (name, value) in environment {
            // SAFETY: the process has exactly one thread (checked above), so
            // no other thread can read or write the environment concurrently.
            unsafe { std::env::set_var(name, value) };
        }
        let module = Self::init(library);
        for name in environment.keys() {
            // SAFETY: still single-threaded: `init` starts no threads.
            unsafe { std::env::remove_var(name) };
        }
        module
    }

    fn init(path: &Path) -> Result<Self, HsmError> {
        let module_error = |reason: String| HsmError::Module { path: path.display().to_string(), reason };
        let ctx = Pkcs11::new(path).map_err(|e| module_error(e.to_string()))?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| module_error(format!("C_Initialize failed: {e}")))?;
        Ok(Self { path: path.to_owned(), ctx })
    }

    /// The library path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cryptoki context.
    pub fn ctx(&self) -> &Pkcs11 {
        &self.ctx
    }

    /// The slot holding the initialized token labelled `label`. A slot
    /// whose token does not answer (SoftHSM, when a token's files are gone)
    /// is skipped: it cannot be the one looked for.
    pub fn find_token(&self, label: &str) -> Result<Slot, HsmError> {
        for slot in self.ctx.get_slots_with_token().context(|| "C_GetSlotList".into())? {
            let Ok(info) = self.ctx.get_token_info(slot) else { continue };
            if info.token_initialized() && info.label() == label {
                return Ok(slot);
            }
        }
        Err(HsmError::TokenNotFound(label.into()))
    }
}

/// Threads in this process, from `/proc/self/status`.
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}
