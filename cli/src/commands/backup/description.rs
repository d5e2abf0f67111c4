//! What backups there are: `backup list [--instance I] [--backup-type T]`
//! and `backup describe BACKUP_ID`, and the fields every command that
//! returns one backup prints.

use clap::Args;
use p11kms_proto::admin::{BackupInfo, BackupRef, BackupType, ListBackupsRequest, op};

use super::super::values::named_value;
use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, Table, or_dash};

/// `backup list [--instance I] [--backup-type T]`.
#[derive(Debug, Args)]
pub struct ListBackupsArgs {
    /// Only the backups bound to this instance.
    #[arg(long, value_name = "INSTANCE")]
    instance: Option<String>,
    /// Only backups of this type.
    #[arg(long, value_name = "TYPE", value_parser = named_value(BackupType::ALL, BackupType::as_str))]
    backup_type: Option<BackupType>,
}

impl Invocation for ListBackupsArgs {
    type Op = op::ListBackups;

    fn request(&self) -> Result<ListBackupsRequest, RequestError> {
        Ok(ListBackupsRequest { instance: self.instance.clone(), backup_type: self.backup_type })
    }

    fn render(&self, backups: &Vec<BackupInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Backups", backups, table)?)
    }
}

/// `backup describe BACKUP_ID`.
#[derive(Debug, Args)]
pub struct DescribeBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
}

impl Invocation for DescribeBackupArgs {
    type Op = op::DescribeBackup;

    fn request(&self) -> Result<BackupRef, RequestError> {
        Ok(BackupRef { backup_id: self.backup_id.clone() })
    }

    fn render(&self, backup: &BackupInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, backup, fields)?)
    }
}

/// One backup as `Field: value` lines, named as `--json` names them; every
/// command that changes a backup prints it so, as it is afterwards.
pub(super) fn fields(backup: &BackupInfo) -> String {
    Fields::new()
        .field("BackupId", &backup.backup_id)
        .field("Alias", or_dash(backup.alias.as_ref()))
        .field("BackupType", backup.backup_type)
        .field("Status", backup.status)
        .field("Instance", or_dash(backup.instance.as_ref()))
        .field("InstanceKind", backup.instance_kind)
        .field("CreationDate", backup.creation_date)
        .field("EnableDate", or_dash(backup.enable_date.as_ref()))
        .field("ViewableDays", backup.viewable_days)
        .field("ExpireDate", or_dash(backup.expire_date.as_ref()))
        .field("Cluster", or_dash(backup.cluster.as_ref()))
        .field("PrimaryMember", or_dash(backup.primary_member.as_ref()))
        .field("PointCount", backup.point_count)
        .field("LastFull", or_dash(backup.last_full.as_ref()))
        .field("LastPoint", or_dash(backup.last_point.as_ref()))
        .field("StoredBytes", backup.stored_bytes)
        .field("LastDrill", backup.last_drill.as_ref().map_or_else(|| "-".to_owned(), drill_summary))
        .render()
}

/// A drill in one line: when, which point, passed or how many failures.
pub(super) fn drill_summary(drill: &p11kms_proto::admin::BackupDrill) -> String {
    let outcome =
        if drill.passed { "passed".to_owned() } else { format!("FAILED ({} failures)", drill.failures.len()) };
    format!(
        "{} on {} (point of {}; {} key versions, {} secret versions checked)",
        outcome, drill.drill_date, drill.point_date, drill.key_versions_checked, drill.secret_versions_checked
    )
}

fn table(backups: &[BackupInfo]) -> String {
    if backups.is_empty() {
        return "No backup.\n".to_owned();
    }
    let mut table =
        Table::new(&["BACKUP-ID", "ALIAS", "TYPE", "STATUS", "INSTANCE", "KIND", "VIEWABLE-DAYS", "LAST-POINT"]);
    for backup in backups {
        table.row(vec![
            backup.backup_id.clone(),
            or_dash(backup.alias.as_ref()),
            backup.backup_type.to_string(),
            backup.status.to_string(),
            or_dash(backup.instance.as_ref()),
            backup.instance_kind.to_string(),
            backup.viewable_days.to_string(),
            or_dash(backup.last_point.as_ref()),
        ]);
    }
    table.render()
}

/// A sample reply: an enabled retained backup of a hardware instance, or,
/// with `enabled` false, a new default backup bound to nothing.
#[cfg(test)]
pub(super) fn sample(enabled: bool) -> BackupInfo {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{BackupStatus, InstanceKind};

    let day = Timestamp(1_796_515_200); // 2026-12-06T00:00:00Z
    if enabled {
        BackupInfo {
            backup_id: "backup-1".into(),
            alias: Some("nightly".into()),
            backup_type: BackupType::Retained,
            status: BackupStatus::Enabled,
            instance: Some("hsm1".into()),
            instance_kind: InstanceKind::Hardware,
            creation_date: day,
            enable_date: Some(day.plus_seconds(60)),
            viewable_days: 30,
            expire_date: Some(day.plus_seconds(365 * 86_400)),
            cluster: Some("c1".into()),
            primary_member: Some("c1-0".into()),
            point_count: 3,
            last_full: Some(day.plus_seconds(60)),
            last_point: Some(day.plus_seconds(3_660)),
            stored_bytes: 4096,
            last_drill: None,
        }
    } else {
        BackupInfo {
            backup_id: "backup-2".into(),
            alias: None,
            backup_type: BackupType::Default,
            status: BackupStatus::Disabled,
            instance: None,
            instance_kind: InstanceKind::Software,
            creation_date: day,
            enable_date: None,
            viewable_days: 7,
            expire_date: None,
            cluster: None,
            primary_member: None,
            point_count: 0,
            last_full: None,
            last_point: None,
            stored_bytes: 0,
            last_drill: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{human, json, refused, request};
    use super::*;

    #[test]
    fn list_and_describe_parse_to_requests() {
        assert_eq!(request::<ListBackupsArgs>(&["backup", "list"]), ListBackupsRequest::default());
        assert_eq!(
            request::<ListBackupsArgs>(&["backup", "list", "--instance", "hsm1", "--backup-type", "system"]),
            ListBackupsRequest { instance: Some("hsm1".into()), backup_type: Some(BackupType::System) }
        );
        assert_eq!(
            request::<DescribeBackupArgs>(&["backup", "describe", "backup-1"]),
            BackupRef { backup_id: "backup-1".into() }
        );
        let err = refused(&["backup", "list", "--backup-type", "weekly"]).to_string();
        assert!(err.contains("system") && err.contains("retained"), "the types are listed: {err}");
        refused(&["backup", "describe"]);
        refused(&["backup", "list", "extra"]);
    }

    #[test]
    fn describe_prints_every_field_with_dashes_for_absent_ones() {
        let args = &["backup", "describe", "backup-2"];
        assert_eq!(
            human::<DescribeBackupArgs>(args, &sample(false)),
            "BackupId:      backup-2\n\
             Alias:         -\n\
             BackupType:    default\n\
             Status:        Disabled\n\
             Instance:      -\n\
             InstanceKind:  software\n\
             CreationDate:  2026-12-06T00:00:00Z\n\
             EnableDate:    -\n\
             ViewableDays:  7\n\
             ExpireDate:    -\n\
             Cluster:       -\n\
             PrimaryMember: -\n\
             PointCount:    0\n\
             LastFull:      -\n\
             LastPoint:     -\n\
             StoredBytes:   0\n\
             LastDrill:     -\n"
        );
        let text = human::<DescribeBackupArgs>(args, &sample(true));
        assert!(text.contains("Instance:      hsm1\n"), "{text}");
        assert!(text.contains("ExpireDate:    2027-12-06T00:00:00Z\n"), "{text}");
        assert!(text.contains("PrimaryMember: c1-0\n"), "{text}");
    }

    #[test]
    fn describe_json_is_the_api_shape() {
        let enabled = json::<DescribeBackupArgs>(&["backup", "describe", "backup-1"], &sample(true));
        assert_eq!(enabled["BackupId"], "backup-1");
        assert_eq!(enabled["BackupType"], "retained");
        assert_eq!(enabled["Status"], "Enabled");
        assert_eq!(enabled["InstanceKind"], "hardware");
        assert_eq!(enabled["LastPoint"], "2026-12-06T01:01:00Z");
        assert_eq!(enabled["StoredBytes"], 4096);
        let disabled = json::<DescribeBackupArgs>(&["backup", "describe", "backup-2"], &sample(false));
        assert!(disabled["Instance"].is_null() && disabled["ExpireDate"].is_null(), "{disabled}");
    }

    #[test]
    fn list_prints_a_table_or_says_there_is_none() {
        let text = human::<ListBackupsArgs>(&["backup", "list"], &vec![sample(true), sample(false)]);
        assert_eq!(
            text,
            "BACKUP-ID  ALIAS    TYPE      STATUS    INSTANCE  KIND      VIEWABLE-DAYS  LAST-POINT\n\
             backup-1   nightly  retained  Enabled   hsm1      hardware  30             2026-12-06T01:01:00Z\n\
             backup-2   -        default   Disabled  -         software  7              -\n"
        );
        assert_eq!(human::<ListBackupsArgs>(&["backup", "list"], &vec![]), "No backup.\n");
        let json = json::<ListBackupsArgs>(&["backup", "list"], &vec![sample(true)]);
        assert_eq!((json["TotalCount"].as_u64(), &json["Backups"][0]["BackupId"]), (Some(1), &"backup-1".into()));
    }
}
