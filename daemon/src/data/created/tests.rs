//! Unit tests of `data::created`: the attribute rule tables applied to
//! templates, changes and copies, created objects' ids, and how a
//! public key is measured.

use super::*;

fn data(extra: &[Attribute]) -> Vec<Attribute> {
    let mut t = vec![Attribute::ulong(CKA_CLASS, CKO_DATA), Attribute::bytes(CKA_LABEL, b"note".to_vec())];
    t.extend_from_slice(extra);
    t
}

fn certificate() -> Vec<Attribute> {
    vec![
        Attribute::ulong(CKA_CLASS, CKO_CERTIFICATE),
        Attribute::ulong(CKA_CERTIFICATE_TYPE, CKC_X_509),
        Attribute::bool(CKA_TOKEN, true),
        Attribute::bytes(CKA_SUBJECT, b"subject-der".to_vec()),
        Attribute::bytes(CKA_VALUE, b"certificate-der".to_vec()),
        Attribute::bytes(CKA_ID, vec![1, 2]),
    ]
}

fn rsa_public() -> Vec<Attribute> {
    let mut modulus = vec![0xc5; 256];
    modulus[0] = 0x00;
    modulus[1] = 0x9f;
    vec![
        Attribute::ulong(CKA_CLASS, CKO_PUBLIC_KEY),
        Attribute::ulong(CKA_KEY_TYPE, CKK_RSA),
        Attribute::bytes(CKA_MODULUS, modulus),
        Attribute::bytes(CKA_PUBLIC_EXPONENT, vec![1, 0, 1]),
    ]
}

fn value(object: &CreatedObject, ty: CK_ATTRIBUTE_TYPE) -> Vec<u8> {
    match object.attribute(ty) {
        AttributeValue::Value(v) => v,
        other => panic!("{ty:#x}: {other:?}"),
    }
}

#[test]
fn data_objects_get_defaults_and_keep_their_values() {
    let object = CreatedObject::create(&data(&[Attribute::bytes(CKA_VALUE, b"v".to_vec())])).expect("created");
    assert_eq!(object.class(), CKO_DATA);
    assert!(!object.is_token(), "session object unless asked");
    assert!(object.is_private(), "data objects are private by default");
    assert_eq!(value(&object, CKA_VALUE), b"v");
    assert_eq!(value(&object, CKA_APPLICATION), b"");
    assert_eq!(object.attribute(CKA_MODULUS), AttributeValue::Invalid);
    assert!(object.matches(&[Attribute::bytes(CKA_LABEL, b"note".to_vec())]));
    assert!(!object.matches(&[Attribute::bytes(CKA_LABEL, b"other".to_vec())]));
    assert!(!object.matches(&[Attribute::bytes(CKA_MODULUS, vec![1])]));
}

#[test]
fn certificates_need_subject_and_value_and_get_a_check_value() {
    let object = CreatedObject::create(&certificate()).expect("created");
    let digest = Sha1::digest(b"certificate-der");
    assert_eq!(value(&object, CKA_CHECK_VALUE), digest[..3].to_vec());
    assert!(object.is_token());
    assert!(!object.is_private());
    let mut no_subject = certificate();
    no_subject.retain(|a| a.ty != CKA_SUBJECT);
    assert_eq!(CreatedObject::create(&no_subject), Err(rv(CKR_TEMPLATE_INCOMPLETE)));
    let mut wvtls = certificate();
    wvtls[1] = Attribute::ulong(CKA_CERTIFICATE_TYPE, CKC_WTLS);
    assert_eq!(CreatedObject::create(&wvtls), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    let mut trusted = certificate();
    trusted.push(Attribute::bool(CKA_TRUSTED, true));
    assert_eq!(CreatedObject::create(&trusted), Err(rv(CKR_ATTRIBUTE_READ_ONLY)));
}

#[test]
fn public_keys_are_checked_and_measured() {
    let object = CreatedObject::create(&rsa_public()).expect("created");
    assert_eq!(value(&object, CKA_MODULUS_BITS), 2040u64.to_le_bytes());
    assert_eq!(value(&object, CKA_VERIFY), [1]);
    assert_eq!(value(&object, CKA_LOCAL), [0]);
    let mut no_exponent = rsa_public();
    no_exponent.retain(|a| a.ty != CKA_PUBLIC_EXPONENT);
    assert_eq!(CreatedObject::create(&no_exponent), Err(rv(CKR_TEMPLATE_INCOMPLETE)));
    let mut tiny = rsa_public();
    tiny[2] = Attribute::bytes(CKA_MODULUS, vec![0xff; 8]);
    assert_eq!(CreatedObject::create(&tiny), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    let ec = [
        Attribute::ulong(CKA_CLASS, CKO_PUBLIC_KEY),
        Attribute::ulong(CKA_KEY_TYPE, CKK_EC),
        Attribute::bytes(CKA_EC_PARAMS, vec![6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7]),
        Attribute::bytes(CKA_EC_POINT, vec![4; 67]),
    ];
    assert!(CreatedObject::create(&ec).is_ok());
    let dsa = [Attribute::ulong(CKA_CLASS, CKO_PUBLIC_KEY), Attribute::ulong(CKA_KEY_TYPE, CKK_DSA)];
    assert_eq!(CreatedObject::create(&dsa), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
}

#[test]
fn templates_are_refused_by_the_rules() {
    assert_eq!(CreatedObject::create(&[]), Err(rv(CKR_TEMPLATE_INCOMPLETE)));
    let secret = [Attribute::ulong(CKA_CLASS, CKO_SECRET_KEY), Attribute::bytes(CKA_VALUE, vec![0; 32])];
    assert_eq!(CreatedObject::create(&secret), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)), "no key material by template");
    assert_eq!(
        CreatedObject::create(&data(&[Attribute::bytes(CKA_MODULUS, vec![1])])),
        Err(rv(CKR_ATTRIBUTE_TYPE_INVALID))
    );
    assert_eq!(
        CreatedObject::create(&data(&[Attribute::bytes(CKA_TOKEN, vec![1, 1])])),
        Err(rv(CKR_ATTRIBUTE_VALUE_INVALID))
    );
    assert_eq!(
        CreatedObject::create(&data(&[Attribute::bytes(CKA_UNIQUE_ID, b"9".to_vec())])),
        Err(rv(CKR_ATTRIBUTE_READ_ONLY))
    );
    assert_eq!(
        CreatedObject::create(&data(&[Attribute::bytes(CKA_LABEL, b"other".to_vec())])),
        Err(rv(CKR_TEMPLATE_INCONSISTENT))
    );
    assert_eq!(
        CreatedObject::create(&data(&[Attribute::bytes(CKA_VALUE, vec![0; MAX_OBJECT_BYTES + 1])])),
        Err(rv(CKR_ATTRIBUTE_VALUE_INVALID))
    );
    let mut bad_date = certificate();
    bad_date.push(Attribute::bytes(CKA_START_DATE, b"2026-1-1".to_vec()));
    assert_eq!(CreatedObject::create(&bad_date), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
}

#[test]
fn set_attribute_value_follows_the_change_rules() {
    let object = CreatedObject::create(&certificate()).expect("created");
    let renamed = object.modified(&[Attribute::bytes(CKA_LABEL, b"renamed".to_vec())]).expect("label");
    assert_eq!(value(&renamed, CKA_LABEL), b"renamed");
    assert_eq!(object.modified(&[Attribute::bytes(CKA_VALUE, b"x".to_vec())]), Err(rv(CKR_ATTRIBUTE_READ_ONLY)));
    assert_eq!(object.modified(&[Attribute::bool(CKA_TOKEN, false)]), Err(rv(CKR_ATTRIBUTE_READ_ONLY)));
    assert!(object.modified(&[Attribute::bool(CKA_TOKEN, true)]).is_ok(), "an unchanged value is no change");
    assert_eq!(object.modified(&[Attribute::bytes(CKA_MODULUS, vec![1])]), Err(rv(CKR_ATTRIBUTE_TYPE_INVALID)));
    let sealed = object.modified(&[Attribute::bool(CKA_COPYABLE, false)]).expect("lowered");
    assert_eq!(sealed.modified(&[Attribute::bool(CKA_COPYABLE, true)]), Err(rv(CKR_ATTRIBUTE_READ_ONLY)));
    assert_eq!(sealed.copied(&[]), Err(rv(CKR_ACTION_PROHIBITED)));
    let frozen = CreatedObject::create(&data(&[Attribute::bool(CKA_MODIFIABLE, false)])).expect("created");
    assert_eq!(frozen.modified(&[Attribute::bytes(CKA_LABEL, b"x".to_vec())]), Err(rv(CKR_ACTION_PROHIBITED)));
}

#[test]
fn copies_may_change_token_and_privacy_and_lose_the_unique_id() {
    let mut object = CreatedObject::create(&data(&[])).expect("created");
    object.set_unique_id(40);
    assert_eq!(value(&object, CKA_UNIQUE_ID), b"40");
    let copy = object.copied(&[Attribute::bool(CKA_TOKEN, true), Attribute::bool(CKA_PRIVATE, false)]).expect("copy");
    assert!(copy.is_token());
    assert!(!copy.is_private());
    assert_eq!(copy.attribute(CKA_UNIQUE_ID), AttributeValue::Invalid);
    assert_eq!(object.copied(&[Attribute::bool(CKA_MODIFIABLE, true)]).map(|c| c.is_token()), Ok(false));
    let frozen = object.copied(&[Attribute::bool(CKA_MODIFIABLE, false)]).expect("frozen copy");
    assert_eq!(frozen.copied(&[Attribute::bool(CKA_MODIFIABLE, true)]), Err(rv(CKR_ATTRIBUTE_READ_ONLY)));
}

#[test]
fn only_what_cannot_change_is_offered_for_caching() {
    let object = CreatedObject::create(&certificate()).expect("created");
    let fixed = object.fixed();
    assert!(find_attribute(&fixed, CKA_VALUE).is_some());
    assert!(find_attribute(&fixed, CKA_CLASS).is_some());
    assert!(find_attribute(&fixed, CKA_LABEL).is_none(), "labels can change");
    assert!(find_attribute(&fixed, CKA_COPYABLE).is_none());
    let frozen = object.copied(&[Attribute::bool(CKA_MODIFIABLE, false)]).expect("copy");
    assert!(find_attribute(&frozen.fixed(), CKA_LABEL).is_some(), "nothing changes on a frozen object");
}

#[test]
fn created_ids_never_meet_key_object_ids() {
    assert_eq!(parse_created_id(token_object_id(9)), Some(CreatedId::Token(9)));
    assert_eq!(parse_created_id(session_object_id(9)), Some(CreatedId::Session(session_object_id(9))));
    for seq in 0..64 {
        for role in [1, 2, 3] {
            assert_eq!(parse_created_id((seq << 2) | role), None);
        }
    }
    assert_eq!(parse_created_id(0), None);
}

#[test]
fn modulus_bits_counts_from_the_first_set_bit() {
    assert_eq!(modulus_bits(&[0, 0, 1]), 1);
    assert_eq!(modulus_bits(&[0x80, 0]), 16);
    assert_eq!(modulus_bits(&[0; 4]), 0);
}
