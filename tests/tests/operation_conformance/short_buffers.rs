//! A short output buffer is `CKR_BUFFER_TOO_SMALL` with the length, keeps
//! the operation, is never written past, and the retry gives the bytes one
//! call gives.

use cryptoki_sys::*;

use super::p11::{Kind, Mech, P11, cbc};
use super::setup::Keys;
use super::{IV, PLAIN};

/// A buffer of one byte where more is due.
pub(crate) fn short_buffers_keep_the_operation_and_the_bytes(p: P11, keys: &Keys) {
    let l = p.l;
    // The reference: one single-part call with room enough.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    let (code, _, ciphertext) = p.single(l.C_Encrypt, &PLAIN, 64);
    assert_eq!((code, ciphertext.len()), (CKR_OK, 32));

    // Single-part: too small, then the same bytes.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.single(l.C_Encrypt, &PLAIN, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.single(l.C_Encrypt, &PLAIN, 32), (CKR_OK, 32, ciphertext.clone()), "retry: the same bytes");

    // Multi-part: the updates return nothing (the module sends the whole
    // input at `…Final`), so a one-byte buffer is room enough for them;
    // the final call is too small, then gives everything.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[..16], 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[16..], 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 31), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 32), (CKR_OK, 32, ciphertext.clone()), "final retry: the same bytes");

    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 40), (CKR_OK, 32, PLAIN.to_vec()));
    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_DecryptUpdate, &ciphertext, 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.last(l.C_DecryptFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_DecryptFinal, 32), (CKR_OK, 32, PLAIN.to_vec()));

    // A randomized signature: the retry hands out the one made, which
    // verifies.
    assert_eq!(p.init(Kind::Sign, &mut Mech::none(CKM_ECDSA_SHA256), keys.ec.1), CKR_OK);
    assert_eq!(p.sign_update(l.C_SignUpdate, &PLAIN), CKR_OK);
    assert_eq!(p.last(l.C_SignFinal, 1), (CKR_BUFFER_TOO_SMALL, 64, Vec::new()));
    let (code, _, signature) = p.last(l.C_SignFinal, 64);
    assert_eq!((code, signature.len()), (CKR_OK, 64));
    assert_eq!(p.init(Kind::Verify, &mut Mech::none(CKM_ECDSA_SHA256), keys.ec.0), CKR_OK);
    assert_eq!(p.verify(&PLAIN, &signature), CKR_OK);

    assert_eq!(p.digest_init(), CKR_OK);
    let (_, _, digest) = p.single(l.C_Digest, &PLAIN, 32);
    assert_eq!(digest.len(), 32);
    assert_eq!(p.digest_init(), CKR_OK);
    assert_eq!(p.sign_update(l.C_DigestUpdate, &PLAIN), CKR_OK);
    assert_eq!(p.last(l.C_DigestFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_DigestFinal, 32), (CKR_OK, 32, digest));
}
