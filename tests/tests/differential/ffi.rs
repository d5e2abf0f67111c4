//! Raw PKCS#11 plumbing of the differential harness (`differential.rs`).
//!
//! Both modules are loaded with `dlopen` and called through the 2.40
//! `CK_FUNCTION_LIST` their `C_GetFunctionList` returns, because the
//! `cryptoki` crate refuses most malformed calls before they reach a module.
//!
//! Every call goes through a safe wrapper of [`P11`] whose arguments can
//! only describe memory that exists: an input is either a real slice with
//! its true length ([`In::B`]) or a NULL pointer with any claimed length
//! ([`In::Null`]); an output is a buffer of a given size, a NULL buffer, or
//! a NULL length pointer ([`Out`]). So a length larger than a real buffer is
//! only ever passed with NULL, where a conforming module must refuse it
//! without reading. The `unsafe` blocks are in these wrappers (and in the
//! fork guard of `cases.rs`, which keeps a SoftHSM crash out of the test).

use std::ffi::{CString, c_void};
use std::mem::size_of;
use std::path::Path;
use std::ptr::null_mut;

use cryptoki_sys::*;

/// A module's 2.40 function table (a static of the library, which is never
/// unloaded).
pub type Fl = &'static CK_FUNCTION_LIST;

/// Loads the library at `path` and returns its `C_GetFunctionList` table.
pub fn load(path: &Path) -> Fl {
    let c_path = CString::new(path.to_str().expect("UTF-8 path")).expect("C path");
    // SAFETY: loads a PKCS#11 module; the handle is leaked on purpose so the
    // table stays valid for the rest of the process.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen {}", path.display());
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
    assert!(!symbol.is_null(), "C_GetFunctionList in {}", path.display());
    type Get = unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV;
    // SAFETY: the PKCS#11 2.40 signature of C_GetFunctionList.
    let get = unsafe { std::mem::transmute::<*mut c_void, Get>(symbol) };
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: `list` is a live local the function fills in.
    assert_eq!(unsafe { get(&mut list) }, CKR_OK, "C_GetFunctionList");
    assert!(!list.is_null());
    // SAFETY: the table is a static of the library, which stays loaded.
    unsafe { &*list }
}

/// The symbolic name of a `CK_RV` (`CKR_…`), or its hex value.
pub fn rv_name(rv: CK_RV) -> String {
    macro_rules! names {
        ($($name:ident),* $(,)?) => {
            $(if rv == $name { return stringify!($name).to_owned(); })*
        };
    }
    names!(
        CKR_OK,
        CKR_CANCEL,
        CKR_HOST_MEMORY,
        CKR_SLOT_ID_INVALID,
        CKR_GENERAL_ERROR,
        CKR_FUNCTION_FAILED,
        CKR_ARGUMENTS_BAD,
        CKR_NO_EVENT,
        CKR_NEED_TO_CREATE_THREADS,
        CKR_CANT_LOCK,
        CKR_ATTRIBUTE_READ_ONLY,
        CKR_ATTRIBUTE_SENSITIVE,
        CKR_ATTRIBUTE_TYPE_INVALID,
        CKR_ATTRIBUTE_VALUE_INVALID,
        CKR_ACTION_PROHIBITED,
        CKR_DATA_INVALID,
        CKR_DATA_LEN_RANGE,
        CKR_DEVICE_ERROR,
        CKR_DEVICE_MEMORY,
        CKR_DEVICE_REMOVED,
        CKR_ENCRYPTED_DATA_INVALID,
        CKR_ENCRYPTED_DATA_LEN_RANGE,
        CKR_AEAD_DECRYPT_FAILED,
        CKR_FUNCTION_CANCELED,
        CKR_FUNCTION_NOT_PARALLEL,
        CKR_FUNCTION_NOT_SUPPORTED,
        CKR_KEY_HANDLE_INVALID,
        CKR_KEY_SIZE_RANGE,
        CKR_KEY_TYPE_INCONSISTENT,
        CKR_KEY_NOT_NEEDED,
        CKR_KEY_CHANGED,
        CKR_KEY_NEEDED,
        CKR_KEY_INDIGESTIBLE,
        CKR_KEY_FUNCTION_NOT_PERMITTED,
        CKR_KEY_NOT_WRAPPABLE,
        CKR_KEY_UNEXTRACTABLE,
        CKR_MECHANISM_INVALID,
        CKR_MECHANISM_PARAM_INVALID,
        CKR_OBJECT_HANDLE_INVALID,
        CKR_OPERATION_ACTIVE,
        CKR_OPERATION_NOT_INITIALIZED,
        CKR_PIN_INCORRECT,
        CKR_PIN_INVALID,
        CKR_PIN_LEN_RANGE,
        CKR_PIN_EXPIRED,
        CKR_PIN_LOCKED,
        CKR_SESSION_CLOSED,
        CKR_SESSION_COUNT,
        CKR_SESSION_HANDLE_INVALID,
        CKR_SESSION_PARALLEL_NOT_SUPPORTED,
        CKR_SESSION_READ_ONLY,
        CKR_SESSION_EXISTS,
        CKR_SESSION_READ_ONLY_EXISTS,
        CKR_SESSION_READ_WRITE_SO_EXISTS,
        CKR_SIGNATURE_INVALID,
        CKR_SIGNATURE_LEN_RANGE,
        CKR_TEMPLATE_INCOMPLETE,
        CKR_TEMPLATE_INCONSISTENT,
        CKR_TOKEN_NOT_PRESENT,
        CKR_TOKEN_NOT_RECOGNIZED,
        CKR_TOKEN_WRITE_PROTECTED,
        CKR_UNWRAPPING_KEY_HANDLE_INVALID,
        CKR_UNWRAPPING_KEY_SIZE_RANGE,
        CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
        CKR_USER_ALREADY_LOGGED_IN,
        CKR_USER_NOT_LOGGED_IN,
        CKR_USER_PIN_NOT_INITIALIZED,
        CKR_USER_TYPE_INVALID,
        CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
        CKR_USER_TOO_MANY_TYPES,
        CKR_WRAPPED_KEY_INVALID,
        CKR_WRAPPED_KEY_LEN_RANGE,
        CKR_WRAPPING_KEY_HANDLE_INVALID,
        CKR_WRAPPING_KEY_SIZE_RANGE,
        CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
        CKR_RANDOM_SEED_NOT_SUPPORTED,
        CKR_RANDOM_NO_RNG,
        CKR_DOMAIN_PARAMS_INVALID,
        CKR_CURVE_NOT_SUPPORTED,
        CKR_BUFFER_TOO_SMALL,
        CKR_SAVED_STATE_INVALID,
        CKR_INFORMATION_SENSITIVE,
        CKR_STATE_UNSAVEABLE,
        CKR_CRYPTOKI_NOT_INITIALIZED,
        CKR_CRYPTOKI_ALREADY_INITIALIZED,
        CKR_MUTEX_BAD,
        CKR_MUTEX_NOT_LOCKED,
        CKR_NEW_PIN_MODE,
        CKR_NEXT_OTP,
        CKR_EXCEEDED_MAX_ITERATIONS,
        CKR_FIPS_SELF_TEST_FAILED,
        CKR_LIBRARY_LOAD_FAILED,
        CKR_PIN_TOO_WEAK,
        CKR_PUBLIC_KEY_INVALID,
        CKR_FUNCTION_REJECTED,
        CKR_TOKEN_RESOURCE_EXCEEDED,
        CKR_OPERATION_CANCEL_FAILED,
        CKR_KEY_EXHAUSTED,
        CKR_VENDOR_DEFINED,
    );
    if rv == super::cases::CRASHED {
        return "CRASH".to_owned();
    }
    format!("0x{rv:08x}")
}

/// Caller input: a real slice (pointer and true length) or NULL with a
/// claimed length. Nothing else can be expressed, on purpose.
#[derive(Clone, Copy, Debug)]
pub enum In<'a> {
    B(&'a [u8]),
    Null(CK_ULONG),
}

impl In<'_> {
    /// Pointer and length as the C call takes them. Modules do not write
    /// through input pointers; the `*mut` is only the C signature's.
    fn raw(self) -> (*mut u8, CK_ULONG) {
        match self {
            // An empty slice still has a non-null (dangling, unread) pointer.
            In::B(bytes) => (bytes.as_ptr().cast_mut(), bytes.len() as CK_ULONG),
            In::Null(len) => (null_mut(), len),
        }
    }
}

/// Where an output goes.
#[derive(Clone, Copy, Debug)]
pub enum Out {
    /// NULL buffer, `*pulLen` = 0: the length query of the two-call convention.
    Query,
    /// A real buffer of this many bytes, `*pulLen` = its size.
    Cap(usize),
    /// A real buffer (1 KiB) but `pulLen` NULL.
    NoLen,
}

/// What an output call gave: its `CK_RV`, the length it reported and the
/// bytes it wrote (when it said `CKR_OK` into a buffer).
#[derive(Clone, Debug)]
pub struct Got {
    pub rv: CK_RV,
    pub len: CK_ULONG,
    pub bytes: Vec<u8>,
}

/// Runs `call` with the output buffer `out` describes.
fn with_out(out: Out, call: impl FnOnce(*mut u8, *mut CK_ULONG) -> CK_RV) -> Got {
    let cap = match out {
        Out::Cap(n) => n,
        Out::NoLen => 1024,
        Out::Query => 0,
    };
    // Never empty, so `Cap(0)` still passes a real, non-null pointer.
    let mut buf = vec![0u8; cap.max(1)];
    let mut len = cap as CK_ULONG;
    let data = if matches!(out, Out::Query) { null_mut() } else { buf.as_mut_ptr() };
    let len_ptr = if matches!(out, Out::NoLen) { null_mut() } else { &raw mut len };
    let rv = call(data, len_ptr);
    let bytes = if rv == CKR_OK && !data.is_null() && !len_ptr.is_null() {
        buf[..usize::try_from(len).unwrap_or(usize::MAX).min(cap)].to_vec()
    } else {
        Vec::new()
    };
    Got { rv, len, bytes }
}

/// A template whose values it owns (kept in `u64` words, so every value is
/// aligned for a `CK_ULONG` read).
#[derive(Debug)]
pub struct Template {
    _values: Vec<Vec<u64>>,
    attrs: Vec<CK_ATTRIBUTE>,
}

/// An attribute value.
#[derive(Clone, Debug)]
pub enum V {
    B(bool),
    U(CK_ULONG),
    Bytes(Vec<u8>),
}

impl Template {
    pub fn new(list: &[(CK_ATTRIBUTE_TYPE, V)]) -> Self {
        let mut values = Vec::new();
        let mut attrs = Vec::new();
        for (type_, value) in list {
            let bytes = match value {
                V::B(b) => vec![u8::from(*b)],
                V::U(u) => u.to_ne_bytes().to_vec(),
                V::Bytes(b) => b.clone(),
            };
            let mut words = vec![0u64; bytes.len().div_ceil(8).max(1)];
            for (i, b) in bytes.iter().enumerate() {
                let mut w = words[i / 8].to_ne_bytes();
                w[i % 8] = *b;
                words[i / 8] = u64::from_ne_bytes(w);
            }
            // The heap buffer of `words` does not move when it is pushed.
            attrs.push(CK_ATTRIBUTE {
                type_: *type_,
                pValue: words.as_mut_ptr().cast(),
                ulValueLen: bytes.len() as CK_ULONG,
            });
            values.push(words);
        }
        Self { _values: values, attrs }
    }
}

/// A template argument: a real template, or NULL with a claimed count.
#[derive(Clone, Copy, Debug)]
pub enum Tmpl<'a> {
    T(&'a Template),
    Null(CK_ULONG),
}

impl Tmpl<'_> {
    fn raw(self) -> (*mut CK_ATTRIBUTE, CK_ULONG) {
        match self {
            Tmpl::T(t) => (t.attrs.as_ptr().cast_mut(), t.attrs.len() as CK_ULONG),
            Tmpl::Null(n) => (null_mut(), n),
        }
    }
}

/// A mechanism with its parameter (owned, `u64`-aligned). The declared
/// parameter length may be shorter or longer than the structure; the
/// storage always holds at least the declared length, so no module can read
/// past it.
#[derive(Debug)]
pub struct Mech {
    pub ty: CK_MECHANISM_TYPE,
    store: Vec<u64>,
    len: CK_ULONG,
    null: bool,
    _keep: Vec<Vec<u8>>,
}

impl Mech {
    /// No parameter (NULL, 0).
    pub fn plain(ty: CK_MECHANISM_TYPE) -> Self {
        Self { ty, store: Vec::new(), len: 0, null: true, _keep: Vec::new() }
    }

    /// A byte-string parameter (an IV).
    pub fn bytes(ty: CK_MECHANISM_TYPE, b: &[u8]) -> Self {
        let mut m = Self { ty, store: Vec::new(), len: 0, null: false, _keep: Vec::new() };
        m.fill(b);
        m
    }

    /// A NULL parameter pointer with a claimed length.
    pub fn null_param(ty: CK_MECHANISM_TYPE, len: CK_ULONG) -> Self {
        Self { ty, store: Vec::new(), len, null: true, _keep: Vec::new() }
    }

    /// A parameter structure; `keep` holds the buffers its pointers point
    /// into (their heap memory does not move when they are moved here).
    fn strukt<T: Copy>(ty: CK_MECHANISM_TYPE, value: T, keep: Vec<Vec<u8>>) -> Self {
        let size = size_of::<T>();
        let mut store = vec![0u64; size.div_ceil(8)];
        // SAFETY: `store` has at least `size` bytes and `T` is plain data
        // (a PKCS#11 parameter structure) copied byte for byte.
        unsafe { std::ptr::copy_nonoverlapping((&raw const value).cast::<u8>(), store.as_mut_ptr().cast(), size) };
        Self { ty, store, len: size as CK_ULONG, null: false, _keep: keep }
    }

    fn fill(&mut self, b: &[u8]) {
        self.store = vec![0u64; b.len().div_ceil(8).max(1)];
        for (i, byte) in b.iter().enumerate() {
            let mut w = self.store[i / 8].to_ne_bytes();
            w[i % 8] = *byte;
            self.store[i / 8] = u64::from_ne_bytes(w);
        }
        self.len = b.len() as CK_ULONG;
    }

    /// Declares another parameter length; grows the storage (zeros) so a
    /// longer length is still backed by real memory.
    pub fn with_len(mut self, len: CK_ULONG) -> Self {
        let words = usize::try_from(len).expect("small length").div_ceil(8);
        if self.store.len() < words {
            self.store.resize(words, 0);
        }
        self.len = len;
        self
    }

    pub fn gcm(iv: &[u8], aad: &[u8], tag_bits: CK_ULONG) -> Self {
        let mut iv = iv.to_vec();
        let mut aad = aad.to_vec();
        let params = CK_GCM_PARAMS {
            pIv: if iv.is_empty() { null_mut() } else { iv.as_mut_ptr() },
            ulIvLen: iv.len() as CK_ULONG,
            ulIvBits: (iv.len() * 8) as CK_ULONG,
            pAAD: if aad.is_empty() { null_mut() } else { aad.as_mut_ptr() },
            ulAADLen: aad.len() as CK_ULONG,
            ulTagBits: tag_bits,
        };
        Self::strukt(CKM_AES_GCM, params, vec![iv, aad])
    }

    /// GCM parameters whose IV pointer is NULL but whose IV length is not.
    pub fn gcm_null_iv(iv_len: CK_ULONG) -> Self {
        let params = CK_GCM_PARAMS {
            pIv: null_mut(),
            ulIvLen: iv_len,
            ulIvBits: iv_len * 8,
            pAAD: null_mut(),
            ulAADLen: 0,
            ulTagBits: 128,
        };
        Self::strukt(CKM_AES_GCM, params, Vec::new())
    }

    pub fn ctr(counter_bits: CK_ULONG) -> Self {
        Self::strukt(CKM_AES_CTR, CK_AES_CTR_PARAMS { ulCounterBits: counter_bits, cb: [3u8; 16] }, Vec::new())
    }

    pub fn oaep(hash: CK_MECHANISM_TYPE, mgf: CK_RSA_PKCS_MGF_TYPE, label: &[u8]) -> Self {
        let mut label = label.to_vec();
        let params = CK_RSA_PKCS_OAEP_PARAMS {
            hashAlg: hash,
            mgf,
            source: CKZ_DATA_SPECIFIED,
            pSourceData: if label.is_empty() { null_mut() } else { label.as_mut_ptr().cast() },
            ulSourceDataLen: label.len() as CK_ULONG,
        };
        Self::strukt(CKM_RSA_PKCS_OAEP, params, vec![label])
    }

    pub fn pss(ty: CK_MECHANISM_TYPE, hash: CK_MECHANISM_TYPE, mgf: CK_RSA_PKCS_MGF_TYPE, salt: CK_ULONG) -> Self {
        Self::strukt(ty, CK_RSA_PKCS_PSS_PARAMS { hashAlg: hash, mgf, sLen: salt }, Vec::new())
    }

    pub fn ecdh(public: &[u8]) -> Self {
        let mut public = public.to_vec();
        let params = CK_ECDH1_DERIVE_PARAMS {
            kdf: CKD_NULL,
            ulSharedDataLen: 0,
            pSharedData: null_mut(),
            ulPublicDataLen: public.len() as CK_ULONG,
            pPublicData: public.as_mut_ptr(),
        };
        Self::strukt(CKM_ECDH1_DERIVE, params, vec![public])
    }

    fn raw(&self) -> CK_MECHANISM {
        let param = if self.null { null_mut() } else { self.store.as_ptr().cast_mut().cast::<c_void>() };
        CK_MECHANISM { mechanism: self.ty, pParameter: param, ulParameterLen: self.len }
    }
}

/// A mechanism argument: a real one, or a NULL `pMechanism`.
#[derive(Clone, Copy, Debug)]
pub enum M<'a> {
    M(&'a Mech),
    Null,
}

/// Calls `f` with a pointer to a local copy of the mechanism (or NULL).
fn with_mech<R>(m: M<'_>, f: impl FnOnce(*mut CK_MECHANISM) -> R) -> R {
    match m {
        M::M(mech) => {
            let mut raw = mech.raw();
            f(&raw mut raw)
        }
        M::Null => f(null_mut()),
    }
}

/// The operations that take (session, in, in_len, out, out_len).
#[derive(Clone, Copy, Debug)]
pub enum Io {
    Encrypt,
    Decrypt,
    Sign,
    Digest,
    EncryptUpdate,
    DecryptUpdate,
    DigestEncryptUpdate,
    DecryptDigestUpdate,
    SignEncryptUpdate,
    DecryptVerifyUpdate,
    SignRecover,
    VerifyRecover,
}

/// The operations that take (session, out, out_len).
#[derive(Clone, Copy, Debug)]
pub enum Fin {
    Encrypt,
    Decrypt,
    Sign,
    Digest,
}

/// The operations that take (session, in, in_len).
#[derive(Clone, Copy, Debug)]
pub enum Upd {
    DigestUpdate,
    SignUpdate,
    VerifyUpdate,
    VerifyFinal,
    SeedRandom,
}

/// The `…Init` functions that take (session, mechanism, key).
#[derive(Clone, Copy, Debug)]
pub enum Init {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    SignRecover,
    VerifyRecover,
}

/// Safe wrappers over one module's function table.
#[derive(Clone, Copy, Debug)]
pub struct P11(pub Fl);

impl P11 {
    pub fn initialize(self) -> CK_RV {
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: CKF_OS_LOCKING_OK,
            pReserved: null_mut(),
        };
        // SAFETY: `args` is a live local.
        unsafe { self.0.C_Initialize.expect("C_Initialize")((&raw mut args).cast()) }
    }

    pub fn finalize(self) -> CK_RV {
        // SAFETY: NULL is the argument the standard asks for.
        unsafe { self.0.C_Finalize.expect("C_Finalize")(null_mut()) }
    }

    /// `C_Initialize` with unusual arguments: `reserved` sets `pReserved`
    /// (to a live local, never read by a conforming module), `partial`
    /// gives only one of the four mutex callbacks, `null` passes NULL.
    pub fn initialize_odd(self, null: bool, reserved: bool, partial: bool) -> CK_RV {
        extern "C" fn create(_: *mut *mut c_void) -> CK_RV {
            CKR_OK
        }
        let mut dummy = 0u64;
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: if partial { Some(create) } else { None },
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: CKF_OS_LOCKING_OK,
            pReserved: if reserved { (&raw mut dummy).cast() } else { null_mut() },
        };
        let p = if null { null_mut() } else { (&raw mut args).cast() };
        // SAFETY: `p` is NULL or a live local; its callback, if any, only
        // returns CKR_OK.
        unsafe { self.0.C_Initialize.expect("C_Initialize")(p) }
    }

    /// `C_Finalize` with a non-NULL `pReserved` (a live local): a
    /// conforming module refuses it and stays initialized.
    pub fn finalize_reserved(self) -> CK_RV {
        let mut dummy = 0u64;
        // SAFETY: a live local; a conforming module does not read it.
        unsafe { self.0.C_Finalize.expect("C_Finalize")((&raw mut dummy).cast()) }
    }

    /// `C_SetOperationState` with `state` (real bytes or NULL).
    pub fn set_operation_state(self, s: CK_SESSION_HANDLE, state: In<'_>) -> CK_RV {
        let (p, len) = state.raw();
        // SAFETY: `p` is NULL or holds `len` bytes.
        unsafe { self.0.C_SetOperationState.expect("C_SetOperationState")(s, p, len, 0, 0) }
    }

    /// `C_GetInfo`; the version is `major.minor`.
    pub fn get_info(self, null: bool) -> (CK_RV, String) {
        let mut info = CK_INFO::default();
        let p = if null { null_mut() } else { &raw mut info };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetInfo.expect("C_GetInfo")(p) };
        (rv, format!("{}.{}", info.cryptokiVersion.major, info.cryptokiVersion.minor))
    }

    /// `C_GetSlotList` into `cap` slots (`None`: NULL list), with `count`
    /// NULL when `null_count`.
    pub fn slot_list(self, present: bool, cap: Option<usize>, null_count: bool) -> (CK_RV, Vec<CK_SLOT_ID>) {
        let mut slots = vec![0 as CK_SLOT_ID; cap.unwrap_or(0).max(1)];
        let mut count = cap.unwrap_or(0) as CK_ULONG;
        let list = if cap.is_some() { slots.as_mut_ptr() } else { null_mut() };
        let count_ptr = if null_count { null_mut() } else { &raw mut count };
        // SAFETY: `list` is NULL or holds `count` entries; `count_ptr` is NULL or a live local.
        let rv = unsafe { self.0.C_GetSlotList.expect("C_GetSlotList")(CK_BBOOL::from(present), list, count_ptr) };
        let n = usize::try_from(count).unwrap_or(0);
        if cap.is_some() && rv == CKR_OK {
            slots.truncate(n);
        } else {
            slots = vec![0; n.min(1024)];
        }
        (rv, slots)
    }

    /// `C_GetSlotInfo`: the flags.
    pub fn slot_info(self, slot: CK_SLOT_ID, null: bool) -> (CK_RV, CK_FLAGS) {
        let mut info = CK_SLOT_INFO::default();
        let p = if null { null_mut() } else { &raw mut info };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetSlotInfo.expect("C_GetSlotInfo")(slot, p) };
        (rv, info.flags)
    }

    /// `C_GetTokenInfo`: the label (trimmed) and the flags.
    pub fn token_info(self, slot: CK_SLOT_ID, null: bool) -> (CK_RV, String, CK_FLAGS) {
        let mut info = CK_TOKEN_INFO::default();
        let p = if null { null_mut() } else { &raw mut info };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetTokenInfo.expect("C_GetTokenInfo")(slot, p) };
        (rv, String::from_utf8_lossy(&info.label).trim_end().to_owned(), info.flags)
    }

    /// `C_GetMechanismList` into `cap` entries (`None`: NULL list).
    pub fn mechanism_list(self, slot: CK_SLOT_ID, cap: Option<usize>, null_count: bool) -> (CK_RV, CK_ULONG) {
        let mut list = vec![0 as CK_MECHANISM_TYPE; cap.unwrap_or(0).max(1)];
        let mut count = cap.unwrap_or(0) as CK_ULONG;
        let p = if cap.is_some() { list.as_mut_ptr() } else { null_mut() };
        let count_ptr = if null_count { null_mut() } else { &raw mut count };
        // SAFETY: `p` is NULL or holds `count` entries; `count_ptr` is NULL or a live local.
        let rv = unsafe { self.0.C_GetMechanismList.expect("C_GetMechanismList")(slot, p, count_ptr) };
        (rv, count)
    }

    /// `C_GetMechanismInfo`: (min, max, flags).
    pub fn mechanism_info(self, slot: CK_SLOT_ID, ty: CK_MECHANISM_TYPE, null: bool) -> (CK_RV, [CK_ULONG; 3]) {
        let mut info = CK_MECHANISM_INFO::default();
        let p = if null { null_mut() } else { &raw mut info };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetMechanismInfo.expect("C_GetMechanismInfo")(slot, ty, p) };
        (rv, [info.ulMinKeySize, info.ulMaxKeySize, info.flags])
    }

    pub fn init_token(self, slot: CK_SLOT_ID, pin: In<'_>) -> CK_RV {
        let (p, len) = pin.raw();
        let mut label = [b' '; 32];
        // SAFETY: `p` is NULL or holds `len` bytes; the label is 32 bytes.
        unsafe { self.0.C_InitToken.expect("C_InitToken")(slot, p, len, label.as_mut_ptr()) }
    }

    pub fn init_pin(self, s: CK_SESSION_HANDLE, pin: In<'_>) -> CK_RV {
        let (p, len) = pin.raw();
        // SAFETY: `p` is NULL or holds `len` bytes.
        unsafe { self.0.C_InitPIN.expect("C_InitPIN")(s, p, len) }
    }

    pub fn set_pin(self, s: CK_SESSION_HANDLE, old: In<'_>, new: In<'_>) -> CK_RV {
        let ((o, ol), (n, nl)) = (old.raw(), new.raw());
        // SAFETY: each pointer is NULL or holds its length.
        unsafe { self.0.C_SetPIN.expect("C_SetPIN")(s, o, ol, n, nl) }
    }

    pub fn open_session(self, slot: CK_SLOT_ID, flags: CK_FLAGS, null_out: bool) -> (CK_RV, CK_SESSION_HANDLE) {
        let mut s: CK_SESSION_HANDLE = 0;
        let p = if null_out { null_mut() } else { &raw mut s };
        // SAFETY: `p` is NULL or a live local; no callback.
        let rv = unsafe { self.0.C_OpenSession.expect("C_OpenSession")(slot, flags, null_mut(), None, p) };
        (rv, s)
    }

    pub fn close_session(self, s: CK_SESSION_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_CloseSession.expect("C_CloseSession")(s) }
    }

    pub fn close_all_sessions(self, slot: CK_SLOT_ID) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_CloseAllSessions.expect("C_CloseAllSessions")(slot) }
    }

    /// `C_GetSessionInfo`: (state, flags).
    pub fn session_info(self, s: CK_SESSION_HANDLE, null: bool) -> (CK_RV, CK_STATE, CK_FLAGS) {
        let mut info = CK_SESSION_INFO::default();
        let p = if null { null_mut() } else { &raw mut info };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetSessionInfo.expect("C_GetSessionInfo")(s, p) };
        (rv, info.state, info.flags)
    }

    pub fn login(self, s: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: In<'_>) -> CK_RV {
        let (p, len) = pin.raw();
        // SAFETY: `p` is NULL or holds `len` bytes.
        unsafe { self.0.C_Login.expect("C_Login")(s, user, p, len) }
    }

    pub fn logout(self, s: CK_SESSION_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_Logout.expect("C_Logout")(s) }
    }

    pub fn create_object(self, s: CK_SESSION_HANDLE, t: Tmpl<'_>, null_out: bool) -> (CK_RV, CK_OBJECT_HANDLE) {
        let (p, n) = t.raw();
        let mut h = 0;
        let hp = if null_out { null_mut() } else { &raw mut h };
        // SAFETY: `p` is NULL or holds `n` attributes with live values; `hp` NULL or a live local.
        let rv = unsafe { self.0.C_CreateObject.expect("C_CreateObject")(s, p, n, hp) };
        (rv, h)
    }

    pub fn copy_object(self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, t: Tmpl<'_>) -> (CK_RV, CK_OBJECT_HANDLE) {
        let (p, n) = t.raw();
        let mut h = 0;
        // SAFETY: `p` is NULL or holds `n` attributes; `h` a live local.
        let rv = unsafe { self.0.C_CopyObject.expect("C_CopyObject")(s, o, p, n, &raw mut h) };
        (rv, h)
    }

    pub fn destroy_object(self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_DestroyObject.expect("C_DestroyObject")(s, o) }
    }

    pub fn object_size(self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, null: bool) -> (CK_RV, CK_ULONG) {
        let mut size = 0;
        let p = if null { null_mut() } else { &raw mut size };
        // SAFETY: `p` is NULL or a live local.
        let rv = unsafe { self.0.C_GetObjectSize.expect("C_GetObjectSize")(s, o, p) };
        (rv, size)
    }

    /// `C_GetAttributeValue` with one entry per `(type, room)`: `None` asks
    /// the length (NULL `pValue`), `Some(n)` gives a buffer of `n` bytes.
    /// Returns each entry's `ulValueLen` and the bytes written.
    pub fn get_attributes(
        self,
        s: CK_SESSION_HANDLE,
        o: CK_OBJECT_HANDLE,
        query: &[(CK_ATTRIBUTE_TYPE, Option<usize>)],
    ) -> (CK_RV, Vec<(CK_ULONG, Vec<u8>)>) {
        let mut bufs: Vec<Vec<u64>> =
            query.iter().map(|(_, n)| vec![0u64; n.unwrap_or(0).div_ceil(8).max(1)]).collect();
        let mut attrs: Vec<CK_ATTRIBUTE> = query
            .iter()
            .zip(bufs.iter_mut())
            .map(|((type_, room), buf)| CK_ATTRIBUTE {
                type_: *type_,
                pValue: if room.is_some() { buf.as_mut_ptr().cast() } else { null_mut() },
                ulValueLen: room.unwrap_or(0) as CK_ULONG,
            })
            .collect();
        // SAFETY: each entry's pValue is NULL or holds ulValueLen bytes.
        let rv = unsafe {
            self.0.C_GetAttributeValue.expect("C_GetAttributeValue")(s, o, attrs.as_mut_ptr(), attrs.len() as CK_ULONG)
        };
        let out = attrs
            .iter()
            .zip(query.iter().zip(bufs.iter()))
            .map(|(a, ((_, room), buf))| {
                let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
                let written = match room {
                    Some(n) if a.ulValueLen != CK_UNAVAILABLE_INFORMATION => {
                        bytes[..usize::try_from(a.ulValueLen).unwrap_or(0).min(*n)].to_vec()
                    }
                    _ => Vec::new(),
                };
                (a.ulValueLen, written)
            })
            .collect();
        (rv, out)
    }

    /// `C_GetAttributeValue` with a NULL template and a claimed count.
    pub fn get_attributes_null(self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, count: CK_ULONG) -> CK_RV {
        // SAFETY: a NULL template; a conforming module refuses a non-zero count unread.
        unsafe { self.0.C_GetAttributeValue.expect("C_GetAttributeValue")(s, o, null_mut(), count) }
    }

    pub fn set_attributes(self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, t: Tmpl<'_>) -> CK_RV {
        let (p, n) = t.raw();
        // SAFETY: `p` is NULL or holds `n` attributes with live values.
        unsafe { self.0.C_SetAttributeValue.expect("C_SetAttributeValue")(s, o, p, n) }
    }

    pub fn find_init(self, s: CK_SESSION_HANDLE, t: Tmpl<'_>) -> CK_RV {
        let (p, n) = t.raw();
        // SAFETY: `p` is NULL or holds `n` attributes with live values.
        unsafe { self.0.C_FindObjectsInit.expect("C_FindObjectsInit")(s, p, n) }
    }

    /// `C_FindObjects` with room for `max` handles (`None`: NULL array
    /// claiming 16); `null_count` passes a NULL count pointer.
    pub fn find(self, s: CK_SESSION_HANDLE, max: Option<usize>, null_count: bool) -> (CK_RV, Vec<CK_OBJECT_HANDLE>) {
        let mut handles = vec![0 as CK_OBJECT_HANDLE; max.unwrap_or(0).max(1)];
        let mut count: CK_ULONG = 0;
        let p = if max.is_some() { handles.as_mut_ptr() } else { null_mut() };
        let cp = if null_count { null_mut() } else { &raw mut count };
        let room = max.map_or(16, |m| m as CK_ULONG);
        // SAFETY: `p` is NULL or holds `room` entries; `cp` NULL or a live local.
        let rv = unsafe { self.0.C_FindObjects.expect("C_FindObjects")(s, p, room, cp) };
        handles.truncate(usize::try_from(count).unwrap_or(0).min(max.unwrap_or(0)));
        (rv, handles)
    }

    pub fn find_final(self, s: CK_SESSION_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_FindObjectsFinal.expect("C_FindObjectsFinal")(s) }
    }

    pub fn init(self, which: Init, s: CK_SESSION_HANDLE, m: M<'_>, key: CK_OBJECT_HANDLE) -> CK_RV {
        let f = match which {
            Init::Encrypt => self.0.C_EncryptInit,
            Init::Decrypt => self.0.C_DecryptInit,
            Init::Sign => self.0.C_SignInit,
            Init::Verify => self.0.C_VerifyInit,
            Init::SignRecover => self.0.C_SignRecoverInit,
            Init::VerifyRecover => self.0.C_VerifyRecoverInit,
        }
        .expect("…Init");
        // SAFETY: the mechanism is NULL or a live local whose parameter
        // holds its declared length (or is NULL).
        with_mech(m, |mp| unsafe { f(s, mp, key) })
    }

    pub fn digest_init(self, s: CK_SESSION_HANDLE, m: M<'_>) -> CK_RV {
        let f = self.0.C_DigestInit.expect("C_DigestInit");
        // SAFETY: as in `init`.
        with_mech(m, |mp| unsafe { f(s, mp) })
    }

    pub fn io(self, which: Io, s: CK_SESSION_HANDLE, input: In<'_>, out: Out) -> Got {
        let f = match which {
            Io::Encrypt => self.0.C_Encrypt,
            Io::Decrypt => self.0.C_Decrypt,
            Io::Sign => self.0.C_Sign,
            Io::Digest => self.0.C_Digest,
            Io::EncryptUpdate => self.0.C_EncryptUpdate,
            Io::DecryptUpdate => self.0.C_DecryptUpdate,
            Io::DigestEncryptUpdate => self.0.C_DigestEncryptUpdate,
            Io::DecryptDigestUpdate => self.0.C_DecryptDigestUpdate,
            Io::SignEncryptUpdate => self.0.C_SignEncryptUpdate,
            Io::DecryptVerifyUpdate => self.0.C_DecryptVerifyUpdate,
            Io::SignRecover => self.0.C_SignRecover,
            Io::VerifyRecover => self.0.C_VerifyRecover,
        }
        .expect("function");
        let (p, len) = input.raw();
        // SAFETY: `p` is NULL or holds `len` bytes; the output pointers are
        // NULL or a buffer of `*len_ptr` bytes (`with_out`).
        with_out(out, |o, ol| unsafe { f(s, p, len, o, ol) })
    }

    pub fn fin(self, which: Fin, s: CK_SESSION_HANDLE, out: Out) -> Got {
        let f = match which {
            Fin::Encrypt => self.0.C_EncryptFinal,
            Fin::Decrypt => self.0.C_DecryptFinal,
            Fin::Sign => self.0.C_SignFinal,
            Fin::Digest => self.0.C_DigestFinal,
        }
        .expect("…Final");
        // SAFETY: the output pointers are NULL or a buffer of `*len_ptr` bytes.
        with_out(out, |o, ol| unsafe { f(s, o, ol) })
    }

    pub fn upd(self, which: Upd, s: CK_SESSION_HANDLE, input: In<'_>) -> CK_RV {
        let f = match which {
            Upd::DigestUpdate => self.0.C_DigestUpdate,
            Upd::SignUpdate => self.0.C_SignUpdate,
            Upd::VerifyUpdate => self.0.C_VerifyUpdate,
            Upd::VerifyFinal => self.0.C_VerifyFinal,
            Upd::SeedRandom => self.0.C_SeedRandom,
        }
        .expect("function");
        let (p, len) = input.raw();
        // SAFETY: `p` is NULL or holds `len` bytes.
        unsafe { f(s, p, len) }
    }

    pub fn verify(self, s: CK_SESSION_HANDLE, data: In<'_>, sig: In<'_>) -> CK_RV {
        let ((d, dl), (g, gl)) = (data.raw(), sig.raw());
        // SAFETY: each pointer is NULL or holds its length.
        unsafe { self.0.C_Verify.expect("C_Verify")(s, d, dl, g, gl) }
    }

    pub fn digest_key(self, s: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_DigestKey.expect("C_DigestKey")(s, key) }
    }

    /// `C_GenerateRandom` into a buffer of `n` bytes, or NULL claiming `n`.
    pub fn generate_random(self, s: CK_SESSION_HANDLE, n: CK_ULONG, null: bool) -> (CK_RV, Vec<u8>) {
        let mut buf = vec![0u8; if null { 1 } else { usize::try_from(n).expect("small").max(1) }];
        let p = if null { null_mut() } else { buf.as_mut_ptr() };
        // SAFETY: `p` is NULL or holds `n` bytes.
        let rv = unsafe { self.0.C_GenerateRandom.expect("C_GenerateRandom")(s, p, n) };
        buf.truncate(if null { 0 } else { usize::try_from(n).unwrap_or(0) });
        (rv, buf)
    }

    pub fn generate_key(
        self,
        s: CK_SESSION_HANDLE,
        m: M<'_>,
        t: Tmpl<'_>,
        null_out: bool,
    ) -> (CK_RV, CK_OBJECT_HANDLE) {
        let f = self.0.C_GenerateKey.expect("C_GenerateKey");
        let (p, n) = t.raw();
        let mut h = 0;
        let hp = if null_out { null_mut() } else { &raw mut h };
        // SAFETY: mechanism as in `init`; `p` NULL or `n` live attributes; `hp` NULL or a live local.
        let rv = with_mech(m, |mp| unsafe { f(s, mp, p, n, hp) });
        (rv, h)
    }

    pub fn generate_key_pair(
        self,
        s: CK_SESSION_HANDLE,
        m: M<'_>,
        public: Tmpl<'_>,
        private: Tmpl<'_>,
    ) -> (CK_RV, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
        let f = self.0.C_GenerateKeyPair.expect("C_GenerateKeyPair");
        let ((pp, pn), (qp, qn)) = (public.raw(), private.raw());
        let (mut hp, mut hq) = (0, 0);
        // SAFETY: mechanism as in `init`; each template NULL or live attributes; handles live locals.
        let rv = with_mech(m, |mp| unsafe { f(s, mp, pp, pn, qp, qn, &raw mut hp, &raw mut hq) });
        (rv, hp, hq)
    }

    pub fn wrap_key(
        self,
        s: CK_SESSION_HANDLE,
        m: M<'_>,
        wrapping: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
        out: Out,
    ) -> Got {
        let f = self.0.C_WrapKey.expect("C_WrapKey");
        // SAFETY: mechanism as in `init`; output as in `with_out`.
        with_mech(m, |mp| with_out(out, |o, ol| unsafe { f(s, mp, wrapping, key, o, ol) }))
    }

    pub fn unwrap_key(
        self,
        s: CK_SESSION_HANDLE,
        m: M<'_>,
        unwrapping: CK_OBJECT_HANDLE,
        wrapped: In<'_>,
        t: Tmpl<'_>,
    ) -> (CK_RV, CK_OBJECT_HANDLE) {
        let f = self.0.C_UnwrapKey.expect("C_UnwrapKey");
        let ((w, wl), (p, n)) = (wrapped.raw(), t.raw());
        let mut h = 0;
        // SAFETY: mechanism as in `init`; `w` NULL or `wl` bytes; `p` NULL or `n` attributes; `h` a live local.
        let rv = with_mech(m, |mp| unsafe { f(s, mp, unwrapping, w, wl, p, n, &raw mut h) });
        (rv, h)
    }

    pub fn derive_key(
        self,
        s: CK_SESSION_HANDLE,
        m: M<'_>,
        base: CK_OBJECT_HANDLE,
        t: Tmpl<'_>,
    ) -> (CK_RV, CK_OBJECT_HANDLE) {
        let f = self.0.C_DeriveKey.expect("C_DeriveKey");
        let (p, n) = t.raw();
        let mut h = 0;
        // SAFETY: mechanism as in `init`; `p` NULL or `n` attributes; `h` a live local.
        let rv = with_mech(m, |mp| unsafe { f(s, mp, base, p, n, &raw mut h) });
        (rv, h)
    }

    pub fn operation_state(self, s: CK_SESSION_HANDLE, out: Out) -> Got {
        let f = self.0.C_GetOperationState.expect("C_GetOperationState");
        // SAFETY: output as in `with_out`.
        with_out(out, |o, ol| unsafe { f(s, o, ol) })
    }

    pub fn function_status(self, s: CK_SESSION_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_GetFunctionStatus.expect("C_GetFunctionStatus")(s) }
    }

    pub fn cancel_function(self, s: CK_SESSION_HANDLE) -> CK_RV {
        // SAFETY: no pointers.
        unsafe { self.0.C_CancelFunction.expect("C_CancelFunction")(s) }
    }

    /// `C_WaitForSlotEvent` with `CKF_DONT_BLOCK` (never waits).
    pub fn wait_for_slot_event(self) -> CK_RV {
        let mut slot = 0;
        // SAFETY: `slot` is a live local; the reserved pointer is NULL.
        unsafe { self.0.C_WaitForSlotEvent.expect("C_WaitForSlotEvent")(CKF_DONT_BLOCK, &raw mut slot, null_mut()) }
    }

    /// `C_GetFunctionList` through the table (NULL or a live pointer).
    pub fn function_list(self, null: bool) -> CK_RV {
        let mut list: *mut CK_FUNCTION_LIST = null_mut();
        let p = if null { null_mut() } else { &raw mut list };
        // SAFETY: `p` is NULL or a live local.
        unsafe { self.0.C_GetFunctionList.expect("C_GetFunctionList")(p) }
    }
}
