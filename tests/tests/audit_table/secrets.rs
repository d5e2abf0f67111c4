//! The rows of secrets: generic ones and an Rds one that rotates.

use std::path::Path;

use serde_json::Value;

use super::table::{Audit, Received, ok, refused, text};
use super::{RDS_PASSWORD, SECRET_V1, SECRET_V2};

/// Secrets.
pub(crate) fn secrets(audit: &mut Audit<'_>, work: &Path, received: &mut Received) {
    let daemon = audit.daemon;
    let v1_file = work.join("v1");
    let v2_file = work.join("v2");
    std::fs::write(&v1_file, SECRET_V1).expect("v1");
    std::fs::write(&v2_file, SECRET_V2).expect("v2");
    let (v1_file, v2_file) = (v1_file.to_str().expect("utf-8"), v2_file.to_str().expect("utf-8"));
    audit.table(&[
        ok(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/db",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-data-file",
                v1_file,
            ],
            &["secret/audit/db", "secret/audit/db/version/v1"],
        ),
        refused(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/db",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-data-file",
                v1_file,
            ],
            &["secret/audit/db"],
            "Rejected.ResourceExist",
        ),
        ok(
            "PutSecretValue",
            &["secret", "put-value", "audit/db", "--version-id", "v2", "--secret-data-file", v2_file],
            &["secret/audit/db", "secret/audit/db/version/v2"],
        ),
        refused(
            "PutSecretValue",
            &["secret", "put-value", "nope", "--version-id", "v2", "--secret-data-file", v2_file],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("GetSecretValue", &["secret", "get-value", "audit/db"], &["secret/audit/db"]),
        refused("GetSecretValue", &["secret", "get-value", "nope"], &["secret/nope"], "Forbidden.ResourceNotFound"),
        ok("ListSecretVersionIds", &["secret", "list-version-ids", "audit/db"], &["secret/audit/db"]),
        refused(
            "ListSecretVersionIds",
            &["secret", "list-version-ids", "nope"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok(
            "UpdateSecretVersionStage",
            &["secret", "update-version-stage", "audit/db", "--version-stage", "ACSCurrent", "--move-to-version", "v1"],
            &["secret/audit/db"],
        ),
        refused(
            "UpdateSecretVersionStage",
            &["secret", "update-version-stage", "audit/db", "--version-stage", "ACSCurrent", "--move-to-version", "v9"],
            &["secret/audit/db"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeSecret", &["secret", "describe", "audit/db", "--fetch-tags"], &["secret/audit/db"]),
        refused("DescribeSecret", &["secret", "describe", "nope"], &["secret/nope"], "Forbidden.ResourceNotFound"),
        ok("UpdateSecret", &["secret", "update", "audit/db", "--description", "audited"], &["secret/audit/db"]),
        refused(
            "UpdateSecret",
            &["secret", "update", "nope", "--description", "audited"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListSecrets", &["secret", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused("ListSecrets", &["secret", "list", "--page-size", "1000"], &[], "InvalidParameter"),
        ok("TagResource", &["secret", "tag", "audit/db", "--tag", "env=audit"], &["secret/audit/db"]),
        refused(
            "TagResource",
            &["secret", "tag", "nope", "--tag", "env=audit"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("UntagResource", &["secret", "untag", "audit/db", "--tag-key", "env"], &["secret/audit/db"]),
        refused(
            "UntagResource",
            &["secret", "untag", "nope", "--tag-key", "env"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        refused(
            "DeleteSecret",
            &["secret", "delete", "audit/db", "--recovery-window-in-days", "6"],
            &["secret/audit/db"],
            "InvalidParameter",
        ),
        ok("DeleteSecret", &["secret", "delete", "audit/db", "--recovery-window-in-days", "7"], &["secret/audit/db"]),
        ok("RestoreSecret", &["secret", "restore", "audit/db"], &["secret/audit/db"]),
        refused(
            "RestoreSecret",
            &["secret", "restore", "audit/db"],
            &["secret/audit/db"],
            "Rejected.StateModifiedFailed",
        ),
    ]);
    let rds_value = format!(r#"{{"Accounts":[{{"AccountName":"app","AccountPassword":"{RDS_PASSWORD}"}}]}}"#);
    let rds_file = work.join("rds");
    std::fs::write(&rds_file, &rds_value).expect("rds value");
    audit.table(&[
        ok(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/rds",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-type",
                "Rds",
                "--extended-config",
                r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#,
                "--secret-data-file",
                rds_file.to_str().expect("utf-8"),
            ],
            &["secret/audit/rds"],
        ),
        ok(
            "UpdateSecretRotationPolicy",
            &[
                "secret",
                "update-rotation-policy",
                "audit/rds",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "7d",
            ],
            &["secret/audit/rds"],
        ),
        refused(
            "UpdateSecretRotationPolicy",
            &[
                "secret",
                "update-rotation-policy",
                "audit/db",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "7d",
            ],
            &["secret/audit/db"],
            "Rejected.UnsupportedOperation",
        ),
        ok("RotateSecret", &["secret", "rotate", "audit/rds", "--version-id", "v2"], &["secret/audit/rds"]),
        refused(
            "RotateSecret",
            &["secret", "rotate", "audit/db"],
            &["secret/audit/db"],
            "Rejected.UnsupportedOperation",
        ),
    ]);
    let rotated: Value =
        serde_json::from_str(&text(&daemon.cli_json(&["secret", "get-value", "audit/rds"]), "SecretData"))
            .expect("JSON");
    received.push(("the rotated Rds password", text(&rotated, "Accounts.0.AccountPassword").into_bytes()));
}
