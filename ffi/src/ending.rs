//! PKCS#11's rule for ending an operation, applied in one place.
//!
//! PKCS#11 (2.40 and 3.0, §5.2 and the description of each function) ends
//! the active operation on every call that continues or finishes it
//! (`C_Encrypt`, `C_EncryptUpdate`, `C_EncryptFinal`, their decrypt, sign,
//! verify and digest counterparts, `C_DigestKey`) unless the call returns
//! `CKR_BUFFER_TOO_SMALL` or is a successful length query. Many of those
//! failures are found here at the boundary (a null data or length pointer
//! is `CKR_ARGUMENTS_BAD`, an input over the bound a `…_LEN_RANGE`),
//! before the backend sees the call, so the backend alone cannot keep the
//! rule: every such export runs through [`continuing`], which asks the
//! backend to end the operation whenever the call fails, whoever failed it.

use cryptoki_sys::{CK_RV, CK_SESSION_HANDLE, CKR_FUNCTION_NOT_SUPPORTED, CKR_OPERATION_NOT_INITIALIZED};
use p11kms_proto::CkRv;

use crate::backend::{Backend, Operation, Result};
use crate::guard::initialized;

/// Runs the body of an export that continues or ends `operations` on
/// `session` (two for the dual-function updates), as [`initialized`] does,
/// and ends them when the body fails. `Ok` answers (`CKR_OK`, including a
/// length query, and `CKR_BUFFER_TOO_SMALL`) leave them as the backend
/// left them.
pub(crate) fn continuing<B: Backend>(
    session: CK_SESSION_HANDLE,
    operations: &[Operation],
    body: impl FnOnce() -> Result<CK_RV>,
) -> CK_RV {
    initialized::<B>(|| {
        let result = body();
        if let Err(code) = result
            && ends(code)
        {
            for &operation in operations {
                B::end_operation(session, operation);
            }
        }
        result
    })
}

/// Whether a failed call ends the operation. Two failures do not:
/// `CKR_OPERATION_NOT_INITIALIZED` says the call found none to end (and one
/// that another thread started since must not be ended in its place), and
/// `CKR_FUNCTION_NOT_SUPPORTED` says the function does not exist here, so
/// it continued nothing (an application probing for `C_DigestEncryptUpdate`
/// keeps its digest and encryption).
fn ends(code: CkRv) -> bool {
    !matches!(code.0, CKR_OPERATION_NOT_INITIALIZED | CKR_FUNCTION_NOT_SUPPORTED)
}

#[cfg(test)]
mod tests {
    use cryptoki_sys::{CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_KEY_HANDLE_INVALID};

    use super::*;

    #[test]
    fn every_failure_ends_but_no_operation_and_no_function() {
        for code in [CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_KEY_HANDLE_INVALID] {
            assert!(ends(CkRv(code)), "{code:#x}");
        }
        assert!(!ends(CkRv(CKR_OPERATION_NOT_INITIALIZED)));
        assert!(!ends(CkRv(CKR_FUNCTION_NOT_SUPPORTED)));
    }
}
