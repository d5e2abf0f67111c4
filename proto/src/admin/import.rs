//! Bring your own key: importing key material into EXTERNAL keys.

use serde::{Deserialize, Serialize};

use super::names::named_enum;
use crate::Timestamp;

named_enum! {
    /// How the material is wrapped for import.
    pub enum WrappingAlgorithm {
        /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        /// RSAES-PKCS1-v1_5.
        RsaesPkcs1V15 => "RSAES_PKCS1_V1_5",
    }
}

named_enum! {
    /// The wrapping key's kind.
    pub enum WrappingKeySpec {
        /// RSA, 2048-bit modulus.
        Rsa2048 => "RSA_2048",
    }
}

/// Answer to `get-parameters-for-import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportParameters {
    /// The key.
    pub key_id: String,
    /// Pass to `import-key-material`; valid until `TokenExpireTime`.
    pub import_token: String,
    /// The wrapping public key, SubjectPublicKeyInfo in PEM.
    pub public_key: String,
    /// When the token and the wrapping key expire (24 hours).
    pub token_expire_time: Timestamp,
}

/// Parameters of `get-parameters-for-import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetParametersForImportRequest {
    /// Key id or alias.
    pub key: String,
    /// How the material will be wrapped.
    pub wrapping_algorithm: WrappingAlgorithm,
    /// The wrapping key's kind.
    pub wrapping_key_spec: WrappingKeySpec,
}

/// Parameters of `import-key-material`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportKeyMaterialRequest {
    /// Key id or alias.
    pub key: String,
    /// From `get-parameters-for-import`.
    pub import_token: String,
    /// The material, wrapped under the token's public key.
    #[serde(with = "crate::bytes")]
    pub encrypted_key_material: Vec<u8>,
    /// When the material expires (Unix seconds); never when absent or 0.
    pub key_material_expire_unix: Option<i64>,
}
