//! Mechanisms: a `CK_MECHANISM` decoded into a [`Mechanism`], with the
//! parameter structures this project understands read field by field.
//!
//! A parameter structure holds pointers into the caller's memory, so it can
//! never cross the socket as bytes; each known structure becomes a
//! [`MechParam`] variant holding copies. Every other mechanism's parameter is
//! taken to be a plain byte string (an IV, say).
//!
//! Every length is bounded before the bytes behind it are read: the
//! parameter's own, and each byte string a structure points to, by
//! [`MAX_MECHANISM_PARAM_LEN`] (`CKR_MECHANISM_PARAM_INVALID` beyond).

use std::mem::size_of;

use cryptoki_sys::*;
use p11kms_proto::pkcs11::{MechParam, Mechanism};

use crate::args;
use crate::backend::Result;
use crate::guard::rv;
use crate::limits::{MAX_MECHANISM_PARAM_LEN, within};

/// How a mechanism's parameter is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Gcm,
    Pss,
    Oaep,
    Ecdh,
    Ctr,
    Eddsa,
    /// `CK_KEY_DERIVATION_STRING_DATA`: a pointer and a length.
    StringData,
    CbcEncryptData,
    Ulong,
    Opaque,
}

impl Shape {
    fn of(ty: CK_MECHANISM_TYPE) -> Self {
        match ty {
            CKM_AES_GCM => Self::Gcm,
            CKM_RSA_PKCS_PSS
            | CKM_SHA1_RSA_PKCS_PSS
            | CKM_SHA224_RSA_PKCS_PSS
            | CKM_SHA256_RSA_PKCS_PSS
            | CKM_SHA384_RSA_PKCS_PSS
            | CKM_SHA512_RSA_PKCS_PSS
            | CKM_SHA3_224_RSA_PKCS_PSS
            | CKM_SHA3_256_RSA_PKCS_PSS
            | CKM_SHA3_384_RSA_PKCS_PSS
            | CKM_SHA3_512_RSA_PKCS_PSS => Self::Pss,
            CKM_RSA_PKCS_OAEP => Self::Oaep,
            CKM_ECDH1_DERIVE | CKM_ECDH1_COFACTOR_DERIVE => Self::Ecdh,
            CKM_AES_CTR => Self::Ctr,
            CKM_EDDSA => Self::Eddsa,
            CKM_AES_ECB_ENCRYPT_DATA => Self::StringData,
            CKM_AES_CBC_ENCRYPT_DATA => Self::CbcEncryptData,
            // The "general" MACs: the parameter is the MAC length.
            CKM_AES_MAC_GENERAL
            | CKM_AES_CMAC_GENERAL
            | CKM_DES3_MAC_GENERAL
            | CKM_DES3_CMAC_GENERAL
            | CKM_MD5_HMAC_GENERAL
            | CKM_SHA_1_HMAC_GENERAL
            | CKM_SHA224_HMAC_GENERAL
            | CKM_SHA256_HMAC_GENERAL
            | CKM_SHA384_HMAC_GENERAL
            | CKM_SHA512_HMAC_GENERAL
            | CKM_SHA512_224_HMAC_GENERAL
            | CKM_SHA512_256_HMAC_GENERAL
            | CKM_SHA3_224_HMAC_GENERAL
            | CKM_SHA3_256_HMAC_GENERAL
            | CKM_SHA3_384_HMAC_GENERAL
            | CKM_SHA3_512_HMAC_GENERAL => Self::Ulong,
            _ => Self::Opaque,
        }
    }
}

/// The error for any malformed parameter.
const PARAM_INVALID: p11kms_proto::CkRv = rv(CKR_MECHANISM_PARAM_INVALID);

/// Decodes the caller's mechanism; null is `CKR_ARGUMENTS_BAD`, a malformed
/// parameter, or one longer than [`MAX_MECHANISM_PARAM_LEN`],
/// `CKR_MECHANISM_PARAM_INVALID`.
///
/// # Safety
/// A non-null `ptr` points to a `CK_MECHANISM` whose parameter, if any, is
/// valid for `ulParameterLen` bytes and, for the structures above, whose
/// inner pointers are valid for their lengths.
pub(crate) unsafe fn decode(ptr: *const CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: forwarded from this function's contract.
    let mech = unsafe { args::load(ptr) }?;
    // Before anything behind `pParameter` is read: an uninitialized
    // structure's length can be anything.
    within(mech.ulParameterLen, MAX_MECHANISM_PARAM_LEN, CKR_MECHANISM_PARAM_INVALID)?;
    // SAFETY: forwarded from this function's contract.
    let param = unsafe { decode_param(&mech) }?;
    Ok(Mechanism { ty: mech.mechanism, param })
}

/// # Safety
/// As [`decode`].
unsafe fn decode_param(mech: &CK_MECHANISM) -> Result<MechParam> {
    Ok(match Shape::of(mech.mechanism) {
        Shape::Gcm => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_GCM_PARAMS = unsafe { structure(mech) }?;
            // SAFETY: the structure's pointers, valid by the same contract.
            let (iv, aad) = unsafe { (bytes(p.pIv, p.ulIvLen)?, bytes(p.pAAD, p.ulAADLen)?) };
            // ulIvBits is not carried: it only matters when the token
            // generates the IV, which `MechParam::Gcm` cannot express.
            MechParam::Gcm { iv, aad, tag_bits: p.ulTagBits }
        }
        Shape::Pss => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_RSA_PKCS_PSS_PARAMS = unsafe { structure(mech) }?;
            MechParam::Pss { hash: p.hashAlg, mgf: p.mgf, salt_len: p.sLen }
        }
        Shape::Oaep => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_RSA_PKCS_OAEP_PARAMS = unsafe { structure(mech) }?;
            // Only CKZ_DATA_SPECIFIED is defined; many callers leave the
            // source zero to mean "no label", and then the data is ignored.
            let source_data = match p.source {
                // SAFETY: the structure's pointer, valid by the same contract.
                CKZ_DATA_SPECIFIED => unsafe { bytes(p.pSourceData.cast(), p.ulSourceDataLen) }?,
                0 => Vec::new(),
                _ => return Err(PARAM_INVALID),
            };
            MechParam::Oaep { hash: p.hashAlg, mgf: p.mgf, source_data }
        }
        Shape::Ecdh => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_ECDH1_DERIVE_PARAMS = unsafe { structure(mech) }?;
            // SAFETY: the structure's pointers, valid by the same contract.
            let (shared_data, public_data) =
                unsafe { (bytes(p.pSharedData, p.ulSharedDataLen)?, bytes(p.pPublicData, p.ulPublicDataLen)?) };
            MechParam::Ecdh { kdf: p.kdf, shared_data, public_data }
        }
        Shape::Ctr => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_AES_CTR_PARAMS = unsafe { structure(mech) }?;
            MechParam::Ctr { counter_bits: p.ulCounterBits, counter_block: p.cb }
        }
        // Pure EdDSA (Ed25519) has no parameter.
        Shape::Eddsa if mech.ulParameterLen == 0 => MechParam::None,
        Shape::Eddsa => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_EDDSA_PARAMS = unsafe { structure(mech) }?;
            // SAFETY: the structure's pointer, valid by the same contract.
            let context = unsafe { bytes(p.pContextData, p.ulContextDataLen) }?;
            MechParam::Eddsa { prehash: p.phFlag != 0, context }
        }
        Shape::StringData => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_KEY_DERIVATION_STRING_DATA = unsafe { structure(mech) }?;
            // SAFETY: the structure's pointer, valid by the same contract.
            MechParam::Bytes(unsafe { bytes(p.pData, p.ulLen) }?)
        }
        Shape::CbcEncryptData => {
            // SAFETY: forwarded from this function's contract.
            let p: CK_AES_CBC_ENCRYPT_DATA_PARAMS = unsafe { structure(mech) }?;
            // SAFETY: the structure's pointer, valid by the same contract.
            let data = unsafe { bytes(p.pData, p.length) }?;
            MechParam::CbcEncryptData { iv: p.iv, data }
        }
        // SAFETY: forwarded from this function's contract.
        Shape::Ulong => MechParam::Ulong(unsafe { structure::<CK_ULONG>(mech) }?),
        // An empty parameter is no parameter, whatever the pointer says.
        Shape::Opaque if mech.ulParameterLen == 0 => MechParam::None,
        Shape::Opaque => {
            // SAFETY: forwarded from this function's contract.
            let param = unsafe { bytes(mech.pParameter.cast(), mech.ulParameterLen) }?;
            MechParam::Bytes(param)
        }
    })
}

/// Reads a fixed-layout parameter structure: the pointer must be set and
/// the length must be exactly the structure's.
///
/// # Safety
/// A non-null `pParameter` is valid for reads of `ulParameterLen` bytes.
unsafe fn structure<T: Copy>(mech: &CK_MECHANISM) -> Result<T> {
    if mech.pParameter.is_null() || args::to_usize(mech.ulParameterLen) != Ok(size_of::<T>()) {
        return Err(PARAM_INVALID);
    }
    // SAFETY: non-null and `size_of::<T>()` bytes long (checked above),
    // readable by the caller's contract; read unaligned to ask no more.
    Ok(unsafe { mech.pParameter.cast::<T>().read_unaligned() })
}

/// Copies a byte string a parameter points to, after bounding its length.
///
/// # Safety
/// A non-null `ptr` is valid for reads of `len` bytes.
unsafe fn bytes(ptr: *const u8, len: CK_ULONG) -> Result<Vec<u8>> {
    within(len, MAX_MECHANISM_PARAM_LEN, CKR_MECHANISM_PARAM_INVALID)?;
    // SAFETY: forwarded from this function's contract.
    let data = unsafe { args::slice(ptr, len) }.map_err(|_| PARAM_INVALID)?;
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use std::ffi::c_void;
    use std::ptr;

    use super::*;

    fn mech<T>(ty: CK_MECHANISM_TYPE, param: &mut T) -> CK_MECHANISM {
        CK_MECHANISM {
            mechanism: ty,
            pParameter: ptr::from_mut(param).cast::<c_void>(),
            ulParameterLen: size_of::<T>() as CK_ULONG,
        }
    }

    fn run(m: &CK_MECHANISM) -> Result<Mechanism> {
        // SAFETY: the tests build mechanisms from live locals.
        unsafe { decode(m) }
    }

    #[test]
    fn null_mechanism_is_a_bad_argument() {
        // SAFETY: a null pointer is refused before any dereference.
        assert_eq!(unsafe { decode(ptr::null()) }, Err(rv(CKR_ARGUMENTS_BAD)));
    }

    #[test]
    fn gcm() {
        let mut iv = [1u8, 2, 3];
        let mut aad = *b"header";
        let mut p = CK_GCM_PARAMS {
            pIv: iv.as_mut_ptr(),
            ulIvLen: 3,
            ulIvBits: 24,
            pAAD: aad.as_mut_ptr(),
            ulAADLen: 6,
            ulTagBits: 128,
        };
        let m = mech(CKM_AES_GCM, &mut p);
        let expected = MechParam::Gcm { iv: iv.to_vec(), aad: aad.to_vec(), tag_bits: 128 };
        assert_eq!(run(&m), Ok(Mechanism { ty: CKM_AES_GCM, param: expected }));

        let mut short = m;
        short.ulParameterLen -= 8;
        assert_eq!(run(&short), Err(PARAM_INVALID), "wrong length");
        let mut null = m;
        null.pParameter = ptr::null_mut();
        assert_eq!(run(&null), Err(PARAM_INVALID), "null parameter");
        p.pIv = ptr::null_mut();
        assert_eq!(run(&mech(CKM_AES_GCM, &mut p)), Err(PARAM_INVALID), "null IV with a length");
    }

    #[test]
    fn pss_for_every_pss_mechanism() {
        let mut p = CK_RSA_PKCS_PSS_PARAMS { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, sLen: 32 };
        for ty in [CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA3_512_RSA_PKCS_PSS] {
            let param = MechParam::Pss { hash: CKM_SHA256, mgf: CKG_MGF1_SHA256, salt_len: 32 };
            assert_eq!(run(&mech(ty, &mut p)), Ok(Mechanism { ty, param }));
        }
        let none = CK_MECHANISM { mechanism: CKM_RSA_PKCS_PSS, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        assert_eq!(run(&none), Err(PARAM_INVALID));
    }

    #[test]
    fn oaep_reads_the_label_only_when_specified() {
        let mut label = *b"label";
        let mut p = CK_RSA_PKCS_OAEP_PARAMS {
            hashAlg: CKM_SHA256,
            mgf: CKG_MGF1_SHA256,
            source: CKZ_DATA_SPECIFIED,
            pSourceData: label.as_mut_ptr().cast(),
            ulSourceDataLen: 5,
        };
        let param = |source_data: &[u8]| MechParam::Oaep {
            hash: CKM_SHA256,
            mgf: CKG_MGF1_SHA256,
            source_data: source_data.to_vec(),
        };
        assert_eq!(run(&mech(CKM_RSA_PKCS_OAEP, &mut p)).map(|m| m.param), Ok(param(b"label")));
        p.source = 0;
        assert_eq!(run(&mech(CKM_RSA_PKCS_OAEP, &mut p)).map(|m| m.param), Ok(param(b"")));
        p.source = 7;
        assert_eq!(run(&mech(CKM_RSA_PKCS_OAEP, &mut p)), Err(PARAM_INVALID));
    }

    #[test]
    fn ecdh_and_ctr() {
        let mut public = [4u8, 9, 9];
        let mut p = CK_ECDH1_DERIVE_PARAMS {
            kdf: CKD_NULL,
            ulSharedDataLen: 0,
            pSharedData: ptr::null_mut(),
            ulPublicDataLen: 3,
            pPublicData: public.as_mut_ptr(),
        };
        let expected = MechParam::Ecdh { kdf: CKD_NULL, shared_data: vec![], public_data: public.to_vec() };
        assert_eq!(run(&mech(CKM_ECDH1_COFACTOR_DERIVE, &mut p)).map(|m| m.param), Ok(expected));

        let mut p = CK_AES_CTR_PARAMS { ulCounterBits: 32, cb: [7; 16] };
        let expected = MechParam::Ctr { counter_bits: 32, counter_block: [7; 16] };
        assert_eq!(run(&mech(CKM_AES_CTR, &mut p)).map(|m| m.param), Ok(expected));
    }

    #[test]
    fn eddsa_takes_its_structure_or_nothing() {
        let mut context = *b"ctx";
        let mut p = CK_EDDSA_PARAMS { phFlag: 1, ulContextDataLen: 3, pContextData: context.as_mut_ptr() };
        let expected = MechParam::Eddsa { prehash: true, context: b"ctx".to_vec() };
        assert_eq!(run(&mech(CKM_EDDSA, &mut p)).map(|m| m.param), Ok(expected));
        let none = CK_MECHANISM { mechanism: CKM_EDDSA, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        assert_eq!(run(&none).map(|m| m.param), Ok(MechParam::None), "pure Ed25519");
        let mut short = 1u8;
        assert_eq!(run(&mech(CKM_EDDSA, &mut short)), Err(PARAM_INVALID));
    }

    #[test]
    fn derivation_by_encryption_copies_its_data() {
        let mut data = [3u8; 32];
        let mut p = CK_KEY_DERIVATION_STRING_DATA { pData: data.as_mut_ptr(), ulLen: 32 };
        let ecb = run(&mech(CKM_AES_ECB_ENCRYPT_DATA, &mut p)).map(|m| m.param);
        assert_eq!(ecb, Ok(MechParam::Bytes(vec![3; 32])));
        p.pData = ptr::null_mut();
        assert_eq!(run(&mech(CKM_AES_ECB_ENCRYPT_DATA, &mut p)), Err(PARAM_INVALID), "null data with a length");

        let mut p = CK_AES_CBC_ENCRYPT_DATA_PARAMS { iv: [9; 16], pData: data.as_mut_ptr(), length: 16 };
        let cbc = run(&mech(CKM_AES_CBC_ENCRYPT_DATA, &mut p)).map(|m| m.param);
        assert_eq!(cbc, Ok(MechParam::CbcEncryptData { iv: [9; 16], data: vec![3; 16] }));
        let mut short = [0u8; 16];
        assert_eq!(run(&mech(CKM_AES_CBC_ENCRYPT_DATA, &mut short)), Err(PARAM_INVALID), "IV alone");
    }

    #[test]
    fn general_macs_take_a_ulong() {
        let mut len: CK_ULONG = 16;
        let m = mech(CKM_SHA256_HMAC_GENERAL, &mut len);
        assert_eq!(run(&m).map(|m| m.param), Ok(MechParam::Ulong(16)));
        let mut byte = 16u8;
        assert_eq!(run(&mech(CKM_AES_CMAC_GENERAL, &mut byte)), Err(PARAM_INVALID));
    }

    #[test]
    fn other_mechanisms_take_bytes_or_nothing() {
        let none = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        assert_eq!(run(&none), Ok(Mechanism::new(CKM_SHA256)));
        let mut iv = [5u8; 16];
        let cbc = mech(CKM_AES_CBC_PAD, &mut iv);
        assert_eq!(run(&cbc).map(|m| m.param), Ok(MechParam::Bytes(vec![5; 16])));
        let broken = CK_MECHANISM { mechanism: CKM_AES_CBC, pParameter: ptr::null_mut(), ulParameterLen: 16 };
        assert_eq!(run(&broken), Err(PARAM_INVALID));
    }
}
