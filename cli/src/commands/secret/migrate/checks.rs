//! What is checked before a value is read or anything is made: what the
//! spec says of the secret's type, that the secret is not pending deletion,
//! that the destination is another region with an instance that can hold
//! it, and that its name is free there.

use serde::Serialize;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{InstanceKind, ResourceName, SecretDescription, SecretType, op};

use super::error::MigrateError;
use super::read;
use super::side::Side;

/// The spec's word on RAM secrets, after the refusal.
const RAM_ADVICE: &str = "migration is not supported. A RAM user can have only one RAM secret in KMS: to move it to \
     the destination region, delete it in the source region, then create a new one in the destination region. \
     Before deleting it, make sure it is no longer in use; deleting the RAM secret does not delete the associated \
     AccessKey pair";

/// One end of the migration, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct End {
    /// The daemon's region.
    pub region: String,
    /// The instance that holds (or gets) the secret.
    #[serde(rename = "DKMSInstanceId")]
    pub instance: String,
}

/// Both ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ends {
    /// Where the secret is.
    pub source: End,
    /// Where it goes.
    pub destination: End,
}

/// What the spec says of the secret's type: `None` to migrate it (a
/// Generic secret), why no migration is needed (Rds, ECS), or the refusal
/// (RAMCredentials).
pub fn by_type(description: &SecretDescription) -> Result<Option<String>, MigrateError> {
    let name = &description.secret_name;
    match description.secret_type {
        SecretType::Generic => Ok(None),
        SecretType::RamCredentials => Err(MigrateError::refused(
            ErrorCode::UnsupportedOperation,
            format!("secret '{name}' is a RAM secret: {RAM_ADVICE}"),
        )),
        SecretType::Rds => Ok(Some(format!(
            "secret '{name}' is an Rds secret: no migration needed. ApsaraDB RDS instances are region-specific \
             resources, so the associated secrets do not need to be migrated separately"
        ))),
        SecretType::Ecs => Ok(Some(format!(
            "secret '{name}' is an ECS secret: no migration needed. Elastic Compute Service (ECS) instances are \
             region-specific resources, so the associated secrets do not need to be migrated separately"
        ))),
    }
}

/// Refuses a secret in its recovery window: its values cannot be read.
pub fn not_pending(description: &SecretDescription) -> Result<(), MigrateError> {
    match description.planned_delete_time {
        Some(time) => Err(MigrateError::refused(
            ErrorCode::SecretPendingDeletion,
            format!(
                "secret '{0}' is pending deletion at the source (deleted at {time}): restore it \
                 (`p11kms secret restore {0}`) to migrate it",
                description.secret_name
            ),
        )),
        None => Ok(()),
    }
}

/// The regions of both daemons and the destination instance, refusing a
/// destination in the source's own region and an instance that cannot
/// hold one more secret.
pub fn ends(source: &Side, destination: &Side, source_instance: &str, to_instance: &str) -> Result<Ends, MigrateError> {
    let from = source.call::<op::DescribeInstance>(&ResourceName { name: source_instance.to_owned() })?;
    let to = destination.call::<op::DescribeInstance>(&ResourceName { name: to_instance.to_owned() })?;
    if from.region == to.region {
        return Err(MigrateError::refused(
            ErrorCode::InvalidParameter,
            format!(
                "the destination is in region '{}', the source's own: a migration moves a secret to another \
                 region (is --to-socket the source's daemon? each deployment names its own `region` in its \
                 configuration)",
                to.region
            ),
        ));
    }
    let instance = format!("instance '{}' of the destination (region {})", to.name, to.region);
    if to.kind == InstanceKind::Default || to.secret_quota == 0 {
        return Err(MigrateError::refused(
            ErrorCode::UnsupportedOperation,
            format!(
                "{instance} cannot hold secrets: a secret's values are encrypted under a key of its own instance, \
                 and the {} instance holds no keys; give --to-instance a hardware or software instance",
                to.kind
            ),
        ));
    }
    if to.secret_count >= to.secret_quota {
        return Err(MigrateError::refused(
            ErrorCode::LimitExceeded,
            format!("{instance} holds {} secrets, its quota", to.secret_count),
        ));
    }
    Ok(Ends {
        source: End { region: from.region, instance: from.name },
        destination: End { region: to.region, instance: to.name },
    })
}

/// Refuses a name the destination already has (pending deletion or not).
pub fn name_free(destination: &Side, name: &str, ends: &Ends) -> Result<(), MigrateError> {
    match read::describe(destination, name) {
        Ok(there) => {
            let pending =
                there.planned_delete_time.map(|t| format!(", pending deletion until {t}")).unwrap_or_default();
            Err(MigrateError::refused(
                ErrorCode::ResourceExist,
                format!(
                    "secret '{name}' already exists at the destination (region {}, instance {}{pending}): a name is \
                     unique in a region, and the migration creates it; nothing was made",
                    ends.destination.region, there.instance
                ),
            ))
        }
        Err(error) if error.api_code() == Some(ErrorCode::ResourceNotFound) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;

    use super::super::fixtures::description;
    use super::*;

    fn secret(secret_type: SecretType) -> SecretDescription {
        SecretDescription { secret_type, ..description("s") }
    }

    #[test]
    fn the_type_decides_as_the_spec_says() {
        assert_eq!(by_type(&secret(SecretType::Generic)).expect("migrates"), None);
        let rds = by_type(&secret(SecretType::Rds)).expect("no error").expect("no migration");
        assert!(rds.contains("no migration needed") && rds.contains("ApsaraDB RDS"), "{rds}");
        let ecs = by_type(&secret(SecretType::Ecs)).expect("no error").expect("no migration");
        assert!(ecs.contains("no migration needed") && ecs.contains("Elastic Compute Service"), "{ecs}");
        let ram = by_type(&secret(SecretType::RamCredentials)).expect_err("refused").to_string();
        assert!(ram.starts_with("Rejected.UnsupportedOperation: secret 's' is a RAM secret"), "{ram}");
        assert!(ram.contains("delete it in the source region, then create a new one in the destination"), "{ram}");
        assert!(ram.contains("does not delete the associated AccessKey pair"), "{ram}");
    }

    #[test]
    fn a_secret_pending_deletion_is_refused() {
        not_pending(&secret(SecretType::Generic)).expect("not pending");
        let mut pending = secret(SecretType::Generic);
        pending.planned_delete_time = Some(Timestamp(0));
        let refusal = not_pending(&pending).expect_err("refused").to_string();
        assert!(refusal.starts_with("Rejected.SecretPendingDeletion: secret 's' is pending deletion"), "{refusal}");
    }
}
