//! The default slot's mechanisms against the in-memory vault: each
//! mechanism makes the vault call it should (checked with RustCrypto on
//! the public halves, independently of the vault), and each refusal has
//! the return value SoftHSM would give.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::rand_core::OsRng;
use rsa::{BigUint, Oaep, Pkcs1v15Sign, Pss, RsaPublicKey};

use super::*;
use crate::hsm::{PublicKey, VersionName};
use crate::kms::testing::Fixture;
use crate::kms::vault::memory::MemoryVault;

/// A vault holding the software cluster, and a KMS to create versions with.
struct Setup {
    fixture: Fixture,
    vault: MemoryVault,
}

impl Setup {
    fn new() -> Self {
        Self { fixture: Fixture::new(), vault: MemoryVault::new(&[SOFTWARE_CLUSTER]) }
    }

    /// A new version of `spec`, with the flag its operations need.
    fn key(&self, spec: KeySpec) -> (SoftwareKey, Option<PublicKey>) {
        let id = rand::random::<[u8; 16]>();
        let name = VersionName { id, label: "k/v".into(), spec, usage: spec.default_usage() };
        let public = self.vault.create_version(&self.fixture.kms, SOFTWARE_CLUSTER, &name).expect("created");
        (SoftwareKey { id, spec, permitted: true }, public)
    }

    fn run(
        &self,
        key: &SoftwareKey,
        mut mechanism: WireMechanism,
        operation: Crypt<'_>,
    ) -> Result<DataReply, DataError> {
        operate(&self.vault, key, &mut mechanism, operation)
    }

    fn bytes(&self, key: &SoftwareKey, mechanism: WireMechanism, operation: Crypt<'_>) -> Vec<u8> {
        match self.run(key, mechanism, operation) {
            Ok(DataReply::Bytes(bytes)) => bytes,
            Ok(DataReply::Secret(secret)) => secret.expose().to_vec(),
            other => panic!("expected bytes, got {other:?}"),
        }
    }
}

fn gcm(iv_len: usize, aad: &[u8], tag_bits: u64) -> WireMechanism {
    WireMechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![7; iv_len], aad: aad.to_vec(), tag_bits } }
}

fn pss(ty: CK_MECHANISM_TYPE, hash: CK_MECHANISM_TYPE, mgf: u64, salt_len: u64) -> WireMechanism {
    WireMechanism { ty, param: MechParam::Pss { hash, mgf, salt_len } }
}

fn oaep(hash: CK_MECHANISM_TYPE, mgf: u64, label: &[u8]) -> WireMechanism {
    WireMechanism { ty: CKM_RSA_PKCS_OAEP, param: MechParam::Oaep { hash, mgf, source_data: label.to_vec() } }
}

fn rsa_public(public: &Option<PublicKey>) -> RsaPublicKey {
    let Some(PublicKey::Rsa { modulus, exponent }) = public else { panic!("an RSA key") };
    RsaPublicKey::new(BigUint::from_bytes_be(modulus), BigUint::from_bytes_be(exponent)).expect("RSA public key")
}

#[test]
fn aes_gcm_seals_and_opens_with_the_applications_iv_and_aad() {
    let setup = Setup::new();
    let (key, _) = setup.key(KeySpec::Aes256);
    let sealed = setup.bytes(&key, gcm(12, b"header", 128), Crypt::Encrypt(b"plaintext"));
    assert_eq!(sealed.len(), b"plaintext".len() + GCM_TAG_LEN);
    let direct = setup.vault.open(SOFTWARE_CLUSTER, &key.id, &[7; 12], b"header", &sealed).expect("opens");
    assert_eq!(direct.expect("authentic").expose(), b"plaintext", "the vault's own AES-GCM, IV and AAD as given");
    assert_eq!(setup.bytes(&key, gcm(12, b"header", 128), Crypt::Decrypt(&sealed)), b"plaintext");

    let mut tampered = sealed.clone();
    *tampered.last_mut().expect("tag") ^= 1;
    assert_eq!(
        setup.run(&key, gcm(12, b"header", 128), Crypt::Decrypt(&tampered)),
        Err(rv(CKR_ENCRYPTED_DATA_INVALID))
    );
    assert_eq!(setup.run(&key, gcm(12, b"other", 128), Crypt::Decrypt(&sealed)), Err(rv(CKR_ENCRYPTED_DATA_INVALID)));
    assert_eq!(setup.run(&key, gcm(12, b"", 128), Crypt::Decrypt(&[0; 15])), Err(rv(CKR_ENCRYPTED_DATA_LEN_RANGE)));
    for refused in [gcm(16, b"", 128), gcm(0, b"", 128), gcm(12, b"", 96), WireMechanism::new(CKM_AES_GCM)] {
        assert_eq!(setup.run(&key, refused, Crypt::Encrypt(b"x")), Err(rv(CKR_MECHANISM_PARAM_INVALID)));
    }
    let (short, _) = setup.key(KeySpec::Aes128);
    let sealed = setup.bytes(&short, gcm(12, b"", 128), Crypt::Encrypt(b"AES-128 too"));
    assert_eq!(setup.bytes(&short, gcm(12, b"", 128), Crypt::Decrypt(&sealed)), b"AES-128 too");
}

#[test]
fn ecdsa_signs_digests_on_both_curves() {
    let setup = Setup::new();
    let (key, public) = setup.key(KeySpec::EcP256);
    let Some(PublicKey::Ec { point, .. }) = &public else { panic!("an EC key") };
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point[2..]).expect("P-256 point");
    let signature = setup.bytes(&key, WireMechanism::new(CKM_ECDSA_SHA256), Crypt::Sign(b"message"));
    assert_eq!(signature.len(), ECDSA_SIGNATURE_LEN, "raw r || s");
    let digest = Sha256::digest(b"message");
    let parsed = p256::ecdsa::Signature::from_slice(&signature).expect("r || s");
    assert!(verifying.verify_prehash(&digest, &parsed).is_ok(), "a P-256 signature of SHA-256(message)");
    // Plain ECDSA over the digest is the same signature scheme.
    assert_eq!(setup.run(&key, WireMechanism::new(CKM_ECDSA), Crypt::Verify(&digest, &signature)), Ok(DataReply::Done));
    let raw = setup.bytes(&key, WireMechanism::new(CKM_ECDSA), Crypt::Sign(&digest));
    assert!(verifying.verify_prehash(&digest, &p256::ecdsa::Signature::from_slice(&raw).expect("r || s")).is_ok());

    let mut bad = signature.clone();
    bad[10] ^= 1;
    let verify = |mechanism, data: &[u8], signature: &[u8]| setup.run(&key, mechanism, Crypt::Verify(data, signature));
    assert_eq!(verify(WireMechanism::new(CKM_ECDSA_SHA256), b"message", &bad), Err(rv(CKR_SIGNATURE_INVALID)));
    assert_eq!(verify(WireMechanism::new(CKM_ECDSA_SHA256), b"other", &signature), Err(rv(CKR_SIGNATURE_INVALID)));
    assert_eq!(
        verify(WireMechanism::new(CKM_ECDSA_SHA256), b"message", &signature[1..]),
        Err(rv(CKR_SIGNATURE_LEN_RANGE))
    );
    assert_eq!(setup.run(&key, WireMechanism::new(CKM_ECDSA), Crypt::Sign(&[1; 8])), Err(rv(CKR_DATA_LEN_RANGE)));
    let with_param = WireMechanism { ty: CKM_ECDSA, param: MechParam::Bytes(vec![1]) };
    assert_eq!(setup.run(&key, with_param, Crypt::Sign(&digest)), Err(rv(CKR_MECHANISM_PARAM_INVALID)));

    let (k1, public) = setup.key(KeySpec::EcP256K);
    let Some(PublicKey::Ec { point, .. }) = &public else { panic!("an EC key") };
    let verifying = k256::ecdsa::VerifyingKey::from_sec1_bytes(&point[2..]).expect("secp256k1 point");
    for ty in [CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512] {
        let signature = setup.bytes(&k1, WireMechanism::new(ty), Crypt::Sign(b"m"));
        assert_eq!(setup.run(&k1, WireMechanism::new(ty), Crypt::Verify(b"m", &signature)), Ok(DataReply::Done));
    }
    let signature = setup.bytes(&k1, WireMechanism::new(CKM_ECDSA_SHA256), Crypt::Sign(b"m"));
    let parsed = k256::ecdsa::Signature::from_slice(&signature).expect("r || s");
    assert!(verifying.verify_prehash(&Sha256::digest(b"m"), &parsed).is_ok());
}

#[test]
fn rsa_signatures_pkcs1_and_pss() {
    let setup = Setup::new();
    let (key, public) = setup.key(KeySpec::Rsa2048);
    let rsa = rsa_public(&public);
    // The hashing mechanisms: the daemon hashes and builds the DigestInfo.
    let hashed = [
        (CKM_SHA224_RSA_PKCS, Pkcs1v15Sign::new::<Sha224>(), Sha224::digest(b"m").to_vec()),
        (CKM_SHA256_RSA_PKCS, Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(b"m").to_vec()),
        (CKM_SHA384_RSA_PKCS, Pkcs1v15Sign::new::<Sha384>(), Sha384::digest(b"m").to_vec()),
        (CKM_SHA512_RSA_PKCS, Pkcs1v15Sign::new::<Sha512>(), Sha512::digest(b"m").to_vec()),
    ];
    for (ty, scheme, digest) in hashed {
        let signature = setup.bytes(&key, WireMechanism::new(ty), Crypt::Sign(b"m"));
        assert!(rsa.verify(scheme, &digest, &signature).is_ok(), "mechanism {ty:#x}");
        assert_eq!(setup.run(&key, WireMechanism::new(ty), Crypt::Verify(b"m", &signature)), Ok(DataReply::Done));
    }
    let sha1 = setup.bytes(&key, WireMechanism::new(CKM_SHA1_RSA_PKCS), Crypt::Sign(b"m"));
    let info = [Hash::Sha1.digest_info_prefix(), &Sha1::digest(b"m")].concat();
    assert!(rsa.verify(Pkcs1v15Sign::new_unprefixed(), &info, &sha1).is_ok());

    // CKM_RSA_PKCS signs the caller's DigestInfo as it is: the same
    // (deterministic) signature as the hashing mechanism's.
    let info = Hash::Sha256.digest_info(b"m");
    let raw = setup.bytes(&key, WireMechanism::new(CKM_RSA_PKCS), Crypt::Sign(&info));
    assert_eq!(raw, setup.bytes(&key, WireMechanism::new(CKM_SHA256_RSA_PKCS), Crypt::Sign(b"m")));
    assert_eq!(setup.run(&key, WireMechanism::new(CKM_RSA_PKCS), Crypt::Sign(&[1; 246])), Err(rv(CKR_DATA_LEN_RANGE)));
    let verify = |mechanism, signature: &[u8]| setup.run(&key, mechanism, Crypt::Verify(&info, signature));
    let mut bad = raw.clone();
    bad[0] ^= 1;
    assert_eq!(verify(WireMechanism::new(CKM_RSA_PKCS), &bad), Err(rv(CKR_SIGNATURE_INVALID)));
    assert_eq!(verify(WireMechanism::new(CKM_RSA_PKCS), &raw[1..]), Err(rv(CKR_SIGNATURE_LEN_RANGE)));
    let with_param = WireMechanism { ty: CKM_SHA256_RSA_PKCS, param: MechParam::Bytes(vec![0]) };
    assert_eq!(setup.run(&key, with_param, Crypt::Sign(b"m")), Err(rv(CKR_MECHANISM_PARAM_INVALID)));

    // PSS: SHA-256, MGF1-SHA256, 32-byte salt only.
    let good = |ty| pss(ty, CKM_SHA256, CKG_MGF1_SHA256, 32);
    let digest = Sha256::digest(b"m");
    for (ty, data) in [(CKM_SHA256_RSA_PKCS_PSS, &b"m"[..]), (CKM_RSA_PKCS_PSS, &digest[..])] {
        let signature = setup.bytes(&key, good(ty), Crypt::Sign(data));
        assert!(rsa.verify(Pss::new::<Sha256>(), &digest, &signature).is_ok(), "mechanism {ty:#x}");
        assert_eq!(setup.run(&key, good(ty), Crypt::Verify(data, &signature)), Ok(DataReply::Done));
    }
    assert_eq!(setup.run(&key, good(CKM_RSA_PKCS_PSS), Crypt::Sign(&digest[..20])), Err(rv(CKR_DATA_LEN_RANGE)));
    for refused in [
        pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 20),
        pss(CKM_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 32),
        pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA1, 32),
        WireMechanism::new(CKM_SHA256_RSA_PKCS_PSS),
    ] {
        assert_eq!(setup.run(&key, refused, Crypt::Sign(&digest)), Err(rv(CKR_MECHANISM_PARAM_INVALID)));
    }
}

#[test]
fn rsa_oaep_with_sha1_or_sha256_and_no_label() {
    let setup = Setup::new();
    let (key, public) = setup.key(KeySpec::Rsa3072);
    let rsa = rsa_public(&public);
    for (hash, mgf) in [(CKM_SHA_1, CKG_MGF1_SHA1), (CKM_SHA256, CKG_MGF1_SHA256)] {
        let sealed = setup.bytes(&key, oaep(hash, mgf, b""), Crypt::Encrypt(b"secret"));
        assert_eq!(sealed.len(), 384);
        assert_eq!(setup.bytes(&key, oaep(hash, mgf, b""), Crypt::Decrypt(&sealed)), b"secret");
    }
    // Encrypted elsewhere with the public key: the standard OAEP.
    let elsewhere = rsa.encrypt(&mut OsRng, Oaep::new::<Sha256>(), b"from outside").expect("encrypts");
    let decrypted = setup.bytes(&key, oaep(CKM_SHA256, CKG_MGF1_SHA256, b""), Crypt::Decrypt(&elsewhere));
    assert_eq!(decrypted, b"from outside");

    let sha256 = || oaep(CKM_SHA256, CKG_MGF1_SHA256, b"");
    assert_eq!(setup.run(&key, sha256(), Crypt::Decrypt(&[1; 384])), Err(rv(CKR_ENCRYPTED_DATA_INVALID)));
    assert_eq!(setup.run(&key, sha256(), Crypt::Decrypt(&elsewhere[1..])), Err(rv(CKR_ENCRYPTED_DATA_LEN_RANGE)));
    assert!(setup.run(&key, sha256(), Crypt::Encrypt(&[0; 318])).is_ok(), "k - 2 hLen - 2 bytes fit");
    assert_eq!(setup.run(&key, sha256(), Crypt::Encrypt(&[0; 319])), Err(rv(CKR_DATA_LEN_RANGE)));
    for refused in [
        oaep(CKM_SHA256, CKG_MGF1_SHA256, b"label"),
        oaep(CKM_SHA256, CKG_MGF1_SHA1, b""),
        oaep(CKM_SHA512, CKG_MGF1_SHA512, b""),
        WireMechanism::new(CKM_RSA_PKCS_OAEP),
    ] {
        assert_eq!(setup.run(&key, refused, Crypt::Encrypt(b"x")), Err(rv(CKR_MECHANISM_PARAM_INVALID)));
    }
}

#[test]
fn other_mechanisms_wrong_keys_and_missing_flags_are_refused() {
    let setup = Setup::new();
    let (aes, _) = setup.key(KeySpec::Aes256);
    let (ec, _) = setup.key(KeySpec::EcP256);
    let digest = [1; 32];
    let cases = [
        // Mechanisms the slot does not have, or not for this function.
        (aes, WireMechanism { ty: CKM_AES_CBC_PAD, param: MechParam::Bytes(vec![0; 16]) }, true, CKR_MECHANISM_INVALID),
        (aes, WireMechanism::new(CKM_AES_ECB), true, CKR_MECHANISM_INVALID),
        (ec, WireMechanism::new(CKM_ECDSA), true, CKR_MECHANISM_INVALID),
        (ec, pss(CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, 48), false, CKR_MECHANISM_INVALID),
        (ec, WireMechanism::new(CKM_EDDSA), false, CKR_MECHANISM_INVALID),
        (aes, gcm(12, b"", 128), false, CKR_MECHANISM_INVALID),
        // A mechanism for another key type.
        (ec, gcm(12, b"", 128), true, CKR_KEY_TYPE_INCONSISTENT),
        (aes, WireMechanism::new(CKM_ECDSA), false, CKR_KEY_TYPE_INCONSISTENT),
        (ec, WireMechanism::new(CKM_SHA256_RSA_PKCS), false, CKR_KEY_TYPE_INCONSISTENT),
        (aes, oaep(CKM_SHA256, CKG_MGF1_SHA256, b""), true, CKR_KEY_TYPE_INCONSISTENT),
        // The object lacks the function's flag.
        (SoftwareKey { permitted: false, ..ec }, WireMechanism::new(CKM_ECDSA), false, CKR_KEY_FUNCTION_NOT_PERMITTED),
        (SoftwareKey { permitted: false, ..aes }, gcm(12, b"", 128), true, CKR_KEY_FUNCTION_NOT_PERMITTED),
        // Both wrong: the key type is reported first, as at `…Init`.
        (SoftwareKey { permitted: false, ..ec }, gcm(12, b"", 128), true, CKR_KEY_TYPE_INCONSISTENT),
    ];
    for (key, mechanism, crypt, expected) in cases {
        let ty = mechanism.ty;
        let operation = if crypt { Crypt::Encrypt(&digest) } else { Crypt::Sign(&digest) };
        assert_eq!(setup.run(&key, mechanism, operation), Err(rv(expected)), "mechanism {ty:#x} on {:?}", key.spec);
    }
}

#[test]
fn the_token_lists_what_operate_does() {
    let listed = mechanisms();
    for info in &listed {
        assert_eq!(info.flags & CKF_HW, 0, "{:#x} is software", info.ty);
        let signs = kind(info.ty, &Crypt::Sign(b"")).is_some();
        let crypts = kind(info.ty, &Crypt::Encrypt(b"")).is_some();
        assert_eq!(signs, info.flags & (CKF_SIGN | CKF_VERIFY) != 0, "{:#x}", info.ty);
        let envelope = info.ty == CKM_P11KMS_ENVELOPE;
        assert_eq!(crypts || envelope, info.flags & (CKF_ENCRYPT | CKF_DECRYPT) != 0, "{:#x}", info.ty);
    }
    // Every mechanism `operate` takes is listed, with the flags it takes.
    for ty in 0..0x2000 {
        for (operation, flag) in [(Crypt::Sign(b""), CKF_SIGN), (Crypt::Encrypt(b""), CKF_ENCRYPT)] {
            if kind(ty, &operation).is_some() {
                assert!(listed.iter().any(|i| i.ty == ty && i.flags & flag != 0), "{ty:#x} is not listed");
            }
        }
    }
}

#[test]
fn digest_info_prefixes_are_rfc_8017s() {
    assert_eq!(Hash::Sha224.digest_info_prefix(), &Pkcs1v15Sign::new::<Sha224>().prefix[..]);
    assert_eq!(Hash::Sha256.digest_info_prefix(), &Pkcs1v15Sign::new::<Sha256>().prefix[..]);
    assert_eq!(Hash::Sha384.digest_info_prefix(), &Pkcs1v15Sign::new::<Sha384>().prefix[..]);
    assert_eq!(Hash::Sha512.digest_info_prefix(), &Pkcs1v15Sign::new::<Sha512>().prefix[..]);
    assert_eq!(
        Hash::Sha256.digest_info(b"abc"),
        crate::encoding::signature::pkcs1_sha256_digest_info(&Sha256::digest(b"abc")).expect("32 bytes")
    );
    // SHA-1: OID 1.3.14.3.2.26, a 20-byte digest.
    let sha1 = Hash::Sha1.digest_info(b"abc");
    assert_eq!(sha1.len(), 35);
    assert_eq!(&sha1[6..11], &[0x2b, 0x0e, 0x03, 0x02, 0x1a]);
}

#[test]
fn random_bytes_come_from_the_vault() {
    let setup = Setup::new();
    match random(&setup.vault, 48) {
        Ok(DataReply::Secret(bytes)) => assert_eq!(bytes.expose().len(), 48),
        other => panic!("expected random bytes, got {other:?}"),
    }
    let elsewhere = MemoryVault::new(&["c1"]);
    assert!(random(&elsewhere, 8).is_err(), "only the software cluster's generator");
}
