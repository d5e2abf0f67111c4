//! Cryptographic operations with existing keys: each request is a whole
//! `*Init` + single-part call. This module checks who may do what with
//! which key, then dispatches: a version of an HSM instance's key runs on
//! the serving member of its cluster in one HSM session; a version of a
//! `default` key runs in the daemon's software vault ([`software`]).

use std::sync::Arc;

use cryptoki::session::Session;
use cryptoki_sys::*;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::InstanceKind;
use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{
    AttributeValue, CKM_P11KMS_ENVELOPE, MechParam, Mechanism as WireMechanism, ObjectId, find_attribute,
    mechanism_allowed,
};

use super::app_objects;
use super::clients::Held;
use super::crypt::Crypt;
use super::emulated;
use super::error::{DataError, rv};
use super::lookup::with_object;
use super::session_key::SessionKey;
use super::slots;
use super::software::{self, SoftwareKey};
use crate::clusters::LiveCluster;
use crate::hsm::error::Context;
use crate::hsm::mechanism::{ParamStorage, to_cryptoki};
use crate::hsm::{ObjectRole, oaep};
use crate::kms::keys::rules::{self, Operation};
use crate::kms::policy::Action;
use crate::kms::{KmsError, envelope};
use crate::service::Service;

/// An HSM object ready to be used, found without holding any lock.
enum Target {
    /// A version of a KMS key, on the serving member of its cluster.
    Version { cluster: Arc<LiveCluster>, uuid: [u8; 16], role: ObjectRole },
    /// A version of a key of the `default` instance, whose material the
    /// daemon's vault holds in software.
    Software(SoftwareKey),
    /// A session key, on the member that holds it.
    Session(SessionKey),
    /// A public key an application created, made an HSM session object on
    /// the serving member for the call.
    Public { cluster: Arc<LiveCluster>, attributes: Vec<p11kms_proto::pkcs11::Attribute> },
}

/// The flag an operation needs on a key.
fn needed_flag(operation: &Crypt<'_>) -> CK_ATTRIBUTE_TYPE {
    match operation {
        Crypt::Sign(_) => CKA_SIGN,
        Crypt::Verify(..) => CKA_VERIFY,
        Crypt::Encrypt(_) => CKA_ENCRYPT,
        Crypt::Decrypt(_) => CKA_DECRYPT,
    }
}

/// The policy action an operation with a KMS key's object is: AES and
/// signatures by their own names, RSA encryption by the asymmetric ones.
fn action_of(operation: &Crypt<'_>, role: ObjectRole) -> Action {
    match (operation, role) {
        (Crypt::Sign(_), _) => Action::Sign,
        (Crypt::Verify(..), _) => Action::Verify,
        (Crypt::Encrypt(_), ObjectRole::Secret) => Action::Encrypt,
        (Crypt::Encrypt(_), _) => Action::AsymmetricEncrypt,
        (Crypt::Decrypt(_), ObjectRole::Secret) => Action::Decrypt,
        (Crypt::Decrypt(_), _) => Action::AsymmetricDecrypt,
    }
}

/// Finds the key for an operation with `mechanism`. Every operation needs
/// a login, except verification and encryption with a public key, and any
/// use of a public session key (`CKA_PRIVATE` false), which anyone may do.
/// A key's `CKA_ALLOWED_MECHANISMS` is checked here for every kind of key:
/// the module checks its cached copy at `…Init`, the daemon again before
/// the HSM call (defence in depth).
fn target(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    operation: &Crypt<'_>,
    mechanism: u64,
) -> Result<Target, DataError> {
    let public_ok = matches!(operation, Crypt::Verify(..) | Crypt::Encrypt(_));
    let logged_in = service.clients.is_logged_in(client, slot);
    if app_objects::is_created(object) {
        return match app_objects::held(service, client, slot, object).map_err(DataError::for_key)? {
            Held::Key(key) if !(logged_in || public_ok && key.class() == CKO_PUBLIC_KEY || !key.flag(CKA_PRIVATE)) => {
                Err(rv(CKR_USER_NOT_LOGGED_IN))
            }
            Held::Key(key) if !key.flag(needed_flag(operation)) => Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED)),
            Held::Key(key) if !key.allows(mechanism) => Err(rv(CKR_MECHANISM_INVALID)),
            Held::Key(key) => Ok(Target::Session(key)),
            Held::Object(created) if created.class() != CKO_PUBLIC_KEY => Err(rv(CKR_KEY_HANDLE_INVALID)),
            Held::Object(_) if !public_ok => Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED)),
            Held::Object(created) if !created.flag(needed_flag(operation)) => Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED)),
            Held::Object(created)
                if !mechanism_allowed(find_attribute(created.attributes(), CKA_ALLOWED_MECHANISMS), mechanism) =>
            {
                Err(rv(CKR_MECHANISM_INVALID))
            }
            // Only an HSM session can hold an application's public key.
            Held::Object(created) => Ok(Target::Public {
                cluster: slots::cluster(service, slot, slots::NO_HSM)?,
                attributes: created.attributes().to_vec(),
            }),
        };
    }
    with_object(service, client, slot, object, |instance, view, access| {
        let public_use = public_ok && view.role == ObjectRole::Public;
        if !(logged_in || public_use) {
            return Err(rv(CKR_USER_NOT_LOGGED_IN));
        }
        if !view.key.allows_mechanism(mechanism) {
            return Err(rv(CKR_MECHANISM_INVALID));
        }
        access.check_key(action_of(operation, view.role), view.key)?;
        rules::check(Operation::Use, &view.key.record)?;
        rules::check_version(&view.key.record, view.version)?;
        if instance.kind == InstanceKind::Default {
            // The object's flags decide, as an HSM object's would.
            let flag = view.attribute(needed_flag(operation));
            let permitted = matches!(flag, AttributeValue::Value(v) if v == [CK_TRUE]);
            return Ok(Target::Software(SoftwareKey {
                id: view.version.uuid,
                spec: view.key.record.key_spec,
                permitted,
            }));
        }
        let cluster_name = instance.cluster.as_deref().ok_or(rv(slots::NO_HSM))?;
        let cluster = service.clusters.get(cluster_name).map_err(|_| DataError::ClusterDown(slot))?;
        Ok(Target::Version { cluster, uuid: view.version.uuid, role: view.role })
    })
    .map_err(DataError::for_key)
}

/// Runs `op` with the target's HSM session and object handle. A key
/// version fails over between members ([`crate::hsm::Cluster::run_on_version`]):
/// the client sees no failure while one member can do the work.
fn with_target<T>(
    target: &Target,
    op: impl Fn(&Session, cryptoki::object::ObjectHandle) -> Result<T, cryptoki::error::Error>,
) -> Result<T, DataError> {
    let result = match target {
        Target::Version { cluster, uuid, role } => {
            cluster.cluster.run_on_version(uuid, *role, |s, handle| op(s, handle).context(|| "operation".into()))
        }
        Target::Session(key) => key.member().with_session(|s| op(s, key.handle()).context(|| "operation".into())),
        Target::Public { cluster, attributes } => {
            let member = cluster.cluster.serving_member()?;
            crate::hsm::session_keys::with_public_key(member, attributes, op)
        }
        // `operate` sends these to `software` before any HSM work.
        Target::Software(_) => return Err(rv(CKR_GENERAL_ERROR)),
    };
    Ok(result?)
}

/// Runs one operation with the application's mechanism.
fn run<T>(
    target: &Target,
    mechanism: &mut WireMechanism,
    op: impl Fn(
        &Session,
        &cryptoki::mechanism::Mechanism<'_>,
        cryptoki::object::ObjectHandle,
    ) -> Result<T, cryptoki::error::Error>,
) -> Result<T, DataError> {
    let mut storage = ParamStorage::default();
    let mechanism = to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    with_target(target, |s, handle| op(s, &mechanism, handle))
}

/// Runs `operation` with the key `object` of `slot`.
pub fn operate(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    mechanism: &mut WireMechanism,
    operation: Crypt<'_>,
) -> Result<DataReply, DataError> {
    if mechanism.ty == CKM_P11KMS_ENVELOPE {
        return self::envelope_operation(service, client, slot, object, mechanism, operation);
    }
    // Public-key operations need no login; see `target`.
    let target = target(service, client, slot, object, &operation, mechanism.ty)?;
    if let Target::Software(key) = &target {
        return software::operate(&*service.kms.vault, key, mechanism, operation);
    }
    let gcm = mechanism.ty == CKM_AES_GCM;
    match operation {
        Crypt::Sign(data) => {
            let digest = emulated::ecdsa_digest(mechanism, data)?;
            let data = digest.as_deref().unwrap_or(data);
            run(&target, mechanism, |s, m, key| s.sign(m, key, data)).map(DataReply::Bytes)
        }
        Crypt::Verify(data, signature) => {
            let digest = emulated::ecdsa_digest(mechanism, data)?;
            let data = digest.as_deref().unwrap_or(data);
            run(&target, mechanism, |s, m, key| s.verify(m, key, data, signature)).map(|()| DataReply::Done)
        }
        Crypt::Encrypt(data) => match run(&target, mechanism, |s, m, key| s.encrypt(m, key, data)) {
            Err(error) if oaep::parameters_refused(error.ck_rv()) => match emulated::oaep_parameters(mechanism) {
                Some((hash, label)) => {
                    let label = label.to_vec();
                    let encrypted = with_target(&target, |s, key| oaep::encrypt(s, key, hash, &label, data))?;
                    encrypted.map(DataReply::Bytes).map_err(rv)
                }
                None => Err(error),
            },
            other => other.map(DataReply::Bytes),
        },
        Crypt::Decrypt(data) => {
            let result = match run(&target, mechanism, |s, m, key| s.decrypt(m, key, data)) {
                Err(error) if oaep::parameters_refused(error.ck_rv()) => match emulated::oaep_parameters(mechanism) {
                    Some((hash, label)) => {
                        let label = label.to_vec();
                        with_target(&target, |s, key| oaep::decrypt(s, key, hash, &label, data))?.map_err(rv)
                    }
                    None => Err(error),
                },
                other => other,
            };
            result
                .map(|plain| DataReply::Secret(SecretBytes::new(plain)))
                // SoftHSM reports a failed GCM tag check as CKR_GENERAL_ERROR;
                // PKCS#11 names it CKR_ENCRYPTED_DATA_INVALID, which
                // applications test for.
                .map_err(
                    |error| {
                        if gcm && error.ck_rv() == CKR_GENERAL_ERROR { rv(CKR_ENCRYPTED_DATA_INVALID) } else { error }
                    },
                )
        }
    }
}

/// `GenerateRandom`: bytes from the HSM behind the slot, or from the
/// daemon's vault behind the `default` slot.
pub fn random(service: &Service, slot: u64, length: u32) -> Result<DataReply, DataError> {
    let overhead = p11kms_proto::data::RANDOM_REPLY_OVERHEAD as u32;
    let most = service.config.sockets.max_body_bytes.saturating_sub(overhead);
    if length > most.min(p11kms_proto::data::MAX_RANDOM_PER_REQUEST as u32) {
        return Err(rv(CKR_DATA_LEN_RANGE));
    }
    let kind = slots::instance(&*service.kms.registry()?, slot)?.kind;
    if kind == InstanceKind::Default {
        return software::random(&*service.kms.vault, length as usize);
    }
    let cluster = slots::cluster(service, slot, CKR_RANDOM_NO_RNG)?;
    let member = cluster.cluster.serving_member()?;
    member
        .with_session(|s| s.generate_random_vec(length).context(|| "C_GenerateRandom".into()))
        .map(|bytes| DataReply::Secret(SecretBytes::new(bytes)))
        .map_err(DataError::from)
}

/// The vendor envelope mechanism ([`CKM_P11KMS_ENVELOPE`]): KMS `Encrypt`
/// under the key's primary version, KMS `Decrypt` with the version the blob
/// names (which must belong to the same key).
fn envelope_operation(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    mechanism: &WireMechanism,
    operation: Crypt<'_>,
) -> Result<DataReply, DataError> {
    let context = match &mechanism.param {
        MechParam::None => Default::default(),
        MechParam::Bytes(json) if json.is_empty() => Default::default(),
        MechParam::Bytes(json) => serde_json::from_slice(json).map_err(|_| rv(CKR_MECHANISM_PARAM_INVALID))?,
        _ => return Err(rv(CKR_MECHANISM_PARAM_INVALID)),
    };
    // The blob must name this key (`decrypt_bytes` refuses another), so
    // `Decrypt` on this key is `Decrypt` on the key the blob names.
    let action = match operation {
        Crypt::Encrypt(_) => Some(Action::Encrypt),
        Crypt::Decrypt(_) => Some(Action::Decrypt),
        Crypt::Sign(_) | Crypt::Verify(..) => None,
    };
    let key_id = with_object(service, client, slot, object, |_, view, access| {
        if !access.is_logged_in() {
            return Err(rv(CKR_USER_NOT_LOGGED_IN));
        }
        if !view.key.allows_mechanism(mechanism.ty) {
            return Err(rv(CKR_MECHANISM_INVALID));
        }
        access.check_key(action.ok_or(rv(CKR_KEY_FUNCTION_NOT_PERMITTED))?, view.key)?;
        Ok(view.key.record.key_id.clone())
    })
    .map_err(DataError::for_key)?;
    let result = match operation {
        Crypt::Encrypt(data) => {
            envelope::encrypt_bytes(&service.kms, &key_id, data, &context).map(|e| DataReply::Bytes(e.ciphertext_blob))
        }
        Crypt::Decrypt(data) => envelope::decrypt_bytes(&service.kms, data, &context, Some(&key_id))
            .map(|d| DataReply::Secret(d.plaintext))
            // The blob names its key; a name that matches no key is a
            // damaged blob, not a bad handle.
            .map_err(|e| match e {
                KmsError::KeyNotFound(_) | KmsError::AliasNotFound(_) => KmsError::InvalidCiphertext(e.to_string()),
                other => other,
            }),
        Crypt::Sign(_) | Crypt::Verify(..) => return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED)),
    };
    result.map_err(DataError::from)
}
