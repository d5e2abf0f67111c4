//! The test's fixtures: a logged-in session on `hsm1` and the keys the
//! checks use, generated through the raw function list.

use std::mem::size_of;
use std::ptr::{from_mut, null_mut};

use cryptoki_sys::*;

use super::p11::{Functions, P11};

/// Generated keys: (AES secret key, RSA sign-only pair, RSA crypt pair, EC
/// sign pair), pairs as (public, private).
pub(crate) struct Keys {
    pub(crate) aes: CK_OBJECT_HANDLE,
    pub(crate) rsa_sign: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
    pub(crate) rsa_crypt: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
    pub(crate) ec: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
}

/// A template attribute whose value is leaked (a test's worth), so that
/// templates can be written inline.
fn attribute<T: 'static>(type_: CK_ATTRIBUTE_TYPE, value: T) -> CK_ATTRIBUTE {
    let len = size_of::<T>() as CK_ULONG;
    CK_ATTRIBUTE { type_, pValue: from_mut(Box::leak(Box::new(value))).cast(), ulValueLen: len }
}

fn bytes(type_: CK_ATTRIBUTE_TYPE, value: &[u8]) -> CK_ATTRIBUTE {
    let value = value.to_vec().leak();
    CK_ATTRIBUTE { type_, pValue: value.as_mut_ptr().cast(), ulValueLen: value.len() as CK_ULONG }
}

pub(crate) fn generate_keys(p: P11) -> Keys {
    const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut aes = 0;
    let mut template = [
        attribute(CKA_TOKEN, CK_TRUE),
        attribute::<CK_ULONG>(CKA_VALUE_LEN, 32),
        attribute(CKA_ENCRYPT, CK_TRUE),
        attribute(CKA_DECRYPT, CK_TRUE),
        bytes(CKA_LABEL, b"conf-aes"),
    ];
    let mut generate = CK_MECHANISM { mechanism: CKM_AES_KEY_GEN, pParameter: null_mut(), ulParameterLen: 0 };
    // SAFETY: every pointer is live and of the stated size.
    let code = unsafe { p.l.C_GenerateKey.unwrap()(p.s, &mut generate, template.as_mut_ptr(), 5, &mut aes) };
    assert_eq!(code, CKR_OK, "AES key");

    let pair = |mechanism, mut public: Vec<CK_ATTRIBUTE>, mut private: Vec<CK_ATTRIBUTE>| {
        let mut generate = CK_MECHANISM { mechanism, pParameter: null_mut(), ulParameterLen: 0 };
        let (mut public_key, mut private_key) = (0, 0);
        // SAFETY: every pointer is live and of the stated size.
        let code = unsafe {
            p.l.C_GenerateKeyPair.unwrap()(
                p.s,
                &mut generate,
                public.as_mut_ptr(),
                public.len() as CK_ULONG,
                private.as_mut_ptr(),
                private.len() as CK_ULONG,
                &mut public_key,
                &mut private_key,
            )
        };
        assert_eq!(code, CKR_OK, "key pair {mechanism:#x}");
        (public_key, private_key)
    };
    let rsa = |usage_public, usage_private, name: &[u8]| {
        pair(
            CKM_RSA_PKCS_KEY_PAIR_GEN,
            vec![
                attribute(CKA_TOKEN, CK_TRUE),
                attribute::<CK_ULONG>(CKA_MODULUS_BITS, 2048),
                attribute(usage_public, CK_TRUE),
            ],
            vec![attribute(CKA_TOKEN, CK_TRUE), attribute(usage_private, CK_TRUE), bytes(CKA_LABEL, name)],
        )
    };
    let rsa_sign = rsa(CKA_VERIFY, CKA_SIGN, b"conf-rsa-sign");
    let rsa_crypt = rsa(CKA_ENCRYPT, CKA_DECRYPT, b"conf-rsa-crypt");
    let ec = pair(
        CKM_EC_KEY_PAIR_GEN,
        vec![attribute(CKA_TOKEN, CK_TRUE), bytes(CKA_EC_PARAMS, &P256), attribute(CKA_VERIFY, CK_TRUE)],
        vec![attribute(CKA_TOKEN, CK_TRUE), attribute(CKA_SIGN, CK_TRUE), bytes(CKA_LABEL, b"conf-ec")],
    );
    Keys { aes, rsa_sign, rsa_crypt, ec }
}

/// A logged-in session on `hsm1`.
pub(crate) fn session(l: Functions, pin: &str) -> P11 {
    let mut slots = [0 as CK_SLOT_ID; 16];
    let mut count = slots.len() as CK_ULONG;
    // SAFETY: `slots` holds `count` entries.
    assert_eq!(unsafe { l.C_GetSlotList.unwrap()(CK_TRUE, slots.as_mut_ptr(), &mut count) }, CKR_OK);
    let slot = slots[..count as usize]
        .iter()
        .copied()
        .find(|&slot| {
            let mut info = CK_TOKEN_INFO::default();
            // SAFETY: `info` is a live local.
            unsafe { l.C_GetTokenInfo.unwrap()(slot, &mut info) == CKR_OK && info.label.starts_with(b"hsm1 ") }
        })
        .expect("the hsm1 token");
    let mut s: CK_SESSION_HANDLE = 0;
    let mut pin = pin.as_bytes().to_vec();
    // SAFETY: every pointer is a live local of the stated size.
    unsafe {
        let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
        assert_eq!(l.C_OpenSession.unwrap()(slot, flags, null_mut(), None, &mut s), CKR_OK);
        assert_eq!(l.C_Login.unwrap()(s, CKU_USER, pin.as_mut_ptr(), pin.len() as CK_ULONG), CKR_OK);
    }
    P11 { l, s }
}
