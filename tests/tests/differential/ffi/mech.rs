//! Mechanisms with any parameter ([`Mech`]): none, bytes, a parameter
//! structure, a NULL pointer with a claimed length, or a declared length
//! shorter or longer than the structure; and the mechanism argument
//! ([`M`]), which may be a NULL `pMechanism`.

use std::ffi::c_void;
use std::mem::size_of;
use std::ptr::null_mut;

use cryptoki_sys::*;

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
pub(super) fn with_mech<R>(m: M<'_>, f: impl FnOnce(*mut CK_MECHANISM) -> R) -> R {
    match m {
        M::M(mech) => {
            let mut raw = mech.raw();
            f(&raw mut raw)
        }
        M::Null => f(null_mut()),
    }
}
