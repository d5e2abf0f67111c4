//! A key's versions and their rotation: `key list-versions |
//! describe-version | create-version | update-rotation-policy`.

use clap::Args;
use p11kms_proto::admin::{KeyRef, KeyVersionInfo, KeyVersionRef, UpdateRotationPolicyRequest, op};

use super::super::{Invocation, RenderError, RequestError, values};
use crate::output::{self, Fields, Format, Table, or_dash};

/// `key list-versions KEY`.
#[derive(Debug, Args)]
pub struct ListKeyVersionsArgs {
    /// Key id or alias (`alias/...`).
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for ListKeyVersionsArgs {
    type Op = op::ListKeyVersions;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, versions: &Vec<KeyVersionInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "KeyVersions", versions, versions_table)?)
    }
}

/// `key describe-version KEY --key-version-id V`.
#[derive(Debug, Args)]
pub struct DescribeKeyVersionArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// The version.
    #[arg(long, value_name = "VERSION")]
    key_version_id: String,
}

impl Invocation for DescribeKeyVersionArgs {
    type Op = op::DescribeKeyVersion;

    fn request(&self) -> Result<KeyVersionRef, RequestError> {
        Ok(KeyVersionRef { key: self.key.clone(), key_version_id: self.key_version_id.clone() })
    }

    fn render(&self, version: &KeyVersionInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, version, version_fields)?)
    }
}

/// `key create-version KEY`.
#[derive(Debug, Args)]
pub struct CreateKeyVersionArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for CreateKeyVersionArgs {
    type Op = op::CreateKeyVersion;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    /// The new version, as `key describe-version` shows it.
    fn render(&self, version: &KeyVersionInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, version, version_fields)?)
    }
}

/// `key update-rotation-policy KEY --enable-automatic-rotation|--disable-automatic-rotation`.
#[derive(Debug, Args)]
pub struct UpdateRotationPolicyArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    #[command(flatten)]
    policy: values::RotationPolicyArg,
}

impl Invocation for UpdateRotationPolicyArgs {
    type Op = op::UpdateRotationPolicy;

    fn request(&self) -> Result<UpdateRotationPolicyRequest, RequestError> {
        Ok(UpdateRotationPolicyRequest {
            key: self.key.clone(),
            enable_automatic_rotation: self.policy.enable_automatic_rotation,
            rotation_interval: self.policy.rotation_interval,
        })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Rotation policy of '{}' updated.", self.key))?)
    }
}

fn version_fields(version: &KeyVersionInfo) -> String {
    let fields = Fields::new()
        .field("KeyId", &version.key_id)
        .field("KeyVersionId", &version.key_version_id)
        .field("CreationDate", version.creation_date);
    // Only a lost version says so: its material is gone from every HSM.
    match version.lost_date {
        Some(lost) => fields.field("LostDate", lost).render(),
        None => fields.render(),
    }
}

fn versions_table(versions: &[KeyVersionInfo]) -> String {
    let lost = versions.iter().any(|v| v.lost_date.is_some());
    let mut header = vec!["KEY-ID", "KEY-VERSION-ID", "CREATED"];
    if lost {
        header.push("LOST");
    }
    let mut table = Table::new(&header);
    for version in versions {
        let mut row = vec![version.key_id.clone(), version.key_version_id.clone(), version.creation_date.to_string()];
        if lost {
            row.push(or_dash(version.lost_date.as_ref()));
        }
        table.row(row);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;

    use super::super::super::test_support::{human, json, refused, request};
    use super::*;

    #[test]
    fn list_versions_prints_a_table() {
        let versions = vec![
            KeyVersionInfo {
                key_id: "key-1".into(),
                key_version_id: "v-1".into(),
                creation_date: Timestamp(0),
                lost_date: None,
            },
            KeyVersionInfo {
                key_id: "key-1".into(),
                key_version_id: "v-2".into(),
                creation_date: Timestamp(86_400),
                lost_date: None,
            },
        ];
        let args = &["key", "list-versions", "key-1"];
        assert_eq!(
            human::<ListKeyVersionsArgs>(args, &versions),
            "KEY-ID  KEY-VERSION-ID  CREATED\n\
             key-1   v-1             1970-01-01T00:00:00Z\n\
             key-1   v-2             1970-01-02T00:00:00Z\n"
        );
        let json = json::<ListKeyVersionsArgs>(args, &versions);
        assert_eq!(json["KeyVersions"][1]["KeyVersionId"], "v-2");
        assert_eq!(json["TotalCount"], 2);
    }

    #[test]
    fn version_and_rotation_commands_parse_to_requests() {
        assert_eq!(request::<CreateKeyVersionArgs>(&["key", "create-version", "k"]), KeyRef { key: "k".into() });
        assert_eq!(
            request::<DescribeKeyVersionArgs>(&["key", "describe-version", "k", "--key-version-id", "v-1"]),
            KeyVersionRef { key: "k".into(), key_version_id: "v-1".into() }
        );
        refused(&["key", "describe-version", "k"]);
        assert_eq!(
            request::<UpdateRotationPolicyArgs>(&[
                "key",
                "update-rotation-policy",
                "k",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "30d"
            ]),
            UpdateRotationPolicyRequest {
                key: "k".into(),
                enable_automatic_rotation: true,
                rotation_interval: Some(2_592_000),
            }
        );
        assert_eq!(
            request::<UpdateRotationPolicyArgs>(&[
                "key",
                "update-rotation-policy",
                "k",
                "--disable-automatic-rotation"
            ]),
            UpdateRotationPolicyRequest { key: "k".into(), enable_automatic_rotation: false, rotation_interval: None }
        );
        let err = refused(&[
            "key",
            "update-rotation-policy",
            "k",
            "--enable-automatic-rotation",
            "--disable-automatic-rotation",
        ]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        refused(&["key", "update-rotation-policy", "k", "--rotation-interval", "30d"]);
        refused(&["key", "update-rotation-policy", "k", "--enable-automatic-rotation", "--rotation-interval", "soon"]);
    }

    #[test]
    fn one_version_prints_fields_and_json() {
        let version = KeyVersionInfo {
            key_id: "k".into(),
            key_version_id: "v-2".into(),
            creation_date: Timestamp(86_400),
            lost_date: None,
        };
        let text = human::<CreateKeyVersionArgs>(&["key", "create-version", "k"], &version);
        assert_eq!(text, "KeyId:        k\nKeyVersionId: v-2\nCreationDate: 1970-01-02T00:00:00Z\n");
        let described = &["key", "describe-version", "k", "--key-version-id", "v-2"];
        assert_eq!(human::<DescribeKeyVersionArgs>(described, &version), text);
        let lost = KeyVersionInfo { lost_date: Some(Timestamp(172_800)), ..version.clone() };
        assert!(
            human::<DescribeKeyVersionArgs>(described, &lost).ends_with("LostDate:     1970-01-03T00:00:00Z\n"),
            "a lost version says so"
        );
        assert_eq!(
            human::<ListKeyVersionsArgs>(&["key", "list-versions", "k"], &vec![version.clone(), lost]),
            "KEY-ID  KEY-VERSION-ID  CREATED               LOST\n\
             k       v-2             1970-01-02T00:00:00Z  -\n\
             k       v-2             1970-01-02T00:00:00Z  1970-01-03T00:00:00Z\n"
        );
        assert_eq!(
            json::<DescribeKeyVersionArgs>(described, &version),
            serde_json::json!({
                "KeyId": "k",
                "KeyVersionId": "v-2",
                "CreationDate": "1970-01-02T00:00:00Z",
                "LostDate": null
            })
        );
    }
}
