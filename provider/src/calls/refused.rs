//! The module's answers to the boundary's questions about inputs: how long
//! an operation's input may be, and ending an operation whose call the
//! boundary refused (see `p11kms_ffi::limits`).
//!
//! Both are answered from memory: a refused call must come back at once,
//! so nothing here waits for the daemon.

use p11kms_ffi::Operation;
use p11kms_ffi::limits::MAX_DATA_LEN;
use p11kms_ffi::sys::CK_SESSION_HANDLE;

use crate::module::Module;
use crate::operations::OpKind;

/// The daemon-backed operation kind of a boundary operation, if it is one.
fn kind_of(operation: Operation) -> Option<OpKind> {
    match operation {
        Operation::Encrypt => Some(OpKind::Encrypt),
        Operation::Decrypt => Some(OpKind::Decrypt),
        Operation::Sign => Some(OpKind::Sign),
        Operation::Verify => Some(OpKind::Verify),
        // Digests are computed here; recovery is not offered.
        Operation::Digest | Operation::SignRecover | Operation::VerifyRecover => None,
    }
}

impl Module {
    /// The longest input of one call of `operation`: what the daemon said it
    /// takes in one request (`Welcome.max_body_len`; 16 MiB before the first
    /// connection), since every operation sends its input whole. Digests are
    /// computed here and never sent; they take the boundary's cap.
    pub fn max_input_len(&self, operation: Operation) -> usize {
        match operation {
            Operation::Digest => MAX_DATA_LEN,
            _ => self.pool.body_limit().min(MAX_DATA_LEN),
        }
    }

    /// Ends `operation` on `session`, if the session is open and one is
    /// active: the boundary refused a call that continued or ended it.
    /// Buffered input and kept output are wiped as the operation drops.
    pub fn end_operation(&self, session: CK_SESSION_HANDLE, operation: Operation) {
        let mut tables = self.tables();
        let Some(found) = tables.sessions.get_open(session) else {
            return;
        };
        match kind_of(operation) {
            Some(kind) => *found.op_mut(kind) = None,
            None if operation == Operation::Digest => found.digest = None,
            None => {}
        }
    }
}
