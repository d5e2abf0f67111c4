//! Seeing the source change. Between two steps of a migration the
//! source's description is read again and must be what it was: its
//! `UpdateTime` moves with every change (values, stages, description,
//! ExtendedConfig, tags, rotation policy, deletion), and its other fields
//! catch a change made within the second of the last one (times are whole
//! seconds). At the end the whole secret, values and stages included, is
//! read again and must be as it was read at the start ([`changes`]).

use serde::Serialize;

use p11kms_proto::admin::SecretDescription;

use super::error::MigrateError;
use super::read::{self, SecretState};
use super::side::Side;

/// Refuses to go on when the source's description is no longer `read`.
pub fn unchanged(source: &Side, read: &SecretDescription) -> Result<(), MigrateError> {
    let now = read::describe(source, &read.secret_name)?;
    let changed = fields(read, &now);
    if changed.is_empty() {
        return Ok(());
    }
    Err(MigrateError::SourceChanged { name: read.secret_name.clone(), what: format!("{} changed", changed.join(", ")) })
}

/// What differs between the source as read at the start and as read at
/// the end: its description's fields, and each version added, gone, or
/// with other stages, value or creation time.
pub fn changes(before: &SecretState, after: &SecretState) -> Vec<String> {
    let mut changes = fields(&before.description, &after.description);
    for version in &before.versions {
        match after.versions.iter().find(|v| v.version_id == version.version_id) {
            None => changes.push(format!("version '{}' is gone", version.version_id)),
            Some(now) if now != version => changes.push(format!("version '{}' changed", version.version_id)),
            Some(_) => {}
        }
    }
    for version in &after.versions {
        if !before.versions.iter().any(|v| v.version_id == version.version_id) {
            changes.push(format!("version '{}' is new", version.version_id));
        }
    }
    changes
}

/// The names of the fields (as `--json` names them) whose values differ.
fn fields<T: Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(before)), Ok(serde_json::Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return vec!["its description".to_owned()];
    };
    let mut names: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names.retain(|name| before.get(name) != after.get(name));
    names
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{SecretDataType, Tag};

    use super::super::digest::DigestKey;
    use super::super::fixtures;
    use super::super::read::VersionState;
    use super::*;

    fn state(key: &DigestKey) -> SecretState {
        let description = SecretDescription {
            description: "d".into(),
            update_time: Timestamp(20),
            tags: Some(vec![Tag { tag_key: "team".into(), tag_value: "pay".into() }]),
            ..fixtures::description("db")
        };
        let version = |id: &str, value: &[u8]| VersionState {
            version_id: id.into(),
            create_time: Timestamp(10),
            stages: vec![],
            data_type: SecretDataType::Text,
            digest: key.digest(value),
        };
        SecretState { description, versions: vec![version("v1", b"a"), version("v2", b"b")] }
    }

    #[test]
    fn every_change_of_the_source_is_named() {
        let key = DigestKey::new().expect("key");
        let before = state(&key);
        assert!(changes(&before, &before.clone()).is_empty());
        let mut after = before.clone();
        after.description.update_time = Timestamp(21);
        after.description.tags = Some(vec![]);
        after.versions[0].digest = key.digest(b"other");
        after.versions[1].stages = vec!["blue".into()];
        after.versions.push(VersionState { version_id: "v3".into(), ..after.versions[0].clone() });
        assert_eq!(
            changes(&before, &after),
            ["Tags", "UpdateTime", "version 'v1' changed", "version 'v2' changed", "version 'v3' is new"]
        );
        let mut after = before.clone();
        after.versions.remove(0);
        after.description.description = "e".into();
        assert_eq!(changes(&before, &after), ["Description", "version 'v1' is gone"]);
    }
}
