//! `key check-migration [KEY]`: the CMK migration diagnostic. Without a
//! key, every CMK of the default instance; with one, that key, whatever
//! its instance (to say why it cannot move). Exits 0 either way: the
//! answer is the table, not a failure.

use clap::Args;
use p11kms_proto::admin::{CheckKeyMigrationRequest, KeyMigrationChecks, op};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Format, Table};

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
}
