//! What can go wrong between the daemon and its HSMs.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki_sys::{CK_RV, CKR_DEVICE_ERROR, CKR_GENERAL_ERROR};

/// An HSM operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The PKCS#11 library returned an error.
    #[error("{context}: {source}")]
    Pkcs11 {
        /// What the daemon was doing.
        context: String,
        /// The library's error.
        source: CkError,
    },
    /// The library could not be loaded or prepared.
    #[error("cannot load PKCS#11 module {path}: {reason}")]
    Module {
        /// Module path.
        path: String,
        /// Why.
        reason: String,
    },
    /// No token with this label in the module.
    #[error("no token labelled '{0}'")]
    TokenNotFound(String),
    /// An object the store knows of is missing on a member.
    #[error("object {0} is missing on member {1}")]
    ObjectMissing(String, String),
    /// No member can serve the request.
    #[error("no healthy member in cluster '{0}'")]
    NoHealthyMember(String),
    /// Files of a managed token could not be prepared.
    #[error("token files: {0}")]
    Io(#[from] std::io::Error),
    /// A value read from the HSM does not have the expected shape.
    #[error("unexpected value from HSM: {0}")]
    Unexpected(String),
}

impl HsmError {
    /// Wraps a cryptoki error with what the daemon was doing.
    pub fn pkcs11(context: impl Into<String>, source: CkError) -> Self {
        Self::Pkcs11 { context: context.into(), source }
    }

    /// The `CK_RV` an application should see for this failure: the HSM's own
    /// answer where there is one, a device error otherwise.
    pub fn ck_rv(&self) -> CK_RV {
        match self {
            Self::Pkcs11 { source: CkError::Pkcs11(rv, _), .. } => super::rv::ck_rv(*rv),
            Self::Pkcs11 { .. } | Self::Unexpected(_) => CKR_GENERAL_ERROR,
            _ => CKR_DEVICE_ERROR,
        }
    }

    /// True when the member itself is in trouble (not the request): the
    /// session or token is gone, or the device failed. `CKR_GENERAL_ERROR`
    /// is not counted: SoftHSM also answers it for a bad AES-GCM tag, which
    /// any client can send.
    pub fn is_device_fault(&self) -> bool {
        match self {
            Self::Pkcs11 { source: CkError::Pkcs11(rv, _), .. } => matches!(
                rv,
                RvError::DeviceError
                    | RvError::DeviceMemory
                    | RvError::DeviceRemoved
                    | RvError::TokenNotPresent
                    | RvError::TokenNotRecognized
                    | RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::CryptokiNotInitialized
                    | RvError::UserNotLoggedIn
            ),
            Self::Module { .. } | Self::TokenNotFound(_) | Self::Io(_) | Self::NoHealthyMember(_) => true,
            _ => false,
        }
    }
}

impl HsmError {
    /// True when an object handle the daemon cached no longer names an
    /// object on the token (it was removed behind the daemon's back).
    pub fn is_stale_handle(&self) -> bool {
        matches!(
            self,
            Self::Pkcs11 { source: CkError::Pkcs11(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid, _), .. }
        )
    }

    /// True when a member failed a write it should have been able to do: a
    /// device fault, `CKR_GENERAL_ERROR` (which SoftHSM answers when its
    /// token files are gone; on a write with the daemon's own templates it
    /// cannot be the caller's fault, unlike a failed GCM tag check), or one
    /// of the daemon's own objects (the cluster key) gone from it.
    pub fn is_member_failure(&self) -> bool {
        self.is_device_fault()
            || self.is_stale_handle()
            || matches!(self, Self::ObjectMissing(..))
            || matches!(
                self,
                Self::Pkcs11 {
                    source: CkError::Pkcs11(
                        RvError::GeneralError
                            | RvError::FunctionFailed
                            | RvError::UnwrappingKeyHandleInvalid
                            | RvError::WrappingKeyHandleInvalid,
                        _
                    ),
                    ..
                }
            )
    }

    /// True when another member may well succeed where this one failed:
    /// the device failed, or the object is gone from this member.
    pub fn worth_another_member(&self) -> bool {
        self.is_device_fault() || self.is_stale_handle() || matches!(self, Self::ObjectMissing(..))
    }
}

/// Adds context to cryptoki results.
pub trait Context<T> {
    /// Names what was being done when it failed.
    fn context(self, what: impl FnOnce() -> String) -> Result<T, HsmError>;
}

impl<T> Context<T> for Result<T, CkError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, HsmError> {
        self.map_err(|source| HsmError::pkcs11(what(), source))
    }
}
