//! Copying a key version from a member of one cluster to a member of
//! another (an instance attached to another cluster takes the versions
//! that cluster lacks from the one it leaves), and installing one that
//! comes wrapped from the daemon's software vault ([`install_wrapped`]).
//!
//! Members of two clusters share no cluster key. So the source's cluster
//! key travels to the destination as a *session object*, wrapped under a
//! one-time RSA transport key generated inside the destination (as when a
//! member joins its cluster: `Cluster::share_cluster_key`); the version is
//! wrapped under that key on the source and unwrapped on the destination,
//! as replication does; then the borrowed key and the transport pair are
//! destroyed (they would also go with their session). Key material never
//! exists outside an HSM in clear, and the destination never keeps a key
//! of the other cluster.

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::MechanismType;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::cluster::rsa_public;
use super::error::{Context, HsmError};
use super::member::Member;
use super::objects::{ObjectRole, PublicKey, VersionName};
use super::persist::persist;
use super::templates;

/// RSA-OAEP as SoftHSM 2.6 takes it for key wrapping (SHA-1, MGF1-SHA-1;
/// OAEP's security does not rest on SHA-1's collision resistance).
pub fn transport_oaep() -> Mechanism<'static> {
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(MechanismType::SHA1, PkcsMgfType::MGF1_SHA1, PkcsOaepSource::empty()))
}

/// Copies version `v` from `from` to `to`, members of different clusters
/// (see the module documentation); `public` is the public half of an
/// asymmetric version, as the store keeps it.
pub fn copy_version(from: &Member, to: &Member, v: &VersionName, public: Option<&PublicKey>) -> Result<(), HsmError> {
    let source_key = from.cluster_key()?;
    let protected: Vec<ObjectRole> = v.roles().iter().copied().filter(|r| *r != ObjectRole::Public).collect();
    let handles: Vec<(ObjectRole, ObjectHandle)> =
        protected.iter().map(|role| from.find(&v.id, *role).map(|h| (*role, h))).collect::<Result<_, _>>()?;
    let stored = to.with_session(|ts| {
        let (public_t, private_t) = templates::transport_pair();
        let (transport_public, transport_private) = ts
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public_t, &private_t)
            .context(|| format!("transport key on '{}'", to.label()))?;
        let transport = Transport { public: transport_public, private: transport_private };
        let result = receive(from, to, ts, v, source_key, &handles, &transport);
        let _ = ts.destroy_object(transport_private);
        let _ = ts.destroy_object(transport_public);
        result
    })?;
    for (role, handle) in stored {
        to.remember(&v.id, role, handle);
    }
    store_public(to, v, public)
}

/// Stores the public half of an asymmetric version on `to`.
fn store_public(to: &Member, v: &VersionName, public: Option<&PublicKey>) -> Result<(), HsmError> {
    if let Some(public) = public.filter(|_| v.roles().contains(&ObjectRole::Public)) {
        let handle = to.with_session(|s| {
            let staged =
                s.create_object(&templates::public_copy(v, public)).context(|| format!("public key of {}", v.label))?;
            persist(s, staged, &v.label)
        })?;
        to.remember(&v.id, ObjectRole::Public, handle);
    }
    Ok(())
}

/// A version's key wrapped for a transport key: a one-time AES key under
/// the transport key (RSA-OAEP, SHA-1), and the version's key under the
/// one-time key (`CKM_AES_KEY_WRAP_PAD`: raw AES bytes, or PKCS#8).
#[derive(Debug)]
pub struct Wrapped {
    /// The one-time key, under the transport key.
    pub key: Vec<u8>,
    /// The version's key, under the one-time key.
    pub blob: Zeroizing<Vec<u8>>,
}

/// Installs version `v` on `to` from material held outside any HSM (the
/// daemon's software vault, when a CMK migration moves a key into an
/// instance): `wrap` gets the modulus and exponent of a one-time RSA
/// transport key generated inside `to` and returns the version wrapped for
/// it; `to` unwraps the one-time key as a session object, unwraps the
/// version under it, stores it, and destroys the one-time keys. So the
/// material crosses into the HSM wrapped, as between two clusters.
pub fn install_wrapped(
    to: &Member,
    v: &VersionName,
    public: Option<&PublicKey>,
    wrap: impl FnOnce(Vec<u8>, Vec<u8>) -> Result<Wrapped, HsmError>,
) -> Result<(), HsmError> {
    let role = v
        .roles()
        .iter()
        .copied()
        .find(|r| *r != ObjectRole::Public)
        .ok_or_else(|| HsmError::Unexpected(format!("{} has no secret part", v.label)))?;
    let handle = to.with_session(|ts| {
        let (public_t, private_t) = templates::transport_pair();
        let (transport_public, transport_private) = ts
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public_t, &private_t)
            .context(|| format!("transport key on '{}'", to.label()))?;
        let result = rsa_public(ts, transport_public).and_then(|(modulus, exponent)| wrap(modulus, exponent)).and_then(
            |wrapped| {
                let one_time = ts
                    .unwrap_key(&transport_oaep(), transport_private, &wrapped.key, &templates::borrowed_cluster_key())
                    .context(|| format!("unwrapping the transport key on '{}'", to.label()))?;
                let stored = ts
                    .unwrap_key(&Mechanism::AesKeyWrapPad, one_time, &wrapped.blob, &templates::unwrapped(v, role))
                    .context(|| format!("unwrapping {} on '{}'", v.label, to.label()))
                    .and_then(|staged| persist(ts, staged, &v.label));
                let _ = ts.destroy_object(one_time);
                stored
            },
        );
        let _ = ts.destroy_object(transport_private);
        let _ = ts.destroy_object(transport_public);
        result
    })?;
    to.remember(&v.id, role, handle);
    store_public(to, v, public)
}

/// The one-time RSA transport key pair, session objects of the destination.
struct Transport {
    public: ObjectHandle,
    private: ObjectHandle,
}

/// The part of [`copy_version`] in the destination's session `ts`: the
/// source wraps its cluster key under the transport key and the version
/// under its cluster key; the destination unwraps both and stores the
/// version. Returns the stored objects by role.
fn receive(
    from: &Member,
    to: &Member,
    ts: &Session,
    v: &VersionName,
    source_key: ObjectHandle,
    handles: &[(ObjectRole, ObjectHandle)],
    transport: &Transport,
) -> Result<Vec<(ObjectRole, ObjectHandle)>, HsmError> {
    let (modulus, exponent) = rsa_public(ts, transport.public)?;
    let (wrapped_key, blobs) = from.with_session(|fs| {
        let imported = fs
            .create_object(&templates::transport_public_copy(modulus, exponent))
            .context(|| format!("importing the transport key into '{}'", from.label()))?;
        let wrapped_key = fs.wrap_key(&transport_oaep(), imported, source_key);
        let _ = fs.destroy_object(imported);
        let wrapped_key = wrapped_key.context(|| format!("wrapping the cluster key on '{}'", from.label()))?;
        let blobs = handles
            .iter()
            .map(|(role, handle)| {
                fs.wrap_key(&Mechanism::AesKeyWrapPad, source_key, *handle)
                    .map(|blob| (*role, Zeroizing::new(blob)))
                    .context(|| format!("wrapping {} on '{}'", v.label, from.label()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((wrapped_key, blobs))
    })?;
    let borrowed = ts
        .unwrap_key(&transport_oaep(), transport.private, &wrapped_key, &templates::borrowed_cluster_key())
        .context(|| format!("unwrapping the other cluster's key on '{}'", to.label()))?;
    let stored = blobs
        .iter()
        .map(|(role, blob)| {
            let staged = ts
                .unwrap_key(&Mechanism::AesKeyWrapPad, borrowed, blob, &templates::unwrapped(v, *role))
                .context(|| format!("unwrapping {} on '{}'", v.label, to.label()))?;
            persist(ts, staged, &v.label).map(|handle| (*role, handle))
        })
        .collect::<Result<Vec<_>, _>>();
    let _ = ts.destroy_object(borrowed);
    stored
}
