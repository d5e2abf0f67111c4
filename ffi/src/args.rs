//! Pointer and length checks, and the two-call output convention, for the
//! exports.
//!
//! Everything an export receives from C passes through here before a Rust
//! reference exists: null pointers the standard requires are refused with
//! `CKR_ARGUMENTS_BAD`, a null pointer with a zero length is an empty slice,
//! and only then is `slice::from_raw_parts` used.

use std::borrow::Cow;
use std::mem::size_of;
use std::slice;

use cryptoki_sys::{CK_RV, CK_ULONG, CKR_ARGUMENTS_BAD, CKR_BUFFER_TOO_SMALL, CKR_GENERAL_ERROR, CKR_OK};

use crate::backend::Result;
use crate::guard::rv;
use crate::output::{Delivery, OutBuf};

/// Converts a caller's count or length.
pub(crate) fn to_usize(n: CK_ULONG) -> Result<usize> {
    usize::try_from(n).map_err(|_| rv(CKR_ARGUMENTS_BAD))
}

/// Converts a count or length for the caller.
pub(crate) fn to_ulong(n: usize) -> Result<CK_ULONG> {
    CK_ULONG::try_from(n).map_err(|_| rv(CKR_GENERAL_ERROR))
}

/// Refuses a null pointer.
pub(crate) fn non_null<T>(ptr: *const T) -> Result<()> {
    if ptr.is_null() { Err(rv(CKR_ARGUMENTS_BAD)) } else { Ok(()) }
}

/// Checks what `from_raw_parts` needs beyond validity, which only the caller
/// can promise: an aligned pointer and a size that fits in `isize`.
fn check_array<T>(ptr: *const T, len: usize) -> Result<()> {
    let fits = len.checked_mul(size_of::<T>()).is_some_and(|bytes| bytes <= isize::MAX as usize);
    if !fits || !ptr.is_aligned() {
        return Err(rv(CKR_ARGUMENTS_BAD));
    }
    Ok(())
}

/// The caller's array of `len` elements at `ptr`. A null pointer is allowed
/// only with a zero length, and gives an empty slice.
///
/// # Safety
/// A non-null `ptr` is valid for reads of `len` elements for `'a`, and
/// nothing writes them meanwhile.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: CK_ULONG) -> Result<&'a [T]> {
    let len = to_usize(len)?;
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(rv(CKR_ARGUMENTS_BAD)) };
    }
    check_array(ptr, len)?;
    // SAFETY: non-null, aligned and small enough (checked above); valid for
    // `len` reads by the caller's contract.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// The caller's writable array of `len` elements at `ptr`, as [`slice`].
///
/// # Safety
/// A non-null `ptr` is valid for reads and writes of `len` elements for
/// `'a`, and nothing else accesses them meanwhile.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: CK_ULONG) -> Result<&'a mut [T]> {
    let len = to_usize(len)?;
    if ptr.is_null() {
        return if len == 0 { Ok(&mut []) } else { Err(rv(CKR_ARGUMENTS_BAD)) };
    }
    check_array(ptr, len)?;
    // SAFETY: non-null, aligned and small enough (checked above); valid and
    // unaliased for `len` elements by the caller's contract.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// Checks the caller's writable array of `len` elements at `ptr` as
/// [`slice_mut`] does, without borrowing it: for arrays of which only the
/// first few elements will be written ([`slice_mut`] them then), so that
/// a huge `len` is never taken as the size of anything.
pub(crate) fn writable<T>(ptr: *mut T, len: CK_ULONG) -> Result<usize> {
    let len = to_usize(len)?;
    if ptr.is_null() {
        return if len == 0 { Ok(0) } else { Err(rv(CKR_ARGUMENTS_BAD)) };
    }
    check_array(ptr.cast_const(), len)?;
    Ok(len)
}

/// Reads a value the caller points to; null is `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// A non-null `ptr` is valid for reads of one `T` (alignment not needed).
pub(crate) unsafe fn load<T: Copy>(ptr: *const T) -> Result<T> {
    non_null(ptr)?;
    // SAFETY: non-null (checked) and valid by the caller's contract; an
    // unaligned read costs nothing here and spares an alignment check.
    Ok(unsafe { ptr.read_unaligned() })
}

/// Writes a result where the caller points; null is `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// A non-null `ptr` is valid for writes of one `T` (alignment not needed).
pub(crate) unsafe fn store<T: Copy>(ptr: *mut T, value: T) -> Result<()> {
    non_null(ptr)?;
    // SAFETY: non-null (checked) and valid by the caller's contract.
    unsafe { ptr.write_unaligned(value) };
    Ok(())
}

/// Reports a [`Delivery`] under the two-call convention: the length always
/// goes to `*len_ptr`; a too-small buffer is `CKR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `len_ptr` is valid for writes (it was checked non-null by the caller).
unsafe fn report(delivery: Delivery, len_ptr: *mut CK_ULONG) -> Result<CK_RV> {
    // SAFETY: forwarded from this function's contract.
    unsafe { store(len_ptr, to_ulong(delivery.len())?) }?;
    Ok(match delivery {
        Delivery::Written(_) | Delivery::LengthOnly(_) => CKR_OK,
        Delivery::TooSmall(_) => CKR_BUFFER_TOO_SMALL,
    })
}

/// Runs an output-producing call under the two-call convention: a null
/// `out` is a length query, otherwise `out` holds `*out_len` bytes.
///
/// # Safety
/// `out_len` is null or valid for reads and writes; a non-null `out` is
/// valid for writes of `*out_len` bytes and aliased by nothing else.
pub(crate) unsafe fn output(
    out: *mut u8,
    out_len: *mut CK_ULONG,
    produce: impl FnOnce(&mut OutBuf<'_>) -> Result<Delivery>,
) -> Result<CK_RV> {
    // SAFETY: forwarded from this function's contract.
    let capacity = unsafe { load(out_len) }?;
    let mut buf = if out.is_null() {
        OutBuf::query()
    } else {
        // SAFETY: forwarded from this function's contract.
        OutBuf::buffer(unsafe { slice_mut(out, capacity) }?)
    };
    let delivery = produce(&mut buf)?;
    // SAFETY: `out_len` was read above, so it is non-null and valid.
    unsafe { report(delivery, out_len) }
}

/// Runs a call that reads `data` and produces output under the two-call
/// convention.
///
/// PKCS#11 lets the input and output buffers be the same memory (in-place
/// encryption). Rust must not hold a shared and a mutable slice over the
/// same bytes, so overlapping input is copied first; its length was bounded
/// before (see [`crate::limits::input_len`]), so the copy is too.
///
/// # Safety
/// As [`output`], and a non-null `data` is valid for reads of `data_len`
/// bytes.
pub(crate) unsafe fn transform(
    data: *const u8,
    data_len: CK_ULONG,
    out: *mut u8,
    out_len: *mut CK_ULONG,
    produce: impl FnOnce(&[u8], &mut OutBuf<'_>) -> Result<Delivery>,
) -> Result<CK_RV> {
    // SAFETY: forwarded from this function's contract.
    let capacity = unsafe { load(out_len) }?;
    // SAFETY: forwarded from this function's contract.
    let input = unsafe { slice(data, data_len) }?;
    let input: Cow<'_, [u8]> = if !out.is_null() && overlaps(input, out, to_usize(capacity)?) {
        Cow::Owned(input.to_vec())
    } else {
        Cow::Borrowed(input)
    };
    // SAFETY: forwarded from this function's contract; an overlapping input
    // is no longer borrowed (it was copied just above).
    unsafe { output(out, out_len, |buf| produce(&input, buf)) }
}

/// Whether `input` shares bytes with the `len` bytes at `out`.
fn overlaps(input: &[u8], out: *const u8, len: usize) -> bool {
    let (a, b) = (input.as_ptr() as usize, out as usize);
    a < b.saturating_add(len) && b < a.saturating_add(input.len())
}

/// Hands a list to the caller under the two-call convention used by
/// `C_GetSlotList`, `C_GetMechanismList` and `C_GetInterfaceList`: a null
/// `out` asks for the count, a short array is `CKR_BUFFER_TOO_SMALL` with the
/// count.
///
/// # Safety
/// `count` is null or valid for reads and writes; a non-null `out` is valid
/// for writes of `*count` elements.
pub(crate) unsafe fn list<T: Copy>(items: &[T], out: *mut T, count: *mut CK_ULONG) -> Result<CK_RV> {
    // SAFETY: forwarded from this function's contract.
    let capacity = unsafe { load(count) }?;
    let delivery = if out.is_null() {
        Delivery::LengthOnly(items.len())
    } else if writable(out, capacity)? < items.len() {
        Delivery::TooSmall(items.len())
    } else {
        // SAFETY: forwarded from this function's contract: the caller's
        // array holds `capacity >= items.len()` elements.
        let dest = unsafe { slice_mut(out, to_ulong(items.len())?) }?;
        dest.copy_from_slice(items);
        Delivery::Written(items.len())
    };
    // SAFETY: `count` was read above, so it is non-null and valid.
    unsafe { report(delivery, count) }
}

#[cfg(test)]
mod tests {
    use std::ptr;

    use super::*;

    #[test]
    fn null_is_empty_only_with_zero_length() {
        // SAFETY: null pointers are never dereferenced.
        unsafe {
            assert_eq!(slice::<u8>(ptr::null(), 0), Ok(&[][..]));
            assert_eq!(slice::<u8>(ptr::null(), 3), Err(rv(CKR_ARGUMENTS_BAD)));
            assert_eq!(load::<u64>(ptr::null()), Err(rv(CKR_ARGUMENTS_BAD)));
            assert_eq!(store::<u64>(ptr::null_mut(), 1), Err(rv(CKR_ARGUMENTS_BAD)));
        }
    }

    #[test]
    fn misaligned_arrays_are_refused() {
        let words = [0u64; 2];
        let misaligned = words.as_ptr().cast::<u8>().wrapping_add(1).cast::<u64>();
        // SAFETY: the check fails before the pointer is dereferenced.
        assert_eq!(unsafe { slice(misaligned, 1) }, Err(rv(CKR_ARGUMENTS_BAD)));
    }

    #[test]
    fn overlap_detection() {
        let buf = [0u8; 16];
        let p = buf.as_ptr();
        assert!(overlaps(&buf[..8], p.wrapping_add(4), 8));
        assert!(overlaps(&buf[4..12], p, 8));
        assert!(!overlaps(&buf[..8], p.wrapping_add(8), 8));
        assert!(!overlaps(&buf[8..], p, 8));
        assert!(!overlaps(&[], p, 8));
    }

    #[test]
    fn in_place_transform_sees_the_original_input() {
        let mut buf = *b"abcd";
        let mut len: CK_ULONG = 4;
        let p = buf.as_mut_ptr();
        // SAFETY: `p` and `len` point to live locals of the stated sizes.
        let code = unsafe {
            transform(p, 4, p, &mut len, |input, out| {
                let reversed: Vec<u8> = input.iter().rev().copied().collect();
                Ok(out.deliver(&reversed))
            })
        };
        assert_eq!(code, Ok(CKR_OK));
        assert_eq!(&buf, b"dcba");
    }

    #[test]
    fn list_follows_the_two_call_convention() {
        let items = [7u64, 8, 9];
        let mut count: CK_ULONG = 0;
        // SAFETY: every pointer refers to a live local of the stated size.
        unsafe {
            assert_eq!(list(&items, ptr::null_mut(), &mut count), Ok(CKR_OK));
            assert_eq!(count, 3);
            let mut short = [0u64; 2];
            count = 2;
            assert_eq!(list(&items, short.as_mut_ptr(), &mut count), Ok(CKR_BUFFER_TOO_SMALL));
            assert_eq!((count, short), (3, [0, 0]));
            let mut room = [0u64; 5];
            count = 5;
            assert_eq!(list(&items, room.as_mut_ptr(), &mut count), Ok(CKR_OK));
            assert_eq!((count, room), (3, [7, 8, 9, 0, 0]));
            assert_eq!(list(&items, room.as_mut_ptr(), ptr::null_mut()), Err(rv(CKR_ARGUMENTS_BAD)));
        }
    }
}
