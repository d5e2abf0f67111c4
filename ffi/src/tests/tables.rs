//! The function tables and the ways an application obtains them: the
//! unmangled `C_GetFunctionList`, `C_GetInterfaceList` and `C_GetInterface`
//! made by `export_pkcs11!`, and the getters inside the tables.

use std::mem::{offset_of, size_of};
use std::ptr::{self, null_mut};

use cryptoki_sys::*;

use super::backend::TestBackend;
use crate::Exported;

// The symbols `export_pkcs11!(TestBackend)` put in this test binary, looked
// up by their C names as a loader would.
unsafe extern "C" {
    fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV;
    fn C_GetInterfaceList(interfaces: *mut CK_INTERFACE, count: *mut CK_ULONG) -> CK_RV;
    fn C_GetInterface(
        name: *mut CK_UTF8CHAR,
        version: *mut CK_VERSION,
        interface: *mut *mut CK_INTERFACE,
        flags: CK_FLAGS,
    ) -> CK_RV;
}

pub(super) type AnyFn = Option<unsafe extern "C" fn()>;

/// The function entries of a function list, read as untyped pointers.
pub(super) fn entries<T>(list: &T, first: usize) -> Vec<AnyFn> {
    let count = (size_of::<T>() - first) / size_of::<AnyFn>();
    let base = ptr::from_ref(list).cast::<u8>().wrapping_add(first).cast::<AnyFn>();
    (0..count)
        // SAFETY: from `first` on, both function lists are `repr(C)`
        // sequences of `Option<unsafe extern "C" fn(..)>`, all of which share
        // one layout (a nullable code pointer, no padding); the entries are
        // only checked for null, never called through this type.
        .map(|i| unsafe { base.add(i).read() })
        .collect()
}

#[test]
fn every_entry_of_both_function_lists_is_set() {
    let v2 = entries(TestBackend::function_list_2_40(), offset_of!(CK_FUNCTION_LIST, C_Initialize));
    assert_eq!(v2.len(), 68);
    let unset: Vec<usize> = (0..v2.len()).filter(|&i| v2[i].is_none()).collect();
    assert!(unset.is_empty(), "2.40 entries not set: {unset:?}");

    let v3 = entries(TestBackend::function_list_3_0(), offset_of!(CK_FUNCTION_LIST_3_0, C_Initialize));
    assert_eq!(v3.len(), 92);
    let unset: Vec<usize> = (0..v3.len()).filter(|&i| v3[i].is_none()).collect();
    assert!(unset.is_empty(), "3.0 entries not set: {unset:?}");
}

#[test]
fn each_table_states_and_reports_its_own_version() {
    let v2 = TestBackend::function_list_2_40();
    let v3 = TestBackend::function_list_3_0();
    assert_eq!((v2.version.major, v2.version.minor), (2, 40));
    assert_eq!((v3.version.major, v3.version.minor), (3, 0));

    let mut info = CK_INFO::default();
    // SAFETY: `info` is a live local.
    unsafe {
        assert_eq!(v2.C_GetInfo.unwrap()(&mut info), CKR_OK);
        assert_eq!((info.cryptokiVersion.major, info.cryptokiVersion.minor), (2, 40));
        assert_eq!(v3.C_GetInfo.unwrap()(&mut info), CKR_OK);
        assert_eq!((info.cryptokiVersion.major, info.cryptokiVersion.minor), (3, 0));
    }
    assert_eq!(&info.manufacturerID, b"p11kms tests                    ");
    assert_eq!(&info.libraryDescription, b"test backend                    ");
    assert_eq!((info.libraryVersion.major, info.libraryVersion.minor), (0, 7));
    assert_eq!(info.flags, 0);
}

#[test]
fn every_path_hands_out_the_same_tables() {
    let v2 = ptr::from_ref(TestBackend::function_list_2_40()).cast_mut();
    let mut got: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: `got` is a live local.
    unsafe {
        assert_eq!(C_GetFunctionList(&mut got), CKR_OK);
        assert_eq!(got, v2, "exported C_GetFunctionList");
        got = null_mut();
        assert_eq!((*v2).C_GetFunctionList.unwrap()(&mut got), CKR_OK);
        assert_eq!(got, v2, "C_GetFunctionList inside the 2.40 table");
        got = null_mut();
        let v3 = TestBackend::function_list_3_0();
        assert_eq!(v3.C_GetFunctionList.unwrap()(&mut got), CKR_OK);
        assert_eq!(got, v2, "C_GetFunctionList inside the 3.0 table");
    }
}

fn name_of(interface: &CK_INTERFACE) -> &'static [u8] {
    // SAFETY: interface names are NUL-terminated static strings.
    unsafe { std::ffi::CStr::from_ptr(interface.pInterfaceName.cast()) }.to_bytes()
}

fn version_of(interface: &CK_INTERFACE) -> (u8, u8) {
    // SAFETY: every interface's function list begins with its CK_VERSION.
    let version = unsafe { *interface.pFunctionList.cast::<CK_VERSION>() };
    (version.major, version.minor)
}

#[test]
fn interface_list_offers_3_0_then_2_40() {
    let mut count: CK_ULONG = 0;
    let empty = CK_INTERFACE { pInterfaceName: null_mut(), pFunctionList: null_mut(), flags: 9 };
    let mut list = [empty; 3];
    // SAFETY: every pointer refers to a live local of the stated size.
    unsafe {
        assert_eq!(C_GetInterfaceList(null_mut(), &mut count), CKR_OK);
        assert_eq!(count, 2);
        count = 1;
        assert_eq!(C_GetInterfaceList(list.as_mut_ptr(), &mut count), CKR_BUFFER_TOO_SMALL);
        assert_eq!(count, 2);
        count = 3;
        assert_eq!(C_GetInterfaceList(list.as_mut_ptr(), &mut count), CKR_OK);
        assert_eq!(count, 2);
    }
    assert_eq!(list[0].pFunctionList, ptr::from_ref(TestBackend::function_list_3_0()).cast_mut().cast());
    assert_eq!(list[1].pFunctionList, ptr::from_ref(TestBackend::function_list_2_40()).cast_mut().cast());
    for interface in &list[..2] {
        assert_eq!(name_of(interface), b"PKCS 11");
        assert_eq!(interface.flags, 0);
    }
    assert_eq!((version_of(&list[0]), version_of(&list[1])), ((3, 0), (2, 40)));
    assert_eq!(list[2].flags, 9, "nothing written past the interfaces");
}

/// Calls the exported `C_GetInterface`; the version of what it returned.
fn get_interface(name: Option<&[u8]>, version: Option<(u8, u8)>, flags: CK_FLAGS) -> Result<(u8, u8), CK_RV> {
    let mut name = name.map(<[u8]>::to_vec);
    let name_ptr = name.as_mut().map_or(null_mut(), |n| n.as_mut_ptr());
    let mut version = version.map(|(major, minor)| CK_VERSION { major, minor });
    let version_ptr = version.as_mut().map_or(null_mut(), ptr::from_mut);
    let mut interface: *mut CK_INTERFACE = null_mut();
    // SAFETY: every pointer is null or refers to a live local; names are
    // NUL-terminated by the callers.
    let code = unsafe { C_GetInterface(name_ptr, version_ptr, &mut interface, flags) };
    if code != CKR_OK {
        return Err(code);
    }
    // SAFETY: on success, `interface` points into the static interface array.
    Ok(version_of(unsafe { &*interface }))
}

#[test]
fn get_interface_selects_by_name_version_and_flags() {
    assert_eq!(get_interface(None, None, 0), Ok((3, 0)));
    assert_eq!(get_interface(Some(b"PKCS 11\0"), None, 0), Ok((3, 0)));
    assert_eq!(get_interface(Some(b"PKCS 11\0"), Some((3, 0)), 0), Ok((3, 0)));
    assert_eq!(get_interface(None, Some((2, 40)), 0), Ok((2, 40)));
    assert_eq!(get_interface(None, Some((2, 20)), 0), Err(CKR_ARGUMENTS_BAD));
    assert_eq!(get_interface(None, Some((3, 1)), 0), Err(CKR_ARGUMENTS_BAD));
    assert_eq!(get_interface(Some(b"Vendor\0"), None, 0), Err(CKR_ARGUMENTS_BAD));
    assert_eq!(get_interface(Some(b"PKCS 11 \0"), None, 0), Err(CKR_ARGUMENTS_BAD));
    assert_eq!(get_interface(None, None, CKF_INTERFACE_FORK_SAFE), Err(CKR_ARGUMENTS_BAD));
    assert_eq!(get_interface(None, Some((2, 40)), CKF_INTERFACE_FORK_SAFE), Err(CKR_ARGUMENTS_BAD));
}

#[test]
fn the_3_0_table_offers_the_interface_functions() {
    let v3 = TestBackend::function_list_3_0();
    let mut interface: *mut CK_INTERFACE = null_mut();
    let mut version = CK_VERSION { major: 2, minor: 40 };
    // SAFETY: every pointer refers to a live local.
    let code = unsafe { v3.C_GetInterface.unwrap()(null_mut(), &mut version, &mut interface, 0) };
    assert_eq!(code, CKR_OK);
    // SAFETY: on success, `interface` points into the static interface array.
    assert_eq!(version_of(unsafe { &*interface }), (2, 40));
}
