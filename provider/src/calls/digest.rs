//! `C_DigestInit`, `C_Digest`, `C_DigestUpdate`, `C_DigestKey`,
//! `C_DigestFinal`: computed in the module (see [`crate::digest`]).
//!
//! Hashing a large input takes time, so the digest state is taken out of
//! the session while hashing and put back afterwards: the tables are never
//! locked for longer than a lookup.

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CKR_KEY_HANDLE_INVALID, CKR_KEY_INDIGESTIBLE, CKR_MECHANISM_INVALID,
    CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_CLOSED,
};
use p11kms_ffi::{Delivery, OutBuf};
use p11kms_proto::pkcs11::{MechParam, Mechanism};

use crate::digest::{DigestOp, DigestStep};
use crate::error::{Error, Result};
use crate::module::Module;

impl Module {
    /// `C_DigestInit`.
    pub fn digest_init(&self, session: CK_SESSION_HANDLE, mechanism: &Mechanism) -> Result<()> {
        let now = self.stamp();
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        if found.digest.is_some() {
            return Err(Error::rv(CKR_OPERATION_ACTIVE));
        }
        let op = DigestOp::new(mechanism.ty).ok_or(Error::rv(CKR_MECHANISM_INVALID))?;
        if mechanism.param != MechParam::None {
            return Err(Error::rv(CKR_MECHANISM_PARAM_INVALID));
        }
        found.digest = Some(op);
        Ok(())
    }

    /// Takes the session's digest out for work done without the lock.
    fn take_digest(&self, session: CK_SESSION_HANDLE) -> Result<DigestOp> {
        let now = self.stamp();
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        found.digest.take().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))
    }

    /// Puts a digest that is still running back into its session.
    fn put_digest(&self, session: CK_SESSION_HANDLE, op: DigestOp) -> Result<()> {
        let mut tables = self.tables();
        let found = tables.sessions.get_open(session).ok_or(Error::rv(CKR_SESSION_CLOSED))?;
        found.digest = Some(op);
        Ok(())
    }

    /// Delivers a digest result; the operation continues only when the
    /// caller did not receive it yet.
    fn deliver_digest(
        &self,
        session: CK_SESSION_HANDLE,
        mut op: DigestOp,
        final_call: bool,
        data: &[u8],
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        let step = if final_call { op.finish() } else { op.single(data) };
        let delivery = match step {
            DigestStep::Deliver(bytes) => out.deliver(bytes),
            // Any error ends a digest (PKCS#11): the op is dropped here.
            DigestStep::Active => return Err(Error::rv(CKR_OPERATION_ACTIVE)),
        };
        if !delivery.is_complete() {
            self.put_digest(session, op)?;
        }
        Ok(delivery)
    }

    /// `C_Digest`.
    pub fn digest(&self, session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        let op = self.take_digest(session)?;
        self.deliver_digest(session, op, false, data, out)
    }

    /// `C_DigestUpdate`.
    pub fn digest_update(&self, session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        let mut op = self.take_digest(session)?;
        if !op.update(data) {
            return Err(Error::rv(CKR_OPERATION_ACTIVE));
        }
        self.put_digest(session, op)
    }

    /// `C_DigestKey`: key material never leaves the HSM, so no key can be
    /// digested; the error ends the digest, as any digest error does.
    pub fn digest_key(&self, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> Result<()> {
        let now = self.stamp();
        let mut guard = self.tables();
        let tables = &mut *guard;
        let found = tables.sessions.get(session, now)?;
        let slot = found.slot;
        found.digest.take().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))?;
        if tables.objects.get(key, slot).is_err() {
            return Err(Error::rv(CKR_KEY_HANDLE_INVALID));
        }
        Err(Error::rv(CKR_KEY_INDIGESTIBLE))
    }

    /// `C_DigestFinal`.
    pub fn digest_final(&self, session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        let op = self.take_digest(session)?;
        self.deliver_digest(session, op, true, &[], out)
    }
}
