//! The comparison of the source and its copy, field by field and version
//! by version, as the report shows it side by side.
//!
//! Compared: the secret's name, type, description, tags (as a set),
//! ExtendedConfig (as JSON when both are JSON), rotation; every version
//! present on either side, with its stages (as a set), data type and value
//! (by digest: equal digests are equal bytes, [`super::digest`]). Shown but
//! not compared, since they belong to each region: the region, instance,
//! encrypting key and creation times.

use serde::Serialize;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{SecretDataType, SecretDescription, Tag};

use super::checks::Ends;
use super::digest::Digest;
use super::read::{SecretState, VersionState};

/// One field, on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldRow {
    /// Its API name.
    pub field: &'static str,
    /// At the source (none: absent).
    pub source: Option<String>,
    /// At the destination.
    pub destination: Option<String>,
    /// False for the fields that belong to each region.
    pub compared: bool,
    /// Equal, or not compared.
    pub equal: bool,
}

/// One version on one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionSide {
    /// Its stages, sorted.
    pub version_stages: Vec<String>,
    /// How its value is written.
    pub secret_data_type: SecretDataType,
    /// Its value's digest under the run's key.
    pub value_digest: Digest,
    /// When it was made there (not compared).
    pub create_time: Timestamp,
}

/// One version, on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionRow {
    /// Its id.
    pub version_id: String,
    /// At the source (none: absent there).
    pub source: Option<VersionSide>,
    /// At the destination.
    pub destination: Option<VersionSide>,
    /// Present on both sides with the same stages, data type and value.
    pub equal: bool,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Comparison {
    /// The secret's fields.
    pub fields: Vec<FieldRow>,
    /// Its versions: the source's in creation order, then any only the
    /// destination has.
    pub versions: Vec<VersionRow>,
    /// Every compared field and every version equal.
    pub equal: bool,
}

/// Compares the source and its copy.
pub fn compare(source: &SecretState, copy: &SecretState, ends: &Ends) -> Comparison {
    let fields = fields(&source.description, &copy.description, ends);
    let mut versions: Vec<VersionRow> = source.versions.iter().map(|v| row(Some(v), find(copy, v))).collect();
    versions.extend(copy.versions.iter().filter(|v| find(source, v).is_none()).map(|v| row(None, Some(v))));
    let equal = fields.iter().all(|f| f.equal) && versions.iter().all(|v| v.equal);
    Comparison { fields, versions, equal }
}

fn find<'a>(state: &'a SecretState, version: &VersionState) -> Option<&'a VersionState> {
    state.versions.iter().find(|v| v.version_id == version.version_id)
}

fn row(source: Option<&VersionState>, copy: Option<&VersionState>) -> VersionRow {
    let side = |v: &VersionState| VersionSide {
        version_stages: v.stages.clone(),
        secret_data_type: v.data_type,
        value_digest: v.digest,
        create_time: v.create_time,
    };
    let equal = matches!((source, copy), (Some(a), Some(b))
        if a.stages == b.stages && a.data_type == b.data_type && a.digest == b.digest);
    let version_id = source.or(copy).map(|v| v.version_id.clone()).unwrap_or_default();
    VersionRow { version_id, source: source.map(side), destination: copy.map(side), equal }
}

fn fields(source: &SecretDescription, copy: &SecretDescription, ends: &Ends) -> Vec<FieldRow> {
    let compared = |field, a: Option<String>, b: Option<String>| {
        let equal = a == b;
        FieldRow { field, source: a, destination: b, compared: true, equal }
    };
    let shown = |field, a: String, b: String| FieldRow {
        field,
        source: Some(a),
        destination: Some(b),
        compared: false,
        equal: true,
    };
    let mut extended = compared("ExtendedConfig", source.extended_config.clone(), copy.extended_config.clone());
    extended.equal = same_config(source.extended_config.as_deref(), copy.extended_config.as_deref());
    vec![
        compared("SecretName", Some(source.secret_name.clone()), Some(copy.secret_name.clone())),
        compared("SecretType", Some(source.secret_type.to_string()), Some(copy.secret_type.to_string())),
        compared("Description", Some(source.description.clone()), Some(copy.description.clone())),
        compared("Tags", tags(source.tags.as_deref()), tags(copy.tags.as_deref())),
        extended,
        compared(
            "AutomaticRotation",
            Some(source.automatic_rotation.to_string()),
            Some(copy.automatic_rotation.to_string()),
        ),
        compared("RotationInterval", source.rotation_interval.clone(), copy.rotation_interval.clone()),
        shown("Region", ends.source.region.clone(), ends.destination.region.clone()),
        shown("DKMSInstanceId", source.instance.clone(), copy.instance.clone()),
        shown("EncryptionKeyId", source.encryption_key_id.clone(), copy.encryption_key_id.clone()),
        shown("CreateTime", source.create_time.to_string(), copy.create_time.to_string()),
    ]
}

/// Tags as a set: `K=V` sorted, comma separated.
fn tags(tags: Option<&[Tag]>) -> Option<String> {
    let mut pairs: Vec<String> = tags?.iter().map(|t| format!("{}={}", t.tag_key, t.tag_value)).collect();
    pairs.sort();
    Some(pairs.join(","))
}

/// Two ExtendedConfigs are the same JSON (spacing and key order aside),
/// or the same text when either is not JSON.
fn same_config(a: Option<&str>, b: Option<&str>) -> bool {
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    match (a, b) {
        (Some(a), Some(b)) => match (json(a), json(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::super::digest::DigestKey;
    use super::super::fixtures::{self, ends};
    use super::*;

    fn state(key: &DigestKey, region: &str, created: i64) -> SecretState {
        let description = SecretDescription {
            arn: format!("acs:kms:{region}:hsm1:secret/db"),
            create_time: Timestamp(created),
            description: "orders".into(),
            encryption_key_id: format!("key-{region}"),
            update_time: Timestamp(created),
            tags: Some(vec![
                Tag { tag_key: "team".into(), tag_value: "pay".into() },
                Tag { tag_key: "env".into(), tag_value: "prod".into() },
            ]),
            ..fixtures::description("db")
        };
        let version = |id: &str, stages: &[&str], value: &[u8]| VersionState {
            version_id: id.into(),
            create_time: Timestamp(created),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            data_type: SecretDataType::Binary,
            digest: key.digest(value),
        };
        SecretState {
            description,
            versions: vec![version("v1", &["001"], &[0, 1]), version("v2", &["ACSCurrent"], &[255])],
        }
    }

    #[test]
    fn a_faithful_copy_is_equal_whatever_its_times_keys_and_instance() {
        let key = DigestKey::new().expect("key");
        let source = state(&key, "eu-1", 100);
        let mut copy = state(&key, "eu-2", 900);
        copy.description.tags.as_mut().expect("tags").reverse();
        copy.description.instance = "hsm2".into();
        let comparison = compare(&source, &copy, &ends());
        assert!(comparison.equal, "{comparison:#?}");
        let key_row = comparison.fields.iter().find(|f| f.field == "EncryptionKeyId").expect("shown");
        assert_eq!((key_row.source.as_deref(), key_row.compared), (Some("key-eu-1"), false));
        let tags = comparison.fields.iter().find(|f| f.field == "Tags").expect("tags");
        assert_eq!(tags.source.as_deref(), Some("env=prod,team=pay"));
    }

    #[test]
    fn each_difference_is_found() {
        let key = DigestKey::new().expect("key");
        let source = state(&key, "eu-1", 100);
        let differs = |change: &dyn Fn(&mut SecretState)| {
            let mut copy = state(&key, "eu-2", 100);
            change(&mut copy);
            let comparison = compare(&source, &copy, &ends());
            assert!(!comparison.equal);
            comparison
        };
        let c = differs(&|c| c.description.description = "other".into());
        assert_eq!(c.fields.iter().filter(|f| !f.equal).map(|f| f.field).collect::<Vec<_>>(), ["Description"]);
        differs(&|c| c.description.tags = Some(vec![]));
        differs(&|c| c.description.extended_config = Some("{}".into()));
        let c = differs(&|c| c.versions[0].digest = key.digest(&[0, 2]));
        assert_eq!(c.versions.iter().map(|v| v.equal).collect::<Vec<_>>(), [false, true]);
        differs(&|c| c.versions[0].data_type = SecretDataType::Text);
        differs(&|c| c.versions[1].stages.push("blue".into()));
        let c = differs(&|c| {
            c.versions.remove(0);
        });
        assert_eq!((c.versions[0].version_id.as_str(), c.versions[0].destination.is_none()), ("v1", true));
        let c = differs(&|c| c.versions.push(VersionState { version_id: "v9".into(), ..c.versions[0].clone() }));
        assert_eq!((c.versions[2].version_id.as_str(), c.versions[2].source.is_none()), ("v9", true));
    }

    #[test]
    fn extended_configs_compare_as_json() {
        assert!(same_config(Some(r#"{"a":1,"b":[2]}"#), Some(r#"{ "b": [2], "a": 1 }"#)));
        assert!(!same_config(Some(r#"{"a":1}"#), Some(r#"{"a":2}"#)));
        assert!(same_config(None, None) && !same_config(Some("{}"), None));
        assert!(!same_config(Some("not json"), Some("not  json")));
    }
}
