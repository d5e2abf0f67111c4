//! Attribute templates: `CK_ATTRIBUTE` arrays decoded into
//! [`Attribute`]s, and the answers of `C_GetAttributeValue` written back
//! under PKCS#11 2.40 §5.7's rules.
//!
//! A template has at most [`MAX_TEMPLATE_ATTRIBUTES`] entries
//! (`CKR_ARGUMENTS_BAD` beyond) and each value at most
//! [`MAX_ATTRIBUTE_VALUE_LEN`] bytes (`CKR_ATTRIBUTE_VALUE_INVALID`
//! beyond), both checked before anything is copied: a decoded template is
//! never larger than 256 × 64 KiB.

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_RV, CK_ULONG, CK_UNAVAILABLE_INFORMATION, CKA_ALLOWED_MECHANISMS, CKF_ARRAY_ATTRIBUTE,
    CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
    CKR_BUFFER_TOO_SMALL, CKR_GENERAL_ERROR, CKR_OK,
};
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue};

use crate::args;
use crate::backend::Result;
use crate::guard::rv;
use crate::limits::{MAX_ATTRIBUTE_VALUE_LEN, MAX_TEMPLATE_ATTRIBUTES, within};

/// Bytes of one `CK_MECHANISM_TYPE` in a `CKA_ALLOWED_MECHANISMS` value.
const MECHANISM_TYPE_LEN: CK_ULONG = std::mem::size_of::<cryptoki_sys::CK_MECHANISM_TYPE>() as CK_ULONG;

/// Copies a template out of the caller's memory.
///
/// A value pointer that is null with a non-zero length is
/// `CKR_ARGUMENTS_BAD`: the array is malformed, which is an argument error
/// like any other null-with-length, not an invalid attribute value.
///
/// Attributes whose value is itself a template (`CKF_ARRAY_ATTRIBUTE`, such
/// as `CKA_WRAP_TEMPLATE`) are refused with `CKR_ATTRIBUTE_TYPE_INVALID`:
/// their bytes are pointers into this process, meaningless to the daemon,
/// and [`Attribute`] has no shape for nested templates.
/// `CKA_ALLOWED_MECHANISMS` carries the array flag too but is an array of
/// `CK_MECHANISM_TYPE`s, plain values: it is copied like any other, and a
/// length that is not a whole number of them is
/// `CKR_ATTRIBUTE_VALUE_INVALID`.
///
/// # Safety
/// A non-null `ptr` points to `count` attributes, each of whose non-null
/// `pValue` is valid for reads of `ulValueLen` bytes.
pub(crate) unsafe fn decode(ptr: *const CK_ATTRIBUTE, count: CK_ULONG) -> Result<Vec<Attribute>> {
    within(count, MAX_TEMPLATE_ATTRIBUTES, CKR_ARGUMENTS_BAD)?;
    // SAFETY: forwarded from this function's contract.
    let raw = unsafe { args::slice(ptr, count) }?;
    raw.iter()
        .map(|attr| {
            if attr.type_ == CKA_ALLOWED_MECHANISMS {
                if attr.ulValueLen % MECHANISM_TYPE_LEN != 0 {
                    return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
                }
            } else if attr.type_ & CKF_ARRAY_ATTRIBUTE != 0 {
                return Err(rv(CKR_ATTRIBUTE_TYPE_INVALID));
            }
            within(attr.ulValueLen, MAX_ATTRIBUTE_VALUE_LEN, CKR_ATTRIBUTE_VALUE_INVALID)?;
            // SAFETY: forwarded from this function's contract.
            let value = unsafe { args::slice(attr.pValue.cast::<u8>(), attr.ulValueLen) }?;
            Ok(Attribute { ty: attr.type_, value: value.to_vec() })
        })
        .collect()
}

/// The caller's template for `C_GetAttributeValue`, writable so the
/// lengths can be reported; at most [`MAX_TEMPLATE_ATTRIBUTES`] entries.
/// Its value lengths are room in the caller's buffers, never allocated.
///
/// # Safety
/// A non-null `ptr` points to `count` attributes the caller lets us write.
pub(crate) unsafe fn request<'a>(ptr: *mut CK_ATTRIBUTE, count: CK_ULONG) -> Result<&'a mut [CK_ATTRIBUTE]> {
    within(count, MAX_TEMPLATE_ATTRIBUTES, CKR_ARGUMENTS_BAD)?;
    // SAFETY: forwarded from this function's contract.
    unsafe { args::slice_mut(ptr, count) }
}

/// The types a `C_GetAttributeValue` template asks for.
pub(crate) fn requested_types(template: &[CK_ATTRIBUTE]) -> Vec<AttributeType> {
    template.iter().map(|attr| attr.type_).collect()
}

/// Writes the backend's answers into the caller's template and picks the
/// return value (PKCS#11 2.40 §5.7).
///
/// Every attribute is processed even after a failure, so the caller learns
/// everything in one call. `CKR_ATTRIBUTE_SENSITIVE` and
/// `CKR_ATTRIBUTE_TYPE_INVALID` win over `CKR_BUFFER_TOO_SMALL`: the first two
/// say asking again cannot help, the last that a bigger buffer would. When
/// several attributes fail in the first two ways, the first one decides (the
/// standard allows any).
///
/// # Safety
/// Each attribute's non-null `pValue` is valid for writes of `ulValueLen`
/// bytes and does not overlap the template itself.
pub(crate) unsafe fn fill(template: &mut [CK_ATTRIBUTE], answers: Vec<AttributeValue>) -> Result<CK_RV> {
    // One answer per requested type, in order, is the backend's contract.
    if answers.len() != template.len() {
        return Err(rv(CKR_GENERAL_ERROR));
    }
    let mut code = CKR_OK;
    let mut fail = |new: CK_RV| {
        if code == CKR_OK || (code == CKR_BUFFER_TOO_SMALL && new != CKR_BUFFER_TOO_SMALL) {
            code = new;
        }
    };
    for (attr, answer) in template.iter_mut().zip(answers) {
        // A secret value (`AttributeValue::Secret`) is copied like any
        // other and wiped when `answer` is dropped at the end of the turn.
        let Some(value) = answer.bytes() else {
            attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            fail(if matches!(answer, AttributeValue::Sensitive) {
                CKR_ATTRIBUTE_SENSITIVE
            } else {
                CKR_ATTRIBUTE_TYPE_INVALID
            });
            continue;
        };
        if attr.pValue.is_null() {
            attr.ulValueLen = args::to_ulong(value.len())?;
        } else if args::to_usize(attr.ulValueLen).is_ok_and(|room| room >= value.len()) {
            // SAFETY: `pValue` is non-null (checked above) and valid for
            // `ulValueLen >= value.len()` bytes by the caller's contract;
            // `value` is our own allocation, so they cannot overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(value.as_ptr(), attr.pValue.cast(), value.len());
            }
            attr.ulValueLen = args::to_ulong(value.len())?;
        } else {
            // Never a part of the value: a value that grew since the
            // caller's length query (a secret's new version) is refused
            // whole, and asking again gives its new length.
            attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            fail(CKR_BUFFER_TOO_SMALL);
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use std::ptr;

    use cryptoki_sys::{CKA_CLASS, CKA_LABEL, CKA_TOKEN, CKA_VALUE, CKA_WRAP_TEMPLATE, CKR_ARGUMENTS_BAD};

    use super::*;

    fn attr(ty: CK_ULONG, value: *mut u8, len: CK_ULONG) -> CK_ATTRIBUTE {
        CK_ATTRIBUTE { type_: ty, pValue: value.cast(), ulValueLen: len }
    }

    #[test]
    fn decodes_values_by_copy() {
        let mut class = 4u64.to_le_bytes();
        let mut token = [1u8];
        let template = [
            attr(CKA_CLASS, class.as_mut_ptr(), 8),
            attr(CKA_TOKEN, token.as_mut_ptr(), 1),
            attr(CKA_LABEL, ptr::null_mut(), 0),
        ];
        // SAFETY: every pointer refers to a live local of the stated size.
        let decoded = unsafe { decode(template.as_ptr(), 3) };
        assert_eq!(
            decoded,
            Ok(vec![Attribute::ulong(CKA_CLASS, 4), Attribute::bool(CKA_TOKEN, true), Attribute::bytes(CKA_LABEL, [])])
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        // SAFETY: null pointers are refused before any dereference.
        unsafe {
            assert_eq!(decode(ptr::null(), 2), Err(rv(CKR_ARGUMENTS_BAD)));
            assert_eq!(decode(ptr::null(), 0), Ok(vec![]));
            let template = [attr(CKA_LABEL, ptr::null_mut(), 5)];
            assert_eq!(decode(template.as_ptr(), 1), Err(rv(CKR_ARGUMENTS_BAD)));
            let template = [attr(CKA_WRAP_TEMPLATE, ptr::null_mut(), 0)];
            assert_eq!(decode(template.as_ptr(), 1), Err(rv(CKR_ATTRIBUTE_TYPE_INVALID)));
        }
    }

    #[test]
    fn allowed_mechanisms_are_an_array_of_values() {
        let mut list = [0x1082u64, 0x1087];
        let template = [attr(CKA_ALLOWED_MECHANISMS, list.as_mut_ptr().cast(), 16)];
        // SAFETY: the pointer refers to a live local of 16 bytes.
        let decoded = unsafe { decode(template.as_ptr(), 1) };
        let bytes: Vec<u8> = list.iter().flat_map(|m| m.to_ne_bytes()).collect();
        assert_eq!(decoded, Ok(vec![Attribute::bytes(CKA_ALLOWED_MECHANISMS, bytes)]));
        let ragged = [attr(CKA_ALLOWED_MECHANISMS, list.as_mut_ptr().cast(), 12)];
        // SAFETY: as above; 12 of the 16 bytes.
        assert_eq!(unsafe { decode(ragged.as_ptr(), 1) }, Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
        let empty = [attr(CKA_ALLOWED_MECHANISMS, ptr::null_mut(), 0)];
        // SAFETY: a null pointer with length 0 is never read.
        assert_eq!(unsafe { decode(empty.as_ptr(), 1) }, Ok(vec![Attribute::bytes(CKA_ALLOWED_MECHANISMS, [])]));
    }

    #[test]
    fn fill_applies_the_per_attribute_rules() {
        let mut big = [0u8; 8];
        let mut small = [0u8; 2];
        let mut template = [
            attr(CKA_LABEL, ptr::null_mut(), 0),
            attr(CKA_VALUE, big.as_mut_ptr(), 8),
            attr(CKA_CLASS, small.as_mut_ptr(), 2),
            attr(CKA_TOKEN, ptr::null_mut(), 0),
        ];
        let answers = vec![
            AttributeValue::Value(b"label".to_vec()),
            AttributeValue::Value(b"abc".to_vec()),
            AttributeValue::Value(b"too long".to_vec()),
            AttributeValue::Value(vec![1]),
        ];
        // SAFETY: every pointer refers to a live local of the stated size.
        let code = unsafe { fill(&mut template, answers) };
        assert_eq!(code, Ok(CKR_BUFFER_TOO_SMALL));
        let lens: Vec<CK_ULONG> = template.iter().map(|a| a.ulValueLen).collect();
        assert_eq!(lens, [5, 3, CK_UNAVAILABLE_INFORMATION, 1]);
        assert_eq!(&big[..3], b"abc");
        assert_eq!(small, [0, 0], "a short buffer is left alone");
    }

    #[test]
    fn sensitive_and_invalid_win_over_too_small() {
        let mut small = [0u8; 1];
        let mut template = [
            attr(CKA_VALUE, small.as_mut_ptr(), 1),
            attr(CKA_VALUE, ptr::null_mut(), 0),
            attr(CKA_LABEL, ptr::null_mut(), 0),
        ];
        let answers = vec![AttributeValue::Value(b"xy".to_vec()), AttributeValue::Sensitive, AttributeValue::Invalid];
        // SAFETY: every pointer refers to a live local of the stated size.
        let code = unsafe { fill(&mut template, answers) };
        assert_eq!(code, Ok(CKR_ATTRIBUTE_SENSITIVE));
        assert!(template.iter().all(|a| a.ulValueLen == CK_UNAVAILABLE_INFORMATION));

        let mut template = [attr(CKA_LABEL, ptr::null_mut(), 0), attr(CKA_VALUE, small.as_mut_ptr(), 1)];
        let answers = vec![AttributeValue::Invalid, AttributeValue::Value(b"xy".to_vec())];
        // SAFETY: as above.
        let code = unsafe { fill(&mut template, answers) };
        assert_eq!(code, Ok(CKR_ATTRIBUTE_TYPE_INVALID));
    }

    #[test]
    fn a_secret_value_is_written_whole_or_not_at_all() {
        // The caller asked the length (4), then the secret got a longer
        // value: too small, nothing written; a shorter one: written, with
        // its own length.
        let mut room = [0u8; 4];
        let mut template = [attr(CKA_VALUE, room.as_mut_ptr(), 4)];
        let longer = vec![AttributeValue::Secret(p11kms_proto::SecretBytes::from("longer"))];
        // SAFETY: every pointer refers to a live local of the stated size.
        assert_eq!(unsafe { fill(&mut template, longer) }, Ok(CKR_BUFFER_TOO_SMALL));
        assert_eq!((template[0].ulValueLen, room), (CK_UNAVAILABLE_INFORMATION, [0; 4]));
        let mut template = [attr(CKA_VALUE, room.as_mut_ptr(), 4)];
        let shorter = vec![AttributeValue::Secret(p11kms_proto::SecretBytes::from("ab"))];
        // SAFETY: as above.
        assert_eq!(unsafe { fill(&mut template, shorter) }, Ok(CKR_OK));
        assert_eq!((template[0].ulValueLen, &room[..2]), (2, &b"ab"[..]));
        let mut template = [attr(CKA_VALUE, ptr::null_mut(), 0)];
        let query = vec![AttributeValue::Secret(p11kms_proto::SecretBytes::from("abc"))];
        // SAFETY: a null value pointer is only a length query.
        assert_eq!(unsafe { fill(&mut template, query) }, Ok(CKR_OK));
        assert_eq!(template[0].ulValueLen, 3);
    }

    #[test]
    fn a_wrong_number_of_answers_is_a_general_error() {
        let mut template = [attr(CKA_LABEL, ptr::null_mut(), 0)];
        // SAFETY: no pointer is dereferenced.
        let code = unsafe { fill(&mut template, vec![]) };
        assert_eq!(code, Err(rv(CKR_GENERAL_ERROR)));
        assert_eq!(requested_types(&template), [CKA_LABEL]);
    }
}
