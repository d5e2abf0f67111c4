//! Encryption with RSA key versions and their public keys:
//! `asymmetric-encrypt`, `asymmetric-decrypt` and `get-public-key`.

use clap::Args;
use p11kms_proto::admin::{
    AsymmetricDecryptRequest, AsymmetricEncryptRequest, Decrypted, Encrypted, GetPublicKeyRequest, PublicKeyInfo, op,
};

use super::super::{Invocation, RenderError, RequestError, values};
use super::envelope::{decrypted_fields, encrypted_fields};
use super::inputs::{EncryptingKey, PlaintextArg};
use crate::output::{self, Format};

/// `asymmetric-encrypt`.
#[derive(Debug, Args)]
pub struct AsymmetricEncryptArgs {
    #[command(flatten)]
    key: EncryptingKey,
    #[command(flatten)]
    plaintext: PlaintextArg,
}

impl Invocation for AsymmetricEncryptArgs {
    type Op = op::AsymmetricEncrypt;

    fn request(&self) -> Result<AsymmetricEncryptRequest, RequestError> {
        Ok(AsymmetricEncryptRequest {
            key: self.key.key_id.clone(),
            key_version_id: self.key.key_version_id.clone(),
            algorithm: self.key.algorithm,
            plaintext: self.plaintext.bytes(),
        })
    }

    fn render(&self, encrypted: &Encrypted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, encrypted, encrypted_fields)?)
    }
}

/// `asymmetric-decrypt`.
#[derive(Debug, Args)]
pub struct AsymmetricDecryptArgs {
    #[command(flatten)]
    key: EncryptingKey,
    /// The ciphertext, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    ciphertext_blob: values::Bytes,
}

impl Invocation for AsymmetricDecryptArgs {
    type Op = op::AsymmetricDecrypt;

    fn request(&self) -> Result<AsymmetricDecryptRequest, RequestError> {
        Ok(AsymmetricDecryptRequest {
            key: self.key.key_id.clone(),
            key_version_id: self.key.key_version_id.clone(),
            algorithm: self.key.algorithm,
            ciphertext_blob: self.ciphertext_blob.0.clone(),
        })
    }

    fn render(&self, decrypted: &Decrypted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, decrypted, decrypted_fields)?)
    }
}

/// `get-public-key`.
#[derive(Debug, Args)]
pub struct GetPublicKeyArgs {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    /// The version; the primary when absent.
    #[arg(long, value_name = "VERSION")]
    key_version_id: Option<String>,
}

impl Invocation for GetPublicKeyArgs {
    type Op = op::GetPublicKey;

    fn request(&self) -> Result<GetPublicKeyRequest, RequestError> {
        Ok(GetPublicKeyRequest { key: self.key_id.clone(), key_version_id: self.key_version_id.clone() })
    }

    /// The PEM as it is, for humans.
    fn render(&self, public_key: &PublicKeyInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, public_key, |p| output::block(&p.public_key))?)
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::SecretBytes;
    use p11kms_proto::admin::{AsymmetricAlgorithm, SigningAlgorithm, VerifyRequest};
    use p11kms_proto::bytes::from_base64;

    use super::super::super::test_support::{human, json, refused, request};
    use super::super::signatures::VerifyArgs;
    use super::super::signatures::tests::SHA256_ABC;
    use super::*;

    #[test]
    fn verify_asymmetric_and_public_key_parse_to_requests() {
        assert_eq!(
            request::<VerifyArgs>(&[
                "verify",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "rsa_pss_sha_256",
                "--message",
                "abc",
                "--value",
                "CQk=",
            ]),
            VerifyRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: SigningAlgorithm::RsaPssSha256,
                digest: from_base64(SHA256_ABC).expect("b64"),
                value: vec![9, 9],
            }
        );
        refused(&[
            "verify",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "a",
        ]);
        assert_eq!(
            request::<AsymmetricEncryptArgs>(&[
                "asymmetric-encrypt",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--plaintext",
                "hi",
            ]),
            AsymmetricEncryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
                plaintext: SecretBytes::from("hi"),
            }
        );
        assert_eq!(
            request::<AsymmetricDecryptArgs>(&[
                "asymmetric-decrypt",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "RSAES_OAEP_SHA_1",
                "--ciphertext-blob",
                "BQU=",
            ]),
            AsymmetricDecryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
                ciphertext_blob: vec![5, 5],
            }
        );
        assert_eq!(
            request::<GetPublicKeyArgs>(&["get-public-key", "--key-id", "k"]),
            GetPublicKeyRequest { key: "k".into(), key_version_id: None }
        );
        assert_eq!(
            request::<GetPublicKeyArgs>(&["get-public-key", "--key-id", "k", "--key-version-id", "v"]),
            GetPublicKeyRequest { key: "k".into(), key_version_id: Some("v".into()) }
        );
        refused(&["get-public-key", "k"]);
    }

    #[test]
    fn the_public_key_prints_as_pem() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ==\n-----END PUBLIC KEY-----\n";
        let reply = PublicKeyInfo { key_id: "k".into(), key_version_id: "v".into(), public_key: pem.into() };
        let args = &["get-public-key", "--key-id", "k"];
        assert_eq!(human::<GetPublicKeyArgs>(args, &reply), pem);
        assert_eq!(
            json::<GetPublicKeyArgs>(args, &reply),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "PublicKey": pem})
        );
    }
}
