//! The process-wide state: whether the module is initialized, and for which
//! process.
//!
//! Fork safety. A child created by `fork()` inherits the parent's memory,
//! including its sockets and possibly locks that a parent thread held at
//! the moment of the fork. PKCS#11 says the child must call `C_Initialize`
//! before using the module. So:
//!
//! * the state lives in a [`Holder`] stamped with the pid that created it;
//!   every call compares the stamp with [`std::process::id`] *before*
//!   touching any lock, and a mismatch means `CKR_CRYPTOKI_NOT_INITIALIZED`;
//! * the child's `C_Initialize` installs a brand-new holder (fresh mutex,
//!   fresh pool, fresh client id) with an atomic pointer swap, and leaks the
//!   parent's: running its destructors could block on a lock held by a
//!   parent thread, or write to the parent's connections. Nothing of the old
//!   holder is ever read again in the child.
//!
//! Holders are leaked on purpose (one per process that initializes), which
//! is what makes the lock-free pointer read sound: a holder, once
//! published, is never freed.
//!
//! The holder's mutex only guards swapping the `Arc<Module>` in and out;
//! calls clone the `Arc` and release it at once, so a slow round trip never
//! blocks `C_Finalize` or other threads.

use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

use p11kms_ffi::InitArgs;
use p11kms_ffi::sys::{CKR_CANT_LOCK, CKR_CRYPTOKI_ALREADY_INITIALIZED, CKR_CRYPTOKI_NOT_INITIALIZED};
use p11kms_proto::CkRv;

use crate::config::ConfigError;
use crate::error::Error;
use crate::lock;
use crate::module::Module;

/// The state of one process.
#[derive(Debug)]
struct Holder {
    pid: u32,
    module: Mutex<Option<Arc<Module>>>,
}

/// The current process's holder (or an ancestor's, after a fork).
static HOLDER: AtomicPtr<Holder> = AtomicPtr::new(ptr::null_mut());

const NOT_INITIALIZED: CkRv = CkRv(CKR_CRYPTOKI_NOT_INITIALIZED);

/// The holder created by process `pid`, if there is one.
fn holder_of(pid: u32) -> Option<&'static Holder> {
    let pointer = HOLDER.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in HOLDER comes from `Box::into_raw` in
    // `holder_for` and is never freed (holders are leaked on purpose), so
    // it is valid for the rest of the process; `Holder` is `Sync`.
    let holder = unsafe { pointer.as_ref() }?;
    (holder.pid == pid).then_some(holder)
}

/// The holder of process `pid`, creating it (and abandoning an inherited
/// one) when needed.
fn holder_for(pid: u32) -> &'static Holder {
    loop {
        let current = HOLDER.load(Ordering::Acquire);
        if let Some(holder) = holder_of(pid) {
            return holder;
        }
        let fresh: &'static Holder = Box::leak(Box::new(Holder { pid, module: Mutex::new(None) }));
        let fresh_pointer = ptr::from_ref(fresh).cast_mut();
        match HOLDER.compare_exchange(current, fresh_pointer, Ordering::AcqRel, Ordering::Acquire) {
            // The previous holder (an ancestor's) is abandoned, not freed.
            Ok(_) => return fresh,
            // Another thread of this process installed one first; ours stays
            // leaked, which costs a few bytes once.
            Err(_) => continue,
        }
    }
}

/// The initialized module of this process.
pub fn module() -> Result<Arc<Module>, CkRv> {
    module_in(std::process::id())
}

fn module_in(pid: u32) -> Result<Arc<Module>, CkRv> {
    let holder = holder_of(pid).ok_or(NOT_INITIALIZED)?;
    lock(&holder.module).clone().ok_or(NOT_INITIALIZED)
}

/// True when this process has initialized the module (and not finalized
/// it): the boundary's first question on every call. A forked child that
/// has not called `C_Initialize` yet sees its parent's holder and says no.
pub fn is_initialized() -> bool {
    holder_of(std::process::id()).is_some_and(|holder| lock(&holder.module).is_some())
}

/// Runs a call on the initialized module and maps its error to a `CK_RV`.
pub fn with<T>(call: impl FnOnce(&Module) -> crate::error::Result<T>) -> Result<T, CkRv> {
    let module = module()?;
    call(&module).map_err(|error| error.ck_rv())
}

/// `C_Initialize`.
pub fn initialize(args: InitArgs) -> Result<(), CkRv> {
    initialize_in(std::process::id(), args, crate::config::socket_from_env)
}

fn initialize_in(pid: u32, args: InitArgs, socket: impl FnOnce() -> Result<PathBuf, ConfigError>) -> Result<(), CkRv> {
    // Application-supplied mutex callbacks are only acceptable when the
    // OS primitives may be used instead: this module only uses those.
    if args.app_mutexes && !args.os_locking_ok {
        return Err(CkRv(CKR_CANT_LOCK));
    }
    let holder = holder_for(pid);
    if lock(&holder.module).is_some() {
        return Err(CkRv(CKR_CRYPTOKI_ALREADY_INITIALIZED));
    }
    // Built outside the lock: it reads a file and the OS random source.
    let socket = socket().map_err(|error| Error::from(error).ck_rv())?;
    let spin_wait = crate::config::spin_wait_from_env().map_err(|error| Error::from(error).ck_rv())?;
    let module = Module::with_random_client(socket, spin_wait).map_err(|error| error.ck_rv())?;
    let mut slot = lock(&holder.module);
    if slot.is_some() {
        return Err(CkRv(CKR_CRYPTOKI_ALREADY_INITIALIZED));
    }
    *slot = Some(Arc::new(module));
    Ok(())
}

/// `C_Finalize`.
pub fn finalize() -> Result<(), CkRv> {
    finalize_in(std::process::id())
}

fn finalize_in(pid: u32) -> Result<(), CkRv> {
    let holder = holder_of(pid).ok_or(NOT_INITIALIZED)?;
    let module = lock(&holder.module).take().ok_or(NOT_INITIALIZED)?;
    // Outside the lock: this says goodbye to the daemon.
    module.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_config() -> Result<PathBuf, ConfigError> {
        Ok(PathBuf::from("/nonexistent/p11kms-test.sock"))
    }

    /// One test, because the state is process-wide.
    #[test]
    fn lifecycle_and_fork() {
        let pid = std::process::id();
        let child = pid.wrapping_add(1_000_000);

        assert_eq!(module_in(pid).err(), Some(NOT_INITIALIZED));
        assert_eq!(finalize_in(pid).err(), Some(NOT_INITIALIZED));
        let cant_lock = InitArgs { app_mutexes: true, ..InitArgs::default() };
        assert_eq!(initialize_in(pid, cant_lock, no_config).err(), Some(CkRv(CKR_CANT_LOCK)));
        let app_and_os = InitArgs { app_mutexes: true, os_locking_ok: true, no_os_threads: false };
        assert_eq!(initialize_in(pid, app_and_os, no_config), Ok(()));
        assert!(module_in(pid).is_ok());
        assert_eq!(
            initialize_in(pid, InitArgs::default(), no_config).err(),
            Some(CkRv(CKR_CRYPTOKI_ALREADY_INITIALIZED))
        );

        // A "child" (another pid) sees nothing until it initializes, and
        // then gets its own module.
        let parent_module = module_in(pid).expect("initialized");
        assert_eq!(module_in(child).err(), Some(NOT_INITIALIZED));
        assert_eq!(finalize_in(child).err(), Some(NOT_INITIALIZED));
        assert_eq!(initialize_in(child, InitArgs::default(), no_config), Ok(()));
        let child_module = module_in(child).expect("initialized in the child");
        assert!(!Arc::ptr_eq(&parent_module, &child_module));
        assert_eq!(finalize_in(child), Ok(()));
        assert_eq!(module_in(child).err(), Some(NOT_INITIALIZED));

        // A broken config fails initialization and leaves nothing behind.
        let broken = || crate::config::resolve(None, Some("/nonexistent/p11kms.toml".into()));
        assert!(initialize_in(pid, InitArgs::default(), broken).is_err());
        assert_eq!(module_in(pid).err(), Some(NOT_INITIALIZED));

        // A real fork: the child must not see the parent's module, and must
        // be able to initialize its own.
        assert_eq!(initialize_in(pid, InitArgs::default(), no_config), Ok(()));
        assert_eq!(real_fork_child_status(), Some(0));
        assert!(module_in(pid).is_ok(), "the parent is unaffected");
        assert_eq!(finalize_in(pid), Ok(()));
        assert_eq!(module().err(), Some(NOT_INITIALIZED));
    }

    /// Forks; the child checks the rules and exits with 0 when they hold.
    fn real_fork_child_status() -> Option<i32> {
        // SAFETY: the child only calls this module's state functions (atomic
        // loads, its own fresh mutex, allocation, getrandom) and `_exit`; it
        // never returns into the test harness.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut code = 0;
            if module().err() != Some(NOT_INITIALIZED) {
                code |= 1;
            }
            if initialize_in(std::process::id(), InitArgs::default(), no_config).is_err() {
                code |= 2;
            }
            if module().is_err() {
                code |= 4;
            }
            if finalize().is_err() {
                code |= 8;
            }
            // SAFETY: ends the child without running the parent's atexit
            // handlers or destructors.
            unsafe { libc::_exit(code) };
        }
        if pid < 0 {
            return None;
        }
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is a valid out pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        (waited == pid && libc::WIFEXITED(status)).then(|| libc::WEXITSTATUS(status))
    }
}
