//! `secret update-rotation-policy` and `secret rotate` (Rds,
//! RAMCredentials and ECS secrets: the daemon makes their new values).

use clap::Args;
use p11kms_proto::admin::{RotateSecretRequest, SecretNamed, SecretRotated, UpdateSecretRotationPolicyRequest, op};

use super::super::{Invocation, RenderError, RequestError, values};
use crate::output::{self, Fields, Format};

/// `secret update-rotation-policy NAME --enable-automatic-rotation --rotation-interval I | --disable-automatic-rotation`.
#[derive(Debug, Args)]
pub struct UpdateSecretRotationPolicyArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    #[command(flatten)]
    policy: values::RotationPolicyArg,
}

impl Invocation for UpdateSecretRotationPolicyArgs {
    type Op = op::UpdateSecretRotationPolicy;

    fn request(&self) -> Result<UpdateSecretRotationPolicyRequest, RequestError> {
        Ok(UpdateSecretRotationPolicyRequest {
            secret_name: self.secret_name.clone(),
            enable_automatic_rotation: self.policy.enable_automatic_rotation,
            rotation_interval: self.policy.rotation_interval,
        })
    }

    fn render(&self, named: &SecretNamed, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, named, |n| format!("Rotation policy of secret '{}' updated.\n", n.secret_name))?)
    }
}

/// `secret rotate NAME [--version-id V]`.
#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// The new version's id (the daemon makes one when absent).
    #[arg(long, value_name = "VERSION")]
    version_id: Option<String>,
}

impl Invocation for RotateSecretArgs {
    type Op = op::RotateSecret;

    fn request(&self) -> Result<RotateSecretRequest, RequestError> {
        Ok(RotateSecretRequest { secret_name: self.secret_name.clone(), version_id: self.version_id.clone() })
    }

    fn render(&self, rotated: &SecretRotated, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, rotated, |r| {
            Fields::new()
                .field("SecretName", &r.secret_name)
                .field("Arn", &r.arn)
                .field("VersionId", &r.version_id)
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn rotation_commands_parse_to_requests() {
        let policy = request::<UpdateSecretRotationPolicyArgs>(&[
            "secret",
            "update-rotation-policy",
            "db",
            "--enable-automatic-rotation",
            "--rotation-interval",
            "12h",
        ]);
        assert_eq!((policy.enable_automatic_rotation, policy.rotation_interval), (true, Some(43_200)));
        refused(&["secret", "update-rotation-policy", "db"]);
        let rotate = request::<RotateSecretArgs>(&["secret", "rotate", "db", "--version-id", "v9"]);
        assert_eq!(rotate.version_id.as_deref(), Some("v9"));
    }
}
