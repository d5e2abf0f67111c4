//! The conventions the boundary applies for the backend: the two-call
//! output convention, `C_GetAttributeValue`'s per-attribute rules, list
//! lengths, decoded mechanisms and templates, blank-padded text.

use std::ffi::c_void;
use std::ptr::{from_mut, null_mut};

use cryptoki_sys::*;
use p11kms_proto::pkcs11::{Attribute, MechParam, Mechanism};

use super::backend::{FOUND, GREEDY_SESSION, SHORT_OBJECT, TestBackend, ciphertext, state};
use crate::Exported;

fn v2() -> &'static CK_FUNCTION_LIST {
    TestBackend::function_list_2_40()
}

fn active(session: CK_SESSION_HANDLE) -> bool {
    state(|s| s.encrypting.contains_key(&session))
}

fn encrypt_init(session: CK_SESSION_HANDLE) {
    let mut mechanism = CK_MECHANISM { mechanism: CKM_AES_ECB, pParameter: null_mut(), ulParameterLen: 0 };
    // SAFETY: `mechanism` is a live local.
    let code = unsafe { v2().C_EncryptInit.unwrap()(session, &mut mechanism, 5) };
    assert_eq!(code, CKR_OK);
}

#[test]
fn two_call_convention_keeps_the_operation_until_the_data_is_delivered() {
    const SESSION: CK_SESSION_HANDLE = 21;
    let mut data = *b"plaintext";
    let expected = ciphertext(&data);
    let encrypt = v2().C_Encrypt.unwrap();
    encrypt_init(SESSION);

    // Length query: a null buffer.
    let mut len: CK_ULONG = 0;
    // SAFETY: every pointer refers to a live local of the stated size.
    let code = unsafe { encrypt(SESSION, data.as_mut_ptr(), 9, null_mut(), &mut len) };
    assert_eq!((code, len), (CKR_OK, 10));
    assert!(active(SESSION), "a length query ends the operation");

    // Too small: the length is reported, the operation stays.
    let mut small = [0u8; 4];
    len = 4;
    // SAFETY: as above.
    let code = unsafe { encrypt(SESSION, data.as_mut_ptr(), 9, small.as_mut_ptr(), &mut len) };
    assert_eq!((code, len), (CKR_BUFFER_TOO_SMALL, 10));
    assert_eq!(small, [0; 4]);
    assert!(active(SESSION), "a too-small buffer ends the operation");

    // Big enough: the data, and the operation is over.
    let mut big = [0u8; 32];
    len = 32;
    // SAFETY: as above.
    let code = unsafe { encrypt(SESSION, data.as_mut_ptr(), 9, big.as_mut_ptr(), &mut len) };
    assert_eq!((code, len), (CKR_OK, 10));
    assert_eq!(&big[..10], expected.as_slice());
    assert!(!active(SESSION));
    // SAFETY: as above.
    let code = unsafe { encrypt(SESSION, data.as_mut_ptr(), 9, big.as_mut_ptr(), &mut len) };
    assert_eq!(code, CKR_OPERATION_NOT_INITIALIZED);
}

#[test]
fn a_null_data_or_length_pointer_ends_the_operation() {
    const SESSION: CK_SESSION_HANDLE = 22;
    let mut data = *b"plaintext";
    let mut out = [0u8; 32];
    let mut len: CK_ULONG = 32;
    let encrypt = v2().C_Encrypt.unwrap();
    let update = v2().C_EncryptUpdate.unwrap();
    let (d, o, l) = (data.as_mut_ptr(), out.as_mut_ptr(), from_mut(&mut len));
    let cases = ["null data with a length", "null length pointer", "update, null length pointer"];
    let call = |case: usize| {
        // SAFETY: every non-null pointer refers to a live local of the
        // stated size; the null ones are refused before any use.
        unsafe {
            match case {
                0 => encrypt(SESSION, null_mut(), 9, o, l),
                1 => encrypt(SESSION, d, 9, o, null_mut()),
                _ => update(SESSION, d, 9, o, null_mut()),
            }
        }
    };
    for (case, name) in cases.into_iter().enumerate() {
        encrypt_init(SESSION);
        state(|s| s.ended.clear());
        assert_eq!(call(case), CKR_ARGUMENTS_BAD, "{name}");
        assert!(!active(SESSION), "{name}: the operation ended");
        assert_eq!(state(|s| s.ended.clone()), vec![(SESSION, crate::Operation::Encrypt)], "{name}");
    }
    // With no operation active the failure ends nothing (another thread's
    // new one, say).
    state(|s| s.ended.clear());
    // SAFETY: as above.
    let code = unsafe { encrypt(SESSION, d, 9, o, l) };
    assert_eq!(code, CKR_OPERATION_NOT_INITIALIZED);
    assert!(state(|s| s.ended.is_empty()));
}

#[test]
fn in_place_encryption_reads_the_input_before_writing() {
    const SESSION: CK_SESSION_HANDLE = 22;
    encrypt_init(SESSION);
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(b"abcd");
    let mut len: CK_ULONG = 8;
    // One pointer for both, as a C caller would pass: taking `as_mut_ptr`
    // twice would invalidate the first pointer under Rust's aliasing rules.
    let p = buf.as_mut_ptr();
    // SAFETY: input and output are the same live buffer, which PKCS#11
    // allows; the boundary copies the input first.
    let code = unsafe { v2().C_Encrypt.unwrap()(SESSION, p, 4, p, &mut len) };
    assert_eq!((code, len), (CKR_OK, 5));
    assert_eq!(&buf[..5], b"dcba!");
}

fn attr(ty: CK_ATTRIBUTE_TYPE, value: *mut u8, len: CK_ULONG) -> CK_ATTRIBUTE {
    CK_ATTRIBUTE { type_: ty, pValue: value.cast::<c_void>(), ulValueLen: len }
}

#[test]
fn get_attribute_value_applies_the_rules_per_attribute() {
    let mut label = [0u8; 16];
    let mut short = [0u8; 4];
    let mut template = [
        attr(CKA_LABEL, label.as_mut_ptr(), 16), // fits
        attr(CKA_ID, null_mut(), 0),             // length query
        attr(CKA_ID, short.as_mut_ptr(), 4),     // too small
    ];
    // SAFETY: every pointer refers to a live local of the stated size.
    let code = unsafe { v2().C_GetAttributeValue.unwrap()(1, 2, template.as_mut_ptr(), 3) };
    assert_eq!(code, CKR_BUFFER_TOO_SMALL);
    assert_eq!(&label[..5], b"label");
    let lens: Vec<CK_ULONG> = template.iter().map(|a| a.ulValueLen).collect();
    assert_eq!(lens, [5, 10, CK_UNAVAILABLE_INFORMATION]);
    assert_eq!(short, [0; 4]);
}

#[test]
fn get_attribute_value_prefers_sensitive_and_invalid_over_too_small() {
    let mut short = [0u8; 1];
    let mut label = [0u8; 8];
    let mut template =
        [attr(CKA_ID, short.as_mut_ptr(), 1), attr(CKA_VALUE, null_mut(), 0), attr(CKA_LABEL, label.as_mut_ptr(), 8)];
    // SAFETY: every pointer refers to a live local of the stated size.
    let code = unsafe { v2().C_GetAttributeValue.unwrap()(1, 2, template.as_mut_ptr(), 3) };
    assert_eq!(code, CKR_ATTRIBUTE_SENSITIVE);
    assert_eq!(template[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    // Attributes after the failing ones are still processed.
    assert_eq!((template[2].ulValueLen, &label[..5]), (5, &b"label"[..]));

    let mut template = [attr(CKA_ID, short.as_mut_ptr(), 1), attr(CKA_MODULUS, null_mut(), 0)];
    // SAFETY: as above.
    let code = unsafe { v2().C_GetAttributeValue.unwrap()(1, 2, template.as_mut_ptr(), 2) };
    assert_eq!(code, CKR_ATTRIBUTE_TYPE_INVALID);
    assert_eq!(template[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
}

#[test]
fn get_attribute_value_with_a_wrong_answer_count_is_a_general_error() {
    let mut template = [attr(CKA_LABEL, null_mut(), 0)];
    // SAFETY: `template` is a live local.
    let code = unsafe { v2().C_GetAttributeValue.unwrap()(1, SHORT_OBJECT, template.as_mut_ptr(), 1) };
    assert_eq!(code, CKR_GENERAL_ERROR);
}

#[test]
fn slot_and_mechanism_lists_follow_the_two_call_convention() {
    let get = v2().C_GetSlotList.unwrap();
    let mut count: CK_ULONG = 0;
    // SAFETY: every pointer refers to a live local of the stated size.
    unsafe {
        assert_eq!(get(CK_FALSE, null_mut(), &mut count), CKR_OK);
        assert_eq!(count, 3);
        let mut slots = [0 as CK_SLOT_ID; 3];
        count = 1;
        assert_eq!(get(CK_FALSE, slots.as_mut_ptr(), &mut count), CKR_BUFFER_TOO_SMALL);
        assert_eq!((count, slots), (3, [0, 0, 0]));
        count = 3;
        assert_eq!(get(CK_TRUE, slots.as_mut_ptr(), &mut count), CKR_OK);
        assert_eq!((count, slots), (2, [1, 2, 0]));

        let mut mechanisms = [0 as CK_MECHANISM_TYPE; 4];
        count = 4;
        assert_eq!(v2().C_GetMechanismList.unwrap()(1, mechanisms.as_mut_ptr(), &mut count), CKR_OK);
        assert_eq!(&mechanisms[..count as usize], &[CKM_AES_GCM, CKM_SHA256]);
    }
}

#[test]
fn find_objects_returns_at_most_the_room_given() {
    const SESSION: CK_SESSION_HANDLE = 31;
    let l = v2();
    let mut class = CKO_SECRET_KEY.to_le_bytes();
    let mut template = [attr(CKA_CLASS, class.as_mut_ptr(), 8)];
    let mut handles = [0 as CK_OBJECT_HANDLE; 2];
    let mut count: CK_ULONG = 0;
    // SAFETY: every pointer refers to a live local of the stated size.
    unsafe {
        assert_eq!(l.C_FindObjectsInit.unwrap()(SESSION, template.as_mut_ptr(), 1), CKR_OK);
        assert_eq!(state(|s| s.template.clone()), [Attribute::ulong(CKA_CLASS, CKO_SECRET_KEY)]);
        assert_eq!(l.C_FindObjects.unwrap()(SESSION, handles.as_mut_ptr(), 2, &mut count), CKR_OK);
        assert_eq!((count, handles), (2, [FOUND[0], FOUND[1]]));
        assert_eq!(l.C_FindObjects.unwrap()(SESSION, handles.as_mut_ptr(), 2, &mut count), CKR_OK);
        assert_eq!((count, handles[0]), (1, FOUND[2]));
        assert_eq!(l.C_FindObjects.unwrap()(SESSION, handles.as_mut_ptr(), 2, &mut count), CKR_OK);
        assert_eq!(count, 0);
        assert_eq!(l.C_FindObjectsFinal.unwrap()(SESSION), CKR_OK);

        // A backend that returns more than asked is caught, not trusted.
        assert_eq!(l.C_FindObjectsInit.unwrap()(GREEDY_SESSION, null_mut(), 0), CKR_OK);
        let code = l.C_FindObjects.unwrap()(GREEDY_SESSION, handles.as_mut_ptr(), 1, &mut count);
        assert_eq!(code, CKR_GENERAL_ERROR);
    }
}

#[test]
fn mechanisms_and_templates_reach_the_backend_decoded() {
    const SESSION: CK_SESSION_HANDLE = 41;
    let mut iv = [9u8; 12];
    let mut gcm = CK_GCM_PARAMS {
        pIv: iv.as_mut_ptr(),
        ulIvLen: 12,
        ulIvBits: 96,
        pAAD: null_mut(),
        ulAADLen: 0,
        ulTagBits: 128,
    };
    let mut mechanism = CK_MECHANISM {
        mechanism: CKM_AES_GCM,
        pParameter: from_mut(&mut gcm).cast(),
        ulParameterLen: size_of::<CK_GCM_PARAMS>() as CK_ULONG,
    };
    // SAFETY: every pointer refers to a live local of the stated size.
    let code = unsafe { v2().C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5) };
    assert_eq!(code, CKR_OK);
    let expected = Mechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![9; 12], aad: vec![], tag_bits: 128 } };
    assert_eq!(state(|s| s.encrypting.get(&SESSION).cloned()), Some(expected));

    mechanism.ulParameterLen = 8;
    // SAFETY: as above.
    let code = unsafe { v2().C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5) };
    assert_eq!(code, CKR_MECHANISM_PARAM_INVALID);

    let mut token = [CK_TRUE];
    let mut label = *b"key";
    let mut template = [attr(CKA_TOKEN, token.as_mut_ptr(), 1), attr(CKA_LABEL, label.as_mut_ptr(), 3)];
    let mut handle: CK_OBJECT_HANDLE = 0;
    // SAFETY: as above.
    let code = unsafe { v2().C_CreateObject.unwrap()(SESSION, template.as_mut_ptr(), 2, &mut handle) };
    assert_eq!((code, handle), (CKR_OK, 7));
    let expected = [Attribute::bool(CKA_TOKEN, true), Attribute::bytes(CKA_LABEL, *b"key")];
    assert_eq!(state(|s| s.template.clone()), expected);
}

#[test]
fn info_strings_are_blank_padded() {
    let mut slot = CK_SLOT_INFO {
        slotDescription: [0; 64],
        manufacturerID: [0; 32],
        flags: 0,
        hardwareVersion: CK_VERSION::default(),
        firmwareVersion: CK_VERSION::default(),
    };
    let mut token = CK_TOKEN_INFO::default();
    // SAFETY: both are live locals.
    unsafe {
        assert_eq!(v2().C_GetSlotInfo.unwrap()(1, &mut slot), CKR_OK);
        assert_eq!(v2().C_GetTokenInfo.unwrap()(1, &mut token), CKR_OK);
    }
    let mut description = [b' '; 64];
    description[..8].copy_from_slice(b"slot one");
    assert_eq!(slot.slotDescription, description);
    assert_eq!(&slot.manufacturerID[..8], b"p11kms  ");
    assert_eq!(slot.flags, CKF_TOKEN_PRESENT);
    assert_eq!(&token.label, b"default                         ");
    assert_eq!(&token.model, b"software        ");
    assert_eq!(&token.serialNumber, b"42              ");
    assert_eq!(token.ulMaxPinLen, 64);
}
