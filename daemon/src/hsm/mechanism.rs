//! Mechanisms as the data plane carries them, turned into cryptoki's.
//! Only mechanisms the daemon offers are accepted; everything else is
//! `CKR_MECHANISM_INVALID` (or `CKR_MECHANISM_PARAM_INVALID` for a known
//! mechanism with a malformed parameter) before the HSM is asked.

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki_sys::*;

use p11kms_proto::pkcs11::{MechParam, Mechanism as WireMechanism};

/// Mechanisms the data plane offers for operations with existing keys.
pub const OPERATION_MECHANISMS: &[CK_MECHANISM_TYPE] = &[
    CKM_AES_GCM,
    CKM_AES_CBC,
    CKM_AES_CBC_PAD,
    CKM_AES_ECB,
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
];

/// Key generation mechanisms the data plane offers.
pub const GENERATION_MECHANISMS: &[CK_MECHANISM_TYPE] =
    &[CKM_AES_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN];

fn hash(value: u64) -> Result<MechanismType, CK_RV> {
    MechanismType::try_from(value).map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

fn mgf(value: u64) -> Result<PkcsMgfType, CK_RV> {
    PkcsMgfType::try_from(value).map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

fn iv16(iv: &[u8]) -> Result<[u8; 16], CK_RV> {
    iv.try_into().map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

/// Converts a wire mechanism into cryptoki's, borrowing its parameters.
pub fn to_cryptoki(mechanism: &mut WireMechanism) -> Result<Mechanism<'_>, CK_RV> {
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
        _ if OPERATION_MECHANISMS.contains(&ty) => Err(CKR_MECHANISM_PARAM_INVALID),
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_mechanisms_convert_and_others_are_refused() {
        let mut gcm =
            WireMechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![0; 12], aad: vec![], tag_bits: 128 } };
        assert!(matches!(to_cryptoki(&mut gcm), Ok(Mechanism::AesGcm(_))));
        let mut ecdsa = WireMechanism::new(CKM_ECDSA);
        assert!(matches!(to_cryptoki(&mut ecdsa), Ok(Mechanism::Ecdsa)));
        let mut short_iv = WireMechanism { ty: CKM_AES_CBC_PAD, param: MechParam::Bytes(vec![0; 8]) };
        assert_eq!(to_cryptoki(&mut short_iv).err(), Some(CKR_MECHANISM_PARAM_INVALID));
        let mut ecdsa_with_param = WireMechanism { ty: CKM_ECDSA, param: MechParam::Bytes(vec![1]) };
        assert_eq!(to_cryptoki(&mut ecdsa_with_param).err(), Some(CKR_MECHANISM_PARAM_INVALID));
        let mut des = WireMechanism::new(CKM_DES3_CBC);
        assert_eq!(to_cryptoki(&mut des).err(), Some(CKR_MECHANISM_INVALID));
        let mut pss = WireMechanism {
            ty: CKM_SHA256_RSA_PKCS_PSS,
            param: MechParam::Pss { hash: CKM_SHA256, mgf: CKG_MGF1_SHA256, salt_len: 32 },
        };
        assert!(matches!(to_cryptoki(&mut pss), Ok(Mechanism::Sha256RsaPkcsPss(_))));
    }
}
