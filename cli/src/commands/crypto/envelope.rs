//! Envelope encryption with symmetric keys: `encrypt`, `decrypt` and
//! `re-encrypt`, and how an encryption's and a decryption's answers print
//! (the asymmetric ones print the same way).

use clap::Args;
use p11kms_proto::admin::{DecryptRequest, Decrypted, EncryptRequest, Encrypted, ReEncryptRequest, ReEncrypted, op};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::to_base64;

use super::super::{Invocation, RenderError, RequestError, values};
use super::inputs::PlaintextArg;
use crate::output::{self, Fields, Format};

/// `encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    #[command(flatten)]
    plaintext: PlaintextArg,
    /// A JSON object of strings bound to the ciphertext.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
}

impl Invocation for EncryptArgs {
    type Op = op::Encrypt;

    fn request(&self) -> Result<EncryptRequest, RequestError> {
        Ok(EncryptRequest {
            key: self.key_id.clone(),
            plaintext: self.plaintext.bytes(),
            encryption_context: self.encryption_context.clone().unwrap_or_default(),
        })
    }

    fn render(&self, encrypted: &Encrypted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, encrypted, encrypted_fields)?)
    }
}

/// `decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The blob, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    ciphertext_blob: values::Bytes,
    /// The context it was encrypted with.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
}

impl Invocation for DecryptArgs {
    type Op = op::Decrypt;

    fn request(&self) -> Result<DecryptRequest, RequestError> {
        Ok(DecryptRequest {
            ciphertext_blob: self.ciphertext_blob.0.clone(),
            encryption_context: self.encryption_context.clone().unwrap_or_default(),
        })
    }

    fn render(&self, decrypted: &Decrypted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, decrypted, decrypted_fields)?)
    }
}

/// `re-encrypt`.
#[derive(Debug, Args)]
pub struct ReEncryptArgs {
    /// The blob, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    ciphertext_blob: values::Bytes,
    /// Key to encrypt with; the blob's own key when absent.
    #[arg(long, value_name = "KEY")]
    destination_key_id: Option<String>,
    /// The context the blob was made with.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    source_encryption_context: Option<EncryptionContext>,
    /// The context to bind to the new blob.
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    destination_encryption_context: Option<EncryptionContext>,
}

impl Invocation for ReEncryptArgs {
    type Op = op::ReEncrypt;

    fn request(&self) -> Result<ReEncryptRequest, RequestError> {
        Ok(ReEncryptRequest {
            ciphertext_blob: self.ciphertext_blob.0.clone(),
            destination_key: self.destination_key_id.clone(),
            source_encryption_context: self.source_encryption_context.clone().unwrap_or_default(),
            destination_encryption_context: self.destination_encryption_context.clone().unwrap_or_default(),
        })
    }

    fn render(&self, reencrypted: &ReEncrypted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, reencrypted, reencrypted_fields)?)
    }
}

/// A ciphertext and the key version that made it.
pub(super) fn encrypted_fields(e: &Encrypted) -> String {
    Fields::new()
        .field("KeyId", &e.key_id)
        .field("KeyVersionId", &e.key_version_id)
        .field("CiphertextBlob", to_base64(&e.ciphertext_blob))
        .render()
}

/// Decrypted plaintext for humans: as text when it is UTF-8 that prints as
/// it is (no control characters, no trailing blanks a line would hide),
/// else as base64 under another name.
pub(super) fn decrypted_fields(d: &Decrypted) -> String {
    let bytes = d.plaintext.expose();
    let fields = Fields::new().field("KeyId", &d.key_id).field("KeyVersionId", &d.key_version_id);
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) && text.trim_end() == text => {
            fields.field("Plaintext", text).render()
        }
        _ => fields.field("Plaintext (base64)", to_base64(bytes)).render(),
    }
}

fn reencrypted_fields(r: &ReEncrypted) -> String {
    Fields::new()
        .field("SourceKeyId", &r.source_key_id)
        .field("SourceKeyVersionId", &r.source_key_version_id)
        .field("KeyId", &r.key_id)
        .field("KeyVersionId", &r.key_version_id)
        .field("CiphertextBlob", to_base64(&r.ciphertext_blob))
        .render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::SecretBytes;

    use super::super::super::test_support::{human, json, refused, request};
    use super::super::asymmetric::{AsymmetricDecryptArgs, AsymmetricEncryptArgs};
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn encrypted_reply() -> Encrypted {
        Encrypted { key_id: "k".into(), key_version_id: "v".into(), ciphertext_blob: vec![1, 2] }
    }

    fn decrypted_reply(bytes: &[u8]) -> Decrypted {
        Decrypted { key_id: "k".into(), key_version_id: "v".into(), plaintext: SecretBytes::new(bytes.to_vec()) }
    }

    const ENCRYPT: &[&str] = &["encrypt", "--key-id", "k", "--plaintext", "x"];
    const DECRYPT: &[&str] = &["decrypt", "--ciphertext-blob", "AA=="];
    const ASYM_DECRYPT: &[&str] = &[
        "asymmetric-decrypt",
        "--key-id",
        "k",
        "--key-version-id",
        "v",
        "--algorithm",
        "RSAES_OAEP_SHA_1",
        "--ciphertext-blob",
        "AA==",
    ];

    #[test]
    fn encrypt_takes_text_or_base64_and_a_context() {
        assert_eq!(
            request::<EncryptArgs>(&[
                "encrypt",
                "--key-id",
                "alias/k",
                "--plaintext",
                "héllo",
                "--encryption-context",
                r#"{"a":"1"}"#
            ]),
            EncryptRequest {
                key: "alias/k".into(),
                plaintext: SecretBytes::new("héllo".as_bytes().to_vec()),
                encryption_context: context(&[("a", "1")]),
            }
        );
        assert_eq!(
            request::<EncryptArgs>(&["encrypt", "--key-id", "k", "--plaintext-base64", "AAH/"]),
            EncryptRequest {
                key: "k".into(),
                plaintext: SecretBytes::new(vec![0, 1, 255]),
                encryption_context: EncryptionContext::new(),
            }
        );
        refused(&["encrypt", "--key-id", "k"]);
        refused(&["encrypt", "--plaintext", "a"]);
        refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--plaintext-base64", "AA=="]);
        let err = refused(&["encrypt", "--key-id", "k", "--plaintext-base64", "%%%"]);
        assert!(err.to_string().contains("not valid base64"), "{err}");
    }

    #[test]
    fn a_context_must_be_a_json_object_of_strings() {
        for bad in ["[1]", r#"{"a":1}"#, "{", "a=b"] {
            let err = refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--encryption-context", bad]);
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(err.to_string().contains("a JSON object of strings"), "{bad}: {err}");
        }
        refused(&["decrypt", "--ciphertext-blob", "AA==", "--encryption-context", "[]"]);
        refused(&["re-encrypt", "--ciphertext-blob", "AA==", "--destination-encryption-context", "{\"a\":null}"]);
    }

    #[test]
    fn decrypt_and_re_encrypt_parse_to_requests() {
        assert_eq!(
            request::<DecryptArgs>(&["decrypt", "--ciphertext-blob", "AQID", "--encryption-context", r#"{"b":"2"}"#]),
            DecryptRequest { ciphertext_blob: vec![1, 2, 3], encryption_context: context(&[("b", "2")]) }
        );
        refused(&["decrypt"]);
        assert_eq!(
            request::<ReEncryptArgs>(&[
                "re-encrypt",
                "--ciphertext-blob",
                "AQID",
                "--destination-key-id",
                "alias/new",
                "--source-encryption-context",
                r#"{"s":"1"}"#,
                "--destination-encryption-context",
                r#"{"d":"2"}"#,
            ]),
            ReEncryptRequest {
                ciphertext_blob: vec![1, 2, 3],
                destination_key: Some("alias/new".into()),
                source_encryption_context: context(&[("s", "1")]),
                destination_encryption_context: context(&[("d", "2")]),
            }
        );
        assert_eq!(
            request::<ReEncryptArgs>(&["re-encrypt", "--ciphertext-blob", "AQID"]),
            ReEncryptRequest {
                ciphertext_blob: vec![1, 2, 3],
                destination_key: None,
                source_encryption_context: EncryptionContext::new(),
                destination_encryption_context: EncryptionContext::new(),
            }
        );
    }

    #[test]
    fn encrypted_replies_render() {
        assert_eq!(
            human::<EncryptArgs>(ENCRYPT, &encrypted_reply()),
            "KeyId:          k\nKeyVersionId:   v\nCiphertextBlob: AQI=\n"
        );
        assert_eq!(
            json::<EncryptArgs>(ENCRYPT, &encrypted_reply()),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQI="})
        );
        let asym = &[
            "asymmetric-encrypt",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "RSAES_OAEP_SHA_1",
            "--plaintext",
            "x",
        ];
        assert!(human::<AsymmetricEncryptArgs>(asym, &encrypted_reply()).ends_with("CiphertextBlob: AQI=\n"));
    }

    #[test]
    fn plaintext_prints_as_text_only_when_it_is_text() {
        assert_eq!(
            human::<DecryptArgs>(DECRYPT, &decrypted_reply(b"order 42")),
            "KeyId:        k\nKeyVersionId: v\nPlaintext:    order 42\n"
        );
        for binary in [&[0u8, 159, 255][..], b"two\nlines", b"tab\there", b"\x1b[2J", b"trailing "] {
            let text = human::<DecryptArgs>(DECRYPT, &decrypted_reply(binary));
            assert!(text.ends_with(&format!("Plaintext (base64): {}\n", to_base64(binary))), "{binary:?}: {text}");
            assert!(text.starts_with("KeyId:"), "{text}");
        }
        let text = human::<AsymmetricDecryptArgs>(ASYM_DECRYPT, &decrypted_reply(b"hi"));
        assert!(text.ends_with("Plaintext:    hi\n"), "{text}");
    }

    #[test]
    fn decrypt_json_is_the_reply_with_base64_plaintext() {
        assert_eq!(
            json::<DecryptArgs>(DECRYPT, &decrypted_reply(b"order 42")),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Plaintext": "b3JkZXIgNDI="})
        );
        assert_eq!(json::<AsymmetricDecryptArgs>(ASYM_DECRYPT, &decrypted_reply(&[0, 255]))["Plaintext"], "AP8=");
    }

    #[test]
    fn re_encrypted_renders() {
        let reply = ReEncrypted {
            source_key_id: "k1".into(),
            source_key_version_id: "v1".into(),
            key_id: "k2".into(),
            key_version_id: "v2".into(),
            ciphertext_blob: vec![7],
        };
        let args = &["re-encrypt", "--ciphertext-blob", "AA=="];
        assert_eq!(
            human::<ReEncryptArgs>(args, &reply),
            "SourceKeyId:        k1\nSourceKeyVersionId: v1\nKeyId:              k2\nKeyVersionId:       v2\n\
             CiphertextBlob:     Bw==\n"
        );
        assert_eq!(
            json::<ReEncryptArgs>(args, &reply),
            serde_json::json!({
                "SourceKeyId": "k1", "SourceKeyVersionId": "v1", "KeyId": "k2", "KeyVersionId": "v2",
                "CiphertextBlob": "Bw=="
            })
        );
    }
}
