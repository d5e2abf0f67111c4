//! Cases of class `AfterError` (after-error state): whether an operation is
//! still there after a call of it failed.

use cryptoki_sys::*;

use super::{DATA32, HASH32, MSG, Run, cbc, cbc_pad, ecb, m};
use crate::ffi::{Fin, In, Init, Io, M, Mech, Out, Upd};

/// A 16-byte AES_CBC ciphertext (the module's AES key, `IV16`) of a block
/// of 0x11: decrypted with AES_CBC_PAD its last byte, 17, is never valid
/// padding. Made on the main session, not recorded.
fn bad_padding_ciphertext(r: &Run<'_>) -> Vec<u8> {
    let (p, s) = (r.p, r.t.main);
    let _ = p.init(Init::Encrypt, s, M::M(&cbc()), r.k.aes);
    p.io(Io::Encrypt, s, In::B(&DATA32[..16]), Out::Cap(64)).bytes
}

pub(super) fn after_error(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(NULL, 16)", p.io(Io::Encrypt, s, In::Null(16), Out::Cap(64)));
    r.got("C_Encrypt(valid) after it", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_ECB) after that", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(valid)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(15 bytes: not a block)", p.io(Io::Encrypt, s, In::B(&DATA32[..15]), Out::Cap(64)));
    r.got("C_Encrypt(valid) after DATA_LEN_RANGE", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after DATA_LEN_RANGE", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC IV 8)", p.init(Init::Encrypt, s, M::M(&Mech::bytes(CKM_AES_CBC, &[1; 8])), k.aes));
    r.got("C_Encrypt after bad IV", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after bad IV", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(valid) after bad IV", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC with RSA key)", p.init(Init::Encrypt, s, M::M(&cbc()), k.rsa_enc_pub));
    r.rv("C_EncryptInit(AES_CBC) after wrong key", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(valid) after wrong key", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.rv("C_EncryptInit(AES_ECB) twice", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt after double init", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(room 1)", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(1)));
    r.got("C_Sign(room 64) after BUFFER_TOO_SMALL", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));
    r.got("C_Sign again: over", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(NULL, 32)", p.io(Io::Sign, s, In::Null(32), Out::Cap(64)));
    r.rv("C_SignInit(ECDSA) after it", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(valid)", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_DecryptInit(AES_CBC_PAD)", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
    let bad = bad_padding_ciphertext(r);
    r.got("C_Decrypt(bad padding)", p.io(Io::Decrypt, s, In::B(&bad), Out::Cap(64)));
    r.got("C_Decrypt after failure", p.io(Io::Decrypt, s, In::B(&bad), Out::Cap(64)));
    r.rv("C_DecryptInit(AES_CBC_PAD) after failure", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));

    let s = r.s();
    r.rv("C_VerifyInit(ECDSA)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub));
    r.rv("C_Verify(zero signature)", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_Verify after SIGNATURE_INVALID", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_VerifyInit(ECDSA) after it", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub));

    let s = r.s();
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got("C_Digest(NULL, 5)", p.io(Io::Digest, s, In::Null(5), Out::Cap(64)));
    r.rv("C_DigestInit(SHA256) after it", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got_bytes("C_Digest(valid)", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(NULL out, NULL len)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::NoLen));
    r.rv("C_EncryptInit(AES_ECB) after it", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
}

pub(super) fn after_error_multipart(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_EncryptUpdate(16)", p.io(Io::EncryptUpdate, s, In::B(&DATA32[..16]), Out::Cap(64)));
    r.got("C_Encrypt after an update", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.got("C_EncryptFinal", p.fin(Fin::Encrypt, s, Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_EncryptUpdate(15)", p.io(Io::EncryptUpdate, s, In::B(&DATA32[..15]), Out::Cap(64)));
    r.got("C_EncryptFinal(15 bytes total: not a block)", p.fin(Fin::Encrypt, s, Out::Cap(64)));
    r.got("C_EncryptFinal again", p.fin(Fin::Encrypt, s, Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after failed final", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_EncryptUpdate(NULL, 16)", p.io(Io::EncryptUpdate, s, In::Null(16), Out::Cap(64)));
    r.got("C_EncryptUpdate(valid) after it", p.io(Io::EncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    r.got("C_EncryptFinal", p.fin(Fin::Encrypt, s, Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(SHA256_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_SignUpdate", p.upd(Upd::SignUpdate, s, In::B(MSG)));
    r.got("C_Sign after an update", p.io(Io::Sign, s, In::B(MSG), Out::Cap(512)));
    r.got("C_SignFinal(room 1)", p.fin(Fin::Sign, s, Out::Cap(1)));
    r.got("C_SignFinal(room 256)", p.fin(Fin::Sign, s, Out::Cap(256)));
    r.rv("C_SignUpdate after final", p.upd(Upd::SignUpdate, s, In::B(MSG)));

    let s = r.s();
    r.rv("C_DecryptInit(AES_CBC_PAD)", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
    let bad = bad_padding_ciphertext(r);
    r.got("C_DecryptUpdate(16 bytes, bad padding)", p.io(Io::DecryptUpdate, s, In::B(&bad), Out::Cap(64)));
    r.got("C_DecryptFinal(bad padding)", p.fin(Fin::Decrypt, s, Out::Cap(64)));
    r.rv("C_DecryptInit(AES_CBC_PAD) after it", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
}
