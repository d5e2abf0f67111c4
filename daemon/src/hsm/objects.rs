//! How key versions are named inside the HSMs, and the public half of an
//! asymmetric version as the daemon keeps it.
//!
//! Every object of a version carries `CKA_ID` = the version's UUID (16
//! bytes) and `CKA_LABEL` = `<key id>/<version id>`, on every member, so the
//! daemon can always find it again and an operator can read a token dump.

use serde::{Deserialize, Serialize};

use p11kms_proto::admin::{KeySpec, KeyUsage};

/// Label and id of the cluster's wrapping key on every member.
pub const CLUSTER_KEY_LABEL: &str = "p11kms-cluster-key";

/// DER of the OID of NIST P-256 (`CKA_EC_PARAMS`).
pub const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the OID of secp256k1 (`CKA_EC_PARAMS`).
pub const SECP256K1_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];

/// The HSM objects a version consists of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectRole {
    /// The AES key of a symmetric version.
    Secret,
    /// The private half of an asymmetric version.
    Private,
    /// The public half of an asymmetric version.
    Public,
}

/// Which key version to create or find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionName {
    /// `CKA_ID`: the version's UUID.
    pub id: [u8; 16],
    /// `CKA_LABEL`: `<key id>/<version id>`.
    pub label: String,
    /// Material kind.
    pub spec: KeySpec,
    /// Usage (decides `CKA_SIGN`/`CKA_DECRYPT`/... of the objects).
    pub usage: KeyUsage,
}

impl VersionName {
    /// The objects this version has on every member.
    pub fn roles(&self) -> &'static [ObjectRole] {
        if self.spec.is_symmetric() { &[ObjectRole::Secret] } else { &[ObjectRole::Private, ObjectRole::Public] }
    }
}

/// The public half of an asymmetric version, in PKCS#11's encodings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublicKey {
    /// RSA: `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`, big-endian.
    Rsa {
        /// Modulus.
        #[serde(with = "hex::serde")]
        modulus: Vec<u8>,
        /// Public exponent.
        #[serde(with = "hex::serde")]
        exponent: Vec<u8>,
    },
    /// EC: `CKA_EC_PARAMS` (curve OID) and `CKA_EC_POINT` (DER OCTET STRING).
    Ec {
        /// Curve.
        #[serde(with = "hex::serde")]
        params: Vec<u8>,
        /// Point.
        #[serde(with = "hex::serde")]
        point: Vec<u8>,
    },
}

impl PublicKey {
    /// As stored in the database.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// From the database.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// RSA modulus length in bits, if RSA.
    pub fn modulus_bits(&self) -> Option<u64> {
        match self {
            Self::Rsa { modulus, .. } => {
                let first = modulus.iter().position(|b| *b != 0)?;
                let lead = modulus[first];
                Some(((modulus.len() - first) * 8) as u64 - u64::from(lead.leading_zeros()))
            }
            Self::Ec { .. } => None,
        }
    }
}

/// `CKA_EC_PARAMS` of an EC spec.
pub fn ec_params(spec: KeySpec) -> Option<&'static [u8]> {
    match spec {
        KeySpec::EcP256 => Some(P256_PARAMS),
        KeySpec::EcP256K => Some(SECP256K1_PARAMS),
        _ => None,
    }
}

/// Modulus size of an RSA spec.
pub fn rsa_bits(spec: KeySpec) -> Option<u64> {
    match spec {
        KeySpec::Rsa2048 => Some(2048),
        KeySpec::Rsa3072 => Some(3072),
        _ => None,
    }
}

/// AES key length in bytes of a symmetric spec.
pub fn aes_len(spec: KeySpec) -> Option<u64> {
    match spec {
        KeySpec::Aes256 => Some(32),
        KeySpec::Aes128 => Some(16),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_round_trip_through_json() {
        let key = PublicKey::Ec { params: P256_PARAMS.to_vec(), point: vec![4, 1, 2] };
        assert_eq!(PublicKey::from_json(&key.to_json()).expect("parses"), key);
    }

    #[test]
    fn modulus_bits_ignores_leading_zeros() {
        let mut modulus = vec![0u8; 257];
        modulus[1] = 0x80;
        let key = PublicKey::Rsa { modulus, exponent: vec![1, 0, 1] };
        assert_eq!(key.modulus_bits(), Some(2048));
    }
}
