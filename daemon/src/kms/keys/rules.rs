//! Which operation a key's state allows, and which error the spec gives
//! otherwise. `docs/keys.md` prints this table and an end-to-end test walks
//! it against the daemon, so the two cannot drift apart.
//!
//! Before the state, whose key it is: a service key (the daemon's own)
//! allows only describing and using it, whatever its state
//! ([`super::service`]). Then the state; what the key *is* (its origin,
//! spec and usage) is checked after, by each operation.

use p11kms_proto::admin::KeyState;

use crate::kms::KmsError;
use crate::kms::registry::VersionEntry;
use crate::store::KeyRecord;

/// Every operation on an existing key, named as its CLI command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `key describe`, `key list`, `key list-versions`, `key describe-version`.
    Describe,
    /// `key tag`, `key untag`.
    Tag,
    /// `alias create/update/delete` on the key.
    Alias,
    /// `key set-deletion-protection`.
    SetDeletionProtection,
    /// `key enable`.
    Enable,
    /// `key disable`.
    Disable,
    /// `key schedule-deletion`.
    ScheduleDeletion,
    /// `key cancel-deletion`.
    CancelDeletion,
    /// `key create-version`.
    CreateVersion,
    /// `key update-rotation-policy`.
    UpdateRotationPolicy,
    /// `encrypt`, `decrypt`, `re-encrypt`, `generate-data-key*`, `sign`,
    /// `verify`, `asymmetric-*`, `get-public-key`, and PKCS#11 operations.
    Use,
    /// `key get-parameters-for-import`.
    GetParametersForImport,
    /// `key import-key-material`.
    ImportKeyMaterial,
    /// `key delete-key-material`.
    DeleteKeyMaterial,
}

/// What the state table says for one operation and state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Ok,
    /// `Rejected.Disabled`.
    Disabled,
    /// `Rejected.PendingDeletion`.
    PendingDeletion,
    /// `Rejected.PendingImport`.
    PendingImport,
    /// `Rejected.StateModifiedFailed`.
    StateModifiedFailed,
}

/// The state table.
pub fn verdict(operation: Operation, state: KeyState) -> Verdict {
    use KeyState as S;
    use Operation as O;
    use Verdict as V;
    match (operation, state) {
        (O::Describe | O::Tag | O::Alias | O::SetDeletionProtection, _) => V::Ok,
        (O::Enable | O::Disable, S::Enabled | S::Disabled) => V::Ok,
        (O::Enable | O::Disable, S::PendingDeletion) => V::PendingDeletion,
        (O::Enable | O::Disable, S::PendingImport) => V::PendingImport,
        (O::ScheduleDeletion, S::PendingDeletion) => V::StateModifiedFailed,
        (O::ScheduleDeletion, _) => V::Ok,
        (O::CancelDeletion, S::PendingDeletion) => V::Ok,
        (O::CancelDeletion, _) => V::StateModifiedFailed,
        (O::CreateVersion | O::UpdateRotationPolicy | O::Use, S::Enabled) => V::Ok,
        (O::CreateVersion | O::UpdateRotationPolicy | O::Use, S::Disabled) => V::Disabled,
        (O::CreateVersion | O::UpdateRotationPolicy | O::Use, S::PendingDeletion) => V::PendingDeletion,
        (O::CreateVersion | O::UpdateRotationPolicy | O::Use, S::PendingImport) => V::PendingImport,
        (O::GetParametersForImport | O::ImportKeyMaterial, S::PendingDeletion) => V::PendingDeletion,
        (O::GetParametersForImport | O::ImportKeyMaterial, _) => V::Ok,
        (O::DeleteKeyMaterial, S::Enabled | S::Disabled) => V::Ok,
        (O::DeleteKeyMaterial, S::PendingDeletion) => V::PendingDeletion,
        (O::DeleteKeyMaterial, S::PendingImport) => V::StateModifiedFailed,
    }
}

/// Refuses `operation` on a service key unless it only describes or uses
/// it, and on any key unless the key's state allows it.
pub fn check(operation: Operation, key: &KeyRecord) -> Result<(), KmsError> {
    check_service_key(operation, key)?;
    let id = || key.key_id.clone();
    match verdict(operation, key.state) {
        Verdict::Ok => Ok(()),
        Verdict::Disabled => Err(KmsError::Disabled(id())),
        Verdict::PendingDeletion => Err(KmsError::PendingDeletion(id())),
        Verdict::PendingImport => Err(KmsError::PendingImport(id())),
        Verdict::StateModifiedFailed => Err(KmsError::StateModifiedFailed(format!(
            "key '{}' is {}: {:?} is not possible in that state",
            key.key_id, key.state, operation
        ))),
    }
}

/// The operations a service key allows: looking at it, and using it (the
/// daemon's own use, and the admin plane's cryptographic operations).
pub fn service_key_allows(operation: Operation) -> bool {
    match operation {
        Operation::Describe | Operation::Use => true,
        Operation::Tag
        | Operation::Alias
        | Operation::SetDeletionProtection
        | Operation::Enable
        | Operation::Disable
        | Operation::ScheduleDeletion
        | Operation::CancelDeletion
        | Operation::CreateVersion
        | Operation::UpdateRotationPolicy
        | Operation::GetParametersForImport
        | Operation::ImportKeyMaterial
        | Operation::DeleteKeyMaterial => false,
    }
}

/// What a refused operation would have done, for the message.
fn attempted(operation: Operation) -> &'static str {
    match operation {
        Operation::Describe | Operation::Use => "be used",
        Operation::Tag => "be tagged or untagged",
        Operation::Alias => "take or lose an alias",
        Operation::SetDeletionProtection => "have its deletion protection changed",
        Operation::Enable => "be enabled",
        Operation::Disable => "be disabled",
        Operation::ScheduleDeletion => "be scheduled for deletion",
        Operation::CancelDeletion => "have a deletion cancelled",
        Operation::CreateVersion => "be rotated",
        Operation::UpdateRotationPolicy => "take a rotation policy",
        Operation::GetParametersForImport | Operation::ImportKeyMaterial => "take imported key material",
        Operation::DeleteKeyMaterial => "lose its key material",
    }
}

/// Refuses `operation` on a service key (`keys::service`); any operation
/// is fine on a CMK.
fn check_service_key(operation: Operation, key: &KeyRecord) -> Result<(), KmsError> {
    if !super::service::is_service_key(key) || service_key_allows(operation) {
        return Ok(());
    }
    Err(KmsError::ServiceKey { key: key.key_id.clone(), creator: key.creator.clone(), refused: attempted(operation) })
}

/// Refuses to use a version whose material was recorded lost (no HSM
/// holds it since its instance was attached to a cluster without it):
/// `Rejected.KeyVersionLost`, never a fault or a blamed ciphertext.
pub fn check_version(key: &KeyRecord, version: &VersionEntry) -> Result<(), KmsError> {
    match version.lost {
        None => Ok(()),
        Some(_) => Err(KmsError::VersionLost { key: key.key_id.clone(), version: version.record.version_id.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_allow_only_describe_and_use() {
        assert!(service_key_allows(Operation::Describe) && service_key_allows(Operation::Use));
        assert!(!service_key_allows(Operation::Disable) && !service_key_allows(Operation::Alias));
        assert!(!service_key_allows(Operation::Tag));
    }

    #[test]
    fn using_a_key_needs_it_enabled() {
        assert_eq!(verdict(Operation::Use, KeyState::Enabled), Verdict::Ok);
        assert_eq!(verdict(Operation::Use, KeyState::Disabled), Verdict::Disabled);
        assert_eq!(verdict(Operation::Use, KeyState::PendingDeletion), Verdict::PendingDeletion);
        assert_eq!(verdict(Operation::Use, KeyState::PendingImport), Verdict::PendingImport);
    }

    #[test]
    fn deletion_can_be_scheduled_once_and_cancelled_only_while_pending() {
        for state in [KeyState::Enabled, KeyState::Disabled, KeyState::PendingImport] {
            assert_eq!(verdict(Operation::ScheduleDeletion, state), Verdict::Ok);
            assert_eq!(verdict(Operation::CancelDeletion, state), Verdict::StateModifiedFailed);
        }
        assert_eq!(verdict(Operation::ScheduleDeletion, KeyState::PendingDeletion), Verdict::StateModifiedFailed);
        assert_eq!(verdict(Operation::CancelDeletion, KeyState::PendingDeletion), Verdict::Ok);
    }

    #[test]
    fn the_rotation_policy_changes_only_on_enabled_keys() {
        assert_eq!(verdict(Operation::UpdateRotationPolicy, KeyState::Enabled), Verdict::Ok);
        assert_eq!(verdict(Operation::UpdateRotationPolicy, KeyState::Disabled), Verdict::Disabled);
        assert_eq!(verdict(Operation::UpdateRotationPolicy, KeyState::PendingDeletion), Verdict::PendingDeletion);
    }
}
