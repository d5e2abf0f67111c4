//! Session keys on the data plane: `C_GenerateKey`/`C_GenerateKeyPair`
//! with `CKA_TOKEN` false, `C_UnwrapKey`, `C_DeriveKey` (ECDH), and
//! `C_WrapKey` of a session key. A key's `CKA_ALLOWED_MECHANISMS` is
//! enforced here and in [`super::crypto`] before the HSM is asked. They live on the serving member of the
//! slot's cluster ([`crate::hsm::session_keys`]) and belong to the client
//! that made them; the HSM object is destroyed when the last reference to
//! it goes (the module destroys it when its session closes, the daemon
//! when the client's last connection does).
//!
//! KMS keys stay what the instance's policy makes them: never extractable,
//! never wrapping or unwrapping; keys enter an instance only through key
//! generation and BYOK.
//!
//! The `default` slot has no HSM to hold a session key: every function
//! here answers [`super::slots::NO_HSM`] there, before it looks at its
//! arguments, so an application gets one answer for "no session keys".

use std::sync::Arc;

use cryptoki::mechanism::Mechanism as CkMechanism;
use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, Mechanism, ObjectDescription, ObjectId, find_attribute};

use super::error::{DataError, rv};
pub use super::session_key::SessionKey;
use crate::hsm::Member;
use crate::hsm::session_keys as hsm;
use crate::service::Service;

/// The serving member of the slot's cluster, for a client logged in when
/// the new key is `private`. A public session key needs no login, as
/// PKCS#11 has it: it counts against the client's uid's budget of session
/// objects like a public data object (`[objects]`, `docs/pkcs11.md` §2a).
fn member_for(service: &Service, client: &ClientId, slot: u64, private: bool) -> Result<Arc<Member>, DataError> {
    if private {
        require_login(service, client, slot)?;
    }
    let cluster = super::slots::cluster(service, slot, super::slots::NO_HSM)?;
    let member = cluster.cluster.serving_member()?;
    Ok(member.clone())
}

/// Key generation mechanisms for session keys.
fn generation_mechanism(mechanism: &Mechanism) -> Result<CkMechanism<'static>, DataError> {
    let none = matches!(mechanism.param, p11kms_proto::pkcs11::MechParam::None);
    let m = match mechanism.ty {
        CKM_AES_KEY_GEN => CkMechanism::AesKeyGen,
        CKM_GENERIC_SECRET_KEY_GEN => CkMechanism::GenericSecretKeyGen,
        CKM_EC_KEY_PAIR_GEN => CkMechanism::EccKeyPairGen,
        CKM_RSA_PKCS_KEY_PAIR_GEN => CkMechanism::RsaPkcsKeyPairGen,
        CKM_EC_EDWARDS_KEY_PAIR_GEN => CkMechanism::EccEdwardsKeyPairGen,
        _ => return Err(rv(CKR_MECHANISM_INVALID)),
    };
    if none { Ok(m) } else { Err(rv(CKR_MECHANISM_PARAM_INVALID)) }
}

fn keep(service: &Service, client: &ClientId, slot: u64, key: SessionKey) -> Result<ObjectDescription, DataError> {
    let id = service.clients.add_key(client, slot, key.clone())?;
    Ok(key.description(id))
}

/// `GenerateKey` of a session key.
pub fn generate_key(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    let ck = generation_mechanism(mechanism)?;
    if !matches!(mechanism.ty, CKM_AES_KEY_GEN | CKM_GENERIC_SECRET_KEY_GEN) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    let member = member_for(service, client, slot, is_private(template))?;
    let hsm_template = hsm::generation_template(template, true).map_err(rv)?;
    let handle = hsm::generate_key(&member, &ck, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, Some(mechanism.ty))?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `CreateObject` of a secret or private key with its values: a session
/// key only. Key material enters KMS keys through BYOK alone, so a token
/// template is `CKR_ATTRIBUTE_VALUE_INVALID`.
pub fn import(service: &Service, client: &ClientId, slot: u64, template: &[Attribute]) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    if find_attribute(template, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true) {
        // Java's `keytool -genseckey` stores a key its software provider
        // made this way: say why it is refused.
        tracing::info!(
            "C_CreateObject of a secret or private key with CKA_TOKEN true refused: key material enters KMS keys \
             only by key generation (or a session key generated here, copied to the token) or BYOK"
        );
        return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
    }
    let member = member_for(service, client, slot, is_private(template))?;
    let hsm_template = hsm::import_template(template).map_err(rv)?;
    let handle = hsm::import(&member, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `GenerateKeyPair` of a session key pair; the public key comes first.
pub fn generate_key_pair(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    public_template: &[Attribute],
    private_template: &[Attribute],
) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    let ck = generation_mechanism(mechanism)?;
    if matches!(mechanism.ty, CKM_AES_KEY_GEN | CKM_GENERIC_SECRET_KEY_GEN) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    let private = is_private(private_template) || public_template_private(public_template);
    let member = member_for(service, client, slot, private)?;
    let public = hsm::hsm_template(public_template, false).map_err(rv)?;
    let private = hsm::generation_template(private_template, true).map_err(rv)?;
    let (public_handle, private_handle) = hsm::generate_key_pair(&member, &ck, &public, &private)?;
    let public_key = SessionKey::new(&member, public_handle, public_template, Some(mechanism.ty))?;
    let private_key =
        SessionKey::new(&member, private_handle, private_template, Some(mechanism.ty))?.with_public(&public_key);
    let public = keep(service, client, slot, public_key)?;
    let private = keep(service, client, slot, private_key)?;
    Ok(DataReply::Objects(vec![public, private]))
}

/// The session key `object` of the client in `slot`.
pub fn session_key(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Option<SessionKey> {
    service.clients.key(client, slot, object)
}

fn require_login(service: &Service, client: &ClientId, slot: u64) -> Result<(), DataError> {
    if service.clients.is_logged_in(client, slot) { Ok(()) } else { Err(rv(CKR_USER_NOT_LOGGED_IN)) }
}

/// Whether a secret or private key's template makes a private object:
/// unless it says `CKA_PRIVATE` false (SoftHSM's default too).
fn is_private(template: &[Attribute]) -> bool {
    find_attribute(template, CKA_PRIVATE).and_then(Attribute::as_bool) != Some(false)
}

/// Whether a public key's template makes a private object: only when it
/// says so (public keys are public by default).
fn public_template_private(template: &[Attribute]) -> bool {
    find_attribute(template, CKA_PRIVATE).and_then(Attribute::as_bool) == Some(true)
}

/// The refusal of a handle that is no session key of the client's: a KMS
/// key it sees never wraps, unwraps or derives (`CKA_WRAP`, `CKA_UNWRAP`,
/// `CKA_DERIVE` false: `CKR_KEY_FUNCTION_NOT_PERMITTED`, as SoftHSM
/// answers for such a key); any other handle is `invalid`.
fn not_a_session_key(service: &Service, client: &ClientId, slot: u64, object: ObjectId, invalid: CK_RV) -> DataError {
    match super::lookup::with_object(service, client, slot, object, |_, _, _| Ok(())) {
        Ok(()) => rv(CKR_KEY_FUNCTION_NOT_PERMITTED),
        Err(_) => rv(invalid),
    }
}

/// The template of a key made from others (unwrapped, derived): a session
/// key, never a token one, which would import key material past BYOK.
fn new_key_template(template: &[Attribute]) -> Result<Vec<cryptoki::object::Attribute>, DataError> {
    if find_attribute(template, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true) {
        return Err(rv(CKR_TEMPLATE_INCONSISTENT));
    }
    hsm::hsm_template(template, true).map_err(rv)
}

/// `WrapKey`: a session key, wrapped by a session key. KMS keys are never
/// extractable (`CKR_KEY_UNEXTRACTABLE`) and never wrap
/// (`CKR_KEY_FUNCTION_NOT_PERMITTED`).
pub fn wrap(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    wrapping: ObjectId,
    key: ObjectId,
) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    require_login(service, client, slot)?;
    let wrapping = session_key(service, client, slot, wrapping)
        .ok_or_else(|| not_a_session_key(service, client, slot, wrapping, CKR_WRAPPING_KEY_HANDLE_INVALID))?;
    let key = session_key(service, client, slot, key).ok_or(rv(CKR_KEY_UNEXTRACTABLE))?;
    if !wrapping.allows(mechanism.ty) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    if !wrapping.flag(CKA_WRAP) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    if !key.flag(CKA_EXTRACTABLE) {
        return Err(rv(CKR_KEY_UNEXTRACTABLE));
    }
    if !Arc::ptr_eq(wrapping.member(), key.member()) {
        return Err(rv(CKR_KEY_HANDLE_INVALID));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    hsm::wrap(wrapping.member(), &ck, wrapping.handle(), key.handle()).map(DataReply::Bytes).map_err(DataError::from)
}

/// `UnwrapKey` into a new session key. Unwrapping into a token object
/// would import key material past BYOK: `CKR_TEMPLATE_INCONSISTENT`.
pub fn unwrap(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    unwrapping: ObjectId,
    wrapped: &[u8],
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    require_login(service, client, slot)?;
    let hsm_template = new_key_template(template)?;
    let unwrapping = session_key(service, client, slot, unwrapping)
        .ok_or_else(|| not_a_session_key(service, client, slot, unwrapping, CKR_UNWRAPPING_KEY_HANDLE_INVALID))?;
    if !unwrapping.allows(mechanism.ty) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    if !unwrapping.flag(CKA_UNWRAP) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    let member = unwrapping.member().clone();
    let handle = hsm::unwrap(&member, &ck, unwrapping.handle(), wrapped, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `DeriveKey` (ECDH) from a session private key into a new session key.
pub fn derive(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    base: ObjectId,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    super::slots::require_cluster(service, slot)?;
    require_login(service, client, slot)?;
    let hsm_template = new_key_template(template)?;
    let base = session_key(service, client, slot, base)
        .ok_or_else(|| not_a_session_key(service, client, slot, base, CKR_KEY_HANDLE_INVALID))?;
    if !base.allows(mechanism.ty) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    if !base.flag(CKA_DERIVE) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    let member = base.member().clone();
    let handle = hsm::derive(&member, &ck, base.handle(), &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}
