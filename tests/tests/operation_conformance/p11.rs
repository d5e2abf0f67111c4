//! The module's raw function list as the checks call it: loading, mechanisms
//! with any parameter bytes, a logged-in session's `…Init`, single-part,
//! update and final calls into guarded output buffers, and the probe of
//! whether an operation is active.

use std::mem::size_of;
use std::ptr::null_mut;

use cryptoki_sys::*;
use p11kms_tests::module;

pub(crate) type Functions = &'static CK_FUNCTION_LIST;

/// The module's 2.40 function list.
pub(crate) fn load() -> Functions {
    p11kms_tests::raw::function_list(&module())
}

/// A mechanism with its parameter bytes, owned, so that tests can hand the
/// module any parameter at all.
pub(crate) struct Mech {
    ty: CK_MECHANISM_TYPE,
    param: Option<Vec<u8>>,
    /// Bytes the parameter structure points to (an IV, say).
    _inner: Vec<u8>,
}

impl Mech {
    pub(crate) fn none(ty: CK_MECHANISM_TYPE) -> Self {
        Self { ty, param: None, _inner: Vec::new() }
    }

    pub(crate) fn bytes(ty: CK_MECHANISM_TYPE, param: &[u8]) -> Self {
        Self { ty, param: Some(param.to_vec()), _inner: Vec::new() }
    }

    /// A parameter structure, as its bytes.
    fn structure<T: Copy>(ty: CK_MECHANISM_TYPE, value: T, inner: Vec<u8>) -> Self {
        // SAFETY: `T` is a plain C structure; its bytes are read as such.
        let bytes = unsafe { std::slice::from_raw_parts(std::ptr::from_ref(&value).cast::<u8>(), size_of::<T>()) };
        Self { ty, param: Some(bytes.to_vec()), _inner: inner }
    }

    /// The structure's bytes cut to `len` (a wrong `ulParameterLen`).
    pub(crate) fn cut(mut self, len: usize) -> Self {
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

pub(crate) fn cbc(iv: &[u8]) -> Mech {
    Mech::bytes(CKM_AES_CBC, iv)
}

pub(crate) fn gcm(iv_len: usize, tag_bits: CK_ULONG) -> Mech {
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

pub(crate) fn ctr(counter_bits: CK_ULONG) -> Mech {
    Mech::structure(CKM_AES_CTR, CK_AES_CTR_PARAMS { ulCounterBits: counter_bits, cb: [0; 16] }, Vec::new())
}

pub(crate) fn oaep(hash: CK_MECHANISM_TYPE, mgf: CK_ULONG) -> Mech {
    let params = CK_RSA_PKCS_OAEP_PARAMS {
        hashAlg: hash,
        mgf,
        source: CKZ_DATA_SPECIFIED,
        pSourceData: null_mut(),
        ulSourceDataLen: 0,
    };
    Mech::structure(CKM_RSA_PKCS_OAEP, params, Vec::new())
}

pub(crate) fn pss(ty: CK_MECHANISM_TYPE, hash: CK_MECHANISM_TYPE, mgf: CK_ULONG) -> Mech {
    Mech::structure(ty, CK_RSA_PKCS_PSS_PARAMS { hashAlg: hash, mgf, sLen: 32 }, Vec::new())
}

/// Which `…Init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
}

/// A logged-in session on `hsm1`, called through the raw function list.
#[derive(Clone, Copy)]
pub(crate) struct P11 {
    pub(crate) l: Functions,
    pub(crate) s: CK_SESSION_HANDLE,
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
    pub(crate) fn init(self, kind: Kind, mech: &mut Mech, key: CK_OBJECT_HANDLE) -> CK_RV {
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

    pub(crate) fn digest_init(self) -> CK_RV {
        let mut raw = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
        // SAFETY: a live local.
        unsafe { self.l.C_DigestInit.unwrap()(self.s, &mut raw) }
    }

    /// A single-part `C_Encrypt`/`C_Decrypt`/`C_Sign`/`C_Digest` into a
    /// buffer of `room` bytes: (code, reported length, output).
    pub(crate) fn single(self, f: CK_C_Encrypt, data: &[u8], room: usize) -> (CK_RV, usize, Vec<u8>) {
        let mut out = Guarded::new(room);
        let mut len = room as CK_ULONG;
        // SAFETY: `data` and `out` are live buffers of the stated lengths.
        let code = unsafe { f.unwrap()(self.s, data.as_ptr().cast_mut(), data.len() as CK_ULONG, out.ptr(), &mut len) };
        self.finish_output(code, len, out)
    }

    /// A `…Final` into a buffer of `room` bytes.
    pub(crate) fn last(self, f: CK_C_EncryptFinal, room: usize) -> (CK_RV, usize, Vec<u8>) {
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

    /// The length a `C_EncryptUpdate`/`C_DecryptUpdate` of `data` would
    /// return, asked with a null output buffer.
    pub(crate) fn update_len(self, f: CK_C_EncryptUpdate, data: &[u8]) -> usize {
        let mut len = 0;
        // SAFETY: `data` is live; a null output asks for the length.
        let code =
            unsafe { f.unwrap()(self.s, data.as_ptr().cast_mut(), data.len() as CK_ULONG, null_mut(), &mut len) };
        assert_eq!(code, CKR_OK, "length query of an update");
        len as usize
    }

    /// The length a `…Final` would return, asked with a null output buffer.
    pub(crate) fn last_len(self, f: CK_C_EncryptFinal) -> usize {
        let mut len = 0;
        // SAFETY: a null output asks for the length.
        let code = unsafe { f.unwrap()(self.s, null_mut(), &mut len) };
        assert_eq!(code, CKR_OK, "length query of a final call");
        len as usize
    }

    /// `C_EncryptUpdate`/`C_DecryptUpdate` into a buffer of `room` bytes.
    pub(crate) fn update(self, f: CK_C_EncryptUpdate, data: &[u8], room: usize) -> (CK_RV, usize, Vec<u8>) {
        self.single(f, data, room)
    }

    pub(crate) fn sign_update(self, f: CK_C_SignUpdate, data: &[u8]) -> CK_RV {
        // SAFETY: `data` is a live buffer of the stated length.
        unsafe { f.unwrap()(self.s, data.as_ptr().cast_mut(), data.len() as CK_ULONG) }
    }

    pub(crate) fn verify(self, data: &[u8], signature: &[u8]) -> CK_RV {
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

/// Whether an operation of `kind` is active: an `…Update` of well-formed
/// arguments answers `CKR_OPERATION_NOT_INITIALIZED` when none is. An
/// active one is then ended with a `…Final` refused for its null length
/// or signature pointer (the rule under test; a second probe shows it).
pub(crate) fn active(p: P11, kind: Kind) -> bool {
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
