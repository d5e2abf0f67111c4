//! A package: one key or secret as a backup holds it at a moment, on its
//! way from the source daemon to the destination (through the CLI, which
//! only passes it on). JSON (`docs/backup-files.md`, "Packages"): a backup
//! data file's payload ([`Bundle`]) of that one key or secret, and for a
//! software backup's key each version's material wrapped under a one-time
//! AES key (AES key wrap with padding, inside the source's HSM), that key
//! wrapped for the ticket's RSA public key (RSA-OAEP with SHA-1). Only the
//! destination's HSM unwraps it; a package that is changed on the way
//! fails its checks here or its unwrap there, and nothing is restored.

use serde::{Deserialize, Serialize};

use super::super::transfer::bundle::Bundle;
use super::tickets::Item;
use crate::kms::KmsError;

/// The format this daemon writes and reads.
pub const PACKAGE_FORMAT: u32 = 1;

/// A package.
#[derive(Debug, Serialize, Deserialize)]
pub struct Package {
    /// [`PACKAGE_FORMAT`].
    pub format: u32,
    /// The backed-up cluster (hardware backups), for messages.
    pub cluster: Option<String>,
    /// The key or secret, and its material under the one-time key.
    pub bundle: Bundle,
    /// The one-time key, wrapped for the ticket's public key; present
    /// exactly when material is.
    #[serde(with = "p11kms_proto::bytes::option")]
    pub transport_key: Option<Vec<u8>>,
}

fn refused(why: impl std::fmt::Display) -> KmsError {
    KmsError::InvalidParameter(format!("the restore package is refused: {why}"))
}

impl Package {
    /// Its bytes.
    pub fn encode(&self) -> Result<Vec<u8>, KmsError> {
        serde_json::to_vec(self).map_err(|e| KmsError::Internal(format!("a restore package: {e}")))
    }

    /// Reads a package and checks it whole: its format, exactly the item
    /// `item` names, its bundle's own checks, a one-time key exactly when
    /// it carries material.
    pub fn decode(bytes: &[u8], item: &Item) -> Result<Self, KmsError> {
        let package: Self = serde_json::from_slice(bytes).map_err(|e| refused(format!("its data: {e}")))?;
        if package.format != PACKAGE_FORMAT {
            return Err(refused(format!(
                "its format is {}, this daemon reads format {PACKAGE_FORMAT}",
                package.format
            )));
        }
        let bundle = &package.bundle;
        let carries = match (bundle.keys.as_slice(), bundle.secrets.as_slice()) {
            ([key], []) => Item::Key(key.record.key_id.clone()),
            ([], [secret]) => Item::Secret(secret.record.name.clone()),
            _ => return Err(refused("it must carry exactly one key or one secret")),
        };
        if carries != *item {
            return Err(refused(format!("it carries {carries}; the ticket is for {item}")));
        }
        bundle.check().map_err(refused)?;
        if bundle.materials.is_empty() != package.transport_key.is_none() {
            return Err(refused("it must carry a one-time key exactly when it carries key material"));
        }
        Ok(package)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::InstanceKind;

    use super::*;

    fn empty() -> Package {
        Package {
            format: PACKAGE_FORMAT,
            cluster: None,
            bundle: Bundle {
                backup_id: "backup-1".into(),
                date: "2026-12-05".into(),
                instance: "soft1".into(),
                instance_kind: InstanceKind::Software,
                as_of: Timestamp(1_764_892_800),
                keys: Vec::new(),
                secrets: Vec::new(),
                materials: Vec::new(),
            },
            transport_key: None,
        }
    }

    fn refusal(package: &Package, item: &Item) -> String {
        Package::decode(&package.encode().expect("encoded"), item).expect_err("refused").to_string()
    }

    #[test]
    fn a_package_is_refused_unless_it_carries_what_its_ticket_names() {
        let key = Item::Key("key-1".into());
        assert!(refusal(&empty(), &key).contains("exactly one key or one secret"));
        let mut other = empty();
        other.format = 2;
        assert!(refusal(&other, &key).contains("format is 2"));
        assert!(Package::decode(b"{not json", &key).expect_err("refused").to_string().contains("its data"));
        let mut keyless = empty();
        keyless.transport_key = Some(vec![1; 256]);
        assert!(refusal(&keyless, &key).contains("exactly one key"));
    }
}
