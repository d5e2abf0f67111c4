//! Session keys: keys an application makes for its own short use (generated
//! with `CKA_TOKEN` false, unwrapped, or derived), kept on the serving
//! member of the instance's cluster and never replicated. They are not KMS
//! keys: no metadata, no versions, gone when the application is.
//!
//! They are HSM *token* objects marked with [`SESSION_KEY_LABEL`], not
//! HSM session objects: a PKCS#11 session object dies with the HSM session
//! that made it, and the daemon's HSM sessions are pooled and may close at
//! any time. The mark lets [`sweep`] remove whatever a stopped daemon left.
//! The application's own label and id are kept by the daemon, not here.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute as CkAttribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki_sys::*;

use p11kms_proto::pkcs11::Attribute;

use super::error::{Context, HsmError};
use super::member::Member;

/// `CKA_LABEL` of every session key on the HSM.
pub const SESSION_KEY_LABEL: &str = "p11kms-session-key";

/// Template attributes an application may set on a session key; the rest
/// of its template (label, id, dates) stays with the daemon.
const PASSED_TO_HSM: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_VALUE_LEN,
    CKA_EC_PARAMS,
    CKA_MODULUS_BITS,
    CKA_PUBLIC_EXPONENT,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_DERIVE,
    CKA_SENSITIVE,
    CKA_EXTRACTABLE,
];

/// The secret parts of a key: a secret key's value, an RSA private key's
/// exponent and CRT values. Never shown to applications.
pub const SECRET_PARTS: &[CK_ATTRIBUTE_TYPE] =
    &[CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT];

/// Key values an application may give when it imports a session key
/// (`C_CreateObject` with `CKA_TOKEN` false): the secret parts and an RSA
/// key's modulus.
fn is_key_value(ty: CK_ATTRIBUTE_TYPE) -> bool {
    ty == CKA_MODULUS || SECRET_PARTS.contains(&ty)
}

/// Attributes read back from the HSM to describe a session key; values
/// the HSM does not have are left out. (`CKA_KEY_GEN_MECHANISM` is the
/// daemon's to say: cryptoki cannot read the "unavailable" value HSMs give
/// unwrapped keys.)
pub const DESCRIBED: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_VALUE_LEN,
    CKA_MODULUS,
    CKA_MODULUS_BITS,
    CKA_PUBLIC_EXPONENT,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_DERIVE,
    CKA_SENSITIVE,
    CKA_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
    CKA_NEVER_EXTRACTABLE,
    CKA_LOCAL,
    // A secret key's key check value, as the HSM computes it (PKCS#11 3.0
    // §4.10: for AES, the first 3 bytes of E_K(0^128)).
    CKA_CHECK_VALUE,
];

/// The application's template as the HSM gets it: the attributes in
/// [`PASSED_TO_HSM`], then the daemon's marks. A value the HSM library
/// cannot read is `CKR_ATTRIBUTE_VALUE_INVALID`.
pub fn hsm_template(template: &[Attribute], private: bool) -> Result<Vec<CkAttribute>, CK_RV> {
    // A key that needs a context-specific login for each use cannot be
    // honoured: there is no such login here.
    if template.iter().any(|a| a.ty == CKA_ALWAYS_AUTHENTICATE && a.as_bool() == Some(true)) {
        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    // `CKA_ALLOWED_MECHANISMS` stays with the daemon, which enforces it
    // before each HSM call: on the HSM object it would also refuse the
    // mechanisms the daemon uses to emulate others (`CKM_ECDSA` under
    // `CKM_ECDSA_SHA256`, raw RSA under OAEP). A value that is not whole
    // `CK_MECHANISM_TYPE`s is refused here, before any key is made.
    if template.iter().any(|a| a.ty == CKA_ALLOWED_MECHANISMS && a.value.len() % 8 != 0) {
        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    let mut out = Vec::new();
    for attribute in template.iter().filter(|a| PASSED_TO_HSM.contains(&a.ty)) {
        out.push(to_cryptoki(attribute)?);
    }
    out.extend([
        CkAttribute::Token(true),
        CkAttribute::Private(private),
        CkAttribute::Label(SESSION_KEY_LABEL.as_bytes().to_vec()),
    ]);
    Ok(out)
}

/// [`hsm_template`] of a secret or private key the HSM generates: the
/// HSM object is extractable whatever the application asked, so that the
/// cluster key can wrap it for the mirrors should the application store
/// it as a KMS key (`C_CopyObject` to the token). No one else can have it
/// wrapped: the daemon answers the application's `C_WrapKey` and
/// `CKA_VALUE` by the application's own `CKA_EXTRACTABLE`
/// (`data::session_key`), as it does for KMS keys, which are extractable
/// on their HSMs for the same reason (`super::templates`).
pub fn generation_template(template: &[Attribute], private: bool) -> Result<Vec<CkAttribute>, CK_RV> {
    let mut out = hsm_template(template, private)?;
    out.retain(|a| !matches!(a, CkAttribute::Extractable(_)));
    out.push(CkAttribute::Extractable(true));
    Ok(out)
}

/// The template of an imported session key: [`hsm_template`] plus the
/// key's values.
pub fn import_template(template: &[Attribute]) -> Result<Vec<CkAttribute>, CK_RV> {
    let mut out = hsm_template(template, true)?;
    for attribute in template.iter().filter(|a| is_key_value(a.ty)) {
        out.push(to_cryptoki(attribute)?);
    }
    Ok(out)
}

/// One wire attribute as cryptoki's.
fn to_cryptoki(attribute: &Attribute) -> Result<CkAttribute, CK_RV> {
    let mut value = attribute.value.clone();
    let raw =
        CK_ATTRIBUTE { type_: attribute.ty, pValue: value.as_mut_ptr().cast(), ulValueLen: value.len() as CK_ULONG };
    // cryptoki copies the value out of the raw attribute; `value` outlives it.
    CkAttribute::try_from(raw).map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)
}

/// One cryptoki attribute as the wire carries it.
fn from_cryptoki(attribute: &CkAttribute) -> Attribute {
    let raw = CK_ATTRIBUTE::from(attribute);
    let value = if raw.pValue.is_null() || raw.ulValueLen == 0 {
        Vec::new()
    } else {
        // SAFETY: `raw` points into `attribute`, alive for this call, and
        // `ulValueLen` is the length of that value.
        unsafe { std::slice::from_raw_parts(raw.pValue.cast::<u8>(), raw.ulValueLen as usize) }.to_vec()
    };
    Attribute { ty: raw.type_, value }
}

/// Creates a session key from its values.
pub fn import(member: &Member, template: &[CkAttribute]) -> Result<ObjectHandle, HsmError> {
    member.with_session(|s| s.create_object(template).context(|| "C_CreateObject (session key)".into()))
}

/// Generates a secret session key.
pub fn generate_key(
    member: &Member,
    mechanism: &Mechanism<'_>,
    template: &[CkAttribute],
) -> Result<ObjectHandle, HsmError> {
    member.with_session(|s| s.generate_key(mechanism, template).context(|| "C_GenerateKey (session key)".into()))
}

/// Generates a session key pair: (public, private).
pub fn generate_key_pair(
    member: &Member,
    mechanism: &Mechanism<'_>,
    public: &[CkAttribute],
    private: &[CkAttribute],
) -> Result<(ObjectHandle, ObjectHandle), HsmError> {
    member.with_session(|s| {
        s.generate_key_pair(mechanism, public, private).context(|| "C_GenerateKeyPair (session key)".into())
    })
}

/// A copy of session key `key`, another session key with the same
/// attributes on the HSM (the application's changes are the daemon's).
pub fn copy(member: &Member, key: ObjectHandle) -> Result<ObjectHandle, HsmError> {
    member.with_session(|s| s.copy_object(key, &[]).context(|| "C_CopyObject (session key)".into()))
}

/// Wraps `key` with `wrapping`.
pub fn wrap(
    member: &Member,
    mechanism: &Mechanism<'_>,
    wrapping: ObjectHandle,
    key: ObjectHandle,
) -> Result<Vec<u8>, HsmError> {
    member.with_session(|s| s.wrap_key(mechanism, wrapping, key).context(|| "C_WrapKey".into()))
}

/// Unwraps `wrapped` with `unwrapping` into a new session key.
pub fn unwrap(
    member: &Member,
    mechanism: &Mechanism<'_>,
    unwrapping: ObjectHandle,
    wrapped: &[u8],
    template: &[CkAttribute],
) -> Result<ObjectHandle, HsmError> {
    member.with_session(|s| s.unwrap_key(mechanism, unwrapping, wrapped, template).context(|| "C_UnwrapKey".into()))
}

/// Derives a new session key from `base`.
pub fn derive(
    member: &Member,
    mechanism: &Mechanism<'_>,
    base: ObjectHandle,
    template: &[CkAttribute],
) -> Result<ObjectHandle, HsmError> {
    member.with_session(|s| s.derive_key(mechanism, base, template).context(|| "C_DeriveKey".into()))
}

/// The attributes of [`DESCRIBED`] the key has, as the wire carries them.
pub fn describe(member: &Member, handle: ObjectHandle) -> Result<Vec<Attribute>, HsmError> {
    let types: Vec<AttributeType> = DESCRIBED.iter().filter_map(|ty| AttributeType::try_from(*ty).ok()).collect();
    let found = member.with_session(|s| s.get_attributes(handle, &types).context(|| "C_GetAttributeValue".into()))?;
    Ok(found.iter().map(from_cryptoki).collect())
}

/// The value of a secret session key the HSM lets out (extractable, not
/// sensitive).
pub fn secret_value(member: &Member, handle: ObjectHandle) -> Result<zeroize::Zeroizing<Vec<u8>>, HsmError> {
    let found = member
        .with_session(|s| s.get_attributes(handle, &[AttributeType::Value]).context(|| "C_GetAttributeValue".into()))?;
    match found.into_iter().next() {
        Some(CkAttribute::Value(value)) => Ok(zeroize::Zeroizing::new(value)),
        _ => Err(HsmError::Unexpected("no CKA_VALUE".into())),
    }
}

/// Destroys a session key; one already gone is not an error.
pub fn destroy(member: &Member, handle: ObjectHandle) {
    let _ = member.with_session(|s| s.destroy_object(handle).context(|| "C_DestroyObject (session key)".into()));
}

/// Runs `op` with a public key given by its attributes (one an application
/// created; the HSM does not hold it): the key becomes an HSM session
/// object for the call, in the session that runs it, and goes after.
pub fn with_public_key<T>(
    member: &Member,
    attributes: &[Attribute],
    op: impl Fn(&cryptoki::session::Session, ObjectHandle) -> Result<T, cryptoki::error::Error>,
) -> Result<T, HsmError> {
    const KEY_PARTS: &[CK_ATTRIBUTE_TYPE] =
        &[CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT];
    let mut template = Vec::new();
    for attribute in attributes.iter().filter(|a| KEY_PARTS.contains(&a.ty)) {
        template.push(to_cryptoki(attribute).map_err(|_| HsmError::Unexpected("public key attribute".into()))?);
    }
    template.extend([CkAttribute::Token(false), CkAttribute::Verify(true), CkAttribute::Encrypt(true)]);
    member.with_session(|s| {
        let handle = s.create_object(&template).context(|| "C_CreateObject (public key)".into())?;
        let result = op(s, handle).context(|| "operation".into());
        let _ = s.destroy_object(handle);
        result
    })
}

/// Removes every session key a previous daemon left on `member`; returns
/// how many.
pub fn sweep(member: &Member) -> Result<usize, HsmError> {
    member.with_session(|s| {
        let mut removed = 0;
        for class in [ObjectClass::SECRET_KEY, ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let template = [CkAttribute::Class(class), CkAttribute::Label(SESSION_KEY_LABEL.as_bytes().to_vec())];
            for handle in s.find_objects(&template).context(|| "C_FindObjects (session keys)".into())? {
                s.destroy_object(handle).context(|| "C_DestroyObject (stale session key)".into())?;
                removed += 1;
            }
        }
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_shaping_attributes_reach_the_hsm_and_the_marks_are_added() {
        let template = [
            Attribute::ulong(CKA_CLASS, CKO_SECRET_KEY),
            Attribute::ulong(CKA_VALUE_LEN, 32),
            Attribute::bool(CKA_SIGN, true),
            Attribute::bytes(CKA_LABEL, b"mine".to_vec()),
            Attribute::bytes(CKA_ID, vec![1]),
            Attribute::bool(CKA_TOKEN, false),
        ];
        let out = hsm_template(&template, true).expect("template");
        assert!(out.contains(&CkAttribute::ValueLen(32.into())));
        assert!(out.contains(&CkAttribute::Sign(true)));
        assert!(out.contains(&CkAttribute::Token(true)), "stored as an HSM token object");
        assert!(out.contains(&CkAttribute::Label(SESSION_KEY_LABEL.as_bytes().to_vec())));
        assert!(!out.contains(&CkAttribute::Label(b"mine".to_vec())), "the app's label stays in the daemon");
        assert!(!out.iter().any(|a| matches!(a, CkAttribute::Id(_))));
        let reauth = [Attribute::bool(CKA_ALWAYS_AUTHENTICATE, true)];
        assert_eq!(hsm_template(&reauth, true).err(), Some(CKR_ATTRIBUTE_VALUE_INVALID));
        let allowed = [Attribute::bytes(CKA_ALLOWED_MECHANISMS, CKM_AES_GCM.to_le_bytes().to_vec())];
        let out = hsm_template(&allowed, true).expect("template");
        assert!(!out.iter().any(|a| matches!(a, CkAttribute::AllowedMechanisms(_))), "the daemon keeps the list");
        let ragged = [Attribute::bytes(CKA_ALLOWED_MECHANISMS, vec![1, 2, 3])];
        assert_eq!(hsm_template(&ragged, true).err(), Some(CKR_ATTRIBUTE_VALUE_INVALID));
    }

    #[test]
    fn attributes_cross_both_ways_unchanged() {
        for attribute in [
            Attribute::ulong(CKA_VALUE_LEN, 16),
            Attribute::bool(CKA_DERIVE, true),
            Attribute::bytes(CKA_EC_PARAMS, vec![6, 3, 43, 101, 112]),
        ] {
            assert_eq!(from_cryptoki(&to_cryptoki(&attribute).expect("converts")), attribute);
        }
        assert_eq!(to_cryptoki(&Attribute::bytes(CKA_VALUE_LEN, vec![1, 2])).err(), Some(CKR_ATTRIBUTE_VALUE_INVALID));
    }
}
