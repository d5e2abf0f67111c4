//! What `secret migrate` prints on stdout: for humans, the calls made at
//! the destination and the comparison side by side (source | destination,
//! per field, and per version its stages and value digest: never a
//! value); with `--json` the same as one object, whose shape
//! `docs/secrets.md` documents.

use serde::Serialize;

use p11kms_proto::admin::{SecretDescription, SecretType};

use super::checks::{End, Ends};
use super::compare::{Comparison, VersionSide};
use super::error::Cleanup;
use super::plan::Step;
use crate::output::{self, Format, Table, list_or_dash};

/// How the migration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The destination holds an equal copy.
    Migrated,
    /// An Rds or ECS secret: nothing to do, nothing made.
    NoMigrationNeeded,
    /// The copy differs from the source (and was removed).
    Different,
}

/// The report: `{"SecretName", "SecretType", "Outcome", "Message",
/// "Source", "Destination", "Steps", "Comparison"}` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    /// The secret.
    pub secret_name: String,
    /// Its type.
    pub secret_type: SecretType,
    /// How it ended.
    pub outcome: Outcome,
    /// What it means, in a sentence or two.
    pub message: String,
    /// The source's region and instance (none: not read).
    pub source: Option<End>,
    /// The destination's (none: not read).
    pub destination: Option<End>,
    /// The calls made at the destination.
    pub steps: Vec<Step>,
    /// Both sides compared (none: nothing was made).
    pub comparison: Option<Comparison>,
}

impl Report {
    /// A secret the spec says needs no migration.
    pub fn no_migration(description: &SecretDescription, message: String) -> Self {
        Self {
            secret_name: description.secret_name.clone(),
            secret_type: description.secret_type,
            outcome: Outcome::NoMigrationNeeded,
            message,
            source: None,
            destination: None,
            steps: Vec::new(),
            comparison: None,
        }
    }

    /// A copy made and compared; `cleanup` says what became of one that
    /// differs.
    pub fn made(
        description: &SecretDescription,
        ends: &Ends,
        steps: Vec<Step>,
        comparison: Comparison,
        cleanup: Option<&Cleanup>,
    ) -> Self {
        let name = &description.secret_name;
        let (to, from) = (&ends.destination, &ends.source);
        let (outcome, message) = match cleanup {
            None => (
                Outcome::Migrated,
                format!(
                    "Secret '{name}' migrated from region {} (instance {}) to region {} (instance {}): both sides \
                     compare equal. The source is untouched: delete it (`p11kms secret delete {name}`) once the \
                     applications use the destination.",
                    from.region, from.instance, to.region, to.instance
                ),
            ),
            Some(cleanup) => (
                Outcome::Different,
                format!("The copy of '{name}' in region {} differs from the source: {cleanup}.", to.region),
            ),
        };
        Self {
            secret_name: name.clone(),
            secret_type: description.secret_type,
            outcome,
            message,
            source: Some(from.clone()),
            destination: Some(to.clone()),
            steps,
            comparison: Some(comparison),
        }
    }

    /// The report as `format` shows it.
    pub fn render(&self, format: Format) -> Result<String, serde_json::Error> {
        output::show(format, self, human)
    }
}

fn human(report: &Report) -> String {
    let mut text = String::new();
    if let (Some(from), Some(to)) = (&report.source, &report.destination) {
        text.push_str(&format!(
            "Secret '{}' ({}): region {}, instance {} -> region {}, instance {}.\n",
            report.secret_name, report.secret_type, from.region, from.instance, to.region, to.instance
        ));
    }
    if !report.steps.is_empty() {
        text.push_str("\nCalls made at the destination:\n");
        for step in &report.steps {
            text.push_str(&format!("  {step}\n"));
        }
    }
    if let Some(comparison) = &report.comparison {
        text.push('\n');
        text.push_str(&comparison_tables(comparison));
        text.push_str(
            "Values show as HMAC-SHA-256 digests under a key drawn for this run (equal digests, equal bytes).\n\n",
        );
    }
    text.push_str(&output::block(&report.message));
    text
}

/// The side-by-side tables: fields, then versions.
fn comparison_tables(comparison: &Comparison) -> String {
    let verdict = |compared: bool, equal: bool| match (compared, equal) {
        (false, _) => "not compared",
        (true, true) => "equal",
        (true, false) => "DIFFERENT",
    };
    let mut fields = Table::new(&["FIELD", "SOURCE", "DESTINATION", "MATCH"]);
    for row in &comparison.fields {
        fields.row(vec![
            row.field.to_owned(),
            row.source.clone().unwrap_or_else(|| "-".into()),
            row.destination.clone().unwrap_or_else(|| "-".into()),
            verdict(row.compared, row.equal).to_owned(),
        ]);
    }
    let mut versions =
        Table::new(&["VERSION", "SOURCE STAGES", "SOURCE VALUE", "DESTINATION STAGES", "DESTINATION VALUE", "MATCH"]);
    let cells = |side: Option<&VersionSide>| match side {
        Some(side) => [list_or_dash(&side.version_stages), format!("{} {}", side.secret_data_type, side.value_digest)],
        None => ["(absent)".to_owned(), "(absent)".to_owned()],
    };
    for row in &comparison.versions {
        let [source_stages, source_value] = cells(row.source.as_ref());
        let [copy_stages, copy_value] = cells(row.destination.as_ref());
        versions.row(vec![
            row.version_id.clone(),
            source_stages,
            source_value,
            copy_stages,
            copy_value,
            verdict(true, row.equal).to_owned(),
        ]);
    }
    format!("{}\n{}", fields.render(), versions.render())
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::SecretDataType;

    use super::super::compare::{FieldRow, VersionRow};
    use super::super::digest::DigestKey;
    use super::super::fixtures::{self, ends};
    use super::*;

    fn description() -> SecretDescription {
        fixtures::description("db")
    }

    fn comparison(equal: bool) -> Comparison {
        let key = DigestKey::new().expect("key");
        let side = |value: &[u8]| VersionSide {
            version_stages: vec!["ACSCurrent".into(), "blue".into()],
            secret_data_type: SecretDataType::Text,
            value_digest: key.digest(value),
            create_time: Timestamp(5),
        };
        Comparison {
            fields: vec![FieldRow {
                field: "Description",
                source: Some("a".into()),
                destination: Some(if equal { "a" } else { "b" }.into()),
                compared: true,
                equal,
            }],
            versions: vec![
                VersionRow {
                    version_id: "v1".into(),
                    source: Some(side(b"pw")),
                    destination: Some(side(b"pw")),
                    equal: true,
                },
                VersionRow { version_id: "v2".into(), source: Some(side(b"x")), destination: None, equal: false },
            ],
            equal,
        }
    }

    #[test]
    fn humans_see_both_sides_and_digests_never_values() {
        let steps = vec![Step::Create { version_id: "v1".into() }];
        let report = Report::made(&description(), &ends(), steps, comparison(true), None);
        let text = report.render(Format::Human).expect("renders");
        assert!(text.starts_with("Secret 'db' (Generic): region eu-1, instance hsm1 -> region eu-2, instance hsm2.\n"));
        assert!(text.contains("\nCalls made at the destination:\n  CreateSecret v1\n"), "{text}");
        assert!(
            text.contains("FIELD        SOURCE  DESTINATION  MATCH\nDescription  a       a            equal\n"),
            "{text}"
        );
        assert!(text.contains("v1       ACSCurrent,blue  text "), "{text}");
        assert!(text.contains("(absent)"), "{text}");
        assert!(!text.contains("pw"), "no value: {text}");
        assert!(text.ends_with("once the applications use the destination.\n"), "{text}");
    }

    #[test]
    fn json_has_the_documented_shape() {
        let cleanup = Cleanup::Removed;
        let report = Report::made(&description(), &ends(), vec![], comparison(false), Some(&cleanup));
        let json: serde_json::Value =
            serde_json::from_str(&report.render(Format::Json).expect("renders")).expect("JSON");
        assert_eq!(json["Outcome"], "Different");
        assert_eq!(json["Source"], serde_json::json!({"Region": "eu-1", "DKMSInstanceId": "hsm1"}));
        assert_eq!(json["Comparison"]["Equal"], false);
        assert_eq!(json["Comparison"]["Fields"][0]["Field"], "Description");
        let version = &json["Comparison"]["Versions"][0];
        assert_eq!(version["Source"]["VersionStages"], serde_json::json!(["ACSCurrent", "blue"]));
        assert_eq!(version["Source"]["SecretDataType"], "text");
        assert_eq!(version["Source"]["ValueDigest"].as_str().map(str::len), Some(16));
        assert_eq!(version["Source"]["CreateTime"], "1970-01-01T00:00:05Z");
        assert!(json["Comparison"]["Versions"][1]["Destination"].is_null());
        assert!(json["Message"].as_str().expect("message").contains("was removed"));
        let none = Report::no_migration(&description(), "no migration needed".into());
        let json: serde_json::Value = serde_json::from_str(&none.render(Format::Json).expect("renders")).expect("JSON");
        assert_eq!((json["Outcome"].as_str(), json["Comparison"].is_null()), (Some("NoMigrationNeeded"), true));
        assert_eq!(none.render(Format::Human).expect("renders"), "no migration needed\n");
    }
}
