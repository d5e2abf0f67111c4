//! Random numbers: `C_SeedRandom`, `C_GenerateRandom`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_BYTE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_ARGUMENTS_BAD};

use crate::args;
use crate::backend::Backend;
use crate::guard::{OK, initialized};
use crate::limits::{MAX_RANDOM_LEN, MAX_SEED_LEN, within};

/// `C_SeedRandom`.
pub unsafe extern "C" fn C_SeedRandom<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pSeed: *mut CK_BYTE,
    ulSeedLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        within(ulSeedLen, MAX_SEED_LEN, CKR_ARGUMENTS_BAD)?;
        // SAFETY: PKCS#11 caller contract.
        let seed = unsafe { args::slice(pSeed, ulSeedLen) }?;
        B::seed_random(hSession, seed)?;
        OK
    })
}

/// `C_GenerateRandom`: fills exactly `ulRandomLen` bytes.
pub unsafe extern "C" fn C_GenerateRandom<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    RandomData: *mut CK_BYTE,
    ulRandomLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        // Every byte asked for costs the daemon's time and a round trip per
        // MiB: a wild length would keep the caller waiting, and write far
        // past its buffer.
        within(ulRandomLen, MAX_RANDOM_LEN, CKR_ARGUMENTS_BAD)?;
        // SAFETY: PKCS#11 caller contract.
        let out = unsafe { args::slice_mut(RandomData, ulRandomLen) }?;
        B::generate_random(hSession, out)?;
        OK
    })
}
