//! What authenticates a mirror image, done inside an HSM: its MAC key and
//! MAC, and the check that each public half it carries belongs to the
//! private half it carries.
//!
//! Each image gets a MAC key of its own: 64 random bytes generated inside
//! the member taking the image (a session object), wrapped there under the
//! backup root key and stored in the image; the MAC (HMAC-SHA-256 over the
//! image file) is computed inside the member too. The key's value never
//! exists outside an HSM, so whoever can write image files cannot make a
//! MAC that verifies, even if they recompute the SHA-256 manifest. To
//! check an image, its MAC key is unwrapped under the root key inside a
//! member (verify only) and the MAC verified there. The wrapped key's
//! length is checked first: AES key wrap with padding authenticates the
//! length of what it wraps, and no key material an image carries is 64
//! bytes long, so a blob of another key swapped in (an imported key, whose
//! value its importer knows) is refused.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::cluster::rsa_public;
use super::error::{Context, HsmError};
use super::objects::PublicKey;
use super::templates::{self, IMAGE_MAC_KEY_LEN};

/// Why an image does not authenticate (the caller words the refusal).
#[derive(Debug, thiserror::Error)]
pub enum ImageAuthError {
    /// The wrapped MAC key does not unwrap under the root key.
    #[error("its MAC key does not unwrap under the backup root key (altered, or made under another root key)")]
    KeyUnwrap,
    /// The wrapped MAC key has the wrong length.
    #[error("its MAC key is not an image MAC key ({0} bytes wrapped)")]
    KeyLength(usize),
    /// The MAC does not verify.
    #[error("its MAC does not verify: the image was altered")]
    Mac,
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] HsmError),
}

/// A new MAC key for one image (session object of `s`), and its value
/// wrapped under `root`.
pub fn new_mac_key(s: &Session, root: ObjectHandle) -> Result<(ObjectHandle, Zeroizing<Vec<u8>>), HsmError> {
    let key = s
        .generate_key(&Mechanism::GenericSecretKeyGen, &templates::image_mac_key())
        .context(|| "generating an image MAC key".into())?;
    match s.wrap_key(&Mechanism::AesKeyWrapPad, root, key) {
        Ok(wrapped) => Ok((key, Zeroizing::new(wrapped))),
        Err(error) => {
            let _ = s.destroy_object(key);
            Err(HsmError::pkcs11("wrapping the image MAC key", error))
        }
    }
}

/// HMAC-SHA-256 of `bytes` under `key`, computed inside the HSM.
pub fn mac(s: &Session, key: ObjectHandle, bytes: &[u8]) -> Result<Vec<u8>, HsmError> {
    s.sign(&Mechanism::Sha256Hmac, key, bytes).context(|| "computing the image MAC".into())
}

/// Checks `tag` over `bytes` with the MAC key `wrapped` under `root`,
/// inside the HSM.
pub fn verify_mac(
    s: &Session,
    root: ObjectHandle,
    wrapped: &[u8],
    bytes: &[u8],
    tag: &[u8],
) -> Result<(), ImageAuthError> {
    // RFC 5649 wraps a 64-byte key (a multiple of 8) into 64 + 8 bytes.
    if wrapped.len() as u64 != IMAGE_MAC_KEY_LEN + 8 {
        return Err(ImageAuthError::KeyLength(wrapped.len()));
    }
    let key = s
        .unwrap_key(&Mechanism::AesKeyWrapPad, root, wrapped, &templates::image_mac_key_unwrap())
        .map_err(|_| ImageAuthError::KeyUnwrap)?;
    let result = check_with(s, key, bytes, tag);
    let _ = s.destroy_object(key);
    result
}

fn check_with(s: &Session, key: ObjectHandle, bytes: &[u8], tag: &[u8]) -> Result<(), ImageAuthError> {
    match s.verify(&Mechanism::Sha256Hmac, key, bytes, tag) {
        Ok(()) => Ok(()),
        Err(CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange, _)) => Err(ImageAuthError::Mac),
        Err(error) => Err(HsmError::pkcs11("verifying the image MAC", error).into()),
    }
}

/// True when `private` (a private key object) and `public` (its public
/// half as the image gives it, also created as the object `public_object`)
/// are halves of one key pair, checked inside the HSM: an RSA private key
/// names its modulus and exponent; an EC private key signs a random digest
/// that the public object must verify.
pub fn pair_matches(
    s: &Session,
    private: ObjectHandle,
    public_object: ObjectHandle,
    public: &PublicKey,
) -> Result<bool, HsmError> {
    match public {
        PublicKey::Rsa { modulus, exponent } => {
            let (m, e) = rsa_public(s, private)?;
            Ok(strip(&m) == strip(modulus) && strip(&e) == strip(exponent))
        }
        PublicKey::Ec { .. } => {
            let digest: [u8; 32] = rand::random();
            let signature = s.sign(&Mechanism::Ecdsa, private, &digest).context(|| "signing a test digest".into())?;
            match s.verify(&Mechanism::Ecdsa, public_object, &digest, &signature) {
                Ok(()) => Ok(true),
                Err(CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange, _)) => Ok(false),
                Err(error) => Err(HsmError::pkcs11("verifying the test signature", error)),
            }
        }
    }
}

/// A big-endian integer without leading zero bytes.
fn strip(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}
