//! `cluster restore`: a new cluster built from a mirror image while the
//! daemon serves.
//!
//! The image is read back authenticated first (`images`: manifest, and its
//! MAC verified inside an HSM), and every version in it is checked against
//! the store before a token is made: the store must know the version (one
//! of a key deleted since is left out), with the same name, spec and usage,
//! and the public key the image gives must be the store's. Then N ≥ 2
//! managed tokens are initialized in the SoftHSM library instance of a
//! loaded managed cluster (one process cannot load a new SoftHSM
//! configuration once it runs threads; see docs/cluster.md), the new
//! cluster gets its own cluster key, and each version is unwrapped under
//! the root key on its primary — a private key is checked to be the other
//! half of the image's public key, inside the HSM — and replicated to its
//! mirrors. Restoring into an existing cluster is refused.
//!
//! Any failure after the tokens were made removes them again, with their
//! PIN files: a failed restore leaves nothing behind. A wrapped key that
//! does not unwrap is reported as a damaged image.

use p11kms_proto::admin::ClusterStatus;

use super::backup_key::{self, Installed};
use super::images::{self, ImageVersion, read_authenticated};
use super::members::{commit_cluster, current_status, discard_managed_cluster, new_managed_cluster};
use crate::hsm::{Cluster, Member, PublicKey, VersionName};
use crate::kms::KmsError;
use crate::kms::keys::version_name;
use crate::service::Service;

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::InvalidParameter(message.into())
}

/// One version to restore: as the store names it, its public key as the
/// store keeps it, and the image's wrapped key.
struct Planned {
    name: VersionName,
    public: Option<PublicKey>,
    wrapped: Vec<u8>,
}

/// `cluster restore --image ID --name NEW --members N`.
pub fn restore(service: &Service, image_id: &str, name: &str, members: u32) -> Result<ClusterStatus, KmsError> {
    let read = read_authenticated(service, image_id)?;
    let writes = service.kms.writer()?;
    let plan = plan(service, image_id, &read.file.versions)?;
    let (cluster, record) = new_managed_cluster(service, name, members, &read.file.cluster)?;
    if let Err(error) = fill(service, image_id, &cluster, &plan) {
        tracing::error!(cluster = name, image = image_id, %error, "restore failed; removing what it made");
        discard_managed_cluster(service, Some(cluster), &record, members);
        return Err(error);
    }
    if let Err(error) = commit_cluster(service, cluster, &record, &read.file.cluster) {
        discard_managed_cluster(service, None, &record, members);
        return Err(error);
    }
    drop(writes);
    tracing::info!(cluster = name, image = image_id, versions = plan.len(), "cluster restored from a mirror image");
    current_status(service, name)
}

/// Checks every version of the image against the store; returns what to
/// restore. Refuses an image that disagrees with the store.
fn plan(service: &Service, image_id: &str, versions: &[ImageVersion]) -> Result<Vec<Planned>, KmsError> {
    let registry = service.kms.registry()?;
    let mut plan = Vec::new();
    for version in versions {
        let decoded =
            images::decode_version(version).map_err(|why| invalid(format!("image {image_id} is damaged: {why}")))?;
        let id = decoded.id;
        let Some((key, stored)) = registry.version_by_uuid(&id) else {
            tracing::warn!(image = image_id, version = %version.label, "the store no longer knows this version: not restored");
            continue;
        };
        if !stored.record.has_material {
            tracing::warn!(image = image_id, version = %version.label, "the store holds no material for this version: not restored");
            continue;
        }
        let name = version_name(&key.record, stored);
        if (name.label.as_str(), name.spec, name.usage) != (version.label.as_str(), version.spec, version.usage) {
            return Err(invalid(format!(
                "image {image_id} disagrees with the store: version {} is {} {} {} there, {} {} {} in the image",
                uuid::Uuid::from_bytes(id),
                name.label,
                name.spec,
                name.usage,
                version.label,
                version.spec,
                version.usage
            )));
        }
        if decoded.public != stored.public_key {
            return Err(invalid(format!(
                "image {image_id} disagrees with the store: the public key of {} is not the one the store keeps",
                name.label
            )));
        }
        plan.push(Planned { name, public: decoded.public, wrapped: decoded.wrapped });
    }
    Ok(plan)
}

/// Unwraps every planned version on the new cluster's primary and
/// replicates it to its mirrors.
fn fill(service: &Service, image_id: &str, cluster: &Cluster, plan: &[Planned]) -> Result<(), KmsError> {
    let primary = cluster.primary().clone();
    for planned in plan {
        unwrap_on(service, image_id, &primary, planned)?;
        cluster.replicate_to_mirrors(&planned.name, planned.public.as_ref())?;
    }
    Ok(())
}

/// Unwraps one version on `member` under the root key, creates its public
/// half from the store's values, and checks inside the HSM that the two
/// halves belong together.
fn unwrap_on(service: &Service, image_id: &str, member: &Member, planned: &Planned) -> Result<(), KmsError> {
    let v = &planned.name;
    let secrets = service.paths.secrets_dir();
    match backup_key::install(&secrets, member, v, &planned.wrapped, planned.public.as_ref())? {
        Installed::Done => Ok(()),
        Installed::DoesNotUnwrap => Err(invalid(format!(
            "image {image_id} is damaged: the wrapped key of {} does not unwrap under the backup root key",
            v.label
        ))),
        Installed::PairMismatch => Err(invalid(format!(
            "image {image_id} is refused: the public key of {} does not belong to the private key the image carries",
            v.label
        ))),
    }
}
