//! Mechanism parameters checked at `…Init`.
//!
//! `…Init` makes no round trip (see [`crate::operations`]), so without
//! these checks a parameter the daemon or the HSM refuses would surface
//! only at the single-part or final call, after the application believed
//! the operation started. PKCS#11 refuses a malformed parameter at `…Init`
//! with `CKR_MECHANISM_PARAM_INVALID`, and a refused `…Init` starts no
//! operation. The boundary (`p11kms_ffi`'s `mechanism.rs`) already
//! refused structures of the wrong size or with bad pointers; this file
//! judges the values, for the mechanisms the daemon offers. Mechanisms it
//! does not know here (the vendor envelope mechanism) are the daemon's to
//! judge.

use p11kms_ffi::sys::{
    CK_MECHANISM_TYPE, CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKM_AES_CBC,
    CKM_AES_CBC_PAD, CKM_AES_CMAC, CKM_AES_CTR, CKM_AES_ECB, CKM_AES_GCM, CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224,
    CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_RSA_PKCS, CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS_PSS, CKM_SHA_1,
    CKM_SHA_1_HMAC, CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224, CKM_SHA224_HMAC, CKM_SHA224_RSA_PKCS,
    CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384,
    CKM_SHA384_HMAC, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512, CKM_SHA512_HMAC, CKM_SHA512_RSA_PKCS,
    CKM_SHA512_RSA_PKCS_PSS, CKR_MECHANISM_PARAM_INVALID,
};
use p11kms_proto::pkcs11::{MechParam, Mechanism};

use crate::error::{Error, Result};

/// The AES block, and so the IV of CBC.
const AES_BLOCK: usize = 16;

/// GCM tag lengths NIST SP 800-38D allows, in bits. PKCS#11 only bounds
/// `ulTagBits` by 128; a tag of 0 or 8 bits authenticates nothing.
const GCM_TAG_BITS: [u64; 7] = [32, 64, 96, 104, 112, 120, 128];

/// The longest GCM IV taken. PKCS#11 allows up to 2^32 − 1 bytes; 12 is
/// the recommended length, and no client passes more than a block or two.
const MAX_GCM_IV: usize = 256;

/// Refuses a parameter `mechanism` cannot take, with
/// `CKR_MECHANISM_PARAM_INVALID`.
pub fn check(mechanism: &Mechanism) -> Result<()> {
    if valid(mechanism.ty, &mechanism.param) { Ok(()) } else { Err(Error::rv(CKR_MECHANISM_PARAM_INVALID)) }
}

fn valid(ty: CK_MECHANISM_TYPE, param: &MechParam) -> bool {
    match (ty, param) {
        (CKM_AES_CBC | CKM_AES_CBC_PAD, MechParam::Bytes(iv)) => iv.len() == AES_BLOCK,
        (CKM_AES_CBC | CKM_AES_CBC_PAD, _) => false,
        (CKM_AES_CTR, MechParam::Ctr { counter_bits, .. }) => (1..=128).contains(counter_bits),
        (CKM_AES_CTR, _) => false,
        (CKM_AES_GCM, MechParam::Gcm { iv, tag_bits, .. }) => {
            (1..=MAX_GCM_IV).contains(&iv.len()) && GCM_TAG_BITS.contains(tag_bits)
        }
        (CKM_AES_GCM, _) => false,
        (CKM_RSA_PKCS_OAEP, MechParam::Oaep { hash, mgf, .. }) => hash_of(*hash) && mgf_of(*mgf),
        (CKM_RSA_PKCS_OAEP, _) => false,
        (CKM_RSA_PKCS_PSS, MechParam::Pss { hash, mgf, .. }) => hash_of(*hash) && mgf_of(*mgf),
        (_, MechParam::Pss { hash, mgf, .. }) => pss_hash(ty).is_some_and(|h| h == *hash) && mgf_of(*mgf),
        (ty, _) if pss_hash(ty).is_some() => false,
        (ty, param) if takes_none(ty) => *param == MechParam::None,
        _ => true,
    }
}

/// A hash OAEP and PSS can name.
fn hash_of(hash: CK_MECHANISM_TYPE) -> bool {
    matches!(hash, CKM_SHA_1 | CKM_SHA224 | CKM_SHA256 | CKM_SHA384 | CKM_SHA512)
}

/// A mask generation function OAEP and PSS can name.
fn mgf_of(mgf: u64) -> bool {
    matches!(mgf, CKG_MGF1_SHA1 | CKG_MGF1_SHA224 | CKG_MGF1_SHA256 | CKG_MGF1_SHA384 | CKG_MGF1_SHA512)
}

/// The hash a hashing PSS mechanism uses: its parameter must name the same
/// (PKCS#11 §2.1.14 of the current mechanisms).
fn pss_hash(ty: CK_MECHANISM_TYPE) -> Option<CK_MECHANISM_TYPE> {
    match ty {
        CKM_SHA1_RSA_PKCS_PSS => Some(CKM_SHA_1),
        CKM_SHA224_RSA_PKCS_PSS => Some(CKM_SHA224),
        CKM_SHA256_RSA_PKCS_PSS => Some(CKM_SHA256),
        CKM_SHA384_RSA_PKCS_PSS => Some(CKM_SHA384),
        CKM_SHA512_RSA_PKCS_PSS => Some(CKM_SHA512),
        _ => None,
    }
}

/// Mechanisms PKCS#11 defines without a parameter.
fn takes_none(ty: CK_MECHANISM_TYPE) -> bool {
    matches!(
        ty,
        CKM_AES_ECB
            | CKM_AES_CMAC
            | CKM_RSA_PKCS
            | CKM_SHA1_RSA_PKCS
            | CKM_SHA224_RSA_PKCS
            | CKM_SHA256_RSA_PKCS
            | CKM_SHA384_RSA_PKCS
            | CKM_SHA512_RSA_PKCS
            | CKM_ECDSA
            | CKM_ECDSA_SHA1
            | CKM_ECDSA_SHA224
            | CKM_ECDSA_SHA256
            | CKM_ECDSA_SHA384
            | CKM_ECDSA_SHA512
            | CKM_SHA_1_HMAC
            | CKM_SHA224_HMAC
            | CKM_SHA256_HMAC
            | CKM_SHA384_HMAC
            | CKM_SHA512_HMAC
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ty: CK_MECHANISM_TYPE, param: MechParam) -> bool {
        check(&Mechanism { ty, param }).is_ok()
    }

    fn gcm(iv_len: usize, tag_bits: u64) -> MechParam {
        MechParam::Gcm { iv: vec![0; iv_len], aad: Vec::new(), tag_bits }
    }

    #[test]
    fn cbc_takes_exactly_one_block_of_iv() {
        for ty in [CKM_AES_CBC, CKM_AES_CBC_PAD] {
            assert!(ok(ty, MechParam::Bytes(vec![0; 16])));
            assert!(!ok(ty, MechParam::Bytes(vec![0; 8])), "an 8-byte IV");
            assert!(!ok(ty, MechParam::Bytes(vec![0; 17])));
            assert!(!ok(ty, MechParam::None), "no IV");
        }
    }

    #[test]
    fn ctr_counter_bits_are_one_to_128() {
        let ctr = |counter_bits| MechParam::Ctr { counter_bits, counter_block: [0; 16] };
        assert!(ok(CKM_AES_CTR, ctr(1)));
        assert!(ok(CKM_AES_CTR, ctr(128)));
        assert!(!ok(CKM_AES_CTR, ctr(0)));
        assert!(!ok(CKM_AES_CTR, ctr(129)));
        assert!(!ok(CKM_AES_CTR, MechParam::None));
    }

    #[test]
    fn gcm_iv_and_tag() {
        assert!(ok(CKM_AES_GCM, gcm(12, 128)));
        assert!(ok(CKM_AES_GCM, gcm(16, 96)));
        assert!(!ok(CKM_AES_GCM, gcm(0, 128)), "no IV");
        assert!(!ok(CKM_AES_GCM, gcm(257, 128)));
        for bits in [0, 8, 100, 136] {
            assert!(!ok(CKM_AES_GCM, gcm(12, bits)), "{bits} tag bits");
        }
        assert!(!ok(CKM_AES_GCM, MechParam::None));
    }

    #[test]
    fn oaep_and_pss_name_known_hashes() {
        let oaep = |hash, mgf| MechParam::Oaep { hash, mgf, source_data: Vec::new() };
        let pss = |hash, mgf| MechParam::Pss { hash, mgf, salt_len: 32 };
        assert!(ok(CKM_RSA_PKCS_OAEP, oaep(CKM_SHA256, CKG_MGF1_SHA256)));
        assert!(!ok(CKM_RSA_PKCS_OAEP, oaep(CKM_SHA256, 0x77)), "unknown MGF");
        assert!(!ok(CKM_RSA_PKCS_OAEP, oaep(CKM_AES_ECB, CKG_MGF1_SHA1)), "not a hash");
        assert!(!ok(CKM_RSA_PKCS_OAEP, MechParam::None));
        assert!(ok(CKM_RSA_PKCS_PSS, pss(CKM_SHA384, CKG_MGF1_SHA384)));
        assert!(ok(CKM_SHA256_RSA_PKCS_PSS, pss(CKM_SHA256, CKG_MGF1_SHA256)));
        assert!(!ok(CKM_SHA256_RSA_PKCS_PSS, pss(CKM_SHA_1, CKG_MGF1_SHA256)), "not the mechanism's hash");
        assert!(!ok(CKM_SHA256_RSA_PKCS_PSS, pss(CKM_SHA256, 0x77)));
        assert!(!ok(CKM_SHA256_RSA_PKCS_PSS, MechParam::None));
    }

    #[test]
    fn parameterless_mechanisms_take_none() {
        assert!(ok(CKM_ECDSA, MechParam::None));
        assert!(!ok(CKM_ECDSA, MechParam::Bytes(vec![1])));
        assert!(!ok(CKM_SHA256_HMAC, MechParam::Ulong(16)));
        assert!(ok(0x8000_0001, MechParam::Bytes(b"{}".to_vec())), "vendor mechanisms are the daemon's");
    }
}
