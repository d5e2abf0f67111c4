//! The bounds on every length and count an application hands the module,
//! in one place, and the checks that apply them before anything is read,
//! copied or allocated.
//!
//! A PKCS#11 module lives inside other people's processes. A length from
//! the caller is a promise about the caller's memory, and an uninitialized
//! one (a `CK_MECHANISM` on the stack that was never filled in) can promise
//! terabytes. Allocating that aborts the host: an allocation failure is not
//! a panic, so the panic guard cannot catch it. Reading it runs past the
//! caller's memory, or hangs the call for minutes. So every length and
//! count is compared with a bound below first, and refused at once with the
//! code the standard gives for it; `docs/pkcs11.md` ("Limits") lists them.
//!
//! The bounds are far above what real applications pass: a deployment that
//! works never meets them. Output buffer sizes need no bound: nothing is
//! allocated for them, and at most the produced bytes are written.

use cryptoki_sys::{CK_RV, CK_ULONG, CKR_ARGUMENTS_BAD};
pub use p11kms_proto::pkcs11::{MAX_ATTRIBUTE_VALUE_LEN, MAX_MECHANISM_PARAM_LEN};

use crate::args;
use crate::backend::{Backend, Operation, Result};
use crate::guard::rv;

/// The longest input of one call (data, or a signature to verify): the
/// protocol's hard cap on a request body, 16 MiB. The backend narrows it
/// per operation ([`Backend::max_input_len`], whose default is this cap:
/// the backend names the protocol's constant itself, so that the contract
/// does not import the checks made on it) to what the daemon announced.
pub const MAX_DATA_LEN: usize = p11kms_proto::MAX_BODY_LEN as usize;

/// The most attributes in one template (`C_CreateObject`,
/// `C_FindObjectsInit`, `C_GetAttributeValue`, …): PKCS#11 defines about a
/// hundred attribute types, and real templates name a few dozen at most.
/// More is `CKR_ARGUMENTS_BAD`.
pub const MAX_TEMPLATE_ATTRIBUTES: usize = 256;

/// The longest PIN (`C_Login`, `C_InitPIN`, `C_SetPIN`, `C_InitToken`),
/// in bytes. Tokens announce their own, smaller, range in `CK_TOKEN_INFO`;
/// this only keeps a wild length from being copied. More is
/// `CKR_PIN_LEN_RANGE`.
pub const MAX_PIN_LEN: usize = 256;

/// The longest user name of `C_LoginUser`, in bytes. More is
/// `CKR_ARGUMENTS_BAD`.
pub const MAX_USERNAME_LEN: usize = 256;

/// The longest wrapped key `C_UnwrapKey` takes: a wrapped RSA-16384
/// private key is about 10 KiB. More is `CKR_WRAPPED_KEY_LEN_RANGE`.
pub const MAX_WRAPPED_KEY_LEN: usize = 64 * 1024;

/// The most random bytes one `C_GenerateRandom` asks for. More is
/// `CKR_ARGUMENTS_BAD`.
pub const MAX_RANDOM_LEN: usize = MAX_DATA_LEN;

/// The longest seed of `C_SeedRandom`. More is `CKR_ARGUMENTS_BAD`.
pub const MAX_SEED_LEN: usize = 64 * 1024;

/// The longest saved state `C_SetOperationState` takes. More is
/// `CKR_SAVED_STATE_INVALID`.
pub const MAX_OPERATION_STATE_LEN: usize = 64 * 1024;

/// Refuses `len` with `refusal` when it is over `max` (or does not fit in
/// `usize`), before anything is read.
pub(crate) fn within(len: CK_ULONG, max: usize, refusal: CK_RV) -> Result<()> {
    match args::to_usize(len) {
        Ok(len) if len <= max => Ok(()),
        _ => Err(rv(refusal)),
    }
}

/// Refuses input `data` that is NULL with a length that is not zero
/// (`CKR_ARGUMENTS_BAD`), then bounds the length of the caller's input to a
/// call that continues or ends `operations` on `session` (two for the
/// dual-function updates): at most
/// what the backend takes for each of them. A longer input is refused with
/// `too_long` (the call's `CKR_*_LEN_RANGE`) before a byte of it is read;
/// the export runs through [`crate::ending::continuing`], which then ends
/// the operations, as PKCS#11 has every error but `CKR_BUFFER_TOO_SMALL`
/// end them.
/// Refuses bytes `data` that are NULL with a length that is not zero:
/// the caller's mistake whatever the length, so `CKR_ARGUMENTS_BAD` before
/// the length is bounded (SoftHSM answers the same).
pub(crate) fn given<T>(data: *const T, len: CK_ULONG) -> Result<()> {
    if data.is_null() && len != 0 { Err(rv(CKR_ARGUMENTS_BAD)) } else { Ok(()) }
}

pub(crate) fn input_len<B: Backend>(
    data: *const u8,
    operations: &[Operation],
    len: CK_ULONG,
    too_long: CK_RV,
) -> Result<()> {
    given(data, len)?;
    let max = operations.iter().map(|&op| B::max_input_len(op)).fold(MAX_DATA_LEN, usize::min);
    within(len, max, too_long)
}

#[cfg(test)]
mod tests {
    use cryptoki_sys::{CKR_ARGUMENTS_BAD, CKR_PIN_LEN_RANGE};

    use super::*;

    #[test]
    fn lengths_over_the_bound_are_refused_with_the_given_code() {
        assert_eq!(within(0, 4, CKR_ARGUMENTS_BAD), Ok(()));
        assert_eq!(within(4, 4, CKR_ARGUMENTS_BAD), Ok(()));
        assert_eq!(within(5, 4, CKR_PIN_LEN_RANGE), Err(rv(CKR_PIN_LEN_RANGE)));
        assert_eq!(within(CK_ULONG::MAX, usize::MAX, CKR_ARGUMENTS_BAD), Ok(()));
        assert_eq!(within(0x8000_0000, MAX_DATA_LEN, CKR_ARGUMENTS_BAD), Err(rv(CKR_ARGUMENTS_BAD)));
    }
}
