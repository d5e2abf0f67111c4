//! Cases of class `Normal` (normal arguments) of the cryptographic
//! functions: digests (also of a key), random numbers, encryption round
//! trips, single- and multi-part, signatures, invalid ciphertexts and
//! signatures, wrapping and derivation.

use cryptoki_sys::*;

use super::common::{ec_templates, sign_and_verify};
use super::{DATA20, DATA32, HASH32, IV12, IV16, MSG, P256, Run, cbc, cbc_pad, ecb, gcm, m, oaep_sha1, pss_sha256};
use crate::ffi::{Fin, In, Init, Io, M, Mech, Out, Template, Tmpl, Upd, V};

// ---------------------------------------------------------------- digest, random

const DIGESTS: [(&str, CK_MECHANISM_TYPE); 5] = [
    ("SHA_1", CKM_SHA_1),
    ("SHA224", CKM_SHA224),
    ("SHA256", CKM_SHA256),
    ("SHA384", CKM_SHA384),
    ("SHA512", CKM_SHA512),
];

pub(super) fn digest(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for (name, ty) in DIGESTS {
        r.rv(format!("C_DigestInit({name})"), p.digest_init(s, M::M(&m(ty))));
        r.got_bytes(format!("C_Digest({name}, msg)"), p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    }
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got_bytes("C_Digest(SHA256, empty)", p.io(Io::Digest, s, In::B(b""), Out::Cap(64)));
    r.got("C_Digest(no operation)", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DigestInit(SHA256) again", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got_bytes("C_Digest after double init", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    r.rv("C_DigestInit(NULL mechanism)", p.digest_init(s, M::Null));
    r.rv("C_DigestInit(AES_ECB)", p.digest_init(s, M::M(&ecb())));
    let with_param = Mech::bytes(CKM_SHA256, &[0; 8]);
    r.rv("C_DigestInit(SHA256 with a parameter)", p.digest_init(s, M::M(&with_param)));
    r.got_bytes("C_Digest after parameter", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
}

pub(super) fn digest_multipart(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for (name, ty) in DIGESTS {
        r.rv(format!("C_DigestInit({name})"), p.digest_init(s, M::M(&m(ty))));
        r.rv(format!("C_DigestUpdate({name}, part 1)"), p.upd(Upd::DigestUpdate, s, In::B(&MSG[..10])));
        r.rv(format!("C_DigestUpdate({name}, empty)"), p.upd(Upd::DigestUpdate, s, In::B(b"")));
        r.rv(format!("C_DigestUpdate({name}, part 2)"), p.upd(Upd::DigestUpdate, s, In::B(&MSG[10..])));
        r.got_bytes(format!("C_DigestFinal({name})"), p.fin(Fin::Digest, s, Out::Cap(64)));
    }
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DigestUpdate", p.upd(Upd::DigestUpdate, s, In::B(MSG)));
    r.got("C_Digest after update", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    r.got_bytes("C_DigestFinal after single-part try", p.fin(Fin::Digest, s, Out::Cap(64)));
    r.got("C_DigestFinal(no operation)", p.fin(Fin::Digest, s, Out::Cap(64)));
    r.rv("C_DigestUpdate(no operation)", p.upd(Upd::DigestUpdate, s, In::B(MSG)));
}

pub(super) fn digest_key(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DigestKey(KMS AES, sensitive)", p.digest_key(s, r.k.aes));
    r.got("C_DigestFinal after DigestKey", p.fin(Fin::Digest, s, Out::Cap(64)));
    let (rv, session_key) = p.generate_key(
        s,
        M::M(&m(CKM_AES_KEY_GEN)),
        Tmpl::T(&Template::new(&[
            (CKA_VALUE_LEN, V::U(32)),
            (CKA_TOKEN, V::B(false)),
            (CKA_SENSITIVE, V::B(false)),
            (CKA_EXTRACTABLE, V::B(true)),
        ])),
        false,
    );
    r.rv("C_GenerateKey(session AES, not sensitive)", rv);
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DigestKey(session AES, not sensitive)", p.digest_key(s, session_key));
    r.got("C_DigestFinal after DigestKey", p.fin(Fin::Digest, s, Out::Cap(64)));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DigestKey(handle 0)", p.digest_key(s, 0));
    r.rv("C_DigestKey(no operation)", p.digest_key(r.t.main, r.k.aes));
}

pub(super) fn random(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for n in [1, 32, 4096] {
        let (rv, bytes) = p.generate_random(s, n, false);
        // One random byte is 0 once in 256 runs: only long outputs say more
        // than their length.
        let nonzero = n < 32 || bytes.iter().any(|&b| b != 0);
        r.ob(format!("C_GenerateRandom({n})"), rv, format!("len={} nonzero={nonzero}", bytes.len()));
    }
    r.rv("C_GenerateRandom(real buffer, 0)", p.generate_random(s, 0, false).0);
    r.rv("C_SeedRandom(16 bytes)", p.upd(Upd::SeedRandom, s, In::B(&[9; 16])));
    let ro = r.ro();
    r.rv("C_GenerateRandom(RO session)", p.generate_random(ro, 16, false).0);
}

// ---------------------------------------------------------------- crypto

/// Encrypts `data` with `enc_key` and decrypts it with `dec_key`
/// (single-part, a 512-byte buffer), recording the lengths and that the
/// plaintext came back.
fn round_trip(
    r: &mut Run<'_>,
    name: &str,
    mech: &Mech,
    enc_key: CK_OBJECT_HANDLE,
    dec_key: CK_OBJECT_HANDLE,
    data: &[u8],
) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("C_EncryptInit({name})"), p.init(Init::Encrypt, s, M::M(mech), enc_key));
    let ct =
        r.got(format!("C_Encrypt({name}, {} bytes)", data.len()), p.io(Io::Encrypt, s, In::B(data), Out::Cap(512)));
    r.rv(format!("C_DecryptInit({name})"), p.init(Init::Decrypt, s, M::M(mech), dec_key));
    r.got_eq(format!("C_Decrypt({name})"), p.io(Io::Decrypt, s, In::B(&ct.bytes), Out::Cap(512)), data);
}

pub(super) fn aes_roundtrip(r: &mut Run<'_>) {
    let aes = r.k.aes;
    round_trip(r, "AES_ECB", &ecb(), aes, aes, &DATA32);
    round_trip(r, "AES_CBC", &cbc(), aes, aes, &DATA32);
    round_trip(r, "AES_CBC_PAD", &cbc_pad(), aes, aes, &DATA20);
    round_trip(r, "AES_CBC_PAD empty", &cbc_pad(), aes, aes, b"");
    round_trip(r, "AES_CTR", &Mech::ctr(128), aes, aes, &DATA20);
    round_trip(r, "AES_CTR 32 counter bits", &Mech::ctr(32), aes, aes, &DATA20);
    round_trip(r, "AES_GCM", &gcm(), aes, aes, &DATA20);
    round_trip(r, "AES_GCM with AAD", &Mech::gcm(&IV12, b"header", 128), aes, aes, &DATA20);
    round_trip(r, "AES_GCM 96-bit tag", &Mech::gcm(&IV12, b"", 96), aes, aes, &DATA20);
    round_trip(r, "AES_GCM 16-byte IV", &Mech::gcm(&IV16, b"", 128), aes, aes, &DATA20);
    round_trip(r, "AES_GCM empty", &gcm(), aes, aes, b"");
}

pub(super) fn aes_multipart(r: &mut Run<'_>) {
    let p = r.p;
    let aes = r.k.aes;
    for (name, mech, data) in [
        ("AES_ECB", ecb(), &DATA32[..]),
        ("AES_CBC", cbc(), &DATA32[..]),
        ("AES_CBC_PAD", cbc_pad(), &DATA20[..]),
        ("AES_CTR", Mech::ctr(128), &DATA20[..]),
        ("AES_GCM", gcm(), &DATA20[..]),
    ] {
        let s = r.s();
        r.rv(format!("C_EncryptInit({name})"), p.init(Init::Encrypt, s, M::M(&mech), aes));
        let a = r
            .got(format!("C_EncryptUpdate({name}, 16)"), p.io(Io::EncryptUpdate, s, In::B(&data[..16]), Out::Cap(512)));
        let b = r.got(
            format!("C_EncryptUpdate({name}, rest)"),
            p.io(Io::EncryptUpdate, s, In::B(&data[16..]), Out::Cap(512)),
        );
        let c = r.got(format!("C_EncryptFinal({name})"), p.fin(Fin::Encrypt, s, Out::Cap(512)));
        let ct = [a.bytes, b.bytes, c.bytes].concat();
        r.ob(format!("ciphertext total({name})"), CKR_OK, format!("len={}", ct.len()));
        r.rv(format!("C_DecryptInit({name})"), p.init(Init::Decrypt, s, M::M(&mech), aes));
        let a = r.got(
            format!("C_DecryptUpdate({name}, 16)"),
            p.io(Io::DecryptUpdate, s, In::B(&ct[..16.min(ct.len())]), Out::Cap(512)),
        );
        let b = r.got(
            format!("C_DecryptUpdate({name}, rest)"),
            p.io(Io::DecryptUpdate, s, In::B(&ct[16.min(ct.len())..]), Out::Cap(512)),
        );
        let c = r.got(format!("C_DecryptFinal({name})"), p.fin(Fin::Decrypt, s, Out::Cap(512)));
        let pt = [a.bytes, b.bytes, c.bytes].concat();
        r.ob(format!("plaintext total({name})"), CKR_OK, format!("len={} plaintext={}", pt.len(), pt == data));
    }
}

pub(super) fn rsa_roundtrip(r: &mut Run<'_>) {
    let k = r.k;
    round_trip(r, "RSA_PKCS", &m(CKM_RSA_PKCS), k.rsa_enc_pub, k.rsa_enc_priv, &DATA32);
    round_trip(r, "RSA_PKCS 245 bytes", &m(CKM_RSA_PKCS), k.rsa_enc_pub, k.rsa_enc_priv, &[0x33; 245]);
    round_trip(r, "RSA_PKCS_OAEP SHA1", &oaep_sha1(), k.rsa_enc_pub, k.rsa_enc_priv, &DATA32);
    round_trip(r, "RSA_PKCS_OAEP SHA1 214 bytes", &oaep_sha1(), k.rsa_enc_pub, k.rsa_enc_priv, &[0x44; 214]);
    let p = r.p;
    let s = r.s();
    r.rv("C_EncryptInit(RSA_PKCS)", p.init(Init::Encrypt, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_enc_pub));
    r.got("C_Encrypt(RSA_PKCS, 246 bytes: too long)", p.io(Io::Encrypt, s, In::B(&[0x33; 246]), Out::Cap(512)));
    r.rv("C_EncryptInit(OAEP SHA1)", p.init(Init::Encrypt, s, M::M(&oaep_sha1()), k.rsa_enc_pub));
    r.got("C_Encrypt(OAEP SHA1, 215 bytes: too long)", p.io(Io::Encrypt, s, In::B(&[0x44; 215]), Out::Cap(512)));
}

pub(super) fn sign_verify(r: &mut Run<'_>) {
    let k = r.k;
    sign_and_verify(r, "RSA_PKCS", &m(CKM_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub, &DATA32);
    sign_and_verify(r, "SHA1_RSA_PKCS", &m(CKM_SHA1_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub, MSG);
    sign_and_verify(r, "SHA256_RSA_PKCS", &m(CKM_SHA256_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub, MSG);
    sign_and_verify(r, "SHA224_RSA_PKCS", &m(CKM_SHA224_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub, MSG);
    sign_and_verify(r, "SHA512_RSA_PKCS", &m(CKM_SHA512_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub, MSG);
    sign_and_verify(r, "SHA256_RSA_PKCS_PSS", &pss_sha256(), k.rsa_sign_priv, k.rsa_sign_pub, MSG);
    let pss = Mech::pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32);
    sign_and_verify(r, "RSA_PKCS_PSS over a SHA-256 hash", &pss, k.rsa_sign_priv, k.rsa_sign_pub, &HASH32);
    sign_and_verify(r, "ECDSA", &m(CKM_ECDSA), k.ec_priv, k.ec_pub, &HASH32);
    sign_and_verify(r, "ECDSA over 20 bytes", &m(CKM_ECDSA), k.ec_priv, k.ec_pub, &DATA20);
}

pub(super) fn sign_verify_multipart(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    for (name, mech, private, public) in [
        ("SHA256_RSA_PKCS", m(CKM_SHA256_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub),
        ("SHA256_RSA_PKCS_PSS", pss_sha256(), k.rsa_sign_priv, k.rsa_sign_pub),
        ("ECDSA", m(CKM_ECDSA), k.ec_priv, k.ec_pub),
        ("RSA_PKCS", m(CKM_RSA_PKCS), k.rsa_sign_priv, k.rsa_sign_pub),
    ] {
        let s = r.s();
        r.rv(format!("C_SignInit({name})"), p.init(Init::Sign, s, M::M(&mech), private));
        r.rv(format!("C_SignUpdate({name}, 10)"), p.upd(Upd::SignUpdate, s, In::B(&HASH32[..10])));
        r.rv(format!("C_SignUpdate({name}, rest)"), p.upd(Upd::SignUpdate, s, In::B(&HASH32[10..])));
        let sig = r.got(format!("C_SignFinal({name})"), p.fin(Fin::Sign, s, Out::Cap(512)));
        r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(&mech), public));
        r.rv(format!("C_VerifyUpdate({name})"), p.upd(Upd::VerifyUpdate, s, In::B(&HASH32)));
        r.rv(format!("C_VerifyFinal({name})"), p.upd(Upd::VerifyFinal, s, In::B(&sig.bytes)));
        r.rv(format!("C_VerifyInit({name}) for single-part"), p.init(Init::Verify, s, M::M(&mech), public));
        r.rv(format!("C_Verify({name}) of the multi-part signature"), p.verify(s, In::B(&HASH32), In::B(&sig.bytes)));
    }
}

pub(super) fn decrypt_invalid(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let one = |r: &mut Run<'_>, name: &str, mech: &Mech, key: CK_OBJECT_HANDLE, ct: &[u8]| {
        let s = r.s();
        r.rv(format!("C_DecryptInit({name})"), p.init(Init::Decrypt, s, M::M(mech), key));
        r.got(format!("C_Decrypt({name}, {} bytes)", ct.len()), p.io(Io::Decrypt, s, In::B(ct), Out::Cap(512)));
    };
    one(r, "AES_CBC", &cbc(), k.aes, &[0x55; 15]);
    one(r, "AES_ECB", &ecb(), k.aes, &[0x55; 17]);
    one(r, "AES_CBC_PAD", &cbc_pad(), k.aes, &[0x55; 20]);
    one(r, "AES_GCM", &gcm(), k.aes, &[0x55; 15]);
    one(r, "RSA_PKCS", &m(CKM_RSA_PKCS), k.rsa_enc_priv, &[0x55; 255]);
    one(r, "RSA_PKCS_OAEP SHA1", &oaep_sha1(), k.rsa_enc_priv, &[0x55; 257]);
    one(r, "RSA_PKCS_OAEP SHA1", &oaep_sha1(), k.rsa_enc_priv, &[0x00; 256]);
    // A GCM ciphertext with its tag changed: encrypt first.
    let s = r.s();
    r.rv("C_EncryptInit(AES_GCM)", p.init(Init::Encrypt, s, M::M(&gcm()), k.aes));
    let mut ct = r.got("C_Encrypt(AES_GCM)", p.io(Io::Encrypt, s, In::B(&DATA20), Out::Cap(512))).bytes;
    if let Some(last) = ct.last_mut() {
        *last ^= 1;
    }
    one(r, "AES_GCM tag changed", &gcm(), k.aes, &ct);
    // AES_CBC_PAD with a wrong last block.
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    let ct = r.got("C_Encrypt(AES_CBC 32)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(512))).bytes;
    one(r, "AES_CBC_PAD bad padding", &cbc_pad(), k.aes, &ct);
}

pub(super) fn verify_invalid(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    for (name, mech, public, len) in [
        ("RSA_PKCS", m(CKM_RSA_PKCS), k.rsa_sign_pub, 256),
        ("ECDSA", m(CKM_ECDSA), k.ec_pub, 64),
        ("SHA256_RSA_PKCS", m(CKM_SHA256_RSA_PKCS), k.rsa_sign_pub, 256),
    ] {
        let s = r.s();
        for sig_len in [len, len - 1, len + 1, 0] {
            r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(&mech), public));
            r.rv(
                format!("C_Verify({name}, zero signature of {sig_len})"),
                p.verify(s, In::B(&HASH32), In::B(&vec![0; sig_len])),
            );
        }
    }
}

pub(super) fn wrap_unwrap(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let aes_gen = m(CKM_AES_KEY_GEN);
    let kek_t = Template::new(&[
        (CKA_VALUE_LEN, V::U(32)),
        (CKA_TOKEN, V::B(false)),
        (CKA_WRAP, V::B(true)),
        (CKA_UNWRAP, V::B(true)),
        (CKA_ENCRYPT, V::B(true)),
        (CKA_DECRYPT, V::B(true)),
    ]);
    let (rv, kek) = p.generate_key(s, M::M(&aes_gen), Tmpl::T(&kek_t), false);
    r.rv("C_GenerateKey(session KEK)", rv);
    let target_t = Template::new(&[
        (CKA_VALUE_LEN, V::U(16)),
        (CKA_TOKEN, V::B(false)),
        (CKA_EXTRACTABLE, V::B(true)),
        (CKA_ENCRYPT, V::B(true)),
    ]);
    let (rv, target) = p.generate_key(s, M::M(&aes_gen), Tmpl::T(&target_t), false);
    r.rv("C_GenerateKey(session extractable AES-128)", rv);
    for (name, mech) in [("AES_KEY_WRAP", m(CKM_AES_KEY_WRAP)), ("AES_KEY_WRAP_PAD", m(CKM_AES_KEY_WRAP_PAD))] {
        let wrapped = r.got(format!("C_WrapKey({name})"), p.wrap_key(s, M::M(&mech), kek, target, Out::Cap(512)));
        let unwrap_t = Template::new(&[
            (CKA_CLASS, V::U(CKO_SECRET_KEY)),
            (CKA_KEY_TYPE, V::U(CKK_AES)),
            (CKA_TOKEN, V::B(false)),
            (CKA_ENCRYPT, V::B(true)),
        ]);
        let (rv, unwrapped) = p.unwrap_key(s, M::M(&mech), kek, In::B(&wrapped.bytes), Tmpl::T(&unwrap_t));
        r.rv(format!("C_UnwrapKey({name})"), rv);
        // The same key: ECB of the same block gives the same bytes.
        let mut outs = Vec::new();
        for key in [target, unwrapped] {
            let _ = p.init(Init::Encrypt, s, M::M(&ecb()), key);
            outs.push(p.io(Io::Encrypt, s, In::B(&DATA32[..16]), Out::Cap(64)));
        }
        let same = outs[0].rv == CKR_OK && outs[0].bytes == outs[1].bytes;
        r.ob(format!("unwrapped key = wrapped key ({name})"), outs[1].rv, format!("same={same}"));
        let mut bad = wrapped.bytes.clone();
        if let Some(b) = bad.first_mut() {
            *b ^= 1;
        }
        r.rv(
            format!("C_UnwrapKey({name}, changed)"),
            p.unwrap_key(s, M::M(&mech), kek, In::B(&bad), Tmpl::T(&unwrap_t)).0,
        );
        r.rv(
            format!("C_UnwrapKey({name}, 23 bytes)"),
            p.unwrap_key(s, M::M(&mech), kek, In::B(&[0; 23]), Tmpl::T(&unwrap_t)).0,
        );
        r.rv(
            format!("C_UnwrapKey({name}, NULL, 24)"),
            p.unwrap_key(s, M::M(&mech), kek, In::Null(24), Tmpl::T(&unwrap_t)).0,
        );
    }
    let wrap = m(CKM_AES_KEY_WRAP);
    r.got("C_WrapKey(KMS AES, not extractable)", p.wrap_key(s, M::M(&wrap), kek, r.k.aes, Out::Cap(512)));
    r.got("C_WrapKey(with KMS AES as KEK)", p.wrap_key(s, M::M(&wrap), r.k.aes, target, Out::Cap(512)));
    r.got(
        "C_WrapKey(RSA_PKCS_OAEP with KMS RSA public)",
        p.wrap_key(s, M::M(&oaep_sha1()), r.k.rsa_enc_pub, target, Out::Cap(512)),
    );
    r.got("C_WrapKey(NULL mechanism)", p.wrap_key(s, M::Null, kek, target, Out::Cap(512)));
}

pub(super) fn derive(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let ec_gen = m(CKM_EC_KEY_PAIR_GEN);
    let (public, private) = ec_templates("", false, Some(&P256), true);
    let (rv, a_pub, a_priv) = p.generate_key_pair(s, M::M(&ec_gen), Tmpl::T(&public), Tmpl::T(&private));
    r.rv("C_GenerateKeyPair(session EC, derive)", rv);
    let (rv, b_pub, b_priv) = p.generate_key_pair(s, M::M(&ec_gen), Tmpl::T(&public), Tmpl::T(&private));
    r.rv("C_GenerateKeyPair(session EC, derive) 2", rv);
    let point = |key| {
        let (_, v) = p.get_attributes(s, key, &[(CKA_EC_POINT, Some(128))]);
        let bytes = v.into_iter().next().map(|v| v.1).unwrap_or_default();
        // Raw point: strip a DER OCTET STRING header if there is one.
        if bytes.len() == 67 && bytes[0] == 0x04 && bytes[1] == 65 { bytes[2..].to_vec() } else { bytes }
    };
    let derived_t = Template::new(&[
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_GENERIC_SECRET)),
        (CKA_VALUE_LEN, V::U(32)),
        (CKA_TOKEN, V::B(false)),
        (CKA_SENSITIVE, V::B(false)),
        (CKA_EXTRACTABLE, V::B(true)),
    ]);
    let (rv, ab) = p.derive_key(s, M::M(&Mech::ecdh(&point(b_pub))), a_priv, Tmpl::T(&derived_t));
    r.rv("C_DeriveKey(ECDH1, A with B's point)", rv);
    let (rv, ba) = p.derive_key(s, M::M(&Mech::ecdh(&point(a_pub))), b_priv, Tmpl::T(&derived_t));
    r.rv("C_DeriveKey(ECDH1, B with A's point)", rv);
    let value =
        |key| p.get_attributes(s, key, &[(CKA_VALUE, Some(64))]).1.into_iter().next().map(|v| v.1).unwrap_or_default();
    let (x, y) = (value(ab), value(ba));
    r.ob("both sides derived the same secret", CKR_OK, format!("same={} len={}", !x.is_empty() && x == y, x.len()));
    r.rv(
        "C_DeriveKey(ECDH1 with KMS EC key)",
        p.derive_key(s, M::M(&Mech::ecdh(&point(b_pub))), r.k.ec_priv, Tmpl::T(&derived_t)).0,
    );
    r.rv(
        "C_DeriveKey(ECDH1, NULL parameter)",
        p.derive_key(s, M::M(&m(CKM_ECDH1_DERIVE)), a_priv, Tmpl::T(&derived_t)).0,
    );
}
