//! The table of cases of the differential harness (`differential.rs`),
//! and what a case runs on: the [`Run`] of one module, its [`Target`] and
//! the test [`Keys`].
//!
//! A case is a name, a class (used to group differences in the report) and
//! a function that makes a fixed sequence of PKCS#11 calls on one module
//! ([`Run`]) and records each call: what was called, its `CK_RV`, and an
//! observation that must be equal on both modules (an output length, a
//! digest, "the round trip gave the plaintext back"). Observations never
//! hold key-dependent bytes: the two tokens have different keys.
//!
//! The cases are in one module per class (`normal.rs` and
//! `normal_crypto.rs`, `arguments.rs`, `buffers.rs`, `params.rs`,
//! `keys.rs`, `state.rs`, `handles.rs`, `unsupported.rs`); helpers several
//! classes use are in `common.rs`, the generation of the test keys in
//! `setup.rs`. The order the cases run in is the order of [`all`], whatever
//! module they are in.
//!
//! A case makes the same calls whatever the answers are, so its records
//! line up call by call between the modules. Add a case by writing a
//! `fn(&mut Run<'_>)` in the module of its class and listing it in [`all`];
//! the known-differences file then needs blessing (`P11KMS_BLESS=1`, see
//! `differential.rs`).

mod arguments;
mod buffers;
mod common;
mod handles;
mod keys;
mod normal;
mod normal_crypto;
mod params;
mod setup;
mod state;
mod unsupported;

use std::fmt::Write as _;

use cryptoki_sys::*;

use crate::ffi::{Got, Mech, P11, survives};

pub use setup::{find_keys, generate_keys};

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
    /// not check): on SoftHSM the call is first made in a forked child
    /// (the fork guard, `ffi/fork.rs`), and if the child dies of a signal
    /// the call is not made here and `crashed` is returned instead
    /// ([`CRASHED`](crate::ffi::CRASHED) in its `CK_RV`). p11kms answers
    /// `CKR_CRYPTOKI_NOT_INITIALIZED` in a forked child, so a child would
    /// prove nothing about it: its calls are made directly.
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
        ($($name:literal $class:ident $f:path),* $(,)?) => {
            vec![$(Case { name: $name, class: Class::$class, run: $f }),*]
        };
    }
    cases![
        "info" Normal normal::info,
        "initialize-finalize" Arguments arguments::initialize_finalize,
        "slots-and-tokens" Normal normal::slots_and_tokens,
        "mechanism-list" Normal normal::mechanism_list,
        "mechanism-info" Normal normal::mechanism_info,
        "mechanism-info-unsupported" Unsupported unsupported::mechanism_info_unsupported,
        "sessions" Normal normal::sessions,
        "login-states" Normal normal::login_states,
        "logout-and-login" Normal normal::logout_and_login,
        "set-pin" Normal normal::set_pin,
        "token-admin" Unsupported unsupported::token_admin,
        "find-objects" Normal normal::find_objects,
        "find-objects-args" Arguments arguments::find_objects_args,
        "attributes-aes" Normal normal::attributes_aes,
        "attributes-asymmetric" Normal normal::attributes_asymmetric,
        "attributes-buffers" Buffers buffers::attributes_buffers,
        "create-objects" Normal normal::create_objects,
        "create-objects-args" Arguments arguments::create_objects_args,
        "destroy-token-key" Normal normal::destroy_token_key,
        "keygen-secret" Normal normal::keygen_secret,
        "keygen-secret-refusals" Normal normal::keygen_secret_refusals,
        "keygen-pair" Normal normal::keygen_pair,
        "keygen-pair-refusals" Normal normal::keygen_pair_refusals,
        "digest" Normal normal_crypto::digest,
        "digest-multipart" Normal normal_crypto::digest_multipart,
        "digest-unsupported" Unsupported unsupported::digest_unsupported,
        "digest-key" Normal normal_crypto::digest_key,
        "random" Normal normal_crypto::random,
        "random-args" Arguments arguments::random_args,
        "aes-roundtrip" Normal normal_crypto::aes_roundtrip,
        "aes-multipart" Normal normal_crypto::aes_multipart,
        "rsa-roundtrip" Normal normal_crypto::rsa_roundtrip,
        "sign-verify" Normal normal_crypto::sign_verify,
        "sign-verify-multipart" Normal normal_crypto::sign_verify_multipart,
        "decrypt-invalid" Normal normal_crypto::decrypt_invalid,
        "verify-invalid" Normal normal_crypto::verify_invalid,
        "wrap-unwrap" Normal normal_crypto::wrap_unwrap,
        "derive" Normal normal_crypto::derive,
        "unsupported-functions" Unsupported unsupported::unsupported_functions,
        "unsupported-mechanisms" Unsupported unsupported::unsupported_mechanisms,
        "out-buffers-encrypt" Buffers buffers::out_buffers_encrypt,
        "out-buffers-decrypt" Buffers buffers::out_buffers_decrypt,
        "out-buffers-sign" Buffers buffers::out_buffers_sign,
        "out-buffers-digest" Buffers buffers::out_buffers_digest,
        "out-buffers-final" Buffers buffers::out_buffers_final,
        "out-buffers-wrap" Buffers buffers::out_buffers_wrap,
        "in-null-digest" Arguments arguments::in_null_digest,
        "in-null-encrypt" Arguments arguments::in_null_encrypt,
        "in-null-decrypt" Arguments arguments::in_null_decrypt,
        "in-null-sign" Arguments arguments::in_null_sign,
        "in-null-verify" Arguments arguments::in_null_verify,
        "in-null-misc" Arguments arguments::in_null_misc,
        "out-null-len" Arguments arguments::out_null_len,
        "null-mechanism" Arguments arguments::null_mechanism,
        "params-cbc" MechParams params::params_cbc,
        "params-ctr" MechParams params::params_ctr,
        "params-gcm" MechParams params::params_gcm,
        "params-oaep" MechParams params::params_oaep,
        "params-pss" MechParams params::params_pss,
        "params-unexpected" MechParams params::params_unexpected,
        "params-null-huge" MechParams params::params_null_huge,
        "key-type" KeyUse keys::key_type,
        "key-function" KeyUse keys::key_function,
        "after-error" AfterError state::after_error,
        "after-error-multipart" AfterError state::after_error_multipart,
        "closed-session" Handles handles::closed_session,
        "session-handle-0" Handles handles::session_handle_0,
        "session-handle-deadbeef" Handles handles::session_handle_deadbeef,
        "object-handle-invalid" Handles handles::object_handle_invalid,
        "close-all-sessions" Handles handles::close_all_sessions,
    ]
}
