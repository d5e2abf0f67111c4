//! `backup restore-key` and `backup restore-secret`: a key or secret as a
//! backup holds it at the end of a day (`--date`) or at any second
//! (`--at`, point in time), put back into an instance under its own id or
//! name.

use clap::Args;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret, op};

use super::super::values::time;
use super::super::{Invocation, RenderError, RequestError};
use super::show::date;
use crate::output::{self, Fields, Format, list_or_dash};

/// The moment of a restore: a day or a second, one of them.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct When {
    /// The day, `YYYY-MM-DD`: as the backup holds it at the end of that day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    date: Option<String>,
    /// A second, RFC 3339 (point in time): as it was then.
    #[arg(long, value_name = "TIME", value_parser = time)]
    at: Option<Timestamp>,
}

/// `backup restore-key BACKUP_ID (--date D | --at T) --key-id K --to-instance I`.
#[derive(Debug, Args)]
pub struct RestoreBackupKeyArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    #[command(flatten)]
    when: When,
    /// The key's id.
    #[arg(long, value_name = "KEY_ID")]
    key_id: String,
    /// The instance it goes into (of the backup's kind).
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
}

impl Invocation for RestoreBackupKeyArgs {
    type Op = op::RestoreBackupKey;

    fn request(&self) -> Result<RestoreKeyRequest, RequestError> {
        Ok(RestoreKeyRequest {
            backup_id: self.backup_id.clone(),
            date: self.when.date.clone(),
            at: self.when.at,
            key_id: self.key_id.clone(),
            to_instance: self.to_instance.clone(),
        })
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("restoring the key (its material into the HSMs)…")
    }

    fn render(&self, key: &RestoredKey, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, |k| {
            Fields::new()
                .field("KeyId", &k.key_id)
                .field("Instance", &k.instance)
                .field("KeyVersionIds", list_or_dash(&k.key_version_ids))
                .field("PrimaryKeyVersion", &k.primary_key_version)
                .field("Aliases", list_or_dash(&k.aliases))
                .field("AliasesNotRestored", list_or_dash(&k.aliases_not_restored))
                .field("AsOf", k.as_of)
                .render()
        })?)
    }
}

/// `backup restore-secret BACKUP_ID (--date D | --at T) --secret-name S --to-instance I`.
#[derive(Debug, Args)]
pub struct RestoreBackupSecretArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    #[command(flatten)]
    when: When,
    /// The secret's name.
    #[arg(long, value_name = "NAME")]
    secret_name: String,
    /// The instance it goes into (its encrypting key must be there).
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
}

impl Invocation for RestoreBackupSecretArgs {
    type Op = op::RestoreBackupSecret;

    fn request(&self) -> Result<RestoreSecretRequest, RequestError> {
        Ok(RestoreSecretRequest {
            backup_id: self.backup_id.clone(),
            date: self.when.date.clone(),
            at: self.when.at,
            secret_name: self.secret_name.clone(),
            to_instance: self.to_instance.clone(),
        })
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("restoring the secret…")
    }

    fn render(&self, secret: &RestoredSecret, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, secret, |s| {
            Fields::new()
                .field("SecretName", &s.secret_name)
                .field("Instance", &s.instance)
                .field("VersionIds", list_or_dash(&s.version_ids))
                .field("AsOf", s.as_of)
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn a_restore_takes_a_day_or_a_second_not_both() {
        let by_day = request::<RestoreBackupKeyArgs>(&[
            "backup",
            "restore-key",
            "backup-1",
            "--date",
            "2026-12-05",
            "--key-id",
            "key-1",
            "--to-instance",
            "soft2",
        ]);
        assert_eq!((by_day.date.as_deref(), by_day.at), (Some("2026-12-05"), None));
        let by_second = request::<RestoreBackupSecretArgs>(&[
            "backup",
            "restore-secret",
            "backup-1",
            "--at",
            "2026-12-05T10:17:42Z",
            "--secret-name",
            "db",
            "--to-instance",
            "soft2",
        ]);
        assert_eq!(by_second.at.map(|t| t.to_string()).as_deref(), Some("2026-12-05T10:17:42Z"));
        refused(&["backup", "restore-key", "backup-1", "--key-id", "k", "--to-instance", "i"]);
        refused(&[
            "backup",
            "restore-key",
            "backup-1",
            "--date",
            "2026-12-05",
            "--at",
            "2026-12-05T10:17:42Z",
            "--key-id",
            "k",
            "--to-instance",
            "i",
        ]);
        refused(&[
            "backup",
            "restore-secret",
            "backup-1",
            "--date",
            "2026-02-30",
            "--secret-name",
            "s",
            "--to-instance",
            "i",
        ]);
    }
}
