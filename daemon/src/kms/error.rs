//! The KMS layer's errors, and the one place where each becomes either a
//! spec error code (admin plane) or a `CK_RV` (data plane).

use cryptoki_sys::*;

use p11kms_proto::{ApiError, ErrorCode};

use super::export::refusal::PublicKeyError;
use crate::hsm::HsmError;
use crate::store::StoreError;

/// A KMS operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// No key with this id or alias.
    #[error("key '{0}' does not exist")]
    KeyNotFound(String),
    /// No such alias.
    #[error("alias '{0}' does not exist")]
    AliasNotFound(String),
    /// Another named resource is missing.
    #[error("{what} '{name}' does not exist")]
    NotFound {
        /// Kind of resource.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The name is taken.
    #[error("{what} '{name}' already exists")]
    Exists {
        /// Kind of resource.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The alias is taken.
    #[error("alias '{0}' already exists")]
    AliasExists(String),
    /// A parameter is wrong.
    #[error("{0}")]
    InvalidParameter(String),
    /// A quota is full.
    #[error("{0}")]
    LimitExceeded(String),
    /// The operation does not apply.
    #[error("{0}")]
    Unsupported(String),
    /// The key is disabled.
    #[error("key '{0}' is disabled")]
    Disabled(String),
    /// The key is pending deletion.
    #[error("key '{0}' is pending deletion")]
    PendingDeletion(String),
    /// The key waits for imported material.
    #[error("key '{0}' waits for imported key material")]
    PendingImport(String),
    /// The key's state does not allow the change.
    #[error("{0}")]
    StateModifiedFailed(String),
    /// A ciphertext blob cannot be decrypted.
    #[error("{0}")]
    InvalidCiphertext(String),
    /// Imported key material was refused (it does not unwrap with the
    /// token's key, or is not 256 bits).
    #[error("the key material cannot be imported: {0}")]
    MaterialRefused(String),
    /// A caller's public key cannot take a data key (ExportDataKey,
    /// GenerateAndExportDataKey).
    #[error("{0}")]
    PublicKeyRefused(#[from] PublicKeyError),
    /// The caller may not do this.
    #[error("{0}")]
    NoPermission(String),
    /// The key is a service key: only the daemon manages it
    /// (`kms::keys::service`).
    #[error(
        "key '{key}' is a service key: the daemon made it for its own use ({creator}) and alone manages it, \
         so it cannot {refused}"
    )]
    ServiceKey {
        /// The key.
        key: String,
        /// Its creator, `service:<feature>`.
        creator: String,
        /// What was refused, as the end of the sentence (`be disabled`).
        refused: &'static str,
    },
    /// The alias is in the space of service keys (`alias/acs/`).
    #[error(
        "alias '{0}' is in the 'alias/acs/' space, which belongs to the daemon's service keys: \
         users cannot create, move or delete aliases there"
    )]
    ServiceAlias(String),
    /// The key version's material is lost: no HSM holds it any more.
    #[error(
        "key version '{version}' of key '{key}' was lost with its cluster: no HSM holds its material any more \
         (rotate the key, or re-encrypt under another version, for new work)"
    )]
    VersionLost {
        /// The key.
        key: String,
        /// The version.
        version: String,
    },
    /// A change would lose key versions; the caller must insist.
    #[error("{0}")]
    WouldLoseVersions(String),
    /// No secret with this name.
    #[error("secret '{0}' does not exist")]
    SecretNotFound(String),
    /// The secret has no such version (by id or stage).
    #[error("secret '{secret}' has no version {version}")]
    SecretVersionNotFound {
        /// The secret.
        secret: String,
        /// The version asked for, as asked (`'v1'`, `with stage 'ACSCurrent'`).
        version: String,
    },
    /// The secret is in its recovery window.
    #[error(
        "secret '{0}' is pending deletion: it cannot be read or changed until `p11kms secret restore` ends its recovery window"
    )]
    SecretPendingDeletion(String),
    /// A retained backup past its expiry date.
    #[error("backup '{0}' expired: only `p11kms backup renew` is taken until it is renewed or removed")]
    BackupExpired(String),
    /// A test-clock command without the test clock.
    #[error("the daemon runs on the system clock; start it with --test-clock (or clock = \"manual\") to move time")]
    ClockNotManual,
    /// The HSM failed.
    #[error("HSM: {0}")]
    Hsm(#[from] HsmError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Something inside the daemon went wrong.
    #[error("internal error: {0}")]
    Internal(String),
}

impl KmsError {
    /// The spec's error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::KeyNotFound(_) => ErrorCode::KeyNotFound,
            Self::AliasNotFound(_) => ErrorCode::AliasNotFound,
            Self::NotFound { .. } => ErrorCode::ResourceNotFound,
            Self::Exists { .. } => ErrorCode::ResourceExist,
            Self::AliasExists(_) => ErrorCode::AliasAlreadyExists,
            Self::InvalidParameter(_) | Self::MaterialRefused(_) | Self::PublicKeyRefused(_) => {
                ErrorCode::InvalidParameter
            }
            Self::LimitExceeded(_) => ErrorCode::LimitExceeded,
            Self::Unsupported(_) => ErrorCode::UnsupportedOperation,
            // The operation does not apply to the daemon's own keys, for
            // anyone: not a permission the caller lacks (`NoPermission`).
            Self::ServiceKey { .. } | Self::ServiceAlias(_) => ErrorCode::UnsupportedOperation,
            Self::Disabled(_) => ErrorCode::Disabled,
            Self::PendingDeletion(_) => ErrorCode::PendingDeletion,
            Self::PendingImport(_) => ErrorCode::PendingImport,
            Self::StateModifiedFailed(_) => ErrorCode::StateModifiedFailed,
            Self::InvalidCiphertext(_) => ErrorCode::InvalidCiphertext,
            Self::ClockNotManual => ErrorCode::ClockNotManual,
            Self::NoPermission(_) => ErrorCode::NoPermission,
            Self::VersionLost { .. } => ErrorCode::KeyVersionLost,
            Self::WouldLoseVersions(_) => ErrorCode::VersionsWouldBeLost,
            Self::SecretNotFound(_) | Self::SecretVersionNotFound { .. } => ErrorCode::ResourceNotFound,
            Self::SecretPendingDeletion(_) => ErrorCode::SecretPendingDeletion,
            Self::BackupExpired(_) => ErrorCode::BackupExpired,
            Self::Hsm(e) if e.is_device_fault() => ErrorCode::ServiceUnavailable,
            Self::Hsm(_) | Self::Store(_) | Self::Internal(_) => ErrorCode::InternalFailure,
        }
    }

    /// The admin plane's answer.
    pub fn to_api(&self) -> ApiError {
        ApiError::new(self.code(), self.to_string())
    }

    /// The data plane's answer (see `docs/pkcs11.md`).
    pub fn ck_rv(&self) -> CK_RV {
        match self {
            Self::KeyNotFound(_) | Self::AliasNotFound(_) => CKR_OBJECT_HANDLE_INVALID,
            Self::NotFound { .. } => CKR_SLOT_ID_INVALID,
            Self::Exists { .. } | Self::AliasExists(_) | Self::InvalidParameter(_) => CKR_ATTRIBUTE_VALUE_INVALID,
            Self::LimitExceeded(_) => CKR_DEVICE_MEMORY,
            Self::Unsupported(_) => CKR_FUNCTION_NOT_SUPPORTED,
            Self::Disabled(_) | Self::PendingDeletion(_) | Self::PendingImport(_) => CKR_KEY_FUNCTION_NOT_PERMITTED,
            Self::StateModifiedFailed(_) => CKR_ACTION_PROHIBITED,
            Self::InvalidCiphertext(_) => CKR_ENCRYPTED_DATA_INVALID,
            Self::MaterialRefused(_) => CKR_WRAPPED_KEY_INVALID,
            // Only the admin plane exports data keys; were a data-plane
            // call to get this, the public key is a bad argument.
            Self::PublicKeyRefused(_) => CKR_ARGUMENTS_BAD,
            Self::ClockNotManual => CKR_FUNCTION_NOT_SUPPORTED,
            Self::NoPermission(_) => CKR_ACTION_PROHIBITED,
            // Apps never see a service key (`data::access`); should one be
            // reached anyway, a change to it is prohibited by the token.
            Self::ServiceKey { .. } => CKR_ACTION_PROHIBITED,
            // A `CKA_LABEL` that would make an `alias/acs/` alias.
            Self::ServiceAlias(_) => CKR_ATTRIBUTE_VALUE_INVALID,
            // The key is there but cannot do anything: as for a disabled key.
            Self::VersionLost { .. } => CKR_KEY_FUNCTION_NOT_PERMITTED,
            Self::WouldLoseVersions(_) => CKR_ACTION_PROHIBITED,
            // A secret is an object to the data plane (`CKO_DATA`).
            Self::SecretNotFound(_) | Self::SecretVersionNotFound { .. } => CKR_OBJECT_HANDLE_INVALID,
            Self::SecretPendingDeletion(_) | Self::BackupExpired(_) => CKR_ACTION_PROHIBITED,
            Self::Hsm(e) => e.ck_rv(),
            Self::Store(_) | Self::Internal(_) => CKR_GENERAL_ERROR,
        }
    }
}
