//! The module's error type and the one place where an error becomes the
//! `CK_RV` the application sees.
//!
//! Two families meet here: PKCS#11 answers (decided by a rule of the
//! standard applied locally, or by the daemon, whose `CK_RV` passes through
//! unchanged) and failures of the way to the daemon (socket, framing,
//! protocol), which the application can only see as a device problem.

use std::io;

use p11kms_ffi::sys::{
    CKR_DATA_LEN_RANGE, CKR_DEVICE_ERROR, CKR_GENERAL_ERROR, CKR_OBJECT_HANDLE_INVALID, CKR_SESSION_HANDLE_INVALID,
};
use p11kms_proto::error::ProtocolError;
use p11kms_proto::{CkRv, CodecError, FrameError, MessageKind};

use crate::config::ConfigError;

/// Everything that can go wrong in the module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PKCS#11 answer: a local rule of the standard, or the daemon's own
    /// `CK_RV` for the request.
    #[error("{0}")]
    Rv(CkRv),
    /// The daemon's socket could not be reached.
    #[error("cannot connect to the daemon at {path}: {source}")]
    Connect {
        /// Socket path tried.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing the connection failed (or timed out).
    #[error("i/o error on the daemon connection: {0}")]
    Io(#[from] io::Error),
    /// A frame from the daemon broke the framing rules.
    #[error("bad frame from the daemon: {0}")]
    Frame(#[from] FrameError),
    /// The daemon closed the connection between frames, before answering.
    #[error("the daemon closed the connection")]
    Closed,
    /// A request could not be encoded (a bug on this side).
    #[error("cannot encode a request: {0}")]
    Encode(CodecError),
    /// A reply body did not decode.
    #[error("cannot decode the daemon's reply: {0}")]
    Decode(CodecError),
    /// The daemon refused the connection's framing and closed it.
    #[error("the daemon refused the connection: {0:?}")]
    Refused(ProtocolError),
    /// A frame of a kind the data plane never sends to a module.
    #[error("unexpected frame kind {0:?} from the daemon")]
    UnexpectedKind(MessageKind),
    /// The reply does not answer the request just sent.
    #[error("reply to request {got} while waiting for request {expected}")]
    RequestIdMismatch {
        /// The id sent.
        expected: u32,
        /// The id echoed.
        got: u32,
    },
    /// The reply variant does not fit the request.
    #[error("unexpected reply to {0}")]
    UnexpectedReply(&'static str),
    /// The request is larger than the daemon accepts.
    #[error("request body of {len} bytes is over the daemon's limit of {limit} bytes")]
    TooLarge {
        /// Encoded body length.
        len: usize,
        /// The daemon's `max_body_len`.
        limit: u32,
    },
    /// The daemon restarted since the session was opened: its sessions and
    /// logins are gone.
    #[error("the daemon restarted; the session is gone")]
    DaemonRestarted,
    /// The config file named by `P11KMS_CONFIG` is unusable.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The operating system's random source failed (client id).
    #[error("the OS random source failed: {0}")]
    Random(rand::rand_core::OsError),
}

impl Error {
    /// A PKCS#11 answer.
    pub fn rv(value: u64) -> Self {
        Self::Rv(CkRv(value))
    }

    /// This error, with `CKR_OBJECT_HANDLE_INVALID` (a handle that names
    /// no object) said as `invalid`: the code PKCS#11 gives the argument
    /// (`CKR_KEY_HANDLE_INVALID` for a key, `CKR_WRAPPING_KEY_HANDLE_INVALID`
    /// for a wrapping key, …).
    pub fn for_handle(self, invalid: u64) -> Self {
        if self.ck_rv().0 == CKR_OBJECT_HANDLE_INVALID { Self::rv(invalid) } else { self }
    }

    /// The `CK_RV` for this error: the only mapping in the module.
    pub fn ck_rv(&self) -> CkRv {
        let value = match self {
            Self::Rv(rv) => return *rv,
            // Whatever broke between here and the daemon, the application
            // can only do what it does for a failing device: report, retry
            // later. The next call opens a fresh connection.
            Self::Connect { .. } | Self::Io(_) | Self::Frame(_) | Self::Closed | Self::Refused(_) => CKR_DEVICE_ERROR,
            // A daemon that answers with garbage, with a reply for another
            // request or with the wrong reply type misbehaves like a broken
            // device: the connection is dropped and the call fails.
            Self::Decode(_) | Self::UnexpectedKind(_) | Self::RequestIdMismatch { .. } | Self::UnexpectedReply(_) => {
                CKR_DEVICE_ERROR
            }
            // Serializing our own request cannot fail for valid values: a
            // failure is a bug in this module, not a device problem.
            Self::Encode(_) => CKR_GENERAL_ERROR,
            // The only requests that grow without bound carry the
            // application's data.
            Self::TooLarge { .. } => CKR_DATA_LEN_RANGE,
            // PKCS#11: after the device lost its state, the session's handle
            // no longer names a session.
            Self::DaemonRestarted => CKR_SESSION_HANDLE_INVALID,
            // C_Initialize has no code for "misconfigured" or "no entropy":
            // the module cannot work, for a reason outside the application.
            Self::Config(_) | Self::Random(_) => CKR_GENERAL_ERROR,
        };
        CkRv(value)
    }

    /// True when the connection that produced this error can still carry
    /// requests: nothing was written or the exchange completed.
    pub fn keeps_connection(&self) -> bool {
        matches!(self, Self::Rv(_) | Self::TooLarge { .. } | Self::Encode(_) | Self::DaemonRestarted)
    }

    /// True when the error says the daemon could not be reached or talked
    /// to (as opposed to a PKCS#11 answer).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. }
                | Self::Io(_)
                | Self::Frame(_)
                | Self::Closed
                | Self::Decode(_)
                | Self::Refused(_)
                | Self::UnexpectedKind(_)
                | Self::RequestIdMismatch { .. }
                | Self::UnexpectedReply(_)
        )
    }
}

impl From<CkRv> for Error {
    fn from(rv: CkRv) -> Self {
        Self::Rv(rv)
    }
}

impl From<Error> for CkRv {
    fn from(error: Error) -> Self {
        error.ck_rv()
    }
}

/// Result with the module's error.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use p11kms_ffi::sys::CKR_PIN_INCORRECT;

    #[test]
    fn daemon_answers_pass_unchanged_and_transport_is_a_device_error() {
        assert_eq!(Error::rv(CKR_PIN_INCORRECT).ck_rv(), CkRv(CKR_PIN_INCORRECT));
        assert_eq!(Error::Closed.ck_rv(), CkRv(CKR_DEVICE_ERROR));
        assert_eq!(Error::Io(io::Error::other("x")).ck_rv(), CkRv(CKR_DEVICE_ERROR));
        assert_eq!(Error::DaemonRestarted.ck_rv(), CkRv(CKR_SESSION_HANDLE_INVALID));
        assert!(Error::rv(CKR_PIN_INCORRECT).keeps_connection());
        assert!(!Error::Closed.keeps_connection());
    }
}
