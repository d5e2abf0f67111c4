//! The secrets manager: secrets, their versions and stages, as the KMS
//! API's secret operations describe them (`docs/secrets.md` has every rule
//! and limit with its error code).
//!
//! * [`entry`]: a secret as the registry holds it (metadata, versions with
//!   their values encrypted);
//! * [`limits`]: names, version ids, stages, sizes, windows, intervals;
//! * [`values`]: how a value is encrypted (a fresh data key per version,
//!   itself encrypted through the KMS under the secret's key);
//! * [`service_key`]: the key a secret gets when none is named;
//! * [`write`]: the one way a secret changes (checked, committed with its
//!   journal entries, then published);
//! * [`create`], [`versions`] (new values, the version limit), [`stages`],
//!   [`lifecycle`] (deletion, restore, description, tags), [`managed`] (the
//!   Rds, RAMCredentials and ECS types: their configuration, their value
//!   shapes, the values rotation makes), [`rotation`], [`read`] (values,
//!   descriptions, lists; and what the data plane reads).

pub mod create;
pub mod entry;
pub mod lifecycle;
pub mod limits;
pub mod managed;
pub mod read;
pub mod rotation;
pub mod service_key;
pub mod stages;
pub mod values;
pub mod versions;
pub mod write;

pub use entry::SecretEntry;

use p11kms_proto::admin::InstanceKind;

use crate::config::Config;
use crate::store::InstanceRecord;

/// Secrets `instance` may hold: its own quota, else the configured one
/// (the `default` instance holds none: it has no key to encrypt them).
pub fn quota(config: &Config, instance: &InstanceRecord) -> u64 {
    match (instance.secret_quota, instance.kind) {
        (Some(quota), _) => quota,
        (None, InstanceKind::Default) => 0,
        (None, _) => config.instances.secret_quota,
    }
}

/// The secret's resource name: `acs:kms:<region>:<instance>:secret/<name>`.
pub fn arn(region: &str, instance: &str, name: &str) -> String {
    format!("acs:kms:{region}:{instance}:secret/{name}")
}
