//! A backup's lifecycle: `backup create | enable | extend | renew | reset`.
//! Each prints the backup as it is afterwards (as `backup describe` does).
//! `reset` deletes every backed-up byte, so it runs only with `--yes`.

use clap::Args;
use p11kms_proto::admin::{
    BackupInfo, BackupRef, BackupType, CreateBackupRequest, EnableBackupRequest, ExtendBackupRequest, InstanceKind,
    RenewBackupRequest, op,
};

use super::super::values::named_value;
use super::super::{Invocation, RenderError, RequestError};
use super::description::fields;
use crate::output::{self, Format};

/// The types an operator may create: the daemon makes `system` backups
/// itself and `upload` ones come from uploads, so offering them here would
/// only earn a refusal from the daemon.
const CREATABLE_TYPES: &[BackupType] = &[BackupType::Default, BackupType::Retained];

/// The kinds of instance a backup may be made for: the `default` instance's
/// material is held by the daemon, not in a cluster, and has no backups.
pub(super) const BACKED_UP_KINDS: &[InstanceKind] = &[InstanceKind::Software, InstanceKind::Hardware];

/// `backup create --backup-type T --instance-kind K [--alias A] [--viewable-days N] [--duration-days N]`.
#[derive(Debug, Args)]
pub struct CreateBackupArgs {
    /// `default` (7 viewable days, valid indefinitely) or `retained` (7 to 600 viewable days, until it expires).
    #[arg(long, value_name = "TYPE", value_parser = named_value(CREATABLE_TYPES, BackupType::as_str))]
    backup_type: BackupType,
    /// The kind of instance it will back up: `software` or `hardware`.
    #[arg(long, value_name = "KIND", value_parser = named_value(BACKED_UP_KINDS, InstanceKind::as_str))]
    instance_kind: InstanceKind,
    /// A name for people.
    #[arg(long, value_name = "ALIAS")]
    alias: Option<String>,
    /// Days of data that can be viewed and restored: retained 7 to 600; default 7.
    #[arg(long, value_name = "DAYS")]
    viewable_days: Option<u32>,
    /// Retained: how long it is valid, 1 to 3650 days.
    #[arg(long, value_name = "DAYS")]
    duration_days: Option<u32>,
}

impl Invocation for CreateBackupArgs {
    type Op = op::CreateBackup;

    fn request(&self) -> Result<CreateBackupRequest, RequestError> {
        Ok(CreateBackupRequest {
            backup_type: self.backup_type,
            instance_kind: self.instance_kind,
            alias: self.alias.clone(),
            viewable_days: self.viewable_days,
            duration_days: self.duration_days,
        })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

/// `backup enable BACKUP_ID --instance I [--alias A]`.
#[derive(Debug, Args)]
pub struct EnableBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// The instance it backs up, of the kind the backup accepts.
    #[arg(long, value_name = "INSTANCE")]
    instance: String,
    /// A new alias.
    #[arg(long, value_name = "ALIAS")]
    alias: Option<String>,
}

impl Invocation for EnableBackupArgs {
    type Op = op::EnableBackup;

    fn request(&self) -> Result<EnableBackupRequest, RequestError> {
        Ok(EnableBackupRequest {
            backup_id: self.backup_id.clone(),
            instance: self.instance.clone(),
            alias: self.alias.clone(),
        })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

/// `backup extend BACKUP_ID --viewable-days N`.
#[derive(Debug, Args)]
pub struct ExtendBackupArgs {
    /// The backup's id: a retained backup.
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// The new number of viewable days: more than now, at most 600.
    #[arg(long, value_name = "DAYS")]
    viewable_days: u32,
}

impl Invocation for ExtendBackupArgs {
    type Op = op::ExtendBackup;

    fn request(&self) -> Result<ExtendBackupRequest, RequestError> {
        Ok(ExtendBackupRequest { backup_id: self.backup_id.clone(), viewable_days: self.viewable_days })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

/// `backup renew BACKUP_ID --duration-days N`.
#[derive(Debug, Args)]
pub struct RenewBackupArgs {
    /// The backup's id: a retained backup (also one that has expired).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// Days added to its validity, from its expiry date or from now if that is later.
    #[arg(long, value_name = "DAYS")]
    duration_days: u32,
}

impl Invocation for RenewBackupArgs {
    type Op = op::RenewBackup;

    fn request(&self) -> Result<RenewBackupRequest, RequestError> {
        Ok(RenewBackupRequest { backup_id: self.backup_id.clone(), duration_days: self.duration_days })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

/// `backup reset BACKUP_ID --yes`.
#[derive(Debug, Args)]
pub struct ResetBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// Confirms the reset: every backed-up byte is deleted, with no way back.
    #[arg(long)]
    yes: bool,
}

impl Invocation for ResetBackupArgs {
    type Op = op::ResetBackup;

    /// Refused without `--yes`: unlike every other change to a backup, a
    /// reset cannot be undone, and nothing else in the request says the
    /// operator meant it.
    fn request(&self) -> Result<BackupRef, RequestError> {
        if !self.yes {
            return Err(RequestError::Invalid(format!(
                "backup reset deletes every backed-up byte of '{}' (all its full and incremental points, \
                 so no day of it can be viewed or restored again) and unbinds it from its instance; \
                 add --yes to reset it",
                self.backup_id
            )));
        }
        Ok(BackupRef { backup_id: self.backup_id.clone() })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{human, json, parsed, refused, request};
    use super::super::description::sample;
    use super::*;

    #[test]
    fn create_parses_to_a_request() {
        assert_eq!(
            request::<CreateBackupArgs>(&[
                "backup",
                "create",
                "--backup-type",
                "retained",
                "--instance-kind",
                "hardware",
                "--alias",
                "nightly",
                "--viewable-days",
                "30",
                "--duration-days",
                "365",
            ]),
            CreateBackupRequest {
                backup_type: BackupType::Retained,
                instance_kind: InstanceKind::Hardware,
                alias: Some("nightly".into()),
                viewable_days: Some(30),
                duration_days: Some(365),
            }
        );
        assert_eq!(
            request::<CreateBackupArgs>(&[
                "backup",
                "create",
                "--backup-type",
                "default",
                "--instance-kind",
                "software"
            ]),
            CreateBackupRequest {
                backup_type: BackupType::Default,
                instance_kind: InstanceKind::Software,
                alias: None,
                viewable_days: None,
                duration_days: None,
            }
        );
    }

    #[test]
    fn create_refuses_missing_and_bad_values() {
        refused(&["backup", "create", "--instance-kind", "software"]);
        refused(&["backup", "create", "--backup-type", "default"]);
        // The daemon makes system backups and uploads make upload ones;
        // the default instance has none.
        for (backup_type, kind) in [("system", "software"), ("upload", "software"), ("default", "default")] {
            let err = refused(&["backup", "create", "--backup-type", backup_type, "--instance-kind", kind]).to_string();
            assert!(err.contains("invalid value"), "{backup_type} {kind}: {err}");
        }
        let err = refused(&["backup", "create", "--backup-type", "weekly", "--instance-kind", "software"]).to_string();
        assert!(err.contains("default") && err.contains("retained"), "the choices are listed: {err}");
        refused(&[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "hardware",
            "--viewable-days",
            "x",
        ]);
        refused(&[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "hardware",
            "--duration-days",
            "-1",
        ]);
    }

    #[test]
    fn enable_extend_and_renew_parse_to_requests() {
        assert_eq!(
            request::<EnableBackupArgs>(&["backup", "enable", "backup-1", "--instance", "hsm1", "--alias", "n"]),
            EnableBackupRequest { backup_id: "backup-1".into(), instance: "hsm1".into(), alias: Some("n".into()) }
        );
        assert_eq!(request::<EnableBackupArgs>(&["backup", "enable", "backup-1", "--instance", "hsm1"]).alias, None);
        assert_eq!(
            request::<ExtendBackupArgs>(&["backup", "extend", "backup-1", "--viewable-days", "90"]),
            ExtendBackupRequest { backup_id: "backup-1".into(), viewable_days: 90 }
        );
        assert_eq!(
            request::<RenewBackupArgs>(&["backup", "renew", "backup-1", "--duration-days", "30"]),
            RenewBackupRequest { backup_id: "backup-1".into(), duration_days: 30 }
        );
        refused(&["backup", "enable", "backup-1"]);
        refused(&["backup", "enable", "--instance", "hsm1"]);
        refused(&["backup", "extend", "backup-1"]);
        refused(&["backup", "extend", "backup-1", "--viewable-days", "lots"]);
        refused(&["backup", "renew", "backup-1"]);
    }

    #[test]
    fn reset_needs_yes_and_says_what_it_deletes() {
        assert_eq!(
            request::<ResetBackupArgs>(&["backup", "reset", "backup-1", "--yes"]),
            BackupRef { backup_id: "backup-1".into() }
        );
        let unconfirmed = parsed::<ResetBackupArgs>(&["backup", "reset", "backup-1"]).request();
        match unconfirmed {
            Err(RequestError::Invalid(message)) => {
                assert!(message.contains("deletes every backed-up byte of 'backup-1'"), "{message}");
                assert!(message.contains("--yes"), "{message}");
            }
            other => panic!("a reset without --yes must be refused, got {other:?}"),
        }
        refused(&["backup", "reset", "--yes"]);
    }

    #[test]
    fn changes_print_the_backup_as_it_is_afterwards() {
        let text = human::<ResetBackupArgs>(&["backup", "reset", "backup-2", "--yes"], &sample(false));
        assert!(text.starts_with("BackupId:      backup-2\n"), "{text}");
        assert!(text.contains("Status:        Disabled\n"), "{text}");
        let text = human::<EnableBackupArgs>(&["backup", "enable", "backup-1", "--instance", "hsm1"], &sample(true));
        assert!(text.contains("Instance:      hsm1\n"), "{text}");
        let json = json::<ExtendBackupArgs>(&["backup", "extend", "backup-1", "--viewable-days", "30"], &sample(true));
        assert_eq!(json["ViewableDays"], 30);
    }
}
