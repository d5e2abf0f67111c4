//! Bring your own key: `key get-parameters-for-import` (a wrapping key and
//! a token), `key import-key-material` and `key delete-key-material`, for
//! keys of origin EXTERNAL.

use clap::Args;
use p11kms_proto::admin::{
    GetParametersForImportRequest, ImportKeyMaterialRequest, ImportParameters, KeyRef, WrappingAlgorithm,
    WrappingKeySpec, op,
};

use super::super::values::{self, named_value};
use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format};

/// `key get-parameters-for-import KEY --wrapping-algorithm A`.
#[derive(Debug, Args)]
pub struct GetParametersForImportArgs {
    /// Key id or alias of an EXTERNAL key.
    #[arg(value_name = "KEY")]
    key: String,
    /// How you will wrap the material.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(WrappingAlgorithm::ALL, WrappingAlgorithm::as_str))]
    wrapping_algorithm: WrappingAlgorithm,
    /// The wrapping key's kind.
    #[arg(long, value_name = "SPEC", default_value = "RSA_2048", ignore_case = true, value_parser = named_value(WrappingKeySpec::ALL, WrappingKeySpec::as_str))]
    wrapping_key_spec: WrappingKeySpec,
}

impl Invocation for GetParametersForImportArgs {
    type Op = op::GetParametersForImport;

    fn request(&self) -> Result<GetParametersForImportRequest, RequestError> {
        Ok(GetParametersForImportRequest {
            key: self.key.clone(),
            wrapping_algorithm: self.wrapping_algorithm,
            wrapping_key_spec: self.wrapping_key_spec,
        })
    }

    fn render(&self, params: &ImportParameters, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, params, import_fields)?)
    }
}

/// `key import-key-material KEY --import-token T --encrypted-key-material B`.
#[derive(Debug, Args)]
pub struct ImportKeyMaterialArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// The token from get-parameters-for-import.
    #[arg(long, value_name = "TOKEN")]
    import_token: String,
    /// The material wrapped under the token's public key, in base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    encrypted_key_material: values::Bytes,
    /// When the material expires (Unix seconds); never when absent or 0.
    #[arg(long, value_name = "UNIX")]
    key_material_expire_unix: Option<i64>,
}

impl Invocation for ImportKeyMaterialArgs {
    type Op = op::ImportKeyMaterial;

    fn request(&self) -> Result<ImportKeyMaterialRequest, RequestError> {
        Ok(ImportKeyMaterialRequest {
            key: self.key.clone(),
            import_token: self.import_token.clone(),
            encrypted_key_material: self.encrypted_key_material.0.clone(),
            key_material_expire_unix: self.key_material_expire_unix,
        })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Key material imported into '{}'.", self.key))?)
    }
}

/// `key delete-key-material KEY`.
#[derive(Debug, Args)]
pub struct DeleteKeyMaterialArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for DeleteKeyMaterialArgs {
    type Op = op::DeleteKeyMaterial;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Key material of '{}' deleted.", self.key))?)
    }
}

/// The token's fields, then the wrapping key's PEM as it is.
fn import_fields(params: &ImportParameters) -> String {
    let mut text = Fields::new()
        .field("KeyId", &params.key_id)
        .field("ImportToken", &params.import_token)
        .field("TokenExpireTime", params.token_expire_time)
        .render();
    text.push_str(&output::block(&params.public_key));
    text
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;

    use super::super::super::test_support::{human, json, refused, request};
    use super::*;

    #[test]
    fn import_commands_parse_to_requests() {
        assert_eq!(
            request::<GetParametersForImportArgs>(&[
                "key",
                "get-parameters-for-import",
                "k",
                "--wrapping-algorithm",
                "RSAES_OAEP_SHA_256"
            ]),
            GetParametersForImportRequest {
                key: "k".into(),
                wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            }
        );
        assert_eq!(
            request::<GetParametersForImportArgs>(&[
                "key",
                "get-parameters-for-import",
                "k",
                "--wrapping-algorithm",
                "rsaes_pkcs1_v1_5",
                "--wrapping-key-spec",
                "RSA_2048",
            ]),
            GetParametersForImportRequest {
                key: "k".into(),
                wrapping_algorithm: WrappingAlgorithm::RsaesPkcs1V15,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            }
        );
        let err = refused(&["key", "get-parameters-for-import", "k", "--wrapping-algorithm", "AES_WRAP"]);
        for algorithm in WrappingAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
        refused(&["key", "get-parameters-for-import", "k"]);
        refused(&[
            "key",
            "get-parameters-for-import",
            "k",
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_1",
            "--wrapping-key-spec",
            "RSA_4096",
        ]);
        assert_eq!(
            request::<ImportKeyMaterialArgs>(&[
                "key",
                "import-key-material",
                "k",
                "--import-token",
                "tok",
                "--encrypted-key-material",
                "AQID",
                "--key-material-expire-unix",
                "2000000000",
            ]),
            ImportKeyMaterialRequest {
                key: "k".into(),
                import_token: "tok".into(),
                encrypted_key_material: vec![1, 2, 3],
                key_material_expire_unix: Some(2_000_000_000),
            }
        );
        let import = request::<ImportKeyMaterialArgs>(&[
            "key",
            "import-key-material",
            "k",
            "--import-token",
            "t",
            "--encrypted-key-material",
            "AA==",
        ]);
        assert_eq!(import.key_material_expire_unix, None);
        refused(&["key", "import-key-material", "k", "--import-token", "t", "--encrypted-key-material", "%%"]);
        refused(&["key", "import-key-material", "k", "--encrypted-key-material", "AA=="]);
        assert_eq!(request::<DeleteKeyMaterialArgs>(&["key", "delete-key-material", "k"]), KeyRef { key: "k".into() });
    }

    #[test]
    fn import_parameters_print_fields_then_the_pem() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----";
        let params = ImportParameters {
            key_id: "k".into(),
            import_token: "tok".into(),
            public_key: pem.into(),
            token_expire_time: Timestamp(86_400),
        };
        let args = &["key", "get-parameters-for-import", "k", "--wrapping-algorithm", "RSAES_OAEP_SHA_1"];
        assert_eq!(
            human::<GetParametersForImportArgs>(args, &params),
            format!("KeyId:           k\nImportToken:     tok\nTokenExpireTime: 1970-01-02T00:00:00Z\n{pem}\n")
        );
        assert_eq!(
            json::<GetParametersForImportArgs>(args, &params),
            serde_json::json!({
                "KeyId": "k", "ImportToken": "tok", "PublicKey": pem, "TokenExpireTime": "1970-01-02T00:00:00Z"
            })
        );
    }
}
