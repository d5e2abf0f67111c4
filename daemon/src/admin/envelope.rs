//! Envelope encryption with symmetric keys, and data keys (also exported
//! under a caller's RSA public key).

use p11kms_proto::admin::{
    BatchOutcome, DataKey, DecryptRequest, Decrypted, EncryptRequest, Encrypted, ExportDataKeyRequest, ExportedDataKey,
    GenerateAndExportDataKeyRequest, GenerateDataKeyRequest, GeneratedExportedDataKey, ReEncryptRequest, ReEncrypted,
    op,
};

use super::{Access, Call, Handle};
use crate::kms::{KmsError, envelope, export};

impl Handle for op::Encrypt {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: EncryptRequest) -> Result<Encrypted, KmsError> {
        envelope::encrypt(call.kms(), &request)
    }
}

impl Handle for op::Decrypt {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: DecryptRequest) -> Result<Decrypted, KmsError> {
        envelope::decrypt(call.kms(), &request)
    }
}

impl Handle for op::ReEncrypt {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: ReEncryptRequest) -> Result<ReEncrypted, KmsError> {
        envelope::re_encrypt(call.kms(), &request)
    }
}

impl Handle for op::ReEncryptBatch {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, items: Vec<ReEncryptRequest>) -> Result<Vec<BatchOutcome>, KmsError> {
        envelope::re_encrypt_batch(call.kms(), &items)
    }
}

impl Handle for op::GenerateDataKey {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: GenerateDataKeyRequest) -> Result<DataKey, KmsError> {
        envelope::generate_data_key(call.kms(), &request, true)
    }
}

impl Handle for op::GenerateDataKeyWithoutPlaintext {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: GenerateDataKeyRequest) -> Result<DataKey, KmsError> {
        envelope::generate_data_key(call.kms(), &request, false)
    }
}

impl Handle for op::GenerateAndExportDataKey {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: GenerateAndExportDataKeyRequest) -> Result<GeneratedExportedDataKey, KmsError> {
        export::generate_and_export(call.kms(), &request)
    }
}

impl Handle for op::ExportDataKey {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: ExportDataKeyRequest) -> Result<ExportedDataKey, KmsError> {
        export::export_data_key(call.kms(), &request)
    }
}
