//! Bring your own key: import parameters, imported material, its deletion.

use p11kms_proto::admin::{GetParametersForImportRequest, ImportKeyMaterialRequest, ImportParameters, KeyRef, op};

use super::{Access, Call, Handle};
use crate::kms::KmsError;
use crate::kms::keys::import;

impl Handle for op::GetParametersForImport {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: GetParametersForImportRequest) -> Result<ImportParameters, KmsError> {
        import::get_parameters(call.kms(), &request.key, request.wrapping_algorithm, request.wrapping_key_spec)
    }
}

impl Handle for op::ImportKeyMaterial {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ImportKeyMaterialRequest) -> Result<(), KmsError> {
        import::import(call.kms(), &request)
    }
}

impl Handle for op::DeleteKeyMaterial {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<(), KmsError> {
        import::delete_material(call.kms(), &request.key)
    }
}
