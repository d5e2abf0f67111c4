//! The CMK migration's commands. `key check-migration [KEY]`: the
//! diagnostic; without a key, every CMK of the default instance; with one,
//! that key, whatever its instance (to say why it cannot move); exits 0
//! either way: the answer is the table, not a failure. `key migrate`: a
//! migration task the daemon runs in its window; `key describe-migration`
//! and `key list-migrations` follow it.

use clap::Args;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    CheckKeyMigrationRequest, KeyMigrationChecks, KeyMigrationTask, ListKeyMigrationsRequest, MigrateKeyRequest,
    MigrationTaskRef, op,
};

use super::super::values::time;
use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, Table, or_dash};

/// `key check-migration [KEY]`.
#[derive(Debug, Args)]
pub struct CheckKeyMigrationArgs {
    /// Key id or alias; without one, every CMK of the default instance.
    #[arg(value_name = "KEY")]
    key: Option<String>,
}

impl Invocation for CheckKeyMigrationArgs {
    type Op = op::CheckKeyMigration;

    fn request(&self) -> Result<CheckKeyMigrationRequest, RequestError> {
        Ok(CheckKeyMigrationRequest { key: self.key.clone() })
    }

    fn render(&self, checks: &KeyMigrationChecks, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, checks, table)?)
    }
}

fn table(checks: &KeyMigrationChecks) -> String {
    if checks.keys.is_empty() {
        return "No CMK in the default instance: nothing to migrate.\n".to_owned();
    }
    let mut table = Table::new(&["KEY", "INSTANCE", "TYPE", "MIGRATABLE", "WHY NOT"]);
    for key in &checks.keys {
        let why = key.reasons.iter().map(|r| format!("{}: {}", r.code, r.message)).collect::<Vec<_>>().join("; ");
        table.row(vec![
            key.key_id.clone(),
            key.instance.clone(),
            key.key_manager_type.to_string(),
            if key.migratable { "yes".into() } else { "no".into() },
            if why.is_empty() { "-".into() } else { why },
        ]);
    }
    table.render()
}

/// `key migrate KEY --to-instance I [--window-start T] [--window-end T]`.
#[derive(Debug, Args)]
pub struct MigrateKeyArgs {
    /// Key id or alias: a CMK of the default instance.
    #[arg(value_name = "KEY")]
    key: String,
    /// The software or hardware instance it moves into.
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
    /// When the daemon may start (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", value_parser = time)]
    window_start: Option<Timestamp>,
    /// When it must have started by (RFC 3339; default: an hour after the start).
    #[arg(long, value_name = "TIME", value_parser = time)]
    window_end: Option<Timestamp>,
}

impl Invocation for MigrateKeyArgs {
    type Op = op::MigrateKey;

    fn request(&self) -> Result<MigrateKeyRequest, RequestError> {
        Ok(MigrateKeyRequest {
            key: self.key.clone(),
            to_instance: self.to_instance.clone(),
            window_start: self.window_start,
            window_end: self.window_end,
        })
    }

    fn render(&self, task: &KeyMigrationTask, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, task, task_fields)?)
    }
}

/// `key describe-migration TASK_ID`.
#[derive(Debug, Args)]
pub struct DescribeKeyMigrationArgs {
    /// The task's id (`mt-…`), as `key migrate` printed it.
    #[arg(value_name = "TASK_ID")]
    task_id: String,
}

impl Invocation for DescribeKeyMigrationArgs {
    type Op = op::DescribeKeyMigration;

    fn request(&self) -> Result<MigrationTaskRef, RequestError> {
        Ok(MigrationTaskRef { task_id: self.task_id.clone() })
    }

    fn render(&self, task: &KeyMigrationTask, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, task, task_fields)?)
    }
}

/// `key list-migrations [--key KEY]`.
#[derive(Debug, Args)]
pub struct ListKeyMigrationsArgs {
    /// Only the tasks of this key (id or alias).
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
}

impl Invocation for ListKeyMigrationsArgs {
    type Op = op::ListKeyMigrations;

    fn request(&self) -> Result<ListKeyMigrationsRequest, RequestError> {
        Ok(ListKeyMigrationsRequest { key: self.key.clone() })
    }

    fn render(&self, tasks: &Vec<KeyMigrationTask>, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, tasks, task_table)?)
    }
}

fn task_fields(task: &KeyMigrationTask) -> String {
    Fields::new()
        .field("TaskId", &task.task_id)
        .field("KeyId", &task.key_id)
        .field("FromInstance", &task.from_instance)
        .field("ToInstance", &task.to_instance)
        .field("WindowStart", task.window_start)
        .field("WindowEnd", task.window_end)
        .field("Status", task.status)
        .field("FailureReason", or_dash(task.failure_reason.as_ref()))
        .field("CreationDate", task.creation_date)
        .field("StartDate", or_dash(task.start_date.as_ref()))
        .field("EndDate", or_dash(task.end_date.as_ref()))
        .render()
}

fn task_table(tasks: &Vec<KeyMigrationTask>) -> String {
    if tasks.is_empty() {
        return "No migration task.\n".to_owned();
    }
    let mut table = Table::new(&["TASK-ID", "KEY-ID", "FROM", "TO", "STATUS", "WINDOW-START", "WINDOW-END", "REASON"]);
    for task in tasks {
        table.row(vec![
            task.task_id.clone(),
            task.key_id.clone(),
            task.from_instance.clone(),
            task.to_instance.clone(),
            task.status.to_string(),
            task.window_start.to_string(),
            task.window_end.to_string(),
            or_dash(task.failure_reason.as_ref()).to_string(),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::request;
    use super::*;

    #[test]
    fn the_key_is_optional() {
        assert_eq!(
            request::<CheckKeyMigrationArgs>(&["key", "check-migration"]),
            CheckKeyMigrationRequest { key: None }
        );
        assert_eq!(
            request::<CheckKeyMigrationArgs>(&["key", "check-migration", "alias/a"]),
            CheckKeyMigrationRequest { key: Some("alias/a".into()) }
        );
    }

    #[test]
    fn a_migration_names_its_target_and_may_give_a_window() {
        assert_eq!(
            request::<MigrateKeyArgs>(&["key", "migrate", "alias/a", "--to-instance", "hsm1"]),
            MigrateKeyRequest {
                key: "alias/a".into(),
                to_instance: "hsm1".into(),
                window_start: None,
                window_end: None
            }
        );
        assert_eq!(
            request::<MigrateKeyArgs>(&[
                "key",
                "migrate",
                "k",
                "--to-instance",
                "hsm1",
                "--window-start",
                "2026-12-07T01:00:00Z",
                "--window-end",
                "2026-12-07T03:00:00Z",
            ])
            .window_end
            .map(|t| t.unix() - 1_796_605_200),
            Some(7_200)
        );
        super::super::super::test_support::refused(&["key", "migrate", "k"]);
        super::super::super::test_support::refused(&[
            "key",
            "migrate",
            "k",
            "--to-instance",
            "i",
            "--window-start",
            "soon",
        ]);
    }
}
