//! Data keys exported under the caller's RSA public key:
//! `generate-and-export-data-key` (a new data key, returned under the KMS
//! key and under the public key) and `export-data-key` (the data key of a
//! ciphertext blob, under the public key). The data key never comes back
//! in clear: whoever holds the private key decrypts `ExportedDataKey`.
//!
//! The public key is the API's `PublicKeyBlob`, a DER
//! SubjectPublicKeyInfo: given as base64 (`--public-key-blob`), or read
//! from a PEM or DER file (`--public-key-file`, what `openssl pkey
//! -pubout` writes), which the CLI turns into the same DER.

use std::path::{Path, PathBuf};

use clap::Args;
use p11kms_proto::admin::{
    ExportDataKeyRequest, ExportWrappingKeySpec, ExportedDataKey, GenerateAndExportDataKeyRequest,
    GeneratedExportedDataKey, WrappingAlgorithm, op,
};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::{from_base64, to_base64};

use super::super::values::{self, named_value};
use super::super::{Invocation, RenderError, RequestError};
use super::inputs::DataKeySize;
use crate::output::{self, Fields, Format};

/// The PEM label of a SubjectPublicKeyInfo (RFC 7468).
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// The caller's public key: base64 DER, or a file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PublicKeyArg {
    /// The RSA public key, as the base64 of a DER SubjectPublicKeyInfo (the API's PublicKeyBlob).
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    public_key_blob: Option<values::Bytes>,
    /// The RSA public key from a file: PEM (`-----BEGIN PUBLIC KEY-----`) or DER SubjectPublicKeyInfo.
    #[arg(long, value_name = "PEM_OR_DER")]
    public_key_file: Option<PathBuf>,
}

impl PublicKeyArg {
    /// The DER SubjectPublicKeyInfo to send.
    fn der(&self) -> Result<Vec<u8>, RequestError> {
        match (&self.public_key_blob, &self.public_key_file) {
            (Some(blob), _) => Ok(blob.0.clone()),
            (None, Some(path)) => {
                let bytes = std::fs::read(path).map_err(|source| RequestError::Read { path: path.clone(), source })?;
                public_key_der(path, &bytes)
            }
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// The DER of a public key file: the body of its `PUBLIC KEY` PEM block,
/// or the file itself when it is not PEM. The daemon checks what the DER
/// holds; here only the armour is read, with a hint for the files people
/// mistake for a public key.
pub(crate) fn public_key_der(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, RequestError> {
    let invalid = |why: String| RequestError::Invalid(format!("{}: {why}", path.display()));
    let Some(text) = std::str::from_utf8(bytes).ok().filter(|t| t.contains("-----BEGIN ")) else {
        // Not PEM: DER as it is.
        return Ok(bytes.to_vec());
    };
    let begin = format!("-----BEGIN {PUBLIC_KEY_LABEL}-----");
    let end = format!("-----END {PUBLIC_KEY_LABEL}-----");
    let Some((_, after)) = text.split_once(&begin) else {
        let label = text
            .split_once("-----BEGIN ")
            .and_then(|(_, rest)| rest.split_once("-----"))
            .map_or("", |(label, _)| label);
        let hint = if label.contains("PRIVATE KEY") {
            "it is a private key, which must not leave your hands: give its public key \
             (openssl pkey -in KEY.pem -pubout -out PUBLIC.pem)"
        } else if label == "RSA PUBLIC KEY" {
            "it is a PKCS#1 RSAPublicKey: convert it (openssl rsa -RSAPublicKey_in -in FILE -pubout)"
        } else {
            "give a SubjectPublicKeyInfo (openssl pkey -pubout writes one)"
        };
        return Err(invalid(format!("not a PEM '{PUBLIC_KEY_LABEL}' but '{label}': {hint}")));
    };
    let Some((body, _)) = after.split_once(&end) else {
        return Err(invalid(format!("the PEM block has no '{end}' line")));
    };
    let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    from_base64(&base64).map_err(|e| invalid(format!("the PEM body is not base64: {e}")))
}

/// How the data key is encrypted under the public key, and the key.
#[derive(Debug, Args)]
pub struct WrappingArgs {
    #[command(flatten)]
    public_key: PublicKeyArg,
    /// RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1 (OAEP with MGF1 of the same hash) or RSAES_PKCS1_V1_5.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(WrappingAlgorithm::ALL, WrappingAlgorithm::as_str))]
    wrapping_algorithm: WrappingAlgorithm,
    /// The public key's size: RSA_2048, RSA_3072 or RSA_4096.
    #[arg(long, value_name = "SPEC", ignore_case = true, value_parser = named_value(ExportWrappingKeySpec::ALL, ExportWrappingKeySpec::as_str))]
    wrapping_key_spec: ExportWrappingKeySpec,
}

/// `generate-and-export-data-key`.
#[derive(Debug, Args)]
pub struct GenerateAndExportDataKeyArgs {
    /// Key id or alias of a symmetric key.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    #[command(flatten)]
    size: DataKeySize,
    /// A JSON object of strings bound to the data key's ciphertext blob.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
    #[command(flatten)]
    wrapping: WrappingArgs,
}

impl Invocation for GenerateAndExportDataKeyArgs {
    type Op = op::GenerateAndExportDataKey;

    fn request(&self) -> Result<GenerateAndExportDataKeyRequest, RequestError> {
        Ok(GenerateAndExportDataKeyRequest {
            key: self.key_id.clone(),
            key_spec: self.size.key_spec,
            number_of_bytes: self.size.number_of_bytes,
            encryption_context: self.encryption_context.clone().unwrap_or_default(),
            public_key_blob: self.wrapping.public_key.der()?,
            wrapping_algorithm: self.wrapping.wrapping_algorithm,
            wrapping_key_spec: self.wrapping.wrapping_key_spec,
        })
    }

    fn render(&self, key: &GeneratedExportedDataKey, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, |k| {
            Fields::new()
                .field("KeyId", &k.key_id)
                .field("KeyVersionId", &k.key_version_id)
                .field("CiphertextBlob", to_base64(&k.ciphertext_blob))
                .field("ExportedDataKey", to_base64(&k.exported_data_key))
                .render()
        })?)
    }
}

/// `export-data-key`.
#[derive(Debug, Args)]
pub struct ExportDataKeyArgs {
    /// The data key's ciphertext blob, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    ciphertext_blob: values::Bytes,
    /// The context the blob was made with.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
    #[command(flatten)]
    wrapping: WrappingArgs,
}

impl Invocation for ExportDataKeyArgs {
    type Op = op::ExportDataKey;

    fn request(&self) -> Result<ExportDataKeyRequest, RequestError> {
        Ok(ExportDataKeyRequest {
            ciphertext_blob: self.ciphertext_blob.0.clone(),
            encryption_context: self.encryption_context.clone().unwrap_or_default(),
            public_key_blob: self.wrapping.public_key.der()?,
            wrapping_algorithm: self.wrapping.wrapping_algorithm,
            wrapping_key_spec: self.wrapping.wrapping_key_spec,
        })
    }

    fn render(&self, key: &ExportedDataKey, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, |k| {
            Fields::new()
                .field("ExportedDataKey", to_base64(&k.exported_data_key))
                .field("KeyId", &k.key_id)
                .field("KeyVersionId", &k.key_version_id)
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::DataKeySpec;

    use super::super::super::test_support::{human, json, parsed, refused, request, temp_dir};
    use super::*;

    /// A few DER bytes standing for a public key (the CLI does not read it).
    const DER: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x05];

    fn generate_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "generate-and-export-data-key",
            "--key-id",
            "alias/k",
            "--public-key-blob",
            "MAMCAQU=",
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_256",
            "--wrapping-key-spec",
            "RSA_2048",
        ];
        args.extend_from_slice(extra);
        args
    }

    #[test]
    fn generate_and_export_takes_the_data_key_arguments_and_the_wrapping() {
        let r = request::<GenerateAndExportDataKeyArgs>(&generate_args(&[
            "--key-spec",
            "aes_128",
            "--encryption-context",
            r#"{"app":"x"}"#,
        ]));
        assert_eq!(
            r,
            GenerateAndExportDataKeyRequest {
                key: "alias/k".into(),
                key_spec: Some(DataKeySpec::Aes128),
                number_of_bytes: None,
                encryption_context: [("app".to_owned(), "x".to_owned())].into_iter().collect(),
                public_key_blob: DER.to_vec(),
                wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
                wrapping_key_spec: ExportWrappingKeySpec::Rsa2048,
            }
        );
        let r = request::<GenerateAndExportDataKeyArgs>(&generate_args(&["--number-of-bytes", "24"]));
        assert_eq!((r.key_spec, r.number_of_bytes), (None, Some(24)));
        refused(&generate_args(&["--key-spec", "AES_256", "--number-of-bytes", "8"]));
        let small: Vec<&str> =
            generate_args(&[]).into_iter().map(|a| if a == "RSA_2048" { "RSA_1024" } else { a }).collect();
        let err = refused(&small);
        assert!(err.to_string().contains("RSA_4096"), "{err}");
        let err =
            refused(&["generate-and-export-data-key", "--key-id", "k", "--wrapping-algorithm", "RSAES_PKCS1_V1_5"]);
        assert!(err.to_string().contains("--public-key-blob") || err.to_string().contains("required"), "{err}");
        let no_algorithm =
            ["generate-and-export-data-key", "--key-id", "k", "--public-key-blob", "AA==", "--wrapping-key-spec"];
        refused(&[&no_algorithm[..], &["RSA_2048"]].concat());
    }

    #[test]
    fn the_public_key_is_base64_or_a_pem_or_der_file_but_not_both() {
        let dir = temp_dir();
        let pem = dir.path().join("public.pem");
        std::fs::write(&pem, format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", to_base64(DER)))
            .expect("write");
        let der = dir.path().join("public.der");
        std::fs::write(&der, DER).expect("write");
        for file in [&pem, &der] {
            let path = file.to_str().expect("utf-8");
            let args = [
                "export-data-key",
                "--ciphertext-blob",
                "AQID",
                "--public-key-file",
                path,
                "--wrapping-algorithm",
                "rsaes_pkcs1_v1_5",
                "--wrapping-key-spec",
                "RSA_3072",
            ];
            assert_eq!(
                request::<ExportDataKeyArgs>(&args),
                ExportDataKeyRequest {
                    ciphertext_blob: vec![1, 2, 3],
                    encryption_context: EncryptionContext::new(),
                    public_key_blob: DER.to_vec(),
                    wrapping_algorithm: WrappingAlgorithm::RsaesPkcs1V15,
                    wrapping_key_spec: ExportWrappingKeySpec::Rsa3072,
                },
                "{path}"
            );
        }
        let both = generate_args(&["--public-key-file", pem.to_str().expect("utf-8")]);
        refused(&both);
    }

    #[test]
    fn files_that_are_not_a_public_key_are_refused_with_a_hint() {
        let dir = temp_dir();
        let cases = [
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "pkey -in KEY.pem -pubout"),
            ("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n", "-RSAPublicKey_in"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "'CERTIFICATE'"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n", "no '-----END PUBLIC KEY-----'"),
            ("-----BEGIN PUBLIC KEY-----\n%%%%\n-----END PUBLIC KEY-----\n", "not base64"),
        ];
        for (index, (content, expected)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("key{index}.pem"));
            std::fs::write(&path, content).expect("write");
            let path = path.to_str().expect("utf-8");
            let args = generate_args(&[]);
            let args: Vec<&str> = args
                .iter()
                .copied()
                .map(|a| if a == "--public-key-blob" { "--public-key-file" } else { a })
                .map(|a| if a == "MAMCAQU=" { path } else { a })
                .collect();
            let error = parsed::<GenerateAndExportDataKeyArgs>(&args).request().expect_err("refused");
            let text = error.to_string();
            assert!(text.contains(expected) && text.contains(path), "{content}: {text}");
        }
        let missing = dir.path().join("missing.pem");
        let error = public_key_file_request(missing.to_str().expect("utf-8"));
        assert!(matches!(error, RequestError::Read { .. }), "{error}");
    }

    fn public_key_file_request(path: &str) -> RequestError {
        let args = [
            "export-data-key",
            "--ciphertext-blob",
            "AQID",
            "--public-key-file",
            path,
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_1",
            "--wrapping-key-spec",
            "RSA_2048",
        ];
        parsed::<ExportDataKeyArgs>(&args).request().expect_err("refused")
    }

    #[test]
    fn replies_render_in_the_api_shape() {
        let generated = GeneratedExportedDataKey {
            key_id: "k".into(),
            key_version_id: "v".into(),
            ciphertext_blob: vec![1],
            exported_data_key: vec![2],
        };
        let args = generate_args(&[]);
        assert_eq!(
            human::<GenerateAndExportDataKeyArgs>(&args, &generated),
            "KeyId:           k\nKeyVersionId:    v\nCiphertextBlob:  AQ==\nExportedDataKey: Ag==\n"
        );
        assert_eq!(
            json::<GenerateAndExportDataKeyArgs>(&args, &generated),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ==", "ExportedDataKey": "Ag=="})
        );
        let exported = ExportedDataKey { exported_data_key: vec![3], key_id: "k".into(), key_version_id: "v".into() };
        let args = [
            "export-data-key",
            "--ciphertext-blob",
            "AQID",
            "--public-key-blob",
            "AA==",
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_1",
            "--wrapping-key-spec",
            "RSA_4096",
        ];
        assert_eq!(
            human::<ExportDataKeyArgs>(&args, &exported),
            "ExportedDataKey: Aw==\nKeyId:           k\nKeyVersionId:    v\n"
        );
        assert_eq!(
            json::<ExportDataKeyArgs>(&args, &exported),
            serde_json::json!({"ExportedDataKey": "Aw==", "KeyId": "k", "KeyVersionId": "v"})
        );
    }
}
