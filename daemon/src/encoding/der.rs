//! SubjectPublicKeyInfo and PEM for the public keys the HSM holds.
//!
//! PKCS#11 gives an RSA public key as its modulus and exponent and an EC
//! public key as `CKA_EC_PARAMS` (the curve OID) and `CKA_EC_POINT`; the
//! KMS API hands out the X.509 SubjectPublicKeyInfo (RFC 5280, RFC 3279,
//! RFC 5480) in PEM. This module holds the small DER writer and reader
//! those few structures need, shared with [`super::signature`], rather
//! than a general ASN.1 library.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A DER structure is not what was expected, or its parts are unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// The input ends inside an element.
    #[error("the DER input is truncated")]
    Truncated,
    /// An element has another tag than the structure allows there.
    #[error("unexpected DER tag 0x{found:02x} (expected 0x{expected:02x})")]
    UnexpectedTag {
        /// The tag the structure has at this place.
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// A length is indefinite, not minimally encoded, or above 2^24.
    #[error("malformed DER length")]
    Length,
    /// Bytes follow the end of the structure.
    #[error("trailing bytes after the DER structure")]
    Trailing,
    /// An INTEGER is empty, negative or not minimally encoded.
    #[error("malformed DER INTEGER")]
    Integer,
    /// An INTEGER does not fit the field it is for.
    #[error("a DER INTEGER is longer than {max} bytes")]
    IntegerTooLong {
        /// The most bytes the value may have.
        max: usize,
    },
    /// The AlgorithmIdentifier is not rsaEncryption with NULL parameters.
    #[error("the key is not an RSA SubjectPublicKeyInfo")]
    NotRsa,
    /// A BIT STRING holding a key has unused bits.
    #[error("the BIT STRING has unused bits")]
    BitString,
    /// `CKA_EC_PARAMS` is not the OID of a curve this module knows.
    #[error("unsupported EC parameters (not the OID of P-256, P-384, P-521 or secp256k1)")]
    UnsupportedCurve,
    /// `CKA_EC_POINT` is not an uncompressed point of the curve's size,
    /// bare or in an OCTET STRING.
    #[error("the EC point is not an uncompressed point of the curve's size")]
    EcPoint,
    /// A raw ECDSA signature is not two halves of equal length (at most 66 bytes each).
    #[error("a raw ECDSA signature of {0} bytes is not r || s")]
    SignatureLength(usize),
    /// A digest has another length than its algorithm's.
    #[error("a SHA-256 digest is 32 bytes, not {0}")]
    DigestLength(usize),
}

pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OBJECT_IDENTIFIER: u8 = 0x06;

/// Contents of the OID rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// Contents of the OID id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// Curves by the DER of their OID (what `CKA_EC_PARAMS` holds), with the
/// byte length of a coordinate: the point's size depends on it, and it
/// tells a bare point from one wrapped in an OCTET STRING.
const CURVES: &[(&[u8], usize)] = &[
    // P-256, 1.2.840.10045.3.1.7.
    (&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 32),
    // secp256k1, 1.3.132.0.10.
    (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a], 32),
    // P-384, 1.3.132.0.34.
    (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22], 48),
    // P-521, 1.3.132.0.35.
    (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23], 66),
];

/// The reader refuses longer elements: nothing these structures hold
/// comes near, and the bound keeps a hostile length from mattering.
const MAX_LEN: usize = 1 << 24;

/// One element: tag, definite length in its shortest form, contents.
pub(super) fn element(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = Vec::with_capacity(contents.len() + 10);
    out.push(tag);
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = len.to_be_bytes();
            let significant = bytes.iter().position(|b| *b != 0).map_or(&bytes[..0], |first| &bytes[first..]);
            // At most size_of::<usize>() bytes: the count fits the low seven bits.
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(contents);
    out
}

/// A non-negative INTEGER from big-endian magnitude bytes: leading zeros
/// go (DER wants the shortest form), and one zero comes back in front of
/// a set high bit, which would otherwise read as a sign.
pub(super) fn integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed = magnitude.iter().position(|b| *b != 0).map_or(&magnitude[..0], |first| &magnitude[first..]);
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(trimmed);
    element(INTEGER, &contents)
}

/// The magnitude in a non-negative INTEGER's contents (empty for zero).
/// Strict DER: negative and non-minimal encodings are refused.
pub(super) fn non_negative(contents: &[u8]) -> Result<&[u8], DerError> {
    match contents {
        [] => Err(DerError::Integer),
        [first, ..] if first & 0x80 != 0 => Err(DerError::Integer),
        [0, second, ..] if second & 0x80 == 0 => Err(DerError::Integer),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(contents),
    }
}

/// Reads DER elements one after the other.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The contents of the next element, which must have `tag`.
    pub(super) fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (&found, rest) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if found != tag {
            return Err(DerError::UnexpectedTag { expected: tag, found });
        }
        let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            // 0x80 alone is the indefinite form, which DER forbids.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError::Length);
            }
            let (bytes, rest) = rest.split_at_checked(count).ok_or(DerError::Truncated)?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            // The long form is only for 128 and up, without leading zeros.
            if len < 0x80 || bytes.first() == Some(&0) || len > MAX_LEN {
                return Err(DerError::Length);
            }
            (len, rest)
        };
        let (contents, after) = rest.split_at_checked(len).ok_or(DerError::Truncated)?;
        self.rest = after;
        Ok(contents)
    }

    /// Fails unless everything was read.
    pub(super) fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() { Ok(()) } else { Err(DerError::Trailing) }
    }
}

/// The contents of `der` when it is exactly one element with `tag`.
pub(super) fn single(der: &[u8], tag: u8) -> Result<&[u8], DerError> {
    let mut reader = Reader::new(der);
    let contents = reader.read(tag)?;
    reader.finish()?;
    Ok(contents)
}

/// SubjectPublicKeyInfo of an RSA key from its big-endian modulus and
/// public exponent (`CKA_MODULUS`, `CKA_PUBLIC_EXPONENT`; leading zeros
/// are fine).
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    // RFC 3279 2.3.1: the parameters of rsaEncryption are NULL, present.
    let algorithm = element(SEQUENCE, &[element(OBJECT_IDENTIFIER, RSA_ENCRYPTION), element(NULL, &[])].concat());
    let key = element(SEQUENCE, &[integer(modulus), integer(exponent)].concat());
    let bits = element(BIT_STRING, &[&[0u8][..], &key].concat());
    element(SEQUENCE, &[algorithm, bits].concat())
}

/// SubjectPublicKeyInfo of an EC key from `CKA_EC_PARAMS` (the DER of the
/// curve's OID) and `CKA_EC_POINT` (the uncompressed point `04 || X || Y`
/// in an OCTET STRING, or bare, as some HSMs return it). The curve must be
/// P-256, secp256k1, P-384 or P-521: its size says which form `ec_point` is.
pub fn ec_spki(params: &[u8], ec_point: &[u8]) -> Result<Vec<u8>, DerError> {
    let field_len =
        CURVES.iter().find(|(oid, _)| *oid == params).map(|(_, len)| *len).ok_or(DerError::UnsupportedCurve)?;
    let point_len = 1 + 2 * field_len;
    // A bare point also starts with 0x04, the OCTET STRING tag, so the tag
    // cannot tell the forms apart; the length can: a wrapped point of the
    // curve's size is two bytes longer than a bare one.
    let point = if ec_point.len() == point_len { ec_point } else { single(ec_point, OCTET_STRING)? };
    if point.len() != point_len || point.first() != Some(&0x04) {
        return Err(DerError::EcPoint);
    }
    // RFC 5480 2.1.1: the curve OID is the parameters of id-ecPublicKey.
    let algorithm = element(SEQUENCE, &[&element(OBJECT_IDENTIFIER, EC_PUBLIC_KEY)[..], params].concat());
    let bits = element(BIT_STRING, &[&[0u8][..], point].concat());
    Ok(element(SEQUENCE, &[algorithm, bits].concat()))
}

/// The modulus and public exponent (big-endian, no leading zeros) of an
/// RSA SubjectPublicKeyInfo in DER.
pub fn rsa_public_from_spki(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let mut spki = Reader::new(single(der, SEQUENCE)?);
    let mut algorithm = Reader::new(spki.read(SEQUENCE)?);
    if algorithm.read(OBJECT_IDENTIFIER)? != RSA_ENCRYPTION || !algorithm.read(NULL)?.is_empty() {
        return Err(DerError::NotRsa);
    }
    algorithm.finish()?;
    let bits = spki.read(BIT_STRING)?;
    spki.finish()?;
    let key = match bits.split_first() {
        Some((0, key)) => key,
        Some(_) => return Err(DerError::BitString),
        None => return Err(DerError::Truncated),
    };
    let mut fields = Reader::new(single(key, SEQUENCE)?);
    let modulus = non_negative(fields.read(INTEGER)?)?.to_vec();
    let exponent = non_negative(fields.read(INTEGER)?)?.to_vec();
    fields.finish()?;
    Ok((modulus, exponent))
}

/// PEM armour (RFC 7468): `-----BEGIN {label}-----`, the base64 of `der`
/// in lines of 64 characters, `-----END {label}-----`, each line ending
/// with a newline.
pub fn pem(label: &str, der: &[u8]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    // 48 bytes are exactly 64 base64 characters, and only the last chunk
    // can need padding.
    for chunk in der.chunks(48) {
        STANDARD.encode_string(chunk, &mut out);
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::super::test_openssl::{OpenSsl, hex_after};
    use super::*;

    const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    #[test]
    fn lengths_use_the_shortest_form() {
        assert_eq!(element(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&element(0x04, &[0; 127])[..2], &[0x04, 0x7f]);
        assert_eq!(&element(0x04, &[0; 128])[..3], &[0x04, 0x81, 0x80]);
        assert_eq!(&element(0x04, &[0; 255])[..3], &[0x04, 0x81, 0xff]);
        assert_eq!(&element(0x04, &[0; 256])[..4], &[0x04, 0x82, 0x01, 0x00]);
        assert_eq!(&element(0x04, &vec![0; 0x1_0000])[..5], &[0x04, 0x83, 0x01, 0x00, 0x00]);
        assert_eq!(&element(0x04, &vec![0; MAX_LEN])[..6], &[0x04, 0x84, 0x01, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn every_length_form_reads_back() {
        for len in [0, 1, 127, 128, 255, 256, 65_535, 65_536, MAX_LEN] {
            let contents = vec![0xa5; len];
            let der = element(0x04, &contents);
            assert_eq!(single(&der, 0x04).expect("reads"), &contents[..], "length {len}");
        }
    }

    #[test]
    fn malformed_lengths_are_refused() {
        // Indefinite, long form for a short length, a leading zero, too long, five length bytes.
        assert_eq!(single(&[0x04, 0x80, 0x00, 0x00], 0x04), Err(DerError::Length));
        assert_eq!(single(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], 0x04), Err(DerError::Length));
        assert_eq!(single(&[&[0x04, 0x82, 0x00, 0x80][..], &[0; 0x80]].concat(), 0x04), Err(DerError::Length));
        assert_eq!(single(&[0x04, 0x84, 0x01, 0x00, 0x00, 0x01], 0x04), Err(DerError::Length));
        assert_eq!(single(&[0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00], 0x04), Err(DerError::Length));
        // Lengths past the end, and missing bytes of the length itself.
        assert_eq!(single(&[0x04, 0x03, 1, 2], 0x04), Err(DerError::Truncated));
        assert_eq!(single(&[0x04, 0x82, 0x01], 0x04), Err(DerError::Truncated));
        assert_eq!(single(&[0x04], 0x04), Err(DerError::Truncated));
        assert_eq!(single(&[], 0x04), Err(DerError::Truncated));
        assert_eq!(single(&[0x04, 0x00, 0x00], 0x04), Err(DerError::Trailing));
        assert_eq!(single(&[0x03, 0x00], 0x04), Err(DerError::UnexpectedTag { expected: 0x04, found: 0x03 }));
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer(&[0, 0, 0x7f]), vec![0x02, 1, 0x7f]);
        assert_eq!(integer(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0, 0x80, 0]), vec![0x02, 3, 0, 0x80, 0]);
        assert_eq!(integer(&[]), vec![0x02, 1, 0]);
        assert_eq!(integer(&[0, 0]), vec![0x02, 1, 0]);
        assert_eq!(non_negative(&[0]), Ok(&[][..]));
        assert_eq!(non_negative(&[0, 0x80]), Ok(&[0x80][..]));
        assert_eq!(non_negative(&[0x7f, 0]), Ok(&[0x7f, 0][..]));
        assert_eq!(non_negative(&[]), Err(DerError::Integer));
        assert_eq!(non_negative(&[0x80]), Err(DerError::Integer));
        assert_eq!(non_negative(&[0, 0x7f]), Err(DerError::Integer));
        assert_eq!(non_negative(&[0, 0]), Err(DerError::Integer));
    }

    #[test]
    fn rsa_spki_has_the_expected_layout_and_reads_back() {
        let der = rsa_spki(&[0xc3, 0x01], &[0, 0, 1, 0, 1]);
        let expected = [
            0x30, 0x1e, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x03,
            0x0d, 0x00, 0x30, 0x0a, 0x02, 0x03, 0x00, 0xc3, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(der, expected);
        assert_eq!(rsa_public_from_spki(&der), Ok((vec![0xc3, 0x01], vec![1, 0, 1])));

        let modulus: Vec<u8> = (0..=255).map(|i| (i as u8) | 0x80).collect();
        let der = rsa_spki(&modulus, &[1, 0, 1]);
        assert_eq!(rsa_public_from_spki(&der), Ok((modulus, vec![1, 0, 1])));
    }

    #[test]
    fn malformed_rsa_spki_is_refused() {
        let der = rsa_spki(&[0xc3; 256], &[1, 0, 1]);
        assert!(rsa_public_from_spki(&der[..der.len() - 1]).is_err());
        assert_eq!(rsa_public_from_spki(&[&der[..], &[0]].concat()), Err(DerError::Trailing));
        let ec = ec_spki(P256, &[&[4u8][..], &[9; 64]].concat()).expect("ec");
        assert_eq!(rsa_public_from_spki(&ec), Err(DerError::NotRsa));
        // Unused bits in the BIT STRING: the byte after its tag and three-byte length.
        let mut unused = der.clone();
        let at = unused.windows(3).position(|w| w == [0x03, 0x82, 0x01]).expect("bit string") + 4;
        unused[at] = 1;
        assert_eq!(rsa_public_from_spki(&unused), Err(DerError::BitString));
    }

    #[test]
    fn ec_points_are_accepted_wrapped_or_bare() {
        let point: Vec<u8> = [&[4u8][..], &[9; 64]].concat();
        let wrapped = element(OCTET_STRING, &point);
        let der = ec_spki(P256, &wrapped).expect("wrapped");
        assert_eq!(ec_spki(P256, &point), Ok(der.clone()));
        assert_eq!(
            &der[..27],
            &[
                0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
                0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04
            ]
        );
        assert_eq!(&der[26..], &point[..]);
        // A bare point whose first coordinate bytes look like an OCTET
        // STRING header is still read as bare.
        let tricky: Vec<u8> = [&[4u8, 0x3f, 0x04][..], &[1; 62]].concat();
        assert!(ec_spki(P256, &tricky).expect("bare").ends_with(&tricky));
    }

    #[test]
    fn bad_ec_inputs_are_refused() {
        let point: Vec<u8> = [&[4u8][..], &[9; 64]].concat();
        assert_eq!(ec_spki(P256, &[0x02; 33]), Err(DerError::UnexpectedTag { expected: 0x04, found: 0x02 }));
        assert_eq!(ec_spki(P256, &element(OCTET_STRING, &[0x02; 33])), Err(DerError::EcPoint));
        assert_eq!(ec_spki(P256, &element(OCTET_STRING, &point[..62])), Err(DerError::EcPoint));
        assert_eq!(ec_spki(P256, &element(OCTET_STRING, &[&point[..], &[9]].concat())), Err(DerError::EcPoint));
        let mut not_uncompressed = point.clone();
        not_uncompressed[0] = 0x03;
        assert_eq!(ec_spki(P256, &not_uncompressed), Err(DerError::EcPoint));
        assert_eq!(ec_spki(P256, &[&element(OCTET_STRING, &point)[..], &[0]].concat()), Err(DerError::Trailing));
        assert_eq!(ec_spki(&P256[..9], &point), Err(DerError::UnsupportedCurve));
        assert_eq!(ec_spki(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21], &point), Err(DerError::UnsupportedCurve));
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let text = pem("PUBLIC KEY", &[7; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3], "BwcHBw==");
        assert_eq!(lines[4], "-----END PUBLIC KEY-----");
        assert!(text.ends_with("-----\n"));
        assert_eq!(pem("X", &[]), "-----BEGIN X-----\n-----END X-----\n");
        assert_eq!(pem("X", &[0xff; 48]).lines().nth(1).map(str::len), Some(64));
    }

    /// RSA keys of several sizes (with and without the sign byte in front
    /// of the modulus) and exponents: openssl's DER and ours are equal,
    /// and openssl reads our PEM.
    #[test]
    fn rsa_spki_matches_openssl() {
        let ossl = OpenSsl::new();
        for (bits, exponent) in [(1024, "65537"), (2047, "3"), (2048, "65537"), (3072, "65537")] {
            let key = format!("rsa{bits}.pem");
            ossl.run(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
                "-pkeyopt",
                &format!("rsa_keygen_pubexp:{exponent}"),
                "-out",
                &key,
            ]);
            let text = String::from_utf8(ossl.run(&["pkey", "-in", &key, "-pubout", "-text", "-noout"])).expect("utf8");
            // The text has the modulus with its sign byte: it goes away.
            let modulus = hex_after(&text, "Modulus:");
            let e: u64 = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Exponent: "))
                .and_then(|l| l.split_whitespace().next())
                .expect("exponent")
                .parse()
                .expect("decimal exponent");
            let expected = ossl.run(&["pkey", "-in", &key, "-pubout", "-outform", "DER"]);

            let ours = rsa_spki(&modulus, &e.to_be_bytes());
            assert_eq!(ours, expected, "{bits}-bit key");
            let stripped = trim_zeros(&modulus);
            assert!(stripped.len() < modulus.len() || bits % 8 != 0, "openssl prints the sign byte");
            assert_eq!(rsa_spki(stripped, &e.to_be_bytes()), expected);
            let (n, e_bytes) = rsa_public_from_spki(&expected).expect("reads openssl's SPKI");
            assert_eq!((n.as_slice(), e_bytes.as_slice()), (stripped, trim_zeros(&e.to_be_bytes())));

            let pem_name = format!("ours{bits}.pem");
            ossl.write(&pem_name, pem("PUBLIC KEY", &ours).as_bytes());
            let reread = ossl.run(&["pkey", "-pubin", "-in", &pem_name, "-outform", "DER"]);
            assert_eq!(reread, expected, "openssl reads our PEM");
        }
    }

    /// EC keys on the curves the daemon uses (and the two others it knows),
    /// with the point wrapped as `CKA_EC_POINT` and bare.
    #[test]
    fn ec_spki_matches_openssl() {
        let ossl = OpenSsl::new();
        let curves: [(&str, &[u8]); 4] = [
            ("P-256", P256),
            ("secp256k1", &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]),
            ("P-384", &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            ("P-521", &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
        ];
        for (curve, params) in curves {
            let key = format!("{curve}.pem");
            ossl.run(&["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", &key]);
            let text = String::from_utf8(ossl.run(&["pkey", "-in", &key, "-pubout", "-text", "-noout"])).expect("utf8");
            let point = hex_after(&text, "pub:");
            assert_eq!(point[0], 0x04, "{curve}: openssl prints the uncompressed point");
            let expected = ossl.run(&["pkey", "-in", &key, "-pubout", "-outform", "DER"]);

            let ours = ec_spki(params, &element(OCTET_STRING, &point)).expect("wrapped point");
            assert_eq!(ours, expected, "{curve}");
            assert_eq!(ec_spki(params, &point).expect("bare point"), expected, "{curve}, bare point");

            let pem_name = format!("ours-{curve}.pem");
            ossl.write(&pem_name, pem("PUBLIC KEY", &ours).as_bytes());
            let reread = ossl.run(&["pkey", "-pubin", "-in", &pem_name, "-outform", "DER"]);
            assert_eq!(reread, expected, "openssl reads our {curve} PEM");
        }
    }

    fn trim_zeros(bytes: &[u8]) -> &[u8] {
        bytes.iter().position(|b| *b != 0).map_or(&bytes[..0], |i| &bytes[i..])
    }
}
