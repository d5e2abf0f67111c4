//! The software decoders around bring-your-own-key and the other
//! operations that hand the daemon's `encoding` module bytes from a
//! client (`daemon/src/encoding/`):
//!
//! - `oaep_decode`, with the import's parameters (a 256-byte modulus,
//!   SHA-256, no label: RSAES_OAEP_SHA_256 material that SoftHSM cannot
//!   unwrap) and with the data plane's (any hash, any label, a modulus of
//!   1024 to 4096 bits);
//! - an OAEP round trip (`oaep_encode` then `oaep_decode`) of a message,
//!   seed and label from the input;
//! - `rsa_public_from_spki` (an RSA SubjectPublicKeyInfo);
//! - `ecdsa_raw_from_der` (a DER signature to `verify`) for P-256, P-384
//!   and P-521 field sizes, and `ecdsa_der_from_raw`;
//! - `ec_spki` (`CKA_EC_PARAMS` and `CKA_EC_POINT` of a public key object a
//!   client created), and `pkcs1_sha256_digest_info`.
//!
//! Input: a byte that picks the decoder, a byte that picks its parameters
//! (hash, modulus length, field size), then the bytes to decode.
//!
//! Checked: nothing panics; the strict DER readers accept only what the
//! writers produce byte for byte (a SubjectPublicKeyInfo or signature that
//! reads back encodes to the same bytes); OAEP decodes what it encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p11kmsd::encoding::der::{ec_spki, rsa_public_from_spki, rsa_spki};
use p11kmsd::encoding::oaep::{OaepHash, max_message_len, oaep_decode, oaep_encode};
use p11kmsd::encoding::signature::{ecdsa_der_from_raw, ecdsa_raw_from_der, pkcs1_sha256_digest_info};

const HASHES: [OaepHash; 5] = [OaepHash::Sha1, OaepHash::Sha224, OaepHash::Sha256, OaepHash::Sha384, OaepHash::Sha512];
/// RSA moduli from 1024 to 4096 bits, and one too short for SHA-512.
const MODULUS_LENGTHS: [usize; 5] = [128, 256, 384, 512, 100];
/// Field sizes of P-256 and secp256k1, P-384, P-521.
const FIELD_LENGTHS: [usize; 3] = [32, 48, 66];

/// Splits `bytes` after a length given by its first byte (clamped).
fn take_prefixed(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.split_first() {
        Some((&len, rest)) => rest.split_at(usize::from(len).min(rest.len())),
        None => (&[], &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, parameters], input)) = data.split_first_chunk::<2>() else { return };
    let parameters = usize::from(parameters);
    let hash = HASHES[parameters % HASHES.len()];
    let modulus_len = MODULUS_LENGTHS[parameters / HASHES.len() % MODULUS_LENGTHS.len()];
    match selector % 8 {
        // The import: RSAES_OAEP_SHA_256 under an RSA-2048 wrapping key.
        0 => {
            if let Ok(material) = oaep_decode(input, 256, OaepHash::Sha256, &[]) {
                assert!(material.len() <= max_message_len(256, OaepHash::Sha256));
            }
        }
        // OAEP decryption on the data plane: the label comes from the client.
        1 => {
            let (label, em) = take_prefixed(input);
            if let Ok(message) = oaep_decode(em, modulus_len, hash, label) {
                assert!(message.len() <= max_message_len(modulus_len, hash));
            }
        }
        // What OAEP encodes, it decodes.
        2 => {
            let (label, rest) = take_prefixed(input);
            let (seed, message) = rest.split_at(hash.digest_len().min(rest.len()));
            if let Ok(em) = oaep_encode(message, modulus_len, hash, label, seed) {
                assert_eq!(em.len(), modulus_len);
                let decoded = oaep_decode(&em, modulus_len, hash, label).expect("an encoded message decodes");
                assert_eq!(&decoded[..], message);
            }
        }
        3 => {
            if let Ok((modulus, exponent)) = rsa_public_from_spki(input) {
                assert_eq!(rsa_spki(&modulus, &exponent), input, "strict DER reads only what it writes");
            }
        }
        4 => {
            let field_len = FIELD_LENGTHS[parameters % FIELD_LENGTHS.len()];
            if let Ok(raw) = ecdsa_raw_from_der(input, field_len) {
                assert_eq!(raw.len(), 2 * field_len);
                assert_eq!(ecdsa_der_from_raw(&raw).expect("r || s converts"), input, "strict DER");
            }
        }
        5 => {
            if let Ok(der) = ecdsa_der_from_raw(input) {
                let raw = ecdsa_raw_from_der(&der, input.len() / 2).expect("a converted signature reads back");
                assert_eq!(raw, input);
            }
        }
        6 => {
            let (params, point) = take_prefixed(input);
            let _ = ec_spki(params, point);
        }
        _ => {
            if let Ok(info) = pkcs1_sha256_digest_info(input) {
                assert!(info.ends_with(input));
            }
        }
    }
});
