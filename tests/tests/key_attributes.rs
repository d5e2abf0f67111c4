//! Key attributes added for conformance (issue 18), end to end and
//! against SoftHSM 2.6 (the daemon's own member token, opened directly):
//!
//! - `CKA_ALLOWED_MECHANISMS` on session keys: kept, read back with the
//!   two-call convention, read-only, and enforced at `…Init`, wrap and
//!   derive (`CKR_MECHANISM_INVALID`); refused on a KMS key's template;
//! - `CKA_CHECK_VALUE` of a session AES key (the standard 3 bytes of
//!   E_K(0)), and `CKR_ATTRIBUTE_SENSITIVE` for a KMS AES key;
//! - `CKM_AES_ECB_ENCRYPT_DATA` and `CKM_AES_CBC_ENCRYPT_DATA`, checked
//!   against software AES.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use cryptoki::error::RvError;
use cryptoki::mechanism::ekdf::AesCbcDeriveParams;
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use cryptoki_sys::{CK_KEY_DERIVATION_STRING_DATA, CK_MECHANISM_TYPE, CKM_AES_ECB_ENCRYPT_DATA};

use p11kms_tests::{Daemon, MemberTokens, hsm1, load_module, rv};

const KEY: [u8; 16] = [0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c];
const DATA: [u8; 32] = [0x11; 32];
const IV: [u8; 16] = [0x0f; 16];

fn ecb(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let mut out = Vec::new();
    for block in data.chunks(16) {
        let mut b = GenericArray::clone_from_slice(block);
        cipher.encrypt_block(&mut b);
        out.extend_from_slice(&b);
    }
    out
}

fn cbc(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut chain = *iv;
    let mut out = Vec::new();
    for block in data.chunks(16) {
        let x: Vec<u8> = block.iter().zip(chain).map(|(a, b)| a ^ b).collect();
        let c = ecb(key, &x);
        chain.copy_from_slice(&c);
        out.extend(c);
    }
    out
}

/// `CKM_AES_ECB_ENCRYPT_DATA`, which cryptoki 0.12 does not name.
fn ecb_derive(params: &CK_KEY_DERIVATION_STRING_DATA) -> Mechanism<'_> {
    // SAFETY: `MechanismType` is `#[repr(transparent)]` over a
    // `CK_MECHANISM_TYPE`, as cryptoki documents; any number is valid.
    let ty = unsafe { std::mem::transmute::<CK_MECHANISM_TYPE, MechanismType>(CKM_AES_ECB_ENCRYPT_DATA) };
    Mechanism::VendorDefined(VendorDefinedMechanism::new(ty, Some(params)))
}

fn string_data(data: &[u8]) -> CK_KEY_DERIVATION_STRING_DATA {
    CK_KEY_DERIVATION_STRING_DATA { pData: data.as_ptr().cast_mut(), ulLen: data.len() as _ }
}

fn import(session: &Session, value: &[u8], extra: &[Attribute]) -> ObjectHandle {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Value(value.to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    template.extend_from_slice(extra);
    session.create_object(&template).expect("import a session AES key")
}

fn derived_template() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::ValueLen(32.into()),
        Attribute::Encrypt(true),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ]
}

fn value(session: &Session, key: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(key, &[AttributeType::Value]).expect("value").as_slice() {
        [Attribute::Value(v)] => v.clone(),
        other => panic!("no value: {other:?}"),
    }
}

fn allowed(session: &Session, key: ObjectHandle) -> Vec<MechanismType> {
    match session.get_attributes(key, &[AttributeType::AllowedMechanisms]).expect("allowed").as_slice() {
        [Attribute::AllowedMechanisms(list)] => list.clone(),
        other => panic!("no CKA_ALLOWED_MECHANISMS: {other:?}"),
    }
}

fn check_value(session: &Session, key: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(key, &[AttributeType::CheckValue]).expect("check value").as_slice() {
        [Attribute::CheckValue(v)] => v.clone(),
        other => panic!("no CKA_CHECK_VALUE: {other:?}"),
    }
}

/// What both tokens answer, p11kms's and SoftHSM's.
#[derive(Debug, PartialEq, Eq)]
struct Answers {
    gcm_only_cbc_pad: RvError,
    gcm_only_list: Vec<MechanismType>,
    check_value: Vec<u8>,
    ecb_value: Vec<u8>,
    cbc_value: Vec<u8>,
    derive_not_allowed: RvError,
    empty_data: RvError,
    ragged_data: RvError,
}

/// The same calls on either token; `session` is logged in.
fn answers(session: &Session) -> Answers {
    let gcm_only = import(session, &KEY, &[Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM])]);
    let gcm_only_cbc_pad = rv(session.encrypt(&Mechanism::AesCbcPad([0; 16]), gcm_only, b"data"));
    let base = import(
        session,
        &KEY,
        &[Attribute::Derive(true), Attribute::AllowedMechanisms(vec![MechanismType::AES_CBC_ENCRYPT_DATA])],
    );
    let free_base = import(session, &KEY, &[Attribute::Derive(true)]);
    let data = string_data(&DATA);
    let ecb_key = session.derive_key(&ecb_derive(&data), free_base, &derived_template()).expect("ECB derive");
    let cbc_mech = Mechanism::AesCbcEncryptData(AesCbcDeriveParams::new(IV, &DATA));
    let cbc_key = session.derive_key(&cbc_mech, base, &derived_template()).expect("CBC derive");
    let ragged = string_data(&DATA[..15]);
    Answers {
        gcm_only_cbc_pad,
        gcm_only_list: allowed(session, gcm_only),
        check_value: check_value(session, gcm_only),
        ecb_value: value(session, ecb_key),
        cbc_value: value(session, cbc_key),
        derive_not_allowed: rv(session.derive_key(&ecb_derive(&data), base, &derived_template())),
        empty_data: rv(session.derive_key(&ecb_derive(&string_data(&[])), free_base, &derived_template())),
        ragged_data: rv(session.derive_key(&ecb_derive(&ragged), free_base, &derived_template())),
    }
}

/// CBC-PAD encryption with a key that has `CKA_ENCRYPT` false and allows
/// only GCM.
fn forbidden_twice(session: &Session) -> RvError {
    let key = session
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Value(KEY.to_vec()),
            Attribute::Encrypt(false),
            Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM]),
        ])
        .expect("import");
    rv(session.encrypt(&Mechanism::AesCbcPad([0; 16]), key, b"data"))
}

#[test]
fn conformance_key_attributes_and_aes_derivation() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("attributes", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    let session = ctx.open_rw_session(slot).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    // The slot lists both derivations, for deriving only.
    // SAFETY: as in `ecb_derive`.
    let ecb_type = unsafe { std::mem::transmute::<CK_MECHANISM_TYPE, MechanismType>(CKM_AES_ECB_ENCRYPT_DATA) };
    for ty in [ecb_type, MechanismType::AES_CBC_ENCRYPT_DATA] {
        let info = ctx.get_mechanism_info(slot, ty).expect("listed");
        assert!(info.derive() && !info.encrypt(), "{ty}: {info:?}");
    }

    // p11kms against software AES.
    let ours = answers(&session);
    assert_eq!(ours.gcm_only_cbc_pad, RvError::MechanismInvalid);
    assert_eq!(ours.gcm_only_list, vec![MechanismType::AES_GCM]);
    assert_eq!(ours.check_value, ecb(&KEY, &[0; 16])[..3].to_vec(), "standard AES key check value");
    assert_eq!(ours.ecb_value, ecb(&KEY, &DATA), "AES-ECB(K, data)");
    assert_eq!(ours.cbc_value, cbc(&KEY, &IV, &DATA), "AES-CBC(K, IV, data)");
    assert_eq!(ours.derive_not_allowed, RvError::MechanismInvalid);
    assert_eq!(ours.empty_data, RvError::MechanismParamInvalid);
    assert_eq!(ours.ragged_data, RvError::MechanismParamInvalid);

    allowed_mechanisms_in_detail(&session);
    kms_keys(&session);

    // SoftHSM 2.6 on the daemon's own member token, session objects only.
    let members = MemberTokens::open(&daemon);
    let theirs = answers(&members.session(0));
    println!("SoftHSM answers: {theirs:?}");
    assert_eq!(theirs, ours, "the same values and codes as SoftHSM 2.6");

    // The one difference: a key that may neither encrypt nor use the
    // mechanism. p11kms judges the mechanism first, SoftHSM the flag.
    assert_eq!(forbidden_twice(&session), RvError::MechanismInvalid);
    assert_eq!(forbidden_twice(&members.session(0)), RvError::KeyFunctionNotPermitted);
}

/// Generated, imported and plain session keys; use beyond the list.
fn allowed_mechanisms_in_detail(session: &Session) {
    // Generated, with two mechanisms: the one listed works, another not.
    let two = vec![MechanismType::AES_ECB, MechanismType::AES_CBC_PAD];
    let generated = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::ValueLen(16.into()), Attribute::Encrypt(true), Attribute::AllowedMechanisms(two.clone())],
        )
        .expect("generated session key");
    assert_eq!(allowed(session, generated), two);
    assert_eq!(session.encrypt(&Mechanism::AesEcb, generated, &[0; 16]).expect("ECB").len(), 16);
    let mut iv = [0; 12];
    let gcm = cryptoki::mechanism::aead::GcmParams::new(&mut iv, &[], 128.into()).expect("GCM");
    assert_eq!(rv(session.encrypt(&Mechanism::AesGcm(gcm), generated, b"x")), RvError::MechanismInvalid);
    // Fixed once made, as in SoftHSM.
    let set = session.update_attributes(generated, &[Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM])]);
    assert_eq!(rv(set), RvError::AttributeReadOnly);

    // (cryptoki reads it with PKCS#11's two calls: the length, 8 bytes a
    // mechanism, then the bytes.)

    // A key without the attribute shows an empty list and does anything.
    let plain = import(session, &KEY, &[]);
    assert_eq!(allowed(session, plain), Vec::<MechanismType>::new());
    assert!(session.encrypt(&Mechanism::AesCbcPad([0; 16]), plain, b"data").is_ok());

    // Wrapping: only the listed wrap mechanism.
    let wrapper = import(
        session,
        &KEY,
        &[Attribute::Wrap(true), Attribute::AllowedMechanisms(vec![MechanismType::AES_KEY_WRAP_PAD])],
    );
    let extractable = import(session, &[7; 16], &[Attribute::Extractable(true)]);
    assert_eq!(rv(session.wrap_key(&Mechanism::AesKeyWrap, wrapper, extractable)), RvError::MechanismInvalid);
    assert!(session.wrap_key(&Mechanism::AesKeyWrapPad, wrapper, extractable).is_ok());

    // A public key created from its values keeps its list too.
    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::EcParams(p256.clone()), Attribute::Verify(true)],
            &[Attribute::Sign(true)],
        )
        .expect("session EC pair");
    let point = match session.get_attributes(public, &[AttributeType::EcPoint]).expect("point").as_slice() {
        [Attribute::EcPoint(p)] => p.clone(),
        other => panic!("{other:?}"),
    };
    let created = session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(p256),
            Attribute::EcPoint(point),
            Attribute::AllowedMechanisms(vec![MechanismType::ECDSA_SHA256]),
        ])
        .expect("created public key");
    assert_eq!(allowed(session, created), vec![MechanismType::ECDSA_SHA256]);
    let signature = session.sign(&Mechanism::EcdsaSha256, private, b"message").expect("sign");
    session.verify(&Mechanism::EcdsaSha256, created, b"message", &signature).expect("listed mechanism verifies");
    let digest = [0u8; 32];
    assert_eq!(rv(session.verify(&Mechanism::Ecdsa, created, &digest, &signature)), RvError::MechanismInvalid);
}

/// KMS keys: a mechanism list kept and enforced, and no check value.
fn kms_keys(session: &Session) {
    let kms_template = |label: &[u8], extra: Option<Attribute>| {
        let mut t = vec![
            Attribute::Token(true),
            Attribute::ValueLen(32.into()),
            Attribute::Label(label.to_vec()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ];
        t.extend(extra);
        t
    };
    let restricted = Some(Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM]));
    let gcm_only =
        session.generate_key(&Mechanism::AesKeyGen, &kms_template(b"gcm-only", restricted)).expect("KMS key");
    assert_eq!(allowed(session, gcm_only), vec![MechanismType::AES_GCM], "kept by the store");
    let mut iv = [0; 12];
    let gcm = cryptoki::mechanism::aead::GcmParams::new(&mut iv, &[], 128.into()).expect("GCM");
    assert_eq!(session.encrypt(&Mechanism::AesGcm(gcm), gcm_only, b"x").expect("GCM is allowed").len(), 17);
    let cbc = session.encrypt(&Mechanism::AesCbcPad([0; 16]), gcm_only, b"x");
    assert_eq!(rv(cbc), RvError::MechanismInvalid, "CBC is not");
    let empty = Some(Attribute::AllowedMechanisms(vec![]));
    let unrestricted =
        session.generate_key(&Mechanism::AesKeyGen, &kms_template(b"any-mechanism", empty)).expect("KMS key");
    assert_eq!(allowed(session, unrestricted), Vec::<MechanismType>::new());
    let kms = session.generate_key(&Mechanism::AesKeyGen, &kms_template(b"kcv-kms", None)).expect("KMS key");
    assert_eq!(allowed(session, kms), Vec::<MechanismType>::new(), "no list: every mechanism");
    // cryptoki leaves out what is not available; its info call tells why.
    let info = session.get_attribute_info(kms, &[AttributeType::CheckValue]).expect("info");
    assert!(matches!(info.as_slice(), [AttributeInfo::Sensitive]), "E_K(0) of a GCM key is H: {info:?}");
    let session_info = session.get_attribute_info(import(session, &KEY, &[]), &[AttributeType::CheckValue]);
    let session_info = session_info.expect("info");
    assert!(matches!(session_info.as_slice(), [AttributeInfo::Available(3)]), "{session_info:?}");
    // KMS keys derive nothing (their CKA_DERIVE is false).
    let data = string_data(&DATA);
    assert_eq!(rv(session.derive_key(&ecb_derive(&data), kms, &derived_template())), RvError::KeyFunctionNotPermitted);
}
