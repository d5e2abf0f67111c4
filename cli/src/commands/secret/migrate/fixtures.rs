//! What the migration's unit tests share: a secret as `DescribeSecret`
//! answers for a plain Generic secret (for each test to change as it
//! needs), and the two ends of a migration.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AutomaticRotation, SecretDescription, SecretType};

use super::checks::{End, Ends};

/// The Generic secret `name` of instance `hsm1` in region `eu-1`, without
/// description or tags, made and changed at time 1.
pub fn description(name: &str) -> SecretDescription {
    SecretDescription {
        arn: format!("acs:kms:eu-1:hsm1:secret/{name}"),
        automatic_rotation: AutomaticRotation::Disabled,
        create_time: Timestamp(1),
        description: String::new(),
        encryption_key_id: "key-eu-1".into(),
        extended_config: None,
        last_rotation_date: None,
        next_rotation_date: None,
        planned_delete_time: None,
        rotation_interval: None,
        secret_name: name.into(),
        secret_type: SecretType::Generic,
        update_time: Timestamp(1),
        instance: "hsm1".into(),
        tags: Some(vec![]),
        last_rotation_failure: None,
    }
}

/// From instance `hsm1` of region `eu-1` to instance `hsm2` of `eu-2`.
pub fn ends() -> Ends {
    Ends {
        source: End { region: "eu-1".into(), instance: "hsm1".into() },
        destination: End { region: "eu-2".into(), instance: "hsm2".into() },
    }
}
