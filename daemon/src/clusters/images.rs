//! Mirror images of a cluster, and restoring one into a new cluster.
//!
//! An image is every key version the store places in the cluster, each
//! secret or private key wrapped inside an HSM member (AES key wrap with
//! padding, RFC 5649) under the backup root key ([`backup_root_key`]), with
//! the public halves in clear. The root key enters the member only as a
//! session object for the duration of the image, so key material never
//! exists outside an HSM in clear, and a restore needs no token files: any
//! member that can unwrap under the root key rebuilds the versions.
//!
//! Files: `<state>/images/<image id>.json` and, beside it, the manifest
//! `<image id>.sha256` (the SHA-256 of the image file), checked whenever
//! the image is listed or used. An image is taken under the store's writer
//! lock, so no key is created, rotated or destroyed while it is read: it
//! is consistent. The newest `images.keep` images of each cluster are kept.
//!
//! A restore builds a new cluster of N ≥ 2 managed tokens while the daemon
//! serves: the tokens are initialized in the SoftHSM library instance of a
//! loaded managed cluster (one process cannot load a new SoftHSM
//! configuration once it runs threads; see docs/cluster.md), the new
//! cluster gets its own cluster key, the versions are unwrapped on its
//! primary and replicated to its mirrors. Restoring into an existing
//! cluster is refused. `instance attach-cluster` then points an instance at
//! it; versions the image lacks (created after it) show in `cluster verify`.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{ClusterStatus, ImageInfo, InstanceInfo, KeySpec, KeyUsage};

use super::open::{expected_versions, status};
use crate::hsm::error::Context;
use crate::hsm::persist::persist;
use crate::hsm::{HsmError, Member, ObjectRole, PublicKey, VersionName, templates};
use crate::kms::KmsError;
use crate::private_files::backup_root_key;
use crate::service::Service;

/// Version of the image format.
const FORMAT: u32 = 1;

/// One key version in an image.
#[derive(Debug, Serialize, Deserialize)]
struct ImageVersion {
    /// `CKA_ID`, hex.
    id: String,
    /// `KEY_ID/VERSION_ID`.
    label: String,
    spec: KeySpec,
    usage: KeyUsage,
    /// The secret or private key, wrapped under the backup root key, base64.
    wrapped: String,
    /// The public key (JSON of `hsm::PublicKey`), for asymmetric versions.
    public: Option<String>,
}

/// An image file.
#[derive(Debug, Serialize, Deserialize)]
struct ImageFile {
    format: u32,
    image_id: String,
    cluster: String,
    created_at: Timestamp,
    versions: Vec<ImageVersion>,
}

fn images_dir(service: &Service) -> PathBuf {
    service.paths.root().join("images")
}

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::InvalidParameter(message.into())
}

/// The backup root key as an HSM session object of `s`.
fn root_key_object(service: &Service, s: &Session) -> Result<ObjectHandle, KmsError> {
    let key = backup_root_key(&service.paths.secrets_dir()).map_err(HsmError::from)?;
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Value(key.to_vec()),
    ];
    Ok(s.create_object(&template).context(|| "importing the backup root key".into())?)
}

/// `cluster image create NAME`.
pub fn create(service: &Service, name: &str) -> Result<ImageInfo, KmsError> {
    let writes = service.kms.writer()?;
    let live = service.clusters.get(name)?;
    let expected = super::sync::expected_names(&service.kms, name)?;
    let now = service.kms.clock.now();
    let image_id = format!("img-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    // One member holding everything does the wrapping, root key and all.
    let mut last = HsmError::NoHealthyMember(name.to_owned());
    let mut versions = None;
    for member in live.cluster.candidates() {
        match wrap_all(service, member, &expected) {
            Ok(wrapped) => {
                versions = Some(wrapped);
                break;
            }
            Err(KmsError::Hsm(error)) => last = error,
            Err(other) => return Err(other),
        }
    }
    let versions = versions.ok_or(KmsError::Hsm(last))?;
    let file =
        ImageFile { format: FORMAT, image_id: image_id.clone(), cluster: name.to_owned(), created_at: now, versions };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| KmsError::Internal(e.to_string()))?;
    let dir = images_dir(service);
    crate::paths::create_private_dir(&dir).map_err(HsmError::from)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    crate::private_files::write_private(&dir.join(format!("{image_id}.json")), &bytes).map_err(HsmError::from)?;
    crate::private_files::write_private(&dir.join(format!("{image_id}.sha256")), digest.as_bytes())
        .map_err(HsmError::from)?;
    drop(writes);
    tracing::info!(cluster = name, image = %image_id, versions = file.versions.len(), "mirror image taken");
    prune(service, name)?;
    Ok(ImageInfo {
        image_id,
        cluster_name: name.to_owned(),
        creation_date: now,
        versions: file.versions.len() as u64,
        sha256: digest,
        intact: true,
    })
}

/// Wraps every expected version on `member`.
fn wrap_all(
    service: &Service,
    member: &Member,
    expected: &[(VersionName, Option<PublicKey>)],
) -> Result<Vec<ImageVersion>, KmsError> {
    let handles: Vec<ObjectHandle> = expected
        .iter()
        .map(|(v, _)| member.find(&v.id, if v.spec.is_symmetric() { ObjectRole::Secret } else { ObjectRole::Private }))
        .collect::<Result<_, _>>()?;
    member
        .with_session(|s| {
            let root = root_key_object(service, s).map_err(|e| HsmError::Unexpected(e.to_string()))?;
            let result = expected
                .iter()
                .zip(&handles)
                .map(|((v, public), handle)| {
                    let wrapped = s
                        .wrap_key(&Mechanism::AesKeyWrapPad, root, *handle)
                        .context(|| format!("wrapping {} for the image", v.label))?;
                    Ok(ImageVersion {
                        id: hex::encode(v.id),
                        label: v.label.clone(),
                        spec: v.spec,
                        usage: v.usage,
                        wrapped: STANDARD.encode(wrapped),
                        public: public.as_ref().map(PublicKey::to_json),
                    })
                })
                .collect::<Result<Vec<_>, HsmError>>();
            let _ = s.destroy_object(root);
            result
        })
        .map_err(KmsError::from)
}

/// Reads an image, checking it against its manifest.
fn read(service: &Service, image_id: &str) -> Result<(ImageFile, String), KmsError> {
    if !image_id.starts_with("img-") || !image_id[4..].chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(KmsError::NotFound { what: "image", name: image_id.to_owned() });
    }
    let dir = images_dir(service);
    let bytes = std::fs::read(dir.join(format!("{image_id}.json")))
        .map_err(|_| KmsError::NotFound { what: "image", name: image_id.to_owned() })?;
    let manifest = std::fs::read_to_string(dir.join(format!("{image_id}.sha256"))).unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&bytes));
    if manifest.trim() != digest {
        return Err(invalid(format!("image {image_id} does not match its SHA-256 manifest: it is damaged")));
    }
    let file: ImageFile =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("image {image_id} does not parse: {e}")))?;
    if file.format != FORMAT {
        return Err(invalid(format!("image {image_id} has format {}, this daemon reads {FORMAT}", file.format)));
    }
    Ok((file, digest))
}

/// `cluster image list [NAME]`, oldest first.
pub fn list(service: &Service, cluster: Option<&str>) -> Result<Vec<ImageInfo>, KmsError> {
    let Ok(entries) = std::fs::read_dir(images_dir(service)) else {
        return Ok(Vec::new());
    };
    let mut images = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(image_id) = file_name.strip_suffix(".json") else { continue };
        let info = match read(service, image_id) {
            Ok((file, sha256)) => ImageInfo {
                image_id: file.image_id,
                cluster_name: file.cluster,
                creation_date: file.created_at,
                versions: file.versions.len() as u64,
                sha256,
                intact: true,
            },
            Err(_) => ImageInfo {
                image_id: image_id.to_owned(),
                cluster_name: String::new(),
                creation_date: Timestamp(0),
                versions: 0,
                sha256: String::new(),
                intact: false,
            },
        };
        if cluster.is_none_or(|c| c == info.cluster_name || !info.intact) {
            images.push(info);
        }
    }
    images.sort_by(|a, b| (a.creation_date, &a.image_id).cmp(&(b.creation_date, &b.image_id)));
    Ok(images)
}

/// Keeps the newest `images.keep` intact images of `cluster`.
fn prune(service: &Service, cluster: &str) -> Result<(), KmsError> {
    let images: Vec<ImageInfo> = list(service, Some(cluster))?.into_iter().filter(|i| i.intact).collect();
    let keep = service.config.images.keep as usize;
    let dir = images_dir(service);
    for old in images.iter().take(images.len().saturating_sub(keep)) {
        for suffix in ["json", "sha256"] {
            let _ = std::fs::remove_file(dir.join(format!("{}.{suffix}", old.image_id)));
        }
        tracing::info!(cluster, image = %old.image_id, "mirror image retired");
    }
    Ok(())
}

/// Takes the daily image of every cluster whose last image is older than
/// the last midnight of the daemon's clock (`images.daily`).
pub fn take_due(service: &Service) {
    if !service.config.images.daily {
        return;
    }
    let now = service.kms.clock.now();
    let midnight = Timestamp(now.unix() - now.unix().rem_euclid(86_400));
    for name in service.clusters.names() {
        let last =
            list(service, Some(&name)).ok().and_then(|l| l.iter().filter(|i| i.intact).map(|i| i.creation_date).max());
        if last.is_some_and(|t| t >= midnight) {
            continue;
        }
        if let Err(error) = create(service, &name) {
            tracing::error!(cluster = %name, %error, "scheduled mirror image failed");
        }
    }
}

/// `cluster restore --image ID --name NEW --members N`.
pub fn restore(service: &Service, image_id: &str, name: &str, members: u32) -> Result<ClusterStatus, KmsError> {
    let (file, _) = read(service, image_id)?;
    let writes = service.kms.writer()?;
    let (cluster, record) = super::members::new_managed_cluster(service, name, members, &file.cluster)?;
    let primary = cluster.primary().clone();
    let mut restored = Vec::new();
    for version in &file.versions {
        let (v, public) = version_of(version)?;
        unwrap_on(service, &primary, version, &v, public.as_ref())?;
        cluster.replicate_to_mirrors(&v, public.as_ref())?;
        restored.push(v.label.clone());
    }
    super::members::commit_cluster(service, cluster, &record, &file.cluster)?;
    drop(writes);
    tracing::info!(cluster = name, image = image_id, versions = restored.len(), "cluster restored from a mirror image");
    let live = service.clusters.get(name)?;
    let registry = service.kms.registry()?;
    Ok(status(&live, &record, &expected_versions(&registry, name), service.kms.clock.now()))
}

/// The HSM name and public key of an image version.
fn version_of(version: &ImageVersion) -> Result<(VersionName, Option<PublicKey>), KmsError> {
    let id: [u8; 16] = hex::decode(&version.id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid(format!("image version {} has a bad id", version.label)))?;
    let public = match &version.public {
        Some(json) => {
            Some(PublicKey::from_json(json).map_err(|e| invalid(format!("public key of {}: {e}", version.label)))?)
        }
        None => None,
    };
    Ok((VersionName { id, label: version.label.clone(), spec: version.spec, usage: version.usage }, public))
}

/// Unwraps one version on `member` under the root key, and creates its
/// public half from the image's values.
fn unwrap_on(
    service: &Service,
    member: &Member,
    version: &ImageVersion,
    v: &VersionName,
    public: Option<&PublicKey>,
) -> Result<(), KmsError> {
    let wrapped =
        STANDARD.decode(&version.wrapped).map_err(|_| invalid(format!("image version {} is not base64", v.label)))?;
    let role = if v.spec.is_symmetric() { ObjectRole::Secret } else { ObjectRole::Private };
    let handle = member.with_session(|s| {
        let root = root_key_object(service, s).map_err(|e| HsmError::Unexpected(e.to_string()))?;
        let result = s
            .unwrap_key(&Mechanism::AesKeyWrapPad, root, &wrapped, &templates::unwrapped(v, role))
            .context(|| format!("unwrapping {} from the image", v.label));
        let _ = s.destroy_object(root);
        persist(s, result?, &v.label)
    })?;
    member.remember(&v.id, role, handle);
    if let Some(public) = public {
        let handle = member.with_session(|s| {
            let staged =
                s.create_object(&templates::public_copy(v, public)).context(|| format!("public key of {}", v.label))?;
            persist(s, staged, &v.label)
        })?;
        member.remember(&v.id, ObjectRole::Public, handle);
    }
    Ok(())
}

/// `instance attach-cluster INSTANCE CLUSTER`.
pub fn attach(service: &Service, instance: &str, cluster: &str) -> Result<InstanceInfo, KmsError> {
    let writes = service.kms.writer()?;
    if !service.clusters.contains(cluster) {
        return Err(KmsError::NotFound { what: "cluster", name: cluster.to_owned() });
    }
    let mut registry = service.kms.registry_mut()?;
    let mut record = registry.instance(instance)?.clone();
    if record.cluster.is_none() {
        return Err(invalid(format!("instance '{instance}' holds no keys in a cluster")));
    }
    record.cluster = Some(cluster.to_owned());
    service.kms.store.write(service.kms.clock.now(), |tx| tx.update_instance(&record))?;
    registry.put_instance(record.clone());
    let info = crate::kms::instances::info(&registry, &record);
    drop(registry);
    drop(writes);
    tracing::warn!(instance, cluster, "instance attached to another cluster");
    Ok(info)
}

/// What a restore reads from the bytes of an image file, short of the
/// manifest check and the HSM: the JSON, its format, and each version's
/// id, public key and wrapped material. Returns the number of versions.
/// The entry point of the `image_manifest` fuzz target (`docs/fuzzing.md`):
/// the image types stay private.
pub fn parse_image(bytes: &[u8]) -> Result<usize, KmsError> {
    let file: ImageFile =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("the image does not parse: {e}")))?;
    if file.format != FORMAT {
        return Err(invalid(format!("the image has format {}, this daemon reads {FORMAT}", file.format)));
    }
    for version in &file.versions {
        version_of(version)?;
        STANDARD
            .decode(&version.wrapped)
            .map_err(|_| invalid(format!("image version {} is not base64", version.label)))?;
    }
    Ok(file.versions.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn image(version: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "format": FORMAT,
            "image_id": "img-0123456789ab",
            "cluster": "hsm1",
            "created_at": "2026-12-01T00:00:00Z",
            "versions": [version],
        }))
        .expect("json")
    }

    fn version() -> serde_json::Value {
        serde_json::json!({
            "id": "00112233445566778899aabbccddeeff",
            "label": "key-1/v-1",
            "spec": "EC_P256",
            "usage": "SIGN/VERIFY",
            "wrapped": "AQID",
            "public": r#"{"Ec":{"params":"06082a8648ce3d030107","point":"0401"}}"#,
        })
    }

    #[test]
    fn parse_image_reads_what_a_restore_reads_and_refuses_the_rest() {
        assert_eq!(parse_image(&image(version())).expect("a sound image"), 1);
        let mut bad = Vec::new();
        for (field, value) in [
            ("id", serde_json::json!("0011")),
            ("wrapped", serde_json::json!("not base64!")),
            ("public", serde_json::json!("{\"Dsa\":{}}")),
            ("spec", serde_json::json!("DES")),
        ] {
            let mut v = version();
            v[field] = value;
            bad.push(image(v));
        }
        let mut future: serde_json::Value = serde_json::from_slice(&image(version())).expect("json");
        future["format"] = serde_json::json!(FORMAT + 1);
        bad.push(serde_json::to_vec(&future).expect("json"));
        bad.push(b"{\"format\":1".to_vec());
        for bytes in bad {
            assert!(
                matches!(parse_image(&bytes), Err(KmsError::InvalidParameter(_))),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
