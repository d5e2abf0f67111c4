//! RSAES-OAEP encoding and decoding (RFC 8017 7.1) in software.
//!
//! SoftHSM 2.6 does `CKM_RSA_PKCS_OAEP` with SHA-1 only; for other hashes
//! the daemon runs the raw RSA operation (`CKM_RSA_X_509`) in the HSM and
//! pads or unpads here. Decoding sees a private-key result, so it answers
//! every malformed input with the same error and checks the secret-
//! dependent parts without early exits: which check failed must not show,
//! or the decryption becomes a padding oracle (Manger's attack).

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// The hash of OAEP, also the hash of its mask generation function MGF1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OaepHash {
    /// SHA-1 (what `CKM_RSA_PKCS_OAEP` in SoftHSM supports).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl From<p11kms_proto::admin::AsymmetricAlgorithm> for OaepHash {
    fn from(algorithm: p11kms_proto::admin::AsymmetricAlgorithm) -> Self {
        match algorithm {
            p11kms_proto::admin::AsymmetricAlgorithm::RsaesOaepSha1 => Self::Sha1,
            p11kms_proto::admin::AsymmetricAlgorithm::RsaesOaepSha256 => Self::Sha256,
        }
    }
}

/// A fresh random OAEP seed for `hash` (hLen bytes), wiped when dropped.
pub fn random_seed(hash: OaepHash) -> Zeroizing<Vec<u8>> {
    let mut seed = Zeroizing::new(vec![0u8; hash.digest_len()]);
    rand::fill(&mut seed[..]);
    seed
}

impl OaepHash {
    /// The hash's output length in bytes (hLen), also the seed's length.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Writes the first `out.len()` bytes (at most one digest) of the hash
    /// of the concatenated `parts`.
    fn digest_into(self, parts: &[&[u8]], out: &mut [u8]) {
        match self {
            Self::Sha1 => digest_into::<Sha1>(parts, out),
            Self::Sha224 => digest_into::<Sha224>(parts, out),
            Self::Sha256 => digest_into::<Sha256>(parts, out),
            Self::Sha384 => digest_into::<Sha384>(parts, out),
            Self::Sha512 => digest_into::<Sha512>(parts, out),
        }
    }
}

fn digest_into<D: Digest>(parts: &[&[u8]], out: &mut [u8]) {
    let mut hasher = D::new();
    for part in parts {
        hasher.update(part);
    }
    let mut digest = hasher.finalize();
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    // MGF1 output masks the seed and the message: no copy stays behind.
    digest.as_mut_slice().zeroize();
}

/// OAEP encoding or decoding failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OaepError {
    /// The message is longer than [`max_message_len`] for the key.
    #[error("the message is longer than the {max} bytes RSA-OAEP takes with this key and hash")]
    MessageTooLong {
        /// The longest message the key and hash take.
        max: usize,
    },
    /// The seed is not one digest long.
    #[error("the RSA-OAEP seed is {found} bytes, not the hash's {expected}")]
    SeedLength {
        /// The hash's output length.
        expected: usize,
        /// The seed's length.
        found: usize,
    },
    /// The modulus is shorter than 2 hLen + 2 bytes: no message fits.
    #[error("a {0}-byte modulus is too short for RSA-OAEP with this hash")]
    ModulusTooShort(usize),
    /// Decoding failed. Deliberately one variant for every cause.
    #[error("RSA-OAEP decoding failed")]
    Decoding,
}

/// The longest message OAEP encodes for a `modulus_len`-byte modulus:
/// k - 2 hLen - 2 (0 when the modulus is too short for any).
pub fn max_message_len(modulus_len: usize, hash: OaepHash) -> usize {
    modulus_len.saturating_sub(2 * hash.digest_len() + 2)
}

/// MGF1 (RFC 8017 B.2.1): `len` bytes of Hash(seed || counter) for
/// counter = 0, 1, ...
fn mgf1(hash: OaepHash, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    // Zipping with a u32 range bounds the counter as the RFC does, without
    // an overflow: OAEP lengths stay far below 2^32 digests.
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(hash.digest_len())) {
        hash.digest_into(&[seed, &counter.to_be_bytes()], chunk);
    }
    out
}

fn xor_into(target: &mut [u8], mask: &[u8]) {
    for (t, m) in target.iter_mut().zip(mask) {
        *t ^= m;
    }
}

/// The encoded message EM (`modulus_len` bytes, starting with 0x00) of
/// `message` for RSAES-OAEP with `label`, given a fresh random `seed` of
/// one digest length; the caller then runs raw RSA on EM.
///
/// EM reveals the message to anyone (unmasking needs no key): it must not
/// outlive the encryption.
pub fn oaep_encode(
    message: &[u8],
    modulus_len: usize,
    hash: OaepHash,
    label: &[u8],
    seed: &[u8],
) -> Result<Vec<u8>, OaepError> {
    let h = hash.digest_len();
    if seed.len() != h {
        return Err(OaepError::SeedLength { expected: h, found: seed.len() });
    }
    if modulus_len < 2 * h + 2 {
        return Err(OaepError::ModulusTooShort(modulus_len));
    }
    let max = max_message_len(modulus_len, hash);
    if message.len() > max {
        return Err(OaepError::MessageTooLong { max });
    }

    // maskedDB = DB xor MGF1(seed), DB = lHash || PS (zeros) || 0x01 || M:
    // start from the mask and XOR the non-zero parts of DB into it.
    let mut masked_db = mgf1(hash, seed, modulus_len - h - 1);
    let (lhash, rest) = masked_db.split_at_mut(h);
    let (padding, tail) = rest.split_at_mut(rest.len() - message.len());
    let mut label_hash = Zeroizing::new(vec![0u8; h]);
    hash.digest_into(&[label], &mut label_hash);
    xor_into(lhash, &label_hash);
    if let Some(separator) = padding.last_mut() {
        *separator ^= 0x01;
    }
    xor_into(tail, message);

    // maskedSeed = seed xor MGF1(maskedDB).
    let mut masked_seed = mgf1(hash, &masked_db, h);
    xor_into(&mut masked_seed, seed);

    let mut em = Vec::with_capacity(modulus_len);
    em.push(0x00);
    em.extend_from_slice(&masked_seed);
    em.extend_from_slice(&masked_db);
    Ok(em)
}

/// 0xff when `x` is zero, 0x00 otherwise, without a branch: `x - 1`
/// borrows into the high byte only for zero.
fn zero_mask(x: u8) -> u8 {
    (u16::from(x).wrapping_sub(1) >> 8) as u8
}

/// The message in an OAEP encoded message EM (the raw RSA decryption of
/// the ciphertext) for a `modulus_len`-byte modulus, `hash` and `label`.
/// `em` may be shorter than the modulus: raw RSA results sometimes lose
/// their leading zero bytes, which come back here.
///
/// Every failure is [`OaepError::Decoding`].
pub fn oaep_decode(
    em: &[u8],
    modulus_len: usize,
    hash: OaepHash,
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OaepError> {
    let h = hash.digest_len();
    // These depend on public lengths only: an early answer tells nothing.
    if modulus_len < 2 * h + 2 || em.len() > modulus_len {
        return Err(OaepError::Decoding);
    }
    // The capacity is exact, so the secret never moves to a new buffer
    // and leaves an unzeroized copy behind.
    let mut padded = Zeroizing::new(Vec::with_capacity(modulus_len));
    padded.resize(modulus_len - em.len(), 0);
    padded.extend_from_slice(em);
    let (&y, rest) = padded.split_first().ok_or(OaepError::Decoding)?;
    let (masked_seed, masked_db) = rest.split_at_checked(h).ok_or(OaepError::Decoding)?;

    let mut seed = mgf1(hash, masked_db, h);
    xor_into(&mut seed, masked_seed);
    let mut db = mgf1(hash, &seed, masked_db.len());
    xor_into(&mut db, masked_db);
    let mut label_hash = Zeroizing::new(vec![0u8; h]);
    hash.digest_into(&[label], &mut label_hash);
    let (lhash, padding_and_message) = db.split_at_checked(h).ok_or(OaepError::Decoding)?;

    // `good` stays 0xff while every check passes; all checks run in full.
    let mut good = zero_mask(y);
    let mut difference = 0u8;
    for (a, b) in lhash.iter().zip(label_hash.iter()) {
        difference |= a ^ b;
    }
    good &= zero_mask(difference);
    // Zeros up to the first 0x01, which ends the padding: `looking` stays
    // 0xff while only zeros were seen, `index` gets the position of that
    // 0x01, and any other byte before it spoils the encoding.
    let mut looking = 0xffu8;
    let mut index = 0usize;
    for (i, &byte) in padding_and_message.iter().enumerate() {
        let is_zero = zero_mask(byte);
        let is_one = zero_mask(byte ^ 0x01);
        let found_here = looking & is_one;
        // 0 or usize::MAX from found_here's low bit.
        index |= i & usize::from(found_here & 1).wrapping_neg();
        good &= !(looking & !is_zero & !is_one);
        looking &= is_zero;
    }
    // No separator at all.
    good &= !looking;

    if good == 0 {
        return Err(OaepError::Decoding);
    }
    let message = padding_and_message.get(index + 1..).ok_or(OaepError::Decoding)?;
    Ok(Zeroizing::new(message.to_vec()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::super::test_openssl::{OpenSsl, unhex};
    use super::*;

    const HASHES: [(OaepHash, &str); 5] = [
        (OaepHash::Sha1, "sha1"),
        (OaepHash::Sha224, "sha224"),
        (OaepHash::Sha256, "sha256"),
        (OaepHash::Sha384, "sha384"),
        (OaepHash::Sha512, "sha512"),
    ];

    /// The worked example of PKCS #1 v2.0 (`oaep-int.txt`, RSA
    /// Laboratories): 1024-bit key, SHA-1, empty label. v2.0 wrote EM
    /// without the leading zero byte that v2.1 (RFC 8017) puts in front.
    const INT_MESSAGE: &str = "d4 36 e9 95 69 fd 32 a7 c8 a0 5b bc 90 d3 2c 49";
    const INT_SEED: &str = "aa fd 12 f6 59 ca e6 34 89 b4 79 e5 07 6d de c2 f0 6c b5 8f";
    const INT_EM: &str = "eb 7a 19 ac e9 e3 00 63 50 e3 29 50 4b 45 e2 ca 82 31 0b 26 dc d8 7d 5c 68
        f1 ee a8 f5 52 67 c3 1b 2e 8b b4 25 1f 84 d7 e0 b2 c0 46 26 f5 af f9 3e dc
        fb 25 c9 c2 b3 ff 8a e1 0e 83 9a 2d db 4c dc fe 4f f4 77 28 b4 a1 b7 c1 36
        2b aa d2 9a b4 8d 28 69 d5 02 41 21 43 58 11 59 1b e3 92 f9 82 fb 3e 87 d0
        95 ae b4 04 48 db 97 2f 3a c1 4f 7b c2 75 19 52 81 ce 32 d2 f1 b7 6d 4d 35
        3e 2d";
    /// From the same example: MGF1(seed, 107), the mask of DB.
    const INT_DB_MASK: &str = "06 e1 de b2 36 9a a5 a5 c7 07 d8 2c 8e 4e 93 24 8a c7 83 de e0 b2 c0 46
        26 f5 af f9 3e dc fb 25 c9 c2 b3 ff 8a e1 0e 83 9a 2d db 4c dc fe 4f f4
        77 28 b4 a1 b7 c1 36 2b aa d2 9a b4 8d 28 69 d5 02 41 21 43 58 11 59 1b
        e3 92 f9 82 fb 3e 87 d0 95 ae b4 04 48 db 97 2f 3a c1 4e af f4 9c 8c 3b
        7c fc 95 1a 51 ec d1 dd e6 12 64";

    #[test]
    fn pkcs1_v2_worked_example() {
        let message = unhex(INT_MESSAGE);
        let seed = unhex(INT_SEED);
        let em = [&[0u8][..], &unhex(INT_EM)].concat();
        assert_eq!(em.len(), 128);
        assert_eq!(&mgf1(OaepHash::Sha1, &seed, 107)[..], &unhex(INT_DB_MASK)[..]);
        assert_eq!(oaep_encode(&message, 128, OaepHash::Sha1, b"", &seed), Ok(em.clone()));
        assert_eq!(&*oaep_decode(&em, 128, OaepHash::Sha1, b"").expect("decodes"), &message[..]);
        assert_eq!(&*oaep_decode(&em[1..], 128, OaepHash::Sha1, b"").expect("decodes"), &message[..]);
    }

    #[test]
    fn encoding_round_trips() {
        for (hash, _) in HASHES {
            let h = hash.digest_len();
            for modulus_len in [2 * h + 2, 128, 256, 384, 512].into_iter().filter(|k| *k >= 2 * h + 2) {
                let max = max_message_len(modulus_len, hash);
                assert_eq!(max, modulus_len - 2 * h - 2);
                for len in [0, 1, max / 2, max].into_iter().filter(|len| *len <= max) {
                    let message: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
                    let seed: Vec<u8> = (0..h).map(|i| (i * 13) as u8).collect();
                    for label in [&b""[..], b"p11kms"] {
                        let em = oaep_encode(&message, modulus_len, hash, label, &seed).expect("encodes");
                        assert_eq!(em.len(), modulus_len);
                        assert_eq!(em[0], 0);
                        let decoded = oaep_decode(&em, modulus_len, hash, label).expect("decodes");
                        assert_eq!(&decoded[..], &message[..], "{hash:?}, k = {modulus_len}, {len} bytes");
                    }
                }
            }
        }
    }

    #[test]
    fn shortened_em_gets_its_leading_zeros_back() {
        let hash = OaepHash::Sha256;
        // Find a seed whose masked seed starts with a zero byte, so EM
        // starts with two zeros, as raw RSA may return it one or two shorter.
        let (em, _) = (0u8..=255)
            .map(|s| (oaep_encode(b"key material", 256, hash, b"", &[s; 32]).expect("encodes"), s))
            .find(|(em, _)| em[1] == 0)
            .expect("one in 256 seeds gives a zero byte");
        for strip in 0..=2 {
            assert_eq!(&*oaep_decode(&em[strip..], 256, hash, b"").expect("decodes"), b"key material");
        }
        assert_eq!(oaep_decode(&[&[0u8][..], &em].concat(), 256, hash, b""), Err(OaepError::Decoding));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let hash = OaepHash::Sha256;
        assert_eq!(oaep_encode(b"m", 256, hash, b"", &[0; 20]), Err(OaepError::SeedLength { expected: 32, found: 20 }));
        assert_eq!(oaep_encode(b"", 65, hash, b"", &[0; 32]), Err(OaepError::ModulusTooShort(65)));
        assert_eq!(max_message_len(65, hash), 0);
        assert_eq!(max_message_len(256, OaepHash::Sha1), 214);
        assert_eq!(max_message_len(256, hash), 190);
        assert_eq!(oaep_encode(&[1; 191], 256, hash, b"", &[0; 32]), Err(OaepError::MessageTooLong { max: 190 }));
        assert_eq!(
            oaep_encode(&[1; 215], 256, OaepHash::Sha1, b"", &[0; 20]),
            Err(OaepError::MessageTooLong { max: 214 })
        );
        assert_eq!(oaep_decode(&[0; 65], 65, hash, b""), Err(OaepError::Decoding));
        assert_eq!(oaep_decode(&[0; 257], 256, hash, b""), Err(OaepError::Decoding));
        assert_eq!(oaep_decode(&[], 256, hash, b""), Err(OaepError::Decoding));
    }

    /// Builds EM from its parts with the given DB (lHash || PS || 0x01 ||
    /// M or a corruption of it), to break one region at a time after the
    /// masking, where the decoder looks.
    fn em_with_db(hash: OaepHash, y: u8, seed: &[u8], db: &[u8]) -> Vec<u8> {
        let h = hash.digest_len();
        let mut masked_db = mgf1(hash, seed, db.len());
        xor_into(&mut masked_db, db);
        let mut masked_seed = mgf1(hash, &masked_db, h);
        xor_into(&mut masked_seed, seed);
        [&[y][..], &masked_seed, &masked_db].concat()
    }

    #[test]
    fn every_corruption_is_the_one_error() {
        for (hash, _) in HASHES {
            let h = hash.digest_len();
            let k = 256;
            let seed = vec![0x5c; h];
            let message = b"secret";
            let em = oaep_encode(message, k, hash, b"", &seed).expect("encodes");
            let mut lhash = vec![0u8; h];
            hash.digest_into(&[b""], &mut lhash);
            let db = [&lhash[..], &vec![0; k - 2 * h - 2 - message.len()], &[1], message].concat();
            assert_eq!(em_with_db(hash, 0, &seed, &db), em, "the parts rebuild EM");

            let bad = |em: &[u8], what: &str| {
                assert_eq!(oaep_decode(em, k, hash, b""), Err(OaepError::Decoding), "{hash:?}: {what}");
            };
            // Y, the first byte, is not zero.
            bad(&em_with_db(hash, 1, &seed, &db), "Y = 1");
            bad(&em_with_db(hash, 0x80, &seed, &db), "Y = 0x80");
            // The masked seed is altered: everything unmasks to noise.
            for i in [1, h / 2, h] {
                let mut e = em.clone();
                e[i] ^= 0x01;
                bad(&e, "masked seed");
            }
            // lHash' differs from lHash, at its first and last byte.
            for i in [0, h - 1] {
                let mut d = db.clone();
                d[i] ^= 0x01;
                bad(&em_with_db(hash, 0, &seed, &d), "lHash");
            }
            // Separator: a non-zero, non-0x01 byte in the padding, the 0x01
            // replaced, the padding all zeros to the end.
            let separator = k - h - 1 - message.len() - 1;
            for (i, value) in [(h, 0x02), (separator - 1, 0x80), (separator, 0x00), (separator, 0x02)] {
                let mut d = db.clone();
                d[i] = value;
                bad(&em_with_db(hash, 0, &seed, &d), "separator");
            }
            let no_separator = [&lhash[..], &vec![0; k - 2 * h - 1]].concat();
            bad(&em_with_db(hash, 0, &seed, &no_separator), "no separator");
            // A bit anywhere in the masked DB, another label, another hash.
            for i in [h + 1, h + 2, k / 2, k - 1] {
                let mut e = em.clone();
                e[i] ^= 0x40;
                bad(&e, "masked DB");
            }
            assert_eq!(oaep_decode(&em, k, hash, b"label"), Err(OaepError::Decoding), "another label");
        }
        let em = oaep_encode(b"m", 256, OaepHash::Sha256, b"", &[3; 32]).expect("encodes");
        assert_eq!(oaep_decode(&em, 256, OaepHash::Sha1, b""), Err(OaepError::Decoding), "another hash");
    }

    #[test]
    fn the_separator_may_directly_follow_lhash_or_end_db() {
        for (hash, _) in HASHES {
            let k = 256;
            let max = max_message_len(k, hash);
            // No zero padding at all (longest message), and an empty message.
            for message in [vec![0u8; max], vec![0x01; max], vec![]] {
                let em = oaep_encode(&message, k, hash, b"", &vec![9; hash.digest_len()]).expect("encodes");
                assert_eq!(&*oaep_decode(&em, k, hash, b"").expect("decodes"), &message[..]);
            }
        }
    }

    fn rsa_key(ossl: &OpenSsl) {
        ossl.run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem"]);
        ossl.run(&["pkey", "-in", "rsa.pem", "-pubout", "-out", "pub.pem"]);
    }

    fn oaep_options(name: &str, label: &[u8]) -> Vec<String> {
        let mut options = vec![
            "-pkeyopt".to_owned(),
            "rsa_padding_mode:oaep".to_owned(),
            "-pkeyopt".to_owned(),
            format!("rsa_oaep_md:{name}"),
            "-pkeyopt".to_owned(),
            format!("rsa_mgf1_md:{name}"),
        ];
        if !label.is_empty() {
            let hex: String = label.iter().map(|b| format!("{b:02x}")).collect();
            options.extend(["-pkeyopt".to_owned(), format!("rsa_oaep_label:{hex}")]);
        }
        options
    }

    /// openssl encrypts with OAEP; its raw RSA decryption is an EM we decode.
    #[test]
    fn decodes_what_openssl_encodes() {
        let ossl = OpenSsl::new();
        rsa_key(&ossl);
        for (hash, name) in HASHES {
            // The longest message the hash leaves room for, up to 190 bytes.
            let long = vec![0xa5; max_message_len(256, hash).min(190)];
            for (message, label) in [(&b"attack at dawn"[..], &b""[..]), (&long[..], b"p11kms label")] {
                ossl.write("message.bin", message);
                let mut args = vec!["pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "message.bin"];
                let options = oaep_options(name, label);
                args.extend(options.iter().map(String::as_str));
                args.extend(["-out", "ct.bin"]);
                ossl.run(&args);
                let em = ossl.run(&[
                    "pkeyutl",
                    "-decrypt",
                    "-inkey",
                    "rsa.pem",
                    "-pkeyopt",
                    "rsa_padding_mode:none",
                    "-in",
                    "ct.bin",
                ]);
                assert_eq!(em.len(), 256);
                let decoded = oaep_decode(&em, 256, hash, label).expect("decodes openssl's EM");
                assert_eq!(&decoded[..], message, "{name}");
                assert_eq!(&*oaep_decode(&em[1..], 256, hash, label).expect("without Y"), message);
                assert_eq!(oaep_decode(&em, 256, hash, b"other"), Err(OaepError::Decoding));
            }
        }
    }

    /// We encode EM, openssl encrypts it raw and decrypts it with OAEP.
    #[test]
    fn openssl_decodes_what_we_encode() {
        let ossl = OpenSsl::new();
        rsa_key(&ossl);
        for (hash, name) in HASHES {
            let max = max_message_len(256, hash);
            for (message, label) in [(&b"attack at dawn"[..], &b""[..]), (&vec![0x5a; max][..], b"p11kms label")] {
                let seed: Vec<u8> = (0..hash.digest_len()).map(|i| (i as u8).wrapping_mul(31)).collect();
                let em = oaep_encode(message, 256, hash, label, &seed).expect("encodes");
                ossl.write("em.bin", &em);
                ossl.run(&[
                    "pkeyutl",
                    "-encrypt",
                    "-pubin",
                    "-inkey",
                    "pub.pem",
                    "-pkeyopt",
                    "rsa_padding_mode:none",
                    "-in",
                    "em.bin",
                    "-out",
                    "ct.bin",
                ]);
                let mut args = vec!["pkeyutl", "-decrypt", "-inkey", "rsa.pem", "-in", "ct.bin"];
                let options = oaep_options(name, label);
                args.extend(options.iter().map(String::as_str));
                assert_eq!(ossl.run(&args), message, "{name}, {} bytes", message.len());
            }
        }
    }
}
