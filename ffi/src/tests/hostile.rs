//! After `C_Initialize`: the calls of the third-party test suites that
//! took hosts down, and every other length a caller hands in. Each must
//! come back at once with its code, without reading past the caller's
//! buffer (the buffers here end at an inaccessible page, see
//! [`super::fence`]) and without allocating what the length says.
//!
//! Each hostile call runs on a thread of its own, joined with a timeout
//! ([`returns`]): the bound only turns a hang into a failure; it is not a
//! performance target.

use std::mem::size_of;
use std::ptr::{from_mut, null_mut, without_provenance_mut};
use std::sync::mpsc;
use std::time::Duration;

use cryptoki_sys::*;

use super::backend::{MAX_INPUT_LEN, TestBackend, state};
use super::fence::Fenced;
use crate::limits::{MAX_ATTRIBUTE_VALUE_LEN, MAX_MECHANISM_PARAM_LEN, MAX_TEMPLATE_ATTRIBUTES};
use crate::{Exported, Operation};

/// An address no user-space memory can have: reading it kills the test.
const UNMAPPED: usize = 0xffff_8000_0000_0000;
/// The length the suites passed to `C_Encrypt` with a small buffer.
const TWO_GIB: CK_ULONG = 0x8000_0000;
/// About 140 TB: an uninitialized `ulParameterLen` the suites produced.
const WILD: CK_ULONG = 0x7f6e_5d4c_3b2a;

fn v3() -> &'static CK_FUNCTION_LIST_3_0 {
    TestBackend::function_list_3_0()
}

fn unmapped<T>() -> *mut T {
    without_provenance_mut(UNMAPPED)
}

fn calls() -> usize {
    state(|s| s.calls)
}

/// Runs `call` on its own thread (with its own test-backend state) and
/// returns its result. The 60 s bound only turns a hang into a failure: the
/// calls take microseconds, and the bound leaves room for a loaded machine.
fn returns<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    result.recv_timeout(Duration::from_secs(60)).expect("the call came back (no hang, no panic)")
}

fn attr(ty: CK_ATTRIBUTE_TYPE, value: *mut u8, len: CK_ULONG) -> CK_ATTRIBUTE {
    CK_ATTRIBUTE { type_: ty, pValue: value.cast(), ulValueLen: len }
}

#[test]
fn a_garbage_mechanism_is_refused_before_its_parameter_is_read() {
    let codes = returns(|| {
        let l = v3();
        let before = calls();
        let garbage = |ty| CK_MECHANISM { mechanism: ty, pParameter: unmapped(), ulParameterLen: WILD };
        let mut gcm_iv = [0u8; 12];
        let iv = gcm_iv.as_mut_ptr();
        let gcm = |iv_len, aad_len| CK_GCM_PARAMS {
            pIv: iv,
            ulIvLen: iv_len,
            ulIvBits: 96,
            pAAD: unmapped(),
            ulAADLen: aad_len,
            ulTagBits: 128,
        };
        let mut huge_aad = gcm(12, WILD);
        let mut huge_iv = gcm(WILD, 0);
        let structured = |param: &mut CK_GCM_PARAMS| CK_MECHANISM {
            mechanism: CKM_AES_GCM,
            pParameter: from_mut(param).cast(),
            ulParameterLen: size_of::<CK_GCM_PARAMS>() as CK_ULONG,
        };
        let mut oaep = CK_RSA_PKCS_OAEP_PARAMS {
            hashAlg: CKM_SHA256,
            mgf: CKG_MGF1_SHA256,
            source: CKZ_DATA_SPECIFIED,
            pSourceData: unmapped(),
            ulSourceDataLen: WILD,
        };
        let mut mechanisms = [
            garbage(CKM_AES_CBC_PAD),
            garbage(CKM_AES_GCM),
            garbage(0x1234_5678_9abc),
            structured(&mut huge_aad),
            structured(&mut huge_iv),
            CK_MECHANISM {
                mechanism: CKM_RSA_PKCS_OAEP,
                pParameter: from_mut(&mut oaep).cast(),
                ulParameterLen: size_of::<CK_RSA_PKCS_OAEP_PARAMS>() as CK_ULONG,
            },
            // One byte over the bound, with a pointer that must not be read.
            CK_MECHANISM {
                mechanism: CKM_AES_CBC,
                pParameter: unmapped(),
                ulParameterLen: (MAX_MECHANISM_PARAM_LEN + 1) as CK_ULONG,
            },
        ];
        let codes: Vec<CK_RV> = mechanisms
            .iter_mut()
            // SAFETY: the mechanisms are live locals; the pointers inside
            // them are what is being tested.
            .map(|mechanism| unsafe { l.C_EncryptInit.unwrap()(1, mechanism, 1) })
            .collect();
        (codes, calls() - before)
    });
    assert_eq!(codes, (vec![CKR_MECHANISM_PARAM_INVALID; 7], 0));
}

#[test]
fn a_parameter_within_the_bound_is_taken() {
    let parameter = Fenced::new(&[7u8; MAX_MECHANISM_PARAM_LEN]);
    let mut mechanism = CK_MECHANISM {
        mechanism: CKM_AES_CBC,
        pParameter: parameter.as_mut_ptr().cast(),
        ulParameterLen: MAX_MECHANISM_PARAM_LEN as CK_ULONG,
    };
    // SAFETY: the mechanism and its parameter are live and of the stated size.
    let code = unsafe { v3().C_EncryptInit.unwrap()(61, &mut mechanism, 1) };
    assert_eq!(code, CKR_OK);
}

#[test]
fn templates_with_huge_counts_or_values_are_refused_before_copying() {
    let (codes, backend_calls) = returns(|| {
        let l = v3();
        let before = calls();
        let mut handle: CK_OBJECT_HANDLE = 0;
        let (mut public, mut private) = (0, 0);
        let label = Fenced::new(b"label");
        let mut huge_value = [attr(CKA_VALUE, unmapped(), WILD)];
        let mut over_by_one = [attr(CKA_VALUE, label.as_mut_ptr(), (MAX_ATTRIBUTE_VALUE_LEN + 1) as CK_ULONG)];
        let too_many = (MAX_TEMPLATE_ATTRIBUTES + 1) as CK_ULONG;
        let mut mechanism = CK_MECHANISM { mechanism: CKM_EC_KEY_PAIR_GEN, pParameter: null_mut(), ulParameterLen: 0 };
        // SAFETY: the huge counts and lengths point at memory that must not
        // be read; everything else is a live local.
        let codes = unsafe {
            [
                l.C_CreateObject.unwrap()(1, unmapped(), WILD, &mut handle),
                l.C_CreateObject.unwrap()(1, unmapped(), too_many, &mut handle),
                l.C_CreateObject.unwrap()(1, huge_value.as_mut_ptr(), 1, &mut handle),
                l.C_CreateObject.unwrap()(1, over_by_one.as_mut_ptr(), 1, &mut handle),
                l.C_CopyObject.unwrap()(1, 2, unmapped(), WILD, &mut handle),
                l.C_SetAttributeValue.unwrap()(1, 2, huge_value.as_mut_ptr(), 1),
                l.C_FindObjectsInit.unwrap()(1, unmapped(), WILD),
                l.C_GetAttributeValue.unwrap()(1, 2, unmapped(), WILD),
                l.C_GenerateKey.unwrap()(1, &mut mechanism, unmapped(), WILD, &mut handle),
                l.C_GenerateKeyPair.unwrap()(
                    1,
                    &mut mechanism,
                    null_mut(),
                    0,
                    unmapped(),
                    WILD,
                    &mut public,
                    &mut private,
                ),
            ]
        };
        (codes, calls() - before)
    });
    assert_eq!(
        codes,
        [
            CKR_ARGUMENTS_BAD,
            CKR_ARGUMENTS_BAD,
            CKR_ATTRIBUTE_VALUE_INVALID,
            CKR_ATTRIBUTE_VALUE_INVALID,
            CKR_ARGUMENTS_BAD,
            CKR_ATTRIBUTE_VALUE_INVALID,
            CKR_ARGUMENTS_BAD,
            CKR_ARGUMENTS_BAD,
            CKR_ARGUMENTS_BAD,
            CKR_ARGUMENTS_BAD,
        ]
    );
    assert_eq!(backend_calls, 0, "nothing reached the backend");
}

#[test]
fn a_value_of_the_largest_size_is_taken() {
    let value = Fenced::new(&vec![0x30; 4096]);
    let mut template = [attr(CKA_VALUE, value.as_mut_ptr(), 4096)];
    let mut handle = 0;
    // SAFETY: the template and its value are live and of the stated size.
    let code = unsafe { v3().C_CreateObject.unwrap()(1, template.as_mut_ptr(), 1, &mut handle) };
    assert_eq!((code, handle), (CKR_OK, 7));
    assert_eq!(state(|s| s.template[0].value.len()), 4096);
    // The bound itself, with a value that really is that long.
    let mut big = vec![0x30u8; MAX_ATTRIBUTE_VALUE_LEN];
    let mut template = [attr(CKA_VALUE, big.as_mut_ptr(), MAX_ATTRIBUTE_VALUE_LEN as CK_ULONG)];
    // SAFETY: as above.
    let code = unsafe { v3().C_CreateObject.unwrap()(1, template.as_mut_ptr(), 1, &mut handle) };
    assert_eq!(code, CKR_OK);
}

/// What `C_Encrypt` did with two gigabytes claimed on a 16-byte buffer.
#[derive(Debug, PartialEq, Eq)]
struct EncryptOutcome {
    code: CK_RV,
    ended: Vec<(CK_SESSION_HANDLE, Operation)>,
    backend_calls: usize,
    after: CK_RV,
    init_again: CK_RV,
}

#[test]
fn an_impossible_data_length_is_refused_at_once_and_ends_the_operation() {
    const SESSION: CK_SESSION_HANDLE = 71;
    let outcome = returns(|| {
        let l = v3();
        let mut mechanism = CK_MECHANISM { mechanism: CKM_AES_ECB, pParameter: null_mut(), ulParameterLen: 0 };
        let data = Fenced::new(&[1u8; 16]);
        let mut out = [0u8; 32];
        let mut out_len: CK_ULONG = 32;
        // SAFETY: every pointer is a live buffer; the length lies on purpose
        // and the buffer ends at a page that may not be touched.
        unsafe {
            assert_eq!(l.C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5), CKR_OK);
            let before = calls();
            let code = l.C_Encrypt.unwrap()(SESSION, data.as_mut_ptr(), TWO_GIB, out.as_mut_ptr(), &mut out_len);
            let backend_calls = calls() - before;
            let ended = state(|s| s.ended.clone());
            let after = l.C_Encrypt.unwrap()(SESSION, data.as_mut_ptr(), 16, out.as_mut_ptr(), &mut out_len);
            let init_again = l.C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5);
            EncryptOutcome { code, ended, backend_calls, after, init_again }
        }
    });
    assert_eq!(
        outcome,
        EncryptOutcome {
            code: CKR_DATA_LEN_RANGE,
            ended: vec![(SESSION, Operation::Encrypt)],
            backend_calls: 0,
            after: CKR_OPERATION_NOT_INITIALIZED,
            init_again: CKR_OK,
        }
    );
}

#[test]
fn the_backends_input_limit_applies_to_the_byte() {
    const SESSION: CK_SESSION_HANDLE = 72;
    let l = v3();
    let mut mechanism = CK_MECHANISM { mechanism: CKM_AES_ECB, pParameter: null_mut(), ulParameterLen: 0 };
    let data = Fenced::new(&[2u8; MAX_INPUT_LEN]);
    let mut out = vec![0u8; MAX_INPUT_LEN + 1];
    let mut out_len = out.len() as CK_ULONG;
    // SAFETY: every pointer is a live buffer of the stated size.
    unsafe {
        assert_eq!(l.C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5), CKR_OK);
        let code =
            l.C_Encrypt.unwrap()(SESSION, data.as_mut_ptr(), MAX_INPUT_LEN as CK_ULONG, out.as_mut_ptr(), &mut out_len);
        assert_eq!((code, out_len), (CKR_OK, MAX_INPUT_LEN as CK_ULONG + 1), "exactly the limit is taken");
        assert_eq!(l.C_EncryptInit.unwrap()(SESSION, &mut mechanism, 5), CKR_OK);
        let over = MAX_INPUT_LEN as CK_ULONG + 1;
        let code = l.C_Encrypt.unwrap()(SESSION, data.as_mut_ptr(), over, out.as_mut_ptr(), &mut out_len);
        assert_eq!(code, CKR_DATA_LEN_RANGE, "one byte more is refused, unread");
    }
}

/// A data-carrying call: its name, its return value, and the operations the
/// boundary ended.
type Refusal = (&'static str, CK_RV, Vec<Operation>);

#[test]
fn every_data_input_has_its_length_code() {
    let (refusals, backend_calls) = returns(|| {
        let l = v3();
        let small = Fenced::new(&[3u8; 16]);
        let s = small.as_mut_ptr();
        let mut out = [0u8; 64];
        let o = out.as_mut_ptr();
        let mut len: CK_ULONG = 64;
        let before = calls();
        let mut refusals: Vec<Refusal> = Vec::new();
        let mut record = |name: &'static str, code: CK_RV| {
            let ended = state(|st| std::mem::take(&mut st.ended)).into_iter().map(|(_, op)| op).collect();
            refusals.push((name, code, ended));
        };
        // SAFETY: every buffer is live; each stated length is far over the
        // 16 bytes really there, which end at a page that may not be touched.
        unsafe {
            record("C_Encrypt", l.C_Encrypt.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_EncryptUpdate", l.C_EncryptUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_Decrypt", l.C_Decrypt.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_DecryptUpdate", l.C_DecryptUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_Digest", l.C_Digest.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_DigestUpdate", l.C_DigestUpdate.unwrap()(1, s, TWO_GIB));
            record("C_Sign", l.C_Sign.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_SignUpdate", l.C_SignUpdate.unwrap()(1, s, TWO_GIB));
            record("C_SignRecover", l.C_SignRecover.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_Verify data", l.C_Verify.unwrap()(1, s, TWO_GIB, s, 16));
            record("C_Verify signature", l.C_Verify.unwrap()(1, s, 16, s, TWO_GIB));
            record("C_VerifyUpdate", l.C_VerifyUpdate.unwrap()(1, s, TWO_GIB));
            record("C_VerifyFinal", l.C_VerifyFinal.unwrap()(1, s, TWO_GIB));
            record("C_VerifyRecover", l.C_VerifyRecover.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_DigestEncryptUpdate", l.C_DigestEncryptUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_DecryptDigestUpdate", l.C_DecryptDigestUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_SignEncryptUpdate", l.C_SignEncryptUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
            record("C_DecryptVerifyUpdate", l.C_DecryptVerifyUpdate.unwrap()(1, s, TWO_GIB, o, &mut len));
        }
        (refusals, calls() - before)
    });
    use Operation::*;
    let expected: Vec<Refusal> = vec![
        ("C_Encrypt", CKR_DATA_LEN_RANGE, vec![Encrypt]),
        ("C_EncryptUpdate", CKR_DATA_LEN_RANGE, vec![Encrypt]),
        ("C_Decrypt", CKR_ENCRYPTED_DATA_LEN_RANGE, vec![Decrypt]),
        ("C_DecryptUpdate", CKR_ENCRYPTED_DATA_LEN_RANGE, vec![Decrypt]),
        ("C_Digest", CKR_DATA_LEN_RANGE, vec![Digest]),
        ("C_DigestUpdate", CKR_DATA_LEN_RANGE, vec![Digest]),
        ("C_Sign", CKR_DATA_LEN_RANGE, vec![Sign]),
        ("C_SignUpdate", CKR_DATA_LEN_RANGE, vec![Sign]),
        ("C_SignRecover", CKR_DATA_LEN_RANGE, vec![SignRecover]),
        ("C_Verify data", CKR_DATA_LEN_RANGE, vec![Verify]),
        ("C_Verify signature", CKR_SIGNATURE_LEN_RANGE, vec![Verify]),
        ("C_VerifyUpdate", CKR_DATA_LEN_RANGE, vec![Verify]),
        ("C_VerifyFinal", CKR_SIGNATURE_LEN_RANGE, vec![Verify]),
        ("C_VerifyRecover", CKR_SIGNATURE_LEN_RANGE, vec![VerifyRecover]),
        ("C_DigestEncryptUpdate", CKR_DATA_LEN_RANGE, vec![Digest, Encrypt]),
        ("C_DecryptDigestUpdate", CKR_ENCRYPTED_DATA_LEN_RANGE, vec![Decrypt, Digest]),
        ("C_SignEncryptUpdate", CKR_DATA_LEN_RANGE, vec![Sign, Encrypt]),
        ("C_DecryptVerifyUpdate", CKR_ENCRYPTED_DATA_LEN_RANGE, vec![Decrypt, Verify]),
    ];
    assert_eq!(refusals, expected);
    assert_eq!(backend_calls, 0, "no input reached the backend");
}

#[test]
fn pins_random_lengths_and_other_inputs_are_bounded() {
    let (codes, backend_calls) = returns(|| {
        let l = v3();
        let small = Fenced::new(&[4u8; 16]);
        let s = small.as_mut_ptr();
        let mut label = [b' '; 32];
        let mut handle: CK_OBJECT_HANDLE = 0;
        let mut wrap = CK_MECHANISM { mechanism: CKM_AES_KEY_WRAP, pParameter: null_mut(), ulParameterLen: 0 };
        let before = calls();
        // SAFETY: every buffer is live; each stated length is far over what
        // is really there, which ends at a page that may not be touched.
        let codes = unsafe {
            [
                l.C_Login.unwrap()(1, CKU_USER, s, WILD),
                l.C_LoginUser.unwrap()(1, CKU_USER, s, WILD, s, 4),
                l.C_LoginUser.unwrap()(1, CKU_USER, s, 4, s, WILD),
                l.C_InitPIN.unwrap()(1, s, WILD),
                l.C_SetPIN.unwrap()(1, s, WILD, s, 4),
                l.C_SetPIN.unwrap()(1, s, 4, s, WILD),
                l.C_InitToken.unwrap()(1, s, WILD, label.as_mut_ptr()),
                l.C_GenerateRandom.unwrap()(1, s, TWO_GIB),
                l.C_SeedRandom.unwrap()(1, s, WILD),
                l.C_UnwrapKey.unwrap()(1, &mut wrap, 2, s, WILD, null_mut(), 0, &mut handle),
                l.C_SetOperationState.unwrap()(1, s, WILD, 0, 0),
            ]
        };
        (codes, calls() - before)
    });
    assert_eq!(
        codes,
        [
            CKR_PIN_LEN_RANGE,
            CKR_PIN_LEN_RANGE,
            CKR_ARGUMENTS_BAD,
            CKR_PIN_LEN_RANGE,
            CKR_PIN_LEN_RANGE,
            CKR_PIN_LEN_RANGE,
            CKR_PIN_LEN_RANGE,
            CKR_ARGUMENTS_BAD,
            CKR_ARGUMENTS_BAD,
            CKR_WRAPPED_KEY_LEN_RANGE,
            CKR_SAVED_STATE_INVALID,
        ]
    );
    assert_eq!(backend_calls, 0, "nothing reached the backend");
}

#[test]
fn a_huge_object_count_is_room_not_a_size() {
    const SESSION: CK_SESSION_HANDLE = 73;
    let (code, count, handles) = returns(|| {
        let l = v3();
        let mut handles = [0 as CK_OBJECT_HANDLE; 4];
        let mut count: CK_ULONG = 0;
        // SAFETY: every pointer is a live local; the count overstates the
        // room, and the search finds fewer handles than the array holds.
        unsafe {
            assert_eq!(l.C_FindObjectsInit.unwrap()(SESSION, null_mut(), 0), CKR_OK);
            let code = l.C_FindObjects.unwrap()(SESSION, handles.as_mut_ptr(), 1 << 40, &mut count);
            (code, count, handles)
        }
    });
    assert_eq!((code, count, handles), (CKR_OK, 3, [10, 11, 12, 0]));
}

#[test]
fn get_interface_reads_no_further_than_the_name() {
    // Eight bytes that are not "PKCS 11\0", at the end of a page: a scan
    // for the terminating NUL would run into the fence.
    for name in [b"PKCS 11!".as_slice(), b"PKCS 12".as_slice(), b"XXXXXXXX".as_slice()] {
        let fenced = Fenced::new(name);
        let mut interface: *mut CK_INTERFACE = null_mut();
        // SAFETY: the name is live for its length; `interface` is a live local.
        let code = unsafe { v3().C_GetInterface.unwrap()(fenced.as_mut_ptr(), null_mut(), &mut interface, 0) };
        assert_eq!(code, CKR_ARGUMENTS_BAD, "{name:?}");
    }
    let fenced = Fenced::new(b"PKCS 11\0");
    let mut interface: *mut CK_INTERFACE = null_mut();
    // SAFETY: as above.
    let code = unsafe { v3().C_GetInterface.unwrap()(fenced.as_mut_ptr(), null_mut(), &mut interface, 0) };
    assert_eq!(code, CKR_OK);
}
