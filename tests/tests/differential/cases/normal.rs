//! Cases of class `Normal` (normal arguments): what every application does
//! with the library, slots, sessions, login, objects and key generation.
//! Digests, random numbers, encryption, signatures, wrapping and derivation
//! are in `normal_crypto.rs`.

use cryptoki_sys::*;
use std::fmt::Write as _;

use super::common::{aes_template, data_template, ec_templates, mech_info_calls};
use super::{BAD_SLOT, P256, P384, Run, cbc, cbc_pad, ecb, gcm, hex, m};
use crate::ffi::{In, Init, M, Mech, Template, Tmpl, V};

// ---------------------------------------------------------------- general

pub(super) fn info(r: &mut Run<'_>) {
    let p = r.p;
    let (rv, version) = p.get_info(false);
    r.ob("C_GetInfo", rv, format!("cryptokiVersion={version}"));
    r.rv("C_GetInfo(NULL)", p.get_info(true).0);
    r.rv("C_GetFunctionList", p.function_list(false));
    r.rv("C_GetFunctionList(NULL)", p.function_list(true));
}

pub(super) fn slots_and_tokens(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    // Slot counts differ by design (one SoftHSM token; two p11kms
    // instances): only whether the test slot is there is compared.
    let (rv, _) = p.slot_list(true, None, false);
    r.rv("C_GetSlotList(TRUE, NULL, &n)", rv);
    let (rv, list) = p.slot_list(true, Some(16), false);
    r.ob("C_GetSlotList(TRUE, room 16)", rv, format!("has-test-slot={}", list.contains(&slot)));
    r.rv("C_GetSlotList(TRUE, room 0)", p.slot_list(true, Some(0), false).0);
    r.rv("C_GetSlotList(TRUE, NULL, NULL)", p.slot_list(true, None, true).0);
    r.rv("C_GetSlotList(FALSE, room 16, NULL count)", p.slot_list(false, Some(16), true).0);
    let (rv, flags) = p.slot_info(slot, false);
    r.ob("C_GetSlotInfo", rv, format!("token-present={}", flags & CKF_TOKEN_PRESENT != 0));
    r.rv("C_GetSlotInfo(NULL)", p.slot_info(slot, true).0);
    r.rv("C_GetSlotInfo(bad slot)", p.slot_info(BAD_SLOT, false).0);
    let (rv, _, flags) = p.token_info(slot, false);
    let mask = CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_RNG;
    r.ob("C_GetTokenInfo", rv, format!("flags&(LOGIN|INIT|PIN_INIT|RNG)=0x{:x}", flags & mask));
    r.rv("C_GetTokenInfo(NULL)", p.token_info(slot, true).0);
    r.rv("C_GetTokenInfo(bad slot)", p.token_info(BAD_SLOT, false).0);
}

pub(super) fn mechanism_list(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let (rv, n) = p.mechanism_list(slot, None, false);
    r.rv("C_GetMechanismList(NULL, &n)", rv);
    let room = usize::try_from(n).unwrap_or(0);
    r.rv("C_GetMechanismList(room n)", p.mechanism_list(slot, Some(room), false).0);
    r.rv("C_GetMechanismList(room 1)", p.mechanism_list(slot, Some(1), false).0);
    r.rv("C_GetMechanismList(room 0)", p.mechanism_list(slot, Some(0), false).0);
    r.rv("C_GetMechanismList(NULL, NULL)", p.mechanism_list(slot, None, true).0);
    r.rv("C_GetMechanismList(bad slot)", p.mechanism_list(BAD_SLOT, None, false).0);
}

pub(super) fn mechanism_info(r: &mut Run<'_>) {
    mech_info_calls(
        r,
        &[
            ("AES_KEY_GEN", CKM_AES_KEY_GEN),
            ("AES_ECB", CKM_AES_ECB),
            ("AES_CBC", CKM_AES_CBC),
            ("AES_CBC_PAD", CKM_AES_CBC_PAD),
            ("AES_CTR", CKM_AES_CTR),
            ("AES_GCM", CKM_AES_GCM),
            ("AES_KEY_WRAP", CKM_AES_KEY_WRAP),
            ("RSA_PKCS_KEY_PAIR_GEN", CKM_RSA_PKCS_KEY_PAIR_GEN),
            ("RSA_PKCS", CKM_RSA_PKCS),
            ("RSA_PKCS_OAEP", CKM_RSA_PKCS_OAEP),
            ("RSA_PKCS_PSS", CKM_RSA_PKCS_PSS),
            ("SHA256_RSA_PKCS", CKM_SHA256_RSA_PKCS),
            ("EC_KEY_PAIR_GEN", CKM_EC_KEY_PAIR_GEN),
            ("ECDSA", CKM_ECDSA),
            ("SHA256", CKM_SHA256),
        ],
    );
    let (p, slot) = (r.p, r.t.slot);
    r.rv("C_GetMechanismInfo(AES_CBC, NULL)", p.mechanism_info(slot, CKM_AES_CBC, true).0);
    r.rv("C_GetMechanismInfo(bad slot)", p.mechanism_info(BAD_SLOT, CKM_AES_CBC, false).0);
    r.rv("C_GetMechanismInfo(0x7ffffff0)", p.mechanism_info(slot, 0x7fff_fff0, false).0);
}

// ---------------------------------------------------------------- sessions

pub(super) fn sessions(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let (rv, s) = p.open_session(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, false);
    r.rv("C_OpenSession(RW)", rv);
    let (rv, state, flags) = p.session_info(s, false);
    r.ob("C_GetSessionInfo(RW)", rv, format!("state={state} flags=0x{flags:x}"));
    let (rv, ro) = p.open_session(slot, CKF_SERIAL_SESSION, false);
    r.rv("C_OpenSession(RO)", rv);
    let (rv, state, flags) = p.session_info(ro, false);
    r.ob("C_GetSessionInfo(RO)", rv, format!("state={state} flags=0x{flags:x}"));
    r.rv("C_GetSessionInfo(NULL)", p.session_info(s, true).0);
    r.rv("C_OpenSession(flags 0)", p.open_session(slot, 0, false).0);
    r.rv("C_OpenSession(RW only)", p.open_session(slot, CKF_RW_SESSION, false).0);
    r.rv("C_OpenSession(NULL phSession)", p.open_session(slot, CKF_SERIAL_SESSION, true).0);
    r.rv("C_OpenSession(bad slot)", p.open_session(BAD_SLOT, CKF_SERIAL_SESSION, false).0);
    r.rv("C_CloseSession(RW)", p.close_session(s));
    r.rv("C_CloseSession(RW) again", p.close_session(s));
    r.rv("C_GetSessionInfo(closed)", p.session_info(s, false).0);
    r.rv("C_CloseSession(RO)", p.close_session(ro));
}

pub(super) fn login_states(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let pin = r.t.pin.clone();
    r.rv("C_Login(USER) while logged in", p.login(s, CKU_USER, In::B(&pin)));
    r.rv("C_Login(SO) while USER logged in", p.login(s, CKU_SO, In::B(b"12345678")));
    r.rv("C_Login(CONTEXT_SPECIFIC) no operation", p.login(s, CKU_CONTEXT_SPECIFIC, In::B(&pin)));
    r.rv("C_Login(user type 99)", p.login(s, 99, In::B(&pin)));
    r.rv("C_Login(USER, NULL, 8)", p.login(s, CKU_USER, In::Null(8)));
    r.rv("C_Login(USER, NULL, 0)", p.login(s, CKU_USER, In::Null(0)));
    r.rv("C_Login(USER, NULL, 0x80000000)", p.login(s, CKU_USER, In::Null(0x8000_0000)));
}

pub(super) fn logout_and_login(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let pin = r.t.pin.clone();
    let mut wrong = pin.clone();
    if let Some(last) = wrong.last_mut() {
        *last = if *last == b'x' { b'y' } else { b'x' };
    }
    r.rv("C_Logout", p.logout(s));
    let (rv, state, _) = p.session_info(s, false);
    r.ob("C_GetSessionInfo after logout", rv, format!("state={state}"));
    r.rv("C_EncryptInit(AES key) logged out", p.init(Init::Encrypt, s, M::M(&ecb()), r.k.aes));
    r.rv("C_VerifyInit(EC public) logged out", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), r.k.ec_pub));
    r.rv("C_Logout again", p.logout(s));
    r.rv("C_Login(wrong PIN)", p.login(s, CKU_USER, In::B(&wrong)));
    r.rv("C_Login(empty PIN)", p.login(s, CKU_USER, In::B(b"")));
    r.rv("C_Login(right PIN)", p.login(s, CKU_USER, In::B(&pin)));
    let (rv, state, _) = p.session_info(s, false);
    r.ob("C_GetSessionInfo after login", rv, format!("state={state}"));
    let (rv, state, _) = p.session_info(r.t.main, false);
    r.ob("C_GetSessionInfo(other session) after login", rv, format!("state={state}"));
    // Handles of private objects from before the logout (a fresh session:
    // SoftHSM runs one operation per session).
    let s = r.s();
    r.rv("C_EncryptInit(AES key handle from before logout)", p.init(Init::Encrypt, s, M::M(&ecb()), r.k.aes));
    let s = r.s();
    r.rv("C_SignInit(EC private handle from before logout)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), r.k.ec_priv));
}

pub(super) fn set_pin(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let ro = r.ro();
    let pin = r.t.pin.clone();
    let mut wrong = pin.clone();
    if let Some(last) = wrong.last_mut() {
        *last = if *last == b'x' { b'y' } else { b'x' };
    }
    r.rv("C_SetPIN(NULL old, 8)", p.set_pin(s, In::Null(8), In::B(&pin)));
    r.rv("C_SetPIN(NULL new, 8)", p.set_pin(s, In::B(&pin), In::Null(8)));
    r.rv("C_SetPIN(old wrong)", p.set_pin(s, In::B(&wrong), In::B(&pin)));
    r.rv("C_SetPIN(new 2 bytes)", p.set_pin(s, In::B(&pin), In::B(b"ab")));
    r.rv("C_SetPIN(RO session)", p.set_pin(ro, In::B(&pin), In::B(&pin)));
    r.rv("C_SetPIN(same PIN)", p.set_pin(s, In::B(&pin), In::B(&pin)));
}

// ---------------------------------------------------------------- objects

fn find_count(r: &mut Run<'_>, what: &str, s: CK_SESSION_HANDLE, t: &Template) {
    let p = r.p;
    r.rv(format!("C_FindObjectsInit({what})"), p.find_init(s, Tmpl::T(t)));
    let (rv, found) = p.find(s, Some(64), false);
    r.ob(format!("C_FindObjects({what})"), rv, format!("count={}", found.len()));
    r.rv(format!("C_FindObjectsFinal({what})"), p.find_final(s));
}

pub(super) fn find_objects(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let aes = Template::new(&[(CKA_CLASS, V::U(CKO_SECRET_KEY)), (CKA_LABEL, V::Bytes(b"diff-aes".to_vec()))]);
    find_count(r, "secret key diff-aes", s, &aes);
    find_count(r, "private keys", s, &Template::new(&[(CKA_CLASS, V::U(CKO_PRIVATE_KEY))]));
    find_count(r, "public keys", s, &Template::new(&[(CKA_CLASS, V::U(CKO_PUBLIC_KEY))]));
    find_count(r, "label diff-rsa-sign", s, &Template::new(&[(CKA_LABEL, V::Bytes(b"diff-rsa-sign".to_vec()))]));
    find_count(r, "label none-such", s, &Template::new(&[(CKA_LABEL, V::Bytes(b"none-such".to_vec()))]));
    find_count(r, "EC keys", s, &Template::new(&[(CKA_KEY_TYPE, V::U(CKK_EC))]));
    r.rv("C_FindObjectsInit(secret key)", p.find_init(s, Tmpl::T(&aes)));
    let (rv, found) = p.find(s, Some(1), false);
    r.ob("C_FindObjects(room 1)", rv, format!("count={}", found.len()));
    let (rv, found) = p.find(s, Some(1), false);
    r.ob("C_FindObjects(room 1) again", rv, format!("count={}", found.len()));
    r.rv("C_FindObjectsInit during a search", p.find_init(s, Tmpl::T(&aes)));
    r.rv("C_FindObjectsFinal", p.find_final(s));
    r.rv("C_FindObjectsFinal again", p.find_final(s));
    r.rv("C_FindObjects without init", p.find(s, Some(4), false).0);
    // All objects: counts differ by design (p11kms shows what the app's
    // policy allows), so only the codes.
    r.rv("C_FindObjectsInit(NULL, 0)", p.find_init(s, Tmpl::Null(0)));
    r.rv("C_FindObjects(all)", p.find(s, Some(64), false).0);
    r.rv("C_FindObjectsFinal(all)", p.find_final(s));
}

/// `C_GetAttributeValue` of real buffers, each value compared.
fn attrs(r: &mut Run<'_>, what: &str, o: CK_OBJECT_HANDLE, list: &[(&str, CK_ATTRIBUTE_TYPE, usize)]) {
    let s = r.t.main;
    let query: Vec<_> = list.iter().map(|(_, t, n)| (*t, Some(*n))).collect();
    let (rv, values) = r.p.get_attributes(s, o, &query);
    let mut obs = String::new();
    for ((name, type_, _), (len, bytes)) in list.iter().zip(values) {
        let len = if len == CK_UNAVAILABLE_INFORMATION { "-1".to_owned() } else { len.to_string() };
        // Key material differs between the tokens: of a modulus only the
        // length, of an EC point its encoding (DER OCTET STRING or raw).
        let shown = match *type_ {
            CKA_MODULUS => 0,
            CKA_EC_POINT => 3,
            _ => 8,
        };
        let _ = write!(obs, "{name}:{len}:{} ", hex(&bytes, shown));
    }
    r.ob(format!("C_GetAttributeValue({what})"), rv, obs.trim_end().to_owned());
}

pub(super) fn attributes_aes(r: &mut Run<'_>) {
    let aes = r.k.aes;
    attrs(
        r,
        "AES class, key type, length",
        aes,
        &[("CLASS", CKA_CLASS, 8), ("KEY_TYPE", CKA_KEY_TYPE, 8), ("VALUE_LEN", CKA_VALUE_LEN, 8)],
    );
    attrs(
        r,
        "AES booleans",
        aes,
        &[
            ("TOKEN", CKA_TOKEN, 1),
            ("PRIVATE", CKA_PRIVATE, 1),
            ("SENSITIVE", CKA_SENSITIVE, 1),
            ("EXTRACTABLE", CKA_EXTRACTABLE, 1),
            ("ENCRYPT", CKA_ENCRYPT, 1),
            ("DECRYPT", CKA_DECRYPT, 1),
            ("SIGN", CKA_SIGN, 1),
            ("WRAP", CKA_WRAP, 1),
            ("LOCAL", CKA_LOCAL, 1),
            ("ALWAYS_SENSITIVE", CKA_ALWAYS_SENSITIVE, 1),
            ("NEVER_EXTRACTABLE", CKA_NEVER_EXTRACTABLE, 1),
        ],
    );
    attrs(r, "AES label", aes, &[("LABEL", CKA_LABEL, 64)]);
    attrs(r, "AES value (sensitive)", aes, &[("VALUE", CKA_VALUE, 64)]);
    attrs(r, "AES unknown type", aes, &[("0x7ffffff0", 0x7fff_fff0, 8)]);
    attrs(
        r,
        "AES class, value, unknown",
        aes,
        &[("CLASS", CKA_CLASS, 8), ("VALUE", CKA_VALUE, 64), ("0x7ffffff0", 0x7fff_fff0, 8)],
    );
    attrs(r, "AES modulus (wrong type)", aes, &[("MODULUS", CKA_MODULUS, 512)]);
    attrs(r, "AES key gen mechanism", aes, &[("KEY_GEN_MECHANISM", CKA_KEY_GEN_MECHANISM, 8)]);
}

pub(super) fn attributes_asymmetric(r: &mut Run<'_>) {
    let k = r.k;
    attrs(
        r,
        "RSA public modulus bits, exponent",
        k.rsa_sign_pub,
        &[("MODULUS_BITS", CKA_MODULUS_BITS, 8), ("PUBLIC_EXPONENT", CKA_PUBLIC_EXPONENT, 8)],
    );
    attrs(r, "RSA public modulus length", k.rsa_sign_pub, &[("MODULUS", CKA_MODULUS, 512)]);
    attrs(
        r,
        "RSA public usage",
        k.rsa_sign_pub,
        &[("VERIFY", CKA_VERIFY, 1), ("ENCRYPT", CKA_ENCRYPT, 1), ("WRAP", CKA_WRAP, 1)],
    );
    attrs(
        r,
        "RSA private usage",
        k.rsa_sign_priv,
        &[("SIGN", CKA_SIGN, 1), ("DECRYPT", CKA_DECRYPT, 1), ("UNWRAP", CKA_UNWRAP, 1)],
    );
    attrs(r, "RSA enc private usage", k.rsa_enc_priv, &[("SIGN", CKA_SIGN, 1), ("DECRYPT", CKA_DECRYPT, 1)]);
    attrs(r, "RSA private exponent (sensitive)", k.rsa_sign_priv, &[("PRIVATE_EXPONENT", CKA_PRIVATE_EXPONENT, 512)]);
    attrs(r, "RSA private modulus length", k.rsa_sign_priv, &[("MODULUS", CKA_MODULUS, 512)]);
    attrs(r, "EC public params", k.ec_pub, &[("EC_PARAMS", CKA_EC_PARAMS, 64)]);
    attrs(r, "EC public point length", k.ec_pub, &[("EC_POINT", CKA_EC_POINT, 128)]);
    attrs(r, "EC private params", k.ec_priv, &[("EC_PARAMS", CKA_EC_PARAMS, 64), ("KEY_TYPE", CKA_KEY_TYPE, 8)]);
    attrs(r, "EC private value (sensitive)", k.ec_priv, &[("VALUE", CKA_VALUE, 64)]);
    attrs(r, "EC private derive", k.ec_priv, &[("DERIVE", CKA_DERIVE, 1), ("SIGN", CKA_SIGN, 1)]);
}

pub(super) fn create_objects(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let (rv, h) = p.create_object(s, Tmpl::T(&data_template("diff-data", false)), false);
    r.rv("C_CreateObject(session data)", rv);
    attrs(r, "data value", h, &[("VALUE", CKA_VALUE, 16), ("TOKEN", CKA_TOKEN, 1)]);
    let rename = Template::new(&[(CKA_LABEL, V::Bytes(b"diff-renamed".to_vec()))]);
    r.rv("C_SetAttributeValue(LABEL)", p.set_attributes(s, h, Tmpl::T(&rename)));
    attrs(r, "data label after set", h, &[("LABEL", CKA_LABEL, 32)]);
    r.rv("C_GetObjectSize", p.object_size(s, h, false).0);
    let copy_label = Template::new(&[(CKA_LABEL, V::Bytes(b"diff-copy".to_vec()))]);
    let (rv, copy) = p.copy_object(s, h, Tmpl::T(&copy_label));
    r.rv("C_CopyObject", rv);
    attrs(r, "copy value", copy, &[("VALUE", CKA_VALUE, 16)]);
    r.rv("C_DestroyObject(copy)", p.destroy_object(s, copy));
    r.rv("C_DestroyObject(data)", p.destroy_object(s, h));
    r.rv("C_DestroyObject(data) again", p.destroy_object(s, h));
    attrs(r, "destroyed data", h, &[("VALUE", CKA_VALUE, 16)]);
    let (rv, h) = p.create_object(s, Tmpl::T(&data_template("diff-token-data", true)), false);
    r.rv("C_CreateObject(token data)", rv);
    r.rv("C_DestroyObject(token data)", p.destroy_object(s, h));
    let ro = r.ro();
    r.rv(
        "C_CreateObject(token data, RO session)",
        p.create_object(ro, Tmpl::T(&data_template("diff-ro", true)), false).0,
    );
    let (rv, h) = p.create_object(ro, Tmpl::T(&data_template("diff-ro-session", false)), false);
    r.rv("C_CreateObject(session data, RO session)", rv);
    r.rv("C_DestroyObject(session data, RO session)", p.destroy_object(ro, h));
    let aes_value = Template::new(&[
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_AES)),
        (CKA_TOKEN, V::B(false)),
        (CKA_VALUE, V::Bytes(vec![7; 32])),
        (CKA_ENCRYPT, V::B(true)),
    ]);
    let (rv, h) = p.create_object(s, Tmpl::T(&aes_value), false);
    r.rv("C_CreateObject(AES key with value)", rv);
    let to_token = Template::new(&[(CKA_TOKEN, V::B(true)), (CKA_LABEL, V::Bytes(b"diff-imported".to_vec()))]);
    r.rv("C_CopyObject(AES key with value, to the token)", p.copy_object(s, h, Tmpl::T(&to_token)).0);
    r.rv("C_DestroyObject(AES key with value)", p.destroy_object(s, h));
    session_key_copies(r, &copy_label);
    let same_label = Template::new(&[(CKA_LABEL, V::Bytes(b"diff-aes".to_vec()))]);
    r.rv("C_SetAttributeValue(KMS AES label, unchanged)", p.set_attributes(s, r.k.aes, Tmpl::T(&same_label)));
    let sensitive_off = Template::new(&[(CKA_SENSITIVE, V::B(false))]);
    r.rv("C_SetAttributeValue(KMS AES SENSITIVE=FALSE)", p.set_attributes(s, r.k.aes, Tmpl::T(&sensitive_off)));
    r.rv("C_CopyObject(KMS AES)", p.copy_object(s, r.k.aes, Tmpl::T(&copy_label)).0);
}

/// Copies of a generated session key: in the session, and to the token
/// (a KMS key on p11kms, "Keys that applications name").
fn session_key_copies(r: &mut Run<'_>, copy_label: &Template) {
    let p = r.p;
    let s = r.s();
    let (rv, key) =
        p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("diff-session", false, Some(32))), false);
    r.rv("C_GenerateKey(session AES diff-session)", rv);
    let flags = [
        ("COPYABLE", CKA_COPYABLE, 1),
        ("EXTRACTABLE", CKA_EXTRACTABLE, 1),
        ("NEVER_EXTRACTABLE", CKA_NEVER_EXTRACTABLE, 1),
        ("TOKEN", CKA_TOKEN, 1),
    ];
    attrs(r, "session AES copy flags", key, &flags);
    let (rv, copy) = p.copy_object(s, key, Tmpl::T(copy_label));
    r.rv("C_CopyObject(session AES)", rv);
    attrs(r, "session copy", copy, &[("LABEL", CKA_LABEL, 32), ("TOKEN", CKA_TOKEN, 1)]);
    r.rv("C_DestroyObject(session copy)", p.destroy_object(s, copy));
    let to_token = Template::new(&[(CKA_TOKEN, V::B(true)), (CKA_LABEL, V::Bytes(b"diff-stored".to_vec()))]);
    let (rv, stored) = p.copy_object(s, key, Tmpl::T(&to_token));
    r.rv("C_CopyObject(session AES, to the token)", rv);
    attrs(
        r,
        "stored copy",
        stored,
        &[("TOKEN", CKA_TOKEN, 1), ("CLASS", CKA_CLASS, 8), ("VALUE_LEN", CKA_VALUE_LEN, 8)],
    );
    r.rv("C_DestroyObject(session AES)", p.destroy_object(s, key));
    // A token key with CKA_ALLOWED_MECHANISMS (a KMS key here): kept and
    // enforced.
    let gcm_only = Template::new(&[
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_AES)),
        (CKA_TOKEN, V::B(true)),
        (CKA_LABEL, V::Bytes(b"diff-gcm-only".to_vec())),
        (CKA_ENCRYPT, V::B(true)),
        (CKA_DECRYPT, V::B(true)),
        (CKA_VALUE_LEN, V::U(32)),
        (CKA_ALLOWED_MECHANISMS, V::Bytes(CKM_AES_GCM.to_le_bytes().to_vec())),
    ]);
    let (rv, key) = p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&gcm_only), false);
    r.rv("C_GenerateKey(token AES, ALLOWED_MECHANISMS = GCM)", rv);
    attrs(r, "token key mechanisms", key, &[("ALLOWED_MECHANISMS", CKA_ALLOWED_MECHANISMS, 16)]);
    r.rv("C_EncryptInit(CBC-PAD, GCM-only key)", p.init(Init::Encrypt, s, M::M(&cbc_pad()), key));
    r.rv("C_EncryptInit(GCM, GCM-only key)", p.init(Init::Encrypt, s, M::M(&gcm()), key));
}

pub(super) fn destroy_token_key(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let (rv, key) =
        p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("diff-doomed", true, Some(32))), false);
    r.rv("C_GenerateKey(token AES diff-doomed)", rv);
    r.rv("C_DestroyObject(token key)", p.destroy_object(s, key));
    r.rv("C_EncryptInit(destroyed key)", p.init(Init::Encrypt, s, M::M(&ecb()), key));
    r.rv("C_DestroyObject(token key) again", p.destroy_object(s, key));
    find_count(r, "label diff-doomed", s, &Template::new(&[(CKA_LABEL, V::Bytes(b"diff-doomed".to_vec()))]));
    let ro = r.ro();
    let (rv, key) = p.generate_key(ro, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("", false, Some(32))), false);
    r.rv("C_GenerateKey(session AES, RO session)", rv);
    r.rv("C_DestroyObject(session key, RO session)", p.destroy_object(ro, key));
    r.rv("C_DestroyObject(KMS AES, RO session)", p.destroy_object(ro, r.k.aes));
}

// ---------------------------------------------------------------- keygen

pub(super) fn keygen_secret(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let (rv, key) = p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("", false, Some(32))), false);
    r.rv("C_GenerateKey(session AES-256)", rv);
    attrs(r, "session AES", key, &[("VALUE_LEN", CKA_VALUE_LEN, 8), ("TOKEN", CKA_TOKEN, 1), ("LOCAL", CKA_LOCAL, 1)]);
    let (rv, key) =
        p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&aes_template("diff-gen-128", true, Some(16))), false);
    r.rv("C_GenerateKey(token AES-128)", rv);
    attrs(r, "token AES-128", key, &[("VALUE_LEN", CKA_VALUE_LEN, 8), ("TOKEN", CKA_TOKEN, 1)]);
    let bare = Template::new(&[(CKA_VALUE_LEN, V::U(32))]);
    r.rv("C_GenerateKey(AES, only VALUE_LEN)", p.generate_key(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&bare), false).0);
    let (rv, generic) = p.generate_key(
        s,
        M::M(&m(CKM_GENERIC_SECRET_KEY_GEN)),
        Tmpl::T(&Template::new(&[(CKA_VALUE_LEN, V::U(32)), (CKA_TOKEN, V::B(false)), (CKA_SIGN, V::B(true))])),
        false,
    );
    r.rv("C_GenerateKey(GENERIC_SECRET session)", rv);
    attrs(r, "generic secret", generic, &[("KEY_TYPE", CKA_KEY_TYPE, 8), ("VALUE_LEN", CKA_VALUE_LEN, 8)]);
}

pub(super) fn keygen_secret_refusals(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let aes_gen = m(CKM_AES_KEY_GEN);
    let call = |r: &mut Run<'_>, what: &str, t: &Template| {
        let rv = p.generate_key(s, M::M(&aes_gen), Tmpl::T(t), false).0;
        r.rv(format!("C_GenerateKey({what})"), rv);
    };
    call(r, "token AES-192", &aes_template("diff-gen-192", true, Some(24)));
    call(r, "session AES-192", &aes_template("", false, Some(24)));
    call(r, "token AES, no VALUE_LEN", &aes_template("diff-gen-nolen", true, None));
    call(r, "token AES, VALUE_LEN 0", &aes_template("diff-gen-0", true, Some(0)));
    call(r, "token AES, VALUE_LEN 33", &aes_template("diff-gen-33", true, Some(33)));
    let wrong_class = Template::new(&[(CKA_CLASS, V::U(CKO_PUBLIC_KEY)), (CKA_VALUE_LEN, V::U(32))]);
    call(r, "AES, class PUBLIC_KEY", &wrong_class);
    let wrong_type = Template::new(&[(CKA_KEY_TYPE, V::U(CKK_RSA)), (CKA_VALUE_LEN, V::U(32))]);
    call(r, "AES, key type RSA", &wrong_type);
    let bad_label = aes_template("bad label with spaces", true, Some(32));
    call(r, "token AES, label with spaces", &bad_label);
    let array = Template::new(&[(CKA_VALUE_LEN, V::U(32)), (CKA_WRAP_TEMPLATE, V::Bytes(Vec::new()))]);
    call(r, "AES, empty WRAP_TEMPLATE", &array);
    let good = aes_template("", false, Some(32));
    r.rv("C_GenerateKey(NULL mechanism)", p.generate_key(s, M::Null, Tmpl::T(&good), false).0);
    r.rv("C_GenerateKey(NULL phKey)", p.generate_key(s, M::M(&aes_gen), Tmpl::T(&good), true).0);
    r.rv("C_GenerateKey(NULL template, 2)", p.generate_key(s, M::M(&aes_gen), Tmpl::Null(2), false).0);
    r.rv("C_GenerateKey(NULL template, 0)", p.generate_key(s, M::M(&aes_gen), Tmpl::Null(0), false).0);
    let rsa_gen = m(CKM_RSA_PKCS_KEY_PAIR_GEN);
    r.rv("C_GenerateKey(RSA_PKCS_KEY_PAIR_GEN)", p.generate_key(s, M::M(&rsa_gen), Tmpl::T(&good), false).0);
    r.rv("C_GenerateKey(AES_CBC)", p.generate_key(s, M::M(&cbc()), Tmpl::T(&good), false).0);
    let with_param = Mech::bytes(CKM_AES_KEY_GEN, &[0; 8]);
    r.rv("C_GenerateKey(AES_KEY_GEN with a parameter)", p.generate_key(s, M::M(&with_param), Tmpl::T(&good), false).0);
    let ro = r.ro();
    let token = aes_template("diff-gen-ro", true, Some(32));
    r.rv("C_GenerateKey(token AES, RO session)", p.generate_key(ro, M::M(&aes_gen), Tmpl::T(&token), false).0);
}

fn rsa_templates(label: &str, token: bool, bits: Option<CK_ULONG>, sign: bool) -> (Template, Template) {
    let mut public = vec![(CKA_TOKEN, V::B(token)), (CKA_VERIFY, V::B(sign)), (CKA_ENCRYPT, V::B(!sign))];
    if let Some(bits) = bits {
        public.push((CKA_MODULUS_BITS, V::U(bits)));
    }
    public.push((CKA_PUBLIC_EXPONENT, V::Bytes(vec![1, 0, 1])));
    let mut private = vec![
        (CKA_TOKEN, V::B(token)),
        (CKA_PRIVATE, V::B(true)),
        (CKA_SENSITIVE, V::B(true)),
        (CKA_SIGN, V::B(sign)),
        (CKA_DECRYPT, V::B(!sign)),
    ];
    if !label.is_empty() {
        public.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
        private.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
    }
    (Template::new(&public), Template::new(&private))
}

pub(super) fn keygen_pair(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let ec_gen = m(CKM_EC_KEY_PAIR_GEN);
    let (public, private) = ec_templates("", false, Some(&P256), false);
    let (rv, pubk, _) = p.generate_key_pair(s, M::M(&ec_gen), Tmpl::T(&public), Tmpl::T(&private));
    r.rv("C_GenerateKeyPair(session EC P-256)", rv);
    attrs(r, "session EC public", pubk, &[("TOKEN", CKA_TOKEN, 1), ("EC_PARAMS", CKA_EC_PARAMS, 16)]);
    let (public, private) = ec_templates("diff-gen-ec", true, Some(&P256), false);
    let (rv, pubk, privk) = p.generate_key_pair(s, M::M(&ec_gen), Tmpl::T(&public), Tmpl::T(&private));
    r.rv("C_GenerateKeyPair(token EC P-256)", rv);
    attrs(r, "token EC public", pubk, &[("TOKEN", CKA_TOKEN, 1), ("LABEL", CKA_LABEL, 32)]);
    attrs(r, "token EC private", privk, &[("TOKEN", CKA_TOKEN, 1), ("LABEL", CKA_LABEL, 32)]);
    let (public, private) = rsa_templates("", false, Some(2048), false);
    let (rv, pubk, _) =
        p.generate_key_pair(s, M::M(&m(CKM_RSA_PKCS_KEY_PAIR_GEN)), Tmpl::T(&public), Tmpl::T(&private));
    r.rv("C_GenerateKeyPair(session RSA-2048 decrypt)", rv);
    attrs(r, "session RSA public", pubk, &[("MODULUS_BITS", CKA_MODULUS_BITS, 8), ("ENCRYPT", CKA_ENCRYPT, 1)]);
}

pub(super) fn keygen_pair_refusals(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let ec_gen = m(CKM_EC_KEY_PAIR_GEN);
    let rsa_gen = m(CKM_RSA_PKCS_KEY_PAIR_GEN);
    let call = |r: &mut Run<'_>, what: &str, mech: &Mech, (public, private): (Template, Template)| {
        let rv = p.generate_key_pair(s, M::M(mech), Tmpl::T(&public), Tmpl::T(&private)).0;
        r.rv(format!("C_GenerateKeyPair({what})"), rv);
    };
    call(r, "token EC P-384", &ec_gen, ec_templates("diff-gen-p384", true, Some(&P384), false));
    call(r, "token EC, no EC_PARAMS", &ec_gen, ec_templates("diff-gen-ecnone", true, None, false));
    call(r, "token EC, EC_PARAMS garbage", &ec_gen, ec_templates("diff-gen-ecbad", true, Some(&[1, 2, 3]), false));
    call(r, "token RSA-1024", &rsa_gen, rsa_templates("diff-gen-1024", true, Some(1024), true));
    call(r, "token RSA, no MODULUS_BITS", &rsa_gen, rsa_templates("diff-gen-rsanone", true, None, true));
    let (public, _) = ec_templates("", false, Some(&P256), false);
    let (_, private) = ec_templates("diff-gen-mixed", true, Some(&P256), false);
    call(r, "EC public session, private token", &ec_gen, (public, private));
    let (public, private) = ec_templates("", false, Some(&P256), false);
    r.rv(
        "C_GenerateKeyPair(NULL public template, 1)",
        p.generate_key_pair(s, M::M(&ec_gen), Tmpl::Null(1), Tmpl::T(&private)).0,
    );
    r.rv(
        "C_GenerateKeyPair(NULL private template, 1)",
        p.generate_key_pair(s, M::M(&ec_gen), Tmpl::T(&public), Tmpl::Null(1)).0,
    );
    r.rv("C_GenerateKeyPair(NULL mechanism)", p.generate_key_pair(s, M::Null, Tmpl::T(&public), Tmpl::T(&private)).0);
    r.rv(
        "C_GenerateKeyPair(AES_KEY_GEN)",
        p.generate_key_pair(s, M::M(&m(CKM_AES_KEY_GEN)), Tmpl::T(&public), Tmpl::T(&private)).0,
    );
}
