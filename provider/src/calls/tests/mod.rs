//! The calls against a fake daemon over a real socket: round-trip counts,
//! local rules, operation stages, restarts. This file holds the fake
//! daemon's small world and helpers; the tests are grouped by area.

mod create;
mod crypto;
mod digest_random;
mod keys;
mod lifecycle;
mod objects;
mod sessions;
mod slots;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use p11kms_ffi::limits::MAX_DATA_LEN;
use p11kms_ffi::sys::*;
use p11kms_ffi::{Delivery, Operation, OutBuf};
use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::pkcs11::{
    Attribute, AttributeValue, Mechanism, MechanismInfo, ObjectDescription, SlotDescription, TokenDescription,
};
use p11kms_proto::{CkRv, SecretBytes};

use crate::calls::Part;
use crate::module::Module;
use crate::operations::OpKind;
use crate::testutil::{Action, FakeDaemon, temp_dir};

pub(super) const PIN: &[u8] = b"1234";
pub(super) const RO: CK_FLAGS = CKF_SERIAL_SESSION;
pub(super) const RW: CK_FLAGS = CKF_SERIAL_SESSION | CKF_RW_SESSION;

pub(super) const PUBLIC_KEY: u64 = 100;
pub(super) const PRIVATE_KEY: u64 = 101;
pub(super) const AES_KEY: u64 = 102;
pub(super) const DATA_OBJECT: u64 = 103;

pub(super) fn token(label: &str) -> TokenDescription {
    let mechanism = |ty, flags| MechanismInfo { ty, min_key_size: 0, max_key_size: 0, flags };
    TokenDescription {
        label: label.into(),
        model: "software".into(),
        serial: "0000000000000001".into(),
        flags: CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_RNG,
        min_pin_len: 4,
        max_pin_len: 64,
        mechanisms: vec![
            mechanism(CKM_AES_KEY_GEN, CKF_GENERATE),
            mechanism(CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT),
            mechanism(CKM_ECDSA, CKF_SIGN | CKF_VERIFY),
            mechanism(CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR),
        ],
    }
}

pub(super) fn object(id: u64, class: u64, private: bool, flags: &[(u64, bool)]) -> ObjectDescription {
    let mut fixed = vec![
        Attribute::ulong(CKA_CLASS, class),
        Attribute::bool(CKA_PRIVATE, private),
        Attribute::bool(CKA_TOKEN, true),
    ];
    fixed.extend(flags.iter().map(|(ty, value)| Attribute::bool(*ty, *value)));
    let sensitive = if class == CKO_PUBLIC_KEY || class == CKO_DATA { vec![] } else { vec![CKA_VALUE] };
    ObjectDescription { id, fixed, sensitive }
}

pub(super) fn objects() -> Vec<ObjectDescription> {
    vec![
        object(PUBLIC_KEY, CKO_PUBLIC_KEY, false, &[(CKA_VERIFY, true)]),
        object(PRIVATE_KEY, CKO_PRIVATE_KEY, true, &[(CKA_SIGN, true)]),
        object(AES_KEY, CKO_SECRET_KEY, true, &[(CKA_ENCRYPT, true), (CKA_DECRYPT, true), (CKA_SIGN, false)]),
        object(DATA_OBJECT, CKO_DATA, false, &[]),
    ]
}

pub(super) fn signature_of(data: &[u8]) -> Vec<u8> {
    [b"sig:".as_slice(), data].concat()
}

pub(super) fn flip(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0xff).collect()
}

pub(super) fn rv(value: u64) -> DataResult {
    Err(CkRv(value))
}

/// Objects a page of the fake daemon holds: few, so paging is exercised.
pub(super) const PAGE: usize = 3;

/// The page of `all` after `after`, as the daemon answers `FindObjectsPage`
/// (from the first again when `after` is not among them).
pub(super) fn page(all: &[ObjectDescription], after: Option<u64>) -> DataReply {
    let start = after.and_then(|id| all.iter().position(|o| o.id == id)).map_or(0, |at| at + 1);
    let objects: Vec<_> = all[start..].iter().take(PAGE).cloned().collect();
    let more = start + objects.len() < all.len();
    DataReply::ObjectsPage { objects, more }
}

/// A fake daemon serving [`world_handler`].
pub(super) fn world() -> FakeDaemon {
    FakeDaemon::start(world_handler(Arc::default()))
}

/// A small world: slot 1 ("alpha") with objects, slot 2 without token,
/// slot 3 ("beta") empty. Login with PIN 1234.
/// `logged_in` is the daemon's login state (slots), shared so a test can
/// wipe it as a restart would.
pub(super) fn world_handler(
    logged_in: Arc<Mutex<HashSet<u64>>>,
) -> impl Fn(&DataRequest) -> Action + Send + Sync + 'static {
    let next_id = AtomicU64::new(1000);
    move |request| {
        if matches!(request, DataRequest::GenerateRandom { length: 13, .. }) {
            return Action::Hangup;
        }
        let mut logged_in = logged_in.lock().expect("lock");
        Action::Reply(match request {
            DataRequest::ListSlots => Ok(DataReply::Slots(vec![
                SlotDescription { id: 1, description: "alpha".into(), token: Some(token("alpha")) },
                SlotDescription { id: 2, description: "down".into(), token: None },
                SlotDescription { id: 3, description: "beta".into(), token: Some(token("beta")) },
            ])),
            DataRequest::Login { slot, pin, .. } if pin.expose() == PIN => {
                if logged_in.insert(*slot) {
                    Ok(DataReply::Done)
                } else {
                    rv(CKR_USER_ALREADY_LOGGED_IN)
                }
            }
            DataRequest::Login { .. } => rv(CKR_PIN_INCORRECT),
            DataRequest::Logout { slot } => {
                if logged_in.remove(slot) {
                    Ok(DataReply::Done)
                } else {
                    rv(CKR_USER_NOT_LOGGED_IN)
                }
            }
            DataRequest::FindObjectsPage { slot: 1, template, after } => {
                let visible: Vec<_> = objects()
                    .into_iter()
                    .filter(|o| {
                        let private = o.fixed.contains(&Attribute::bool(CKA_PRIVATE, true));
                        (!private || logged_in.contains(&1)) && template.iter().all(|t| o.fixed.contains(t))
                    })
                    .collect();
                Ok(page(&visible, *after))
            }
            DataRequest::FindObjectsPage { .. } => Ok(DataReply::ObjectsPage { objects: vec![], more: false }),
            // The one-reply find of modules before paging: never sent now.
            DataRequest::FindObjects { .. } => rv(CKR_GENERAL_ERROR),
            DataRequest::GetAttributes { object, types, .. } => Ok(DataReply::Attributes(
                types
                    .iter()
                    .map(|ty| match *ty {
                        CKA_LABEL => AttributeValue::Value(format!("label-{object}").into_bytes()),
                        _ => AttributeValue::Invalid,
                    })
                    .collect(),
            )),
            DataRequest::Sign { data, .. } if data.as_slice() == b"fail" => rv(CKR_FUNCTION_FAILED),
            DataRequest::Sign { data, .. } => Ok(DataReply::Bytes(signature_of(data))),
            DataRequest::Verify { data, signature, .. } if *signature == signature_of(data) => Ok(DataReply::Done),
            DataRequest::Verify { .. } => rv(CKR_SIGNATURE_INVALID),
            DataRequest::Encrypt { data, .. } => Ok(DataReply::Bytes(flip(data.expose()))),
            DataRequest::Decrypt { data, .. } => Ok(DataReply::Secret(SecretBytes::new(flip(data)))),
            DataRequest::GenerateKey { .. } => {
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                Ok(DataReply::Objects(vec![object(id, CKO_SECRET_KEY, true, &[(CKA_ENCRYPT, true)])]))
            }
            DataRequest::GenerateKeyPair { .. } => {
                let id = next_id.fetch_add(2, Ordering::SeqCst);
                Ok(DataReply::Objects(vec![
                    object(id, CKO_PUBLIC_KEY, false, &[(CKA_VERIFY, true)]),
                    object(id + 1, CKO_PRIVATE_KEY, true, &[(CKA_SIGN, true)]),
                ]))
            }
            DataRequest::DestroyObject { .. } => Ok(DataReply::Done),
            DataRequest::GenerateRandom { length, .. } => {
                Ok(DataReply::Secret(SecretBytes::new(vec![0x42; *length as usize])))
            }
            DataRequest::SetPin { slot, old_pin, .. } if logged_in.contains(slot) && old_pin.expose() == PIN => {
                Ok(DataReply::Done)
            }
            DataRequest::SetPin { .. } => rv(CKR_PIN_INCORRECT),
            DataRequest::CreateObject { template, .. } | DataRequest::CopyObject { template, .. } => {
                // The object is what the template says: token or session.
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                let token = template.contains(&Attribute::bool(CKA_TOKEN, true));
                let mut created = object(id, CKO_DATA, false, &[]);
                created.fixed.retain(|a| a.ty != CKA_TOKEN);
                created.fixed.push(Attribute::bool(CKA_TOKEN, token));
                Ok(DataReply::Objects(vec![created]))
            }
            DataRequest::SetAttributes { object: id, .. } => {
                Ok(DataReply::Objects(vec![object(*id, CKO_DATA, false, &[])]))
            }
            DataRequest::GetObjectSize { .. } => Ok(DataReply::Size(321)),
            DataRequest::DestroySessionObjects { .. } => Ok(DataReply::Done),
            DataRequest::WrapKey { .. } => Ok(DataReply::Bytes(vec![7; 40])),
            DataRequest::UnwrapKey { .. } | DataRequest::DeriveKey { .. } => {
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                let mut key = object(id, CKO_SECRET_KEY, true, &[(CKA_DECRYPT, true)]);
                key.fixed.retain(|a| a.ty != CKA_TOKEN);
                key.fixed.push(Attribute::bool(CKA_TOKEN, false));
                Ok(DataReply::Objects(vec![key]))
            }
            DataRequest::Hello { .. } => rv(CKR_GENERAL_ERROR),
        })
    }
}

pub(super) fn module(daemon: &FakeDaemon) -> Module {
    Module::new(daemon.path(), [9; 16])
}

pub(super) fn code<T: std::fmt::Debug>(result: crate::error::Result<T>) -> u64 {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.ck_rv().0,
    }
}

/// Requests of a kind seen by the daemon.
pub(super) fn count(daemon: &FakeDaemon, matches: impl Fn(&DataRequest) -> bool) -> usize {
    daemon.requests().iter().filter(|r| matches(r)).count()
}

/// Logs in on slot 1 through a new session and returns it.
pub(super) fn logged_in_session(m: &Module, flags: CK_FLAGS) -> CK_SESSION_HANDLE {
    let session = m.open_session(1, flags).expect("open");
    m.login(session, CKU_USER, PIN, None).expect("login");
    session
}

/// Finds the handle for an object id (after login for private ones).
pub(super) fn handle_of(m: &Module, session: CK_SESSION_HANDLE, class: u64) -> CK_OBJECT_HANDLE {
    m.find_objects_init(session, &[Attribute::ulong(CKA_CLASS, class)]).expect("find");
    let found = m.find_objects(session, 10).expect("page");
    m.find_objects_final(session).expect("final");
    assert_eq!(found.len(), 1, "one object of class {class}");
    found[0]
}
