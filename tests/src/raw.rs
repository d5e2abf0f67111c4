//! A PKCS#11 module loaded without the `cryptoki` crate, for tests that
//! make the calls cryptoki refuses to make (NULL pointers, lying lengths,
//! odd initialization arguments): its function table, and `C_Initialize`
//! as applications usually call it.

use std::ffi::{CString, c_void};
use std::path::Path;
use std::ptr::null_mut;

use cryptoki_sys::{CK_C_INITIALIZE_ARGS, CK_C_Initialize, CK_FUNCTION_LIST, CK_RV, CKF_OS_LOCKING_OK, CKR_OK};

/// The 2.40 function list of the module at `path`. The library stays
/// loaded for the rest of the process, so the table stays valid.
///
/// # Panics
/// When the module cannot be loaded or gives no table: a test's failure.
pub fn function_list(path: &Path) -> &'static CK_FUNCTION_LIST {
    let c_path = CString::new(path.to_str().expect("UTF-8 path")).expect("C path");
    // SAFETY: loads a PKCS#11 module; the handle is leaked on purpose so the
    // table stays valid for the rest of the process.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen {}", path.display());
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
    assert!(!symbol.is_null(), "C_GetFunctionList in {}", path.display());
    type Get = unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV;
    // SAFETY: the PKCS#11 2.40 signature of C_GetFunctionList.
    let get = unsafe { std::mem::transmute::<*mut c_void, Get>(symbol) };
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: `list` is a live local the function fills in.
    assert_eq!(unsafe { get(&mut list) }, CKR_OK, "C_GetFunctionList");
    assert!(!list.is_null());
    // SAFETY: the table is a static of the library, which stays loaded.
    unsafe { &*list }
}

/// `C_Initialize` with the OS's locking and no callbacks, as most
/// applications call it (either table's `C_Initialize`).
///
/// # Panics
/// When the table has no `C_Initialize`.
pub fn initialize(c_initialize: CK_C_Initialize) -> CK_RV {
    let mut args = CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags: CKF_OS_LOCKING_OK,
        pReserved: null_mut(),
    };
    // SAFETY: `args` is a live local.
    unsafe { c_initialize.expect("C_Initialize")((&raw mut args).cast()) }
}
