//! The ciphertext blob of KMS envelope encryption (`Encrypt`,
//! `GenerateDataKey`, the PKCS#11 vendor mechanism): it names the key and
//! key version that made it, so decryption needs no key id, and its whole
//! header is authenticated. Layout (version 1):
//!
//! ```text
//! offset   size  field
//!      0      4  magic "P11C"
//!      4      1  format version (1)
//!      5      1  algorithm: 1 = AES-256-GCM, 2 = AES-128-GCM
//!      6      1  key id length L (1..=64)
//!      7      L  key id, ASCII
//!    7+L     16  key version id (the UUID's 16 bytes)
//!   23+L     12  GCM initialization vector
//!   35+L      n  ciphertext, then the 16-byte GCM tag
//! ```
//!
//! The AES-GCM additional data is the header (bytes `0..35+L`, IV
//! included) followed by the canonical encoding of the encryption context,
//! so changing any byte of the blob, or decrypting with another context,
//! fails the tag check instead of yielding other plaintext.

use std::collections::BTreeMap;

/// The four bytes every blob starts with.
pub const BLOB_MAGIC: [u8; 4] = *b"P11C";
/// The layout version this code writes.
pub const BLOB_VERSION: u8 = 1;
/// Length of the GCM IV.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
/// Longest key id a blob can carry.
pub const MAX_KEY_ID_LEN: usize = 64;

/// An encryption context: string pairs bound to a ciphertext. Sorted by
/// key, so its encoding is canonical.
pub type EncryptionContext = BTreeMap<String, String>;

/// The symmetric algorithm of a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobAlgorithm {
    /// AES-256 in GCM mode.
    Aes256Gcm = 1,
    /// AES-128 in GCM mode.
    Aes128Gcm = 2,
}

/// A parsed blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiphertextBlob {
    /// Algorithm.
    pub algorithm: BlobAlgorithm,
    /// The key that encrypted.
    pub key_id: String,
    /// The key version that encrypted (UUID bytes).
    pub version: [u8; 16],
    /// GCM IV.
    pub iv: [u8; IV_LEN],
    /// Ciphertext followed by the tag.
    pub ciphertext: Vec<u8>,
}

/// Why bytes are not a blob.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Shorter than any blob.
    #[error("ciphertext blob is truncated")]
    Truncated,
    /// Does not start with the magic.
    #[error("not a p11kms ciphertext blob")]
    BadMagic,
    /// A layout this code does not read.
    #[error("ciphertext blob format version {0} is not supported")]
    UnsupportedVersion(u8),
    /// An algorithm this code does not know.
    #[error("ciphertext blob algorithm {0} is not supported")]
    UnknownAlgorithm(u8),
    /// The key id is empty, too long or not ASCII.
    #[error("ciphertext blob carries an invalid key id")]
    BadKeyId,
}

impl CiphertextBlob {
    fn header_len(&self) -> usize {
        7 + self.key_id.len() + 16 + IV_LEN
    }

    /// The header bytes (through the IV).
    fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header_len());
        out.extend_from_slice(&BLOB_MAGIC);
        out.push(BLOB_VERSION);
        out.push(self.algorithm as u8);
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.version);
        out.extend_from_slice(&self.iv);
        out
    }

    /// The additional authenticated data for this blob and context.
    pub fn aad(&self, context: &EncryptionContext) -> Vec<u8> {
        let mut aad = self.header();
        aad.extend_from_slice(&encode_context(context));
        aad
    }

    /// Serializes the blob. Fails only for a key id no blob can carry.
    pub fn encode(&self) -> Result<Vec<u8>, BlobError> {
        check_key_id(&self.key_id)?;
        let mut out = self.header();
        out.extend_from_slice(&self.ciphertext);
        Ok(out)
    }

    /// Parses a blob.
    pub fn decode(bytes: &[u8]) -> Result<Self, BlobError> {
        if bytes.len() < 7 {
            return Err(if bytes.starts_with(&BLOB_MAGIC) || BLOB_MAGIC.starts_with(bytes) {
                BlobError::Truncated
            } else {
                BlobError::BadMagic
            });
        }
        if bytes[..4] != BLOB_MAGIC {
            return Err(BlobError::BadMagic);
        }
        if bytes[4] != BLOB_VERSION {
            return Err(BlobError::UnsupportedVersion(bytes[4]));
        }
        let algorithm = match bytes[5] {
            1 => BlobAlgorithm::Aes256Gcm,
            2 => BlobAlgorithm::Aes128Gcm,
            other => return Err(BlobError::UnknownAlgorithm(other)),
        };
        let key_len = usize::from(bytes[6]);
        let header_len = 7 + key_len + 16 + IV_LEN;
        if bytes.len() < header_len + TAG_LEN {
            return Err(BlobError::Truncated);
        }
        let key_id = std::str::from_utf8(&bytes[7..7 + key_len]).map_err(|_| BlobError::BadKeyId)?.to_owned();
        check_key_id(&key_id)?;
        let mut version = [0u8; 16];
        version.copy_from_slice(&bytes[7 + key_len..23 + key_len]);
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&bytes[23 + key_len..header_len]);
        Ok(Self { algorithm, key_id, version, iv, ciphertext: bytes[header_len..].to_vec() })
    }
}

fn check_key_id(key_id: &str) -> Result<(), BlobError> {
    let ok = !key_id.is_empty() && key_id.len() <= MAX_KEY_ID_LEN && key_id.bytes().all(|b| b.is_ascii_graphic());
    if ok { Ok(()) } else { Err(BlobError::BadKeyId) }
}

/// The canonical bytes of a context: the pair count, then each key and
/// value with its length, in key order (all lengths u32 big-endian).
pub fn encode_context(context: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(context.len() as u32).to_be_bytes());
    for (key, value) in context {
        for text in [key, value] {
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> CiphertextBlob {
        CiphertextBlob {
            algorithm: BlobAlgorithm::Aes256Gcm,
            key_id: "key-0123".into(),
            version: [7; 16],
            iv: [9; IV_LEN],
            ciphertext: vec![1; 20],
        }
    }

    #[test]
    fn blobs_round_trip() {
        let bytes = blob().encode().expect("encodes");
        assert_eq!(&bytes[..4], b"P11C");
        assert_eq!(bytes.len(), 7 + 8 + 16 + 12 + 20);
        assert_eq!(CiphertextBlob::decode(&bytes).expect("decodes"), blob());
    }

    #[test]
    fn malformed_blobs_are_refused() {
        let bytes = blob().encode().expect("encodes");
        assert_eq!(CiphertextBlob::decode(&bytes[..3]), Err(BlobError::Truncated));
        assert_eq!(CiphertextBlob::decode(b"hello world, not a blob"), Err(BlobError::BadMagic));
        assert_eq!(CiphertextBlob::decode(&bytes[..bytes.len() - 10]), Err(BlobError::Truncated));
        let mut future = bytes.clone();
        future[4] = 9;
        assert_eq!(CiphertextBlob::decode(&future), Err(BlobError::UnsupportedVersion(9)));
        let mut alien = bytes.clone();
        alien[5] = 77;
        assert_eq!(CiphertextBlob::decode(&alien), Err(BlobError::UnknownAlgorithm(77)));
        let mut bad_id = bytes;
        bad_id[8] = b' ';
        assert_eq!(CiphertextBlob::decode(&bad_id), Err(BlobError::BadKeyId));
        let long = CiphertextBlob { key_id: "k".repeat(65), ..blob() };
        assert_eq!(long.encode(), Err(BlobError::BadKeyId));
    }

    #[test]
    fn the_aad_binds_header_and_context() {
        let b = blob();
        let mut context = EncryptionContext::new();
        let empty = b.aad(&context);
        context.insert("purpose".into(), "test".into());
        let with = b.aad(&context);
        assert_ne!(empty, with);
        assert!(with.starts_with(&b.header()));
        // Key order does not matter, the encoding is canonical.
        let mut a = EncryptionContext::new();
        a.insert("b".into(), "2".into());
        a.insert("a".into(), "1".into());
        assert_eq!(
            encode_context(&a),
            [&2u32.to_be_bytes()[..], &[0, 0, 0, 1, b'a', 0, 0, 0, 1, b'1', 0, 0, 0, 1, b'b', 0, 0, 0, 1, b'2']]
                .concat()
        );
        // Moving bytes between key and value changes the encoding.
        let mut x = EncryptionContext::new();
        x.insert("ab".into(), "c".into());
        let mut y = EncryptionContext::new();
        y.insert("a".into(), "bc".into());
        assert_ne!(encode_context(&x), encode_context(&y));
    }
}
