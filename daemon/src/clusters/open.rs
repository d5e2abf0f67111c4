//! Clusters between the store and the HSMs: creating the managed SoftHSM
//! clusters, opening every cluster at start, reporting their status and
//! reconciling them against the store.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cryptoki_sys::{CKF_DECRYPT, CKF_ENCRYPT, CKM_AES_GCM, CKM_ECDSA};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{ClusterStatus, MemberHealth, MemberRole, MemberStatus};
use p11kms_proto::pkcs11::{CKM_P11KMS_ENVELOPE, MechanismInfo};

use crate::clusters::LiveCluster;
use crate::config::Config;
use crate::hsm::mechanism::{GENERATION_MECHANISMS, OPERATION_MECHANISMS};
use crate::hsm::softhsm::{self, SoftHsmDir};
use crate::hsm::{Cluster, HsmError, HsmModule, Member};
use crate::kms::KmsError;
use crate::kms::registry::Registry;
use crate::paths::StatePaths;
use crate::private_files::TokenPins;
use crate::store::{ClusterRecord, MemberRecord};

/// Library instances already loaded in this process, by the file loaded.
pub type Modules = HashMap<PathBuf, Arc<HsmModule>>;

/// The token label of member `index` of a managed cluster.
pub fn member_label(cluster: &str, index: u32) -> String {
    format!("{cluster}-{index}")
}

fn managed_module(
    paths: &StatePaths,
    config: &Config,
    cluster: &str,
    modules: &mut Modules,
) -> Result<Arc<HsmModule>, HsmError> {
    let dir = SoftHsmDir::new(&paths.cluster_dir(cluster));
    if let Some(module) = modules.get(&dir.library()) {
        return Ok(module.clone());
    }
    dir.prepare(&config.hsm.softhsm_module)?;
    let module = Arc::new(dir.load()?);
    modules.insert(dir.library(), module.clone());
    Ok(module)
}

/// A library of members the daemon does not manage, loaded once, with the
/// environment the configuration gives it.
fn external_module(
    config: &Config,
    cluster: &str,
    path: &Path,
    modules: &mut Modules,
) -> Result<Arc<HsmModule>, HsmError> {
    if let Some(module) = modules.get(path) {
        return Ok(module.clone());
    }
    let module = Arc::new(HsmModule::load_with_environment(path, &config.module_environment(cluster, path))?);
    modules.insert(path.to_owned(), module.clone());
    Ok(module)
}

/// Adopts a `[[clusters]]` entry of the configuration: existing tokens of
/// any PKCS#11 module, found by label and logged in with the configured
/// PIN (copied into the secrets directory, where later starts read it, as
/// for managed tokens). The first member gets a cluster key (or keeps the
/// one it has) and shares it with the others. Nothing is written to the
/// store here.
pub fn adopt_external(
    paths: &StatePaths,
    config: &Config,
    external: &crate::config::ExternalClusterConfig,
    now: Timestamp,
    modules: &mut Modules,
) -> Result<(ClusterRecord, Arc<LiveCluster>), KmsError> {
    let name = &external.name;
    let mut members = Vec::new();
    let mut records = Vec::new();
    for (index, m) in external.members.iter().enumerate() {
        let index = index as u32;
        let module = external_module(config, name, &m.module, modules)?;
        let pin = crate::private_files::read_private(&m.pin_file).map_err(HsmError::from)?;
        let pins = TokenPins::new(&paths.secrets_dir(), name, index);
        pins.store_user_pin(&pin).map_err(HsmError::from)?;
        let member = Member::connect(index, &m.token_label, None, module, pin)?;
        records.push(MemberRecord {
            index,
            module: m.module.display().to_string(),
            managed: false,
            token_label: m.token_label.clone(),
            serial: member.serial().to_owned(),
            role: if index == 0 { MemberRole::Primary } else { MemberRole::Mirror },
            in_sync: true,
        });
        members.push(Arc::new(member));
    }
    let cluster = Cluster::new(name, members, 0)?;
    if cluster.primary().cluster_key().is_err() {
        cluster.create_cluster_key()?;
    } else {
        let primary = cluster.primary().clone();
        for mirror in cluster.mirrors() {
            if mirror.cluster_key().is_err() {
                Cluster::share_cluster_key(&primary, mirror)?;
            }
        }
    }
    tracing::info!(cluster = %name, members = records.len(), "cluster of configured tokens adopted");
    let live = live(cluster, config)?;
    Ok((ClusterRecord { name: name.clone(), created_at: now, members: records, library: None }, live))
}

/// Creates a managed cluster of `1 + mirrors` SoftHSM tokens: its own
/// SoftHSM instance, tokens initialized with generated PINs, and the
/// cluster key on every member. Nothing is written to the store here.
pub fn create_managed(
    paths: &StatePaths,
    config: &Config,
    name: &str,
    mirrors: u32,
    now: Timestamp,
    modules: &mut Modules,
) -> Result<(ClusterRecord, Arc<LiveCluster>), KmsError> {
    let dir = paths.cluster_dir(name);
    if dir.exists() {
        // A directory without a store record is what a start interrupted
        // during creation leaves; it never held a key.
        tracing::warn!(cluster = name, "removing the remains of an unfinished cluster creation");
        std::fs::remove_dir_all(&dir).map_err(HsmError::from)?;
    }
    let module = managed_module(paths, config, name, modules)?;
    let mut members = Vec::new();
    let mut records = Vec::new();
    for index in 0..=mirrors {
        let label = member_label(name, index);
        let pins = TokenPins::new(&paths.secrets_dir(), name, index);
        let (so_pin, user_pin) = pins.generate().map_err(HsmError::from)?;
        let serial = softhsm::init_token(&module, &label, &so_pin, &user_pin)?;
        let member = Member::connect(index, &label, Some(&serial), module.clone(), user_pin)?;
        members.push(Arc::new(member));
        records.push(MemberRecord {
            index,
            module: config.hsm.softhsm_module.display().to_string(),
            managed: true,
            token_label: label,
            serial,
            role: if index == 0 { MemberRole::Primary } else { MemberRole::Mirror },
            in_sync: true,
        });
    }
    let cluster = Cluster::new(name, members, 0)?;
    cluster.create_cluster_key()?;
    tracing::info!(cluster = name, members = mirrors + 1, "cluster created");
    let live = live(cluster, config)?;
    Ok((ClusterRecord { name: name.to_owned(), created_at: now, members: records, library: None }, live))
}

/// Opens a cluster the store knows: loads its library, finds and logs in
/// to every member. A member that cannot be opened (its token is gone) is
/// left out with an error in the log, so the others keep serving; when that
/// is the primary, the first member holding every version in `expected`
/// takes its place (the caller records the new roles).
pub fn open(
    paths: &StatePaths,
    config: &Config,
    record: &ClusterRecord,
    modules: &mut Modules,
    expected: &HashSet<[u8; 16]>,
) -> Result<Arc<LiveCluster>, KmsError> {
    let mut members = Vec::new();
    let mut primary = None;
    for m in &record.members {
        let module = if m.managed {
            managed_module(paths, config, record.library_dir(), modules)?
        } else {
            external_module(config, &record.name, Path::new(&m.module), modules)?
        };
        let pin = TokenPins::new(&paths.secrets_dir(), &record.name, m.index).user_pin().map_err(HsmError::from)?;
        match Member::connect(m.index, &m.token_label, Some(&m.serial), module, pin) {
            Ok(member) => {
                if m.role == MemberRole::Primary {
                    primary = Some(members.len());
                }
                members.push(Arc::new(member));
            }
            Err(error) => tracing::error!(
                cluster = %record.name,
                member = %m.token_label,
                %error,
                "member cannot be opened; the cluster serves without it until it is replaced"
            ),
        }
    }
    if members.is_empty() {
        return Err(HsmError::NoHealthyMember(record.name.clone()).into());
    }
    let primary = primary.unwrap_or_else(|| {
        let in_sync = members.iter().position(|m| {
            m.version_ids().is_ok_and(|ids| expected.is_subset(&ids.into_iter().collect::<HashSet<_>>()))
        });
        tracing::warn!(cluster = %record.name, "the primary cannot be opened: an in-sync mirror takes its place");
        in_sync.unwrap_or(0)
    });
    live(Cluster::new(&record.name, members, primary)?, config)
}

fn live(cluster: Cluster, config: &Config) -> Result<Arc<LiveCluster>, KmsError> {
    cluster.set_spread(config.hsm.spread_operations);
    // Session keys belong to clients of a previous run, which are gone.
    for member in cluster.members() {
        match crate::hsm::session_keys::sweep(member) {
            Ok(0) => {}
            Ok(n) => tracing::info!(member = member.label(), removed = n, "stale session keys removed"),
            Err(error) => tracing::warn!(member = member.label(), %error, "cannot sweep stale session keys"),
        }
    }
    let wanted: Vec<u64> = OPERATION_MECHANISMS.iter().chain(GENERATION_MECHANISMS).copied().collect();
    let mut mechanisms = cluster.primary().mechanisms(&wanted)?;
    // Hashing ECDSA the HSM lacks, emulated over its plain ECDSA
    // (data::emulated), with ECDSA's sizes and flags.
    if let Some(ecdsa) = mechanisms.iter().find(|m| m.ty == CKM_ECDSA).cloned() {
        for ty in crate::hsm::mechanism::HASHING_ECDSA {
            if !mechanisms.iter().any(|m| m.ty == *ty) {
                mechanisms.push(MechanismInfo { ty: *ty, ..ecdsa.clone() });
            }
        }
    }
    // The daemon's own envelope mechanism, on AES keys, when the HSM does
    // AES-GCM (which it runs on).
    if mechanisms.iter().any(|m| m.ty == CKM_AES_GCM) {
        mechanisms.push(MechanismInfo {
            ty: CKM_P11KMS_ENVELOPE,
            min_key_size: 16,
            max_key_size: 32,
            flags: CKF_ENCRYPT | CKF_DECRYPT,
        });
    }
    Ok(Arc::new(LiveCluster { cluster, mechanisms }))
}

/// The version ids the store places in a cluster: versions with material
/// that are not recorded lost.
pub fn expected_versions(registry: &Registry, cluster: &str) -> HashSet<[u8; 16]> {
    let instances: HashSet<&str> =
        registry.instances().filter(|i| i.cluster.as_deref() == Some(cluster)).map(|i| i.name.as_str()).collect();
    registry
        .keys()
        .filter(|k| instances.contains(k.record.instance.as_str()))
        .flat_map(|k| k.versions.iter().filter(|v| v.record.has_material && v.lost.is_none()).map(|v| v.uuid))
        .collect()
}

/// What the store knows of a cluster's objects, copied out of the registry
/// so that members are read without holding it: the versions it places
/// there, and the creation intents of the cluster.
#[derive(Debug, Default)]
pub struct Known {
    /// Versions the store places in the cluster.
    pub expected: HashSet<[u8; 16]>,
    /// Intents by object id: label, and whether a writer still works on it
    /// (`None` once the store owns what it made).
    intents: HashMap<[u8; 16], (String, Option<bool>)>,
}

impl Known {
    /// A copy of what `registry` knows of `cluster`.
    pub fn of(registry: &Registry, cluster: &str) -> Self {
        let mut intents = HashMap::new();
        for (intent, in_flight) in registry.intents_of(cluster) {
            if let Some(id) = hex::decode(&intent.object_id).ok().and_then(|b| <[u8; 16]>::try_from(b).ok()) {
                let state = (!registry.owns(intent)).then_some(in_flight);
                intents.insert(id, (intent.label.clone(), state));
            }
        }
        Self { expected: expected_versions(registry, cluster), intents }
    }
}

/// What the objects on one member are, against the store and the
/// creation intents of its cluster.
#[derive(Debug, Default)]
pub struct Sorted {
    /// Expected versions the member lacks.
    pub missing: Vec<[u8; 16]>,
    /// Objects neither the store nor an intent knows.
    pub unexpected: Vec<[u8; 16]>,
    /// Leftovers of unacknowledged creations (an intent nobody works on).
    pub orphans: Vec<([u8; 16], String)>,
}

/// Sorts a member's version ids: what it lacks, what nobody knows, and the
/// leftovers of creations that were never committed. Objects of creations
/// still at work (an intent in flight) are neither.
pub fn sort_holdings(known: &Known, held: &HashSet<[u8; 16]>) -> Sorted {
    let mut sorted = Sorted { missing: known.expected.difference(held).copied().collect(), ..Sorted::default() };
    for id in held.difference(&known.expected) {
        match known.intents.get(id) {
            Some((_, Some(true))) => {}
            Some((label, Some(false))) => sorted.orphans.push((*id, label.clone())),
            // No intent, or one whose creation committed (the version is
            // lost, or its key went meanwhile): nobody announced it.
            Some((_, None)) | None => sorted.unexpected.push(*id),
        }
    }
    sorted.missing.sort_unstable();
    sorted.unexpected.sort_unstable();
    sorted.orphans.sort();
    sorted
}

/// `cluster status`: every member's role, health (out of service when the
/// daemon does not use it), object count, what it lacks, what nobody
/// knows and the leftovers of unacknowledged creations on it.
pub fn status(live: &LiveCluster, record: &ClusterRecord, known: &Known, now: Timestamp) -> ClusterStatus {
    let expected = &known.expected;
    let primary_index = live.cluster.primary().index();
    let members = record
        .members
        .iter()
        .map(|stored| {
            let Some(member) = live.cluster.members().iter().find(|m| m.index() == stored.index) else {
                // Left out at start: its token could not be opened.
                return MemberStatus {
                    index: stored.index,
                    token_label: stored.token_label.clone(),
                    serial: stored.serial.clone(),
                    module: stored.module.clone(),
                    role: MemberRole::Mirror,
                    health: MemberHealth::Unreachable,
                    in_sync: false,
                    object_count: 0,
                    missing_versions: expected.len() as u64,
                    last_sync: None,
                    unexpected_objects: 0,
                    orphans: 0,
                };
            };
            let found = member.version_ids();
            let (health, count, sorted) = match &found {
                Ok(ids) => {
                    let ids: HashSet<[u8; 16]> = ids.iter().copied().collect();
                    let health = if member.is_healthy() { MemberHealth::Healthy } else { MemberHealth::OutOfService };
                    (health, ids.len() as u64, sort_holdings(known, &ids))
                }
                Err(error) => {
                    tracing::warn!(member = member.label(), %error, "member did not answer");
                    let all = Sorted { missing: expected.iter().copied().collect(), ..Sorted::default() };
                    (MemberHealth::Unreachable, 0, all)
                }
            };
            let missing = sorted.missing.len() as u64;
            let in_sync = health == MemberHealth::Healthy && missing == 0 && sorted.unexpected.is_empty();
            if in_sync {
                member.synced_at(now.unix());
            }
            MemberStatus {
                index: member.index(),
                token_label: member.label().to_owned(),
                serial: member.serial().to_owned(),
                module: member.module_path(),
                role: if member.index() == primary_index { MemberRole::Primary } else { MemberRole::Mirror },
                health,
                in_sync,
                object_count: count,
                missing_versions: missing,
                last_sync: member.last_sync().map(Timestamp),
                unexpected_objects: sorted.unexpected.len() as u64,
                orphans: sorted.orphans.len() as u64,
            }
        })
        .collect();
    ClusterStatus {
        cluster_name: record.name.clone(),
        expected_objects: expected.len() as u64,
        members,
        checked_at: now,
    }
}

/// Compares each cluster's primary with the store at start and reports
/// the differences. Leftovers of unacknowledged creations (recognised by
/// their creation intents) are counted apart: the sweep that follows the
/// start destroys them. Nothing else is deleted: an operator decides.
pub fn reconcile(live: &LiveCluster, registry: &Registry, cluster: &str) {
    let known = Known::of(registry, cluster);
    let expected = &known.expected;
    let primary = live.cluster.primary();
    match primary.version_ids() {
        Ok(found) => {
            let found: HashSet<[u8; 16]> = found.into_iter().collect();
            let sorted = sort_holdings(&known, &found);
            if sorted.missing.is_empty() && sorted.unexpected.is_empty() {
                tracing::info!(
                    cluster,
                    versions = expected.len(),
                    leftovers = sorted.orphans.len(),
                    "primary matches the store"
                );
            }
            for version in sorted.missing.iter().map(|id| uuid::Uuid::from_bytes(*id)) {
                tracing::error!(cluster, %version, "key version in the store is missing on the primary");
            }
            if !sorted.unexpected.is_empty() {
                let shown: Vec<String> =
                    sorted.unexpected.iter().take(20).map(|id| uuid::Uuid::from_bytes(*id).to_string()).collect();
                tracing::warn!(
                    cluster,
                    count = sorted.unexpected.len(),
                    first = %shown.join(","),
                    "objects on the primary are unknown to the store and to every creation intent (left in place; `cluster verify` lists them)"
                );
            }
        }
        Err(error) => tracing::error!(cluster, %error, "cannot reconcile: primary did not answer"),
    }
}
