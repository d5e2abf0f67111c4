//! Whether a key fits a mechanism and a function, checked at `…Init` from
//! the attributes the module caches with every object.
//!
//! The order is PKCS#11's from the most to the least basic: the key's type
//! against the mechanism first (`CKR_KEY_TYPE_INCONSISTENT`: an RSA key
//! cannot do AES-CBC, whatever its flags), then the key's permission for
//! the function (`CKR_KEY_FUNCTION_NOT_PERMITTED`): its class must have
//! the function at all (a private key does not encrypt or verify, a public
//! key does not decrypt or sign), and its flag (`CKA_DECRYPT`, …) must not
//! be false. This is the one mapping: the daemon's HSM sees a call only
//! after it passed here, and answers for what the cache does not say.
//!
//! Before both, a key whose `CKA_ALLOWED_MECHANISMS` lists mechanisms
//! refuses any other (`CKR_MECHANISM_INVALID`, PKCS#11 3.0 §4.4): the
//! mechanism is wrong for this key whatever its type and flags say.
//!
//! An attribute the module did not cache is not guessed: the daemon or the
//! HSM decides at the single-part or final call.

use crate::error::{Error, Result};
use crate::objects::Object;
use crate::operations::OpKind;
use p11kms_ffi::sys::{
    CK_KEY_TYPE, CK_MECHANISM_TYPE, CKA_CLASS, CKA_KEY_TYPE, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET,
    CKK_RSA, CKK_SHA_1_HMAC, CKK_SHA224_HMAC, CKK_SHA256_HMAC, CKK_SHA384_HMAC, CKK_SHA512_HMAC, CKM_AES_CBC,
    CKM_AES_CBC_PAD, CKM_AES_CMAC, CKM_AES_CTR, CKM_AES_ECB, CKM_AES_GCM, CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224,
    CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_EDDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS_PSS,
    CKM_SHA_1_HMAC, CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_HMAC, CKM_SHA224_RSA_PKCS,
    CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_HMAC,
    CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_HMAC, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS,
    CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID,
};

/// The key types a mechanism works with; `None` for mechanisms this file
/// does not know (the vendor envelope mechanism: the daemon decides).
fn key_types(mechanism: CK_MECHANISM_TYPE) -> Option<&'static [CK_KEY_TYPE]> {
    Some(match mechanism {
        CKM_AES_GCM | CKM_AES_CBC | CKM_AES_CBC_PAD | CKM_AES_ECB | CKM_AES_CTR | CKM_AES_CMAC => &[CKK_AES],
        CKM_RSA_PKCS
        | CKM_RSA_PKCS_OAEP
        | CKM_RSA_PKCS_PSS
        | CKM_SHA1_RSA_PKCS
        | CKM_SHA224_RSA_PKCS
        | CKM_SHA256_RSA_PKCS
        | CKM_SHA384_RSA_PKCS
        | CKM_SHA512_RSA_PKCS
        | CKM_SHA1_RSA_PKCS_PSS
        | CKM_SHA224_RSA_PKCS_PSS
        | CKM_SHA256_RSA_PKCS_PSS
        | CKM_SHA384_RSA_PKCS_PSS
        | CKM_SHA512_RSA_PKCS_PSS => &[CKK_RSA],
        CKM_ECDSA | CKM_ECDSA_SHA1 | CKM_ECDSA_SHA224 | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384 | CKM_ECDSA_SHA512 => {
            &[CKK_EC]
        }
        CKM_EDDSA => &[CKK_EC_EDWARDS],
        // As SoftHSM: a generic secret, or the HMAC's own key type.
        CKM_SHA_1_HMAC => &[CKK_GENERIC_SECRET, CKK_SHA_1_HMAC],
        CKM_SHA224_HMAC => &[CKK_GENERIC_SECRET, CKK_SHA224_HMAC],
        CKM_SHA256_HMAC => &[CKK_GENERIC_SECRET, CKK_SHA256_HMAC],
        CKM_SHA384_HMAC => &[CKK_GENERIC_SECRET, CKK_SHA384_HMAC],
        CKM_SHA512_HMAC => &[CKK_GENERIC_SECRET, CKK_SHA512_HMAC],
        _ => return None,
    })
}

/// Whether keys of `class` have the function of `kind` at all. Secret keys
/// have all four; an unknown class is the daemon's to judge.
fn class_has(class: u64, kind: OpKind) -> bool {
    match class {
        CKO_PRIVATE_KEY => matches!(kind, OpKind::Decrypt | OpKind::Sign),
        CKO_PUBLIC_KEY => matches!(kind, OpKind::Encrypt | OpKind::Verify),
        _ => true,
    }
}

/// The checks of `…Init` on the key, in the order of the module
/// documentation, from what `key` has cached.
pub fn check(key: &Object, mechanism: CK_MECHANISM_TYPE, kind: OpKind) -> Result<()> {
    allowed(key, mechanism)?;
    check_attributes(|ty| key.cached_ulong(ty), |ty| key.flag(ty), mechanism, kind)
}

/// The key's `CKA_ALLOWED_MECHANISMS`, when cached, must allow
/// `mechanism`; also the first check of wrap, unwrap and derive.
pub fn allowed(key: &Object, mechanism: CK_MECHANISM_TYPE) -> Result<()> {
    if key.allows_mechanism(mechanism) { Ok(()) } else { Err(Error::rv(CKR_MECHANISM_INVALID)) }
}

fn check_attributes(
    ulong: impl Fn(u64) -> Option<u64>,
    flag: impl Fn(u64) -> Option<bool>,
    mechanism: CK_MECHANISM_TYPE,
    kind: OpKind,
) -> Result<()> {
    if let (Some(types), Some(key_type)) = (key_types(mechanism), ulong(CKA_KEY_TYPE))
        && !types.contains(&key_type)
    {
        return Err(Error::rv(CKR_KEY_TYPE_INCONSISTENT));
    }
    let class_refuses = ulong(CKA_CLASS).is_some_and(|class| !class_has(class, kind));
    if class_refuses || flag(kind.key_attribute()) == Some(false) {
        return Err(Error::rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use p11kms_ffi::sys::{CKA_DECRYPT, CKA_ENCRYPT, CKA_SIGN, CKO_SECRET_KEY};
    use p11kms_proto::pkcs11::{Attribute, find_attribute};

    use super::*;

    fn code(attributes: &[Attribute], mechanism: CK_MECHANISM_TYPE, kind: OpKind) -> u64 {
        let ulong = |ty| find_attribute(attributes, ty).and_then(Attribute::as_ulong);
        let flag = |ty| find_attribute(attributes, ty).and_then(Attribute::as_bool);
        check_attributes(ulong, flag, mechanism, kind).err().map_or(0, |e| e.ck_rv().0)
    }

    fn key(class: u64, key_type: u64, flags: &[(u64, bool)]) -> Vec<Attribute> {
        let mut a = vec![Attribute::ulong(CKA_CLASS, class), Attribute::ulong(CKA_KEY_TYPE, key_type)];
        a.extend(flags.iter().map(|&(ty, on)| Attribute::bool(ty, on)));
        a
    }

    #[test]
    fn the_key_type_comes_before_the_function() {
        let rsa_signer = key(CKO_PRIVATE_KEY, CKK_RSA, &[(CKA_SIGN, true), (CKA_DECRYPT, false)]);
        let ec_private = key(CKO_PRIVATE_KEY, CKK_EC, &[(CKA_SIGN, true), (CKA_DECRYPT, false)]);
        let rsa_public = key(CKO_PUBLIC_KEY, CKK_RSA, &[(CKA_ENCRYPT, false)]);
        assert_eq!(code(&rsa_public, CKM_AES_CBC_PAD, OpKind::Encrypt), CKR_KEY_TYPE_INCONSISTENT);
        assert_eq!(code(&rsa_signer, CKM_AES_CBC_PAD, OpKind::Decrypt), CKR_KEY_TYPE_INCONSISTENT);
        assert_eq!(code(&ec_private, CKM_AES_CBC_PAD, OpKind::Decrypt), CKR_KEY_TYPE_INCONSISTENT);
        assert_eq!(code(&ec_private, CKM_RSA_PKCS, OpKind::Sign), CKR_KEY_TYPE_INCONSISTENT);
    }

    #[test]
    fn then_the_class_and_the_flag() {
        let rsa_signer = key(CKO_PRIVATE_KEY, CKK_RSA, &[(CKA_SIGN, true), (CKA_DECRYPT, false)]);
        assert_eq!(code(&rsa_signer, CKM_RSA_PKCS, OpKind::Decrypt), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(code(&rsa_signer, CKM_RSA_PKCS_OAEP, OpKind::Encrypt), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(code(&rsa_signer, CKM_SHA256_RSA_PKCS, OpKind::Verify), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(code(&rsa_signer, CKM_SHA256_RSA_PKCS, OpKind::Sign), 0);
        let aes = key(CKO_SECRET_KEY, CKK_AES, &[(CKA_ENCRYPT, true), (CKA_SIGN, false)]);
        assert_eq!(code(&aes, CKM_AES_GCM, OpKind::Encrypt), 0);
        assert_eq!(code(&aes, CKM_AES_CMAC, OpKind::Sign), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(code(&aes, CKM_SHA256_HMAC, OpKind::Sign), CKR_KEY_TYPE_INCONSISTENT);
    }

    #[test]
    fn allowed_mechanisms_come_first() {
        use crate::objects::ObjectTable;
        use p11kms_ffi::sys::CKA_ALLOWED_MECHANISMS;
        use p11kms_proto::pkcs11::ObjectDescription;
        let object = |allowed: Option<&[u64]>| {
            let mut fixed = key(CKO_SECRET_KEY, CKK_AES, &[(CKA_ENCRYPT, true)]);
            if let Some(list) = allowed {
                let bytes: Vec<u8> = list.iter().flat_map(|m| m.to_le_bytes()).collect();
                fixed.push(Attribute::bytes(CKA_ALLOWED_MECHANISMS, bytes));
            }
            let mut table = ObjectTable::default();
            let handle = table.register(1, ObjectDescription { id: 7, fixed, sensitive: vec![] });
            table.get(handle, 1).expect("registered").clone()
        };
        let code = |o: &Object, m, kind| check(o, m, kind).err().map_or(0, |e| e.ck_rv().0);
        let gcm_only = object(Some(&[CKM_AES_GCM]));
        assert_eq!(code(&gcm_only, CKM_AES_GCM, OpKind::Encrypt), 0);
        assert_eq!(code(&gcm_only, CKM_AES_CBC_PAD, OpKind::Encrypt), CKR_MECHANISM_INVALID);
        // Before the key type: an RSA mechanism is not in the list either.
        assert_eq!(code(&gcm_only, CKM_RSA_PKCS, OpKind::Encrypt), CKR_MECHANISM_INVALID);
        assert_eq!(code(&object(Some(&[])), CKM_AES_CBC_PAD, OpKind::Encrypt), 0, "empty list: any");
        assert_eq!(code(&object(None), CKM_AES_CBC_PAD, OpKind::Encrypt), 0, "no list: any");
    }

    #[test]
    fn what_is_not_cached_is_not_guessed() {
        assert_eq!(code(&[], CKM_AES_GCM, OpKind::Decrypt), 0);
        let generic = key(CKO_SECRET_KEY, CKK_GENERIC_SECRET, &[]);
        assert_eq!(code(&generic, CKM_SHA256_HMAC, OpKind::Sign), 0);
        let aes = key(CKO_SECRET_KEY, CKK_AES, &[]);
        assert_eq!(code(&aes, 0x8000_1234, OpKind::Encrypt), 0, "vendor mechanisms are the daemon's");
    }
}
