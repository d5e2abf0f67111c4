//! Multi-part AES-ECB, -CBC, -CBC-PAD and -CTR encryption and decryption
//! as a chain of single-part calls, so that `C_EncryptUpdate` and
//! `C_DecryptUpdate` return their output at once, as on a local token.
//!
//! The daemon keeps no state between calls (one request is one whole
//! `…Init` + single-part call, `daemon/src/data/crypto.rs`); what links one
//! part to the next is public and small, so the module keeps it:
//!
//! * ECB: nothing; each part is the whole blocks so far.
//! * CBC and CBC-PAD: the block the next part chains from (the IV, then
//!   the last ciphertext block), sent as the IV of a `CKM_AES_CBC` call. A
//!   CBC-PAD decryption holds back its last block (1 to 16 bytes) for
//!   `…Final`, which unpads it with `CKM_AES_CBC_PAD`; a CBC-PAD encryption
//!   sends what is left (0 to 15 bytes) to `…Final`, which pads it.
//! * CTR: the counter block of the next keystream block and how much of it
//!   is used. A part that starts inside a block is sent behind as many
//!   filler bytes, whose output is dropped, so every byte comes back at
//!   once and `…Final` has nothing left.
//!
//! None of this lets an application do more with a key than single-part
//! calls already do: each part is such a call, under the same checks. What
//! changes is that every part is a round trip and an audited use of the
//! key, which is what an application streaming a large file wants (the
//! buffered alternative refused anything over one request's body).
//!
//! A CTR counter never wraps within an operation (PKCS#11's
//! `ulCounterBits` are the bits that count): data beyond what the counter
//! can reach is `…_LEN_RANGE`, as SoftHSM refuses it, so the parts give the
//! same bytes as one call on any token.

use p11kms_ffi::sys::{
    CK_MECHANISM_TYPE, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_ECB, CKR_DATA_LEN_RANGE,
    CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_GENERAL_ERROR,
};
use p11kms_proto::pkcs11::{MechParam, Mechanism};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The AES block.
const BLOCK: usize = 16;

/// How the parts of a chained operation are linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Ecb,
    Cbc,
    CbcPad,
    Ctr { bits: u64 },
}

/// The state of a chained multi-part AES operation between parts.
#[derive(Clone, Debug)]
pub struct Chain {
    mode: Mode,
    decrypt: bool,
    /// CBC: the IV of the next part. CTR: the counter block of the next
    /// keystream block.
    link: [u8; BLOCK],
    /// Input not sent yet (ECB, CBC: less than a block; a CBC-PAD
    /// decryption: up to a block, held for `…Final`).
    carry: Zeroizing<Vec<u8>>,
    /// CTR: bytes of the current keystream block already used.
    offset: usize,
    /// CTR: counter blocks left before the counter would wrap, the current
    /// one included; `None` when more than any operation can use.
    blocks_left: Option<u128>,
}

/// One part about to be sent, and the chain's state once it is answered.
/// What is sent is `skip` filler bytes and then the `out_len` bytes whose
/// output the application gets, so the answer must be as long as both.
#[derive(Debug)]
pub struct Plan {
    /// The single-part call to make; `None` when the part completes no
    /// block (it is only kept) or once taken ([`Plan::take_send`]).
    send: Option<(Mechanism, Zeroizing<Vec<u8>>)>,
    /// The output the application gets from this part.
    pub out_len: usize,
    /// Filler bytes in front of the sent input whose output is dropped.
    skip: usize,
    after: Chain,
}

impl Plan {
    /// The call to make, handed over without a copy of its input; `None`
    /// when the part is only kept ([`Chain::keep`]).
    pub fn take_send(&mut self) -> Option<(Mechanism, Zeroizing<Vec<u8>>)> {
        self.send.take()
    }
}

impl Chain {
    /// The chain for `mechanism`, or `None` when the operation is not
    /// chained (GCM, RSA, signatures: their input is buffered until
    /// `…Final`). `usable` says whether a mechanism the parts need may be
    /// used with the key on this token: a CBC-PAD key limited to CBC-PAD by
    /// its `CKA_ALLOWED_MECHANISMS` is buffered, not chained.
    pub fn new(mechanism: &Mechanism, decrypt: bool, usable: impl Fn(CK_MECHANISM_TYPE) -> bool) -> Option<Self> {
        let (mode, link) = match (mechanism.ty, &mechanism.param) {
            (CKM_AES_ECB, _) => (Mode::Ecb, [0; BLOCK]),
            (CKM_AES_CBC, MechParam::Bytes(iv)) => (Mode::Cbc, iv.as_slice().try_into().ok()?),
            (CKM_AES_CBC_PAD, MechParam::Bytes(iv)) if usable(CKM_AES_CBC) => {
                (Mode::CbcPad, iv.as_slice().try_into().ok()?)
            }
            (CKM_AES_CTR, MechParam::Ctr { counter_bits, counter_block }) if (1..=128).contains(counter_bits) => {
                (Mode::Ctr { bits: *counter_bits }, *counter_block)
            }
            _ => return None,
        };
        let blocks_left = match mode {
            Mode::Ctr { bits } => counter_room(&link, bits),
            _ => None,
        };
        Some(Self { mode, decrypt, link, carry: Zeroizing::new(Vec::new()), offset: 0, blocks_left })
    }

    /// The code for input the operation cannot take.
    fn len_range(&self) -> Error {
        Error::rv(if self.decrypt { CKR_ENCRYPTED_DATA_LEN_RANGE } else { CKR_DATA_LEN_RANGE })
    }

    /// The mechanism of a part that starts at the current link.
    fn part_mechanism(&self) -> Mechanism {
        match self.mode {
            Mode::Ecb => Mechanism::new(CKM_AES_ECB),
            Mode::Cbc | Mode::CbcPad => Mechanism { ty: CKM_AES_CBC, param: MechParam::Bytes(self.link.to_vec()) },
            Mode::Ctr { bits } => {
                Mechanism { ty: CKM_AES_CTR, param: MechParam::Ctr { counter_bits: bits, counter_block: self.link } }
            }
        }
    }

    /// What `…Update` with `data` does. Nothing changes until
    /// [`Chain::commit`]: a length query or a short buffer leaves the chain
    /// as it was.
    pub fn plan(&self, data: &[u8]) -> Result<Plan> {
        if let Mode::Ctr { .. } = self.mode {
            return self.plan_ctr(data);
        }
        let total = self.carry.len().saturating_add(data.len());
        let sent = match self.mode {
            // The last block may be the padding: it waits for `…Final`.
            Mode::CbcPad if self.decrypt => total.saturating_sub(1) / BLOCK * BLOCK,
            _ => total / BLOCK * BLOCK,
        };
        let mut after = self.clone();
        let mut input = Zeroizing::new(Vec::with_capacity(total));
        input.extend_from_slice(&self.carry);
        input.extend_from_slice(data);
        after.carry = Zeroizing::new(input[sent..].to_vec());
        if sent == 0 {
            return Ok(Plan { send: None, out_len: 0, skip: 0, after });
        }
        input.truncate(sent);
        if self.decrypt && self.mode != Mode::Ecb {
            after.link = last_block(&input)?;
        }
        Ok(Plan { send: Some((self.part_mechanism(), input)), out_len: sent, skip: 0, after })
    }

    fn plan_ctr(&self, data: &[u8]) -> Result<Plan> {
        let Mode::Ctr { bits } = self.mode else { return Err(Error::rv(CKR_GENERAL_ERROR)) };
        let reach = (self.offset as u128).saturating_add(data.len() as u128);
        let used = reach.div_ceil(BLOCK as u128);
        if self.blocks_left.is_some_and(|left| used > left) {
            return Err(self.len_range());
        }
        let mut after = self.clone();
        let whole = reach / BLOCK as u128;
        after.link = advance(&self.link, bits, whole);
        after.offset = (reach % BLOCK as u128) as usize;
        after.blocks_left = self.blocks_left.map(|left| left - whole);
        if data.is_empty() {
            return Ok(Plan { send: None, out_len: 0, skip: 0, after });
        }
        let mut input = Zeroizing::new(vec![0; self.offset]);
        input.extend_from_slice(data);
        Ok(Plan { send: Some((self.part_mechanism(), input)), out_len: data.len(), skip: self.offset, after })
    }

    /// Takes the answer to `plan`'s call: the chain moves on, and the
    /// application's part of the output is returned. An answer of the wrong
    /// length is the daemon's fault and ends the operation.
    pub fn commit(&mut self, plan: Plan, mut output: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
        let Plan { out_len, skip, mut after, .. } = plan;
        if output.len() != skip + out_len {
            return Err(Error::rv(CKR_GENERAL_ERROR));
        }
        if !self.decrypt && matches!(self.mode, Mode::Cbc | Mode::CbcPad) {
            after.link = last_block(&output)?;
        }
        *self = after;
        output.drain(..skip);
        Ok(output)
    }

    /// Keeps a part that completes no block (`plan.send` is `None`).
    pub fn keep(&mut self, plan: Plan) {
        *self = plan.after;
    }

    /// What `…Final` sends: the last part, or `None` when nothing is left
    /// (the application gets no more bytes). Leftover input ECB or CBC
    /// cannot take is `…_LEN_RANGE`; a CBC-PAD decryption must end on a
    /// whole block.
    pub fn finish(&self) -> Result<Option<(Mechanism, Zeroizing<Vec<u8>>)>> {
        let last = || {
            Some((Mechanism { ty: CKM_AES_CBC_PAD, param: MechParam::Bytes(self.link.to_vec()) }, self.carry.clone()))
        };
        match self.mode {
            Mode::Ctr { .. } => Ok(None),
            Mode::CbcPad if !self.decrypt => Ok(last()),
            Mode::CbcPad if self.carry.len() == BLOCK => Ok(last()),
            Mode::Ecb | Mode::Cbc if self.carry.is_empty() => Ok(None),
            Mode::Ecb | Mode::Cbc | Mode::CbcPad => Err(self.len_range()),
        }
    }
}

/// The last block of `bytes`; shorter bytes are an answer the chain
/// cannot continue from.
fn last_block(bytes: &[u8]) -> Result<[u8; BLOCK]> {
    bytes.last_chunk().copied().ok_or(Error::rv(CKR_GENERAL_ERROR))
}

/// The mask of the counter bits of a counter block.
fn counter_mask(bits: u64) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// Counter blocks before the counter of `block` would wrap, this one
/// included; `None` for a 128-bit counter (more than any operation uses).
fn counter_room(block: &[u8; BLOCK], bits: u64) -> Option<u128> {
    let mask = counter_mask(bits);
    (bits < 128).then(|| mask - (u128::from_be_bytes(*block) & mask) + 1)
}

/// The counter block `blocks` blocks on: only the counter bits count.
fn advance(block: &[u8; BLOCK], bits: u64, blocks: u128) -> [u8; BLOCK] {
    let value = u128::from_be_bytes(*block);
    let mask = counter_mask(bits);
    let counter = (value & mask).wrapping_add(blocks) & mask;
    ((value & !mask) | counter).to_be_bytes()
}

#[cfg(test)]
mod tests;
