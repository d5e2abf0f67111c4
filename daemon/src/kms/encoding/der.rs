//! A minimal DER writer and reader for the structures p11kms exchanges:
//! SubjectPublicKeyInfo for RSA and EC keys, and PEM armour.

use p11kms_proto::bytes::to_base64;

/// A DER structure is not what was expected.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// The input ended inside an element.
    #[error("DER input is truncated")]
    Truncated,
    /// An element has another tag than expected.
    #[error("unexpected DER tag 0x{found:02x} (expected 0x{expected:02x})")]
    Tag {
        /// Tag expected.
        expected: u8,
        /// Tag found.
        found: u8,
    },
    /// A length is malformed or too large.
    #[error("malformed DER length")]
    Length,
    /// Bytes follow the structure.
    #[error("trailing bytes after the DER structure")]
    Trailing,
    /// A value is out of range (an integer too long, a bad point).
    #[error("invalid DER value: {0}")]
    Value(&'static str),
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// One element: tag, length, contents.
pub fn element(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// A positive INTEGER from big-endian magnitude bytes.
pub fn integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend(trimmed);
    element(INTEGER, &contents)
}

/// A reader over DER bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next element's contents, checking its tag.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (&found, rest) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if found != tag {
            return Err(DerError::Tag { expected: tag, found });
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError::Truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 3 || rest.len() < count {
                return Err(DerError::Length);
            }
            let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 || rest[0] == 0 {
                return Err(DerError::Length);
            }
            rest = &rest[count..];
            len
        };
        if rest.len() < len {
            return Err(DerError::Truncated);
        }
        let (contents, after) = rest.split_at(len);
        self.rest = after;
        Ok(contents)
    }

    /// The next element, tag and length included.
    pub fn read_raw(&mut self) -> Result<&'a [u8], DerError> {
        let start = self.rest;
        let tag = *start.first().ok_or(DerError::Truncated)?;
        self.read(tag)?;
        Ok(&start[..start.len() - self.rest.len()])
    }

    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() { Ok(()) } else { Err(DerError::Trailing) }
    }
}

/// The magnitude of a positive INTEGER's contents.
pub fn positive(contents: &[u8]) -> Result<&[u8], DerError> {
    match contents {
        [] => Err(DerError::Value("empty integer")),
        [first, ..] if first & 0x80 != 0 => Err(DerError::Value("negative integer")),
        [0, second, ..] if second & 0x80 == 0 => Err(DerError::Value("non-minimal integer")),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(contents),
    }
}

/// SubjectPublicKeyInfo of an RSA key.
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let algorithm = element(SEQUENCE, &[RSA_ENCRYPTION, &element(NULL, &[])].concat());
    let key = element(SEQUENCE, &[integer(modulus), integer(exponent)].concat());
    let bits = element(BIT_STRING, &[&[0u8][..], &key].concat());
    element(SEQUENCE, &[algorithm, bits].concat())
}

/// SubjectPublicKeyInfo of an EC key from `CKA_EC_PARAMS` (the curve OID)
/// and `CKA_EC_POINT` (an OCTET STRING around the point, or the bare point
/// as some HSMs return it).
pub fn ec_spki(params: &[u8], ec_point: &[u8]) -> Result<Vec<u8>, DerError> {
    // A bare uncompressed point also starts with 0x04, the OCTET STRING
    // tag: it is bare unless it parses, whole, as an OCTET STRING.
    let wrapped = || -> Result<&[u8], DerError> {
        let mut reader = Reader::new(ec_point);
        let point = reader.read(OCTET_STRING)?;
        reader.finish()?;
        Ok(point)
    };
    let point = wrapped().unwrap_or(ec_point);
    if point.first() != Some(&0x04) {
        return Err(DerError::Value("the EC point is not uncompressed"));
    }
    let algorithm = element(SEQUENCE, &[EC_PUBLIC_KEY, params].concat());
    let bits = element(BIT_STRING, &[&[0u8][..], point].concat());
    Ok(element(SEQUENCE, &[algorithm, bits].concat()))
}

/// The modulus and exponent of an RSA SubjectPublicKeyInfo.
pub fn rsa_public_from_spki(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let mut outer = Reader::new(der);
    let mut spki = Reader::new(outer.read(SEQUENCE)?);
    outer.finish()?;
    let algorithm = spki.read(SEQUENCE)?;
    if !algorithm.starts_with(RSA_ENCRYPTION) {
        return Err(DerError::Value("not an RSA key"));
    }
    let bits = spki.read(BIT_STRING)?;
    spki.finish()?;
    let (&unused, key) = bits.split_first().ok_or(DerError::Truncated)?;
    if unused != 0 {
        return Err(DerError::Value("unused bits in the key"));
    }
    let mut sequence = Reader::new(key);
    let mut fields = Reader::new(sequence.read(SEQUENCE)?);
    sequence.finish()?;
    let modulus = positive(fields.read(INTEGER)?)?.to_vec();
    let exponent = positive(fields.read(INTEGER)?)?.to_vec();
    fields.finish()?;
    Ok((modulus, exponent))
}

/// PEM armour: base64 in 64-character lines between BEGIN and END lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = to_base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers_are_minimal() {
        assert_eq!(element(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&element(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&element(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(&[0, 0, 0x7f]), vec![0x02, 1, 0x7f]);
        assert_eq!(integer(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer(&[]), vec![0x02, 1, 0]);
    }

    #[test]
    fn rsa_spki_reads_back() {
        let modulus: Vec<u8> = (0..=255).map(|i| (i as u8) | 0x80).collect();
        let der = rsa_spki(&modulus, &[1, 0, 1]);
        assert_eq!(rsa_public_from_spki(&der).expect("parses"), (modulus, vec![1, 0, 1]));
        assert!(rsa_public_from_spki(&der[..der.len() - 1]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(rsa_public_from_spki(&trailing), Err(DerError::Trailing));
    }

    #[test]
    fn ec_points_are_accepted_wrapped_or_bare() {
        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let point: Vec<u8> = [&[4u8][..], &[9; 64]].concat();
        let wrapped = element(OCTET_STRING, &point);
        assert_eq!(ec_spki(&p256, &wrapped), ec_spki(&p256, &point));
        assert!(ec_spki(&p256, &[0x02; 33]).is_err(), "compressed points are refused");
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let text = pem("PUBLIC KEY", &[7; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().expect("end"), "-----END PUBLIC KEY-----");
    }
}
