//! Byte-level encodings the KMS operations need around the HSM:
//! [`der`] (SubjectPublicKeyInfo and PEM for `get-public-key` and import
//! parameters), [`signature`] (ECDSA signatures between PKCS#11's raw
//! `r || s` and DER, the PKCS#1 DigestInfo), and [`oaep`] (RSAES-OAEP
//! encoding for hashes the HSM does not do itself).

pub mod der;
pub mod oaep;
pub mod signature;
