//! State of the daemon-backed cryptographic operations of a session
//! (encrypt, decrypt, sign, verify): one round trip per operation.
//!
//! * `…Init` validates locally and records (key, mechanism): no round trip.
//! * A single-part call (`C_Sign`, `C_Encrypt`, …) sends the whole request.
//! * Multi-part AES-ECB, -CBC, -CBC-PAD and -CTR encryption and decryption
//!   are chained ([`crate::chaining`]): each `…Update` that completes a
//!   block is one single-part call, and returns its output at once.
//! * Other multi-part calls buffer the input locally: `…Update` returns no
//!   output (zero bytes for a GCM or RSA `C_EncryptUpdate` /
//!   `C_DecryptUpdate`, which PKCS#11 allows: an update may produce less
//!   output than it consumes), and `…Final` sends everything and returns the
//!   whole output. Applications must therefore size the final buffer with
//!   the usual length query rather than assume at most one block.
//! * The result of the round trip is kept until the application has
//!   received it: a length query or a too-small buffer leaves the operation
//!   active, and the second call returns the kept bytes without asking the
//!   daemon again (which also keeps a randomized signature or ciphertext
//!   stable between the two calls).
//! * Any other error of the single-part or final call ends the operation.
//!
//! Buffered input and kept output are wiped when the operation ends.

use p11kms_ffi::sys::{
    CK_FLAGS, CKA_DECRYPT, CKA_ENCRYPT, CKA_SIGN, CKA_VERIFY, CKF_DECRYPT, CKF_ENCRYPT, CKF_SIGN, CKF_VERIFY,
    CKR_DATA_LEN_RANGE, CKR_OPERATION_ACTIVE,
};
use p11kms_proto::pkcs11::{AttributeType, Mechanism, ObjectId};
use zeroize::Zeroizing;

use crate::chaining::{Chain, Plan};
use crate::error::{Error, Result};

/// The daemon-backed operation kinds; a session can run one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// `C_Encrypt*`.
    Encrypt,
    /// `C_Decrypt*`.
    Decrypt,
    /// `C_Sign*`.
    Sign,
    /// `C_Verify*`.
    Verify,
}

impl OpKind {
    /// Number of kinds, for per-session arrays.
    pub const COUNT: usize = 4;

    /// Index in a per-session array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The key attribute that must not be false for this kind.
    pub fn key_attribute(self) -> AttributeType {
        match self {
            Self::Encrypt => CKA_ENCRYPT,
            Self::Decrypt => CKA_DECRYPT,
            Self::Sign => CKA_SIGN,
            Self::Verify => CKA_VERIFY,
        }
    }

    /// The mechanism function flag for this kind.
    pub fn function(self) -> CK_FLAGS {
        match self {
            Self::Encrypt => CKF_ENCRYPT,
            Self::Decrypt => CKF_DECRYPT,
            Self::Sign => CKF_SIGN,
            Self::Verify => CKF_VERIFY,
        }
    }

    /// The data-plane request name, for error reports.
    pub fn request_name(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::Sign => "Sign",
            Self::Verify => "Verify",
        }
    }
}

/// One active operation.
#[derive(Debug)]
pub struct CryptoOp {
    /// Distinguishes this operation from a later one of the same kind, so
    /// that the answer of a round trip only ever lands in the operation that
    /// asked for it.
    pub id: u64,
    /// The key, as the daemon names it.
    pub key: ObjectId,
    /// The mechanism given to `…Init`.
    pub mechanism: Mechanism,
    input: Zeroizing<Vec<u8>>,
    /// The link between the parts of a chained operation; `None` when its
    /// input is buffered.
    chain: Option<Chain>,
    /// A chained part is on its way to the daemon: another part now would
    /// start from the same link.
    in_flight: bool,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// Initialized; no data yet.
    Fresh,
    /// `…Update` was called: only `…Final` may end it.
    Updating,
    /// The daemon answered; the output waits for a buffer large enough.
    Ready { single: bool, output: Zeroizing<Vec<u8>> },
}

/// What a single-part or final call should do.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Send the request with this mechanism and input.
    Send(Mechanism, Zeroizing<Vec<u8>>),
    /// The output is already here (a chained operation's `…Final` with
    /// nothing left: empty).
    Ready(&'a [u8]),
}

impl CryptoOp {
    /// A fresh operation; `chain` for a chained one.
    pub fn new(id: u64, key: ObjectId, mechanism: Mechanism, chain: Option<Chain>) -> Self {
        Self { id, key, mechanism, input: Zeroizing::new(Vec::new()), chain, in_flight: false, stage: Stage::Fresh }
    }

    /// Whether `…Update` may continue the operation.
    fn check_updatable(&self) -> Result<()> {
        match self.stage {
            Stage::Fresh | Stage::Updating if !self.in_flight => Ok(()),
            _ => Err(Error::rv(CKR_OPERATION_ACTIVE)),
        }
    }

    /// `…Update` of a chained operation: what to send for `data`, or `None`
    /// when the operation buffers its input ([`CryptoOp::update`]).
    pub fn plan_part(&self, data: &[u8]) -> Option<Result<Plan>> {
        let chain = self.chain.as_ref()?;
        Some(self.check_updatable().and_then(|()| chain.plan(data)))
    }

    /// The part of `plan` leaves for the daemon.
    pub fn send_part(&mut self) {
        self.in_flight = true;
    }

    /// The daemon answered the part of `plan` (or there was nothing to
    /// send): the chain moves on and the application's output is returned.
    pub fn commit_part(&mut self, plan: Plan, output: Option<Zeroizing<Vec<u8>>>) -> Result<Zeroizing<Vec<u8>>> {
        self.in_flight = false;
        self.stage = Stage::Updating;
        let chain = self.chain.as_mut().ok_or(Error::rv(CKR_OPERATION_ACTIVE))?;
        match output {
            Some(output) => chain.commit(plan, output),
            None => {
                chain.keep(plan);
                Ok(Zeroizing::new(Vec::new()))
            }
        }
    }

    /// `…Update`: buffers `data`; the whole buffer must stay within `limit`
    /// bytes (what the daemon accepts in one request).
    pub fn update(&mut self, data: &[u8], limit: usize) -> Result<()> {
        self.check_updatable()?;
        if self.input.len().saturating_add(data.len()) > limit {
            return Err(Error::rv(CKR_DATA_LEN_RANGE));
        }
        self.input.extend_from_slice(data);
        self.stage = Stage::Updating;
        Ok(())
    }

    /// A single-part call with `data`.
    pub fn single(&self, data: &[u8]) -> Result<Step<'_>> {
        match &self.stage {
            Stage::Fresh => Ok(Step::Send(self.mechanism.clone(), Zeroizing::new(data.to_vec()))),
            Stage::Ready { single: true, output } => Ok(Step::Ready(output)),
            // A multi-part operation can only end with `…Final`.
            Stage::Updating | Stage::Ready { single: false, .. } => Err(Error::rv(CKR_OPERATION_ACTIVE)),
        }
    }

    /// A final call: everything buffered so far, or a chained operation's
    /// last part.
    pub fn finish(&mut self) -> Result<Step<'_>> {
        if self.in_flight {
            return Err(Error::rv(CKR_OPERATION_ACTIVE));
        }
        if let Stage::Fresh | Stage::Updating = self.stage {
            return match &self.chain {
                Some(chain) => Ok(match chain.finish()? {
                    Some((mechanism, input)) => Step::Send(mechanism, input),
                    None => Step::Ready(&[]),
                }),
                None => Ok(Step::Send(self.mechanism.clone(), std::mem::take(&mut self.input))),
            };
        }
        match &self.stage {
            Stage::Ready { single: false, output } => Ok(Step::Ready(output)),
            _ => Err(Error::rv(CKR_OPERATION_ACTIVE)),
        }
    }

    /// Keeps the daemon's output until the application can take it.
    pub fn keep(&mut self, single: bool, output: Zeroizing<Vec<u8>>) {
        self.input = Zeroizing::new(Vec::new());
        self.stage = Stage::Ready { single, output };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p11kms_ffi::sys::CKM_AES_GCM;

    fn op() -> CryptoOp {
        CryptoOp::new(1, 7, Mechanism::new(CKM_AES_GCM), None)
    }

    #[test]
    fn single_part_sends_then_keeps_the_result() {
        let mut op = op();
        assert_eq!(
            op.single(b"abc").ok(),
            Some(Step::Send(Mechanism::new(CKM_AES_GCM), Zeroizing::new(b"abc".to_vec())))
        );
        op.keep(true, Zeroizing::new(b"out".to_vec()));
        assert_eq!(op.single(b"abc").ok(), Some(Step::Ready(b"out")));
        assert!(op.finish().is_err(), "a single-part result is not a final's");
        assert!(op.update(b"x", 100).is_err(), "no update once the result is there");
    }

    #[test]
    fn multi_part_buffers_and_sends_once() {
        let mut op = op();
        assert!(op.update(b"ab", 100).is_ok());
        assert!(op.update(b"c", 100).is_ok());
        assert!(matches!(op.single(b"x"), Err(e) if e.ck_rv().0 == CKR_OPERATION_ACTIVE));
        assert_eq!(op.finish().ok(), Some(Step::Send(Mechanism::new(CKM_AES_GCM), Zeroizing::new(b"abc".to_vec()))));
        op.keep(false, Zeroizing::new(b"sig".to_vec()));
        assert_eq!(op.finish().ok(), Some(Step::Ready(b"sig")));
    }

    #[test]
    fn final_without_update_sends_empty_input() {
        let mut op = op();
        assert_eq!(op.finish().ok(), Some(Step::Send(Mechanism::new(CKM_AES_GCM), Zeroizing::new(Vec::new()))));
    }

    #[test]
    fn buffer_limit_is_enforced() {
        let mut op = op();
        assert!(op.update(&[0; 8], 10).is_ok());
        assert!(matches!(op.update(&[0; 3], 10), Err(e) if e.ck_rv().0 == CKR_DATA_LEN_RANGE));
    }
}
