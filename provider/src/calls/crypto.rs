//! Encrypt, decrypt, sign and verify: `…Init` is checked locally, the
//! single-part or final call makes the one round trip (see
//! [`crate::operations`] for the stages and the multi-part rules).

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_KEY_HANDLE_INVALID,
    CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_CLOSED,
};
use p11kms_ffi::{Delivery, OutBuf};
use p11kms_proto::SecretBytes;
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Mechanism, ObjectId, SlotId};
use zeroize::{Zeroize, Zeroizing};

use crate::chaining::Chain;
use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;
use crate::operations::{CryptoOp, OpKind, Step};
use crate::{key_fit, params};

/// Which call ends the operation.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// `C_Sign`, `C_Encrypt`, …: with all the data.
    Single(&'a [u8]),
    /// `C_SignFinal`, `C_EncryptFinal`, …: with the buffered data.
    Final,
}

/// A request about to be sent for an operation, copied out of the session.
#[derive(Debug)]
struct Pending {
    slot: SlotId,
    op_id: u64,
    key: ObjectId,
    mechanism: Mechanism,
    input: Zeroizing<Vec<u8>>,
}

impl Pending {
    /// The data-plane request for an operation kind.
    fn into_request(mut self, kind: OpKind, signature: &[u8]) -> DataRequest {
        let (slot, object, mechanism) = (self.slot, self.key, self.mechanism);
        let data = std::mem::take(&mut *self.input);
        match kind {
            OpKind::Encrypt => DataRequest::Encrypt { slot, object, mechanism, data: SecretBytes::new(data) },
            OpKind::Decrypt => DataRequest::Decrypt { slot, object, mechanism, data },
            OpKind::Sign => DataRequest::Sign { slot, object, mechanism, data },
            OpKind::Verify => DataRequest::Verify { slot, object, mechanism, data, signature: signature.to_vec() },
        }
    }
}

/// Wipes the application's data from a sent request.
fn scrub(request: DataRequest) {
    match request {
        DataRequest::Sign { mut data, .. }
        | DataRequest::Decrypt { mut data, .. }
        | DataRequest::Verify { mut data, .. } => data.zeroize(),
        // `SecretBytes` wipes itself when dropped.
        _ => {}
    }
}

/// The output in the daemon's answer to an encryption, decryption or
/// signature.
fn reply_bytes(kind: OpKind, answer: Result<DataReply>) -> Result<Zeroizing<Vec<u8>>> {
    match (kind, answer) {
        (_, Err(error)) => Err(length_error(kind, error)),
        (OpKind::Encrypt | OpKind::Sign, Ok(DataReply::Bytes(bytes))) => Ok(Zeroizing::new(bytes)),
        (OpKind::Decrypt, Ok(DataReply::Secret(secret))) => Ok(Zeroizing::new(secret.expose().to_vec())),
        _ => Err(Error::UnexpectedReply(kind.request_name())),
    }
}

/// The "too long" code for a kind: decryption input is ciphertext.
fn length_error(kind: OpKind, error: Error) -> Error {
    let too_long = matches!(error, Error::TooLarge { .. }) || error.ck_rv().0 == CKR_DATA_LEN_RANGE;
    match kind {
        OpKind::Decrypt if too_long => Error::rv(CKR_ENCRYPTED_DATA_LEN_RANGE),
        _ => error,
    }
}

impl Module {
    /// `C_EncryptInit`, `C_DecryptInit`, `C_SignInit`, `C_VerifyInit`: no
    /// round trip. In this order: the key must be visible in the session's
    /// slot and may not be known as a non-key; the mechanism must be the
    /// token's, for this function; the key must fit the mechanism and the
    /// function ([`key_fit`]); the parameter must be valid ([`params`]).
    /// Any refusal starts no operation.
    pub fn crypto_init(
        &self,
        session: CK_SESSION_HANDLE,
        kind: OpKind,
        mechanism: &Mechanism,
        key: CK_OBJECT_HANDLE,
    ) -> Result<()> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            found.ensure_idle(kind)?;
            found.slot
        };
        // Normally a no-op; after the daemon was unreachable, this is where
        // its token comes back (a round trip is never made under a lock).
        drop(self.fresh_slots()?);
        let mut guard = self.tables();
        let tables = &mut *guard;
        let (target, object) =
            tables.visible_object(session, key, now).map_err(|error| error.for_handle(CKR_KEY_HANDLE_INVALID))?;
        if !object.may_be_key() {
            return Err(Error::rv(CKR_KEY_HANDLE_INVALID));
        }
        // The tables stay locked while the slot cache is read (order:
        // tables, then slots), so the checks and the new state agree.
        crate::lock(&self.slots).check_mechanism(slot, mechanism.ty, kind.function())?;
        key_fit::check(object, mechanism.ty, kind)?;
        params::check(mechanism)?;
        let chain = match kind {
            OpKind::Encrypt | OpKind::Decrypt => Chain::new(mechanism, kind == OpKind::Decrypt, |part| {
                object.allows_mechanism(part)
                    && crate::lock(&self.slots).check_mechanism(slot, part, kind.function()).is_ok()
            }),
            OpKind::Sign | OpKind::Verify => None,
        };
        let op_id = tables.sessions.next_op_id();
        let found = tables.sessions.get(session, now)?;
        found.ensure_idle(kind)?;
        *found.op_mut(kind) = Some(CryptoOp::new(op_id, target.id, mechanism.clone(), chain));
        Ok(())
    }

    /// `…Update`: buffers the data. Any error ends the operation.
    pub fn crypto_update(&self, session: CK_SESSION_HANDLE, kind: OpKind, data: &[u8]) -> Result<()> {
        let now = self.stamp();
        let limit = self.pool.body_limit();
        let mut tables = self.tables();
        let slot_op = tables.sessions.get(session, now)?.op_mut(kind);
        let op = slot_op.as_mut().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))?;
        if let Err(error) = op.update(data, limit) {
            *slot_op = None;
            return Err(length_error(kind, error));
        }
        Ok(())
    }

    /// `C_EncryptUpdate` / `C_DecryptUpdate`. A chained operation
    /// ([`crate::chaining`]) sends the blocks the part completes and returns
    /// their output; the length a query or a short buffer learns is known
    /// before any round trip, and neither changes the operation. Any other
    /// operation buffers and returns no output yet; a length query buffers
    /// nothing, since the application will pass the same data again with
    /// its buffer.
    pub fn crypto_update_output(
        &self,
        session: CK_SESSION_HANDLE,
        kind: OpKind,
        data: &[u8],
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        let now = self.stamp();
        let (plan, pending) = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            let slot = found.slot;
            let slot_op = found.op_mut(kind);
            let op = slot_op.as_mut().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))?;
            let mut plan = match op.plan_part(data) {
                None if out.is_query() => return Ok(out.deliver(&[])),
                None => {
                    drop(tables);
                    self.crypto_update(session, kind, data)?;
                    return Ok(out.deliver(&[]));
                }
                Some(Err(error)) => {
                    *slot_op = None;
                    return Err(length_error(kind, error));
                }
                Some(Ok(plan)) => plan,
            };
            if let Some(delivery) = out.announce(plan.out_len) {
                return Ok(delivery);
            }
            let Some((mechanism, input)) = plan.take_send() else {
                op.commit_part(plan, None)?;
                return Ok(out.deliver(&[]));
            };
            op.send_part();
            (plan, Pending { slot, op_id: op.id, key: op.key, mechanism, input })
        };
        // The room was checked before sending: the output is delivered, and
        // the operation goes on.
        self.answered(session, kind, pending, now, false, |op, bytes| {
            let bytes = op.commit_part(plan, Some(bytes))?;
            Ok(out.deliver(&bytes))
        })
    }

    /// Sends `pending`'s request and hands the output to `settle` with the
    /// operation it was made for, under the tables' lock. The operation ends
    /// when the daemon refused or `settle` failed, and, for a `last` call
    /// (single-part or final), once the output reached the application;
    /// when another thread ended or replaced it meanwhile, there is nothing
    /// to settle.
    fn answered(
        &self,
        session: CK_SESSION_HANDLE,
        kind: OpKind,
        pending: Pending,
        now: Stamp,
        last: bool,
        settle: impl FnOnce(&mut CryptoOp, Zeroizing<Vec<u8>>) -> Result<Delivery>,
    ) -> Result<Delivery> {
        let op_id = pending.op_id;
        let request = pending.into_request(kind, &[]);
        let answer = self.pool.call(&request, Some(now.boot));
        scrub(request);
        let output = reply_bytes(kind, answer);

        let mut tables = self.tables();
        let found = tables.sessions.get_open(session).ok_or(Error::rv(CKR_SESSION_CLOSED))?;
        let slot_op = found.op_mut(kind);
        let Some(op) = slot_op.as_mut().filter(|op| op.id == op_id) else {
            return Err(Error::rv(CKR_OPERATION_NOT_INITIALIZED));
        };
        let settled = output.and_then(|bytes| settle(op, bytes));
        if settled.as_ref().map_or(true, |delivery| last && delivery.is_complete()) {
            *slot_op = None;
        }
        settled
    }

    /// The data to send for a single-part or final call, or the kept
    /// result delivered at once.
    fn crypto_step(
        &self,
        session: CK_SESSION_HANDLE,
        kind: OpKind,
        part: Part<'_>,
        now: Stamp,
        out: Option<&mut OutBuf<'_>>,
    ) -> Result<std::result::Result<Pending, Delivery>> {
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        let slot = found.slot;
        let slot_op = found.op_mut(kind);
        let op = slot_op.as_mut().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))?;
        let (op_id, key) = (op.id, op.key);
        let step = match part {
            Part::Single(data) => op.single(data),
            Part::Final => op.finish(),
        };
        match (step, out) {
            (Ok(Step::Send(mechanism, input)), _) => Ok(Ok(Pending { slot, op_id, key, mechanism, input })),
            (Ok(Step::Ready(bytes)), Some(out)) => {
                let delivery = out.deliver(bytes);
                if delivery.is_complete() {
                    *slot_op = None;
                }
                Ok(Err(delivery))
            }
            // Only output-producing operations keep a result.
            (Ok(Step::Ready(_)), None) => {
                *slot_op = None;
                Err(Error::rv(CKR_OPERATION_ACTIVE))
            }
            (Err(error), _) => {
                *slot_op = None;
                Err(error)
            }
        }
    }

    /// `C_Encrypt`, `C_Decrypt`, `C_Sign` and their `…Final`: one round
    /// trip, then the two-call convention on the result.
    pub fn crypto_output(
        &self,
        session: CK_SESSION_HANDLE,
        kind: OpKind,
        part: Part<'_>,
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        let now = self.stamp();
        let pending = match self.crypto_step(session, kind, part, now, Some(out))? {
            Ok(pending) => pending,
            Err(delivery) => return Ok(delivery),
        };
        self.answered(session, kind, pending, now, true, |op, bytes| {
            let delivery = out.deliver(&bytes);
            if !delivery.is_complete() {
                op.keep(matches!(part, Part::Single(_)), bytes);
            }
            Ok(delivery)
        })
    }

    /// `C_Verify` and `C_VerifyFinal`: one round trip; the operation always
    /// ends.
    pub fn verify_call(&self, session: CK_SESSION_HANDLE, part: Part<'_>, signature: &[u8]) -> Result<()> {
        let now = self.stamp();
        // Verification keeps no result, so there is never one to deliver.
        let Ok(pending) = self.crypto_step(session, OpKind::Verify, part, now, None)? else {
            return Err(Error::rv(CKR_OPERATION_ACTIVE));
        };
        let op_id = pending.op_id;
        let request = pending.into_request(OpKind::Verify, signature);
        let answer = self.pool.call(&request, Some(now.boot));
        scrub(request);
        {
            let mut tables = self.tables();
            if let Some(found) = tables.sessions.get_open(session) {
                let slot_op = found.op_mut(OpKind::Verify);
                if slot_op.as_ref().map(|op| op.id) == Some(op_id) {
                    *slot_op = None;
                }
            }
        }
        match answer {
            Ok(DataReply::Done) => Ok(()),
            Ok(_) => Err(Error::UnexpectedReply("Verify")),
            Err(error) => Err(error),
        }
    }
}
