//! Signatures with asymmetric key versions: `sign` a SHA-256 digest (or a
//! message or file the CLI hashes), `verify` one (exit status 4 when it is
//! not valid).

use clap::Args;
use p11kms_proto::admin::{SignRequest, Signature, Verified, VerifyRequest, op};
use p11kms_proto::bytes::to_base64;

use super::super::{Invocation, RenderError, RequestError, values};
use super::EXIT_INVALID_SIGNATURE;
use super::inputs::{DigestArg, SigningKey};
use crate::output::{self, Fields, Format};

/// `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    key: SigningKey,
    #[command(flatten)]
    digest: DigestArg,
}

impl Invocation for SignArgs {
    type Op = op::AsymmetricSign;

    fn request(&self) -> Result<SignRequest, RequestError> {
        Ok(SignRequest {
            key: self.key.key_id.clone(),
            key_version_id: self.key.key_version_id.clone(),
            algorithm: self.key.algorithm,
            digest: self.digest.digest()?,
        })
    }

    fn render(&self, signature: &Signature, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, signature, signature_fields)?)
    }
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    key: SigningKey,
    #[command(flatten)]
    digest: DigestArg,
    /// The signature, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    value: values::Bytes,
}

impl Invocation for VerifyArgs {
    type Op = op::AsymmetricVerify;

    fn request(&self) -> Result<VerifyRequest, RequestError> {
        Ok(VerifyRequest {
            key: self.key.key_id.clone(),
            key_version_id: self.key.key_version_id.clone(),
            algorithm: self.key.algorithm,
            digest: self.digest.digest()?,
            value: self.value.0.clone(),
        })
    }

    fn render(&self, verified: &Verified, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, verified, |v| {
            if v.value { "Valid signature.\n".to_owned() } else { "Invalid signature.\n".to_owned() }
        })?)
    }

    /// A signature that is not valid answers, but exits 4.
    fn exit_status(&self, verified: &Verified) -> u8 {
        if verified.value { 0 } else { EXIT_INVALID_SIGNATURE }
    }
}

fn signature_fields(s: &Signature) -> String {
    Fields::new()
        .field("KeyId", &s.key_id)
        .field("KeyVersionId", &s.key_version_id)
        .field("Value", to_base64(&s.value))
        .render()
}

#[cfg(test)]
pub(super) mod tests {
    use p11kms_proto::admin::SigningAlgorithm;
    use p11kms_proto::bytes::from_base64;

    use super::super::super::test_support::{human, json, parsed, refused, request, temp_dir};
    use super::*;

    /// SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    pub const SHA256_ABC: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

    const VERIFY: &[&str] = &[
        "verify",
        "--key-id",
        "k",
        "--key-version-id",
        "v",
        "--algorithm",
        "ECDSA_SHA_256",
        "--message",
        "m",
        "--value",
        "AA==",
    ];

    #[test]
    fn messages_are_hashed_to_sha256_by_the_cli() {
        let sign = |what: &[&str]| {
            let mut args = vec!["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256"];
            args.extend_from_slice(what);
            request::<SignArgs>(&args)
        };
        let r = sign(&["--message", "abc"]);
        assert_eq!(to_base64(&r.digest), SHA256_ABC);
        assert_eq!((r.key.as_str(), r.key_version_id.as_str(), r.algorithm), ("k", "v", SigningAlgorithm::EcdsaSha256));
        let dir = temp_dir();
        let file = dir.path().join("message.txt");
        std::fs::write(&file, "abc").expect("writes");
        assert_eq!(to_base64(&sign(&["--message-file", file.to_str().expect("utf-8")]).digest), SHA256_ABC);
        assert_eq!(sign(&["--digest", SHA256_ABC]).digest, from_base64(SHA256_ABC).expect("b64"), "a digest as is");

        let missing = dir.path().join("absent.txt");
        let cmd = parsed::<SignArgs>(&[
            "sign",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message-file",
            missing.to_str().expect("utf-8"),
        ]);
        let err = cmd.request().expect_err("no such file");
        assert!(matches!(&err, RequestError::Read { path, .. } if *path == missing), "{err:?}");
        assert!(err.to_string().starts_with(&format!("cannot read {}: ", missing.display())), "{err}");

        refused(&["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256"]);
        refused(&[
            "sign",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "a",
            "--digest",
            SHA256_ABC,
        ]);
        refused(&["sign", "--key-id", "k", "--algorithm", "ECDSA_SHA_256", "--message", "a"]);
    }

    #[test]
    fn a_bad_algorithm_lists_the_valid_ones() {
        let err = refused(&["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "DSA", "--message", "x"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        for algorithm in SigningAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
        let err = refused(&[
            "asymmetric-encrypt",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "RSAES_PKCS1_V1_5",
            "--plaintext",
            "x",
        ]);
        for algorithm in p11kms_proto::admin::AsymmetricAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
    }

    #[test]
    fn signatures_and_verdicts_render_and_an_invalid_one_exits_4() {
        let sign =
            &["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256", "--message", "m"];
        let signature = Signature { key_id: "k".into(), key_version_id: "v".into(), value: vec![9, 9] };
        assert_eq!(human::<SignArgs>(sign, &signature), "KeyId:        k\nKeyVersionId: v\nValue:        CQk=\n");
        assert_eq!(
            json::<SignArgs>(sign, &signature),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Value": "CQk="})
        );

        let verified = |value| Verified { key_id: "k".into(), key_version_id: "v".into(), value };
        assert_eq!(human::<VerifyArgs>(VERIFY, &verified(true)), "Valid signature.\n");
        assert_eq!(human::<VerifyArgs>(VERIFY, &verified(false)), "Invalid signature.\n");
        assert_eq!(
            json::<VerifyArgs>(VERIFY, &verified(false)),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Value": false})
        );
        assert_eq!(parsed::<VerifyArgs>(VERIFY).exit_status(&verified(true)), 0);
        assert_eq!(parsed::<VerifyArgs>(VERIFY).exit_status(&verified(false)), EXIT_INVALID_SIGNATURE);
        assert_eq!(parsed::<SignArgs>(sign).exit_status(&signature), 0, "only verify exits 4");
    }
}
