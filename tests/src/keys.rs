//! Keys the PKCS#11 tests make over and over: the P-256 curve's
//! parameters and a session AES key.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::Session;

/// DER of the OID of NIST P-256 (`CKA_EC_PARAMS`).
pub const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A 256-bit session AES key that encrypts and decrypts, with `extra`
/// attributes.
///
/// # Panics
/// When the module refuses it: a test's failure.
#[allow(clippy::expect_used)]
pub fn session_aes(session: &Session, extra: &[Attribute]) -> ObjectHandle {
    let mut template = vec![Attribute::ValueLen(32.into()), Attribute::Encrypt(true), Attribute::Decrypt(true)];
    template.extend_from_slice(extra);
    session.generate_key(&Mechanism::AesKeyGen, &template).expect("session AES key")
}
