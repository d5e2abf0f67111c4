//! What an admin call's event says: its request parameters with every
//! secret removed, and the resources it named or made.
//!
//! Secrets are removed by type: every `SecretBytes` and `SecretString`
//! (plaintexts, secret values, PINs) serializes as `[redacted]` inside
//! [`p11kms_proto::secret::redacting`]. Wrapped key material and import
//! tokens are not secrets by type but are no one's business in a trail,
//! so they go by name; long values are cut, so that one record stays
//! small whatever the request carried.
//!
//! Resources are found by the fields' names, in the request and in the
//! reply (a `CreateKey`'s new key id, a `Decrypt`'s key; not the items of
//! a list the reply carries): keys, aliases,
//! secrets, versions, apps, instances and clusters, as
//! `key/<id>`, `key/<id>/version/<v>`, `alias/<name>`, `secret/<name>`,
//! `secret/<name>/version/<v>`, `app/<name>`, `instance/<name>`,
//! `cluster/<name>`. An alias or an ARN is resolved to its key id too, so
//! a lookup by key id finds calls made by alias.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::kms::registry::Registry;

/// Fields removed whatever their type (normalized names, see [`normal`]).
const REMOVED: &[&str] = &["encryptedkeymaterial", "importtoken", "keymaterial", "pin", "password"];

/// Longest string value kept in a record's parameters.
const MAX_STRING: usize = 1024;

/// A request (or reply) as JSON, secrets redacted, long values cut.
pub fn parameters<T: Serialize>(value: &T) -> Value {
    let json = p11kms_proto::secret::redacting(|| serde_json::to_value(value)).unwrap_or(Value::Null);
    scrub(json)
}

fn scrub(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if REMOVED.contains(&normal(&key).as_str()) {
                        Value::String(p11kms_proto::secret::REDACTED.into())
                    } else {
                        scrub(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        Value::String(text) if text.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}…[{} bytes]", &text[..end], text.len()))
        }
        other => other,
    }
}

/// A field name without case or underscores: `key_id` and `KeyId` alike.
fn normal(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// The resources and the instance an event names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Named {
    /// `key/<id>`, `alias/<name>`, … in the order found, without repeats.
    pub resources: Vec<String>,
    /// The instance, when one is named or a named key or secret is in one.
    pub instance: Option<String>,
}

impl Named {
    fn push(&mut self, resource: String) {
        if !self.resources.contains(&resource) {
            self.resources.push(resource);
        }
    }
}

/// The resources named by a call of the operation whose CLI group is
/// `group` (`key`, `app`, …), from its request and reply parameters.
pub fn named(group: &str, request: &Value, reply: &Value, registry: &Registry) -> Named {
    let mut named = Named::default();
    walk(group, request, registry, &mut named, true);
    // A list answers many resources; the request names what was asked.
    walk(group, reply, registry, &mut named, false);
    named
}

fn walk(group: &str, value: &Value, registry: &Registry, named: &mut Named, into_lists: bool) {
    match value {
        Value::Object(map) => {
            object(group, map, registry, named);
            map.values().for_each(|v| walk(group, v, registry, named, into_lists));
        }
        Value::Array(items) if into_lists => {
            items.iter().take(100).for_each(|v| walk(group, v, registry, named, into_lists));
        }
        _ => {}
    }
}

/// The resources of one JSON object's own fields.
fn object(group: &str, map: &Map<String, Value>, registry: &Registry, named: &mut Named) {
    let text = |wanted: &[&str]| {
        map.iter()
            .find(|(k, v)| wanted.contains(&normal(k).as_str()) && v.is_string())
            .and_then(|(_, v)| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let secret = text(&["secretname", "secret"]).or(if group == "secret" { text(&["name"]) } else { None });
    // Every key field, each with the version field that goes with it (a
    // re-encryption names a source and a destination).
    let keys: [(&[&str], &[&str]); 3] = [
        (&["key", "keyid"], &["keyversionid"]),
        (&["sourcekeyid"], &["sourcekeyversionid"]),
        (&["destinationkey", "destinationkeyid"], &[]),
    ];
    for (key_fields, version_fields) in keys {
        let Some(id) = text(key_fields).and_then(|key| key_id(key, registry, named)) else {
            continue;
        };
        let plain_version = if secret.is_none() && key_fields.contains(&"keyid") { text(&["versionid"]) } else { None };
        if let Some(version) = text(version_fields).or(plain_version) {
            named.push(format!("key/{id}/version/{version}"));
        }
    }
    // A ciphertext blob names its key: a refused decryption still says
    // which key it was for.
    if let Some(blob) = text(&["ciphertextblob"])
        && let Ok(bytes) = p11kms_proto::bytes::from_base64(blob)
        && let Ok(parsed) = p11kms_proto::blob::CiphertextBlob::decode(&bytes)
    {
        key_id(&parsed.key_id, registry, named);
    }
    if let Some(task) = text(&["taskid"]) {
        named.push(format!("migration/{task}"));
    }
    if let Some(backup) = text(&["backupid"]) {
        named.push(format!("backup/{backup}"));
    }
    if let Some(image) = text(&["imageid", "image"]) {
        named.push(format!("image/{image}"));
    }
    if let Some(alias) = text(&["aliasname", "alias"]) {
        named.push(alias.to_owned());
        if let Ok(entry) = registry.key(alias) {
            named.push(format!("key/{}", entry.record.key_id));
        }
    }
    if let Some(name) = secret {
        named.push(format!("secret/{name}"));
        if let Ok(entry) = registry.secret(name) {
            named.instance.get_or_insert_with(|| entry.record.instance.clone());
        }
        if let Some(version) = text(&["versionid"]) {
            named.push(format!("secret/{name}/version/{version}"));
        }
    }
    if let Some(app) = text(&["appname"]).or(if group == "app" { text(&["name"]) } else { None }) {
        named.push(format!("app/{app}"));
    }
    if let Some(cluster) = text(&["cluster", "clustername"]).or(if group == "cluster" { text(&["name"]) } else { None })
    {
        named.push(format!("cluster/{cluster}"));
    }
    let instance =
        text(&["instance", "toinstance", "instancename"]).or(if group == "instance" { text(&["name"]) } else { None });
    if let Some(instance) = instance {
        named.push(format!("instance/{instance}"));
        named.instance.get_or_insert_with(|| instance.to_owned());
    }
}

/// Records a key reference (id, alias or ARN) and returns the key id; an
/// alias that names no key is recorded as the alias alone.
fn key_id(reference: &str, registry: &Registry, named: &mut Named) -> Option<String> {
    let alias = reference.starts_with("alias/");
    if alias {
        named.push(reference.to_owned());
    }
    let id = match registry.key(reference) {
        Ok(entry) => {
            named.instance.get_or_insert_with(|| entry.record.instance.clone());
            entry.record.key_id.clone()
        }
        Err(_) if alias => return None,
        // An ARN's last part, or the reference as given.
        Err(_) => reference.rsplit_once("key/").map_or(reference, |(_, id)| id).to_owned(),
    };
    named.push(format!("key/{id}"));
    Some(id)
}

#[cfg(test)]
mod tests {
    use p11kms_proto::SecretBytes;
    use p11kms_proto::secret::REDACTED;

    use super::*;

    #[derive(Serialize)]
    struct Sample {
        key: String,
        plaintext: SecretBytes,
        encrypted_key_material: Vec<u8>,
        note: String,
    }

    #[test]
    fn secrets_go_by_type_and_by_name_and_long_values_are_cut() {
        let sample = Sample {
            key: "alias/orders".into(),
            plaintext: SecretBytes::from("hunter2"),
            encrypted_key_material: vec![1, 2, 3],
            note: "é".repeat(1000),
        };
        let json = parameters(&sample);
        assert_eq!(json["plaintext"], REDACTED);
        assert_eq!(json["encrypted_key_material"], REDACTED);
        assert_eq!(json["key"], "alias/orders");
        let note = json["note"].as_str().expect("note");
        assert!(note.len() < 1100 && note.ends_with("[2000 bytes]"), "{note}");
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn resources_are_found_by_field_name_in_request_and_reply() {
        let registry = Registry::default();
        let request = serde_json::json!({"secret_name": "db", "version_id": "v2", "instance": "hsm1"});
        let reply = serde_json::json!({"KeyId": "acs:kms:local:0:key/key-9", "KeyVersionId": "kv-1"});
        let named = named("secret", &request, &reply, &registry);
        assert_eq!(
            named.resources,
            ["secret/db", "secret/db/version/v2", "instance/hsm1", "key/key-9", "key/key-9/version/kv-1"]
        );
        assert_eq!(named.instance.as_deref(), Some("hsm1"));
        let app = named_of("app", serde_json::json!({"name": "web", "instance": "hsm1"}));
        assert_eq!(app, ["app/web", "instance/hsm1"]);
        let tagged = named_of("key", serde_json::json!({"resource": {"Key": "alias/x"}, "tags": []}));
        assert_eq!(tagged, ["alias/x"], "an alias that names no key");
    }

    #[test]
    fn a_list_in_the_reply_names_nothing() {
        let request = serde_json::json!({"instance": "hsm1"});
        let reply = serde_json::json!({"Keys": [{"KeyMetadata": {"KeyId": "key-1"}}], "TotalCount": 1});
        assert_eq!(named("key", &request, &reply, &Registry::default()).resources, ["instance/hsm1"]);
    }

    fn named_of(group: &str, request: Value) -> Vec<String> {
        named(group, &request, &Value::Null, &Registry::default()).resources
    }
}
