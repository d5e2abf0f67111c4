//! Secrets as PKCS#11 data objects, end to end with the real module
//! (through the cryptoki crate): found by class, label, application or
//! unfiltered, only after the login and only in their instance's slot;
//! their attributes; `CKA_VALUE` read fresh at every call (a new value
//! after `p11kms secret put-value`, binary bytes exact, 30 KiB); a value
//! that grows between the length query and the read is refused whole;
//! set, copy and destroy refused; a secret made later appears, one in its
//! recovery window disappears and comes back with `secret restore`; the
//! state of the secret's key decides whether its value reads.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::ffi::CString;

use cryptoki::error::RvError;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_C_GetFunctionList, CK_FUNCTION_LIST, CK_RV, CK_UNAVAILABLE_INFORMATION, CKA_VALUE,
    CKR_BUFFER_TOO_SMALL, CKR_OK,
};

use p11kms_tests::{Daemon, hsm1, load_module, module, rv, slot_labelled};

const APPLICATION: &[u8] = b"p11kms secret";

/// Puts `value` as version `version` (ACSCurrent) of `name`.
fn put_value(daemon: &Daemon, name: &str, version: &str, value: &str) {
    daemon.cli_json(&["secret", "put-value", name, "--version-id", version, "--secret-data", value]);
}

fn find(session: &Session, template: &[Attribute]) -> Vec<ObjectHandle> {
    session.find_objects(template).expect("find")
}

fn by_label(session: &Session, name: &str) -> Vec<ObjectHandle> {
    find(session, &[Attribute::Class(ObjectClass::DATA), Attribute::Label(name.into())])
}

fn value(session: &Session, object: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(object, &[AttributeType::Value]).expect("value").as_slice() {
        [Attribute::Value(value)] => value.clone(),
        other => panic!("no value: {other:?}"),
    }
}

/// The module's 2.40 function list: the cryptoki crate's `get_attributes`
/// asks every length first, so a call with a buffer of the caller's
/// choosing is made directly.
fn functions() -> &'static CK_FUNCTION_LIST {
    let path = CString::new(module().to_str().expect("path")).expect("C path");
    // SAFETY: the module is loaded already (RTLD_NOLOAD finds it); the
    // handle is never closed, so the table stays valid.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    assert!(!handle.is_null(), "libp11kms.so is loaded");
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
    // SAFETY: the PKCS#11 signature of C_GetFunctionList.
    let get: CK_C_GetFunctionList = unsafe { std::mem::transmute(symbol) };
    let mut list = std::ptr::null_mut();
    // SAFETY: `list` receives a pointer to the module's static table.
    assert_eq!(unsafe { get.expect("C_GetFunctionList")(&mut list) }, CKR_OK);
    // SAFETY: a static of the library, which stays loaded.
    unsafe { &*list }
}

/// `C_GetAttributeValue(CKA_VALUE)` with `room` bytes (a length query when
/// `None`): the return value, the length written back, the bytes.
fn raw_value(session: &Session, object: ObjectHandle, room: Option<usize>) -> (CK_RV, u64, Vec<u8>) {
    let mut buffer = vec![0u8; room.unwrap_or(0)];
    let pointer = if room.is_some() { buffer.as_mut_ptr().cast() } else { std::ptr::null_mut() };
    let mut template = [CK_ATTRIBUTE { type_: CKA_VALUE, pValue: pointer, ulValueLen: buffer.len() as u64 }];
    let get = functions().C_GetAttributeValue.expect("C_GetAttributeValue");
    // SAFETY: live session and object handles, a template of one attribute
    // whose buffer lives for the call.
    let code = unsafe { get(session.handle(), object.handle(), template.as_mut_ptr(), 1) };
    (code, template[0].ulValueLen, buffer)
}

#[test]
fn secrets_are_read_only_data_objects_of_their_instance() {
    let daemon = Daemon::start();
    daemon.cli_json(&["cluster", "create", "vault", "--members", "2"]);
    daemon.cli_json(&["instance", "create", "payments", "--cluster", "vault"]);
    let pin = daemon.create_app("web", "hsm1");
    let other_pin = daemon.create_app("pay", "payments");
    daemon.create_secret("db/orders", "hsm1", b"pw-1", false);
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    daemon.create_secret("blob", "hsm1", &binary, true);
    let large: Vec<u8> = (0..30 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    daemon.create_secret("large", "hsm1", &large, false);
    daemon.create_secret("theirs", "payments", b"not yours", false);

    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    let session = ctx.open_rw_session(slot).expect("session");

    // Before the login: no secret at all.
    assert!(find(&session, &[Attribute::Class(ObjectClass::DATA)]).is_empty());
    assert!(by_label(&session, "db/orders").is_empty());

    // Another instance's app sees its own secrets only, and cannot log in here.
    let pay = ctx.open_rw_session(slot_labelled(&ctx, "payments")).expect("payments session");
    pay.login(UserType::User, Some(&AuthPin::from(other_pin.clone()))).expect("login to payments");
    let theirs = by_label(&pay, "theirs");
    assert_eq!(theirs.len(), 1);
    assert_eq!(value(&pay, theirs[0]), b"not yours");
    assert!(by_label(&pay, "db/orders").is_empty(), "a secret of hsm1 is not in the payments slot");
    assert_eq!(find(&pay, &[Attribute::Application(APPLICATION.to_vec())]).len(), 1);
    assert_eq!(rv(session.login(UserType::User, Some(&AuthPin::from(other_pin)))), RvError::PinIncorrect);

    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    assert!(by_label(&session, "theirs").is_empty(), "nor the other way round");

    // Found by class and label, by label alone, by application, by class,
    // and in an unfiltered find, as one object each.
    let db = by_label(&session, "db/orders");
    assert_eq!(db.len(), 1, "exactly one object");
    let db = db[0];
    assert_eq!(find(&session, &[Attribute::Label(b"db/orders".to_vec())]), vec![db]);
    let secrets = find(&session, &[Attribute::Application(APPLICATION.to_vec())]);
    assert_eq!(secrets.len(), 3, "db/orders, blob, large");
    assert_eq!(find(&session, &[Attribute::Class(ObjectClass::DATA)]), secrets);
    // An unfiltered find lists them, and nothing else: the only key of the
    // instance is the secrets' service key, which no app sees.
    assert_eq!(find(&session, &[]), secrets, "an unfiltered find lists them");
    assert!(find(&session, &[Attribute::Label(b"db/orders".to_vec()), Attribute::Token(false)]).is_empty());
    assert!(find(&session, &[Attribute::Value(b"pw-1".to_vec())]).is_empty(), "a find never matches values");

    // The attributes.
    let attributes = session
        .get_attributes(
            db,
            &[
                AttributeType::Class,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Modifiable,
                AttributeType::Copyable,
                AttributeType::Destroyable,
                AttributeType::Label,
                AttributeType::Application,
                AttributeType::ObjectId,
                AttributeType::Value,
            ],
        )
        .expect("attributes");
    assert_eq!(
        attributes,
        vec![
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Modifiable(false),
            Attribute::Copyable(false),
            Attribute::Destroyable(false),
            Attribute::Label(b"db/orders".to_vec()),
            Attribute::Application(APPLICATION.to_vec()),
            Attribute::ObjectId(Vec::new()),
            Attribute::Value(b"pw-1".to_vec()),
        ]
    );

    // Values: binary bytes exact, 30 KiB whole, a new value at the next read.
    let blob = by_label(&session, "blob")[0];
    assert_eq!(value(&session, blob), binary);
    let large_object = by_label(&session, "large")[0];
    assert_eq!(value(&session, large_object), large);
    put_value(&daemon, "db/orders", "v2", "pw-2");
    assert_eq!(value(&session, db), b"pw-2", "read again, never cached");
    assert_eq!(by_label(&session, "db/orders"), vec![db], "the same object, the same handle");

    // The two-call convention when the value changes between the calls:
    // never a part of a value.
    let (code, len, _) = raw_value(&session, db, None);
    assert_eq!((code, len), (CKR_OK, 4), "the length of pw-2");
    put_value(&daemon, "db/orders", "v3", "pw-3-longer");
    let (code, len, untouched) = raw_value(&session, db, Some(4));
    assert_eq!((code, len), (CKR_BUFFER_TOO_SMALL, CK_UNAVAILABLE_INFORMATION), "the value grew");
    assert_eq!(untouched, [0; 4], "nothing written");
    put_value(&daemon, "db/orders", "v4", "pw");
    let (code, len, bytes) = raw_value(&session, db, Some(11));
    assert_eq!((code, len, &bytes[..2]), (CKR_OK, 2, &b"pw"[..]), "a shorter value fits, with its length");

    // Neither changed, copied nor destroyed through PKCS#11.
    assert_eq!(rv(session.update_attributes(db, &[Attribute::Label(b"x".to_vec())])), RvError::ActionProhibited);
    assert_eq!(rv(session.copy_object(db, &[])), RvError::ActionProhibited);
    assert_eq!(rv(session.destroy_object(db)), RvError::ActionProhibited);
    assert_eq!(value(&session, db), b"pw", "still there");

    // A secret made later appears; one in its recovery window disappears,
    // its value refused, until it is restored.
    daemon.create_secret("later", "hsm1", b"new", false);
    let later = by_label(&session, "later");
    assert_eq!(later.len(), 1);
    assert_eq!(value(&session, later[0]), b"new");
    daemon.cli_json(&["secret", "delete", "db/orders"]);
    assert!(by_label(&session, "db/orders").is_empty(), "pending deletion: not found");
    assert_eq!(find(&session, &[Attribute::Application(APPLICATION.to_vec())]).len(), 3);
    assert_eq!(rv(session.get_attributes(db, &[AttributeType::Value])), RvError::ActionProhibited);
    daemon.cli_json(&["secret", "restore", "db/orders"]);
    assert_eq!(by_label(&session, "db/orders"), vec![db], "back, under its handle");
    assert_eq!(value(&session, db), b"pw");
    daemon.cli_json(&["secret", "delete", "later", "--force-delete-without-recovery"]);
    assert_eq!(rv(session.get_attributes(later[0], &[AttributeType::Value])), RvError::ObjectHandleInvalid);

    // The key's state decides, as for every read of a value: shown with a
    // secret under the operator's key (the service key of `db/orders`
    // cannot be disabled: `tests/service_keys.rs`).
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    daemon.cli_json(&[
        "secret",
        "create",
        "keyed",
        "--instance",
        "hsm1",
        "--version-id",
        "v1",
        "--secret-data",
        "under-a-cmk",
        "--encryption-key-id",
        &key,
    ]);
    let keyed = by_label(&session, "keyed");
    assert_eq!(keyed.len(), 1);
    daemon.cli_json(&["key", "disable", &key]);
    assert_eq!(rv(session.get_attributes(keyed[0], &[AttributeType::Value])), RvError::KeyFunctionNotPermitted);
    daemon.cli_json(&["key", "enable", &key]);
    assert_eq!(value(&session, keyed[0]), b"under-a-cmk");
    assert_eq!(daemon.cli_error(&["key", "disable", "alias/acs/secrets/hsm1"]), "Rejected.UnsupportedOperation");
    assert_eq!(value(&session, db), b"pw");

    // After the logout: hidden again, handles invalid.
    session.logout().expect("logout");
    assert!(by_label(&session, "db/orders").is_empty());
    assert_eq!(rv(session.get_attributes(db, &[AttributeType::Label])), RvError::ObjectHandleInvalid);
}
