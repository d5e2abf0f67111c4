//! A key's life: enable, disable, deletion and its protection, tags (of
//! keys and of secrets: TagResource names either).

use p11kms_proto::admin::{
    KeyRef, ScheduleKeyDeletionRequest, SetDeletionProtectionRequest, TagResourceRequest, TaggedResource,
    UntagResourceRequest, op,
};

use super::{Access, Call, Handle};
use crate::kms::KmsError;
use crate::kms::keys::lifecycle;
use crate::kms::secrets;

impl Handle for op::EnableKey {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<(), KmsError> {
        lifecycle::enable(call.kms(), &request.key)
    }
}

impl Handle for op::DisableKey {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<(), KmsError> {
        lifecycle::disable(call.kms(), &request.key)
    }
}

impl Handle for op::ScheduleKeyDeletion {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ScheduleKeyDeletionRequest) -> Result<(), KmsError> {
        lifecycle::schedule_deletion(call.kms(), &request.key, request.pending_window_in_days)
    }
}

impl Handle for op::CancelKeyDeletion {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<(), KmsError> {
        lifecycle::cancel_deletion(call.kms(), &request.key)
    }
}

impl Handle for op::SetDeletionProtection {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: SetDeletionProtectionRequest) -> Result<(), KmsError> {
        lifecycle::set_deletion_protection(call.kms(), &request.key, request.enable_deletion_protection)
    }
}

impl Handle for op::TagResource {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: TagResourceRequest) -> Result<(), KmsError> {
        match &request.resource {
            TaggedResource::Key(key) => lifecycle::tag(call.kms(), key, &request.tags),
            TaggedResource::Secret(name) => secrets::lifecycle::tag(call.kms(), name, &request.tags),
        }
    }
}

impl Handle for op::UntagResource {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UntagResourceRequest) -> Result<(), KmsError> {
        match &request.resource {
            TaggedResource::Key(key) => lifecycle::untag(call.kms(), key, &request.tag_keys),
            TaggedResource::Secret(name) => secrets::lifecycle::untag(call.kms(), name, &request.tag_keys),
        }
    }
}
