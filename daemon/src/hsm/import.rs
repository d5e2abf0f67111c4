//! The HSM side of bring-your-own-key: RSA wrapping key pairs generated
//! inside the primary, imported material unwrapped inside it, and a check
//! value computed inside it so a re-import can prove it brings the same
//! material.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use zeroize::Zeroizing;

use p11kms_proto::admin::WrappingAlgorithm;

use super::error::{Context, HsmError};
use super::member::Member;
use super::objects::{ObjectRole, VersionName};
use super::persist::persist;
use super::templates;

/// The block whose encryption is an imported key's check value. Not the
/// zero block: E_K(0) is AES-GCM's hash subkey, which must stay secret.
pub const CHECK_BLOCK: [u8; 16] = *b"p11kms-kcv-block";

/// `CKA_ID` of a wrapping key pair: a prefix and the token's UUID, so it
/// never looks like a key version's 16-byte id.
pub fn wrapping_cka_id(id: &[u8; 16]) -> Vec<u8> {
    [b"p11kms-import:".as_slice(), id.as_slice()].concat()
}

fn pair_template(id: &[u8; 16], label: &str) -> (Vec<Attribute>, Vec<Attribute>) {
    let naming = [Attribute::Id(wrapping_cka_id(id)), Attribute::Label(label.as_bytes().to_vec())];
    let mut public = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::ModulusBits(2048.into()),
        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        Attribute::Wrap(true),
        Attribute::Encrypt(true),
        Attribute::Verify(false),
    ];
    public.extend(naming.clone());
    let mut private = vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        // Raw decryption backs RSAES_OAEP_SHA_256 on HSMs whose unwrap
        // lacks it (SoftHSM 2.6); see `unwrap_material`.
        Attribute::Decrypt(true),
        Attribute::Sign(false),
    ];
    private.extend(naming);
    (public, private)
}

/// Generates a wrapping key pair (token objects, so it outlives a restart
/// for the token's 24 hours); returns its modulus and public exponent.
pub fn create_wrapping_pair(member: &Member, id: &[u8; 16], label: &str) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
    let (public_t, private_t) = pair_template(id, label);
    member.with_session(|s| {
        let (public, _) = s
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public_t, &private_t)
            .context(|| format!("generating a wrapping key on '{}'", member.label()))?;
        super::cluster::rsa_public(s, public)
    })
}

/// Destroys a wrapping key pair (used or expired token).
pub fn destroy_wrapping_pair(member: &Member, id: &[u8; 16]) -> Result<(), HsmError> {
    member.with_session(|s| {
        for handle in s.find_objects(&[Attribute::Id(wrapping_cka_id(id))]).context(|| "C_FindObjects".into())? {
            s.destroy_object(handle).context(|| "destroying a wrapping key".into())?;
        }
        Ok(())
    })
}

/// The private half of wrapping key pair `id` on `member`.
pub fn wrapping_private(member: &Member, id: &[u8; 16]) -> Result<ObjectHandle, HsmError> {
    let template = [Attribute::Id(wrapping_cka_id(id)), Attribute::Class(ObjectClass::PRIVATE_KEY)];
    let found = member.with_session(|s| s.find_objects(&template).context(|| "C_FindObjects".into()))?;
    found
        .first()
        .copied()
        .ok_or_else(|| HsmError::ObjectMissing(uuid::Uuid::from_bytes(*id).to_string(), member.label().into()))
}

fn oaep(hash: MechanismType, mgf: PkcsMgfType) -> Mechanism<'static> {
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty()))
}

/// Unwraps imported material inside `member` into the token object of
/// version `v` and returns its handle. The material must be 32 bytes.
///
/// RSAES_OAEP_SHA_1 and RSAES_PKCS1_V1_5 are unwrapped by the HSM. For
/// RSAES_OAEP_SHA_256 the HSM is asked first; SoftHSM 2.6 refuses OAEP with
/// SHA-256, and then the HSM performs the raw RSA decryption and `decode`
/// removes the OAEP encoding in the daemon, which creates the object from
/// the material (zeroized at once). `docs/keys.md` records this.
pub fn unwrap_material(
    member: &Member,
    wrapping_id: &[u8; 16],
    algorithm: WrappingAlgorithm,
    wrapped: &[u8],
    v: &VersionName,
    decode: impl FnOnce(&[u8]) -> Option<Zeroizing<Vec<u8>>>,
) -> Result<ObjectHandle, HsmError> {
    let unwrapping = wrapping_private(member, wrapping_id)?;
    let template = templates::unwrapped(v, ObjectRole::Secret);
    let mechanism = match algorithm {
        WrappingAlgorithm::RsaesOaepSha1 => oaep(MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        WrappingAlgorithm::RsaesOaepSha256 => oaep(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        WrappingAlgorithm::RsaesPkcs1V15 => Mechanism::RsaPkcs,
    };
    let unwrapped = member.with_session(|s| {
        let staged =
            s.unwrap_key(&mechanism, unwrapping, wrapped, &template).context(|| format!("unwrapping {}", v.label))?;
        persist(s, staged, &v.label)
    });
    let handle = match (unwrapped, algorithm) {
        (Ok(handle), _) => handle,
        (Err(_), WrappingAlgorithm::RsaesOaepSha256) => {
            let raw = Zeroizing::new(member.with_session(|s| {
                s.decrypt(&Mechanism::RsaX509, unwrapping, wrapped).context(|| "raw RSA decryption".into())
            })?);
            let material =
                decode(&raw).ok_or_else(|| HsmError::Unexpected("the wrapped material does not decode".into()))?;
            let mut create = template.clone();
            create.insert(0, Attribute::Value(material.to_vec()));
            member.with_session(|s| {
                let staged = s.create_object(&create).context(|| format!("creating {}", v.label))?;
                persist(s, staged, &v.label)
            })?
        }
        (Err(error), _) => return Err(error),
    };
    if !is_256_bits(member, handle)? {
        let _ = member.with_session(|s| s.destroy_object(handle).context(|| "C_DestroyObject".into()));
        return Err(HsmError::Unexpected("imported material is not 256 bits".into()));
    }
    member.remember(&v.id, ObjectRole::Secret, handle);
    Ok(handle)
}

/// The check value of an AES key: its encryption of [`CHECK_BLOCK`],
/// computed inside the HSM.
pub fn check_value(member: &Member, key: ObjectHandle) -> Result<Vec<u8>, HsmError> {
    member
        .with_session(|s| s.encrypt(&Mechanism::AesEcb, key, &CHECK_BLOCK).context(|| "computing a check value".into()))
}

/// Whether a new AES key holds exactly 256 bits, found out inside the HSM:
/// `CKA_VALUE_LEN` where the HSM sets it (SoftHSM leaves it 0 on unwrapped
/// keys and refuses it in an unwrap template), else the length of the key
/// wrapped under the cluster key with AES-KWP (RFC 5649), which is 40
/// bytes for exactly 32 bytes of material.
fn is_256_bits(member: &Member, key: ObjectHandle) -> Result<bool, HsmError> {
    let length = member.with_session(|s| {
        s.get_attributes(key, &[AttributeType::ValueLen]).context(|| "reading CKA_VALUE_LEN".into())
    })?;
    if let [Attribute::ValueLen(len)] = length.as_slice() {
        if u64::from(*len) != 0 {
            return Ok(u64::from(*len) == 32);
        }
    }
    let cluster_key = member.cluster_key()?;
    let wrapped = Zeroizing::new(member.with_session(|s| {
        s.wrap_key(&Mechanism::AesKeyWrapPad, cluster_key, key).context(|| "measuring imported material".into())
    })?);
    Ok(wrapped.len() == 40)
}
