//! Message digests, computed in the module: hashing public data gains
//! nothing from the HSM and would cost a round trip per call.
//!
//! A digest operation follows the same stages as the daemon-backed ones
//! (see [`crate::operations`]): single-part or multi-part, and a result kept
//! until the application has received it (two-call convention).

use p11kms_ffi::sys::{CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512};
use p11kms_proto::pkcs11::MechanismType;
use sha1::Sha1;
use sha2::{Digest as _, Sha224, Sha256, Sha384, Sha512};

/// The digest mechanisms computed locally, with their output sizes.
pub const MECHANISMS: [(MechanismType, usize); 5] =
    [(CKM_SHA_1, 20), (CKM_SHA224, 28), (CKM_SHA256, 32), (CKM_SHA384, 48), (CKM_SHA512, 64)];

/// A running hash of one of the supported algorithms.
#[derive(Clone, Debug)]
pub enum Hasher {
    /// SHA-1.
    Sha1(Sha1),
    /// SHA-224.
    Sha224(Sha224),
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-384.
    Sha384(Sha384),
    /// SHA-512.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher for a mechanism, `None` if it is not a digest this
    /// module computes.
    pub fn new(mechanism: MechanismType) -> Option<Self> {
        Some(match mechanism {
            CKM_SHA_1 => Self::Sha1(Sha1::new()),
            CKM_SHA224 => Self::Sha224(Sha224::new()),
            CKM_SHA256 => Self::Sha256(Sha256::new()),
            CKM_SHA384 => Self::Sha384(Sha384::new()),
            CKM_SHA512 => Self::Sha512(Sha512::new()),
            _ => return None,
        })
    }

    /// Feeds data.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha224(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far; the hasher is reset.
    pub fn finish(&mut self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize_reset().to_vec(),
            Self::Sha224(h) => h.finalize_reset().to_vec(),
            Self::Sha256(h) => h.finalize_reset().to_vec(),
            Self::Sha384(h) => h.finalize_reset().to_vec(),
            Self::Sha512(h) => h.finalize_reset().to_vec(),
        }
    }
}

/// Digest state of a session.
#[derive(Debug)]
pub struct DigestOp {
    hasher: Hasher,
    stage: DigestStage,
}

#[derive(Debug)]
enum DigestStage {
    /// Initialized, nothing fed.
    Fresh,
    /// `C_DigestUpdate` was called: only `C_DigestFinal` may end it.
    Updating,
    /// The result is computed and waits for a buffer large enough.
    Ready { single: bool, output: Vec<u8> },
}

/// What a single-part or final call should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum DigestStep<'a> {
    /// Hand these bytes to the caller.
    Deliver(&'a [u8]),
    /// The call does not fit the operation's stage.
    Active,
}

impl DigestOp {
    /// Starts a digest, `None` for a mechanism not computed here.
    pub fn new(mechanism: MechanismType) -> Option<Self> {
        Some(Self { hasher: Hasher::new(mechanism)?, stage: DigestStage::Fresh })
    }

    /// `C_Digest`: the digest of `data`, computed once and kept until
    /// delivered.
    pub fn single(&mut self, data: &[u8]) -> DigestStep<'_> {
        match self.stage {
            DigestStage::Updating | DigestStage::Ready { single: false, .. } => {
                return DigestStep::Active;
            }
            DigestStage::Fresh => {
                self.hasher.update(data);
                self.stage = DigestStage::Ready { single: true, output: self.hasher.finish() };
            }
            DigestStage::Ready { single: true, .. } => {}
        }
        match &self.stage {
            DigestStage::Ready { output, .. } => DigestStep::Deliver(output),
            _ => DigestStep::Active,
        }
    }

    /// `C_DigestUpdate`. `false` when the stage does not allow it.
    pub fn update(&mut self, data: &[u8]) -> bool {
        match self.stage {
            DigestStage::Fresh | DigestStage::Updating => {
                self.hasher.update(data);
                self.stage = DigestStage::Updating;
                true
            }
            DigestStage::Ready { .. } => false,
        }
    }

    /// `C_DigestFinal`.
    pub fn finish(&mut self) -> DigestStep<'_> {
        match self.stage {
            DigestStage::Ready { single: true, .. } => return DigestStep::Active,
            DigestStage::Fresh | DigestStage::Updating => {
                self.stage = DigestStage::Ready { single: false, output: self.hasher.finish() };
            }
            DigestStage::Ready { single: false, .. } => {}
        }
        match &self.stage {
            DigestStage::Ready { output, .. } => DigestStep::Deliver(output),
            _ => DigestStep::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// FIPS 180 examples for "abc".
    const ABC: [(MechanismType, &str); 5] = [
        (CKM_SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (CKM_SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
        (CKM_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            CKM_SHA384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            CKM_SHA512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];

    #[test]
    fn known_vectors_single_part() {
        for (mechanism, expected) in ABC {
            let mut op = DigestOp::new(mechanism).expect("supported");
            let DigestStep::Deliver(out) = op.single(b"abc") else {
                panic!("single-part digest must produce output");
            };
            assert_eq!(hex(out), expected);
            let size = MECHANISMS.iter().find(|(m, _)| *m == mechanism).map(|(_, n)| *n);
            assert_eq!(Some(out.len()), size);
        }
    }

    #[test]
    fn multi_part_equals_single_part() {
        for (mechanism, expected) in ABC {
            let mut op = DigestOp::new(mechanism).expect("supported");
            assert!(op.update(b"a"));
            assert!(op.update(b""));
            assert!(op.update(b"bc"));
            let DigestStep::Deliver(out) = op.finish() else {
                panic!("final must produce output");
            };
            assert_eq!(hex(out), expected);
        }
    }

    #[test]
    fn result_is_kept_for_the_second_call_and_stages_are_enforced() {
        let mut op = DigestOp::new(CKM_SHA256).expect("supported");
        let first = match op.single(b"abc") {
            DigestStep::Deliver(out) => out.to_vec(),
            DigestStep::Active => panic!("fresh op accepts C_Digest"),
        };
        // The second call of the two-call convention gets the same bytes,
        // even if the application passes no data the second time.
        assert_eq!(op.single(b""), DigestStep::Deliver(&first));
        assert!(!op.update(b"x"), "no update once the result is computed");
        assert_eq!(op.finish(), DigestStep::Active);

        let mut op = DigestOp::new(CKM_SHA256).expect("supported");
        assert!(op.update(b"abc"));
        assert_eq!(op.single(b"abc"), DigestStep::Active, "C_Digest cannot end a multi-part digest");
    }

    #[test]
    fn unknown_mechanisms_are_refused() {
        assert!(DigestOp::new(0x1041).is_none());
    }
}
