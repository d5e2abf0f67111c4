//! A failed call ends its operation, even when the boundary refused it for
//! a null pointer (`CKR_ARGUMENTS_BAD`), for every kind of operation.

use std::ptr::{from_mut, null_mut};

use cryptoki_sys::*;

use super::p11::{Kind, Mech, P11, active, cbc};
use super::setup::Keys;
use super::{IV, PLAIN};

/// A call that continues or ends an operation, made with a null pointer
/// the standard does not allow there.
#[derive(Clone, Copy, Debug)]
enum NullCall {
    EncryptData,
    EncryptLength,
    EncryptUpdateData,
    EncryptUpdateLength,
    EncryptFinalLength,
    DecryptData,
    DecryptLength,
    DecryptUpdateData,
    DecryptFinalLength,
    SignLength,
    SignUpdateData,
    SignFinalLength,
    VerifySignature,
    VerifyUpdateData,
    VerifyFinalSignature,
    DigestLength,
    DigestUpdateData,
    DigestFinalLength,
}

impl NullCall {
    /// Every one of them.
    const ALL: [Self; 18] = {
        use NullCall::*;
        [
            EncryptData,
            EncryptLength,
            EncryptUpdateData,
            EncryptUpdateLength,
            EncryptFinalLength,
            DecryptData,
            DecryptLength,
            DecryptUpdateData,
            DecryptFinalLength,
            SignLength,
            SignUpdateData,
            SignFinalLength,
            VerifySignature,
            VerifyUpdateData,
            VerifyFinalSignature,
            DigestLength,
            DigestUpdateData,
            DigestFinalLength,
        ]
    };

    /// The operation it belongs to (`None`: the digest), and whether it
    /// is made after an `…Update`.
    fn operation(self) -> (Option<Kind>, bool) {
        use NullCall::*;
        match self {
            EncryptData | EncryptLength => (Some(Kind::Encrypt), false),
            EncryptUpdateData | EncryptUpdateLength | EncryptFinalLength => (Some(Kind::Encrypt), true),
            DecryptData | DecryptLength => (Some(Kind::Decrypt), false),
            DecryptUpdateData | DecryptFinalLength => (Some(Kind::Decrypt), true),
            SignLength => (Some(Kind::Sign), false),
            SignUpdateData | SignFinalLength => (Some(Kind::Sign), true),
            VerifySignature => (Some(Kind::Verify), false),
            VerifyUpdateData | VerifyFinalSignature => (Some(Kind::Verify), true),
            DigestLength => (None, false),
            DigestUpdateData | DigestFinalLength => (None, true),
        }
    }

    fn call(self, p: P11) -> CK_RV {
        use NullCall::*;
        let (l, s) = (p.l, p.s);
        let d = PLAIN.as_ptr().cast_mut();
        let mut out = [0u8; 512];
        let o = out.as_mut_ptr();
        let mut len: CK_ULONG = 512;
        let n = from_mut(&mut len);
        // SAFETY: every non-null pointer is a live buffer of the stated
        // length; the null ones are refused before anything is read.
        unsafe {
            match self {
                EncryptData => l.C_Encrypt.unwrap()(s, null_mut(), 32, o, n),
                EncryptLength => l.C_Encrypt.unwrap()(s, d, 32, o, null_mut()),
                EncryptUpdateData => l.C_EncryptUpdate.unwrap()(s, null_mut(), 16, o, n),
                EncryptUpdateLength => l.C_EncryptUpdate.unwrap()(s, d, 16, o, null_mut()),
                EncryptFinalLength => l.C_EncryptFinal.unwrap()(s, o, null_mut()),
                DecryptData => l.C_Decrypt.unwrap()(s, null_mut(), 32, o, n),
                DecryptLength => l.C_Decrypt.unwrap()(s, d, 32, o, null_mut()),
                DecryptUpdateData => l.C_DecryptUpdate.unwrap()(s, null_mut(), 16, o, n),
                DecryptFinalLength => l.C_DecryptFinal.unwrap()(s, o, null_mut()),
                SignLength => l.C_Sign.unwrap()(s, d, 32, o, null_mut()),
                SignUpdateData => l.C_SignUpdate.unwrap()(s, null_mut(), 16),
                SignFinalLength => l.C_SignFinal.unwrap()(s, o, null_mut()),
                VerifySignature => l.C_Verify.unwrap()(s, d, 32, null_mut(), 64),
                VerifyUpdateData => l.C_VerifyUpdate.unwrap()(s, null_mut(), 16),
                VerifyFinalSignature => l.C_VerifyFinal.unwrap()(s, null_mut(), 64),
                DigestLength => l.C_Digest.unwrap()(s, d, 32, o, null_mut()),
                DigestUpdateData => l.C_DigestUpdate.unwrap()(s, null_mut(), 16),
                DigestFinalLength => l.C_DigestFinal.unwrap()(s, o, null_mut()),
            }
        }
    }
}

/// Every call that continues or ends an operation, refused for a null
/// pointer: the operation ended, so the next `…Init` succeeds.
pub(crate) fn failed_calls_end_the_operation(p: P11, keys: &Keys) {
    let l = p.l;
    let (calls, digests): (Vec<NullCall>, Vec<NullCall>) =
        NullCall::ALL.into_iter().partition(|call| call.operation().0.is_some());
    assert_eq!(digests.len(), 3, "DigestLength, DigestUpdateData, DigestFinalLength");
    for call in calls {
        let (Some(kind), after_update) = call.operation() else { unreachable!("partitioned") };
        let (mut mech, key) = match kind {
            Kind::Encrypt | Kind::Decrypt => (cbc(&IV), keys.aes),
            Kind::Sign => (Mech::none(CKM_ECDSA_SHA256), keys.ec.1),
            Kind::Verify => (Mech::none(CKM_ECDSA_SHA256), keys.ec.0),
        };
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{call:?}: init");
        if after_update {
            let code = match kind {
                Kind::Encrypt => p.update(l.C_EncryptUpdate, &PLAIN[..16], 64).0,
                Kind::Decrypt => p.update(l.C_DecryptUpdate, &PLAIN[..16], 64).0,
                Kind::Sign => p.sign_update(l.C_SignUpdate, &PLAIN),
                Kind::Verify => p.sign_update(l.C_VerifyUpdate, &PLAIN),
            };
            assert_eq!(code, CKR_OK, "{call:?}: update first");
        }
        assert_eq!(call.call(p), CKR_ARGUMENTS_BAD, "{call:?}");
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{call:?}: the failed call ended the operation");
        assert!(active(p, kind), "{call:?}: the new operation is active (and the probe ends it)");
        assert!(!active(p, kind), "{call:?}: ended by the probe");
    }

    // Digests, computed in the module, follow the same rule.
    for call in digests {
        assert_eq!(p.digest_init(), CKR_OK, "{call:?}: init");
        if call.operation().1 {
            assert_eq!(p.sign_update(l.C_DigestUpdate, &PLAIN), CKR_OK, "{call:?}: update first");
        }
        assert_eq!(call.call(p), CKR_ARGUMENTS_BAD, "{call:?}");
        assert_eq!(p.digest_init(), CKR_OK, "{call:?}: the failed call ended the digest");
        assert_eq!(p.last(l.C_DigestFinal, 64).0, CKR_OK, "{call:?}: the new digest completes");
    }
}
