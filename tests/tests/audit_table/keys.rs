//! The rows of keys (made, described, rotated, imported into, migrated)
//! and of aliases; the keys made are used by the later rows.

use super::MATERIAL;
use super::table::{Audit, Received, created_key, key, ok, refused, text, version};

/// The keys the key rows made, for the rows after them.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// Symmetric, with the alias `alias/audit-aes`.
    pub(crate) k: String,
    /// Symmetric, a second one.
    pub(crate) k2: String,
    /// RSA 2048.
    pub(crate) r: String,
    /// EC P-256.
    pub(crate) c: String,
    /// The primary version of `k` (after its rotation), of `r` and of `c`.
    pub(crate) kv: String,
    pub(crate) rv: String,
    pub(crate) cv: String,
}

/// Keys: a symmetric one with an alias, an RSA and an EC one, an
/// EXTERNAL one, and a second symmetric one to delete.
pub(crate) fn keys(audit: &mut Audit<'_>, received: &mut Received) -> Keys {
    let daemon = audit.daemon;
    let create = |spec: &str, extra: &[&str]| {
        let mut args = vec!["key", "create", "--instance", "hsm1", "--key-spec", spec];
        args.extend_from_slice(extra);
        ok("CreateKey", &args, &["instance/hsm1"])
    };
    let aes = audit.run_naming(&create("AES_256", &["--alias", "alias/audit-aes"]), created_key);
    let k = text(&aes, "KeyMetadata.KeyId");
    let k2 = text(&audit.run_naming(&create("AES_256", &[]), created_key), "KeyMetadata.KeyId");
    let r = text(&audit.run_naming(&create("RSA_2048", &[]), created_key), "KeyMetadata.KeyId");
    let c = text(&audit.run_naming(&create("EC_P256", &[]), created_key), "KeyMetadata.KeyId");
    let e = text(&audit.run_naming(&create("AES_256", &["--origin", "EXTERNAL"]), created_key), "KeyMetadata.KeyId");
    let primary = |id: &str| text(&daemon.cli_json(&["key", "list-versions", id]), "KeyVersions.0.KeyVersionId");
    let (kv, rv, cv) = (primary(&k), primary(&r), primary(&c));
    let (kr, k2r, er) = (key(&k), key(&k2), key(&e));
    audit.table(&[
        refused(
            "CreateKey",
            &["key", "create", "--instance", "nope", "--key-spec", "AES_256"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeKey", &["key", "describe", "alias/audit-aes"], &["alias/audit-aes", &kr]),
        refused("DescribeKey", &["key", "describe", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("ListKeys", &["key", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused("ListKeys", &["key", "list", "--instance", "nope"], &["instance/nope"], "Forbidden.ResourceNotFound"),
        ok("ListKeyVersions", &["key", "list-versions", &k], &[&kr]),
        refused("ListKeyVersions", &["key", "list-versions", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("DescribeKeyVersion", &["key", "describe-version", &k, "--key-version-id", &kv], &[&version(&k, &kv)]),
        refused(
            "DescribeKeyVersion",
            &["key", "describe-version", &k, "--key-version-id", "nope"],
            &[&version(&k, "nope")],
            "Forbidden.ResourceNotFound",
        ),
        refused("CreateKeyVersion", &["key", "create-version", &e], &[&er], "Rejected.PendingImport"),
        ok(
            "UpdateRotationPolicy",
            &["key", "update-rotation-policy", &k, "--enable-automatic-rotation", "--rotation-interval", "30d"],
            &[&kr],
        ),
        refused(
            "UpdateRotationPolicy",
            &["key", "update-rotation-policy", &k, "--enable-automatic-rotation", "--rotation-interval", "1d"],
            &[&kr],
            "InvalidParameter",
        ),
        refused("DisableKey", &["key", "disable", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        refused("EnableKey", &["key", "enable", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("SetDeletionProtection", &["key", "set-deletion-protection", &k, "--enable"], &[&kr]),
        refused(
            "ScheduleKeyDeletion",
            &["key", "schedule-deletion", &k, "--pending-window-in-days", "7"],
            &[&kr],
            "Rejected.StateModifiedFailed",
        ),
        ok("SetDeletionProtection", &["key", "set-deletion-protection", &k, "--disable"], &[&kr]),
        refused(
            "SetDeletionProtection",
            &["key", "set-deletion-protection", "nope", "--disable"],
            &["key/nope"],
            "Forbidden.KeyNotFound",
        ),
        ok("ScheduleKeyDeletion", &["key", "schedule-deletion", &k2, "--pending-window-in-days", "7"], &[&k2r]),
        ok("CancelKeyDeletion", &["key", "cancel-deletion", &k2], &[&k2r]),
        refused("CancelKeyDeletion", &["key", "cancel-deletion", &k], &[&kr], "Rejected.StateModifiedFailed"),
        ok("TagResource", &["key", "tag", &k, "--tag", "env=audit"], &[&kr]),
        refused("TagResource", &["key", "tag", "nope", "--tag", "env=audit"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("UntagResource", &["key", "untag", &k, "--tag-key", "env"], &[&kr]),
        refused("UntagResource", &["key", "untag", "nope", "--tag-key", "env"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok(
            "GetParametersForImport",
            &["key", "get-parameters-for-import", &e, "--wrapping-algorithm", "RSAES_OAEP_SHA_256"],
            &[&er],
        ),
        refused(
            "GetParametersForImport",
            &["key", "get-parameters-for-import", &k, "--wrapping-algorithm", "RSAES_OAEP_SHA_256"],
            &[&kr],
            "Rejected.UnsupportedOperation",
        ),
        refused(
            "ImportKeyMaterial",
            &["key", "import-key-material", &e, "--import-token", "garbage", "--encrypted-key-material", "AAAA"],
            &[&er],
            "InvalidParameter",
        ),
    ]);
    let (token, wrapped) = daemon.wrap_for_import(&e, MATERIAL, "RSAES_OAEP_SHA_256");
    received.push(("the imported key material", MATERIAL.to_vec()));
    received.push(("the import token", token.clone().into_bytes()));
    received.push(("the wrapped key material", wrapped.clone().into_bytes()));
    audit.table(&[
        ok(
            "ImportKeyMaterial",
            &["key", "import-key-material", &e, "--import-token", &token, "--encrypted-key-material", &wrapped],
            &[&er],
        ),
        ok("DeleteKeyMaterial", &["key", "delete-key-material", &e], &[&er]),
        refused("DeleteKeyMaterial", &["key", "delete-key-material", &k], &[&kr], "Rejected.UnsupportedOperation"),
        ok("CheckKeyMigration", &["key", "check-migration", &k], &[&kr]),
        refused(
            "CheckKeyMigration",
            &["key", "check-migration", "key-nope"],
            &["key/key-nope"],
            "Forbidden.KeyNotFound",
        ),
    ]);
    // A key of the default instance, moved into hsm1 by a migration task.
    let d = text(
        &audit.run_naming(
            &ok(
                "CreateKey",
                &["key", "create", "--instance", "default", "--key-spec", "AES_256"],
                &["instance/default"],
            ),
            created_key,
        ),
        "KeyMetadata.KeyId",
    );
    let dr = key(&d);
    let task = audit.run_naming(
        &ok("MigrateKey", &["key", "migrate", &d, "--to-instance", "hsm1"], &[&dr, "instance/hsm1"]),
        |reply| format!("migration/{}", text(reply, "TaskId")),
    );
    let task_id = text(&task, "TaskId");
    let task_resource = format!("migration/{task_id}");
    audit.table(&[
        refused(
            "MigrateKey",
            &["key", "migrate", &k, "--to-instance", "hsm1"],
            &[&kr, "instance/hsm1"],
            "Rejected.UnsupportedOperation",
        ),
        ok("DescribeKeyMigration", &["key", "describe-migration", &task_id], &[&task_resource, &dr]),
        refused(
            "DescribeKeyMigration",
            &["key", "describe-migration", "mt-nope"],
            &["migration/mt-nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListKeyMigrations", &["key", "list-migrations", "--key", &d], &[&dr]),
        refused(
            "ListKeyMigrations",
            &["key", "list-migrations", "--key", "key-nope"],
            &["key/key-nope"],
            "Forbidden.KeyNotFound",
        ),
    ]);
    let rotated = audit.run_naming(&ok("CreateKeyVersion", &["key", "create-version", &k], &[&kr]), |reply| {
        version(&k, &text(reply, "KeyVersionId"))
    });
    // The new primary version, which encrypts from now on.
    let kv = text(&rotated, "KeyVersionId");
    Keys { k, k2, r, c, kv, rv, cv }
}

/// Aliases.
pub(crate) fn aliases(audit: &mut Audit<'_>, keys: &Keys) {
    let Keys { k, k2, .. } = keys.clone();
    let (kr, k2r) = (key(&k), key(&k2));
    audit.table(&[
        ok("CreateAlias", &["alias", "create", "alias/audit-b", "--key-id", &k], &["alias/audit-b", &kr]),
        refused(
            "CreateAlias",
            &["alias", "create", "alias/audit-b", "--key-id", &k],
            &["alias/audit-b"],
            "AliasAlreadyExists",
        ),
        ok("UpdateAlias", &["alias", "update", "alias/audit-b", "--key-id", &k2], &["alias/audit-b", &k2r]),
        refused(
            "UpdateAlias",
            &["alias", "update", "alias/nope", "--key-id", &k2],
            &["alias/nope"],
            "Forbidden.AliasNotFound",
        ),
        ok("ListAliases", &["alias", "list", "--key-id", &k], &[&kr]),
        refused("ListAliases", &["alias", "list", "--key-id", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("DeleteAlias", &["alias", "delete", "alias/audit-b"], &["alias/audit-b"]),
        refused("DeleteAlias", &["alias", "delete", "alias/audit-b"], &["alias/audit-b"], "Forbidden.AliasNotFound"),
    ]);
}
