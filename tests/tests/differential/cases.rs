//! The table of cases of the differential harness (`differential.rs`).
//!
//! A case is a name, a class (used to group differences in the report) and
//! a function that makes a fixed sequence of PKCS#11 calls on one module
//! ([`Run`]) and records each call: what was called, its `CK_RV`, and an
//! observation that must be equal on both modules (an output length, a
//! digest, "the round trip gave the plaintext back"). Observations never
//! hold key-dependent bytes: the two tokens have different keys.
//!
//! A case makes the same calls whatever the answers are, so its records
//! line up call by call between the modules. Add a case by writing a
//! `fn(&mut Run<'_>)` and listing it in [`all`]; the known-differences file
//! then needs blessing (`P11KMS_BLESS=1`, see `differential.rs`).

use std::fmt::Write as _;

use cryptoki_sys::*;

use super::ffi::{Fin, Got, In, Init, Io, M, Mech, Out, P11, Template, Tmpl, Upd, V};

/// The kinds of difference the report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Normal arguments: what every application does.
    Normal,
    /// NULL pointers, lengths with NULL, huge lengths.
    Arguments,
    /// Output buffer sizes and the two-call convention.
    Buffers,
    /// Missing, short, long, malformed mechanism parameters.
    MechParams,
    /// Wrong key type, or a key without the function's usage.
    KeyUse,
    /// What state an operation is in after an error.
    AfterError,
    /// Invalid, closed, zero session and object handles.
    Handles,
    /// Mechanisms or functions one module does not offer.
    Unsupported,
}

impl Class {
    pub fn label(self) -> &'static str {
        match self {
            Class::Normal => "normal arguments (other)",
            Class::Arguments => "arguments/NULL",
            Class::Buffers => "buffer sizes",
            Class::MechParams => "mechanism params",
            Class::KeyUse => "key type/function",
            Class::AfterError => "after-error state",
            Class::Handles => "handles",
            Class::Unsupported => "unsupported mechanism/function",
        }
    }
}

/// One case of the table.
#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub class: Class,
    pub run: fn(&mut Run<'_>),
}

/// The objects every token has, generated the same way in each.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keys {
    /// AES-256, encrypt/decrypt.
    pub aes: CK_OBJECT_HANDLE,
    /// RSA-2048 for signatures only.
    pub rsa_sign_pub: CK_OBJECT_HANDLE,
    pub rsa_sign_priv: CK_OBJECT_HANDLE,
    /// RSA-2048 for encryption only.
    pub rsa_enc_pub: CK_OBJECT_HANDLE,
    pub rsa_enc_priv: CK_OBJECT_HANDLE,
    /// EC P-256, sign/verify.
    pub ec_pub: CK_OBJECT_HANDLE,
    pub ec_priv: CK_OBJECT_HANDLE,
}

/// One module, ready: its table, the slot of its test token, the user PIN,
/// a logged-in session kept open for the whole run, and the keys.
#[derive(Debug)]
pub struct Target {
    pub name: &'static str,
    pub p: P11,
    pub slot: CK_SLOT_ID,
    pub pin: Vec<u8>,
    pub main: CK_SESSION_HANDLE,
    pub k: Keys,
}

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The call and its arguments, as written in the case (the same on both
    /// modules).
    pub what: String,
    pub rv: CK_RV,
    /// What must be equal besides the `CK_RV` ("" when nothing).
    pub obs: String,
}

/// A case running on one module.
#[derive(Debug)]
pub struct Run<'a> {
    pub t: &'a Target,
    pub p: P11,
    pub k: Keys,
    pub calls: Vec<Call>,
    opened: Vec<CK_SESSION_HANDLE>,
}

impl<'a> Run<'a> {
    pub fn new(t: &'a Target) -> Self {
        Self { t, p: t.p, k: t.k, calls: Vec::new(), opened: Vec::new() }
    }

    /// Records a call with its `CK_RV` only.
    pub fn rv(&mut self, what: impl Into<String>, rv: CK_RV) -> CK_RV {
        self.ob(what, rv, "")
    }

    /// Records a call with an observation that must match.
    pub fn ob(&mut self, what: impl Into<String>, rv: CK_RV, obs: impl Into<String>) -> CK_RV {
        self.calls.push(Call { what: what.into(), rv, obs: obs.into() });
        rv
    }

    /// Records an output call: the length is compared when the call says
    /// `CKR_OK` or `CKR_BUFFER_TOO_SMALL`.
    pub fn got(&mut self, what: impl Into<String>, g: Got) -> Got {
        let obs = if g.rv == CKR_OK || g.rv == CKR_BUFFER_TOO_SMALL { format!("len={}", g.len) } else { String::new() };
        self.ob(what, g.rv, obs);
        g
    }

    /// Records an output call whose bytes must equal `expected` (a
    /// decryption's plaintext).
    pub fn got_eq(&mut self, what: impl Into<String>, g: Got, expected: &[u8]) -> Got {
        let obs = match g.rv {
            CKR_OK if g.bytes == expected => format!("len={} plaintext", g.len),
            CKR_OK => format!("len={} NOT-plaintext", g.len),
            CKR_BUFFER_TOO_SMALL => format!("len={}", g.len),
            _ => String::new(),
        };
        self.ob(what, g.rv, obs);
        g
    }

    /// Records an output call whose bytes are key-less and deterministic (a
    /// digest): they are compared.
    pub fn got_bytes(&mut self, what: impl Into<String>, g: Got) -> Got {
        let obs = if g.rv == CKR_OK { format!("len={} {}", g.len, hex(&g.bytes, 12)) } else { String::new() };
        self.ob(what, g.rv, obs);
        g
    }

    /// Makes a call that may crash SoftHSM (a malformed argument it does
    /// not check): on SoftHSM the call is first made in a forked child, and
    /// if the child dies of a signal the call is not made here and
    /// `crashed` is returned instead ([`CRASHED`] in its `CK_RV`). p11kms
    /// answers `CKR_CRYPTOKI_NOT_INITIALIZED` in a forked child, so a child
    /// would prove nothing about it: its calls are made directly.
    pub fn guard<T>(&self, call: impl Fn() -> T, crashed: T) -> T {
        if self.t.name == "softhsm" && !survives(|| drop(call())) { crashed } else { call() }
    }

    /// A fresh read/write session of the test slot (setup, not recorded;
    /// closed when the case ends). The slot's login covers it.
    pub fn s(&mut self) -> CK_SESSION_HANDLE {
        self.open(CKF_SERIAL_SESSION | CKF_RW_SESSION)
    }

    /// A fresh read-only session.
    pub fn ro(&mut self) -> CK_SESSION_HANDLE {
        self.open(CKF_SERIAL_SESSION)
    }

    fn open(&mut self, flags: CK_FLAGS) -> CK_SESSION_HANDLE {
        let (rv, s) = self.p.open_session(self.t.slot, flags, false);
        assert_eq!(rv, CKR_OK, "{}: C_OpenSession for a case", self.t.name);
        self.opened.push(s);
        s
    }

    /// Closes the sessions the case opened (their results are not part of
    /// the comparison).
    pub fn finish(&mut self) {
        for s in self.opened.drain(..) {
            let _ = self.p.close_session(s);
        }
    }
}

/// The `CK_RV` recorded for a call that killed SoftHSM's process (in a
/// forked child); not a PKCS#11 value.
pub const CRASHED: CK_RV = 0xdead_dead;

/// Runs `call` in a forked child; false when the child died of a signal.
fn survives(call: impl Fn()) -> bool {
    // SAFETY: the child makes one call into the module, then leaves with
    // `_exit` (no destructors, no return into the test harness); a panic is
    // caught before it could unwind out of the child's call.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
        // SAFETY: ends the child at once, as above.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is a live local.
    let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    !libc::WIFSIGNALED(status)
}

/// Lowercase hex of the first `max` bytes.
pub fn hex(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for b in bytes.iter().take(max) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

const DATA32: [u8; 32] = [0x11; 32];
const DATA20: [u8; 20] = [0x22; 20];
const HASH32: [u8; 32] = [0x5a; 32];
const MSG: &[u8] = b"the quick brown fox jumps over the lazy dog";
const IV16: [u8; 16] = [0x01; 16];
const IV12: [u8; 12] = [0x02; 12];
/// The DER OIDs of P-256 and P-384.
pub const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const BAD_SESSION: CK_SESSION_HANDLE = 0xdead_beef;
const BAD_SLOT: CK_SLOT_ID = 0xdead_beef;
/// The input lengths claimed with a NULL pointer.
const HUGE: [CK_ULONG; 3] = [0x7fff_ffff, 0x8000_0000, CK_ULONG::MAX];
/// The vendor envelope mechanism of p11kms.
const CKM_P11KMS_ENVELOPE: CK_MECHANISM_TYPE = 0x8050_4B01;

fn cbc() -> Mech {
    Mech::bytes(CKM_AES_CBC, &IV16)
}
fn cbc_pad() -> Mech {
    Mech::bytes(CKM_AES_CBC_PAD, &IV16)
}
fn ecb() -> Mech {
    Mech::plain(CKM_AES_ECB)
}
fn gcm() -> Mech {
    Mech::gcm(&IV12, b"", 128)
}
fn oaep_sha1() -> Mech {
    Mech::oaep(CKM_SHA_1, CKG_MGF1_SHA1, b"")
}
fn pss_sha256() -> Mech {
    Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32)
}
fn m(ty: CK_MECHANISM_TYPE) -> Mech {
    Mech::plain(ty)
}

/// The whole table, in the order it runs. `close-all-sessions` ends the
/// main sessions and must stay last.
pub fn all() -> Vec<Case> {
    macro_rules! cases {
        ($($name:literal $class:ident $f:ident),* $(,)?) => {
            vec![$(Case { name: $name, class: Class::$class, run: $f }),*]
        };
    }
    cases![
        "info" Normal info,
        "initialize-finalize" Arguments initialize_finalize,
        "slots-and-tokens" Normal slots_and_tokens,
        "mechanism-list" Normal mechanism_list,
        "mechanism-info" Normal mechanism_info,
        "mechanism-info-unsupported" Unsupported mechanism_info_unsupported,
        "sessions" Normal sessions,
        "login-states" Normal login_states,
        "logout-and-login" Normal logout_and_login,
        "set-pin" Normal set_pin,
        "token-admin" Unsupported token_admin,
        "find-objects" Normal find_objects,
        "find-objects-args" Arguments find_objects_args,
        "attributes-aes" Normal attributes_aes,
        "attributes-asymmetric" Normal attributes_asymmetric,
        "attributes-buffers" Buffers attributes_buffers,
        "create-objects" Normal create_objects,
        "create-objects-args" Arguments create_objects_args,
        "destroy-token-key" Normal destroy_token_key,
        "keygen-secret" Normal keygen_secret,
        "keygen-secret-refusals" Normal keygen_secret_refusals,
        "keygen-pair" Normal keygen_pair,
        "keygen-pair-refusals" Normal keygen_pair_refusals,
        "digest" Normal digest,
        "digest-multipart" Normal digest_multipart,
        "digest-unsupported" Unsupported digest_unsupported,
        "digest-key" Normal digest_key,
        "random" Normal random,
        "random-args" Arguments random_args,
        "aes-roundtrip" Normal aes_roundtrip,
        "aes-multipart" Normal aes_multipart,
        "rsa-roundtrip" Normal rsa_roundtrip,
        "sign-verify" Normal sign_verify,
        "sign-verify-multipart" Normal sign_verify_multipart,
        "decrypt-invalid" Normal decrypt_invalid,
        "verify-invalid" Normal verify_invalid,
        "wrap-unwrap" Normal wrap_unwrap,
        "derive" Normal derive,
        "unsupported-functions" Unsupported unsupported_functions,
        "unsupported-mechanisms" Unsupported unsupported_mechanisms,
        "out-buffers-encrypt" Buffers out_buffers_encrypt,
        "out-buffers-decrypt" Buffers out_buffers_decrypt,
        "out-buffers-sign" Buffers out_buffers_sign,
        "out-buffers-digest" Buffers out_buffers_digest,
        "out-buffers-final" Buffers out_buffers_final,
        "out-buffers-wrap" Buffers out_buffers_wrap,
        "in-null-digest" Arguments in_null_digest,
        "in-null-encrypt" Arguments in_null_encrypt,
        "in-null-decrypt" Arguments in_null_decrypt,
        "in-null-sign" Arguments in_null_sign,
        "in-null-verify" Arguments in_null_verify,
        "in-null-misc" Arguments in_null_misc,
        "out-null-len" Arguments out_null_len,
        "null-mechanism" Arguments null_mechanism,
        "params-cbc" MechParams params_cbc,
        "params-ctr" MechParams params_ctr,
        "params-gcm" MechParams params_gcm,
        "params-oaep" MechParams params_oaep,
        "params-pss" MechParams params_pss,
        "params-unexpected" MechParams params_unexpected,
        "params-null-huge" MechParams params_null_huge,
        "key-type" KeyUse key_type,
        "key-function" KeyUse key_function,
        "after-error" AfterError after_error,
        "after-error-multipart" AfterError after_error_multipart,
        "closed-session" Handles closed_session,
        "session-handle-0" Handles session_handle_0,
        "session-handle-deadbeef" Handles session_handle_deadbeef,
        "object-handle-invalid" Handles object_handle_invalid,
        "close-all-sessions" Handles close_all_sessions,
    ]
}

// ---------------------------------------------------------------- general

fn info(r: &mut Run<'_>) {
    let p = r.p;
    let (rv, version) = p.get_info(false);
    r.ob("C_GetInfo", rv, format!("cryptokiVersion={version}"));
    r.rv("C_GetInfo(NULL)", p.get_info(true).0);
    r.rv("C_GetFunctionList", p.function_list(false));
    r.rv("C_GetFunctionList(NULL)", p.function_list(true));
}

/// `C_Initialize` and `C_Finalize` while initialized: each must be refused
/// and leave the module working.
fn initialize_finalize(r: &mut Run<'_>) {
    let p = r.p;
    r.rv("C_Initialize(NULL) again", p.initialize_odd(true, false, false));
    r.rv("C_Initialize(OS locking) again", p.initialize_odd(false, false, false));
    r.rv("C_Initialize(pReserved set) again", p.initialize_odd(false, true, false));
    r.rv("C_Initialize(one mutex callback) again", p.initialize_odd(false, false, true));
    r.rv("C_Finalize(pReserved set)", p.finalize_reserved());
    let (rv, state, _) = p.session_info(r.t.main, false);
    r.ob("C_GetSessionInfo(main) afterwards", rv, format!("state={state}"));
}

fn slots_and_tokens(r: &mut Run<'_>) {
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

fn mechanism_list(r: &mut Run<'_>) {
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

fn mech_info_calls(r: &mut Run<'_>, list: &[(&str, CK_MECHANISM_TYPE)]) {
    let (p, slot) = (r.p, r.t.slot);
    for (name, ty) in list {
        let (rv, [min, max, flags]) = p.mechanism_info(slot, *ty, false);
        let obs = if rv == CKR_OK { format!("min={min} max={max} flags=0x{flags:x}") } else { String::new() };
        r.ob(format!("C_GetMechanismInfo({name})"), rv, obs);
    }
}

fn mechanism_info(r: &mut Run<'_>) {
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

fn mechanism_info_unsupported(r: &mut Run<'_>) {
    mech_info_calls(
        r,
        &[
            ("ECDSA_SHA256", CKM_ECDSA_SHA256),
            ("MD5", CKM_MD5),
            ("RSA_X_509", CKM_RSA_X_509),
            ("DES3_CBC", CKM_DES3_CBC),
            ("DES3_KEY_GEN", CKM_DES3_KEY_GEN),
            ("SHA256_HMAC", CKM_SHA256_HMAC),
            ("AES_CMAC", CKM_AES_CMAC),
            ("GENERIC_SECRET_KEY_GEN", CKM_GENERIC_SECRET_KEY_GEN),
            ("ECDH1_DERIVE", CKM_ECDH1_DERIVE),
            ("DH_PKCS_KEY_PAIR_GEN", CKM_DH_PKCS_KEY_PAIR_GEN),
            ("P11KMS_ENVELOPE", CKM_P11KMS_ENVELOPE),
        ],
    );
}

// ---------------------------------------------------------------- sessions

fn sessions(r: &mut Run<'_>) {
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

fn login_states(r: &mut Run<'_>) {
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

fn logout_and_login(r: &mut Run<'_>) {
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

fn set_pin(r: &mut Run<'_>) {
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

fn token_admin(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let s = r.s();
    // Sessions are open, so a conforming C_InitToken refuses before it
    // could reinitialize anything.
    r.rv("C_InitToken(sessions open, wrong SO PIN)", p.init_token(slot, In::B(b"not-the-so-pin")));
    r.rv("C_InitToken(NULL, 8)", p.init_token(slot, In::Null(8)));
    r.rv("C_InitPIN(as USER)", p.init_pin(s, In::B(b"new-user-pin")));
    r.rv("C_InitPIN(NULL, 8)", p.init_pin(s, In::Null(8)));
}

// ---------------------------------------------------------------- objects

fn find_count(r: &mut Run<'_>, what: &str, s: CK_SESSION_HANDLE, t: &Template) {
    let p = r.p;
    r.rv(format!("C_FindObjectsInit({what})"), p.find_init(s, Tmpl::T(t)));
    let (rv, found) = p.find(s, Some(64), false);
    r.ob(format!("C_FindObjects({what})"), rv, format!("count={}", found.len()));
    r.rv(format!("C_FindObjectsFinal({what})"), p.find_final(s));
}

fn find_objects(r: &mut Run<'_>) {
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

fn find_objects_args(r: &mut Run<'_>) {
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

fn attributes_aes(r: &mut Run<'_>) {
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

fn attributes_asymmetric(r: &mut Run<'_>) {
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

fn attributes_buffers(r: &mut Run<'_>) {
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

fn data_template(label: &str, token: bool) -> Template {
    Template::new(&[
        (CKA_CLASS, V::U(CKO_DATA)),
        (CKA_TOKEN, V::B(token)),
        (CKA_LABEL, V::Bytes(label.as_bytes().to_vec())),
        (CKA_APPLICATION, V::Bytes(b"differential".to_vec())),
        (CKA_VALUE, V::Bytes(b"hello".to_vec())),
    ])
}

fn create_objects(r: &mut Run<'_>) {
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
    r.rv("C_DestroyObject(AES key with value)", p.destroy_object(s, h));
    let same_label = Template::new(&[(CKA_LABEL, V::Bytes(b"diff-aes".to_vec()))]);
    r.rv("C_SetAttributeValue(KMS AES label, unchanged)", p.set_attributes(s, r.k.aes, Tmpl::T(&same_label)));
    let sensitive_off = Template::new(&[(CKA_SENSITIVE, V::B(false))]);
    r.rv("C_SetAttributeValue(KMS AES SENSITIVE=FALSE)", p.set_attributes(s, r.k.aes, Tmpl::T(&sensitive_off)));
    r.rv("C_CopyObject(KMS AES)", p.copy_object(s, r.k.aes, Tmpl::T(&copy_label)).0);
}

fn create_objects_args(r: &mut Run<'_>) {
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

fn aes_template(label: &str, token: bool, len: Option<CK_ULONG>) -> Template {
    let mut list = vec![
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_AES)),
        (CKA_TOKEN, V::B(token)),
        (CKA_LABEL, V::Bytes(label.as_bytes().to_vec())),
        (CKA_ENCRYPT, V::B(true)),
        (CKA_DECRYPT, V::B(true)),
    ];
    if let Some(len) = len {
        list.push((CKA_VALUE_LEN, V::U(len)));
    }
    Template::new(&list)
}

fn destroy_token_key(r: &mut Run<'_>) {
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

fn keygen_secret(r: &mut Run<'_>) {
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

fn keygen_secret_refusals(r: &mut Run<'_>) {
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

fn ec_templates(label: &str, token: bool, params: Option<&[u8]>, derive: bool) -> (Template, Template) {
    let mut public = vec![(CKA_TOKEN, V::B(token)), (CKA_VERIFY, V::B(true))];
    if let Some(params) = params {
        public.push((CKA_EC_PARAMS, V::Bytes(params.to_vec())));
    }
    let mut private = vec![
        (CKA_TOKEN, V::B(token)),
        (CKA_PRIVATE, V::B(true)),
        (CKA_SENSITIVE, V::B(true)),
        (CKA_SIGN, V::B(true)),
        (CKA_DERIVE, V::B(derive)),
    ];
    if !label.is_empty() {
        public.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
        private.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
    }
    (Template::new(&public), Template::new(&private))
}

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
    assert_eq!(rv, CKR_OK, "AES key: {}", super::ffi::rv_name(rv));
    let pair = |mech: CK_MECHANISM_TYPE,
                name: &str,
                mut public: Vec<(CK_ATTRIBUTE_TYPE, V)>,
                mut private: Vec<(CK_ATTRIBUTE_TYPE, V)>| {
        public.push(label(name));
        private.push(label(name));
        let (rv, a, b) =
            p.generate_key_pair(s, M::M(&m(mech)), Tmpl::T(&Template::new(&public)), Tmpl::T(&Template::new(&private)));
        assert_eq!(rv, CKR_OK, "{name}: {}", super::ffi::rv_name(rv));
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
    assert_eq!(rv, CKR_OK, "EC pair: {}", super::ffi::rv_name(rv));
    Keys { aes, rsa_sign_pub, rsa_sign_priv, rsa_enc_pub, rsa_enc_priv, ec_pub, ec_priv }
}

fn keygen_pair(r: &mut Run<'_>) {
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

fn keygen_pair_refusals(r: &mut Run<'_>) {
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

// ---------------------------------------------------------------- digest, random

const DIGESTS: [(&str, CK_MECHANISM_TYPE); 5] = [
    ("SHA_1", CKM_SHA_1),
    ("SHA224", CKM_SHA224),
    ("SHA256", CKM_SHA256),
    ("SHA384", CKM_SHA384),
    ("SHA512", CKM_SHA512),
];

fn digest(r: &mut Run<'_>) {
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

fn digest_multipart(r: &mut Run<'_>) {
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

fn digest_unsupported(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    for (name, ty) in [("MD5", CKM_MD5), ("SHA512_256", CKM_SHA512_256), ("SHA3_256", CKM_SHA3_256)] {
        r.rv(format!("C_DigestInit({name})"), p.digest_init(s, M::M(&m(ty))));
        r.got_bytes(format!("C_Digest({name})"), p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));
    }
}

fn digest_key(r: &mut Run<'_>) {
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

fn random(r: &mut Run<'_>) {
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

fn random_args(r: &mut Run<'_>) {
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

// ---------------------------------------------------------------- crypto, normal

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

fn aes_roundtrip(r: &mut Run<'_>) {
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

fn aes_multipart(r: &mut Run<'_>) {
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

fn rsa_roundtrip(r: &mut Run<'_>) {
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

/// Signs with `private` and verifies with `public`, then verifies a
/// changed message.
fn sign_and_verify(
    r: &mut Run<'_>,
    name: &str,
    mech: &Mech,
    private: CK_OBJECT_HANDLE,
    public: CK_OBJECT_HANDLE,
    data: &[u8],
) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("C_SignInit({name})"), p.init(Init::Sign, s, M::M(mech), private));
    let sig = r.got(format!("C_Sign({name})"), p.io(Io::Sign, s, In::B(data), Out::Cap(512)));
    r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(mech), public));
    r.rv(format!("C_Verify({name})"), p.verify(s, In::B(data), In::B(&sig.bytes)));
    let mut other = data.to_vec();
    other[0] ^= 1;
    r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(mech), public));
    r.rv(format!("C_Verify({name}, changed data)"), p.verify(s, In::B(&other), In::B(&sig.bytes)));
}

fn sign_verify(r: &mut Run<'_>) {
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

fn sign_verify_multipart(r: &mut Run<'_>) {
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

fn decrypt_invalid(r: &mut Run<'_>) {
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

fn verify_invalid(r: &mut Run<'_>) {
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

fn wrap_unwrap(r: &mut Run<'_>) {
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

fn derive(r: &mut Run<'_>) {
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

fn unsupported_functions(r: &mut Run<'_>) {
    let p = r.p;
    let s = r.s();
    let k = r.k;
    r.got("C_GetOperationState(NULL)", p.operation_state(s, Out::Query));
    r.rv("C_SignRecoverInit(RSA_PKCS)", p.init(Init::SignRecover, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_VerifyRecoverInit(RSA_PKCS)", p.init(Init::VerifyRecover, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_sign_pub));
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_DigestEncryptUpdate", p.io(Io::DigestEncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.got("C_DecryptDigestUpdate", p.io(Io::DecryptDigestUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_SignInit(SHA256_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_SignEncryptUpdate", p.io(Io::SignEncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.rv("C_DecryptInit(AES_ECB)", p.init(Init::Decrypt, s, M::M(&ecb()), k.aes));
    r.rv("C_VerifyInit(SHA256_RSA_PKCS)", p.init(Init::Verify, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_pub));
    r.got("C_DecryptVerifyUpdate", p.io(Io::DecryptVerifyUpdate, s, In::B(&DATA32), Out::Cap(64)));
    let s = r.s();
    r.got("C_SignRecover without init", p.io(Io::SignRecover, s, In::B(&DATA32), Out::Cap(512)));
    r.got("C_VerifyRecover without init", p.io(Io::VerifyRecover, s, In::B(&[0; 256]), Out::Cap(512)));
    r.rv("C_SetOperationState(16 bytes)", p.set_operation_state(s, In::B(&[0; 16])));
    r.rv("C_SetOperationState(NULL, 16)", p.set_operation_state(s, In::Null(16)));
    r.rv("C_GetFunctionStatus", p.function_status(s));
    r.rv("C_CancelFunction", p.cancel_function(s));
    r.rv("C_WaitForSlotEvent(DONT_BLOCK)", p.wait_for_slot_event());
}

fn unsupported_mechanisms(r: &mut Run<'_>) {
    let k = r.k;
    // SoftHSM has no hashing ECDSA; p11kms hashes in the daemon.
    sign_and_verify(r, "ECDSA_SHA256", &m(CKM_ECDSA_SHA256), k.ec_priv, k.ec_pub, MSG);
    let p = r.p;
    let s = r.s();
    let des_t = Template::new(&[(CKA_TOKEN, V::B(false)), (CKA_ENCRYPT, V::B(true))]);
    r.rv("C_GenerateKey(DES3_KEY_GEN)", p.generate_key(s, M::M(&m(CKM_DES3_KEY_GEN)), Tmpl::T(&des_t), false).0);
    r.rv(
        "C_EncryptInit(DES3_CBC with AES key)",
        p.init(Init::Encrypt, s, M::M(&Mech::bytes(CKM_DES3_CBC, &[0; 8])), k.aes),
    );
    r.rv("C_SignInit(RSA_X_509)", p.init(Init::Sign, s, M::M(&m(CKM_RSA_X_509)), k.rsa_sign_priv));
    r.got("C_Sign(RSA_X_509)", p.io(Io::Sign, s, In::B(&[0x11; 256]), Out::Cap(512)));
    r.rv("C_SignInit(MD5_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_MD5_RSA_PKCS)), k.rsa_sign_priv));
    r.got("C_Sign(MD5_RSA_PKCS)", p.io(Io::Sign, s, In::B(MSG), Out::Cap(512)));
    r.rv("C_EncryptInit(P11KMS_ENVELOPE)", p.init(Init::Encrypt, s, M::M(&m(CKM_P11KMS_ENVELOPE)), k.aes));
    r.got("C_Encrypt(P11KMS_ENVELOPE)", p.io(Io::Encrypt, s, In::B(&DATA20), Out::Cap(512)));
    r.rv("C_EncryptInit(0x7ffffff0)", p.init(Init::Encrypt, s, M::M(&m(0x7fff_fff0)), k.aes));
    r.rv("C_EncryptInit(RSA_X_509)", p.init(Init::Encrypt, s, M::M(&m(CKM_RSA_X_509)), k.rsa_enc_pub));
    r.got("C_Encrypt(RSA_X_509)", p.io(Io::Encrypt, s, In::B(&[0x11; 256]), Out::Cap(512)));
}

// ---------------------------------------------------------------- output buffers

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

fn out_buffers_encrypt(r: &mut Run<'_>) {
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

fn out_buffers_decrypt(r: &mut Run<'_>) {
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

fn out_buffers_sign(r: &mut Run<'_>) {
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

fn out_buffers_digest(r: &mut Run<'_>) {
    let init = |mech: CK_MECHANISM_TYPE| move |p: P11, s| p.digest_init(s, M::M(&m(mech)));
    out_matrix(r, "C_Digest(SHA256)", 32, &init(CKM_SHA256), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
    out_matrix(r, "C_Digest(SHA1)", 20, &init(CKM_SHA_1), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
    out_matrix(r, "C_Digest(SHA512)", 64, &init(CKM_SHA512), &|p, s, o| p.io(Io::Digest, s, In::B(MSG), o), None);
}

fn out_buffers_final(r: &mut Run<'_>) {
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

fn out_buffers_wrap(r: &mut Run<'_>) {
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

fn in_null_digest(r: &mut Run<'_>) {
    let init = |p: P11, s| p.digest_init(s, M::M(&m(CKM_SHA256)));
    let probe = |p: P11, s| p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)).rv;
    in_matrix(r, "C_Digest", &init, &|p, s, i| rv_of(p.io(Io::Digest, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Digest, s, Out::Cap(64)).rv;
    in_matrix(r, "C_DigestUpdate", &init, &|p, s, i| p.upd(Upd::DigestUpdate, s, i), &probe_final);
}

fn in_null_encrypt(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let init = move |p: P11, s| p.init(Init::Encrypt, s, M::M(&ecb()), aes);
    let probe = |p: P11, s| p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)).rv;
    in_matrix(r, "C_Encrypt", &init, &|p, s, i| rv_of(p.io(Io::Encrypt, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Encrypt, s, Out::Cap(64)).rv;
    in_matrix(r, "C_EncryptUpdate", &init, &|p, s, i| rv_of(p.io(Io::EncryptUpdate, s, i, Out::Cap(64))), &probe_final);
}

fn in_null_decrypt(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let init = move |p: P11, s| p.init(Init::Decrypt, s, M::M(&ecb()), aes);
    let probe = |p: P11, s| p.io(Io::Decrypt, s, In::B(&DATA32), Out::Cap(64)).rv;
    in_matrix(r, "C_Decrypt", &init, &|p, s, i| rv_of(p.io(Io::Decrypt, s, i, Out::Cap(64))), &probe);
    let probe_final = |p: P11, s| p.fin(Fin::Decrypt, s, Out::Cap(64)).rv;
    in_matrix(r, "C_DecryptUpdate", &init, &|p, s, i| rv_of(p.io(Io::DecryptUpdate, s, i, Out::Cap(64))), &probe_final);
}

fn in_null_sign(r: &mut Run<'_>) {
    let k = r.k;
    let init = move |p: P11, s| p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv);
    let probe = |p: P11, s| p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(512)).rv;
    in_matrix(r, "C_Sign(ECDSA)", &init, &|p, s, i| rv_of(p.io(Io::Sign, s, i, Out::Cap(512))), &probe);
    let init = move |p: P11, s| p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv);
    let probe_final = |p: P11, s| p.fin(Fin::Sign, s, Out::Cap(512)).rv;
    in_matrix(r, "C_SignUpdate(SHA256_RSA_PKCS)", &init, &|p, s, i| p.upd(Upd::SignUpdate, s, i), &probe_final);
}

fn in_null_verify(r: &mut Run<'_>) {
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

fn in_null_misc(r: &mut Run<'_>) {
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

fn out_null_len(r: &mut Run<'_>) {
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

fn null_mechanism(r: &mut Run<'_>) {
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

// ---------------------------------------------------------------- mechanism parameters

/// `…Init` with a parameter variant, then the single-part call: p11kms
/// checks some parameters only at the call, so both are recorded.
fn param_case(r: &mut Run<'_>, name: &str, which: Init, mech: &Mech, key: CK_OBJECT_HANDLE, data: &[u8]) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("init({name})"), r.guard(|| p.init(which, s, M::M(mech), key), CRASHED));
    let io = match which {
        Init::Encrypt => Io::Encrypt,
        Init::Decrypt => Io::Decrypt,
        _ => Io::Sign,
    };
    let crashed = Got { rv: CRASHED, len: 0, bytes: Vec::new() };
    r.got(format!("call({name})"), r.guard(|| p.io(io, s, In::B(data), Out::Cap(512)), crashed));
}

fn params_cbc(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_CBC IV 16", e, &cbc(), aes, &DATA32);
    param_case(r, "AES_CBC IV 8", e, &Mech::bytes(CKM_AES_CBC, &[1; 8]), aes, &DATA32);
    param_case(r, "AES_CBC IV 15", e, &Mech::bytes(CKM_AES_CBC, &[1; 15]), aes, &DATA32);
    param_case(r, "AES_CBC IV 17", e, &Mech::bytes(CKM_AES_CBC, &[1; 17]), aes, &DATA32);
    param_case(r, "AES_CBC IV 32", e, &Mech::bytes(CKM_AES_CBC, &[1; 32]), aes, &DATA32);
    param_case(r, "AES_CBC no IV", e, &m(CKM_AES_CBC), aes, &DATA32);
    param_case(r, "AES_CBC NULL IV, 16", e, &Mech::null_param(CKM_AES_CBC, 16), aes, &DATA32);
    param_case(r, "AES_CBC_PAD IV 8", e, &Mech::bytes(CKM_AES_CBC_PAD, &[1; 8]), aes, &DATA20);
    param_case(r, "AES_CBC_PAD no IV", e, &m(CKM_AES_CBC_PAD), aes, &DATA20);
    param_case(r, "decrypt AES_CBC IV 8", Init::Decrypt, &Mech::bytes(CKM_AES_CBC, &[1; 8]), aes, &DATA32);
}

fn params_ctr(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_CTR 128 bits", e, &Mech::ctr(128), aes, &DATA20);
    param_case(r, "AES_CTR 0 bits", e, &Mech::ctr(0), aes, &DATA20);
    param_case(r, "AES_CTR 1 bit", e, &Mech::ctr(1), aes, &DATA20);
    param_case(r, "AES_CTR 129 bits", e, &Mech::ctr(129), aes, &DATA20);
    param_case(r, "AES_CTR length 16", e, &Mech::ctr(128).with_len(16), aes, &DATA20);
    param_case(r, "AES_CTR length 32", e, &Mech::ctr(128).with_len(32), aes, &DATA20);
    param_case(r, "AES_CTR no parameter", e, &m(CKM_AES_CTR), aes, &DATA20);
    param_case(r, "AES_CTR NULL, 24", e, &Mech::null_param(CKM_AES_CTR, 24), aes, &DATA20);
    // 1 counter bit leaves room for 2 blocks: 20 bytes need 2, 48 need 3.
    param_case(r, "AES_CTR 1 bit, 48 bytes", e, &Mech::ctr(1), aes, &[0x66; 48]);
}

fn params_gcm(r: &mut Run<'_>) {
    let aes = r.k.aes;
    let e = Init::Encrypt;
    param_case(r, "AES_GCM IV 12 tag 128", e, &gcm(), aes, &DATA20);
    for tag in [0, 8, 32, 64, 104, 120, 129, 256] {
        param_case(r, &format!("AES_GCM tag bits {tag}"), e, &Mech::gcm(&IV12, b"", tag), aes, &DATA20);
    }
    param_case(r, "AES_GCM IV 0", e, &Mech::gcm(b"", b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV 1", e, &Mech::gcm(&[1], b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV 256", e, &Mech::gcm(&[1; 256], b"", 128), aes, &DATA20);
    param_case(r, "AES_GCM IV NULL, 12", e, &Mech::gcm_null_iv(12), aes, &DATA20);
    param_case(r, "AES_GCM IV NULL, 0x80000000", e, &Mech::gcm_null_iv(0x8000_0000), aes, &DATA20);
    param_case(r, "AES_GCM length 40", e, &gcm().with_len(40), aes, &DATA20);
    param_case(r, "AES_GCM length 56", e, &gcm().with_len(56), aes, &DATA20);
    param_case(r, "AES_GCM no parameter", e, &m(CKM_AES_GCM), aes, &DATA20);
    param_case(r, "AES_GCM NULL, 48", e, &Mech::null_param(CKM_AES_GCM, 48), aes, &DATA20);
    param_case(r, "decrypt AES_GCM tag bits 0", Init::Decrypt, &Mech::gcm(&IV12, b"", 0), aes, &[0; 36]);
}

fn params_oaep(r: &mut Run<'_>) {
    let k = r.k;
    let e = Init::Encrypt;
    param_case(r, "OAEP SHA1", e, &oaep_sha1(), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA256", e, &Mech::oaep(CKM_SHA256, CKG_MGF1_SHA256, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA1 with label", e, &Mech::oaep(CKM_SHA_1, CKG_MGF1_SHA1, b"label"), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP SHA256 with MGF1_SHA1", e, &Mech::oaep(CKM_SHA256, CKG_MGF1_SHA1, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP hash MD5", e, &Mech::oaep(CKM_MD5, CKG_MGF1_SHA1, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP mgf 0", e, &Mech::oaep(CKM_SHA_1, 0, b""), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP no parameter", e, &m(CKM_RSA_PKCS_OAEP), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP NULL, 40", e, &Mech::null_param(CKM_RSA_PKCS_OAEP, 40), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP length 32", e, &oaep_sha1().with_len(32), k.rsa_enc_pub, &DATA32);
    param_case(r, "OAEP length 48", e, &oaep_sha1().with_len(48), k.rsa_enc_pub, &DATA32);
    param_case(r, "decrypt OAEP no parameter", Init::Decrypt, &m(CKM_RSA_PKCS_OAEP), k.rsa_enc_priv, &[0; 256]);
}

fn params_pss(r: &mut Run<'_>) {
    let k = r.k;
    let s = Init::Sign;
    param_case(r, "SHA256_RSA_PKCS_PSS", s, &pss_sha256(), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS hash SHA1",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS salt 0",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS salt 1000",
        s,
        &Mech::pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 1000),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(r, "SHA256_RSA_PKCS_PSS no parameter", s, &m(CKM_SHA256_RSA_PKCS_PSS), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "SHA256_RSA_PKCS_PSS NULL, 24",
        s,
        &Mech::null_param(CKM_SHA256_RSA_PKCS_PSS, 24),
        k.rsa_sign_priv,
        MSG,
    );
    param_case(r, "SHA256_RSA_PKCS_PSS length 16", s, &pss_sha256().with_len(16), k.rsa_sign_priv, MSG);
    param_case(r, "SHA256_RSA_PKCS_PSS length 32", s, &pss_sha256().with_len(32), k.rsa_sign_priv, MSG);
    param_case(
        r,
        "RSA_PKCS_PSS over 20 bytes with SHA256",
        s,
        &Mech::pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32),
        k.rsa_sign_priv,
        &DATA20,
    );
}

fn params_unexpected(r: &mut Run<'_>) {
    let k = r.k;
    param_case(r, "AES_ECB with 16 bytes", Init::Encrypt, &Mech::bytes(CKM_AES_ECB, &IV16), k.aes, &DATA32);
    param_case(r, "RSA_PKCS with 8 bytes", Init::Encrypt, &Mech::bytes(CKM_RSA_PKCS, &[0; 8]), k.rsa_enc_pub, &DATA32);
    param_case(r, "ECDSA with 8 bytes", Init::Sign, &Mech::bytes(CKM_ECDSA, &[0; 8]), k.ec_priv, &HASH32);
    param_case(
        r,
        "SHA256_RSA_PKCS with 8 bytes",
        Init::Sign,
        &Mech::bytes(CKM_SHA256_RSA_PKCS, &[0; 8]),
        k.rsa_sign_priv,
        MSG,
    );
}

fn params_null_huge(r: &mut Run<'_>) {
    let aes = r.k.aes;
    for n in HUGE {
        param_case(
            r,
            &format!("AES_CBC NULL, 0x{n:x}"),
            Init::Encrypt,
            &Mech::null_param(CKM_AES_CBC, n),
            aes,
            &DATA32,
        );
        param_case(
            r,
            &format!("AES_GCM NULL, 0x{n:x}"),
            Init::Encrypt,
            &Mech::null_param(CKM_AES_GCM, n),
            aes,
            &DATA20,
        );
    }
}

// ---------------------------------------------------------------- key types and functions

fn key_type(r: &mut Run<'_>) {
    let k = r.k;
    let e = Init::Encrypt;
    param_case(r, "AES_CBC with RSA public", e, &cbc(), k.rsa_enc_pub, &DATA32);
    param_case(r, "AES_GCM with EC public", e, &gcm(), k.ec_pub, &DATA20);
    param_case(r, "RSA_PKCS encrypt with AES", e, &m(CKM_RSA_PKCS), k.aes, &DATA32);
    param_case(r, "AES_ECB decrypt with RSA private", Init::Decrypt, &ecb(), k.rsa_enc_priv, &DATA32);
    param_case(r, "RSA_PKCS sign with EC private", Init::Sign, &m(CKM_RSA_PKCS), k.ec_priv, &DATA32);
    param_case(r, "ECDSA sign with RSA private", Init::Sign, &m(CKM_ECDSA), k.rsa_sign_priv, &HASH32);
    param_case(r, "SHA256_RSA_PKCS sign with AES", Init::Sign, &m(CKM_SHA256_RSA_PKCS), k.aes, MSG);
    param_case(r, "RSA_PKCS encrypt with RSA private", e, &m(CKM_RSA_PKCS), k.rsa_enc_priv, &DATA32);
    param_case(r, "RSA_PKCS decrypt with RSA public", Init::Decrypt, &m(CKM_RSA_PKCS), k.rsa_enc_pub, &[0; 256]);
    param_case(r, "ECDSA sign with EC public", Init::Sign, &m(CKM_ECDSA), k.ec_pub, &HASH32);
    let p = r.p;
    let s = r.s();
    r.rv("C_VerifyInit(ECDSA with RSA public)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.rsa_sign_pub));
    r.rv("C_Verify", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_VerifyInit(ECDSA with EC private)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.rv("C_Verify", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
}

fn key_function(r: &mut Run<'_>) {
    let k = r.k;
    param_case(r, "RSA_PKCS encrypt with sign-only public", Init::Encrypt, &m(CKM_RSA_PKCS), k.rsa_sign_pub, &DATA32);
    param_case(
        r,
        "RSA_PKCS decrypt with sign-only private",
        Init::Decrypt,
        &m(CKM_RSA_PKCS),
        k.rsa_sign_priv,
        &[0; 256],
    );
    param_case(r, "RSA_PKCS sign with decrypt-only private", Init::Sign, &m(CKM_RSA_PKCS), k.rsa_enc_priv, &DATA32);
    param_case(r, "OAEP encrypt with sign-only public", Init::Encrypt, &oaep_sha1(), k.rsa_sign_pub, &DATA32);
    param_case(r, "AES_CMAC sign with encrypt-only AES", Init::Sign, &m(CKM_AES_CMAC), k.aes, MSG);
    param_case(r, "ECDSA as encryption", Init::Encrypt, &m(CKM_ECDSA), k.ec_pub, &HASH32);
    param_case(r, "AES_KEY_WRAP as encryption", Init::Encrypt, &m(CKM_AES_KEY_WRAP), k.aes, &DATA32);
    let p = r.p;
    let s = r.s();
    r.rv(
        "C_VerifyInit(RSA_PKCS with decrypt-only public)",
        p.init(Init::Verify, s, M::M(&m(CKM_RSA_PKCS)), k.rsa_enc_pub),
    );
    r.rv("C_Verify", p.verify(s, In::B(&DATA32), In::B(&[0; 256])));
}

// ---------------------------------------------------------------- after errors

/// A 16-byte AES_CBC ciphertext (the module's AES key, `IV16`) of a block
/// of 0x11: decrypted with AES_CBC_PAD its last byte, 17, is never valid
/// padding. Made on the main session, not recorded.
fn bad_padding_ciphertext(r: &Run<'_>) -> Vec<u8> {
    let (p, s) = (r.p, r.t.main);
    let _ = p.init(Init::Encrypt, s, M::M(&cbc()), r.k.aes);
    p.io(Io::Encrypt, s, In::B(&DATA32[..16]), Out::Cap(64)).bytes
}

fn after_error(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(NULL, 16)", p.io(Io::Encrypt, s, In::Null(16), Out::Cap(64)));
    r.got("C_Encrypt(valid) after it", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_ECB) after that", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(valid)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(15 bytes: not a block)", p.io(Io::Encrypt, s, In::B(&DATA32[..15]), Out::Cap(64)));
    r.got("C_Encrypt(valid) after DATA_LEN_RANGE", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after DATA_LEN_RANGE", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC IV 8)", p.init(Init::Encrypt, s, M::M(&Mech::bytes(CKM_AES_CBC, &[1; 8])), k.aes));
    r.got("C_Encrypt after bad IV", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after bad IV", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(valid) after bad IV", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC with RSA key)", p.init(Init::Encrypt, s, M::M(&cbc()), k.rsa_enc_pub));
    r.rv("C_EncryptInit(AES_CBC) after wrong key", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_Encrypt(valid) after wrong key", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.rv("C_EncryptInit(AES_ECB) twice", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt after double init", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(room 1)", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(1)));
    r.got("C_Sign(room 64) after BUFFER_TOO_SMALL", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));
    r.got("C_Sign again: over", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(ECDSA)", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(NULL, 32)", p.io(Io::Sign, s, In::Null(32), Out::Cap(64)));
    r.rv("C_SignInit(ECDSA) after it", p.init(Init::Sign, s, M::M(&m(CKM_ECDSA)), k.ec_priv));
    r.got("C_Sign(valid)", p.io(Io::Sign, s, In::B(&HASH32), Out::Cap(64)));

    let s = r.s();
    r.rv("C_DecryptInit(AES_CBC_PAD)", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
    let bad = bad_padding_ciphertext(r);
    r.got("C_Decrypt(bad padding)", p.io(Io::Decrypt, s, In::B(&bad), Out::Cap(64)));
    r.got("C_Decrypt after failure", p.io(Io::Decrypt, s, In::B(&bad), Out::Cap(64)));
    r.rv("C_DecryptInit(AES_CBC_PAD) after failure", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));

    let s = r.s();
    r.rv("C_VerifyInit(ECDSA)", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub));
    r.rv("C_Verify(zero signature)", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_Verify after SIGNATURE_INVALID", p.verify(s, In::B(&HASH32), In::B(&[0; 64])));
    r.rv("C_VerifyInit(ECDSA) after it", p.init(Init::Verify, s, M::M(&m(CKM_ECDSA)), k.ec_pub));

    let s = r.s();
    r.rv("C_DigestInit(SHA256)", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got("C_Digest(NULL, 5)", p.io(Io::Digest, s, In::Null(5), Out::Cap(64)));
    r.rv("C_DigestInit(SHA256) after it", p.digest_init(s, M::M(&m(CKM_SHA256))));
    r.got_bytes("C_Digest(valid)", p.io(Io::Digest, s, In::B(MSG), Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_Encrypt(NULL out, NULL len)", p.io(Io::Encrypt, s, In::B(&DATA32), Out::NoLen));
    r.rv("C_EncryptInit(AES_ECB) after it", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
}

fn after_error_multipart(r: &mut Run<'_>) {
    let p = r.p;
    let k = r.k;
    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_EncryptUpdate(16)", p.io(Io::EncryptUpdate, s, In::B(&DATA32[..16]), Out::Cap(64)));
    r.got("C_Encrypt after an update", p.io(Io::Encrypt, s, In::B(&DATA32), Out::Cap(64)));
    r.got("C_EncryptFinal", p.fin(Fin::Encrypt, s, Out::Cap(64)));

    let s = r.s();
    r.rv("C_EncryptInit(AES_CBC)", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));
    r.got("C_EncryptUpdate(15)", p.io(Io::EncryptUpdate, s, In::B(&DATA32[..15]), Out::Cap(64)));
    r.got("C_EncryptFinal(15 bytes total: not a block)", p.fin(Fin::Encrypt, s, Out::Cap(64)));
    r.got("C_EncryptFinal again", p.fin(Fin::Encrypt, s, Out::Cap(64)));
    r.rv("C_EncryptInit(AES_CBC) after failed final", p.init(Init::Encrypt, s, M::M(&cbc()), k.aes));

    let s = r.s();
    r.rv("C_EncryptInit(AES_ECB)", p.init(Init::Encrypt, s, M::M(&ecb()), k.aes));
    r.got("C_EncryptUpdate(NULL, 16)", p.io(Io::EncryptUpdate, s, In::Null(16), Out::Cap(64)));
    r.got("C_EncryptUpdate(valid) after it", p.io(Io::EncryptUpdate, s, In::B(&DATA32), Out::Cap(64)));
    r.got("C_EncryptFinal", p.fin(Fin::Encrypt, s, Out::Cap(64)));

    let s = r.s();
    r.rv("C_SignInit(SHA256_RSA_PKCS)", p.init(Init::Sign, s, M::M(&m(CKM_SHA256_RSA_PKCS)), k.rsa_sign_priv));
    r.rv("C_SignUpdate", p.upd(Upd::SignUpdate, s, In::B(MSG)));
    r.got("C_Sign after an update", p.io(Io::Sign, s, In::B(MSG), Out::Cap(512)));
    r.got("C_SignFinal(room 1)", p.fin(Fin::Sign, s, Out::Cap(1)));
    r.got("C_SignFinal(room 256)", p.fin(Fin::Sign, s, Out::Cap(256)));
    r.rv("C_SignUpdate after final", p.upd(Upd::SignUpdate, s, In::B(MSG)));

    let s = r.s();
    r.rv("C_DecryptInit(AES_CBC_PAD)", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
    let bad = bad_padding_ciphertext(r);
    r.got("C_DecryptUpdate(16 bytes, bad padding)", p.io(Io::DecryptUpdate, s, In::B(&bad), Out::Cap(64)));
    r.got("C_DecryptFinal(bad padding)", p.fin(Fin::Decrypt, s, Out::Cap(64)));
    r.rv("C_DecryptInit(AES_CBC_PAD) after it", p.init(Init::Decrypt, s, M::M(&cbc_pad()), k.aes));
}

// ---------------------------------------------------------------- handles

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

fn closed_session(r: &mut Run<'_>) {
    let (p, slot) = (r.p, r.t.slot);
    let (rv, s) = p.open_session(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, false);
    r.rv("C_OpenSession", rv);
    r.rv("C_CloseSession", p.close_session(s));
    session_calls(r, s);
}

fn session_handle_0(r: &mut Run<'_>) {
    session_calls(r, 0);
}

fn session_handle_deadbeef(r: &mut Run<'_>) {
    session_calls(r, BAD_SESSION);
}

fn object_handle_invalid(r: &mut Run<'_>) {
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

fn close_all_sessions(r: &mut Run<'_>) {
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
