//! Aliases: second names of keys.

use p11kms_proto::admin::{AliasInfo, AliasRef, AliasRequest, ListAliasesRequest, op};

use super::{Access, Call, Handle};
use crate::kms::{KmsError, aliases};

impl Handle for op::CreateAlias {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: AliasRequest) -> Result<(), KmsError> {
        aliases::create(call.kms(), &request.alias, &request.key)
    }
}

impl Handle for op::UpdateAlias {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: AliasRequest) -> Result<(), KmsError> {
        aliases::update(call.kms(), &request.alias, &request.key)
    }
}

impl Handle for op::DeleteAlias {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: AliasRef) -> Result<(), KmsError> {
        aliases::delete(call.kms(), &request.alias)
    }
}

impl Handle for op::ListAliases {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListAliasesRequest) -> Result<Vec<AliasInfo>, KmsError> {
        aliases::list(call.kms(), request.key.as_deref())
    }
}
