//! The audit trail's operations: lookups and verification (reads).

use p11kms_proto::admin::{LookupEventsReply, LookupEventsRequest, op};
use p11kms_proto::audit::Verification;

use super::{Access, Call, Handle};
use crate::audit::{AuditError, lookup};
use crate::kms::KmsError;

fn refused(error: AuditError) -> KmsError {
    match error {
        AuditError::Disabled => KmsError::Unsupported(error.to_string()),
        AuditError::Io(io) if io.kind() == std::io::ErrorKind::InvalidInput => {
            KmsError::InvalidParameter(format!("NextToken: {io}"))
        }
        other => KmsError::Internal(other.to_string()),
    }
}

impl Handle for op::LookupEvents {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: LookupEventsRequest) -> Result<LookupEventsReply, KmsError> {
        if request.max_results.is_some_and(|n| !(1..=lookup::MAX_RESULTS).contains(&n)) {
            return Err(KmsError::InvalidParameter(format!(
                "MaxResults must be between 1 and {}",
                lookup::MAX_RESULTS
            )));
        }
        let trail = &call.service.audit;
        trail.flush(&call.service.kms.store);
        let dir = trail.dir().ok_or(AuditError::Disabled).map_err(refused)?;
        let also = request.resource.as_deref().filter(|r| r.starts_with("alias/")).and_then(|alias| {
            let registry = call.kms().registry().ok()?;
            registry.key(alias).ok().map(|key| format!("key/{}", key.record.key_id))
        });
        lookup::page(&dir, &lookup::Query { request: &request, also }).map_err(refused)
    }
}

impl Handle for op::VerifyAudit {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<Verification, KmsError> {
        call.service.audit.verify(&call.service.kms.store).map_err(refused)
    }
}
