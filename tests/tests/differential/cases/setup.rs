//! The keys every case uses: generated the same way in each token before
//! the cases run, and found again after a case logged the token out.

use cryptoki_sys::*;

use super::{Keys, P256, m};
use crate::ffi::{M, P11, Template, Tmpl, V, rv_name};

/// Finds the keys every case uses again, by label and class: SoftHSM
/// hands out new handles for private objects after a logout.
pub fn find_keys(p: P11, s: CK_SESSION_HANDLE) -> Option<Keys> {
    let find = |label: &str, class: CK_OBJECT_CLASS| -> Option<CK_OBJECT_HANDLE> {
        let t = Template::new(&[(CKA_LABEL, V::Bytes(label.as_bytes().to_vec())), (CKA_CLASS, V::U(class))]);
        if p.find_init(s, Tmpl::T(&t)) != CKR_OK {
            return None;
        }
        let (rv, found) = p.find(s, Some(2), false);
        let _ = p.find_final(s);
        (rv == CKR_OK && found.len() == 1).then(|| found[0])
    };
    Some(Keys {
        aes: find("diff-aes", CKO_SECRET_KEY)?,
        rsa_sign_pub: find("diff-rsa-sign", CKO_PUBLIC_KEY)?,
        rsa_sign_priv: find("diff-rsa-sign", CKO_PRIVATE_KEY)?,
        rsa_enc_pub: find("diff-rsa-enc", CKO_PUBLIC_KEY)?,
        rsa_enc_priv: find("diff-rsa-enc", CKO_PRIVATE_KEY)?,
        ec_pub: find("diff-ec", CKO_PUBLIC_KEY)?,
        ec_priv: find("diff-ec", CKO_PRIVATE_KEY)?,
    })
}

/// The attributes that make a SoftHSM key look like a KMS key: sensitive,
/// never extractable, no wrapping or derivation, and only the usages asked
/// for (SoftHSM's defaults allow more). p11kms ignores them and sets the
/// same values itself.
fn kms_like(private: bool, usages: &[(CK_ATTRIBUTE_TYPE, bool)]) -> Vec<(CK_ATTRIBUTE_TYPE, V)> {
    let mut list = vec![(CKA_TOKEN, V::B(true))];
    if private {
        list.extend([(CKA_PRIVATE, V::B(true)), (CKA_SENSITIVE, V::B(true)), (CKA_EXTRACTABLE, V::B(false))]);
    }
    list.extend(usages.iter().map(|(t, v)| (*t, V::B(*v))));
    list
}

/// Generates the keys every case uses (not recorded: a failure here is a
/// broken setup and fails the test).
pub fn generate_keys(p: P11, s: CK_SESSION_HANDLE) -> Keys {
    let label = |l: &str| (CKA_LABEL, V::Bytes(l.as_bytes().to_vec()));
    let mut aes = kms_like(
        true,
        &[
            (CKA_ENCRYPT, true),
            (CKA_DECRYPT, true),
            (CKA_SIGN, false),
            (CKA_VERIFY, false),
            (CKA_WRAP, false),
            (CKA_UNWRAP, false),
            (CKA_DERIVE, false),
        ],
    );
    aes.extend([
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_AES)),
        (CKA_VALUE_LEN, V::U(32)),
        label("diff-aes"),
    ]);
    let (rv, aes) = p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&Template::new(&aes)), false);
    assert_eq!(rv, CKR_OK, "AES key: {}", rv_name(rv));
    let pair = |mech: CK_MECHANISM_TYPE,
                name: &str,
                mut public: Vec<(CK_ATTRIBUTE_TYPE, V)>,
                mut private: Vec<(CK_ATTRIBUTE_TYPE, V)>| {
        public.push(label(name));
        private.push(label(name));
        let (rv, a, b) =
            p.generate_key_pair(s, M::M(&m(mech)), Tmpl::T(&Template::new(&public)), Tmpl::T(&Template::new(&private)));
        assert_eq!(rv, CKR_OK, "{name}: {}", rv_name(rv));
        (a, b)
    };
    let rsa_public = |sign: bool| {
        let mut list = kms_like(false, &[(CKA_VERIFY, sign), (CKA_ENCRYPT, !sign), (CKA_WRAP, false)]);
        list.extend([(CKA_MODULUS_BITS, V::U(2048)), (CKA_PUBLIC_EXPONENT, V::Bytes(vec![1, 0, 1]))]);
        list
    };
    let rsa_private = |sign: bool| {
        kms_like(true, &[(CKA_SIGN, sign), (CKA_DECRYPT, !sign), (CKA_UNWRAP, false), (CKA_DERIVE, false)])
    };
    let (rsa_sign_pub, rsa_sign_priv) =
        pair(CKM_RSA_PKCS_KEY_PAIR_GEN, "diff-rsa-sign", rsa_public(true), rsa_private(true));
    let (rsa_enc_pub, rsa_enc_priv) =
        pair(CKM_RSA_PKCS_KEY_PAIR_GEN, "diff-rsa-enc", rsa_public(false), rsa_private(false));
    let mut ec_public =
        kms_like(false, &[(CKA_VERIFY, true), (CKA_ENCRYPT, false), (CKA_WRAP, false), (CKA_DERIVE, false)]);
    ec_public.push((CKA_EC_PARAMS, V::Bytes(P256.to_vec())));
    let ec_private =
        kms_like(true, &[(CKA_SIGN, true), (CKA_DECRYPT, false), (CKA_UNWRAP, false), (CKA_DERIVE, false)]);
    let (ec_pub, ec_priv) = pair(CKM_EC_KEY_PAIR_GEN, "diff-ec", ec_public, ec_private);
    assert_eq!(rv, CKR_OK, "EC pair: {}", rv_name(rv));
    Keys { aes, rsa_sign_pub, rsa_sign_priv, rsa_enc_pub, rsa_enc_priv, ec_pub, ec_priv }
}
