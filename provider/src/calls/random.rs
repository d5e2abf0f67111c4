//! `C_GenerateRandom` (the HSM's generator, through the daemon) and
//! `C_SeedRandom` (refused: the HSM seeds itself).

use p11kms_ffi::sys::{CK_SESSION_HANDLE, CKR_RANDOM_SEED_NOT_SUPPORTED};
use p11kms_proto::data::{DataReply, DataRequest};

use crate::error::{Error, Result};
use crate::module::Module;

/// Bytes asked for per round trip, at most.
const CHUNK: usize = p11kms_proto::data::MAX_RANDOM_PER_REQUEST;
/// What the daemon keeps of its body limit for the reply's framing: it
/// refuses a `GenerateRandom` longer than `max_body_bytes − 64`.
const REPLY_OVERHEAD: usize = p11kms_proto::data::RANDOM_REPLY_OVERHEAD;

impl Module {
    /// `C_GenerateRandom`: fills `out` from the session's slot, in chunks
    /// the daemon's body limit allows (the boundary bounds `out` itself).
    pub fn generate_random(&self, session: CK_SESSION_HANDLE, out: &mut [u8]) -> Result<()> {
        let now = self.stamp();
        let slot = self.tables().sessions.get(session, now)?.slot;
        let chunk_len = CHUNK.min(self.pool.body_limit().saturating_sub(REPLY_OVERHEAD)).max(1);
        for chunk in out.chunks_mut(chunk_len) {
            // A chunk is at most CHUNK bytes, so it always fits.
            let length = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            match self.pool.call(&DataRequest::GenerateRandom { slot, length }, Some(now.boot))? {
                DataReply::Secret(bytes) if bytes.len() == chunk.len() => {
                    chunk.copy_from_slice(bytes.expose());
                }
                _ => return Err(Error::UnexpectedReply("GenerateRandom")),
            }
        }
        Ok(())
    }

    /// `C_SeedRandom`.
    pub fn seed_random(&self, session: CK_SESSION_HANDLE) -> Result<()> {
        let now = self.stamp();
        self.tables().sessions.get(session, now)?;
        Err(Error::rv(CKR_RANDOM_SEED_NOT_SUPPORTED))
    }
}
