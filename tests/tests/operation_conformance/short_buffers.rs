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

    // Multi-part: an update returns the blocks it completes at once
    // (issue 18: a one-byte buffer where 16 bytes are due was `CKR_OK`).
    // Too small keeps the operation and the data; the retry gives the bytes.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[..20], 1), (CKR_BUFFER_TOO_SMALL, 16, Vec::new()));
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[..20], 16), (CKR_OK, 16, ciphertext[..16].to_vec()));
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[20..], 15), (CKR_BUFFER_TOO_SMALL, 16, Vec::new()));
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[20..], 16), (CKR_OK, 16, ciphertext[16..].to_vec()));
    assert_eq!(p.last(l.C_EncryptFinal, 0), (CKR_OK, 0, Vec::new()), "nothing left");

    // CBC-PAD decryption holds its last block back for the padding, so
    // the final call returns it: too small, then the bytes.
    let mut padded = Mech::bytes(CKM_AES_CBC_PAD, &IV);
    assert_eq!(p.init(Kind::Encrypt, &mut padded, keys.aes), CKR_OK);
    let (code, _, padded_ciphertext) = p.single(l.C_Encrypt, &PLAIN[..20], 64);
    assert_eq!((code, padded_ciphertext.len()), (CKR_OK, 32));
    assert_eq!(p.init(Kind::Decrypt, &mut padded, keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_DecryptUpdate, &padded_ciphertext, 1), (CKR_BUFFER_TOO_SMALL, 16, Vec::new()));
    assert_eq!(p.update(l.C_DecryptUpdate, &padded_ciphertext, 16), (CKR_OK, 16, PLAIN[..16].to_vec()));
    assert_eq!(p.last(l.C_DecryptFinal, 1), (CKR_BUFFER_TOO_SMALL, 4, Vec::new()));
    assert_eq!(p.last(l.C_DecryptFinal, 4), (CKR_OK, 4, PLAIN[16..20].to_vec()));

    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 40), (CKR_OK, 32, PLAIN.to_vec()));
    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_DecryptUpdate, &ciphertext, 31), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.update(l.C_DecryptUpdate, &ciphertext, 32), (CKR_OK, 32, PLAIN.to_vec()));
    assert_eq!(p.last(l.C_DecryptFinal, 0), (CKR_OK, 0, Vec::new()));

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
