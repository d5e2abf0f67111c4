//! Cases of class `MechParams` (mechanism params): missing, short, long,
//! malformed and unexpected mechanism parameters.

use cryptoki_sys::*;

use super::common::param_case;
use super::{DATA20, DATA32, HASH32, HUGE, IV12, IV16, MSG, Run, cbc, gcm, m, oaep_sha1, pss_sha256};
use crate::ffi::{Init, Mech};

pub(super) fn params_cbc(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_CBC IV 16", e, &cbc(), aes, &DATA32);
    param_case(r, "AES_CBC IV 8", e, &Mech::bytes(CKM_AES_CBC, &[1; 8]), aes, &DATA32);
    param_case(r, "AES_CBC IV 15", e, &Mech::bytes(CKM_AES_CBC, &[1; 15]), aes, &DATA32);
    param_case(r, "AES_CBC IV 17", e, &Mech::bytes(CKM_AES_CBC, &[1; 17]), aes, &DATA32);
    param_case(r, "AES_CBC IV 32", e, &Mech::bytes(CKM_AES_CBC, &[1; 32]), aes, &DATA32);
    param_case(r, "AES_CBC no IV", e, &m(CKM_AES_CBC), aes, &DATA32);
    param_case(r, "AES_CBC NULL IV, 16", e, &Mech::null_param(CKM_AES_CBC, 16), aes, &DATA32);
    param_case(r, "AES_CBC_PAD IV 8", e, &Mech::bytes(CKM_AES_CBC_PAD, &[1; 8]), aes, &DATA20);
    param_case(r, "AES_CBC_PAD no IV", e, &m(CKM_AES_CBC_PAD), aes, &DATA20);
    param_case(r, "decrypt AES_CBC IV 8", Init::Decrypt, &Mech::bytes(CKM_AES_CBC, &[1; 8]), aes, &DATA32);
}

pub(super) fn params_ctr(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_CTR 128 bits", e, &Mech::ctr(128), aes, &DATA20);
    param_case(r, "AES_CTR 0 bits", e, &Mech::ctr(0), aes, &DATA20);
    param_case(r, "AES_CTR 1 bit", e, &Mech::ctr(1), aes, &DATA20);
    param_case(r, "AES_CTR 129 bits", e, &Mech::ctr(129), aes, &DATA20);
    param_case(r, "AES_CTR length 16", e, &Mech::ctr(128).with_len(16), aes, &DATA20);
    param_case(r, "AES_CTR length 32", e, &Mech::ctr(128).with_len(32), aes, &DATA20);
    param_case(r, "AES_CTR no parameter", e, &m(CKM_AES_CTR), aes, &DATA20);
    param_case(r, "AES_CTR NULL, 24", e, &Mech::null_param(CKM_AES_CTR, 24), aes, &DATA20);
    // 1 counter bit leaves room for 2 blocks: 20 bytes need 2, 48 need 3.
    param_case(r, "AES_CTR 1 bit, 48 bytes", e, &Mech::ctr(1), aes, &[0x66; 48]);
}

pub(super) fn params_gcm(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_GCM IV 12 tag 128", e, &gcm(), aes, &DATA20);
    for tag in [0, 8, 32, 64, 104, 120, 129, 256] {
        param_case(r, &format!("AES_GCM tag bits {tag}"), e, &Mech::gcm(&IV12, b"", tag), aes, &DATA20);
    }
    param_case(r, "AES_GCM IV 0", e, &Mech::gcm(b"", b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV 1", e, &Mech::gcm(&[1], b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV 256", e, &Mech::gcm(&[1; 256], b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV NULL, 12", e, &Mech::gcm_null_iv(12), aes, &DATA20);
    param_case(r, "AES_GCM IV NULL, 0x80000000", e, &Mech::gcm_null_iv(0x8000_0000), aes, &DATA20);
    param_case(r, "AES_GCM length 40", e, &gcm().with_len(40), aes, &DATA20);
    param_case(r, "AES_GCM length 56", e, &gcm().with_len(56), aes, &DATA20);
    param_case(r, "AES_GCM no parameter", e, &m(CKM_AES_GCM), aes, &DATA20);
    param_case(r, "AES_GCM NULL, 48", e, &Mech::null_param(CKM_AES_GCM, 48), aes, &DATA20);
    param_case(r, "decrypt AES_GCM tag bits 0", Init::Decrypt, &Mech::gcm(&IV12, b"", 0), aes, &[0; 36]);
}

pub(super) fn params_oaep(r: &mut Run<'_>) {
    let k = r.k;
    let e = Init::Encrypt;
    param_case(r, "OAEP SHA1", e, &oaep_sha1(), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA256", e, &Mech::oaep(CKM_SHA256, CKG_MGF1_SHA256, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA1 with label", e, &Mech::oaep(CKM_SHA_1, CKG_MGF1_SHA1, b"label"), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA256 with MGF1_SHA1", e, &Mech::oaep(CKM_SHA256, CKG_MGF1_SHA1, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP hash MD5", e, &Mech::oaep(CKM_MD5, CKG_MGF1_SHA1, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP mgf 0", e, &Mech::oaep(CKM_SHA_1, 0, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP no parameter", e, &m(CKM_RSA_PKCS_OAEP), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP NULL, 40", e, &Mech::null_param(CKM_RSA_PKCS_OAEP, 40), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP length 32", e, &oaep_sha1().with_len(32), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP length 48", e, &oaep_sha1().with_len(48), k.rsa_enc_pub, &DATA32);
    param_case(r, "decrypt OAEP no parameter", Init::Decrypt, &m(CKM_RSA_PKCS_OAEP), k.rsa_enc_priv, &[0; 256]);
}

pub(super) fn params_pss(r: &mut Run<'_>) {
    let k = r.k;
    let s = Init::Sign;
    param_case(r, "SHA256_RSA_PKCS_PSS", s, &pss_sha256(), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS hash SHA1",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS salt 0",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS salt 1000",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 1000),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(r, "SHA256_RSA_PKCS_PSS no parameter", s, &m(CKM_SHA256_RSA_PKCS_PSS), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS NULL, 24",
        s,
        &Mech::null_param(CKM_SHA256_RSA_PKCS_PSS, 24),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(r, "SHA256_RSA_PKCS_PSS length 16", s, &pss_sha256().with_len(16), k.rsa_sign_priv, MSG);
    param_case(r, "SHA256_RSA_PKCS_PSS length 32", s, &pss_sha256().with_len(32), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "RSA_PKCS_PSS over 20 bytes with SHA256",
        s,
        &Mech::pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32),
        k.rsa_sign_priv,
        &DATA20,
    );
}

pub(super) fn params_unexpected(r: &mut Run<'_>) {
    let k = r.k;
    param_case(r, "AES_ECB with 16 bytes", Init::Encrypt, &Mech::bytes(CKM_AES_ECB, &IV16), k.aes, &DATA32);
    param_case(r, "RSA_PKCS with 8 bytes", Init::Encrypt, &Mech::bytes(CKM_RSA_PKCS, &[0; 8]), k.rsa_enc_pub, &DATA32);
    param_case(r, "ECDSA with 8 bytes", Init::Sign, &Mech::bytes(CKM_ECDSA, &[0; 8]), k.ec_priv, &HASH32);
    param_case(
        r,
        "SHA256_RSA_PKCS with 8 bytes",
        Init::Sign,
        &Mech::bytes(CKM_SHA256_RSA_PKCS, &[0; 8]),
        k.rsa_sign_priv,
        MSG,
    );
}

pub(super) fn params_null_huge(r: &mut Run<'_>) {
    let aes = r.k.aes;
    for n in HUGE {
        param_case(
            r,
            &format!("AES_CBC NULL, 0x{n:x}"),
            Init::Encrypt,
            &Mech::null_param(CKM_AES_CBC, n),
            aes,
            &DATA32,
        );
        param_case(
            r,
            &format!("AES_GCM NULL, 0x{n:x}"),
            Init::Encrypt,
            &Mech::null_param(CKM_AES_GCM, n),
            aes,
            &DATA20,
        );
    }
}
