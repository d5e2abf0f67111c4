//! Checks at `…Init`: malformed mechanism parameters are refused with
//! `CKR_MECHANISM_PARAM_INVALID` and start no operation; the key type is
//! checked against the mechanism first (`CKR_KEY_TYPE_INCONSISTENT`), then
//! the key's function (`CKR_KEY_FUNCTION_NOT_PERMITTED`).

use cryptoki_sys::*;

use super::IV;
use super::p11::{Kind, Mech, P11, active, cbc, ctr, gcm, oaep, pss};
use super::setup::Keys;

/// Malformed parameters: refused at `…Init`, no operation started.
pub(crate) fn parameters_are_checked_at_init(p: P11, keys: &Keys) {
    let cases: Vec<(&str, Kind, Mech, CK_OBJECT_HANDLE)> = vec![
        ("AES-CBC, 8-byte IV", Kind::Encrypt, cbc(&[0; 8]), keys.aes),
        ("AES-CBC, no IV", Kind::Encrypt, Mech::none(CKM_AES_CBC), keys.aes),
        ("AES-CBC, 17-byte IV", Kind::Decrypt, cbc(&[0; 17]), keys.aes),
        ("AES-CBC-PAD, no IV", Kind::Encrypt, Mech::none(CKM_AES_CBC_PAD), keys.aes),
        ("AES-CBC-PAD, 8-byte IV", Kind::Decrypt, Mech::bytes(CKM_AES_CBC_PAD, &[0; 8]), keys.aes),
        ("AES-CTR, 0 counter bits", Kind::Encrypt, ctr(0), keys.aes),
        ("AES-CTR, 129 counter bits", Kind::Decrypt, ctr(129), keys.aes),
        ("AES-CTR, wrong parameter length", Kind::Encrypt, ctr(32).cut(16), keys.aes),
        ("AES-CTR, no parameter", Kind::Encrypt, Mech::none(CKM_AES_CTR), keys.aes),
        ("AES-GCM, empty IV", Kind::Encrypt, gcm(0, 128), keys.aes),
        ("AES-GCM, 0 tag bits", Kind::Encrypt, gcm(12, 0), keys.aes),
        ("AES-GCM, 136 tag bits", Kind::Decrypt, gcm(12, 136), keys.aes),
        ("AES-GCM, 100 tag bits", Kind::Encrypt, gcm(12, 100), keys.aes),
        ("AES-GCM, wrong parameter length", Kind::Encrypt, gcm(12, 128).cut(8), keys.aes),
        ("AES-GCM, no parameter", Kind::Decrypt, Mech::none(CKM_AES_GCM), keys.aes),
        ("RSA-OAEP, wrong parameter length", Kind::Encrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1).cut(8), keys.rsa_crypt.0),
        ("RSA-OAEP, no parameter", Kind::Decrypt, Mech::none(CKM_RSA_PKCS_OAEP), keys.rsa_crypt.1),
        ("RSA-OAEP, unknown MGF", Kind::Encrypt, oaep(CKM_SHA_1, 0x77), keys.rsa_crypt.0),
        ("RSA-OAEP, not a hash", Kind::Decrypt, oaep(CKM_AES_ECB, CKG_MGF1_SHA1), keys.rsa_crypt.1),
        (
            "RSA-PSS, wrong parameter length",
            Kind::Sign,
            pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256).cut(8),
            keys.rsa_sign.1,
        ),
        ("RSA-PSS, no parameter", Kind::Verify, Mech::none(CKM_SHA256_RSA_PKCS_PSS), keys.rsa_sign.0),
        (
            "RSA-PSS, another hash",
            Kind::Sign,
            pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA256),
            keys.rsa_sign.1,
        ),
        ("RSA-PSS, unknown MGF", Kind::Verify, pss(CKM_RSA_PKCS_PSS, CKM_SHA256, 0x77), keys.rsa_sign.0),
        ("ECDSA with a parameter", Kind::Sign, Mech::bytes(CKM_ECDSA, &[1, 2]), keys.ec.1),
    ];
    for (name, kind, mut mech, key) in cases {
        assert_eq!(p.init(kind, &mut mech, key), CKR_MECHANISM_PARAM_INVALID, "{name}");
        assert!(!active(p, kind), "{name}: no operation started");
    }
    // The well-formed ones start.
    for (name, kind, mut mech, key) in [
        ("AES-CBC", Kind::Encrypt, cbc(&IV), keys.aes),
        ("AES-CTR", Kind::Encrypt, ctr(128), keys.aes),
        ("AES-GCM", Kind::Decrypt, gcm(12, 96), keys.aes),
        ("RSA-OAEP", Kind::Encrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1), keys.rsa_crypt.0),
        ("RSA-PSS", Kind::Sign, pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256), keys.rsa_sign.1),
    ] {
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{name}");
        assert!(active(p, kind), "{name}: started (the probe ends it)");
    }
}

/// The key's type against the mechanism, then its function.
pub(crate) fn keys_are_checked_at_init(p: P11, keys: &Keys) {
    let cases: Vec<(&str, Kind, Mech, CK_OBJECT_HANDLE, CK_RV)> = vec![
        (
            "RSA public key, AES-CBC-PAD",
            Kind::Encrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.rsa_crypt.0,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        ("RSA sign-only public key, AES-CBC", Kind::Encrypt, cbc(&IV), keys.rsa_sign.0, CKR_KEY_TYPE_INCONSISTENT),
        ("RSA private key, AES-GCM", Kind::Decrypt, gcm(12, 128), keys.rsa_crypt.1, CKR_KEY_TYPE_INCONSISTENT),
        (
            "EC private key, AES-CBC-PAD",
            Kind::Decrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.ec.1,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        (
            "EC public key, AES-CBC-PAD",
            Kind::Encrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.ec.0,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        ("AES key, ECDSA", Kind::Sign, Mech::none(CKM_ECDSA), keys.aes, CKR_KEY_TYPE_INCONSISTENT),
        ("EC key, RSA-PKCS", Kind::Sign, Mech::none(CKM_SHA256_RSA_PKCS), keys.ec.1, CKR_KEY_TYPE_INCONSISTENT),
        (
            "sign-only private key, RSA-PKCS decrypt",
            Kind::Decrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "sign-only private key, RSA-OAEP decrypt",
            Kind::Decrypt,
            oaep(CKM_SHA_1, CKG_MGF1_SHA1),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "private key, RSA-PKCS encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "decrypt key's private half, encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_crypt.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "sign-only public key, RSA-PKCS encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.0,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        ("public key, sign", Kind::Sign, Mech::none(CKM_ECDSA), keys.ec.0, CKR_KEY_FUNCTION_NOT_PERMITTED),
        (
            "crypt key, sign",
            Kind::Sign,
            Mech::none(CKM_SHA256_RSA_PKCS),
            keys.rsa_crypt.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
    ];
    for (name, kind, mut mech, key, expected) in cases {
        assert_eq!(p.init(kind, &mut mech, key), expected, "{name}");
        assert!(!active(p, kind), "{name}: no operation started");
    }
    // Keys that fit.
    for (name, kind, mut mech, key) in [
        ("RSA-PKCS encrypt with the public key", Kind::Encrypt, Mech::none(CKM_RSA_PKCS), keys.rsa_crypt.0),
        ("RSA-OAEP decrypt with the private key", Kind::Decrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1), keys.rsa_crypt.1),
        ("ECDSA verify with the public key", Kind::Verify, Mech::none(CKM_ECDSA), keys.ec.0),
    ] {
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{name}");
        assert!(active(p, kind), "{name}: started (the probe ends it)");
    }
}
