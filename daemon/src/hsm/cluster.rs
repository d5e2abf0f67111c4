//! A cluster: a primary member and its mirrors, holding the same key
//! versions.
//!
//! Writes go to the primary first; the new material is then wrapped under
//! the cluster key *inside* the primary (AES key wrap with padding,
//! RFC 5649) and unwrapped inside each mirror, so key material never
//! exists outside an HSM in clear. A version is on every member in service
//! before a create returns (`kms::cluster_sync::create_version`); a mirror
//! that fails at the device is taken out of service and resynced later;
//! any other failure destroys the version everywhere and is returned, so no
//! half-created key survives.
//!
//! The cluster key itself reaches a new member wrapped under a one-time RSA
//! transport key generated inside that member (see
//! [`Cluster::share_cluster_key`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use p11kms_proto::admin::KeySpec;

use super::error::{Context, HsmError};
use super::member::Member;
use super::objects::{ObjectRole, PublicKey, VersionName};
use super::persist::{persist, persist_pair};
use super::templates;

/// A version's secret or private key wrapped under the cluster key, by role.
type Wrapped = Vec<(ObjectRole, Zeroizing<Vec<u8>>)>;

/// A mirror and the thread writing a version to it.
type Writing<'a, 'scope> = (&'a Arc<Member>, std::thread::ScopedJoinHandle<'scope, Result<(), HsmError>>);

/// A cluster of member tokens.
#[derive(Debug)]
pub struct Cluster {
    name: String,
    members: Vec<Arc<Member>>,
    /// Position of the primary; moves when a mirror is promoted.
    primary: AtomicUsize,
    /// Spread operations over the healthy members in turn.
    spread: AtomicBool,
    /// Turn counter for spreading.
    turn: AtomicUsize,
}

impl Cluster {
    /// A cluster over connected members; `primary` is the position of the
    /// primary in `members`.
    pub fn new(name: &str, members: Vec<Arc<Member>>, primary: usize) -> Result<Self, HsmError> {
        if primary >= members.len() {
            return Err(HsmError::Unexpected(format!("cluster '{name}' has no member at position {primary}")));
        }
        Ok(Self {
            name: name.to_owned(),
            members,
            primary: AtomicUsize::new(primary),
            spread: AtomicBool::new(false),
            turn: AtomicUsize::new(0),
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All members, in index order.
    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    /// The primary.
    pub fn primary(&self) -> &Arc<Member> {
        &self.members[self.primary.load(Ordering::Acquire)]
    }

    /// The mirrors.
    pub fn mirrors(&self) -> impl Iterator<Item = &Arc<Member>> {
        let primary = self.primary.load(Ordering::Acquire);
        self.members.iter().enumerate().filter(move |(i, _)| *i != primary).map(|(_, m)| m)
    }

    /// Makes the member at `position` the primary (the caller has checked
    /// that it is healthy and holds every version).
    pub fn promote(&self, position: usize) {
        if position < self.members.len() {
            self.primary.store(position, Ordering::Release);
        }
    }

    /// The member that serves data-plane operations.
    pub fn serving_member(&self) -> Result<&Arc<Member>, HsmError> {
        let primary = self.primary();
        if primary.is_healthy() {
            return Ok(primary);
        }
        self.members.iter().find(|m| m.is_healthy()).ok_or_else(|| HsmError::NoHealthyMember(self.name.clone()))
    }

    /// Spreads operations over the healthy members (`hsm.spread_operations`).
    pub fn set_spread(&self, spread: bool) {
        self.spread.store(spread, Ordering::Relaxed);
    }

    /// The members to try for an operation with a key version, in order:
    /// the healthy members (from the next one in turn when spreading, else
    /// from the serving member), then the unhealthy ones (a member's health
    /// is only as fresh as its last use).
    pub fn candidates(&self) -> Vec<&Arc<Member>> {
        let healthy: Vec<&Arc<Member>> = self.members.iter().filter(|m| m.is_healthy()).collect();
        let first = if healthy.is_empty() {
            0
        } else if self.spread.load(Ordering::Relaxed) {
            self.turn.fetch_add(1, Ordering::Relaxed) % healthy.len()
        } else {
            let serving = self.serving_member().ok();
            healthy.iter().position(|m| serving.is_some_and(|s| Arc::ptr_eq(m, s))).unwrap_or(0)
        };
        let mut order: Vec<&Arc<Member>> = healthy[first..].iter().chain(&healthy[..first]).copied().collect();
        order.extend(self.members.iter().filter(|m| !m.is_healthy()));
        order
    }

    /// Runs `op` with a key version's object, on the members in the order
    /// of [`Cluster::candidates`]: a member that fails at the device or has
    /// lost the object is left for the next one (a stale cached handle is
    /// dropped), so the caller sees no failure while one member can do the
    /// work. Any other error is the operation's answer and returned at once.
    pub fn run_on_version<T>(
        &self,
        id: &[u8; 16],
        role: ObjectRole,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let mut last = HsmError::NoHealthyMember(self.name.clone());
        for member in self.candidates() {
            match member.find(id, role).and_then(|handle| member.with_session(|s| op(s, handle))) {
                Ok(value) => return Ok(value),
                Err(error) if error.worth_another_member() => {
                    tracing::warn!(member = member.label(), %error, "member failed an operation; trying another");
                    if error.is_stale_handle() {
                        member.forget(id);
                    }
                    last = error;
                }
                Err(error) => return Err(error),
            }
        }
        Err(last)
    }

    /// Creates the cluster key on the primary and shares it with every
    /// mirror. Used once, when the cluster is created.
    pub fn create_cluster_key(&self) -> Result<(), HsmError> {
        let primary = self.primary();
        let handle = primary.with_session(|s| {
            s.generate_key(&Mechanism::AesKeyGen, &templates::cluster_key())
                .context(|| format!("generating the cluster key on '{}'", primary.label()))
        })?;
        primary.set_cluster_key(handle);
        for mirror in self.mirrors() {
            Self::share_cluster_key(primary, mirror)?;
        }
        Ok(())
    }

    /// Gives `to` the cluster key held by `from`: `to` generates an RSA
    /// transport key pair, `from` wraps the cluster key under its public
    /// half (RSA-OAEP), `to` unwraps it with the private half, and the
    /// transport pair (session objects) disappears.
    pub fn share_cluster_key(from: &Member, to: &Member) -> Result<(), HsmError> {
        let cluster_key = from.cluster_key()?;
        // SoftHSM accepts only SHA-1 with MGF1-SHA-1 for OAEP key wrapping;
        // OAEP's security does not rest on SHA-1's collision resistance.
        let oaep = Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
            MechanismType::SHA1,
            PkcsMgfType::MGF1_SHA1,
            PkcsOaepSource::empty(),
        ));
        let handle = to.with_session(|ts| {
            let (public_t, private_t) = templates::transport_pair();
            let (public, private) = ts
                .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public_t, &private_t)
                .context(|| format!("transport key on '{}'", to.label()))?;
            let (modulus, exponent) = rsa_public(ts, public)?;
            let wrapped = from.with_session(|fs| {
                let imported = fs
                    .create_object(&templates::transport_public_copy(modulus, exponent))
                    .context(|| format!("importing the transport key into '{}'", from.label()))?;
                let wrapped = fs.wrap_key(&oaep, imported, cluster_key);
                let _ = fs.destroy_object(imported);
                wrapped.context(|| format!("wrapping the cluster key on '{}'", from.label()))
            })?;
            let handle = ts
                .unwrap_key(&oaep, private, &wrapped, &templates::cluster_key_unwrap())
                .context(|| format!("unwrapping the cluster key on '{}'", to.label()));
            let _ = ts.destroy_object(private);
            let _ = ts.destroy_object(public);
            handle
        })?;
        to.set_cluster_key(handle);
        Ok(())
    }

    /// Creates a key version on the primary and every healthy mirror at
    /// once. The primary generates it as staged session objects and wraps
    /// it under the cluster key; then each mirror unwraps it in a thread of
    /// its own while the primary stores its staged objects on its token
    /// (see [`super::persist`]), so the mirrors' writes overlap the
    /// primary's. Returns the public key of an asymmetric version.
    ///
    /// A failure of the primary is returned as it is, after the version
    /// was destroyed on every member, so that the caller can promote a
    /// mirror and try again. Mirror failures are handled as in
    /// [`Cluster::replicate_to_mirrors`].
    pub fn create_version(&self, v: &VersionName) -> Result<Option<PublicKey>, HsmError> {
        let primary = self.primary();
        let mirrors: Vec<&Arc<Member>> = self.mirrors().filter(|m| m.is_healthy()).collect();
        let (public, stored, results) = primary.with_session(|s| {
            let staged = stage(s, primary, v)?;
            let blobs = if mirrors.is_empty() { Ok(Vec::new()) } else { wrap_staged(s, primary, v, &staged) };
            let blobs = match blobs {
                Ok(blobs) => blobs,
                Err(error) => {
                    staged.discard(s);
                    return Err(error);
                }
            };
            let public = staged.public.clone();
            let (stored, results) = std::thread::scope(|scope| {
                let running: Vec<_> = mirrors
                    .iter()
                    .map(|m| (*m, scope.spawn(|| Self::install(m, v, &blobs, public.as_ref()))))
                    .collect();
                let stored = staged.store(s, primary, v);
                (stored, joined(running))
            });
            Ok((public, stored, results))
        })?;
        if let Err(error) = stored {
            self.destroy_version(v);
            return Err(error);
        }
        self.settle_mirrors(v, results)?;
        Ok(public)
    }

    /// Copies a version that exists on the primary to every healthy
    /// mirror, all mirrors at once: the key is wrapped once on the primary
    /// and unwrapped on each mirror in a thread of its own. A mirror that
    /// fails at the device level is left out (it is marked unhealthy, and
    /// healing copies the version once it answers again); any other failure
    /// destroys the version everywhere and is returned. At least the
    /// primary holds the version on success.
    pub fn replicate_to_mirrors(&self, v: &VersionName, public: Option<&PublicKey>) -> Result<(), HsmError> {
        let mirrors: Vec<&Arc<Member>> = self.mirrors().filter(|m| m.is_healthy()).collect();
        if mirrors.is_empty() {
            return Ok(());
        }
        let blobs = Self::wrap_version(self.primary(), v)?;
        let results = std::thread::scope(|scope| {
            joined(mirrors.iter().map(|m| (*m, scope.spawn(|| Self::install(m, v, &blobs, public)))).collect())
        });
        self.settle_mirrors(v, results)
    }

    /// Acts on the mirrors' results of a write: a mirror that failed at
    /// the device level is marked unhealthy (healing copies the version
    /// once it answers again); any other failure destroys the version
    /// everywhere and is returned.
    fn settle_mirrors(
        &self,
        v: &VersionName,
        results: Vec<(&Arc<Member>, Result<(), HsmError>)>,
    ) -> Result<(), HsmError> {
        let mut failed = None;
        for (mirror, result) in results {
            match result {
                Ok(()) => {}
                Err(error) if error.is_member_failure() => {
                    mirror.mark_unhealthy();
                    tracing::warn!(cluster = %self.name, member = mirror.label(), %error, "mirror missed a write; it will be resynced");
                }
                Err(error) => {
                    tracing::error!(cluster = %self.name, member = mirror.label(), %error, "replication failed; rolling back");
                    failed.get_or_insert(error);
                }
            }
        }
        match failed {
            Some(error) => {
                self.destroy_version(v);
                Err(error)
            }
            None => Ok(()),
        }
    }

    /// Copies a version from `from` to `to`, wrapped under the cluster key.
    pub fn replicate(from: &Member, to: &Member, v: &VersionName, public: Option<&PublicKey>) -> Result<(), HsmError> {
        let blobs = Self::wrap_version(from, v)?;
        Self::install(to, v, &blobs, public)
    }

    /// The secret or private key of a version, wrapped on `from` under the
    /// cluster key (AES key wrap with padding), by role.
    fn wrap_version(from: &Member, v: &VersionName) -> Result<Wrapped, HsmError> {
        let wrapping = from.cluster_key()?;
        let mut blobs = Vec::new();
        for role in v.roles().iter().filter(|r| **r != ObjectRole::Public) {
            let key = from.find(&v.id, *role)?;
            let blob = from.with_session(|s| {
                s.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key)
                    .context(|| format!("wrapping {} on '{}'", v.label, from.label()))
            })?;
            blobs.push((*role, Zeroizing::new(blob)));
        }
        Ok(blobs)
    }

    /// Unwraps a version's blobs on `to` and creates its public half.
    fn install(to: &Member, v: &VersionName, blobs: &Wrapped, public: Option<&PublicKey>) -> Result<(), HsmError> {
        for role in v.roles() {
            let handle = match role {
                ObjectRole::Secret | ObjectRole::Private => {
                    let blob = blobs
                        .iter()
                        .find(|(r, _)| r == role)
                        .map(|(_, b)| b)
                        .ok_or_else(|| HsmError::Unexpected(format!("{} was not wrapped", v.label)))?;
                    let unwrapping = to.cluster_key()?;
                    to.with_session(|s| {
                        let staged = s
                            .unwrap_key(&Mechanism::AesKeyWrapPad, unwrapping, blob, &templates::unwrapped(v, *role))
                            .context(|| format!("unwrapping {} on '{}'", v.label, to.label()))?;
                        persist(s, staged, &v.label)
                    })?
                }
                ObjectRole::Public => {
                    let public =
                        public.ok_or_else(|| HsmError::Unexpected(format!("{} has no public key", v.label)))?;
                    to.with_session(|s| {
                        let staged = s
                            .create_object(&templates::public_copy(v, public))
                            .context(|| format!("copying public key {} to '{}'", v.label, to.label()))?;
                        persist(s, staged, &v.label)
                    })?
                }
            };
            to.remember(&v.id, *role, handle);
        }
        Ok(())
    }

    /// Destroys every token object carrying `cka_id` on every member (what
    /// an unacknowledged creation left: any role, any class), and forgets
    /// cached handles of `id`. Returns how many objects were destroyed and
    /// how many members could not be cleared (they did not answer, or
    /// refused to destroy).
    pub fn destroy_objects_with_id(&self, id: &[u8; 16], cka_id: &[u8]) -> (usize, usize) {
        let (mut destroyed, mut unreached) = (0, 0);
        for member in &self.members {
            let cleared = member.with_session(|s| {
                let found = s.find_objects(&[Attribute::Id(cka_id.to_vec())]).context(|| "C_FindObjects".into())?;
                for handle in &found {
                    s.destroy_object(*handle).context(|| "C_DestroyObject".into())?;
                }
                Ok(found.len())
            });
            member.forget(id);
            match cleared {
                Ok(0) => {}
                Ok(n) => {
                    destroyed += n;
                    tracing::info!(member = member.label(), objects = n, "leftover objects destroyed");
                }
                Err(error) => {
                    unreached += 1;
                    tracing::warn!(member = member.label(), %error, "cannot destroy leftover objects");
                }
            }
        }
        (destroyed, unreached)
    }

    /// Destroys a version's objects on every member that has them; returns
    /// how many members still hold some of them.
    pub fn destroy_version(&self, v: &VersionName) -> usize {
        let mut failures = 0;
        for member in &self.members {
            for role in v.roles() {
                let result = member.find(&v.id, *role).and_then(|handle| {
                    member.with_session(|s| s.destroy_object(handle).context(|| "C_DestroyObject".into()))
                });
                match result {
                    Ok(()) | Err(HsmError::ObjectMissing(..)) => {}
                    Err(error) => {
                        failures += 1;
                        tracing::error!(member = member.label(), version = %v.label, %error, "cannot destroy object");
                    }
                }
            }
            member.forget(&v.id);
        }
        failures
    }
}

/// The mirrors' threads, joined in order; a thread that panicked counts as
/// a failed write.
fn joined<'a>(running: Vec<Writing<'a, '_>>) -> Vec<(&'a Arc<Member>, Result<(), HsmError>)> {
    running
        .into_iter()
        .map(|(m, thread)| {
            (m, thread.join().unwrap_or_else(|_| Err(HsmError::Unexpected("replication panicked".into()))))
        })
        .collect()
}

/// A version generated as session objects of one session, not yet on the
/// token (see [`super::persist`]).
struct Staged {
    /// The secret key, or the (public, private) pair.
    objects: StagedObjects,
    /// The public key of an asymmetric version.
    public: Option<PublicKey>,
}

enum StagedObjects {
    Secret(ObjectHandle),
    Pair(ObjectHandle, ObjectHandle),
}

impl Staged {
    /// The staged secret or private key, which mirrors receive wrapped.
    fn protected(&self) -> (ObjectRole, ObjectHandle) {
        match self.objects {
            StagedObjects::Secret(handle) => (ObjectRole::Secret, handle),
            StagedObjects::Pair(_, private) => (ObjectRole::Private, private),
        }
    }

    /// Stores the staged objects on `member`'s token and remembers them.
    fn store(self, s: &Session, member: &Member, v: &VersionName) -> Result<(), HsmError> {
        match self.objects {
            StagedObjects::Secret(staged) => {
                let handle = persist(s, staged, &v.label)?;
                member.remember(&v.id, ObjectRole::Secret, handle);
            }
            StagedObjects::Pair(public, private) => {
                let (public, private) = persist_pair(s, public, private, &v.label)?;
                member.remember(&v.id, ObjectRole::Public, public);
                member.remember(&v.id, ObjectRole::Private, private);
            }
        }
        Ok(())
    }

    /// Destroys the staged objects (the creation failed before storing).
    fn discard(self, s: &Session) {
        let handles = match self.objects {
            StagedObjects::Secret(handle) => vec![handle],
            StagedObjects::Pair(public, private) => vec![public, private],
        };
        for handle in handles {
            let _ = s.destroy_object(handle);
        }
    }
}

/// Generates a version's objects as session objects of `s` on `member`.
fn stage(s: &Session, member: &Member, v: &VersionName) -> Result<Staged, HsmError> {
    if v.spec.is_symmetric() {
        let handle = s
            .generate_key(&Mechanism::AesKeyGen, &templates::secret_key(v))
            .context(|| format!("generating {} on '{}'", v.label, member.label()))?;
        return Ok(Staged { objects: StagedObjects::Secret(handle), public: None });
    }
    let rsa = matches!(v.spec, KeySpec::Rsa2048 | KeySpec::Rsa3072);
    let mechanism = if rsa { Mechanism::RsaPkcsKeyPairGen } else { Mechanism::EccKeyPairGen };
    let (public_t, private_t) = templates::key_pair(v);
    let (public, private) = s
        .generate_key_pair(&mechanism, &public_t, &private_t)
        .context(|| format!("generating {} on '{}'", v.label, member.label()))?;
    let staged = Staged { objects: StagedObjects::Pair(public, private), public: None };
    match public_key(s, public, rsa) {
        Ok(key) => Ok(Staged { public: Some(key), ..staged }),
        Err(error) => {
            staged.discard(s);
            Err(error)
        }
    }
}

/// The public values of a generated key pair's public half.
fn public_key(s: &Session, public: ObjectHandle, rsa: bool) -> Result<PublicKey, HsmError> {
    if rsa {
        let (modulus, exponent) = rsa_public(s, public)?;
        return Ok(PublicKey::Rsa { modulus, exponent });
    }
    let attrs = s
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .context(|| "reading the EC public key".into())?;
    match attrs.as_slice() {
        [Attribute::EcParams(params), Attribute::EcPoint(point)] => {
            Ok(PublicKey::Ec { params: params.clone(), point: point.clone() })
        }
        _ => Err(HsmError::Unexpected("EC public key without params or point".into())),
    }
}

/// The staged secret or private key, wrapped in `s` under `member`'s
/// cluster key for the mirrors.
fn wrap_staged(s: &Session, member: &Member, v: &VersionName, staged: &Staged) -> Result<Wrapped, HsmError> {
    let wrapping = member.cluster_key()?;
    let (role, handle) = staged.protected();
    let blob = s
        .wrap_key(&Mechanism::AesKeyWrapPad, wrapping, handle)
        .context(|| format!("wrapping {} on '{}'", v.label, member.label()))?;
    Ok(vec![(role, Zeroizing::new(blob))])
}

/// The modulus and public exponent of an RSA public key object.
pub(super) fn rsa_public(s: &Session, public: ObjectHandle) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
    let attrs = s
        .get_attributes(public, &[AttributeType::Modulus, AttributeType::PublicExponent])
        .context(|| "reading the RSA public key".into())?;
    match attrs.as_slice() {
        [Attribute::Modulus(modulus), Attribute::PublicExponent(exponent)] => Ok((modulus.clone(), exponent.clone())),
        _ => Err(HsmError::Unexpected("RSA public key without modulus or exponent".into())),
    }
}
