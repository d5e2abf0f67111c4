//! `p11kms secret …`: the secrets manager, with the KMS API's parameter
//! and field names (`--secret-data`, `--version-stage`, `SecretData`,
//! `VersionIds`, …): creating secrets and putting values ([`values`]),
//! reading them ([`reading`]), versions and stages ([`versions`]),
//! describing, listing and changing secrets ([`description`]), deletion
//! ([`lifecycle`]), rotation ([`rotation`]), tags ([`tags`]), and the
//! migration of a secret to another region ([`migrate`]).

pub mod description;
pub mod lifecycle;
pub mod migrate;
pub mod reading;
pub mod rotation;
pub mod tags;
pub mod values;
pub mod versions;

use super::subcommands;
use description::{DescribeSecretArgs, ListSecretsArgs, UpdateSecretArgs};
use lifecycle::{DeleteSecretArgs, RestoreSecretArgs};
use migrate::MigrateSecretArgs;
use reading::GetSecretValueArgs;
use rotation::{RotateSecretArgs, UpdateSecretRotationPolicyArgs};
use tags::{SecretTagArgs, SecretUntagArgs};
use values::{CreateSecretArgs, PutSecretValueArgs};
use versions::{ListSecretVersionIdsArgs, UpdateSecretVersionStageArgs};

subcommands! {
    /// Operations on secrets.
    pub enum SecretCommand {
        /// Creates a secret and its first version, ACSCurrent (CreateSecret).
        Create(CreateSecretArgs),
        /// Stores a new version of a generic secret (PutSecretValue).
        PutValue(PutSecretValueArgs),
        /// Prints a version's value, ACSCurrent unless another is named (GetSecretValue).
        GetValue(GetSecretValueArgs),
        /// Lists a secret's versions and their stages (ListSecretVersionIds).
        ListVersionIds(ListSecretVersionIdsArgs),
        /// Moves or removes a stage of a generic secret (UpdateSecretVersionStage).
        UpdateVersionStage(UpdateSecretVersionStageArgs),
        /// Shows a secret (DescribeSecret).
        Describe(DescribeSecretArgs),
        /// Changes a secret's description or ExtendedConfig.CustomData (UpdateSecret).
        Update(UpdateSecretArgs),
        /// Lists secrets, by pages, with filters (ListSecrets).
        List(ListSecretsArgs),
        /// Deletes a secret after a recovery window, or at once (DeleteSecret).
        Delete(DeleteSecretArgs),
        /// Ends a secret's recovery window (RestoreSecret).
        Restore(RestoreSecretArgs),
        /// Changes the automatic rotation of an Rds, RAMCredentials or ECS secret (UpdateSecretRotationPolicy).
        UpdateRotationPolicy(UpdateSecretRotationPolicyArgs),
        /// Rotates an Rds, RAMCredentials or ECS secret now (RotateSecret).
        Rotate(RotateSecretArgs),
        /// Adds tags to a secret or changes their values (TagResource).
        Tag(SecretTagArgs),
        /// Removes tags from a secret (UntagResource).
        Untag(SecretUntagArgs),
        /// Copies a secret to another region's p11kmsd with its versions and stages, and compares both sides.
        #[command(name = "migrate")]
        Migrate(MigrateSecretArgs),
    }
}
