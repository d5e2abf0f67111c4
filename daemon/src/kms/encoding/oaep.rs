//! RSAES-OAEP encoding (RFC 8017, section 7.1) for hashes the HSM does not
//! support itself: the HSM then performs the raw RSA operation
//! (`CKM_RSA_X_509`) and this module pads or unpads. Decoding has one
//! error for every failure and inspects the secret-dependent parts without
//! early exits, so it does not become a padding oracle.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The hash of OAEP and of its MGF1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OaepHash {
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl OaepHash {
    fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Sha1 => {
                let mut h = Sha1::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
            Self::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }
}

/// OAEP failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OaepError {
    /// The message does not fit the modulus.
    #[error("the message is too long for RSA-OAEP with this key")]
    MessageTooLong,
    /// The seed is not one hash long, or the modulus is too small.
    #[error("invalid RSA-OAEP parameters")]
    Parameters,
    /// Decoding failed (one error for every cause).
    #[error("RSA-OAEP decoding failed")]
    Decoding,
}

/// Longest message OAEP takes with a `modulus_len`-byte key.
pub fn max_message_len(modulus_len: usize, hash: OaepHash) -> usize {
    modulus_len.saturating_sub(2 * hash.len() + 2)
}

fn mgf1(hash: OaepHash, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.len()));
    let mut counter: u32 = 0;
    while out.len() < len {
        out.extend(hash.digest(&[seed, &counter.to_be_bytes()]));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// EM of `modulus_len` bytes for `message`, with a random `seed` of one
/// hash length.
pub fn oaep_encode(
    message: &[u8],
    modulus_len: usize,
    hash: OaepHash,
    label: &[u8],
    seed: &[u8],
) -> Result<Vec<u8>, OaepError> {
    let h = hash.len();
    if seed.len() != h || modulus_len < 2 * h + 2 {
        return Err(OaepError::Parameters);
    }
    if message.len() > max_message_len(modulus_len, hash) {
        return Err(OaepError::MessageTooLong);
    }
    let db_len = modulus_len - h - 1;
    let mut db = Zeroizing::new(Vec::with_capacity(db_len));
    db.extend(hash.digest(&[label]));
    db.resize(db_len - message.len() - 1, 0);
    db.push(0x01);
    db.extend_from_slice(message);
    let db_mask = mgf1(hash, seed, db_len);
    let masked_db: Vec<u8> = db.iter().zip(db_mask.iter()).map(|(a, b)| a ^ b).collect();
    let seed_mask = mgf1(hash, &masked_db, h);
    let mut em = Vec::with_capacity(modulus_len);
    em.push(0);
    em.extend(seed.iter().zip(seed_mask.iter()).map(|(a, b)| a ^ b));
    em.extend(masked_db);
    Ok(em)
}

/// The message inside EM. `em` may be shorter than the modulus (leading
/// zero bytes dropped by the raw RSA operation).
pub fn oaep_decode(
    em: &[u8],
    modulus_len: usize,
    hash: OaepHash,
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OaepError> {
    let h = hash.len();
    if modulus_len < 2 * h + 2 || em.len() > modulus_len {
        return Err(OaepError::Decoding);
    }
    let mut padded = Zeroizing::new(vec![0u8; modulus_len - em.len()]);
    padded.extend_from_slice(em);
    let (y, rest) = padded.split_at(1);
    let (masked_seed, masked_db) = rest.split_at(h);
    let seed_mask = mgf1(hash, masked_db, h);
    let seed: Zeroizing<Vec<u8>> =
        Zeroizing::new(masked_seed.iter().zip(seed_mask.iter()).map(|(a, b)| a ^ b).collect());
    let db_mask = mgf1(hash, &seed, masked_db.len());
    let db: Zeroizing<Vec<u8>> = Zeroizing::new(masked_db.iter().zip(db_mask.iter()).map(|(a, b)| a ^ b).collect());
    let expected = hash.digest(&[label]);

    // Accumulate every check without branching on secret data.
    let mut bad = y[0];
    for (a, b) in db[..h].iter().zip(expected.iter()) {
        bad |= a ^ b;
    }
    // Find the 0x01 separator after the zero padding: `looking` stays 1
    // while only zeros were seen; `index` records the first 0x01.
    let mut looking: u8 = 1;
    let mut index: usize = 0;
    for (i, byte) in db[h..].iter().enumerate() {
        let is_one = u8::from(*byte == 0x01);
        let is_zero = u8::from(*byte == 0x00);
        let found_here = looking & is_one;
        index |= usize::from(found_here) * i;
        bad |= looking & !is_zero & !is_one & 1;
        looking &= is_zero;
    }
    bad |= looking;
    if bad != 0 {
        return Err(OaepError::Decoding);
    }
    Ok(Zeroizing::new(db[h + index + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_for_both_hashes() {
        for hash in [OaepHash::Sha1, OaepHash::Sha256] {
            let seed = vec![0x5c; hash.len()];
            for message in [&b""[..], b"a", &[0xff; 100]] {
                let em = oaep_encode(message, 256, hash, b"", &seed).expect("encodes");
                assert_eq!(em.len(), 256);
                assert_eq!(em[0], 0);
                assert_eq!(&*oaep_decode(&em, 256, hash, b"").expect("decodes"), message);
                assert_eq!(&*oaep_decode(&em[1..], 256, hash, b"").expect("leading zero dropped"), message);
            }
            let too_long = vec![1; max_message_len(256, hash) + 1];
            assert_eq!(oaep_encode(&too_long, 256, hash, b"", &seed), Err(OaepError::MessageTooLong));
        }
    }

    #[test]
    fn every_corruption_is_the_same_error() {
        let hash = OaepHash::Sha256;
        let em = oaep_encode(b"secret", 256, hash, b"", &[7; 32]).expect("encodes");
        for position in [0, 1, 20, 33, 40, 200, 255] {
            let mut bad = em.clone();
            bad[position] ^= 0x40;
            assert_eq!(oaep_decode(&bad, 256, hash, b"").err(), Some(OaepError::Decoding), "byte {position}");
        }
        assert_eq!(oaep_decode(&em, 256, hash, b"label").err(), Some(OaepError::Decoding), "another label");
        assert_eq!(oaep_decode(&em, 256, OaepHash::Sha1, b"").err(), Some(OaepError::Decoding), "another hash");
    }
}
