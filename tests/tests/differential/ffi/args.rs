//! The argument types of the safe wrappers: inputs ([`In`]), outputs
//! ([`Out`], [`Got`]), templates ([`Template`], [`Tmpl`]) and the enums
//! that pick one of several functions of the same shape ([`Io`], [`Fin`],
//! [`Upd`], [`Init`]). Each can only describe memory that exists.

use std::ptr::null_mut;

use cryptoki_sys::*;

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
    pub(super) fn raw(self) -> (*mut u8, CK_ULONG) {
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
pub(super) fn with_out(out: Out, call: impl FnOnce(*mut u8, *mut CK_ULONG) -> CK_RV) -> Got {
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
    pub(super) fn raw(self) -> (*mut CK_ATTRIBUTE, CK_ULONG) {
        match self {
            Tmpl::T(t) => (t.attrs.as_ptr().cast_mut(), t.attrs.len() as CK_ULONG),
            Tmpl::Null(n) => (null_mut(), n),
        }
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
