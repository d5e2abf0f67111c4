//! Errors that cross the wire.
//!
//! * The data plane carries real PKCS#11 return values ([`CkRv`]) end to end,
//!   so the module hands the application exactly what the daemon decided.
//! * The admin plane carries the spec's error codes ([`ErrorCode`], printed
//!   as `Forbidden.KeyNotFound` and so on) with a human message.
//! * A peer that breaks the framing rules gets a [`ProtocolError`] and the
//!   connection is closed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A PKCS#11 `CK_RV` value as it travels on the data plane.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CkRv(pub u64);

impl fmt::Debug for CkRv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CkRv(0x{:08x})", self.0)
    }
}

impl fmt::Display for CkRv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CK_RV 0x{:08x}", self.0)
    }
}

impl std::error::Error for CkRv {}

/// The admin plane's error codes: the spec's names, one variant each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The key (by id or alias) does not exist.
    KeyNotFound,
    /// The alias does not exist.
    AliasNotFound,
    /// Another named resource (instance, app, cluster, version) does not exist.
    ResourceNotFound,
    /// The key is Disabled.
    Disabled,
    /// The key is PendingDeletion.
    PendingDeletion,
    /// The key waits for imported material.
    PendingImport,
    /// The key's state does not allow this change.
    StateModifiedFailed,
    /// A resource with this name already exists.
    ResourceExist,
    /// The alias is taken.
    AliasAlreadyExists,
    /// A quota is full.
    LimitExceeded,
    /// The operation does not apply to this resource.
    UnsupportedOperation,
    /// A parameter is missing, malformed or out of range.
    InvalidParameter,
    /// The caller may not do this.
    NoPermission,
    /// The HSM cluster cannot serve the request right now.
    ServiceUnavailable,
    /// A fault inside the daemon; the message says more.
    InternalFailure,
    /// A ciphertext blob is malformed, was changed, belongs to another key
    /// or context, or its key version is gone.
    InvalidCiphertext,
    /// The test clock's commands without the test clock, or a schedule
    /// change the clock refuses.
    ClockNotManual,
    /// No admin operation has the call's opcode (a newer client).
    UnknownOperation,
    /// The key version's material was lost with its cluster: no HSM holds
    /// it any more (recorded by `instance attach-cluster --force`).
    KeyVersionLost,
    /// The change would lose key versions; the message lists them, and the
    /// operation takes `--force` to go ahead.
    VersionsWouldBeLost,
    /// The secret is pending deletion: it cannot be read or changed until
    /// `RestoreSecret`.
    SecretPendingDeletion,
    /// A retained backup past its expiry date: everything but renewal is
    /// refused.
    BackupExpired,
}

impl ErrorCode {
    /// The code as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyNotFound => "Forbidden.KeyNotFound",
            Self::AliasNotFound => "Forbidden.AliasNotFound",
            Self::ResourceNotFound => "Forbidden.ResourceNotFound",
            Self::Disabled => "Rejected.Disabled",
            Self::PendingDeletion => "Rejected.PendingDeletion",
            Self::PendingImport => "Rejected.PendingImport",
            Self::StateModifiedFailed => "Rejected.StateModifiedFailed",
            Self::ResourceExist => "Rejected.ResourceExist",
            Self::AliasAlreadyExists => "AliasAlreadyExists",
            Self::LimitExceeded => "Rejected.LimitExceeded",
            Self::UnsupportedOperation => "Rejected.UnsupportedOperation",
            Self::InvalidParameter => "InvalidParameter",
            Self::NoPermission => "Forbidden.NoPermission",
            Self::ServiceUnavailable => "ServiceUnavailableTemporary",
            Self::InternalFailure => "InternalFailure",
            Self::InvalidCiphertext => "Rejected.InvalidCiphertext",
            Self::ClockNotManual => "Rejected.ClockNotManual",
            Self::UnknownOperation => "InvalidAction.NotFound",
            Self::KeyVersionLost => "Rejected.KeyVersionLost",
            Self::VersionsWouldBeLost => "Rejected.VersionsWouldBeLost",
            Self::SecretPendingDeletion => "Rejected.SecretPendingDeletion",
            Self::BackupExpired => "Rejected.BackupExpired",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An admin-plane failure: a spec code and a message for humans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// What kind of failure, as the spec names it.
    pub code: ErrorCode,
    /// What happened, for the operator.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// Why the daemon refused a frame before reading it as a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// The frame did not start with the magic.
    BadMagic,
    /// The peer's major version is not spoken here.
    UnsupportedMajor,
    /// The body is over the limit.
    BodyTooLong,
    /// The message kind is unknown or not expected on this socket.
    UnexpectedKind,
    /// The body is not a valid message.
    MalformedBody,
    /// The peer is not allowed on this socket.
    NotAuthorized,
    /// The daemon is shutting down or at its connection limit.
    Unavailable,
}

/// Body of a [`crate::MessageKind::ProtocolError`] frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolError {
    /// The rule that was broken.
    pub kind: ProtocolErrorKind,
    /// Details for a human.
    pub message: String,
    /// The major version the daemon speaks, so a client can say what to upgrade.
    pub server_major: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_as_the_spec_names_them() {
        assert_eq!(ErrorCode::KeyNotFound.to_string(), "Forbidden.KeyNotFound");
        assert_eq!(ErrorCode::UnsupportedOperation.to_string(), "Rejected.UnsupportedOperation");
        let err = ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist");
        assert_eq!(err.to_string(), "Forbidden.KeyNotFound: key 'k-1' does not exist");
    }
}
