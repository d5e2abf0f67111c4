//! The operation rules a third-party conformance suite checked (issue 18),
//! on the real `libp11kms.so` against a real daemon:
//!
//! * a failed call ends its operation, even when the boundary refused it
//!   for a null pointer (`CKR_ARGUMENTS_BAD`), for every kind of operation;
//! * a short output buffer is `CKR_BUFFER_TOO_SMALL` with the length, keeps
//!   the operation, is never written past, and the retry gives the bytes
//!   one call gives;
//! * malformed mechanism parameters are refused at `…Init` with
//!   `CKR_MECHANISM_PARAM_INVALID`, and start no operation;
//! * keys are checked at `…Init`: the key type against the mechanism
//!   first (`CKR_KEY_TYPE_INCONSISTENT`), then the key's function
//!   (`CKR_KEY_FUNCTION_NOT_PERMITTED`).
//!
//! The `cryptoki` crate cannot pass null pointers or malformed parameters,
//! so the module's function list is called directly. One test: the module
//! is loaded once per process.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::ffi::CString;
use std::mem::size_of;
use std::ptr::{from_mut, null_mut};

use cryptoki_sys::*;
use p11kms_tests::{Daemon, module};

type Functions = &'static CK_FUNCTION_LIST;

/// The module's 2.40 function list.
fn load() -> Functions {
    let path = CString::new(module().to_str().expect("path")).expect("C path");
    // SAFETY: loads the module; the handle is leaked on purpose, so the
    // table stays valid for the rest of the process.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
    assert!(!handle.is_null(), "dlopen libp11kms.so");
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
    assert!(!symbol.is_null(), "C_GetFunctionList");
    type GetFunctionList = unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV;
    // SAFETY: the PKCS#11 signature of C_GetFunctionList.
    let get = unsafe { std::mem::transmute::<*mut libc::c_void, GetFunctionList>(symbol) };
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: `list` is a live local.
    assert_eq!(unsafe { get(&mut list) }, CKR_OK);
    // SAFETY: the function list is a static of the library, which stays
    // loaded.
    unsafe { &*list }
}

/// A mechanism with its parameter bytes, owned, so that tests can hand the
/// module any parameter at all.
struct Mech {
    ty: CK_MECHANISM_TYPE,
    param: Option<Vec<u8>>,
    /// Bytes the parameter structure points to (an IV, say).
    _inner: Vec<u8>,
}

impl Mech {
    fn none(ty: CK_MECHANISM_TYPE) -> Self {
        Self { ty, param: None, _inner: Vec::new() }
    }

    fn bytes(ty: CK_MECHANISM_TYPE, param: &[u8]) -> Self {
        Self { ty, param: Some(param.to_vec()), _inner: Vec::new() }
    }

    /// A parameter structure, as its bytes.
    fn structure<T: Copy>(ty: CK_MECHANISM_TYPE, value: T, inner: Vec<u8>) -> Self {
        // SAFETY: `T` is a plain C structure; its bytes are read as such.
        let bytes = unsafe { std::slice::from_raw_parts(std::ptr::from_ref(&value).cast::<u8>(), size_of::<T>()) };
        Self { ty, param: Some(bytes.to_vec()), _inner: inner }
    }

    /// The structure's bytes cut to `len` (a wrong `ulParameterLen`).
    fn cut(mut self, len: usize) -> Self {
        if let Some(param) = &mut self.param {
            param.truncate(len);
        }
        self
    }

    fn raw(&mut self) -> CK_MECHANISM {
        match &mut self.param {
            None => CK_MECHANISM { mechanism: self.ty, pParameter: null_mut(), ulParameterLen: 0 },
            Some(p) => CK_MECHANISM {
                mechanism: self.ty,
                pParameter: p.as_mut_ptr().cast(),
                ulParameterLen: p.len() as CK_ULONG,
            },
        }
    }
}

fn cbc(iv: &[u8]) -> Mech {
    Mech::bytes(CKM_AES_CBC, iv)
}

fn gcm(iv_len: usize, tag_bits: CK_ULONG) -> Mech {
    let mut iv = vec![9u8; iv_len.max(1)];
    let params = CK_GCM_PARAMS {
        pIv: iv.as_mut_ptr(),
        ulIvLen: iv_len as CK_ULONG,
        ulIvBits: (iv_len * 8) as CK_ULONG,
        pAAD: null_mut(),
        ulAADLen: 0,
        ulTagBits: tag_bits,
    };
    Mech::structure(CKM_AES_GCM, params, iv)
}

fn ctr(counter_bits: CK_ULONG) -> Mech {
    Mech::structure(CKM_AES_CTR, CK_AES_CTR_PARAMS { ulCounterBits: counter_bits, cb: [0; 16] }, Vec::new())
}

fn oaep(hash: CK_MECHANISM_TYPE, mgf: CK_ULONG) -> Mech {
    let params = CK_RSA_PKCS_OAEP_PARAMS {
        hashAlg: hash,
        mgf,
        source: CKZ_DATA_SPECIFIED,
        pSourceData: null_mut(),
        ulSourceDataLen: 0,
    };
    Mech::structure(CKM_RSA_PKCS_OAEP, params, Vec::new())
}

fn pss(ty: CK_MECHANISM_TYPE, hash: CK_MECHANISM_TYPE, mgf: CK_ULONG) -> Mech {
    Mech::structure(ty, CK_RSA_PKCS_PSS_PARAMS { hashAlg: hash, mgf, sLen: 32 }, Vec::new())
}

/// Which `…Init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
}

/// A logged-in session on `hsm1`, called through the raw function list.
#[derive(Clone, Copy)]
struct P11 {
    l: Functions,
    s: CK_SESSION_HANDLE,
}

/// An output buffer of `room` bytes followed by sentinel bytes that must
/// stay untouched.
struct Guarded {
    bytes: Vec<u8>,
    room: usize,
}

const SENTINEL: u8 = 0xa5;

impl Guarded {
    fn new(room: usize) -> Self {
        Self { bytes: vec![SENTINEL; room + 64], room }
    }
    fn ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr()
    }
    fn untouched_after(&self, written: usize) -> bool {
        self.bytes[written..].iter().all(|&b| b == SENTINEL)
    }
}

impl P11 {
    fn init(self, kind: Kind, mech: &mut Mech, key: CK_OBJECT_HANDLE) -> CK_RV {
        let mut raw = mech.raw();
        let f = match kind {
            Kind::Encrypt => self.l.C_EncryptInit,
            Kind::Decrypt => self.l.C_DecryptInit,
            Kind::Sign => self.l.C_SignInit,
            Kind::Verify => self.l.C_VerifyInit,
        };
        // SAFETY: the mechanism and its parameter are live for the call.
        unsafe { f.unwrap()(self.s, &mut raw, key) }
    }

    fn digest_init(self) -> CK_RV {
        let mut raw = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
        // SAFETY: a live local.
        unsafe { self.l.C_DigestInit.unwrap()(self.s, &mut raw) }
    }

    /// A single-part `C_Encrypt`/`C_Decrypt`/`C_Sign`/`C_Digest` into a
    /// buffer of `room` bytes: (code, reported length, output).
    fn single(self, f: CK_C_Encrypt, data: &[u8], room: usize) -> (CK_RV, usize, Vec<u8>) {
        let mut out = Guarded::new(room);
        let mut len = room as CK_ULONG;
        // SAFETY: `data` and `out` are live buffers of the stated lengths.
        let code = unsafe { f.unwrap()(self.s, data.as_ptr().cast_mut(), data.len() as CK_ULONG, out.ptr(), &mut len) };
        self.finish_output(code, len, out)
    }

    /// A `…Final` into a buffer of `room` bytes.
    fn last(self, f: CK_C_EncryptFinal, room: usize) -> (CK_RV, usize, Vec<u8>) {
        let mut out = Guarded::new(room);
        let mut len = room as CK_ULONG;
        // SAFETY: `out` is a live buffer of the stated length.
        let code = unsafe { f.unwrap()(self.s, out.ptr(), &mut len) };
        self.finish_output(code, len, out)
    }

    fn finish_output(self, code: CK_RV, len: CK_ULONG, out: Guarded) -> (CK_RV, usize, Vec<u8>) {
        let len = len as usize;
        let written = if code == CKR_OK { len.min(out.room) } else { 0 };
        assert!(out.untouched_after(written), "nothing written past the {} bytes given", out.room);
        if code != CKR_OK {
            assert!(out.untouched_after(0), "a refused call writes nothing");
        }
        (code, len, out.bytes[..written].to_vec())
    }

    /// `C_EncryptUpdate`/`C_DecryptUpdate` into a buffer of `room` bytes.
    fn update(self, f: CK_C_EncryptUpdate, data: &[u8], room: usize) -> (CK_RV, usize, Vec<u8>) {
        self.single(f, data, room)
    }

    fn sign_update(self, f: CK_C_SignUpdate, data: &[u8]) -> CK_RV {
        // SAFETY: `data` is a live buffer of the stated length.
        unsafe { f.unwrap()(self.s, data.as_ptr().cast_mut(), data.len() as CK_ULONG) }
    }

    fn verify(self, data: &[u8], signature: &[u8]) -> CK_RV {
        // SAFETY: both are live buffers of the stated lengths.
        unsafe {
            self.l.C_Verify.unwrap()(
                self.s,
                data.as_ptr().cast_mut(),
                data.len() as CK_ULONG,
                signature.as_ptr().cast_mut(),
                signature.len() as CK_ULONG,
            )
        }
    }
}

/// Generated keys: (AES secret key, RSA sign-only pair, RSA crypt pair, EC
/// sign pair), pairs as (public, private).
struct Keys {
    aes: CK_OBJECT_HANDLE,
    rsa_sign: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
    rsa_crypt: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
    ec: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE),
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

fn generate_keys(p: P11) -> Keys {
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
fn session(l: Functions, pin: &str) -> P11 {
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

const IV: [u8; 16] = [3; 16];
const PLAIN: [u8; 32] = *b"thirty-two bytes of plaintext..!";

#[test]
fn operations_follow_the_standard_at_init_on_failure_and_with_short_buffers() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("conformance", "hsm1");
    // SAFETY: this binary holds one test; nothing else reads the environment.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let l = load();
    let mut args = CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags: CKF_OS_LOCKING_OK,
        pReserved: null_mut(),
    };
    // SAFETY: `args` is a live local.
    assert_eq!(unsafe { l.C_Initialize.unwrap()(from_mut(&mut args).cast()) }, CKR_OK);
    let p = session(l, &pin);
    let keys = generate_keys(p);

    failed_calls_end_the_operation(p, &keys);
    short_buffers_keep_the_operation_and_the_bytes(p, &keys);
    parameters_are_checked_at_init(p, &keys);
    keys_are_checked_at_init(p, &keys);

    // SAFETY: a null argument is what the standard asks for.
    assert_eq!(unsafe { l.C_Finalize.unwrap()(null_mut()) }, CKR_OK);
}

/// Whether an operation of `kind` is active: an `…Update` of well-formed
/// arguments answers `CKR_OPERATION_NOT_INITIALIZED` when none is. An
/// active one is then ended with a `…Final` refused for its null length
/// or signature pointer (the rule under test; a second probe shows it).
fn active(p: P11, kind: Kind) -> bool {
    let l = p.l;
    let data = [0u8; 16];
    let code = match kind {
        Kind::Encrypt => p.update(l.C_EncryptUpdate, &data, 64).0,
        Kind::Decrypt => p.update(l.C_DecryptUpdate, &data, 64).0,
        Kind::Sign => p.sign_update(l.C_SignUpdate, &data),
        Kind::Verify => p.sign_update(l.C_VerifyUpdate, &data),
    };
    if code == CKR_OPERATION_NOT_INITIALIZED {
        return false;
    }
    assert_eq!(code, CKR_OK, "probing {kind:?}");
    let mut out = [0u8; 8];
    // SAFETY: `out` is live; the null pointers are refused unread.
    let end = unsafe {
        match kind {
            Kind::Encrypt => l.C_EncryptFinal.unwrap()(p.s, out.as_mut_ptr(), null_mut()),
            Kind::Decrypt => l.C_DecryptFinal.unwrap()(p.s, out.as_mut_ptr(), null_mut()),
            Kind::Sign => l.C_SignFinal.unwrap()(p.s, out.as_mut_ptr(), null_mut()),
            Kind::Verify => l.C_VerifyFinal.unwrap()(p.s, null_mut(), 64),
        }
    };
    assert_eq!(end, CKR_ARGUMENTS_BAD, "ending the probed {kind:?}");
    true
}

/// A call that continues or ends an operation, made with a null pointer
/// the standard does not allow there.
#[derive(Clone, Copy, Debug)]
enum NullCall {
    EncryptData,
    EncryptLength,
    EncryptUpdateData,
    EncryptUpdateLength,
    EncryptFinalLength,
    DecryptData,
    DecryptLength,
    DecryptUpdateData,
    DecryptFinalLength,
    SignLength,
    SignUpdateData,
    SignFinalLength,
    VerifySignature,
    VerifyUpdateData,
    VerifyFinalSignature,
    DigestLength,
    DigestUpdateData,
    DigestFinalLength,
}

impl NullCall {
    /// The operation it belongs to (`None`: the digest), and whether it
    /// is made after an `…Update`.
    fn operation(self) -> (Option<Kind>, bool) {
        use NullCall::*;
        match self {
            EncryptData | EncryptLength => (Some(Kind::Encrypt), false),
            EncryptUpdateData | EncryptUpdateLength | EncryptFinalLength => (Some(Kind::Encrypt), true),
            DecryptData | DecryptLength => (Some(Kind::Decrypt), false),
            DecryptUpdateData | DecryptFinalLength => (Some(Kind::Decrypt), true),
            SignLength => (Some(Kind::Sign), false),
            SignUpdateData | SignFinalLength => (Some(Kind::Sign), true),
            VerifySignature => (Some(Kind::Verify), false),
            VerifyUpdateData | VerifyFinalSignature => (Some(Kind::Verify), true),
            DigestLength => (None, false),
            DigestUpdateData | DigestFinalLength => (None, true),
        }
    }

    fn call(self, p: P11) -> CK_RV {
        use NullCall::*;
        let (l, s) = (p.l, p.s);
        let d = PLAIN.as_ptr().cast_mut();
        let mut out = [0u8; 512];
        let o = out.as_mut_ptr();
        let mut len: CK_ULONG = 512;
        let n = from_mut(&mut len);
        // SAFETY: every non-null pointer is a live buffer of the stated
        // length; the null ones are refused before anything is read.
        unsafe {
            match self {
                EncryptData => l.C_Encrypt.unwrap()(s, null_mut(), 32, o, n),
                EncryptLength => l.C_Encrypt.unwrap()(s, d, 32, o, null_mut()),
                EncryptUpdateData => l.C_EncryptUpdate.unwrap()(s, null_mut(), 16, o, n),
                EncryptUpdateLength => l.C_EncryptUpdate.unwrap()(s, d, 16, o, null_mut()),
                EncryptFinalLength => l.C_EncryptFinal.unwrap()(s, o, null_mut()),
                DecryptData => l.C_Decrypt.unwrap()(s, null_mut(), 32, o, n),
                DecryptLength => l.C_Decrypt.unwrap()(s, d, 32, o, null_mut()),
                DecryptUpdateData => l.C_DecryptUpdate.unwrap()(s, null_mut(), 16, o, n),
                DecryptFinalLength => l.C_DecryptFinal.unwrap()(s, o, null_mut()),
                SignLength => l.C_Sign.unwrap()(s, d, 32, o, null_mut()),
                SignUpdateData => l.C_SignUpdate.unwrap()(s, null_mut(), 16),
                SignFinalLength => l.C_SignFinal.unwrap()(s, o, null_mut()),
                VerifySignature => l.C_Verify.unwrap()(s, d, 32, null_mut(), 64),
                VerifyUpdateData => l.C_VerifyUpdate.unwrap()(s, null_mut(), 16),
                VerifyFinalSignature => l.C_VerifyFinal.unwrap()(s, null_mut(), 64),
                DigestLength => l.C_Digest.unwrap()(s, d, 32, o, null_mut()),
                DigestUpdateData => l.C_DigestUpdate.unwrap()(s, null_mut(), 16),
                DigestFinalLength => l.C_DigestFinal.unwrap()(s, o, null_mut()),
            }
        }
    }
}

/// Every call that continues or ends an operation, refused for a null
/// pointer: the operation ended, so the next `…Init` succeeds.
fn failed_calls_end_the_operation(p: P11, keys: &Keys) {
    use NullCall::*;
    let l = p.l;
    for call in [
        EncryptData,
        EncryptLength,
        EncryptUpdateData,
        EncryptUpdateLength,
        EncryptFinalLength,
        DecryptData,
        DecryptLength,
        DecryptUpdateData,
        DecryptFinalLength,
        SignLength,
        SignUpdateData,
        SignFinalLength,
        VerifySignature,
        VerifyUpdateData,
        VerifyFinalSignature,
    ] {
        let (Some(kind), after_update) = call.operation() else { unreachable!("not a digest") };
        let (mut mech, key) = match kind {
            Kind::Encrypt | Kind::Decrypt => (cbc(&IV), keys.aes),
            Kind::Sign => (Mech::none(CKM_ECDSA_SHA256), keys.ec.1),
            Kind::Verify => (Mech::none(CKM_ECDSA_SHA256), keys.ec.0),
        };
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{call:?}: init");
        if after_update {
            let code = match kind {
                Kind::Encrypt => p.update(l.C_EncryptUpdate, &PLAIN[..16], 64).0,
                Kind::Decrypt => p.update(l.C_DecryptUpdate, &PLAIN[..16], 64).0,
                Kind::Sign => p.sign_update(l.C_SignUpdate, &PLAIN),
                Kind::Verify => p.sign_update(l.C_VerifyUpdate, &PLAIN),
            };
            assert_eq!(code, CKR_OK, "{call:?}: update first");
        }
        assert_eq!(call.call(p), CKR_ARGUMENTS_BAD, "{call:?}");
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{call:?}: the failed call ended the operation");
        assert!(active(p, kind), "{call:?}: the new operation is active (and the probe ends it)");
        assert!(!active(p, kind), "{call:?}: ended by the probe");
    }

    // Digests, computed in the module, follow the same rule.
    for call in [DigestLength, DigestUpdateData, DigestFinalLength] {
        assert_eq!(p.digest_init(), CKR_OK, "{call:?}: init");
        if call.operation().1 {
            assert_eq!(p.sign_update(l.C_DigestUpdate, &PLAIN), CKR_OK, "{call:?}: update first");
        }
        assert_eq!(call.call(p), CKR_ARGUMENTS_BAD, "{call:?}");
        assert_eq!(p.digest_init(), CKR_OK, "{call:?}: the failed call ended the digest");
        assert_eq!(p.last(l.C_DigestFinal, 64).0, CKR_OK, "{call:?}: the new digest completes");
    }
}

/// A buffer of one byte where more is due.
fn short_buffers_keep_the_operation_and_the_bytes(p: P11, keys: &Keys) {
    let l = p.l;
    // The reference: one single-part call with room enough.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    let (code, _, ciphertext) = p.single(l.C_Encrypt, &PLAIN, 64);
    assert_eq!((code, ciphertext.len()), (CKR_OK, 32));

    // Single-part: too small, then the same bytes.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.single(l.C_Encrypt, &PLAIN, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.single(l.C_Encrypt, &PLAIN, 32), (CKR_OK, 32, ciphertext.clone()), "retry: the same bytes");

    // Multi-part: the updates return nothing (the module sends the whole
    // input at `…Final`), so a one-byte buffer is room enough for them;
    // the final call is too small, then gives everything.
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[..16], 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.update(l.C_EncryptUpdate, &PLAIN[16..], 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 31), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_EncryptFinal, 32), (CKR_OK, 32, ciphertext.clone()), "final retry: the same bytes");

    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.single(l.C_Decrypt, &ciphertext, 40), (CKR_OK, 32, PLAIN.to_vec()));
    assert_eq!(p.init(Kind::Decrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(l.C_DecryptUpdate, &ciphertext, 1), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.last(l.C_DecryptFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_DecryptFinal, 32), (CKR_OK, 32, PLAIN.to_vec()));

    // A randomized signature: the retry hands out the one made, which
    // verifies.
    assert_eq!(p.init(Kind::Sign, &mut Mech::none(CKM_ECDSA_SHA256), keys.ec.1), CKR_OK);
    assert_eq!(p.sign_update(l.C_SignUpdate, &PLAIN), CKR_OK);
    assert_eq!(p.last(l.C_SignFinal, 1), (CKR_BUFFER_TOO_SMALL, 64, Vec::new()));
    let (code, _, signature) = p.last(l.C_SignFinal, 64);
    assert_eq!((code, signature.len()), (CKR_OK, 64));
    assert_eq!(p.init(Kind::Verify, &mut Mech::none(CKM_ECDSA_SHA256), keys.ec.0), CKR_OK);
    assert_eq!(p.verify(&PLAIN, &signature), CKR_OK);

    assert_eq!(p.digest_init(), CKR_OK);
    let (_, _, digest) = p.single(l.C_Digest, &PLAIN, 32);
    assert_eq!(digest.len(), 32);
    assert_eq!(p.digest_init(), CKR_OK);
    assert_eq!(p.sign_update(l.C_DigestUpdate, &PLAIN), CKR_OK);
    assert_eq!(p.last(l.C_DigestFinal, 1), (CKR_BUFFER_TOO_SMALL, 32, Vec::new()));
    assert_eq!(p.last(l.C_DigestFinal, 32), (CKR_OK, 32, digest));
}

/// Malformed parameters: refused at `…Init`, no operation started.
fn parameters_are_checked_at_init(p: P11, keys: &Keys) {
    let cases: Vec<(&str, Kind, Mech, CK_OBJECT_HANDLE)> = vec![
        ("AES-CBC, 8-byte IV", Kind::Encrypt, cbc(&[0; 8]), keys.aes),
        ("AES-CBC, no IV", Kind::Encrypt, Mech::none(CKM_AES_CBC), keys.aes),
        ("AES-CBC, 17-byte IV", Kind::Decrypt, cbc(&[0; 17]), keys.aes),
        ("AES-CBC-PAD, no IV", Kind::Encrypt, Mech::none(CKM_AES_CBC_PAD), keys.aes),
        ("AES-CBC-PAD, 8-byte IV", Kind::Decrypt, Mech::bytes(CKM_AES_CBC_PAD, &[0; 8]), keys.aes),
        ("AES-CTR, 0 counter bits", Kind::Encrypt, ctr(0), keys.aes),
        ("AES-CTR, 129 counter bits", Kind::Decrypt, ctr(129), keys.aes),
        ("AES-CTR, wrong parameter length", Kind::Encrypt, ctr(32).cut(16), keys.aes),
        ("AES-CTR, no parameter", Kind::Encrypt, Mech::none(CKM_AES_CTR), keys.aes),
        ("AES-GCM, empty IV", Kind::Encrypt, gcm(0, 128), keys.aes),
        ("AES-GCM, 0 tag bits", Kind::Encrypt, gcm(12, 0), keys.aes),
        ("AES-GCM, 136 tag bits", Kind::Decrypt, gcm(12, 136), keys.aes),
        ("AES-GCM, 100 tag bits", Kind::Encrypt, gcm(12, 100), keys.aes),
        ("AES-GCM, wrong parameter length", Kind::Encrypt, gcm(12, 128).cut(8), keys.aes),
        ("AES-GCM, no parameter", Kind::Decrypt, Mech::none(CKM_AES_GCM), keys.aes),
        ("RSA-OAEP, wrong parameter length", Kind::Encrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1).cut(8), keys.rsa_crypt.0),
        ("RSA-OAEP, no parameter", Kind::Decrypt, Mech::none(CKM_RSA_PKCS_OAEP), keys.rsa_crypt.1),
        ("RSA-OAEP, unknown MGF", Kind::Encrypt, oaep(CKM_SHA_1, 0x77), keys.rsa_crypt.0),
        ("RSA-OAEP, not a hash", Kind::Decrypt, oaep(CKM_AES_ECB, CKG_MGF1_SHA1), keys.rsa_crypt.1),
        (
            "RSA-PSS, wrong parameter length",
            Kind::Sign,
            pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256).cut(8),
            keys.rsa_sign.1,
        ),
        ("RSA-PSS, no parameter", Kind::Verify, Mech::none(CKM_SHA256_RSA_PKCS_PSS), keys.rsa_sign.0),
        (
            "RSA-PSS, another hash",
            Kind::Sign,
            pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA256),
            keys.rsa_sign.1,
        ),
        ("RSA-PSS, unknown MGF", Kind::Verify, pss(CKM_RSA_PKCS_PSS, CKM_SHA256, 0x77), keys.rsa_sign.0),
        ("ECDSA with a parameter", Kind::Sign, Mech::bytes(CKM_ECDSA, &[1, 2]), keys.ec.1),
    ];
    for (name, kind, mut mech, key) in cases {
        assert_eq!(p.init(kind, &mut mech, key), CKR_MECHANISM_PARAM_INVALID, "{name}");
        assert!(!active(p, kind), "{name}: no operation started");
    }
    // The well-formed ones start.
    for (name, kind, mut mech, key) in [
        ("AES-CBC", Kind::Encrypt, cbc(&IV), keys.aes),
        ("AES-CTR", Kind::Encrypt, ctr(128), keys.aes),
        ("AES-GCM", Kind::Decrypt, gcm(12, 96), keys.aes),
        ("RSA-OAEP", Kind::Encrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1), keys.rsa_crypt.0),
        ("RSA-PSS", Kind::Sign, pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256), keys.rsa_sign.1),
    ] {
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{name}");
        assert!(active(p, kind), "{name}: started (the probe ends it)");
    }
}

/// The key's type against the mechanism, then its function.
fn keys_are_checked_at_init(p: P11, keys: &Keys) {
    let cases: Vec<(&str, Kind, Mech, CK_OBJECT_HANDLE, CK_RV)> = vec![
        (
            "RSA public key, AES-CBC-PAD",
            Kind::Encrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.rsa_crypt.0,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        ("RSA sign-only public key, AES-CBC", Kind::Encrypt, cbc(&IV), keys.rsa_sign.0, CKR_KEY_TYPE_INCONSISTENT),
        ("RSA private key, AES-GCM", Kind::Decrypt, gcm(12, 128), keys.rsa_crypt.1, CKR_KEY_TYPE_INCONSISTENT),
        (
            "EC private key, AES-CBC-PAD",
            Kind::Decrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.ec.1,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        (
            "EC public key, AES-CBC-PAD",
            Kind::Encrypt,
            Mech::bytes(CKM_AES_CBC_PAD, &IV),
            keys.ec.0,
            CKR_KEY_TYPE_INCONSISTENT,
        ),
        ("AES key, ECDSA", Kind::Sign, Mech::none(CKM_ECDSA), keys.aes, CKR_KEY_TYPE_INCONSISTENT),
        ("EC key, RSA-PKCS", Kind::Sign, Mech::none(CKM_SHA256_RSA_PKCS), keys.ec.1, CKR_KEY_TYPE_INCONSISTENT),
        (
            "sign-only private key, RSA-PKCS decrypt",
            Kind::Decrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "sign-only private key, RSA-OAEP decrypt",
            Kind::Decrypt,
            oaep(CKM_SHA_1, CKG_MGF1_SHA1),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "private key, RSA-PKCS encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "decrypt key's private half, encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_crypt.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        (
            "sign-only public key, RSA-PKCS encrypt",
            Kind::Encrypt,
            Mech::none(CKM_RSA_PKCS),
            keys.rsa_sign.0,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
        ("public key, sign", Kind::Sign, Mech::none(CKM_ECDSA), keys.ec.0, CKR_KEY_FUNCTION_NOT_PERMITTED),
        (
            "crypt key, sign",
            Kind::Sign,
            Mech::none(CKM_SHA256_RSA_PKCS),
            keys.rsa_crypt.1,
            CKR_KEY_FUNCTION_NOT_PERMITTED,
        ),
    ];
    for (name, kind, mut mech, key, expected) in cases {
        assert_eq!(p.init(kind, &mut mech, key), expected, "{name}");
        assert!(!active(p, kind), "{name}: no operation started");
    }
    // Keys that fit.
    for (name, kind, mut mech, key) in [
        ("RSA-PKCS encrypt with the public key", Kind::Encrypt, Mech::none(CKM_RSA_PKCS), keys.rsa_crypt.0),
        ("RSA-OAEP decrypt with the private key", Kind::Decrypt, oaep(CKM_SHA_1, CKG_MGF1_SHA1), keys.rsa_crypt.1),
        ("ECDSA verify with the public key", Kind::Verify, Mech::none(CKM_ECDSA), keys.ec.0),
    ] {
        assert_eq!(p.init(kind, &mut mech, key), CKR_OK, "{name}");
        assert!(active(p, kind), "{name}: started (the probe ends it)");
    }
}
