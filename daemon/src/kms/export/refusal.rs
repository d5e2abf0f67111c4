//! Why a caller's public key cannot take a data key: the refusals of
//! `GenerateAndExportDataKey` and `ExportDataKey` about `PublicKeyBlob`,
//! all `InvalidParameter` (`kms::error`). Apart from the operations, so
//! that the error type depends on nothing of the KMS model.

use p11kms_proto::admin::{ExportWrappingKeySpec, WrappingAlgorithm};

use crate::encoding::DerError;

/// Why a caller's public key cannot take a data key (`InvalidParameter`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The blob is not a DER SubjectPublicKeyInfo.
    #[error("PublicKeyBlob is not a DER SubjectPublicKeyInfo (the base64 of `openssl pkey -pubout -outform DER`): {0}")]
    Malformed(DerError),
    /// The blob is a SubjectPublicKeyInfo of another kind of key.
    #[error(
        "PublicKeyBlob is not an RSA public key: data keys are exported under RSA keys only \
         (WrappingKeySpec RSA_2048, RSA_3072 or RSA_4096)"
    )]
    NotRsa,
    /// The modulus is not the size `WrappingKeySpec` names.
    #[error("PublicKeyBlob is an RSA key of {bits} bits, not of {} bits as WrappingKeySpec {spec} says", spec.modulus_bits())]
    WrongSize {
        /// The public key's modulus size.
        bits: usize,
        /// What the caller said it is.
        spec: ExportWrappingKeySpec,
    },
    /// The RSA numbers are not a usable public key (an exponent out of
    /// range, for one).
    #[error("PublicKeyBlob is not a usable RSA public key: {0}")]
    Unusable(String),
    /// The data key does not fit one encryption under this key.
    #[error(
        "a data key of {length} bytes is longer than {algorithm} can encrypt under an {spec} key \
         (at most {max} bytes): ask for a shorter one, or use a larger key"
    )]
    DataKeyTooLong {
        /// The data key's length.
        length: usize,
        /// The most the key and algorithm take.
        max: usize,
        /// The algorithm.
        algorithm: WrappingAlgorithm,
        /// The key's kind.
        spec: ExportWrappingKeySpec,
    },
}
