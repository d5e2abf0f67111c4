//! CMK migration from the default instance (`shared/spec/cmk-migration.txt`,
//! `docs/migration.md`): the diagnostic ([`diagnose`]), which says of a
//! key whether it may move into a software or hardware instance and gives
//! every reason of the spec's why not; migration tasks ([`tasks`]), which
//! make the same checks; and their runs by the daemon, crash-safe ([`run`]).

use p11kms_proto::admin::{
    CheckKeyMigrationRequest, ExportOperation, InstanceKind, KeyMigrationCheck, KeyMigrationChecks, MigrationBlocker,
    MigrationReason, Origin,
};

use super::keys::service;
use super::registry::{KeyEntry, Registry};
use super::{Kms, KmsError};

pub mod run;
pub mod tasks;
#[cfg(test)]
mod tests;

/// Every reason `key` cannot migrate; `kind` is its instance's kind.
pub fn blockers(key: &KeyEntry, kind: InstanceKind) -> Vec<MigrationReason> {
    let r = &key.record;
    let mut reasons = Vec::new();
    let mut reason = |code, message: String| reasons.push(MigrationReason { code, message });
    if service::is_service_key(r) {
        reason(
            MigrationBlocker::ServiceKey,
            "a service key belongs to the daemon's own features and is never migrated".into(),
        );
    }
    if kind != InstanceKind::Default {
        reason(
            MigrationBlocker::NotInDefaultInstance,
            format!("the key is in the {kind} instance '{}': only CMKs of the default instance migrate", r.instance),
        );
    }
    if r.origin == Origin::External {
        reason(
            MigrationBlocker::ExternalKeyMaterial,
            "its key material was imported (Origin EXTERNAL): such keys cannot be migrated".into(),
        );
    }
    let versions = key.versions.len();
    if r.automatic_rotation {
        let hint = if versions <= 1 {
            ": it has one version, so it can be migrated once automatic rotation is disabled \
             (key update-rotation-policy KEY --disable-automatic-rotation)"
        } else {
            ""
        };
        reason(MigrationBlocker::AutomaticRotationEnabled, format!("automatic rotation is enabled{hint}"));
    }
    if versions > 1 {
        reason(
            MigrationBlocker::MultipleVersions,
            format!("it has {versions} versions: only a key with one version can be migrated"),
        );
    }
    let used: Vec<&str> = ExportOperation::ALL
        .iter()
        .filter(|operation| r.export_uses.contains(**operation))
        .map(|operation| operation.as_str())
        .collect();
    if !used.is_empty() {
        reason(
            MigrationBlocker::UsedWithExportOperations,
            format!(
                "it was used with {}: the data those calls made depends on it staying where it is",
                used.join(", ")
            ),
        );
    }
    reasons
}

/// The diagnostic of one key.
fn check(key: &KeyEntry, registry: &Registry) -> Result<KeyMigrationCheck, KmsError> {
    let kind = registry.instance(&key.record.instance)?.kind;
    let reasons = blockers(key, kind);
    Ok(KeyMigrationCheck {
        key_id: key.record.key_id.clone(),
        instance: key.record.instance.clone(),
        key_manager_type: service::manager_type(&key.record),
        migratable: reasons.is_empty(),
        reasons,
    })
}

/// `key check-migration [KEY]`: one key (any instance, to say why not), or
/// every CMK of the default instance.
pub fn diagnose(kms: &Kms, request: &CheckKeyMigrationRequest) -> Result<KeyMigrationChecks, KmsError> {
    let registry = kms.registry()?;
    let keys = match &request.key {
        Some(key) => vec![check(registry.key(key)?, &registry)?],
        None => {
            let default: Vec<String> = registry
                .instances()
                .filter(|instance| instance.kind == InstanceKind::Default)
                .map(|instance| instance.name.clone())
                .collect();
            registry
                .keys()
                .filter(|key| default.contains(&key.record.instance) && !service::is_service_key(&key.record))
                .map(|key| check(key, &registry))
                .collect::<Result<_, _>>()?
        }
    };
    Ok(KeyMigrationChecks { keys })
}
