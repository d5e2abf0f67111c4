//! Cases of class `Arguments` (arguments/NULL): NULL pointers with zero,
//! small and huge lengths, NULL length pointers and NULL mechanisms, and
//! calls made again while the module is initialized.

use cryptoki_sys::*;

use super::common::{aes_template, data_template};
use super::{DATA32, HASH32, HUGE, MSG, Run, ecb, m};
use crate::ffi::{CRASHED, Fin, Got, In, Init, Io, M, Out, P11, Template, Tmpl, Upd, V};

/// `C_Initialize` and `C_Finalize` while initialized: each must be refused
/// and leave the module working.
pub(super) fn initialize_finalize(r: &mut Run<'_>) {
    let p = r.p;
    r.rv("C_Initialize(NULL) again", p.initialize_odd(true, false, false));
    r.rv("C_Initialize(OS locking) again", p.initialize_odd(false, false, false));
    r.rv("C_Initialize(pReserved set) again", p.initialize_odd(false, true, false));
    r.rv("C_Initialize(one mutex callback) again", p.initialize_odd(false, false, true));
    r.rv("C_Finalize(pReserved set)", p.finalize_reserved());
    let (rv, state, _) = p.session_info(r.t.main, false);
    r.ob("C_GetSessionInfo(main) afterwards", rv, format!("state={state}"));
}

pub(super) fn find_objects_args(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let aes = Template::new(&[(CKA_CLASS, V::U(CKO_SECRET_KEY))]);
    r.rv("C_FindObjectsInit(NULL, 1)", p.find_init(s, Tmpl::Null(1)));
    r.rv("C_FindObjectsInit(NULL, 0x80000000)", p.find_init(s, Tmpl::Null(0x8000_0000)));
    r.rv("C_FindObjectsInit after refusal", p.find_init(s, Tmpl::T(&aes)));
    r.rv("C_FindObjects(NULL array, 16)", p.find(s, None, false).0);
    r.rv("C_FindObjects(NULL count)", p.find(s, Some(4), true).0);
    let (rv, found) = p.find(s, Some(0), false);
    r.ob("C_FindObjects(room 0)", rv, format!("count={}", found.len()));
    let (rv, found) = p.find(s, Some(8), false);
    r.ob("C_FindObjects(room 8) after refusals", rv, format!("count={}", found.len()));
    r.rv("C_FindObjectsFinal", p.find_final(s));
    let bad_value = Template::new(&[(CKA_CLASS, V::Bytes(vec![1, 2, 3]))]);
    r.rv("C_FindObjectsInit(CKA_CLASS of 3 bytes)", p.find_init(s, Tmpl::T(&bad_value)));
    let (rv, found) = p.find(s, Some(8), false);
    r.ob("C_FindObjects(after odd class)", rv, format!("count={}", found.len()));
    r.rv("C_FindObjectsFinal(after odd class)", p.find_final(s));
}

pub(super) fn create_objects_args(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let data = data_template("diff-args", false);
    r.rv("C_CreateObject(NULL, 1)", p.create_object(s, Tmpl::Null(1), false).0);
    r.rv("C_CreateObject(NULL, 0)", p.create_object(s, Tmpl::Null(0), false).0);
    r.rv("C_CreateObject(NULL phObject)", p.create_object(s, Tmpl::T(&data), true).0);
    let no_class = Template::new(&[(CKA_VALUE, V::Bytes(b"x".to_vec()))]);
    r.rv("C_CreateObject(no class)", p.create_object(s, Tmpl::T(&no_class), false).0);
    let bad_class = Template::new(&[(CKA_CLASS, V::Bytes(vec![1]))]);
    r.rv("C_CreateObject(class of 1 byte)", p.create_object(s, Tmpl::T(&bad_class), false).0);
    r.rv("C_SetAttributeValue(NULL, 1)", p.set_attributes(s, r.k.aes, Tmpl::Null(1)));
    r.rv("C_CopyObject(NULL, 1)", p.copy_object(s, r.k.aes, Tmpl::Null(1)).0);
    r.rv("C_GetObjectSize(NULL)", p.object_size(s, r.k.aes, true).0);
}

pub(super) fn random_args(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    r.rv("C_GenerateRandom(NULL, 0)", p.generate_random(s, 0, true).0);
    r.rv("C_GenerateRandom(NULL, 16)", p.generate_random(s, 16, true).0);
    for n in HUGE {
        r.rv(format!("C_GenerateRandom(NULL, 0x{n:x})"), p.generate_random(s, n, true).0);
    }
    r.rv("C_SeedRandom(NULL, 0)", p.upd(Upd::SeedRandom, s, In::Null(0)));
    r.rv("C_SeedRandom(NULL, 16)", p.upd(Upd::SeedRandom, s, In::Null(16)));
    for n in HUGE {
        r.rv(format!("C_SeedRandom(NULL, 0x{n:x})"), p.upd(Upd::SeedRandom, s, In::Null(n)));
    }
    r.rv("C_GenerateRandom(32) after refusals", p.generate_random(s, 32, false).0);
}

// ---------------------------------------------------------------- input lengths and NULL

/// For each input variant: a fresh session, the `…Init`, the call with the
/// variant, then a valid probe call (is the operation still there?).
fn in_matrix(
    r: &mut Run<'_>,
    name: &str,
    init: &dyn Fn(P11, CK_SESSION_HANDLE) -> CK_RV,
    call: &dyn Fn(P11, CK_SESSION_HANDLE, In<'_>) -> CK_RV,
    probe: &dyn Fn(P11, CK_SESSION_HANDLE) -> CK_RV,
) {
    let p = r.p;
    let mut variants = vec![("NULL, 0".to_owned(), In::Null(0)), ("NULL, 16".to_owned(), In::Null(16))];
    variants.extend(HUGE.iter().map(|&n| (format!("NULL, 0x{n:x}"), In::Null(n))));
    variants.push(("empty buffer".to_owned(), In::B(b"")));
    for (what, input) in variants {
        let s = r.s();
        r.rv(format!("init for {name}({what})"), init(p, s));
        r.rv(format!("{name}({what})"), r.guard(|| call(p, s, input), CRASHED));
        r.rv(format!("probe after {name}({what})"), probe(p, s));
    }
}

fn rv_of(g: Got) -> CK_RV {
    g.rv
}

pub(super) fn in_null_digest(r: &mut Run<'_>) {
    let init = |p: P11, s| p.digest_init(s, M::M(&m(CKM_SHA256)));
    let probe = |p: P11, s| p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)).rv;
    in_matrix(r, "C_Digest", &init, &|p, s, i| rv_of(p.io(Io::Digest, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Digest, s, Out::Cap(64)).rv;
    in_matrix(r, "C_DigestUpdate", &init, &|p, s, i| p.upd(Upd::DigestUpdate, s, i), &probe_final);
}

pub(super) fn in_null_encrypt(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let init = move |p: P11, s| p.init(Init::Encrypt, s, M::M(&ecb()), aes);
    let probe = |p: P11, s| p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)).rv;
    in_matrix(r, "C_Encrypt", &init, &|p, s, i| rv_of(p.io(Io::Encrypt, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Encrypt, s, Out::Cap(64)).rv;
    in_matrix(r, "C_EncryptUpdate", &init, &|p, s, i| rv_of(p.io(Io::EncryptUpdate, s, i, Out::Cap(64))), &probe_final);
}

pub(super) fn in_null_decrypt(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let init = move |p: P11, s| p.init(Init::Decrypt, s, M::M(&ecb()), aes);
    let probe = |p: P11, s| p.io(Io::Decrypt, s, In::B(&DATA32), Out::Cap(64)).rv;
    in_matrix(r, "C_Decrypt", &init, &|p, s, i| rv_of(p.io(Io::Decrypt, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Decrypt, s, Out::Cap(64)).rv;
    in_matrix(r, "C_DecryptUpdate", &init, &|p, s, i| rv_of(p.io(Io::DecryptUpdate, s, i, Out::Cap(64))), &probe_final);
}

pub(super) fn in_null_sign(r: &mut Run<'_>) {
    let k = r.k;
    let init = move |p: P11, s| p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv);
    let probe = |p: P11, s| p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(512)).rv;
    in_matrix(r, "C_Sign(ECDSA)", &init, &|p, s, i| rv_of(p.io(Io::Sign, s, i, Out::Cap(512))), &probe);
    let init = move |p: P11, s| p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv);
    let probe_final = |p: P11, s| p.fin(Fin::Sign, s, Out::Cap(512)).rv;
    in_matrix(r, "C_SignUpdate(SHA256_RSA_PKCS)", &init, &|p, s, i| p.upd(Upd::SignUpdate, s, i), &probe_final);
}

pub(super) fn in_null_verify(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    // A real signature made on this module, for the probes.
    let s = r.s();
    r.rv("C_SignInit(ECDSA) for a signature", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    let sig = r.got("C_Sign(ECDSA)", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(512))).bytes;
    let init = move |p: P11, s| p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub);
    let sig2 = sig.clone();
    let probe = move |p: P11, s| p.verify(s, In::B(&HASH32), In::B(&sig2));
    in_matrix(r, "C_Verify(data)", &init, &|p, s, i| p.verify(s, i, In::B(&sig)), &probe);
    in_matrix(r, "C_Verify(signature)", &init, &|p, s, i| p.verify(s, In::B(&HASH32), i), &probe);
    let init = move |p: P11, s| {
        let rv = p.init(Init::Verify, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_pub);
        if rv == CKR_OK { p.upd(Upd::VerifyUpdate, s, In::B(MSG)) } else { rv }
    };
    let probe_final = |p: P11, s| p.upd(Upd::VerifyFinal, s, In::B(&[0; 256]));
    in_matrix(
        r,
        "C_VerifyFinal(SHA256_RSA_PKCS, signature)",
        &init,
        &|p, s, i| p.upd(Upd::VerifyFinal, s, i),
        &probe_final,
    );
    in_matrix(r, "C_VerifyUpdate(SHA256_RSA_PKCS)", &init, &|p, s, i| p.upd(Upd::VerifyUpdate, s, i), &probe_final);
}

pub(super) fn in_null_misc(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let pin = r.t.pin.clone();
    for n in HUGE {
        r.rv(format!("C_Login(USER, NULL, 0x{n:x}) while logged in"), p.login(s, CKU_USER, In::Null(n)));
        r.rv(format!("C_SetPIN(NULL old, 0x{n:x})"), p.set_pin(s, In::Null(n), In::B(&pin)));
        r.rv(format!("C_CreateObject(NULL template, 0x{n:x})"), p.create_object(s, Tmpl::Null(n), false).0);
        r.rv(format!("C_UnwrapKey(NULL wrapped, 0x{n:x})"), {
            let t = aes_template("", false, None);
            p.unwrap_key(s, M::M(&m(CKM_AES_KEY_WRAP)), r.k.aes, In::Null(n), Tmpl::T(&t)).0
        });
    }
}

pub(super) fn out_null_len(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(pulEncryptedDataLen NULL)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::NoLen));
    r.got("C_Encrypt after it", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(pulSignatureLen NULL)", p.io(Io::Sign, s, In::B(&HASH32), Out::NoLen));
    r.got("C_Sign after it", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(512)));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got("C_Digest(pulDigestLen NULL)", p.io(Io::Digest, s, In::B(MSG), Out::NoLen));
    r.got("C_Digest after it", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    r.rv("C_DigestInit(SHA256) 2", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got("C_DigestFinal(pulDigestLen NULL)", p.fin(Fin::Digest, s, Out::NoLen));
    r.got("C_DigestFinal after it", p.fin(Fin::Digest, s, Out::Cap(64)));
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Decrypt(pulDataLen NULL)", p.io(Io::Decrypt, s, In::B(&DATA32), Out::NoLen));
    r.got("C_Decrypt after it", p.io(Io::Decrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.got("C_GetOperationState(pulLen NULL)", p.operation_state(s, Out::NoLen));
}

pub(super) fn null_mechanism(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    for (name, which, key) in [
        ("C_EncryptInit", Init::Encrypt, k.aes),
        ("C_DecryptInit", Init::Decrypt, k.aes),
        ("C_SignInit", Init::Sign, k.ec_priv),
        ("C_VerifyInit", Init::Verify, k.ec_pub),
    ] {
        r.rv(format!("{name}(NULL mechanism)"), p.init(which, s, M::Null, key));
    }
    r.rv("C_EncryptInit(AES_ECB) after NULL mechanism", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
}
