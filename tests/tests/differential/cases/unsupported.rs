//! Cases of class `Unsupported` (unsupported mechanism/function): mechanisms
//! and functions one of the modules does not offer.

use cryptoki_sys::*;

use super::common::{mech_info_calls, sign_and_verify};
use super::{CKM_P11KMS_ENVELOPE, DATA20, DATA32, MSG, Run, ecb, m};
use crate::ffi::{In, Init, Io, M, Mech, Out, Template, Tmpl, V};

pub(super) fn mechanism_info_unsupported(r: &mut Run<'_>) {
    mech_info_calls(
        r,
        &[
            ("ECDSA_SHA256", CKM_ECDSA_SHA256),
            ("MD5", CKM_MD5),
            ("RSA_X_509", CKM_RSA_X_509),
            ("DES3_CBC", CKM_DES3_CBC),
            ("DES3_KEY_GEN", CKM_DES3_KEY_GEN),
            ("SHA256_HMAC", CKM_SHA256_HMAC),
            ("AES_CMAC", CKM_AES_CMAC),
            ("GENERIC_SECRET_KEY_GEN", CKM_GENERIC_SECRET_KEY_GEN),
            ("ECDH1_DERIVE", CKM_ECDH1_DERIVE),
            ("DH_PKCS_KEY_PAIR_GEN", CKM_DH_PKCS_KEY_PAIR_GEN),
            ("P11KMS_ENVELOPE", CKM_P11KMS_ENVELOPE),
        ],
    );
}

pub(super) fn token_admin(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let s = r.s();
    // Sessions are open, so a conforming C_InitToken refuses before it
    // could reinitialize anything.
    r.rv("C_InitToken(sessions open, wrong SO PIN)", p.init_token(slot, In::B(b"not-the-so-pin")));
    r.rv("C_InitToken(NULL, 8)", p.init_token(slot, In::Null(8)));
    r.rv("C_InitPIN(as USER)", p.init_pin(s, In::B(b"new-user-pin")));
    r.rv("C_InitPIN(NULL, 8)", p.init_pin(s, In::Null(8)));
}

pub(super) fn digest_unsupported(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for (name, ty) in [("MD5", CKM_MD5), ("SHA512_256", CKM_SHA512_256), ("SHA3_256", CKM_SHA3_256)] {
        r.rv(format!("C_DigestInit({name})"), p.digest_init(s, M::M(&m(ty))));
        r.got_bytes(format!("C_Digest({name})"), p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    }
}

pub(super) fn unsupported_functions(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let k = r.k;
    r.got("C_GetOperationState(NULL)", p.operation_state(s, Out::Query));
    r.rv("C_SignRecoverInit(RSA_PKCS)", p.init(Init::SignRecover, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_VerifyRecoverInit(RSA_PKCS)", p.init(Init::VerifyRecover, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_sign_pub));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_DigestEncryptUpdate", p.io(Io::DigestEncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.got("C_DecryptDigestUpdate", p.io(Io::DecryptDigestUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_SignInit(SHA256_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_SignEncryptUpdate", p.io(Io::SignEncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.rv("C_VerifyInit(SHA256_RSA_PKCS)", p.init(Init::Verify, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_pub));
    r.got("C_DecryptVerifyUpdate", p.io(Io::DecryptVerifyUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.got("C_SignRecover without init", p.io(Io::SignRecover, s, In::B(&DATA32), Out::Cap(512)));
    r.got("C_VerifyRecover without init", p.io(Io::VerifyRecover, s, In::B(&[0; 256]), Out::Cap(512)));
    r.rv("C_SetOperationState(16 bytes)", p.set_operation_state(s, In::B(&[0; 16])));
    r.rv("C_SetOperationState(NULL, 16)", p.set_operation_state(s, In::Null(16)));
    r.rv("C_GetFunctionStatus", p.function_status(s));
    r.rv("C_CancelFunction", p.cancel_function(s));
    r.rv("C_WaitForSlotEvent(DONT_BLOCK)", p.wait_for_slot_event());
}

pub(super) fn unsupported_mechanisms(r: &mut Run<'_>) {
    let k = r.k;
    // SoftHSM has no hashing ECDSA; p11kms hashes in the daemon.
    sign_and_verify(r, "ECDSA_SHA256", &m(CKM_ECDSA_SHA256), k.ec_priv, k.ec_pub, MSG);
    let p = r.p;
    let s = r.s();
    let des_t = Template::new(&[(CKA_TOKEN, V::B(false)), (CKA_ENCRYPT, V::B(true))]);
    r.rv("C_GenerateKey(DES3_KEY_GEN)", p.generate_key(s, M::M(&m(CKM_DES3_KEY_GEN)), Tmpl::T(&des_t), false).0);
    r.rv(
        "C_EncryptInit(DES3_CBC with AES key)",
        p.init(Init::Encrypt, s, M::M(&Mech::bytes(CKM_DES3_CBC, &[0; 8])), k.aes),
    );
    r.rv("C_SignInit(RSA_X_509)", p.init(Init::Sign, s, M::M(&m(CKM_RSA_X_509)), k.rsa_sign_priv));
    r.got("C_Sign(RSA_X_509)", p.io(Io::Sign, s, In::B(&[0x11; 256]), Out::Cap(512)));
    r.rv("C_SignInit(MD5_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_MD5_RSA_PKCS)), k.rsa_sign_priv));
    r.got("C_Sign(MD5_RSA_PKCS)", p.io(Io::Sign, s, In::B(MSG), Out::Cap(512)));
    r.rv("C_EncryptInit(P11KMS_ENVELOPE)", p.init(Init::Encrypt, s, M::M(&m(CKM_P11KMS_ENVELOPE)), k.aes));
    r.got("C_Encrypt(P11KMS_ENVELOPE)", p.io(Io::Encrypt, s, In::B(&DATA20), Out::Cap(512)));
    r.rv("C_EncryptInit(0x7ffffff0)", p.init(Init::Encrypt, s, M::M(&m(0x7fff_fff0)), k.aes));
    r.rv("C_EncryptInit(RSA_X_509)", p.init(Init::Encrypt, s, M::M(&m(CKM_RSA_X_509)), k.rsa_enc_pub));
    r.got("C_Encrypt(RSA_X_509)", p.io(Io::Encrypt, s, In::B(&[0x11; 256]), Out::Cap(512)));
}
