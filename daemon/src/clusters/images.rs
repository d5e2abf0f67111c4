//! Mirror images of a cluster: taking them, listing them, and reading one
//! back authenticated (restoring one is `restore`).
//!
//! An image is every key version the store places in the cluster, each
//! secret or private key wrapped inside an HSM member (AES key wrap with
//! padding, RFC 5649) under the backup root key ([`backup_root_key`]), with
//! the public halves in clear. The root key enters the member only as a
//! session object for the duration of the image, so key material never
//! exists outside an HSM in clear, and a restore needs no token files: any
//! member that can unwrap under the root key rebuilds the versions.
//!
//! Files, in `<state>/images/`: `<image id>.json` (format 2), its SHA-256
//! manifest `<image id>.sha256` (says quickly whether the file was damaged)
//! and `<image id>.mac`, the HMAC-SHA-256 of the file under a key of the
//! image's own that only HSMs ever held in clear (`hsm::image_auth`: made
//! inside the member, carried in the image wrapped under the root key).
//! The manifest alone proves nothing: whoever can write the files can
//! recompute it. The MAC is checked inside an HSM whenever an image is
//! listed or restored; an image that fails is shown damaged, with what is
//! known of it, and refused. Images of format 1 (manifest only) are listed
//! but never restored: nothing authenticates them.
//!
//! An image is taken under the store's writer lock, so no key is created,
//! rotated or destroyed while it is read: it is consistent. The newest
//! `images.keep` intact images of each cluster are kept.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{ImageInfo, KeySpec, KeyUsage};

use super::backup_key::with_root_key;
use crate::hsm::error::Context;
use crate::hsm::image_auth::{self, ImageAuthError};
use crate::hsm::{HsmError, Member, ObjectRole, PublicKey, VersionName};
use crate::kms::KmsError;
use crate::service::Service;

/// Version of the image format written: authenticated by a MAC.
pub const FORMAT: u32 = 2;
/// The first format: a SHA-256 manifest only, which authenticates nothing.
const UNAUTHENTICATED_FORMAT: u32 = 1;

/// One key version in an image.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ImageVersion {
    /// `CKA_ID`, hex.
    pub id: String,
    /// `KEY_ID/VERSION_ID`.
    pub label: String,
    pub spec: KeySpec,
    pub usage: KeyUsage,
    /// The secret or private key, wrapped under the backup root key, base64.
    pub wrapped: String,
    /// The public key (JSON of `hsm::PublicKey`), for asymmetric versions.
    pub public: Option<String>,
}

/// An image file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ImageFile {
    pub format: u32,
    pub image_id: String,
    pub cluster: String,
    pub created_at: Timestamp,
    /// The image's MAC key wrapped under the backup root key, base64
    /// (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_key: Option<String>,
    pub versions: Vec<ImageVersion>,
}

fn images_dir(service: &Service) -> PathBuf {
    service.paths.root().join("images")
}

fn image_path(service: &Service, image_id: &str, suffix: &str) -> PathBuf {
    images_dir(service).join(format!("{image_id}.{suffix}"))
}

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::InvalidParameter(message.into())
}

/// `cluster image create NAME`.
pub fn create(service: &Service, name: &str) -> Result<ImageInfo, KmsError> {
    let writes = service.kms.writer()?;
    let live = service.clusters.get(name)?;
    let expected = super::sync::expected_names(&service.kms, name)?;
    let now = service.kms.clock.now();
    let image_id = format!("img-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let header = ImageFile {
        format: FORMAT,
        image_id: image_id.clone(),
        cluster: name.to_owned(),
        created_at: now,
        mac_key: None,
        versions: Vec::new(),
    };
    // One member holding everything does the wrapping and the MAC.
    let mut last = HsmError::NoHealthyMember(name.to_owned());
    let mut taken = None;
    for member in live.cluster.candidates() {
        match take_on(service, member, &expected, &header) {
            Ok(image) => {
                taken = Some(image);
                break;
            }
            Err(error) => last = error,
        }
    }
    let (bytes, tag) = taken.ok_or_else(|| {
        if last.is_device_fault() {
            KmsError::Hsm(last)
        } else {
            KmsError::Internal(format!(
                "no member of '{name}' could take the image ({last}); `cluster verify {name}` lists what members lack"
            ))
        }
    })?;
    let dir = images_dir(service);
    crate::paths::create_private_dir(&dir).map_err(HsmError::from)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    // The image file last: a listed image always has its manifest and MAC.
    crate::private_files::write_private(&image_path(service, &image_id, "sha256"), digest.as_bytes())
        .map_err(HsmError::from)?;
    crate::private_files::write_private(&image_path(service, &image_id, "mac"), hex::encode(&tag).as_bytes())
        .map_err(HsmError::from)?;
    crate::private_files::write_private(&image_path(service, &image_id, "json"), &bytes).map_err(HsmError::from)?;
    drop(writes);
    tracing::info!(cluster = name, image = %image_id, versions = expected.len(), "mirror image taken");
    prune(service, name)?;
    Ok(ImageInfo {
        image_id,
        cluster_name: name.to_owned(),
        creation_date: now,
        versions: expected.len() as u64,
        sha256: digest,
        intact: true,
        damage: None,
        format: FORMAT,
    })
}

/// Takes the image on `member`: every expected version wrapped under the
/// root key, a new MAC key wrapped too, the file's bytes and their MAC.
fn take_on(
    service: &Service,
    member: &Member,
    expected: &[(VersionName, Option<PublicKey>)],
    header: &ImageFile,
) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
    let handles: Vec<ObjectHandle> = expected
        .iter()
        .map(|(v, _)| member.find(&v.id, if v.spec.is_symmetric() { ObjectRole::Secret } else { ObjectRole::Private }))
        .collect::<Result<_, _>>()?;
    with_root_key(&service.paths.secrets_dir(), member, |s, root| {
        let (mac_key, wrapped_mac) = image_auth::new_mac_key(s, root)?;
        let result = (|| {
            let versions = expected
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
                .collect::<Result<Vec<_>, HsmError>>()?;
            let file = ImageFile {
                format: header.format,
                image_id: header.image_id.clone(),
                cluster: header.cluster.clone(),
                created_at: header.created_at,
                mac_key: Some(STANDARD.encode(&wrapped_mac)),
                versions,
            };
            let bytes = serde_json::to_vec_pretty(&file).map_err(|e| HsmError::Unexpected(e.to_string()))?;
            let tag = image_auth::mac(s, mac_key, &bytes)?;
            Ok((bytes, tag))
        })();
        let _ = s.destroy_object(mac_key);
        result
    })
}

/// An image read back: its file and the SHA-256 of its bytes.
pub(super) struct Read {
    pub file: ImageFile,
    pub sha256: String,
}

/// Why an image is refused or shown damaged, and what is known of it.
struct Damaged {
    why: String,
    /// The SHA-256 of the file as it is, when it could be read.
    sha256: String,
    /// The file's bytes, to salvage what they still say.
    bytes: Vec<u8>,
}

fn damaged(why: impl Into<String>, bytes: &[u8]) -> Damaged {
    Damaged { why: why.into(), sha256: hex::encode(Sha256::digest(bytes)), bytes: bytes.to_vec() }
}

fn check_id(image_id: &str) -> Result<(), KmsError> {
    if image_id.starts_with("img-") && image_id[4..].chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(KmsError::NotFound { what: "image", name: image_id.to_owned() })
    }
}

/// How far an image is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Manifest and format only: enough to know which images exist (the
    /// daily schedule), without an HSM.
    Manifest,
    /// Also the MAC, inside an HSM member.
    Authenticity,
}

/// Reads an image and checks it: manifest, format, and for format 2 (when
/// asked) its MAC inside an HSM member. `Ok(Err(..))` is an image that
/// exists but is damaged, or that nothing authenticates.
fn read_checked(service: &Service, image_id: &str, check: Check) -> Result<Result<Read, Damaged>, KmsError> {
    let bytes = std::fs::read(image_path(service, image_id, "json"))
        .map_err(|_| KmsError::NotFound { what: "image", name: image_id.to_owned() })?;
    let manifest = std::fs::read_to_string(image_path(service, image_id, "sha256")).unwrap_or_default();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if manifest.trim() != sha256 {
        return Ok(Err(damaged("the file does not match its SHA-256 manifest", &bytes)));
    }
    let file: ImageFile = match serde_json::from_slice(&bytes) {
        Ok(file) => file,
        Err(e) => return Ok(Err(damaged(format!("the file does not parse: {e}"), &bytes))),
    };
    if file.image_id != image_id {
        return Ok(Err(damaged(format!("the file names another image ({})", file.image_id), &bytes)));
    }
    match file.format {
        FORMAT if check == Check::Manifest => return Ok(Ok(Read { file, sha256 })),
        FORMAT => {}
        UNAUTHENTICATED_FORMAT => return Ok(Ok(Read { file, sha256 })),
        other => return Ok(Err(damaged(format!("format {other}: this daemon reads 1 and {FORMAT}"), &bytes))),
    }
    match authenticate(service, image_id, &file, &bytes)? {
        Ok(()) => Ok(Ok(Read { file, sha256 })),
        Err(why) => Ok(Err(damaged(why, &bytes))),
    }
}

/// Checks an image's MAC inside a member of the image's cluster if it is
/// open, else of any open cluster. `Ok(Err(why))` when it does not verify.
fn authenticate(
    service: &Service,
    image_id: &str,
    file: &ImageFile,
    bytes: &[u8],
) -> Result<Result<(), String>, KmsError> {
    let Some(wrapped) = file.mac_key.as_deref().and_then(|k| STANDARD.decode(k).ok()) else {
        return Ok(Err("it carries no MAC key".into()));
    };
    let tag =
        std::fs::read_to_string(image_path(service, image_id, "mac")).ok().and_then(|t| hex::decode(t.trim()).ok());
    let Some(tag) = tag else {
        return Ok(Err("its MAC file is missing or unreadable".into()));
    };
    let mut names = vec![file.cluster.clone()];
    names.extend(service.clusters.names());
    let mut last = HsmError::NoHealthyMember(file.cluster.clone());
    for live in names.iter().filter_map(|n| service.clusters.get(n).ok()) {
        for member in live.cluster.candidates() {
            let checked = with_root_key(&service.paths.secrets_dir(), member, |s, root| {
                Ok(image_auth::verify_mac(s, root, &wrapped, bytes, &tag))
            });
            match checked {
                Ok(Ok(())) => return Ok(Ok(())),
                Ok(Err(ImageAuthError::Hsm(error))) | Err(error) => last = error,
                Ok(Err(refused)) => return Ok(Err(refused.to_string())),
            }
        }
    }
    Err(KmsError::Hsm(last))
}

/// An image for a restore: intact, authenticated, of the current format.
pub(super) fn read_authenticated(service: &Service, image_id: &str) -> Result<Read, KmsError> {
    check_id(image_id)?;
    match read_checked(service, image_id, Check::Authenticity)? {
        Ok(read) if read.file.format == UNAUTHENTICATED_FORMAT => Err(invalid(format!(
            "image {image_id} has format 1: only an unkeyed SHA-256 vouches for it, which anyone who can write the \
             file can recompute; it is not restored (take a new image: `cluster image create`)"
        ))),
        Ok(read) => Ok(read),
        Err(damage) => Err(invalid(format!("image {image_id} is damaged: {}", damage.why))),
    }
}

/// What a damaged file still says of `field` (its JSON value after
/// `"field":`), read leniently: the header comes first in the file, so a
/// damage further on leaves it readable.
fn salvage<T: serde::de::DeserializeOwned>(bytes: &[u8], field: &str) -> Option<T> {
    let text = String::from_utf8_lossy(bytes);
    let key = format!("\"{field}\":");
    let start = text.find(&key)? + key.len();
    serde_json::Deserializer::from_str(&text[start..]).into_iter::<T>().next()?.ok()
}

/// `cluster image list [NAME]`, oldest first, each image authenticated. A
/// damaged image shows what is still known of it (its cluster and date as
/// the file says them, else the file's time; its SHA-256 as it is now) and
/// why it is damaged.
pub fn list(service: &Service, cluster: Option<&str>) -> Result<Vec<ImageInfo>, KmsError> {
    scan(service, cluster, Check::Authenticity)
}

/// The images of `cluster` (all with `None`), checked as far as `check`.
fn scan(service: &Service, cluster: Option<&str>, check: Check) -> Result<Vec<ImageInfo>, KmsError> {
    let Ok(entries) = std::fs::read_dir(images_dir(service)) else {
        return Ok(Vec::new());
    };
    let mut images = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(image_id) = file_name.strip_suffix(".json") else { continue };
        if check_id(image_id).is_err() {
            continue;
        }
        let checked = read_checked(service, image_id, check).map_err(|error| {
            // No HSM could check it now: that is not damage, but it is not
            // vouched for either.
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            damaged(format!("not checked: {error}"), &bytes)
        });
        let info = match checked.and_then(|c| c) {
            Ok(read) => ImageInfo {
                image_id: read.file.image_id,
                cluster_name: read.file.cluster,
                creation_date: read.file.created_at,
                versions: read.file.versions.len() as u64,
                sha256: read.sha256,
                intact: true,
                damage: None,
                format: read.file.format,
            },
            Err(damage) => {
                let modified = entry
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| Timestamp(d.as_secs() as i64));
                ImageInfo {
                    image_id: image_id.to_owned(),
                    cluster_name: salvage::<String>(&damage.bytes, "cluster").unwrap_or_default(),
                    creation_date: salvage::<Timestamp>(&damage.bytes, "created_at")
                        .or(modified)
                        .unwrap_or(Timestamp(0)),
                    versions: String::from_utf8_lossy(&damage.bytes).matches("\"wrapped\":").count() as u64,
                    sha256: damage.sha256,
                    intact: false,
                    damage: Some(damage.why),
                    format: salvage::<u32>(&damage.bytes, "format").unwrap_or(0),
                }
            }
        };
        // A damaged image whose cluster cannot be told shows in every list.
        let unknown = !info.intact && info.cluster_name.is_empty();
        if cluster.is_none_or(|c| c == info.cluster_name || unknown) {
            images.push(info);
        }
    }
    images.sort_by(|a, b| (a.creation_date, &a.image_id).cmp(&(b.creation_date, &b.image_id)));
    Ok(images)
}

/// Keeps the newest `images.keep` intact images of `cluster`; damaged ones
/// stay for the operator.
fn prune(service: &Service, cluster: &str) -> Result<(), KmsError> {
    let images: Vec<ImageInfo> = list(service, Some(cluster))?.into_iter().filter(|i| i.intact).collect();
    let keep = service.config.images.keep as usize;
    for old in images.iter().take(images.len().saturating_sub(keep)) {
        for suffix in ["json", "sha256", "mac"] {
            let _ = std::fs::remove_file(image_path(service, &old.image_id, suffix));
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
        // Which images exist is enough here: no HSM work on every pass.
        let images = scan(service, Some(&name), Check::Manifest);
        let last = images.ok().and_then(|l| l.iter().filter(|i| i.intact).map(|i| i.creation_date).max());
        if last.is_some_and(|t| t >= midnight) {
            continue;
        }
        if let Err(error) = create(service, &name) {
            tracing::error!(cluster = %name, %error, "scheduled mirror image failed");
        }
    }
}

/// One image version's fields as a restore uses them, decoded.
#[derive(Debug)]
pub(super) struct DecodedVersion {
    /// The version's 16-byte id.
    pub id: [u8; 16],
    /// Its public key, for asymmetric versions.
    pub public: Option<PublicKey>,
    /// The secret or private key, wrapped under the backup root key.
    pub wrapped: Vec<u8>,
}

/// Decodes one image version: its hex id, public key JSON and base64
/// wrapped key. The error says what is damaged, naming the version.
pub(super) fn decode_version(version: &ImageVersion) -> Result<DecodedVersion, String> {
    let label = &version.label;
    let id = hex::decode(&version.id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("version {label} has a bad id"))?;
    let public = match &version.public {
        Some(json) => {
            Some(PublicKey::from_json(json).map_err(|e| format!("the public key of {label} does not parse: {e}"))?)
        }
        None => None,
    };
    let wrapped = STANDARD.decode(&version.wrapped).map_err(|_| format!("the wrapped key of {label} is not base64"))?;
    Ok(DecodedVersion { id, public, wrapped })
}

/// What a restore reads from the bytes of an image file, short of the
/// manifest, the MAC and the HSM: the JSON, its format, and each version
/// as [`decode_version`] reads it for the restore. Returns the number of
/// versions. The entry point of the `image_manifest` fuzz target
/// (`docs/fuzzing.md`), so the fuzzer runs the restore's own decoding; the
/// image types stay private.
pub fn parse_image(bytes: &[u8]) -> Result<usize, KmsError> {
    let file: ImageFile =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("the image does not parse: {e}")))?;
    if file.format != FORMAT {
        return Err(invalid(format!("the image has format {}, a restore reads {FORMAT}", file.format)));
    }
    for version in &file.versions {
        decode_version(version).map_err(invalid)?;
    }
    Ok(file.versions.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_damaged_file_still_says_its_header() {
        let text = br#"{
  "format": 2,
  "image_id": "img-0123456789ab",
  "cluster": "hsm1",
  "created_at": "2023-11-14T22:13:20Z",
  "versions": [ {"id": "00", "wrapped": "AA=="}, {"id": "0#garbage"#;
        assert_eq!(salvage::<String>(text, "cluster").as_deref(), Some("hsm1"));
        assert_eq!(salvage::<Timestamp>(text, "created_at"), Some(Timestamp(1_700_000_000)));
        assert_eq!(salvage::<u32>(text, "format"), Some(2));
        assert_eq!(salvage::<String>(b"{\"cluster\": \"hs", "cluster"), None, "a cut value is not guessed");
        assert_eq!(salvage::<String>(b"nothing here", "cluster"), None);
    }

    #[test]
    fn image_ids_are_checked_before_any_path_is_built() {
        assert!(check_id("img-0123456789ab").is_ok());
        for bad in ["img-../../etc", "x-0123", "img-01/2", ""] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

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
