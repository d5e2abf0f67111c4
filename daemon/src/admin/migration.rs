//! The CMK migration's operations: today the diagnostic (a read).

use p11kms_proto::admin::{CheckKeyMigrationRequest, KeyMigrationChecks, op};

use super::{Access, Call, Handle};
use crate::kms::{KmsError, migration};

impl Handle for op::CheckKeyMigration {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: CheckKeyMigrationRequest) -> Result<KeyMigrationChecks, KmsError> {
        migration::diagnose(call.kms(), &request)
    }
}
