//! The secret the secret workloads read (1 KiB, made on `hsm1` through the
//! CLI at set-up), and its PKCS#11 read: `C_FindObjectsInit` by class and
//! label, `C_FindObjects`, `C_FindObjectsFinal`, then one
//! `C_GetAttributeValue(CKA_VALUE)` into a buffer that holds any secret.
//!
//! The cryptoki crate's `get_attributes` asks the length first and then
//! the value (two calls, so two reads of the secret); an application that
//! knows values are at most 30 KiB asks once, and that is what is measured.
//! The one call goes through the module's own function list.

use std::ffi::CString;
use std::path::Path;
use std::process::Command;

use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::Session;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_PTR, CK_C_GetFunctionList, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG,
    CKA_VALUE, CKR_OK,
};

use crate::Result;

/// The secret's name (and its object's label).
pub const NAME: &str = "bench-secret";
/// Its value's size.
pub const SIZE: usize = 1024;
/// The largest secret value (`docs/secrets.md`): a buffer of this size
/// takes any value in one call.
const MAX_VALUE: usize = 30 * 1024;

/// Makes the secret on `hsm1` with `p11kms secret create`.
pub fn create(bin: &Path, admin_socket: &Path, dir: &Path) -> Result<()> {
    let file = dir.join("bench-secret-value");
    std::fs::write(&file, "s".repeat(SIZE))?;
    let out = Command::new(bin.join("p11kms"))
        .args(["secret", "create", NAME, "--instance", "hsm1", "--version-id", "v1", "--secret-data-file"])
        .arg(&file)
        .env("P11KMS_ADMIN_SOCKET", admin_socket)
        .output()?;
    if !out.status.success() {
        return Err(format!("p11kms secret create: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// `C_GetAttributeValue` of a loaded module, called directly.
#[derive(Debug, Clone, Copy)]
pub struct RawGetAttribute(
    unsafe extern "C" fn(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG) -> CK_RV,
);

impl RawGetAttribute {
    /// From `module`'s function list; the module must be loaded already
    /// (it is not loaded a second time, and stays loaded).
    pub fn of(module: &Path) -> Result<Self> {
        let path = CString::new(module.to_str().ok_or("module path")?)?;
        // SAFETY: RTLD_NOLOAD only finds the library cryptoki loaded; the
        // handle is never closed, so the table stays valid.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
        if handle.is_null() {
            return Err("the module is not loaded".into());
        }
        // SAFETY: a valid handle and a NUL-terminated name.
        let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
        if symbol.is_null() {
            return Err("no C_GetFunctionList".into());
        }
        // SAFETY: the PKCS#11 signature of C_GetFunctionList.
        let get: CK_C_GetFunctionList = unsafe { std::mem::transmute(symbol) };
        let get = get.ok_or("no C_GetFunctionList")?;
        let mut list = std::ptr::null_mut();
        // SAFETY: `list` receives a pointer to the module's static table.
        if unsafe { get(&mut list) } != CKR_OK || list.is_null() {
            return Err("C_GetFunctionList failed".into());
        }
        // SAFETY: the table is a static of the library, which stays loaded.
        let get_attribute = unsafe { (*list).C_GetAttributeValue };
        Ok(Self(get_attribute.ok_or("no C_GetAttributeValue")?))
    }
}

/// One read of the secret's value; returns its length.
pub fn read(session: &Session, raw: RawGetAttribute) -> Result<usize> {
    let found = session.find_objects(&[Attribute::Class(ObjectClass::DATA), Attribute::Label(NAME.into())])?;
    let [object] = found[..] else {
        return Err(format!("{} objects labelled {NAME}", found.len()).into());
    };
    let mut value = vec![0u8; MAX_VALUE];
    let mut template =
        [CK_ATTRIBUTE { type_: CKA_VALUE, pValue: value.as_mut_ptr().cast(), ulValueLen: value.len() as u64 }];
    // SAFETY: a live session and object of this module, and a template of
    // one attribute whose buffer is `value`, alive for the call.
    let rv = unsafe { (raw.0)(session.handle(), object.handle(), template.as_mut_ptr(), 1) };
    if rv != CKR_OK {
        return Err(format!("C_GetAttributeValue: {rv:#x}").into());
    }
    Ok(template[0].ulValueLen as usize)
}
