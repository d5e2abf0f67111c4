//! The CMK migration's operations: the diagnostic (a read), migration
//! tasks (made here, run by the daemon's scheduler), and their reads.

use p11kms_proto::admin::{
    CheckKeyMigrationRequest, KeyMigrationChecks, KeyMigrationTask, ListKeyMigrationsRequest, MigrateKeyRequest,
    MigrationTaskRef, op,
};

use super::{Access, Call, Handle};
use crate::kms::migration::tasks;
use crate::kms::{KmsError, migration};

impl Handle for op::CheckKeyMigration {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: CheckKeyMigrationRequest) -> Result<KeyMigrationChecks, KmsError> {
        migration::diagnose(call.kms(), &request)
    }
}

impl Handle for op::MigrateKey {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: MigrateKeyRequest) -> Result<KeyMigrationTask, KmsError> {
        let task = tasks::create(call.kms(), &request)?;
        // A window that is open now need not wait for the next tick. On
        // the test clock, time-driven work waits for the test to move time.
        if !call.kms().clock.is_manual() && task.window_start <= call.kms().clock.now() {
            call.service.scheduler_wake.notify_one();
        }
        Ok(task)
    }
}

impl Handle for op::DescribeKeyMigration {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: MigrationTaskRef) -> Result<KeyMigrationTask, KmsError> {
        tasks::describe(call.kms(), &request.task_id)
    }
}

impl Handle for op::ListKeyMigrations {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListKeyMigrationsRequest) -> Result<Vec<KeyMigrationTask>, KmsError> {
        tasks::list(call.kms(), &request)
    }
}
