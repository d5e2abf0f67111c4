//! Who a uid is: the user name the system gives it, looked up once per
//! uid and remembered (the password database does not change under a
//! running daemon often enough to matter, and a lookup can be slow).

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Mutex;

/// User names by uid.
#[derive(Debug, Default)]
pub struct UserNames(Mutex<HashMap<u32, Option<String>>>);

impl UserNames {
    /// The name of `uid`, if the system knows one.
    pub fn name(&self, uid: u32) -> Option<String> {
        let Ok(mut known) = self.0.lock() else {
            return lookup(uid);
        };
        known.entry(uid).or_insert_with(|| lookup(uid)).clone()
    }
}

fn lookup(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    // SAFETY: an all-zero passwd is valid (null pointers, zero ids); it is
    // filled by getpwuid_r below before being read.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buffer` outlives the
    // use of the strings getpwuid_r points into it.
    let status = unsafe { libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found) };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded: pw_name is a NUL-terminated string
    // inside `buffer`, which is still alive.
    let name = unsafe { CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_root_and_a_uid_without_a_user_has_no_name() {
        let names = UserNames::default();
        assert_eq!(names.name(0).as_deref(), Some("root"));
        assert_eq!(names.name(4_000_000_000), None);
    }
}
