//! Data keys for envelope encryption: `generate-data-key` (returned in
//! clear and encrypted) and `generate-data-key-without-plaintext`
//! (encrypted only). The two take the same arguments; which operation is
//! called decides whether the plaintext comes back.

use clap::Args;
use p11kms_proto::admin::{DataKey, GenerateDataKeyRequest, op};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::to_base64;

use super::super::{Invocation, RenderError, RequestError, values};
use super::inputs::DataKeySize;
use crate::output::{self, Fields, Format};

/// The arguments of both data key commands.
#[derive(Debug, Args)]
pub struct DataKeyArgs {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    #[command(flatten)]
    size: DataKeySize,
    /// A JSON object of strings bound to the encrypted data key.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
}

impl DataKeyArgs {
    fn request(&self) -> GenerateDataKeyRequest {
        GenerateDataKeyRequest {
            key: self.key_id.clone(),
            key_spec: self.size.key_spec,
            number_of_bytes: self.size.number_of_bytes,
            encryption_context: self.encryption_context.clone().unwrap_or_default(),
        }
    }
}

/// `generate-data-key`.
#[derive(Debug, Args)]
pub struct GenerateDataKeyArgs {
    #[command(flatten)]
    args: DataKeyArgs,
}

impl Invocation for GenerateDataKeyArgs {
    type Op = op::GenerateDataKey;

    fn request(&self) -> Result<GenerateDataKeyRequest, RequestError> {
        Ok(self.args.request())
    }

    fn render(&self, key: &DataKey, format: Format) -> Result<String, RenderError> {
        Ok(data_key(format, key)?)
    }
}

/// `generate-data-key-without-plaintext`.
#[derive(Debug, Args)]
pub struct GenerateDataKeyWithoutPlaintextArgs {
    #[command(flatten)]
    args: DataKeyArgs,
}

impl Invocation for GenerateDataKeyWithoutPlaintextArgs {
    type Op = op::GenerateDataKeyWithoutPlaintext;

    fn request(&self) -> Result<GenerateDataKeyRequest, RequestError> {
        Ok(self.args.request())
    }

    fn render(&self, key: &DataKey, format: Format) -> Result<String, RenderError> {
        Ok(data_key(format, key)?)
    }
}

/// A data key; in JSON without `Plaintext` when it has none, as the API's
/// GenerateDataKeyWithoutPlaintext answers.
fn data_key(format: Format, key: &DataKey) -> Result<String, serde_json::Error> {
    if format == Format::Json && key.plaintext.is_none() {
        let mut shape = serde_json::to_value(key)?;
        if let Some(fields) = shape.as_object_mut() {
            fields.remove("Plaintext");
        }
        return output::json(&shape);
    }
    output::show(format, key, |k| {
        let mut fields = Fields::new()
            .field("KeyId", &k.key_id)
            .field("KeyVersionId", &k.key_version_id)
            .field("CiphertextBlob", to_base64(&k.ciphertext_blob));
        if let Some(plain) = &k.plaintext {
            fields = fields.field("Plaintext", to_base64(plain.expose()));
        }
        fields.render()
    })
}

#[cfg(test)]
mod tests {
    use p11kms_proto::SecretBytes;
    use p11kms_proto::admin::{DataKeySpec, Operation};

    use super::super::super::test_support::{human, json, parsed, refused, request};
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn data_key_sizes_are_exclusive_and_optional() {
        let r = request::<GenerateDataKeyArgs>(&[
            "generate-data-key",
            "--key-id",
            "k",
            "--encryption-context",
            r#"{"f":"a"}"#,
        ]);
        assert_eq!(
            r,
            GenerateDataKeyRequest {
                key: "k".into(),
                key_spec: None,
                number_of_bytes: None,
                encryption_context: context(&[("f", "a")]),
            },
            "no size: the daemon's default (AES_256)"
        );
        let r = request::<GenerateDataKeyArgs>(&["generate-data-key", "--key-id", "k", "--key-spec", "aes_128"]);
        assert_eq!((r.key_spec, r.number_of_bytes), (Some(DataKeySpec::Aes128), None));
        let without = &["generate-data-key-without-plaintext", "--key-id", "k", "--number-of-bytes", "64"];
        let r = request::<GenerateDataKeyWithoutPlaintextArgs>(without);
        assert_eq!((r.key_spec, r.number_of_bytes), (None, Some(64)));
        // With or without the plaintext is the operation called.
        assert_eq!(
            <<GenerateDataKeyArgs as Invocation>::Op as Operation>::OPCODE,
            op::GenerateDataKey::OPCODE,
            "generate-data-key returns the plaintext"
        );
        assert_eq!(
            <<GenerateDataKeyWithoutPlaintextArgs as Invocation>::Op as Operation>::OPCODE,
            op::GenerateDataKeyWithoutPlaintext::OPCODE,
            "generate-data-key-without-plaintext does not"
        );
        parsed::<GenerateDataKeyWithoutPlaintextArgs>(without);
        refused(&["generate-data-key", "--key-id", "k", "--key-spec", "AES_128", "--number-of-bytes", "8"]);
        let err = refused(&["generate-data-key-without-plaintext", "--key-id", "k", "--key-spec", "AES_512"]);
        assert!(err.to_string().contains("AES_256") && err.to_string().contains("AES_128"), "{err}");
    }

    #[test]
    fn data_keys_render_with_and_without_plaintext() {
        let reply = |plaintext: Option<&[u8]>| DataKey {
            key_id: "k".into(),
            key_version_id: "v".into(),
            ciphertext_blob: vec![1],
            plaintext: plaintext.map(|p| SecretBytes::new(p.to_vec())),
        };
        let with = &["generate-data-key", "--key-id", "k"];
        let without = &["generate-data-key-without-plaintext", "--key-id", "k"];
        assert_eq!(
            human::<GenerateDataKeyArgs>(with, &reply(Some(&[0, 1]))),
            "KeyId:          k\nKeyVersionId:   v\nCiphertextBlob: AQ==\nPlaintext:      AAE=\n"
        );
        assert_eq!(
            json::<GenerateDataKeyArgs>(with, &reply(Some(&[0, 1]))),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ==", "Plaintext": "AAE="})
        );
        assert!(!human::<GenerateDataKeyWithoutPlaintextArgs>(without, &reply(None)).contains("Plaintext"));
        assert_eq!(
            json::<GenerateDataKeyWithoutPlaintextArgs>(without, &reply(None)),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ=="}),
            "no Plaintext field at all, as GenerateDataKeyWithoutPlaintext answers"
        );
    }
}
