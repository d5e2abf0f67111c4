//! Everything that happens because time passed: automatic rotations (of
//! keys and of managed secrets), the end of deletion windows (keys) and
//! recovery windows (secrets), the expiry of imported material and of
//! import tokens, and CMK migration tasks in their windows. One pass looks at the daemon's clock once and does what is due;
//! the daemon runs a pass periodically, and right after the test clock
//! moves, so a test sees the effects of `p11kms clock advance` as soon as
//! the command returns.

use p11kms_proto::admin::{KeyState, Origin};

use super::keys::{import, lifecycle, rotation};
use super::{migration, secrets};
use crate::kms::Kms;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Keys rotated.
    pub rotated: usize,
    /// Keys destroyed at the end of their deletion window.
    pub destroyed: usize,
    /// EXTERNAL keys whose material expired.
    pub expired_material: usize,
    /// Import tokens that expired.
    pub expired_tokens: usize,
    /// Secrets rotated.
    pub secrets_rotated: usize,
    /// Secrets deleted at the end of their recovery window.
    pub secrets_deleted: usize,
    /// Keys moved by CMK migration tasks.
    pub migrated: usize,
    /// CMK migration tasks that failed (their keys stayed).
    pub migrations_failed: usize,
    /// Actions that failed (logged; retried at the next pass).
    pub failed: usize,
}

enum Due {
    Destroy,
    ExpireMaterial,
    Rotate,
}

/// Does what is due now. Failures are logged and retried next time.
pub fn run_due(kms: &Kms) -> Pass {
    let mut pass = Pass::default();
    let _pass = match kms.schedule() {
        Ok(guard) => guard,
        Err(error) => {
            tracing::error!(%error, "scheduler cannot start a pass");
            pass.failed += 1;
            return pass;
        }
    };
    let now = kms.clock.now();
    let due: Vec<(String, Due)> = match kms.registry() {
        Ok(registry) => registry
            .keys()
            .filter_map(|key| {
                let r = &key.record;
                let due = if r.state == KeyState::PendingDeletion && r.delete_date.is_some_and(|d| d <= now) {
                    Due::Destroy
                } else if r.origin == Origin::External
                    && r.state != KeyState::PendingDeletion
                    && r.material_expire_time.is_some_and(|t| t <= now)
                {
                    Due::ExpireMaterial
                } else if rotation::next_rotation(key).is_some_and(|next| next <= now) {
                    Due::Rotate
                } else {
                    return None;
                };
                Some((r.key_id.clone(), due))
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "scheduler cannot read the registry");
            pass.failed += 1;
            return pass;
        }
    };
    for (key_id, due) in due {
        let (result, counter) = match due {
            Due::Destroy => (lifecycle::destroy(kms, &key_id), &mut pass.destroyed),
            Due::ExpireMaterial => (import::delete_material(kms, &key_id), &mut pass.expired_material),
            Due::Rotate => (rotation::rotate_on_schedule(kms, &key_id).map(|_| ()), &mut pass.rotated),
        };
        match result {
            Ok(()) => *counter += 1,
            Err(error) => {
                pass.failed += 1;
                tracing::error!(key = key_id, %error, "scheduled work failed; retrying at the next pass");
            }
        }
    }
    let migration_pass = migration::run::run_due(kms, now);
    pass.migrated = migration_pass.migrated;
    pass.migrations_failed = migration_pass.failed;
    let secret_pass = secrets::rotation::run_due(kms, now);
    pass.secrets_rotated = secret_pass.rotated;
    pass.secrets_deleted = secret_pass.deleted;
    pass.failed += secret_pass.failed;
    match import::expire_tokens(kms, now) {
        Ok(count) => pass.expired_tokens = count,
        Err(error) => {
            pass.failed += 1;
            tracing::error!(%error, "import token expiry failed");
        }
    }
    if pass != Pass::default() {
        tracing::info!(?pass, at = %now, "scheduled work done");
    }
    pass
}
