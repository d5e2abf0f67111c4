//! [`P11`]: safe wrappers over one module's function table, one per
//! PKCS#11 function the cases call. The `unsafe` blocks of the harness are
//! here (and in `load`, the [`Mech`] structures and the fork guard).

use std::ffi::c_void;
use std::ptr::null_mut;

use cryptoki_sys::*;

use super::Fl;
use super::args::{Fin, Got, In, Init, Io, Out, Tmpl, Upd, with_out};
use super::mech::{M, with_mech};

/// Safe wrappers over one module's function table.
#[derive(Clone, Copy, Debug)]
pub struct P11(pub Fl);

impl P11 {
    pub fn initialize(self) -> CK_RV {
        p11kms_tests::raw::initialize(self.0.C_Initialize)
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
