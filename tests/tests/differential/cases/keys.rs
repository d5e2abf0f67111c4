//! Cases of class `KeyUse` (key type/function): a key of the wrong type for
//! the mechanism, or without the usage the function needs.

use cryptoki_sys::*;

use super::common::param_case;
use super::{DATA20, DATA32, HASH32, MSG, Run, cbc, ecb, gcm, m, oaep_sha1};
use crate::ffi::{In, Init, M};

pub(super) fn key_type(r: &mut Run<'_>) {
    let k = r.k;
    let e = Init::Encrypt;
    param_case(r, "AES_CBC with RSA public", e, &cbc(), k.rsa_enc_pub, &DATA32);
    param_case(r, "AES_GCM with EC public", e, &gcm(), k.ec_pub, &DATA20);
    param_case(r, "RSA_PKCS encrypt with AES", e, &m(CKM_RSA_PKCS), k.aes, &DATA32);
    param_case(r, "AES_ECB decrypt with RSA private", Init::Decrypt, &ecb(), k.rsa_enc_priv, &DATA32);
    param_case(r, "RSA_PKCS sign with EC private", Init::Sign, &m(CKM_RSA_PKCS), k.ec_priv, &DATA32);
    param_case(r, "ECDSA sign with RSA private", Init::Sign, &m(CKM_ECDSA), k.rsa_sign_priv, &HASH32);
    param_case(r, "SHA256_RSA_PKCS sign with AES", Init::Sign, &m(CKM_SHA256_RSA_PKCS), k.aes, MSG);
    param_case(r, "RSA_PKCS encrypt with RSA private", e, &m(CKM_RSA_PKCS), k.rsa_enc_priv, &DATA32);
    param_case(r, "RSA_PKCS decrypt with RSA public", Init::Decrypt, &m(CKM_RSA_PKCS), k.rsa_enc_pub, &[0; 256]);
    param_case(r, "ECDSA sign with EC public", Init::Sign, &m(CKM_ECDSA), k.ec_pub, &HASH32);
    let p = r.p;
    let s = r.s();
    r.rv("C_VerifyInit(ECDSA with RSA public)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.rsa_sign_pub));
    r.rv("C_Verify", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_VerifyInit(ECDSA with EC private)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.rv("C_Verify", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
}

pub(super) fn key_function(r: &mut Run<'_>) {
    let k = r.k;
    param_case(r, "RSA_PKCS encrypt with sign-only public", Init::Encrypt, &m(CKM_RSA_PKCS), k.rsa_sign_pub, &DATA32);
    param_case(
        r,
        "RSA_PKCS decrypt with sign-only private",
        Init::Decrypt,
        &m(CKM_RSA_PKCS),
        k.rsa_sign_priv,
        &[0; 256],
    );
    param_case(r, "RSA_PKCS sign with decrypt-only private", Init::Sign, &m(CKM_RSA_PKCS), k.rsa_enc_priv, &DATA32);
    param_case(r, "OAEP encrypt with sign-only public", Init::Encrypt, &oaep_sha1(), k.rsa_sign_pub, &DATA32);
    param_case(r, "AES_CMAC sign with encrypt-only AES", Init::Sign, &m(CKM_AES_CMAC), k.aes, MSG);
    param_case(r, "ECDSA as encryption", Init::Encrypt, &m(CKM_ECDSA), k.ec_pub, &HASH32);
    param_case(r, "AES_KEY_WRAP as encryption", Init::Encrypt, &m(CKM_AES_KEY_WRAP), k.aes, &DATA32);
    let p = r.p;
    let s = r.s();
    r.rv(
        "C_VerifyInit(RSA_PKCS with decrypt-only public)",
        p.init(Init::Verify, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_enc_pub),
    );
    r.rv("C_Verify", p.verify(s, In::B(&DATA32), In::B(&[0; 256])));
}
