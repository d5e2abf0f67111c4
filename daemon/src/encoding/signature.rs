//! Signature encodings around the HSM's mechanisms.
//!
//! PKCS#11 `CKM_ECDSA` gives and takes a signature as raw `r || s`, each
//! half as long as the curve's field; openssl and the KMS API use the DER
//! `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279
//! 2.2.3). `CKM_RSA_PKCS` over a precomputed digest signs a DigestInfo
//! (RFC 8017 9.2), which the caller has to build.

use super::der::{DerError, INTEGER, Reader, SEQUENCE, element, integer, non_negative, single};

/// The longest half of a raw signature: P-521's 66-byte field.
const MAX_FIELD_LEN: usize = 66;

/// DER of `DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET
/// STRING (32 bytes) }` up to the digest itself (RFC 8017 9.2, note 1).
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// The DER signature of a raw ECDSA signature `r || s` (two halves of
/// equal length, at most 66 bytes each), with minimal INTEGERs.
pub fn ecdsa_der_from_raw(raw: &[u8]) -> Result<Vec<u8>, DerError> {
    if raw.is_empty() || raw.len() % 2 != 0 || raw.len() > 2 * MAX_FIELD_LEN {
        return Err(DerError::SignatureLength(raw.len()));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Ok(element(SEQUENCE, &[integer(r), integer(s)].concat()))
}

/// The raw `r || s` of a DER ECDSA signature, each half left-padded with
/// zeros to `field_len` bytes. Strict DER: trailing bytes, negative or
/// non-minimal INTEGERs and values longer than `field_len` are refused.
pub fn ecdsa_raw_from_der(der: &[u8], field_len: usize) -> Result<Vec<u8>, DerError> {
    let mut pair = Reader::new(single(der, SEQUENCE)?);
    let mut raw = Vec::with_capacity(2 * field_len);
    for _ in 0..2 {
        let value = non_negative(pair.read(INTEGER)?)?;
        let padding = field_len.checked_sub(value.len()).ok_or(DerError::IntegerTooLong { max: field_len })?;
        raw.resize(raw.len() + padding, 0);
        raw.extend_from_slice(value);
    }
    pair.finish()?;
    Ok(raw)
}

/// The DER DigestInfo of a SHA-256 digest, which RSASSA-PKCS1-v1_5 pads
/// and signs: a fixed prefix, then the digest.
pub fn pkcs1_sha256_digest_info(digest: &[u8]) -> Result<Vec<u8>, DerError> {
    if digest.len() != 32 {
        return Err(DerError::DigestLength(digest.len()));
    }
    Ok([&SHA256_DIGEST_INFO_PREFIX[..], digest].concat())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use sha2::{Digest, Sha256};

    use super::super::test_openssl::OpenSsl;
    use super::*;

    #[test]
    fn known_signature_encodings() {
        // r has its high bit set (a sign byte is added), s has leading
        // zeros (they are dropped).
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[31] = 0x01;
        raw[63] = 0x7f;
        let mut expected = vec![0x30, 0x26, 0x02, 0x21, 0x00, 0x80];
        expected.extend([0; 30]);
        expected.extend([0x01, 0x02, 0x01, 0x7f]);
        assert_eq!(ecdsa_der_from_raw(&raw), Ok(expected.clone()));
        assert_eq!(ecdsa_raw_from_der(&expected, 32), Ok(raw));
        // Zero halves are the INTEGER 0.
        assert_eq!(ecdsa_der_from_raw(&[0; 64]), Ok(vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]));
        assert_eq!(ecdsa_raw_from_der(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00], 32), Ok(vec![0; 64]));
    }

    #[test]
    fn signatures_round_trip_for_every_field_size() {
        for field_len in [1, 32, 48, 66] {
            for fill in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut raw = vec![fill; 2 * field_len];
                raw[0] = 0;
                let der = ecdsa_der_from_raw(&raw).expect("encodes");
                assert_eq!(ecdsa_raw_from_der(&der, field_len), Ok(raw.clone()), "{field_len} bytes of {fill:#x}");
                // A wider field pads more; a narrower one cannot hold the halves.
                let wider = ecdsa_raw_from_der(&der, field_len + 1).expect("wider");
                assert_eq!(wider.len(), 2 * field_len + 2);
            }
        }
        // P-521 signatures are longer than 127 bytes: the long length form.
        let der = ecdsa_der_from_raw(&[0xff; 132]).expect("encodes");
        assert_eq!(&der[..3], &[0x30, 0x81, 0x8a]);
        assert_eq!(ecdsa_raw_from_der(&der, 66), Ok(vec![0xff; 132]));
    }

    #[test]
    fn bad_raw_signatures_are_refused() {
        for len in [0, 1, 63, 65, 134] {
            assert_eq!(ecdsa_der_from_raw(&vec![1; len]), Err(DerError::SignatureLength(len)));
        }
    }

    #[test]
    fn malformed_der_signatures_are_refused() {
        let der = ecdsa_der_from_raw(&[0x11; 64]).expect("encodes");
        assert_eq!(ecdsa_raw_from_der(&der[..der.len() - 1], 32), Err(DerError::Truncated));
        assert_eq!(ecdsa_raw_from_der(&[&der[..], &[0]].concat(), 32), Err(DerError::Trailing));
        assert_eq!(ecdsa_raw_from_der(&der, 31), Err(DerError::IntegerTooLong { max: 31 }));
        let pair = |r: &[u8], s: &[u8]| element(SEQUENCE, &[element(INTEGER, r), element(INTEGER, s)].concat());
        assert_eq!(ecdsa_raw_from_der(&pair(&[0x80], &[1]), 32), Err(DerError::Integer), "negative r");
        assert_eq!(ecdsa_raw_from_der(&pair(&[1], &[0xff, 1]), 32), Err(DerError::Integer), "negative s");
        assert_eq!(ecdsa_raw_from_der(&pair(&[0, 1], &[1]), 32), Err(DerError::Integer), "non-minimal r");
        assert_eq!(ecdsa_raw_from_der(&pair(&[], &[1]), 32), Err(DerError::Integer), "empty r");
        // 33 bytes of magnitude behind the sign byte do not fit 32.
        let long = [&[0u8, 0x80][..], &[1; 32]].concat();
        assert_eq!(ecdsa_raw_from_der(&pair(&long, &[1]), 32), Err(DerError::IntegerTooLong { max: 32 }));
        // A third INTEGER, a missing one, another outer tag.
        let three = element(SEQUENCE, &[integer(&[1]), integer(&[2]), integer(&[3])].concat());
        assert_eq!(ecdsa_raw_from_der(&three, 32), Err(DerError::Trailing));
        assert_eq!(ecdsa_raw_from_der(&element(SEQUENCE, &integer(&[1])), 32), Err(DerError::Truncated));
        assert_eq!(
            ecdsa_raw_from_der(&element(0x31, &[integer(&[1]), integer(&[2])].concat()), 32),
            Err(DerError::UnexpectedTag { expected: SEQUENCE, found: 0x31 })
        );
        // BER's long form for a short length.
        let mut ber = der.clone();
        ber.splice(1..2, [0x81, der[1]]);
        assert_eq!(ecdsa_raw_from_der(&ber, 32), Err(DerError::Length));
    }

    #[test]
    fn digest_info_is_the_rfc_8017_prefix_and_the_digest() {
        let digest = Sha256::digest(b"abc");
        let info = pkcs1_sha256_digest_info(&digest).expect("32 bytes");
        assert_eq!(info.len(), 51);
        assert_eq!(&info[..19], &SHA256_DIGEST_INFO_PREFIX);
        assert_eq!(&info[19..], &digest[..]);
        // The prefix is the DER it claims to be.
        let mut outer = Reader::new(single(&info, SEQUENCE).expect("DigestInfo"));
        let algorithm = outer.read(SEQUENCE).expect("AlgorithmIdentifier");
        assert_eq!(algorithm, &[0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00]);
        assert_eq!(outer.read(0x04).expect("digest"), &digest[..]);
        outer.finish().expect("nothing else");
        assert_eq!(pkcs1_sha256_digest_info(&[9; 20]), Err(DerError::DigestLength(20)));
        assert_eq!(pkcs1_sha256_digest_info(&[9; 33]), Err(DerError::DigestLength(33)));
    }

    /// openssl's ECDSA signatures (DER) go to raw and back byte for byte,
    /// and openssl verifies what we rebuilt.
    #[test]
    fn ecdsa_signatures_match_openssl() {
        let ossl = OpenSsl::new();
        for (curve, field_len) in [("P-256", 32), ("secp256k1", 32), ("P-384", 48), ("P-521", 66)] {
            let key = format!("{curve}.pem");
            ossl.run(&["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", &key]);
            // Enough signatures that r or s regularly has the high bit set.
            for i in 0..12u8 {
                let digest = Sha256::digest([i]);
                ossl.write("digest.bin", &digest);
                let der = ossl.run(&["pkeyutl", "-sign", "-inkey", &key, "-in", "digest.bin"]);
                let raw = ecdsa_raw_from_der(&der, field_len).expect("openssl's signature reads");
                assert_eq!(raw.len(), 2 * field_len);
                let rebuilt = ecdsa_der_from_raw(&raw).expect("encodes");
                assert_eq!(rebuilt, der, "{curve}, signature {i}");
                ossl.write("rebuilt.der", &rebuilt);
                ossl.run(&["pkeyutl", "-verify", "-inkey", &key, "-in", "digest.bin", "-sigfile", "rebuilt.der"]);
            }
        }
    }

    /// openssl's RSASSA-PKCS1-v1_5 with SHA-256 signs the DigestInfo we build.
    #[test]
    fn digest_info_matches_openssl() {
        let ossl = OpenSsl::new();
        ossl.run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem"]);
        let digest = Sha256::digest(b"p11kms");
        ossl.write("digest.bin", &digest);
        ossl.run(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            "rsa.pem",
            "-pkeyopt",
            "digest:sha256",
            "-in",
            "digest.bin",
            "-out",
            "sig.bin",
        ]);
        let recovered = ossl.run(&["pkeyutl", "-verifyrecover", "-inkey", "rsa.pem", "-in", "sig.bin"]);
        assert_eq!(pkcs1_sha256_digest_info(&digest), Ok(recovered));
    }
}
