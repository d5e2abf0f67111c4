//! `backup show BACKUP_ID --date YYYY-MM-DD`: what a backup holds on one
//! day, the spec's six sets (keys and secrets backed up fully,
//! incrementally, and rotated), each printed as a titled table.

use clap::Args;
use p11kms_proto::admin::{BackedUpKey, BackedUpSecret, BackupDay, ShowBackupRequest, op};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, Table, list_or_dash};

/// `backup show BACKUP_ID --date YYYY-MM-DD`.
#[derive(Debug, Args)]
pub struct ShowBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// The day, `YYYY-MM-DD`, in the region's time zone (within the backup's viewable days).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    date: String,
}

impl Invocation for ShowBackupArgs {
    type Op = op::ShowBackup;

    fn request(&self) -> Result<ShowBackupRequest, RequestError> {
        Ok(ShowBackupRequest { backup_id: self.backup_id.clone(), date: self.date.clone() })
    }

    fn render(&self, day: &BackupDay, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, day, sections)?)
    }
}

/// A day as `YYYY-MM-DD` that exists in the calendar. Checked here, not only
/// by the daemon, so that a typo (`2026-2-30`, `2026-02-30`) reads as a
/// usage error naming the value rather than as an API refusal.
pub fn date(text: &str) -> Result<String, String> {
    let bad = |why: String| format!("'{text}' is not a date: {why} (use YYYY-MM-DD, e.g. 2026-12-06)");
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(bad("it is not four, two and two digits joined by '-'".into()));
    }
    // Cannot fail once the shape is checked; mapped rather than unwrapped.
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().map_err(|e| bad(e.to_string()));
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return Err(bad(format!("there is no month {month:02}"))),
    };
    if day == 0 || day > days {
        return Err(bad(format!("{year:04}-{month:02} has days 01 to {days}")));
    }
    Ok(text.to_owned())
}

/// The day's header, then the six sets, each titled with its count.
fn sections(day: &BackupDay) -> String {
    let mut out = Fields::new().field("BackupId", &day.backup_id).field("Date", &day.date).render();
    let keys = [
        ("Fully backed-up keys", &day.fully_backed_up_keys),
        ("Incrementally backed-up keys", &day.incrementally_backed_up_keys),
        ("Rotated keys", &day.rotated_keys),
    ];
    for (title, set) in keys {
        out.push_str(&section(title, set.len(), || key_table(set)));
    }
    let secrets = [
        ("Fully backed-up secrets", &day.fully_backed_up_secrets),
        ("Incrementally backed-up secrets", &day.incrementally_backed_up_secrets),
        ("Rotated secrets", &day.rotated_secrets),
    ];
    for (title, set) in secrets {
        out.push_str(&section(title, set.len(), || secret_table(set)));
    }
    out
}

/// One set: a blank line, `Title (N):`, and its table or `(none)`.
fn section(title: &str, count: usize, table: impl FnOnce() -> String) -> String {
    let body = if count == 0 { "(none)\n".to_owned() } else { table() };
    format!("\n{title} ({count}):\n{body}")
}

fn key_table(keys: &[BackedUpKey]) -> String {
    let mut table = Table::new(&["KEY-ID", "ALIASES", "SPEC", "STATE", "VERSIONS", "PRIMARY-VERSION"]);
    for key in keys {
        table.row(vec![
            key.key_id.clone(),
            list_or_dash(&key.aliases),
            key.key_spec.to_string(),
            key.key_state.to_string(),
            key.version_count.to_string(),
            key.primary_key_version.clone(),
        ]);
    }
    table.render()
}

fn secret_table(secrets: &[BackedUpSecret]) -> String {
    let mut table = Table::new(&["NAME", "TYPE", "ENCRYPTION-KEY", "VERSIONS"]);
    for secret in secrets {
        table.row(vec![
            secret.secret_name.clone(),
            secret.secret_type.to_string(),
            secret.encryption_key_id.clone(),
            // The ids, not a count: a rotated secret is told apart by them.
            list_or_dash(&secret.version_ids),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{KeySpec, KeyState, KeyUsage, SecretType};

    use super::super::super::test_support::{human, json, refused, request};
    use super::*;

    fn key(id: &str, aliases: &[&str], versions: u32) -> BackedUpKey {
        BackedUpKey {
            key_id: id.into(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            key_spec: KeySpec::Aes256,
            key_usage: KeyUsage::EncryptDecrypt,
            key_state: KeyState::Enabled,
            creation_date: Timestamp(1_796_515_200),
            primary_key_version: format!("{id}-v{versions}"),
            version_count: versions,
        }
    }

    fn secret(name: &str, versions: &[&str]) -> BackedUpSecret {
        BackedUpSecret {
            secret_name: name.into(),
            secret_type: SecretType::Generic,
            encryption_key_id: "key-1".into(),
            creation_date: Timestamp(1_796_515_200),
            version_ids: versions.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn day() -> BackupDay {
        BackupDay {
            backup_id: "backup-1".into(),
            date: "2026-12-06".into(),
            fully_backed_up_keys: vec![key("key-1", &["alias/a", "alias/b"], 2), key("key-2", &[], 1)],
            incrementally_backed_up_keys: vec![],
            rotated_keys: vec![key("key-1", &["alias/a", "alias/b"], 2)],
            fully_backed_up_secrets: vec![secret("db", &["v1", "v2"])],
            incrementally_backed_up_secrets: vec![],
            rotated_secrets: vec![],
        }
    }

    const ARGS: &[&str] = &["backup", "show", "backup-1", "--date", "2026-12-06"];

    #[test]
    fn show_parses_to_a_request() {
        assert_eq!(
            request::<ShowBackupArgs>(ARGS),
            ShowBackupRequest { backup_id: "backup-1".into(), date: "2026-12-06".into() }
        );
        assert_eq!(request::<ShowBackupArgs>(&["backup", "show", "b", "--date", "2028-02-29"]).date, "2028-02-29");
        refused(&["backup", "show", "backup-1"]);
        refused(&["backup", "show", "--date", "2026-12-06"]);
    }

    #[test]
    fn a_date_is_yyyy_mm_dd_and_exists() {
        assert_eq!(date("2000-02-29").as_deref(), Ok("2000-02-29"), "divisible by 400: a leap year");
        for (text, why) in [
            ("2026-2-3", "it is not four, two and two digits"),
            ("06/12/2026", "it is not four, two and two digits"),
            ("2026-12-06T00:00:00Z", "it is not four, two and two digits"),
            ("2026-1a-06", "it is not four, two and two digits"),
            ("+026-12-06", "it is not four, two and two digits"),
            ("", "it is not four, two and two digits"),
            ("2026-13-01", "there is no month 13"),
            ("2026-00-01", "there is no month 00"),
            ("2026-02-29", "2026-02 has days 01 to 28"),
            ("1900-02-29", "1900-02 has days 01 to 28"),
            ("2026-04-31", "2026-04 has days 01 to 30"),
            ("2026-12-00", "2026-12 has days 01 to 31"),
        ] {
            let err = date(text).expect_err(text);
            assert!(err.starts_with(&format!("'{text}' is not a date: {why}")), "{err}");
            assert!(err.ends_with("(use YYYY-MM-DD, e.g. 2026-12-06)"), "{err}");
        }
        let err = refused(&["backup", "show", "backup-1", "--date", "2026-02-30"]).to_string();
        assert!(err.contains("2026-02 has days 01 to 28"), "the command line says why: {err}");
    }

    #[test]
    fn show_prints_six_titled_sections() {
        assert_eq!(
            human::<ShowBackupArgs>(ARGS, &day()),
            "BackupId: backup-1\n\
             Date:     2026-12-06\n\
             \n\
             Fully backed-up keys (2):\n\
             KEY-ID  ALIASES          SPEC     STATE    VERSIONS  PRIMARY-VERSION\n\
             key-1   alias/a,alias/b  AES_256  Enabled  2         key-1-v2\n\
             key-2   -                AES_256  Enabled  1         key-2-v1\n\
             \n\
             Incrementally backed-up keys (0):\n\
             (none)\n\
             \n\
             Rotated keys (1):\n\
             KEY-ID  ALIASES          SPEC     STATE    VERSIONS  PRIMARY-VERSION\n\
             key-1   alias/a,alias/b  AES_256  Enabled  2         key-1-v2\n\
             \n\
             Fully backed-up secrets (1):\n\
             NAME  TYPE     ENCRYPTION-KEY  VERSIONS\n\
             db    Generic  key-1           v1,v2\n\
             \n\
             Incrementally backed-up secrets (0):\n\
             (none)\n\
             \n\
             Rotated secrets (0):\n\
             (none)\n"
        );
    }

    #[test]
    fn show_json_is_the_api_shape() {
        let json = json::<ShowBackupArgs>(ARGS, &day());
        assert_eq!(json["Date"], "2026-12-06");
        assert_eq!(json["FullyBackedUpKeys"][0]["KeyId"], "key-1");
        assert_eq!(json["FullyBackedUpKeys"][0]["KeySpec"], "AES_256");
        assert_eq!(json["FullyBackedUpSecrets"][0]["VersionIds"][1], "v2");
        assert_eq!(json["RotatedSecrets"].as_array().map(Vec::len), Some(0));
    }
}
