//! Cases of class `Handles`: closed, zero and made-up session handles,
//! invalid object handles, and `C_CloseAllSessions` (the last case).

use cryptoki_sys::*;

use super::common::{aes_template, data_template};
use super::{BAD_SESSION, BAD_SLOT, DATA32, MSG, Run, ecb, m};
use crate::ffi::{Fin, In, Init, Io, M, Out, Template, Tmpl, Upd, V};

/// Calls that need a valid session, on session handle `s`.
fn session_calls(r: &mut Run<'_>, s: CK_SESSION_HANDLE) {
    let p = r.p;
    let k = r.k;
    let pin = r.t.pin.clone();
    r.rv("C_GetSessionInfo", p.session_info(s, false).0);
    r.rv("C_CloseSession", p.close_session(s));
    r.rv("C_Login(USER)", p.login(s, CKU_USER, In::B(&pin)));
    r.rv("C_FindObjectsInit", p.find_init(s, Tmpl::Null(0)));
    r.rv("C_FindObjects", p.find(s, Some(4), false).0);
    r.rv("C_FindObjectsFinal", p.find_final(s));
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.rv("C_VerifyInit(ECDSA)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got("C_Digest", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    r.rv("C_GenerateRandom(16)", p.generate_random(s, 16, false).0);
    r.rv("C_SeedRandom(16)", p.upd(Upd::SeedRandom, s, In::B(&[1; 16])));
    r.rv("C_GetAttributeValue(AES CLASS)", p.get_attributes(s, k.aes, &[(CKA_CLASS, Some(8))]).0);
    r.rv(
        "C_GenerateKey(session AES)",
        p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("", false, Some(32))), false).0,
    );
    r.rv(
        "C_CreateObject(session data)",
        p.create_object(s, Tmpl::T(&data_template("diff-bad-session", false)), false).0,
    );
    r.rv("C_DestroyObject(handle 0)", p.destroy_object(s, 0));
    r.rv("C_SetPIN(same)", p.set_pin(s, In::B(&pin), In::B(&pin)));
    r.got("C_GetOperationState", p.operation_state(s, Out::Query));
    r.rv("C_GetFunctionStatus", p.function_status(s));
}

pub(super) fn closed_session(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let (rv, s) = p.open_session(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, false);
    r.rv("C_OpenSession", rv);
    r.rv("C_CloseSession", p.close_session(s));
    session_calls(r, s);
}

pub(super) fn session_handle_0(r: &mut Run<'_>) {
    session_calls(r, 0);
}

pub(super) fn session_handle_deadbeef(r: &mut Run<'_>) {
    session_calls(r, BAD_SESSION);
}

pub(super) fn object_handle_invalid(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for h in [0, 0xdead_beef] {
        r.rv(format!("C_EncryptInit(AES_ECB, key 0x{h:x})"), p.init(Init::Encrypt, s, M::M(&ecb()), h));
        r.got(format!("C_Encrypt after key 0x{h:x}"), p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
        r.rv(format!("C_SignInit(ECDSA, key 0x{h:x})"), p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), h));
        r.rv(format!("C_VerifyInit(ECDSA, key 0x{h:x})"), p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), h));
        r.rv(format!("C_DecryptInit(AES_ECB, key 0x{h:x})"), p.init(Init::Decrypt, s, M::M(&ecb()), h));
        r.rv(format!("C_GetAttributeValue(object 0x{h:x})"), p.get_attributes(s, h, &[(CKA_CLASS, Some(8))]).0);
        r.rv(format!("C_SetAttributeValue(object 0x{h:x})"), {
            let t = Template::new(&[(CKA_LABEL, V::Bytes(b"x".to_vec()))]);
            p.set_attributes(s, h, Tmpl::T(&t))
        });
        r.rv(format!("C_CopyObject(object 0x{h:x})"), p.copy_object(s, h, Tmpl::Null(0)).0);
        r.rv(format!("C_GetObjectSize(object 0x{h:x})"), p.object_size(s, h, false).0);
        r.rv(format!("C_DestroyObject(object 0x{h:x})"), p.destroy_object(s, h));
        r.got(
            format!("C_WrapKey(AES_KEY_WRAP, wrapping key 0x{h:x})"),
            p.wrap_key(s, M::M(&m(CKM_AES_KEY_WRAP)), h, r.k.aes, Out::Cap(64)),
        );
        r.rv(format!("C_DigestInit for DigestKey 0x{h:x}"), p.digest_init(s, M::M(&m(CKM_SHA256))));
        r.rv(format!("C_DigestKey(key 0x{h:x})"), p.digest_key(s, h));
        r.rv(format!("C_DigestFinal after DigestKey 0x{h:x}"), p.fin(Fin::Digest, s, Out::Cap(64)).rv);
    }
    // A public key's handle used as a secret key, a private as a public.
    r.rv("C_GetAttributeValue(EC public, VALUE_LEN)", p.get_attributes(s, r.k.ec_pub, &[(CKA_VALUE_LEN, Some(8))]).0);
}

pub(super) fn close_all_sessions(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let (rv, s) = p.open_session(slot, CKF_SERIAL_SESSION, false);
    r.rv("C_OpenSession(RO)", rv);
    r.rv("C_CloseAllSessions(bad slot)", p.close_all_sessions(BAD_SLOT));
    r.rv("C_CloseAllSessions", p.close_all_sessions(slot));
    r.rv("C_GetSessionInfo(main) after it", p.session_info(r.t.main, false).0);
    r.rv("C_GetSessionInfo(RO) after it", p.session_info(s, false).0);
    let (rv, s) = p.open_session(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, false);
    r.rv("C_OpenSession(RW) after it", rv);
    let (rv, state, _) = p.session_info(s, false);
    r.ob("C_GetSessionInfo(new) after it", rv, format!("state={state}"));
    r.rv("C_EncryptInit(KMS AES) after it", p.init(Init::Encrypt, s, M::M(&ecb()), r.k.aes));
    r.rv("C_CloseAllSessions again", p.close_all_sessions(slot));
    r.rv("C_CloseAllSessions with none open", p.close_all_sessions(slot));
}
