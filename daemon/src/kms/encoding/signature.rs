//! Signature encodings: ECDSA signatures move between PKCS#11's raw
//! `r || s` and the DER `SEQUENCE { INTEGER r, INTEGER s }` that openssl and
//! the KMS API use; RSASSA-PKCS1-v1_5 over a digest needs the DigestInfo.

use super::der::{DerError, Reader, element, integer, positive};

/// DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// DER of a raw ECDSA signature `r || s`.
pub fn ecdsa_der_from_raw(raw: &[u8]) -> Result<Vec<u8>, DerError> {
    if raw.is_empty() || raw.len() % 2 != 0 || raw.len() > 132 {
        return Err(DerError::Value("a raw ECDSA signature has two halves of equal length"));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Ok(element(0x30, &[integer(r), integer(s)].concat()))
}

/// Raw `r || s` (each `field_len` bytes) of a DER ECDSA signature.
pub fn ecdsa_raw_from_der(der: &[u8], field_len: usize) -> Result<Vec<u8>, DerError> {
    let mut outer = Reader::new(der);
    let mut pair = Reader::new(outer.read(0x30)?);
    outer.finish()?;
    let mut raw = Vec::with_capacity(2 * field_len);
    for _ in 0..2 {
        let value = positive(pair.read(0x02)?)?;
        if value.len() > field_len {
            return Err(DerError::Value("an ECDSA signature half is longer than the field"));
        }
        raw.extend(std::iter::repeat_n(0, field_len - value.len()));
        raw.extend_from_slice(value);
    }
    pair.finish()?;
    Ok(raw)
}

/// The DER DigestInfo of a SHA-256 digest, as RSASSA-PKCS1-v1_5 signs it.
pub fn pkcs1_sha256_digest_info(digest: &[u8]) -> Result<Vec<u8>, DerError> {
    if digest.len() != 32 {
        return Err(DerError::Value("a SHA-256 digest is 32 bytes"));
    }
    Ok([&SHA256_DIGEST_INFO[..], digest].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_round_trip_with_leading_zeros_and_high_bits() {
        let mut raw = vec![0x80; 64];
        raw[32] = 0;
        raw[33] = 0x01;
        let der = ecdsa_der_from_raw(&raw).expect("encodes");
        assert_eq!(der[0], 0x30);
        assert_eq!(ecdsa_raw_from_der(&der, 32).expect("decodes"), raw);
    }

    #[test]
    fn malformed_der_signatures_are_refused() {
        let der = ecdsa_der_from_raw(&[0x11; 64]).expect("encodes");
        assert!(ecdsa_raw_from_der(&der[..der.len() - 1], 32).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(ecdsa_raw_from_der(&trailing, 32).is_err());
        assert!(ecdsa_raw_from_der(&der, 16).is_err(), "halves longer than the field");
        let negative = element(0x30, &[element(0x02, &[0x80]), element(0x02, &[1])].concat());
        assert!(ecdsa_raw_from_der(&negative, 32).is_err());
        assert!(ecdsa_der_from_raw(&[1; 63]).is_err());
    }

    #[test]
    fn digest_info_has_the_sha256_prefix() {
        let info = pkcs1_sha256_digest_info(&[9; 32]).expect("32 bytes");
        assert_eq!(info.len(), 51);
        assert_eq!(&info[..19], &SHA256_DIGEST_INFO);
        assert!(pkcs1_sha256_digest_info(&[9; 20]).is_err());
    }
}
