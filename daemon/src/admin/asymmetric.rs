//! Operations with asymmetric keys.

use p11kms_proto::admin::{
    AsymmetricDecryptRequest, AsymmetricEncryptRequest, Decrypted, Encrypted, GetPublicKeyRequest, PublicKeyInfo,
    SignRequest, Signature, Verified, VerifyRequest, op,
};

use super::{Access, Call, Handle};
use crate::kms::{KmsError, asymmetric};

impl Handle for op::AsymmetricSign {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: SignRequest) -> Result<Signature, KmsError> {
        asymmetric::sign(call.kms(), &request)
    }
}

impl Handle for op::AsymmetricVerify {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: VerifyRequest) -> Result<Verified, KmsError> {
        asymmetric::verify(call.kms(), &request)
    }
}

impl Handle for op::AsymmetricEncrypt {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: AsymmetricEncryptRequest) -> Result<Encrypted, KmsError> {
        asymmetric::encrypt(call.kms(), &request)
    }
}

impl Handle for op::AsymmetricDecrypt {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: AsymmetricDecryptRequest) -> Result<Decrypted, KmsError> {
        asymmetric::decrypt(call.kms(), &request)
    }
}

impl Handle for op::GetPublicKey {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: GetPublicKeyRequest) -> Result<PublicKeyInfo, KmsError> {
        asymmetric::public_key(call.kms(), &request.key, request.key_version_id.as_deref())
    }
}
