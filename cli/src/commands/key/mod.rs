//! `p11kms key …`: KMS keys and their versions, with the spec's parameter
//! and field names (`--key-spec`, `KeyMetadata.KeyId`, …): creating a key
//! ([`create`]), describing and listing keys ([`description`]), their
//! versions and rotation ([`versions`]), their lifecycle ([`lifecycle`]),
//! tags ([`tags`]) and imported key material ([`import`]).

pub mod create;
pub mod description;
pub mod import;
pub mod lifecycle;
pub mod migration;
pub mod tags;
pub mod versions;

use super::subcommands;
use create::CreateKeyArgs;
use description::{DescribeKeyArgs, ListKeysArgs};
use import::{DeleteKeyMaterialArgs, GetParametersForImportArgs, ImportKeyMaterialArgs};
use lifecycle::{
    CancelKeyDeletionArgs, DisableKeyArgs, EnableKeyArgs, ScheduleKeyDeletionArgs, SetDeletionProtectionArgs,
};
use migration::{CheckKeyMigrationArgs, DescribeKeyMigrationArgs, ListKeyMigrationsArgs, MigrateKeyArgs};
use tags::{TagResourceArgs, UntagResourceArgs};
use versions::{CreateKeyVersionArgs, DescribeKeyVersionArgs, ListKeyVersionsArgs, UpdateRotationPolicyArgs};

subcommands! {
    /// Operations on keys.
    pub enum KeyCommand {
        /// Creates a key (CreateKey).
        Create(CreateKeyArgs),
        /// Shows a key (DescribeKey).
        Describe(DescribeKeyArgs),
        /// Lists keys (ListKeys).
        List(ListKeysArgs),
        /// Lists a key's versions (ListKeyVersions).
        ListVersions(ListKeyVersionsArgs),
        /// Shows one version of a key (DescribeKeyVersion).
        DescribeVersion(DescribeKeyVersionArgs),
        /// Rotates a key by hand: a new version becomes the primary (CreateKeyVersion).
        CreateVersion(CreateKeyVersionArgs),
        /// Changes the automatic rotation (UpdateRotationPolicy); an overdue schedule rotates at once.
        UpdateRotationPolicy(UpdateRotationPolicyArgs),
        /// Enables a key (EnableKey).
        Enable(EnableKeyArgs),
        /// Disables a key (DisableKey): it refuses use until enabled again.
        Disable(DisableKeyArgs),
        /// Schedules a key's deletion (ScheduleKeyDeletion).
        ScheduleDeletion(ScheduleKeyDeletionArgs),
        /// Cancels a scheduled deletion (CancelKeyDeletion).
        CancelDeletion(CancelKeyDeletionArgs),
        /// Turns deletion protection on or off (SetDeletionProtection).
        SetDeletionProtection(SetDeletionProtectionArgs),
        /// Adds tags or changes their values (TagResource).
        Tag(TagResourceArgs),
        /// Removes tags (UntagResource).
        Untag(UntagResourceArgs),
        /// Gets a wrapping key and token to import key material (GetParametersForImport).
        GetParametersForImport(GetParametersForImportArgs),
        /// Imports wrapped key material into an EXTERNAL key (ImportKeyMaterial).
        ImportKeyMaterial(ImportKeyMaterialArgs),
        /// Deletes an EXTERNAL key's material (DeleteKeyMaterial).
        DeleteKeyMaterial(DeleteKeyMaterialArgs),
        /// Says whether CMKs of the default instance may be migrated, and why not (CMK migration diagnostic).
        CheckMigration(CheckKeyMigrationArgs),
        /// Moves a CMK of the default instance into a software or hardware instance, in a window (migration task).
        Migrate(MigrateKeyArgs),
        /// Shows a migration task: its status, window and failure reason.
        DescribeMigration(DescribeKeyMigrationArgs),
        /// Lists migration tasks, newest first.
        ListMigrations(ListKeyMigrationsArgs),
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::{
        KeyRef, ListKeysRequest, SetDeletionProtectionRequest, UntagResourceRequest, UpdateRotationPolicyRequest,
    };

    use super::super::test_support::{done, refused, request};
    use super::*;

    #[test]
    fn other_operations_parse_to_requests() {
        assert_eq!(request::<DescribeKeyArgs>(&["key", "describe", "alias/pay"]), KeyRef { key: "alias/pay".into() });
        assert_eq!(request::<ListKeysArgs>(&["key", "list"]), ListKeysRequest::default());
        assert_eq!(
            request::<ListKeysArgs>(&["key", "list", "--instance", "hsm1"]),
            ListKeysRequest { instance: Some("hsm1".into()), ..ListKeysRequest::default() }
        );
        assert_eq!(request::<ListKeyVersionsArgs>(&["key", "list-versions", "key-1"]), KeyRef { key: "key-1".into() });
        refused(&["key", "describe"]);
        refused(&["key", "list-versions"]);
        refused(&["key", "list", "hsm1"]);
        assert_eq!(
            request::<SetDeletionProtectionArgs>(&["key", "set-deletion-protection", "k", "--disable"]),
            SetDeletionProtectionRequest { key: "k".into(), enable_deletion_protection: false }
        );
        refused(&["key", "set-deletion-protection", "k"]);
        refused(&["key", "set-deletion-protection", "k", "--enable", "--disable"]);
        refused(&["key", "update-rotation-policy", "k"]);
        refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--rotation-interval", "1y"]);
        refused(&["key", "tag", "k", "--tag", "no-equals"]);
        assert_eq!(
            request::<UntagResourceArgs>(&["key", "untag", "k", "--tag-key", "a", "--tag-key", "b"]),
            UntagResourceRequest {
                resource: p11kms_proto::admin::TaggedResource::Key("k".into()),
                tag_keys: vec!["a".into(), "b".into()]
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
    }

    #[test]
    fn commands_that_return_nothing_confirm_in_one_line_or_print_empty_json() {
        type Done = fn(&[&str]) -> (String, String);
        let cases: &[(Done, &[&str], &str)] = &[
            (done::<EnableKeyArgs>, &["key", "enable", "k"], "Key 'k' enabled.\n"),
            (done::<DisableKeyArgs>, &["key", "disable", "k"], "Key 'k' disabled.\n"),
            (
                done::<ScheduleKeyDeletionArgs>,
                &["key", "schedule-deletion", "k", "--pending-window-in-days", "7"],
                "Key 'k' will be deleted in 7 days (cancel-deletion stops it).\n",
            ),
            (done::<CancelKeyDeletionArgs>, &["key", "cancel-deletion", "k"], "Deletion of key 'k' cancelled.\n"),
            (
                done::<SetDeletionProtectionArgs>,
                &["key", "set-deletion-protection", "k", "--enable"],
                "Deletion protection of key 'k' enabled.\n",
            ),
            (
                done::<SetDeletionProtectionArgs>,
                &["key", "set-deletion-protection", "k", "--disable"],
                "Deletion protection of key 'k' disabled.\n",
            ),
            (
                done::<UpdateRotationPolicyArgs>,
                &["key", "update-rotation-policy", "k", "--disable-automatic-rotation"],
                "Rotation policy of 'k' updated.\n",
            ),
            (done::<TagResourceArgs>, &["key", "tag", "k", "--tag", "a=b"], "Key 'k' tagged.\n"),
            (done::<UntagResourceArgs>, &["key", "untag", "k", "--tag-key", "a"], "Tags removed from key 'k'.\n"),
            (
                done::<ImportKeyMaterialArgs>,
                &["key", "import-key-material", "k", "--import-token", "t", "--encrypted-key-material", "AA=="],
                "Key material imported into 'k'.\n",
            ),
            (done::<DeleteKeyMaterialArgs>, &["key", "delete-key-material", "k"], "Key material of 'k' deleted.\n"),
        ];
        for (done, args, message) in cases {
            assert_eq!(done(args), ((*message).to_owned(), "{}\n".to_owned()), "{args:?}");
        }
    }
}
