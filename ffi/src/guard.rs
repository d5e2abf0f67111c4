//! The panic guard, the initialization check, and the one place where a
//! `Result` becomes a `CK_RV`.
//!
//! Every export runs its body through [`guard`]. A panic must never unwind
//! into the application (that is undefined behaviour across `extern "C"`, and
//! Rust would abort the host process); it becomes `CKR_GENERAL_ERROR`
//! instead. This needs `panic = "unwind"`, which the workspace's release
//! profile sets; with `panic = "abort"` a panic still ends the process.
//!
//! Every export except `C_Initialize` and the three table getters runs
//! through [`initialized`] instead, which answers
//! `CKR_CRYPTOKI_NOT_INITIALIZED` before the body reads any argument: test
//! suites call functions before `C_Initialize` with structures they never
//! filled in, and a module that trusts their lengths takes its host down.

use std::panic::{AssertUnwindSafe, catch_unwind};

use cryptoki_sys::{CK_RV, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR, CKR_OK};
use p11kms_proto::CkRv;

use crate::backend::{Backend, Result};

/// A `CK_RV` constant as the error type of [`Result`].
pub(crate) const fn rv(code: CK_RV) -> CkRv {
    // CK_RV is CK_ULONG, 64 bits on the LP64 platforms this project supports.
    CkRv(code)
}

/// Runs an export's body: `Ok(rv)` is returned as is (`CKR_OK`, or a
/// non-error outcome such as `CKR_BUFFER_TOO_SMALL` after the length was
/// written), `Err(rv)` is the error, a panic is `CKR_GENERAL_ERROR`.
pub(crate) fn guard(body: impl FnOnce() -> Result<CK_RV>) -> CK_RV {
    // AssertUnwindSafe: after a panic nothing in this frame is used again;
    // the backend's own state is its business (it should poison or reset).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        // An error that says "OK" would leave the caller reading outputs
        // that were never written: that is a backend bug, not success.
        Ok(Err(CkRv(0))) => CKR_GENERAL_ERROR,
        Ok(Err(CkRv(code))) => code,
        Err(_) => CKR_GENERAL_ERROR,
    }
}

/// Runs an export's body, as [`guard`], only when the backend is
/// initialized; otherwise answers `CKR_CRYPTOKI_NOT_INITIALIZED` without
/// touching the arguments (the body is where they are read).
pub(crate) fn initialized<B: Backend>(body: impl FnOnce() -> Result<CK_RV>) -> CK_RV {
    guard(|| if B::is_initialized() { body() } else { Err(rv(CKR_CRYPTOKI_NOT_INITIALIZED)) })
}

/// The success value of an export body.
pub(crate) const OK: Result<CK_RV> = Ok(CKR_OK);

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys::{CKR_ARGUMENTS_BAD, CKR_BUFFER_TOO_SMALL};

    #[test]
    fn results_map_to_return_values() {
        assert_eq!(guard(|| OK), CKR_OK);
        assert_eq!(guard(|| Ok(CKR_BUFFER_TOO_SMALL)), CKR_BUFFER_TOO_SMALL);
        assert_eq!(guard(|| Err(rv(CKR_ARGUMENTS_BAD))), CKR_ARGUMENTS_BAD);
        assert_eq!(guard(|| Err(CkRv(0))), CKR_GENERAL_ERROR);
    }

    #[test]
    fn a_panic_is_a_general_error() {
        assert_eq!(guard(|| panic!("backend bug")), CKR_GENERAL_ERROR);
    }
}
