//! Mechanisms as the data plane carries them, turned into cryptoki's.
//! Only mechanisms the daemon offers are accepted; everything else is
//! `CKR_MECHANISM_INVALID` (or `CKR_MECHANISM_PARAM_INVALID` for a known
//! mechanism with a malformed parameter) before the HSM is asked.
//!
//! cryptoki 0.12 has no typed AES-CTR mechanism, so its `CK_AES_CTR_PARAMS`
//! is built here and passed as a raw mechanism; the structure lives in a
//! [`ParamStorage`] the caller keeps for as long as the mechanism.

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::ekdf::AesCbcDeriveParams;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki_sys::*;

use p11kms_proto::pkcs11::{MechParam, Mechanism as WireMechanism};

/// Mechanisms the data plane offers for operations with existing keys.
pub const OPERATION_MECHANISMS: &[CK_MECHANISM_TYPE] = &[
    CKM_AES_GCM,
    CKM_AES_CBC,
    CKM_AES_CBC_PAD,
    CKM_AES_ECB,
    CKM_AES_CTR,
    CKM_RSA_PKCS,
    CKM_SHA1_RSA_PKCS,
    CKM_SHA224_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA1_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_RSA_PKCS_OAEP,
    CKM_ECDSA,
    CKM_ECDSA_SHA1,
    CKM_ECDSA_SHA224,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
    // Session keys (docs/pkcs11.md §2a): MACs, wrapping, key agreement,
    // Edwards-curve signatures. KMS keys refuse them by their attributes.
    CKM_AES_CMAC,
    CKM_SHA_1_HMAC,
    CKM_SHA224_HMAC,
    CKM_SHA256_HMAC,
    CKM_SHA384_HMAC,
    CKM_SHA512_HMAC,
    CKM_AES_KEY_WRAP,
    CKM_AES_KEY_WRAP_PAD,
    CKM_ECDH1_DERIVE,
    CKM_EDDSA,
    // Derivation by encryption from a session AES key (docs/pkcs11.md,
    // "Attributes and mechanisms added for conformance").
    CKM_AES_ECB_ENCRYPT_DATA,
    CKM_AES_CBC_ENCRYPT_DATA,
];

/// The hashing ECDSA mechanisms, which the data plane offers over the
/// HSM's plain `CKM_ECDSA` (`data::emulated`) when the HSM lacks them.
pub const HASHING_ECDSA: &[CK_MECHANISM_TYPE] =
    &[CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512];

/// Key generation mechanisms the data plane offers (the last two for
/// session keys only).
pub const GENERATION_MECHANISMS: &[CK_MECHANISM_TYPE] = &[
    CKM_AES_KEY_GEN,
    CKM_RSA_PKCS_KEY_PAIR_GEN,
    CKM_EC_KEY_PAIR_GEN,
    CKM_GENERIC_SECRET_KEY_GEN,
    CKM_EC_EDWARDS_KEY_PAIR_GEN,
];

/// cryptoki's value for a mechanism type number. cryptoki 0.12 converts
/// most standard numbers but not all (`CKM_SHA224`, `CKM_SHA224_RSA_PKCS`,
/// `CKM_ECDSA_SHA224`),
/// and silently drops those from `get_mechanism_list`; the ones this
/// module needs are named here from its constants.
pub fn mechanism_type(ty: CK_MECHANISM_TYPE) -> Option<MechanismType> {
    MechanismType::try_from(ty).ok().or(match ty {
        CKM_SHA224 => Some(MechanismType::SHA224),
        CKM_SHA224_RSA_PKCS => Some(MechanismType::SHA224_RSA_PKCS),
        CKM_ECDSA_SHA224 => Some(MechanismType::ECDSA_SHA224),
        CKM_AES_ECB_ENCRYPT_DATA => Some(unnamed(CKM_AES_ECB_ENCRYPT_DATA)),
        _ => None,
    })
}

/// A standard mechanism cryptoki 0.12 has no constant for
/// (`CKM_AES_ECB_ENCRYPT_DATA`): its public constructors take vendor
/// numbers only.
fn unnamed(ty: CK_MECHANISM_TYPE) -> MechanismType {
    // SAFETY: `MechanismType` is `#[repr(transparent)]` over its one
    // `CK_MECHANISM_TYPE` field (cryptoki documents the layout so that a
    // vector of them is a vector of `CK_MECHANISM_TYPE`) and has no other
    // invariant: every value is a valid mechanism number to pass on.
    unsafe { std::mem::transmute::<CK_MECHANISM_TYPE, MechanismType>(ty) }
}

/// The data of a derivation by encryption: whole AES blocks, at least one
/// (PKCS#11 3.0 §6.9; the new key's value is the ciphertext).
fn encrypt_data(data: &[u8]) -> Result<(), CK_RV> {
    if data.is_empty() || data.len() % 16 != 0 { Err(CKR_MECHANISM_PARAM_INVALID) } else { Ok(()) }
}

/// True when cryptoki's `get_mechanism_list` can report `ty`: for the
/// others, only asking `get_mechanism_info` tells whether a token has them.
pub fn listed_by_cryptoki(ty: CK_MECHANISM_TYPE) -> bool {
    MechanismType::try_from(ty).is_ok()
}

fn hash(value: u64) -> Result<MechanismType, CK_RV> {
    mechanism_type(value).ok_or(CKR_MECHANISM_PARAM_INVALID)
}

fn mgf(value: u64) -> Result<PkcsMgfType, CK_RV> {
    PkcsMgfType::try_from(value).map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

fn iv16(iv: &[u8]) -> Result<[u8; 16], CK_RV> {
    iv.try_into().map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

/// Room for parameter structures that cryptoki cannot build itself; the
/// mechanism made by [`to_cryptoki`] points into it.
#[derive(Debug, Default)]
pub struct ParamStorage {
    ctr: CK_AES_CTR_PARAMS,
    eddsa: Option<CK_EDDSA_PARAMS>,
    string_data: Option<CK_KEY_DERIVATION_STRING_DATA>,
}

/// `CK_AES_CTR_PARAMS`. PKCS#11 allows 1 to 128 counter bits; refusing the
/// rest here gives the same answer whatever the HSM would do with them.
fn ctr(storage: &mut ParamStorage, counter_bits: u64, counter_block: [u8; 16]) -> Result<Mechanism<'_>, CK_RV> {
    if !(1..=128).contains(&counter_bits) {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    storage.ctr = CK_AES_CTR_PARAMS { ulCounterBits: counter_bits, cb: counter_block };
    Ok(Mechanism::VendorDefined(VendorDefinedMechanism::new(MechanismType::AES_CTR, Some(&storage.ctr))))
}

/// `CK_EDDSA_PARAMS`, pointing into the wire mechanism's context bytes.
/// (cryptoki 0.12's own EdDSA parameters point at a temporary.)
fn eddsa<'a>(storage: &'a mut ParamStorage, prehash: bool, context: &'a mut [u8]) -> Mechanism<'a> {
    let params = storage.eddsa.insert(CK_EDDSA_PARAMS {
        phFlag: CK_BBOOL::from(prehash),
        ulContextDataLen: context.len() as CK_ULONG,
        pContextData: if context.is_empty() { std::ptr::null_mut() } else { context.as_mut_ptr() },
    });
    Mechanism::VendorDefined(VendorDefinedMechanism::new(MechanismType::EDDSA, Some(&*params)))
}

/// Converts a wire mechanism into cryptoki's, borrowing its parameters
/// from the wire mechanism or from `storage`.
pub fn to_cryptoki<'a>(
    mechanism: &'a mut WireMechanism,
    storage: &'a mut ParamStorage,
) -> Result<Mechanism<'a>, CK_RV> {
    let ty = mechanism.ty;
    let none = matches!(mechanism.param, MechParam::None);
    let no_param = |m: Mechanism<'static>| {
        if none { Ok(m) } else { Err(CKR_MECHANISM_PARAM_INVALID) }
    };
    match (ty, &mut mechanism.param) {
        (CKM_AES_GCM, MechParam::Gcm { iv, aad, tag_bits }) => {
            let params = GcmParams::new(iv.as_mut_slice(), aad.as_slice(), (*tag_bits).into())
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            Ok(Mechanism::AesGcm(params))
        }
        (CKM_AES_CBC, MechParam::Bytes(iv)) => Ok(Mechanism::AesCbc(iv16(iv)?)),
        (CKM_AES_CBC_PAD, MechParam::Bytes(iv)) => Ok(Mechanism::AesCbcPad(iv16(iv)?)),
        (CKM_AES_ECB, _) => no_param(Mechanism::AesEcb),
        (CKM_AES_CTR, MechParam::Ctr { counter_bits, counter_block }) => ctr(storage, *counter_bits, *counter_block),
        (CKM_RSA_PKCS, _) => no_param(Mechanism::RsaPkcs),
        (CKM_SHA1_RSA_PKCS, _) => no_param(Mechanism::Sha1RsaPkcs),
        (CKM_SHA224_RSA_PKCS, _) => no_param(Mechanism::Sha224RsaPkcs),
        (CKM_SHA256_RSA_PKCS, _) => no_param(Mechanism::Sha256RsaPkcs),
        (CKM_SHA384_RSA_PKCS, _) => no_param(Mechanism::Sha384RsaPkcs),
        (CKM_SHA512_RSA_PKCS, _) => no_param(Mechanism::Sha512RsaPkcs),
        (
            CKM_RSA_PKCS_PSS
            | CKM_SHA1_RSA_PKCS_PSS
            | CKM_SHA256_RSA_PKCS_PSS
            | CKM_SHA384_RSA_PKCS_PSS
            | CKM_SHA512_RSA_PKCS_PSS,
            MechParam::Pss { hash: h, mgf: g, salt_len },
        ) => {
            let params = PkcsPssParams { hash_alg: hash(*h)?, mgf: mgf(*g)?, s_len: (*salt_len).into() };
            Ok(match ty {
                CKM_RSA_PKCS_PSS => Mechanism::RsaPkcsPss(params),
                CKM_SHA1_RSA_PKCS_PSS => Mechanism::Sha1RsaPkcsPss(params),
                CKM_SHA256_RSA_PKCS_PSS => Mechanism::Sha256RsaPkcsPss(params),
                CKM_SHA384_RSA_PKCS_PSS => Mechanism::Sha384RsaPkcsPss(params),
                _ => Mechanism::Sha512RsaPkcsPss(params),
            })
        }
        (CKM_RSA_PKCS_OAEP, MechParam::Oaep { hash: h, mgf: g, source_data }) => {
            let source = if source_data.is_empty() {
                PkcsOaepSource::empty()
            } else {
                PkcsOaepSource::data_specified(source_data)
            };
            Ok(Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash(*h)?, mgf(*g)?, source)))
        }
        (CKM_ECDSA, _) => no_param(Mechanism::Ecdsa),
        (CKM_ECDSA_SHA1, _) => no_param(Mechanism::EcdsaSha1),
        (CKM_ECDSA_SHA224, _) => no_param(Mechanism::EcdsaSha224),
        (CKM_ECDSA_SHA256, _) => no_param(Mechanism::EcdsaSha256),
        (CKM_ECDSA_SHA384, _) => no_param(Mechanism::EcdsaSha384),
        (CKM_ECDSA_SHA512, _) => no_param(Mechanism::EcdsaSha512),
        (CKM_AES_CMAC, _) => no_param(Mechanism::AesCMac),
        (CKM_SHA_1_HMAC, _) => no_param(Mechanism::Sha1Hmac),
        (CKM_SHA224_HMAC, _) => no_param(Mechanism::Sha224Hmac),
        (CKM_SHA256_HMAC, _) => no_param(Mechanism::Sha256Hmac),
        (CKM_SHA384_HMAC, _) => no_param(Mechanism::Sha384Hmac),
        (CKM_SHA512_HMAC, _) => no_param(Mechanism::Sha512Hmac),
        (CKM_AES_KEY_WRAP, _) => no_param(Mechanism::AesKeyWrap),
        (CKM_AES_KEY_WRAP_PAD, _) => no_param(Mechanism::AesKeyWrapPad),
        (CKM_EDDSA, MechParam::Eddsa { prehash, context }) => Ok(eddsa(storage, *prehash, context)),
        (CKM_EDDSA, _) => no_param(Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))),
        (CKM_ECDH1_DERIVE, MechParam::Ecdh { kdf, shared_data, public_data }) => {
            let kdf = match (*kdf, shared_data.is_empty()) {
                (CKD_NULL, true) => EcKdf::null(),
                (CKD_SHA1_KDF, _) => EcKdf::sha1(shared_data),
                (CKD_SHA224_KDF, _) => EcKdf::sha224(shared_data),
                (CKD_SHA256_KDF, _) => EcKdf::sha256(shared_data),
                (CKD_SHA384_KDF, _) => EcKdf::sha384(shared_data),
                (CKD_SHA512_KDF, _) => EcKdf::sha512(shared_data),
                _ => return Err(CKR_MECHANISM_PARAM_INVALID),
            };
            Ok(Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(kdf, public_data)))
        }
        (CKM_AES_ECB_ENCRYPT_DATA, MechParam::Bytes(data)) => {
            encrypt_data(data)?;
            let params = storage
                .string_data
                .insert(CK_KEY_DERIVATION_STRING_DATA { pData: data.as_mut_ptr(), ulLen: data.len() as CK_ULONG });
            Ok(Mechanism::VendorDefined(VendorDefinedMechanism::new(unnamed(CKM_AES_ECB_ENCRYPT_DATA), Some(&*params))))
        }
        (CKM_AES_CBC_ENCRYPT_DATA, MechParam::CbcEncryptData { iv, data }) => {
            encrypt_data(data)?;
            Ok(Mechanism::AesCbcEncryptData(AesCbcDeriveParams::new(*iv, data)))
        }
        _ if OPERATION_MECHANISMS.contains(&ty) => Err(CKR_MECHANISM_PARAM_INVALID),
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(mut mechanism: WireMechanism) -> Result<(), CK_RV> {
        to_cryptoki(&mut mechanism, &mut ParamStorage::default()).map(|_| ())
    }

    #[test]
    fn aes_ctr_carries_its_parameter_structure() {
        let mut wire =
            WireMechanism { ty: CKM_AES_CTR, param: MechParam::Ctr { counter_bits: 32, counter_block: [5; 16] } };
        let mut storage = ParamStorage::default();
        let mechanism = to_cryptoki(&mut wire, &mut storage).expect("converts");
        assert_eq!(mechanism.mechanism_type(), MechanismType::AES_CTR);
        let raw = CK_MECHANISM::from(&mechanism);
        assert_eq!(raw.mechanism, CKM_AES_CTR);
        assert_eq!(raw.ulParameterLen as usize, std::mem::size_of::<CK_AES_CTR_PARAMS>());
        // SAFETY: the pointer is to `storage.ctr`, alive and unchanged here.
        let params = unsafe { *(raw.pParameter as *const CK_AES_CTR_PARAMS) };
        assert_eq!((params.ulCounterBits, params.cb), (32, [5; 16]));

        for bits in [0, 129] {
            let bad =
                WireMechanism { ty: CKM_AES_CTR, param: MechParam::Ctr { counter_bits: bits, counter_block: [0; 16] } };
            assert_eq!(convert(bad), Err(CKR_MECHANISM_PARAM_INVALID), "{bits} counter bits");
        }
        assert_eq!(convert(WireMechanism::new(CKM_AES_CTR)), Err(CKR_MECHANISM_PARAM_INVALID));
        let iv_only = WireMechanism { ty: CKM_AES_CTR, param: MechParam::Bytes(vec![0; 16]) };
        assert_eq!(convert(iv_only), Err(CKR_MECHANISM_PARAM_INVALID));
        assert!(OPERATION_MECHANISMS.contains(&CKM_AES_CTR), "offered");
    }

    #[test]
    fn eddsa_parameters_point_into_the_request() {
        let mut wire = WireMechanism { ty: CKM_EDDSA, param: MechParam::Eddsa { prehash: false, context: vec![] } };
        let mut storage = ParamStorage::default();
        let mechanism = to_cryptoki(&mut wire, &mut storage).expect("converts");
        let raw = CK_MECHANISM::from(&mechanism);
        assert_eq!(raw.mechanism, CKM_EDDSA);
        assert_eq!(raw.ulParameterLen as usize, std::mem::size_of::<CK_EDDSA_PARAMS>());
        // SAFETY: the pointer is to `storage.eddsa`, alive and unchanged here.
        let params = unsafe { *(raw.pParameter as *const CK_EDDSA_PARAMS) };
        assert_eq!((params.phFlag, params.ulContextDataLen), (0, 0));
        assert!(params.pContextData.is_null());
        assert!(convert(WireMechanism::new(CKM_EDDSA)).is_ok(), "pure EdDSA needs no parameter");
    }

    #[test]
    fn every_offered_mechanism_has_a_cryptoki_type() {
        for &ty in OPERATION_MECHANISMS.iter().chain(GENERATION_MECHANISMS) {
            let named = mechanism_type(ty).map(CK_MECHANISM_TYPE::from);
            assert_eq!(named, Some(ty), "{ty:#x}");
        }
        // The ones cryptoki's list drops, which must be asked for directly.
        assert!(!listed_by_cryptoki(CKM_SHA224_RSA_PKCS));
        assert!(listed_by_cryptoki(CKM_SHA256_RSA_PKCS));
        assert_eq!(mechanism_type(CKM_VENDOR_DEFINED + 7), None);
        assert_eq!(hash(CKM_SHA224).map(CK_MECHANISM_TYPE::from), Ok(CKM_SHA224));
    }

    #[test]
    fn derivation_by_encryption_takes_whole_blocks() {
        let mut ecb = WireMechanism { ty: CKM_AES_ECB_ENCRYPT_DATA, param: MechParam::Bytes(vec![1; 32]) };
        let mut storage = ParamStorage::default();
        let mechanism = to_cryptoki(&mut ecb, &mut storage).expect("converts");
        let raw = CK_MECHANISM::from(&mechanism);
        assert_eq!(raw.mechanism, CKM_AES_ECB_ENCRYPT_DATA);
        assert_eq!(raw.ulParameterLen as usize, std::mem::size_of::<CK_KEY_DERIVATION_STRING_DATA>());
        // SAFETY: the pointer is to `storage.string_data`, alive here.
        let params = unsafe { *(raw.pParameter as *const CK_KEY_DERIVATION_STRING_DATA) };
        assert_eq!(params.ulLen, 32);
        assert_eq!(
            mechanism_type(CKM_AES_ECB_ENCRYPT_DATA).map(CK_MECHANISM_TYPE::from),
            Some(CKM_AES_ECB_ENCRYPT_DATA)
        );

        let cbc = |data: Vec<u8>| WireMechanism {
            ty: CKM_AES_CBC_ENCRYPT_DATA,
            param: MechParam::CbcEncryptData { iv: [0; 16], data },
        };
        assert!(convert(cbc(vec![2; 16])).is_ok());
        for bad in [vec![], vec![2; 15], vec![2; 17]] {
            assert_eq!(convert(cbc(bad.clone())), Err(CKR_MECHANISM_PARAM_INVALID), "{} bytes", bad.len());
            let ecb = WireMechanism { ty: CKM_AES_ECB_ENCRYPT_DATA, param: MechParam::Bytes(bad) };
            assert_eq!(convert(ecb), Err(CKR_MECHANISM_PARAM_INVALID));
        }
        assert_eq!(convert(WireMechanism::new(CKM_AES_ECB_ENCRYPT_DATA)), Err(CKR_MECHANISM_PARAM_INVALID));
    }

    #[test]
    fn known_mechanisms_convert_and_others_are_refused() {
        let mut gcm =
            WireMechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![0; 12], aad: vec![], tag_bits: 128 } };
        assert!(matches!(to_cryptoki(&mut gcm, &mut ParamStorage::default()), Ok(Mechanism::AesGcm(_))));
        let mut ecdsa = WireMechanism::new(CKM_ECDSA);
        assert!(matches!(to_cryptoki(&mut ecdsa, &mut ParamStorage::default()), Ok(Mechanism::Ecdsa)));
        let mut short_iv = WireMechanism { ty: CKM_AES_CBC_PAD, param: MechParam::Bytes(vec![0; 8]) };
        assert_eq!(to_cryptoki(&mut short_iv, &mut ParamStorage::default()).err(), Some(CKR_MECHANISM_PARAM_INVALID));
        let mut ecdsa_with_param = WireMechanism { ty: CKM_ECDSA, param: MechParam::Bytes(vec![1]) };
        assert_eq!(
            to_cryptoki(&mut ecdsa_with_param, &mut ParamStorage::default()).err(),
            Some(CKR_MECHANISM_PARAM_INVALID)
        );
        let mut des = WireMechanism::new(CKM_DES3_CBC);
        assert_eq!(to_cryptoki(&mut des, &mut ParamStorage::default()).err(), Some(CKR_MECHANISM_INVALID));
        let mut pss = WireMechanism {
            ty: CKM_SHA256_RSA_PKCS_PSS,
            param: MechParam::Pss { hash: CKM_SHA256, mgf: CKG_MGF1_SHA256, salt_len: 32 },
        };
        assert!(matches!(to_cryptoki(&mut pss, &mut ParamStorage::default()), Ok(Mechanism::Sha256RsaPkcsPss(_))));
    }
}
