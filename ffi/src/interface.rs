//! Handing out the function tables: `C_GetFunctionList` (2.40) and the
//! 3.0 interface functions `C_GetInterfaceList` and `C_GetInterface`.
//!
//! The tables themselves are statics made by [`export_pkcs11!`]; these
//! functions reach them through [`Exported`], so the copies in the tables
//! and the exported symbols hand out the very same addresses (some loaders,
//! p11-kit among them, tell modules apart by function list address).
//!
//! Callers receive `*mut` pointers because that is what the C prototypes
//! say; the standard forbids writing through them, and nothing does.
//!
//! [`export_pkcs11!`]: crate::export_pkcs11

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{CStr, c_void};
use std::ptr;

use cryptoki_sys::{
    CK_FLAGS, CK_FUNCTION_LIST, CK_FUNCTION_LIST_3_0, CK_INTERFACE, CK_RV, CK_ULONG, CK_UTF8CHAR, CK_VERSION,
    CKR_ARGUMENTS_BAD,
};

use crate::args;
use crate::backend::Backend;
use crate::guard::{OK, guard, rv};

/// Where a backend's tables live. Implemented by
/// [`export_pkcs11!`](crate::export_pkcs11), which
/// owns the statics; the getters in the tables use it so every path hands
/// out the same addresses. Not meant to be implemented by hand.
pub trait Exported: Backend {
    /// The 2.40 function list.
    fn function_list_2_40() -> &'static CK_FUNCTION_LIST;
    /// The 3.0 function list.
    fn function_list_3_0() -> &'static CK_FUNCTION_LIST_3_0;
    /// The interfaces: 3.0, then 2.40.
    fn interfaces() -> &'static Interfaces;
}

/// The one interface name PKCS#11 defines, NUL-terminated.
pub const INTERFACE_NAME: &CStr = c"PKCS 11";

/// The interfaces this module offers, best first: "PKCS 11" 3.0, then
/// "PKCS 11" 2.40. Neither is fork-safe, so both have flags 0.
#[derive(Debug)]
#[repr(transparent)]
pub struct Interfaces([CK_INTERFACE; 2]);

// SAFETY: the raw pointers inside point to `'static` data that is never
// written: a string literal and the two function-list statics the
// constructor borrows. Sharing them between threads is sharing immutable
// statics.
unsafe impl Sync for Interfaces {}

impl Interfaces {
    /// The interface array over the two function lists.
    pub const fn new(v3_0: &'static CK_FUNCTION_LIST_3_0, v2_40: &'static CK_FUNCTION_LIST) -> Self {
        let name = INTERFACE_NAME.as_ptr().cast::<CK_UTF8CHAR>().cast_mut();
        Self([
            CK_INTERFACE {
                pInterfaceName: name,
                pFunctionList: ptr::from_ref(v3_0).cast::<c_void>().cast_mut(),
                flags: 0,
            },
            CK_INTERFACE {
                pInterfaceName: name,
                pFunctionList: ptr::from_ref(v2_40).cast::<c_void>().cast_mut(),
                flags: 0,
            },
        ])
    }

    /// The interfaces, 3.0 first.
    pub fn as_slice(&self) -> &[CK_INTERFACE] {
        &self.0
    }

    /// The interface of a given version, if offered.
    fn by_version(&self, version: CK_VERSION) -> Option<&CK_INTERFACE> {
        match (version.major, version.minor) {
            (3, 0) => Some(&self.0[0]),
            (2, 40) => Some(&self.0[1]),
            _ => None,
        }
    }
}

/// `C_GetFunctionList`: the 2.40 table.
pub unsafe extern "C" fn C_GetFunctionList<B: Exported>(ppFunctionList: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    guard(|| {
        let list = ptr::from_ref(B::function_list_2_40()).cast_mut();
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(ppFunctionList, list) }?;
        OK
    })
}

/// `C_GetInterfaceList`: both interfaces, under the two-call convention.
pub unsafe extern "C" fn C_GetInterfaceList<B: Exported>(
    pInterfacesList: *mut CK_INTERFACE,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::list(B::interfaces().as_slice(), pInterfacesList, pulCount) }
    })
}

/// Whether the NUL-terminated string at `name` is [`INTERFACE_NAME`]. It
/// reads no byte past the first one that differs, so a name that is not
/// what it should be costs at most eight bytes, never a scan through the
/// caller's memory for a NUL that may not come.
///
/// # Safety
/// `name` points to a NUL-terminated string.
unsafe fn is_interface_name(name: *const CK_UTF8CHAR) -> bool {
    INTERFACE_NAME.to_bytes_with_nul().iter().enumerate().all(|(i, &expected)| {
        // SAFETY: bytes 0..i matched the name, none of them NUL, so the
        // caller's string goes on at least to byte i.
        let byte = unsafe { name.add(i).read() };
        byte == expected
    })
}

/// `C_GetInterface`: a null name means "PKCS 11", a null version the newest
/// (3.0). An interface that is not offered, or flags it lacks (such as
/// `CKF_INTERFACE_FORK_SAFE`), is `CKR_ARGUMENTS_BAD`.
pub unsafe extern "C" fn C_GetInterface<B: Exported>(
    pInterfaceName: *mut CK_UTF8CHAR,
    pVersion: *mut CK_VERSION,
    ppInterface: *mut *mut CK_INTERFACE,
    flags: CK_FLAGS,
) -> CK_RV {
    guard(|| {
        args::non_null(ppInterface)?;
        // SAFETY: PKCS#11 caller contract: a non-null name is a
        // NUL-terminated string.
        if !pInterfaceName.is_null() && !unsafe { is_interface_name(pInterfaceName) } {
            return Err(rv(CKR_ARGUMENTS_BAD));
        }
        let interfaces = B::interfaces();
        let interface = if pVersion.is_null() {
            &interfaces.as_slice()[0]
        } else {
            // SAFETY: PKCS#11 caller contract.
            let version = unsafe { args::load(pVersion) }?;
            interfaces.by_version(version).ok_or(rv(CKR_ARGUMENTS_BAD))?
        };
        if flags & !interface.flags != 0 {
            return Err(rv(CKR_ARGUMENTS_BAD));
        }
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(ppInterface, ptr::from_ref(interface).cast_mut()) }?;
        OK
    })
}
