//! Backup data files (`docs/backup-files.md`): `backup download` writes
//! what a backup holds at the end of a day as one file encrypted under a
//! key made for it, which the reply carries once and nothing keeps;
//! `backup upload` checks such a file whole and makes an `upload` backup
//! of it, viewed and restored like any other.
//!
//! * [`format`]: the file, sealed in authenticated chunks;
//!   [`bundle`]: what it carries.
//! * [`files`]: files waiting in the daemon while they cross the admin
//!   socket in chunks of at most 1 MiB.
//! * [`download`], [`upload`]: the operations. Key material crosses from
//!   the backup root key to the file's key (and back, on upload) inside
//!   an HSM (`Vault::rewrap`).

pub mod bundle;
pub mod download;
pub mod files;
pub mod format;
pub mod upload;

#[cfg(test)]
pub(super) mod tests;

use zeroize::Zeroizing;

use p11kms_proto::SecretString;
use p11kms_proto::admin::backup_file::DECRYPTION_KEY_LEN;
use p11kms_proto::bytes::{from_base64, to_base64};

use super::Backups;
use crate::kms::vault::SOFTWARE_CLUSTER;
use crate::kms::{Kms, KmsError};

/// The transfers of `backups`.
pub fn transfers(backups: &Backups) -> files::Transfers {
    files::Transfers::new(backups.storage().root())
}

/// Removes the transfers that waited too long (each transfer call, and
/// the daemon's scheduler pass).
pub fn sweep(kms: &Kms, backups: &Backups) {
    transfers(backups).sweep(kms.clock.now());
}

/// A cluster whose HSMs re-wrap material: the cluster of `instance` when
/// it is loaded, else any loaded cluster (they share the backup root key).
pub fn rewrapping_cluster(kms: &Kms, instance: Option<&str>) -> Result<String, KmsError> {
    let usable = |c: &str| c != SOFTWARE_CLUSTER && kms.vault.serves(c);
    if let Some(cluster) = instance.and_then(|i| kms.cluster_of(i).ok()).filter(|c| usable(c)) {
        return Ok(cluster);
    }
    let registry = kms.registry()?;
    let found = registry.clusters().map(|c| c.name.clone()).find(|c| usable(c));
    found
        .ok_or_else(|| KmsError::Unsupported("no HSM cluster is loaded to re-wrap the backup's key material in".into()))
}

/// A new file key, and its text as the reply shows it (base64).
pub fn new_key() -> (Zeroizing<[u8; DECRYPTION_KEY_LEN]>, SecretString) {
    let key = Zeroizing::new(rand::random::<[u8; DECRYPTION_KEY_LEN]>());
    let text = SecretString::new(to_base64(&key[..]));
    (key, text)
}

/// A file key from its text.
pub fn parse_key(text: &SecretString) -> Result<Zeroizing<[u8; DECRYPTION_KEY_LEN]>, KmsError> {
    let wrong = || {
        KmsError::InvalidParameter(format!(
            "a decryption key is {DECRYPTION_KEY_LEN} bytes in base64, as `backup download` printed it"
        ))
    };
    let bytes = Zeroizing::new(from_base64(text.expose().trim()).map_err(|_| wrong())?);
    let mut key = Zeroizing::new([0; DECRYPTION_KEY_LEN]);
    if bytes.len() != DECRYPTION_KEY_LEN {
        return Err(wrong());
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}
