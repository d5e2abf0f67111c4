//! What the restore commands share: the moment they restore as of (a
//! day or a second), and how a restored key or secret is shown.

use clap::Args;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{RestoredKey, RestoredSecret};

use super::super::values::time;
use super::show::date;
use crate::output::{Fields, list_or_dash};

/// The moment of a restore: a day or a second, one of them.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct When {
    /// The day, `YYYY-MM-DD`: as the backup holds it at the end of that day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    pub date: Option<String>,
    /// A second, RFC 3339 (point in time): as it was then.
    #[arg(long, value_name = "TIME", value_parser = time)]
    pub at: Option<Timestamp>,
}

/// The fields of a restored key.
pub fn key_fields(k: &RestoredKey) -> String {
    Fields::new()
        .field("KeyId", &k.key_id)
        .field("Instance", &k.instance)
        .field("KeyVersionIds", list_or_dash(&k.key_version_ids))
        .field("PrimaryKeyVersion", &k.primary_key_version)
        .field("Aliases", list_or_dash(&k.aliases))
        .field("AliasesNotRestored", list_or_dash(&k.aliases_not_restored))
        .field("AsOf", k.as_of)
        .render()
}

/// The fields of a restored secret.
pub fn secret_fields(s: &RestoredSecret) -> String {
    Fields::new()
        .field("SecretName", &s.secret_name)
        .field("Instance", &s.instance)
        .field("VersionIds", list_or_dash(&s.version_ids))
        .field("AsOf", s.as_of)
        .render()
}
