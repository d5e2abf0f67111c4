//! Cases of class `Buffers` (buffer sizes): output buffers of 0, 1, one
//! short and exactly enough, the two-call convention, and attribute
//! buffers.

use cryptoki_sys::*;

use super::{DATA20, DATA32, HASH32, MSG, Run, cbc_pad, ecb, gcm, m, oaep_sha1, pss_sha256};
use crate::ffi::{Fin, Got, In, Init, Io, M, Mech, Out, P11, Template, Tmpl, Upd, V};

pub(super) fn attributes_buffers(r: &mut Run<'_>) {
    let (p, s, aes) = (r.p, r.t.main, r.k.aes);
    // "diff-aes": 8 bytes.
    for (what, room) in
        [("NULL", None), ("room 0", Some(0)), ("room 1", Some(1)), ("room 7", Some(7)), ("room 8", Some(8))]
    {
        let (rv, values) = p.get_attributes(s, aes, &[(CKA_LABEL, room)]);
        let len = values.first().map_or(0, |v| v.0);
        let len = if len == CK_UNAVAILABLE_INFORMATION { "-1".to_owned() } else { len.to_string() };
        r.ob(format!("C_GetAttributeValue(LABEL, {what})"), rv, format!("len={len}"));
    }
    r.rv("C_GetAttributeValue(NULL template, 1)", p.get_attributes_null(s, aes, 1));
    r.rv("C_GetAttributeValue(NULL template, 0)", p.get_attributes_null(s, aes, 0));
    r.rv("C_GetAttributeValue(NULL template, 0x80000000)", p.get_attributes_null(s, aes, 0x8000_0000));
    let (rv, values) = p.get_attributes(s, aes, &[(CKA_CLASS, Some(4))]);
    r.ob("C_GetAttributeValue(CLASS, room 4)", rv, format!("len={}", values.first().map_or(0, |v| v.0)));
}

/// The two-call convention on an output function: NULL, room 0, 1,
/// `need - 1`, then exactly `need` (the same `…Init` throughout), then
/// once more (the operation must be over).
fn out_matrix(
    r: &mut Run<'_>,
    name: &str,
    need: usize,
    init: &dyn Fn(P11, CK_SESSION_HANDLE) -> CK_RV,
    call: &dyn Fn(P11, CK_SESSION_HANDLE, Out) -> Got,
    expect: Option<&[u8]>,
) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("init({name})"), init(p, s));
    for (what, out) in
        [("NULL", Out::Query), ("room 0", Out::Cap(0)), ("room 1", Out::Cap(1)), ("room need-1", Out::Cap(need - 1))]
    {
        r.got(format!("{name}({what})"), call(p, s, out));
    }
    let g = call(p, s, Out::Cap(need));
    match expect {
        Some(expected) => r.got_eq(format!("{name}(room need={need})"), g, expected),
        None => r.got(format!("{name}(room need={need})"), g),
    };
    r.got(format!("{name}(again, operation over)"), call(p, s, Out::Cap(need)));
    // One more round on a fresh session: a length query, then more room
    // than needed at once.
    let s = r.s();
    r.rv(format!("init({name}) 2"), init(p, s));
    r.got(format!("{name}(NULL) 2"), call(p, s, Out::Query));
    r.got(format!("{name}(room need+1) 2"), call(p, s, Out::Cap(need + 1)));
}

pub(super) fn out_buffers_encrypt(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let rsa = r.k.rsa_enc_pub;
    let enc = |mech: fn() -> Mech, key| move |p: P11, s| p.init(Init::Encrypt, s, M::M(&mech()), key);
    out_matrix(
        r,
        "C_Encrypt(AES_ECB 32)",
        32,
        &enc(ecb, aes),
        &|p, s, o| p.io(Io::Encrypt, s, In::B(&DATA32), o),
        None,
    );
    out_matrix(
        r,
        "C_Encrypt(AES_CBC_PAD 20)",
        32,
        &enc(cbc_pad, aes),
        &|p, s, o| p.io(Io::Encrypt, s, In::B(&DATA20), o),
        None,
    );
    out_matrix(
        r,
        "C_Encrypt(AES_GCM 20)",
        36,
        &enc(gcm, aes),
        &|p, s, o| p.io(Io::Encrypt, s, In::B(&DATA20), o),
        None,
    );
    out_matrix(
        r,
        "C_Encrypt(AES_CTR 20)",
        20,
        &|p: P11, s| p.init(Init::Encrypt, s, M::M(&Mech::ctr(128)), aes),
        &|p, s, o| p.io(Io::Encrypt, s, In::B(&DATA20), o),
        None,
    );
    out_matrix(
        r,
        "C_Encrypt(RSA_PKCS 32)",
        256,
        &enc(|| m(CKM_RSA_PKCS), rsa),
        &|p, s, o| p.io(Io::Encrypt, s, In::B(&DATA32), o),
        None,
    );
}

pub(super) fn out_buffers_decrypt(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    // Ciphertexts made on this module (not compared themselves).
    let encrypt = |r: &mut Run<'_>, name: &str, mech: &Mech, key, data: &[u8]| {
        r.rv(format!("C_EncryptInit({name})"), p.init(Init::Encrypt, s, M::M(mech), key));
        r.got(format!("C_Encrypt({name})"), p.io(Io::Encrypt, s, In::B(data), Out::Cap(512))).bytes
    };
    let pad_ct = encrypt(r, "AES_CBC_PAD 20", &cbc_pad(), k.aes, &DATA20);
    let gcm_ct = encrypt(r, "AES_GCM 20", &gcm(), k.aes, &DATA20);
    let ecb_ct = encrypt(r, "AES_ECB 32", &ecb(), k.aes, &DATA32);
    let rsa_ct = encrypt(r, "RSA_PKCS 32", &m(CKM_RSA_PKCS), k.rsa_enc_pub, &DATA32);
    let oaep_ct = encrypt(r, "OAEP SHA1 32", &oaep_sha1(), k.rsa_enc_pub, &DATA32);
    let dec = |mech: fn() -> Mech, key| move |p: P11, s| p.init(Init::Decrypt, s, M::M(&mech()), key);
    out_matrix(
        r,
        "C_Decrypt(AES_ECB 32)",
        32,
        &dec(ecb, k.aes),
        &|p, s, o| p.io(Io::Decrypt, s, In::B(&ecb_ct), o),
        Some(&DATA32),
    );
    out_matrix(
        r,
        "C_Decrypt(AES_CBC_PAD to 20)",
        20,
        &dec(cbc_pad, k.aes),
        &|p, s, o| p.io(Io::Decrypt, s, In::B(&pad_ct), o),
        Some(&DATA20),
    );
    out_matrix(
        r,
        "C_Decrypt(AES_GCM to 20)",
        20,
        &dec(gcm, k.aes),
        &|p, s, o| p.io(Io::Decrypt, s, In::B(&gcm_ct), o),
        Some(&DATA20),
    );
    out_matrix(
        r,
        "C_Decrypt(RSA_PKCS to 32)",
        32,
        &dec(|| m(CKM_RSA_PKCS), k.rsa_enc_priv),
        &|p, s, o| p.io(Io::Decrypt, s, In::B(&rsa_ct), o),
        Some(&DATA32),
    );
    out_matrix(
        r,
        "C_Decrypt(OAEP SHA1 to 32)",
        32,
        &dec(oaep_sha1, k.rsa_enc_priv),
        &|p, s, o| p.io(Io::Decrypt, s, In::B(&oaep_ct), o),
        Some(&DATA32),
    );
}

pub(super) fn out_buffers_sign(r: &mut Run<'_>) {
    let k = r.k;
    let sign = |mech: fn() -> Mech, key| move |p: P11, s| p.init(Init::Sign, s, M::M(&mech()), key);
    out_matrix(
        r,
        "C_Sign(ECDSA)",
        64,
        &sign(|| m(CKM_ECDSA), k.ec_priv),
        &|p, s, o| p.io(Io::Sign, s, In::B(&HASH32), o),
        None,
    );
    out_matrix(
        r,
        "C_Sign(SHA256_RSA_PKCS)",
        256,
        &sign(|| m(CKM_SHA256_RSA_PKCS), k.rsa_sign_priv),
        &|p, s, o| p.io(Io::Sign, s, In::B(MSG), o),
        None,
    );
    out_matrix(
        r,
        "C_Sign(SHA256_RSA_PKCS_PSS)",
        256,
        &sign(pss_sha256, k.rsa_sign_priv),
        &|p, s, o| p.io(Io::Sign, s, In::B(MSG), o),
        None,
    );
}

pub(super) fn out_buffers_digest(r: &mut Run<'_>) {
    let init = |mech: CK_MECHANISM_TYPE| move |p: P11, s| p.digest_init(s, M::M(&m(mech)));
    out_matrix(r, "C_Digest(SHA256)", 32, &init(CKM_SHA256), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
    out_matrix(r, "C_Digest(SHA1)", 20, &init(CKM_SHA_1), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
    out_matrix(r, "C_Digest(SHA512)", 64, &init(CKM_SHA512), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
}

pub(super) fn out_buffers_final(r: &mut Run<'_>) {
    let k = r.k;
    let digest_init = |p: P11, s| {
        let rv = p.digest_init(s, M::M(&m(CKM_SHA256)));
        if rv == CKR_OK { p.upd(Upd::DigestUpdate, s, In::B(MSG)) } else { rv }
    };
    out_matrix(r, "C_DigestFinal(SHA256)", 32, &digest_init, &|p, s, o| p.fin(Fin::Digest, s, o), None);
    let sign_init = |p: P11, s| {
        let rv = p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv);
        if rv == CKR_OK { p.upd(Upd::SignUpdate, s, In::B(MSG)) } else { rv }
    };
    out_matrix(r, "C_SignFinal(SHA256_RSA_PKCS)", 256, &sign_init, &|p, s, o| p.fin(Fin::Sign, s, o), None);
    // Encrypt: init plus an update of 20 bytes (whatever it outputs is
    // dropped); the final of CBC_PAD has at least the last block.
    let enc_init = |p: P11, s| {
        let rv = p.init(Init::Encrypt, s, M::M(&cbc_pad()), k.aes);
        if rv == CKR_OK { p.io(Io::EncryptUpdate, s, In::B(&DATA20), Out::Cap(64)).rv } else { rv }
    };
    out_matrix(
        r,
        "C_EncryptFinal(AES_CBC_PAD after update 20)",
        16,
        &enc_init,
        &|p, s, o| p.fin(Fin::Encrypt, s, o),
        None,
    );
}

pub(super) fn out_buffers_wrap(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.t.main;
    let aes_gen = m(CKM_AES_KEY_GEN);
    let kek_t = Template::new(&[(CKA_VALUE_LEN, V::U(32)), (CKA_TOKEN, V::B(false)), (CKA_WRAP, V::B(true))]);
    let (rv, kek) = p.generate_key(s, M::M(&aes_gen), Tmpl::T(&kek_t), false);
    r.rv("C_GenerateKey(session KEK)", rv);
    let target_t = Template::new(&[(CKA_VALUE_LEN, V::U(16)), (CKA_TOKEN, V::B(false)), (CKA_EXTRACTABLE, V::B(true))]);
    let (rv, target) = p.generate_key(s, M::M(&aes_gen), Tmpl::T(&target_t), false);
    r.rv("C_GenerateKey(session extractable)", rv);
    out_matrix(
        r,
        "C_WrapKey(AES_KEY_WRAP of 16 bytes)",
        24,
        &|_, _| CKR_OK,
        &|p, s, o| p.wrap_key(s, M::M(&m(CKM_AES_KEY_WRAP)), kek, target, o),
        None,
    );
    let _ = p.destroy_object(s, kek);
    let _ = p.destroy_object(s, target);
}
