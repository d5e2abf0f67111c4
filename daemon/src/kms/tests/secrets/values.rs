//! Where values live: each version under a fresh data key that the
//! secret's key encrypts, read back through the KMS (so the key's state
//! decides), never in clear in the store or the journal; the service key.

use p11kms_proto::ErrorCode;
use p11kms_proto::SecretString;
use p11kms_proto::admin::{InstanceKind, KeySpec, SecretDataType};
use p11kms_proto::blob::CiphertextBlob;
use p11kms_proto::bytes::to_base64;

use super::{create, create_with, generic, get, put, secret};
use crate::kms::keys::{lifecycle, rotation};
use crate::kms::secrets::service_key;
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};
use crate::kms::tests::code;
use crate::kms::{Kms, instances};

#[test]
fn a_secret_without_a_key_gets_the_instance_service_key_made_once() {
    let fx = Fixture::new();
    create(&fx, "db", "pw-1");
    let alias = service_key::alias(INSTANCE);
    assert_eq!(alias, "alias/acs/secrets/hsm1");
    let key = fx.key(&alias);
    assert_eq!(key.record.creator, "service:secrets");
    assert_eq!(key.record.key_spec, KeySpec::Aes256);
    assert_eq!(secret(&fx, "db").record.encryption_key_id, key.record.key_id);
    create(&fx, "api", "token");
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 1, "one service key per instance");
    assert_eq!(code(rotation::rotate(&fx.kms, &alias)), ErrorCode::UnsupportedOperation, "never rotated by users");
    assert_eq!(get(&fx, "db", None, None).unwrap(), "pw-1");
    assert_eq!(get(&fx, "api", None, None).unwrap(), "token");
    fx.assert_consistent();
}

#[test]
fn binary_values_are_given_and_returned_in_base64_and_kept_as_bytes() {
    let fx = Fixture::new();
    let bytes = [0u8, 1, 2, 254, 255];
    let mut request = generic("blob", &to_base64(&bytes));
    request.secret_data_type = SecretDataType::Binary;
    create_with(&fx, &request).unwrap();
    assert_eq!(get(&fx, "blob", None, None).unwrap(), to_base64(&bytes));
    let plain = crate::kms::secrets::read::current_value(&fx.kms, INSTANCE, "blob").unwrap();
    assert_eq!(plain.expose(), bytes, "the data plane reads the raw bytes");
    request.secret_name = "bad".into();
    request.secret_data = SecretString::new("not base64!".into());
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter);
}

#[test]
fn a_named_key_must_be_a_symmetric_enabled_key_of_the_instance() {
    let fx = Fixture::new();
    instances::create(&fx.kms, "other", InstanceKind::Software, CLUSTER).unwrap();
    let mut elsewhere = fx.new_key(KeySpec::Aes256);
    elsewhere.instance = "other".into();
    let elsewhere = fx.create_with(elsewhere).record.key_id;
    let signing = fx.create(KeySpec::EcP256).record.key_id;
    let disabled = fx.create(KeySpec::Aes256).record.key_id;
    lifecycle::disable(&fx.kms, &disabled).unwrap();
    for (key, expected) in [
        (elsewhere.as_str(), ErrorCode::InvalidParameter),
        (signing.as_str(), ErrorCode::InvalidParameter),
        (disabled.as_str(), ErrorCode::Disabled),
        ("key-00000000000000000000000000000000", ErrorCode::KeyNotFound),
        ("alias/none", ErrorCode::AliasNotFound),
    ] {
        let mut request = generic("db", "pw");
        request.encryption_key_id = Some(key.into());
        assert_eq!(code(create_with(&fx, &request)), expected, "{key}");
    }
    let aes = fx.create(KeySpec::Aes128).record.key_id;
    crate::kms::aliases::create(&fx.kms, "alias/secrets", &aes).unwrap();
    let mut request = generic("db", "pw");
    request.encryption_key_id = Some("alias/secrets".into());
    assert_eq!(create_with(&fx, &request).unwrap().record.encryption_key_id, aes, "the alias is resolved to the id");
    assert!(fx.kms.registry().unwrap().key(&service_key::alias(INSTANCE)).is_err(), "no service key was needed");
}

/// The key version whose blob holds version `version`'s data key.
fn data_key_version(fx: &Fixture, name: &str, version: &str) -> [u8; 16] {
    let entry = secret(fx, name);
    CiphertextBlob::decode(&entry.version(version).unwrap().sealed.encrypted_data_key).unwrap().version
}

#[test]
fn rotating_the_key_does_not_break_older_versions() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let mut request = generic("db", "before rotation");
    request.encryption_key_id = Some(key.clone());
    create_with(&fx, &request).unwrap();
    rotation::rotate(&fx.kms, &key).unwrap();
    put(&fx, "db", "v2", "after rotation", None).unwrap();
    assert_ne!(data_key_version(&fx, "db", "v1"), data_key_version(&fx, "db", "v2"), "v2 is under the new primary");
    assert_eq!(get(&fx, "db", Some("v1"), None).unwrap(), "before rotation");
    assert_eq!(get(&fx, "db", Some("v2"), None).unwrap(), "after rotation");
}

#[test]
fn a_disabled_or_deleted_key_refuses_reads_with_its_own_code() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let mut request = generic("db", "pw");
    request.encryption_key_id = Some(key.clone());
    create_with(&fx, &request).unwrap();
    lifecycle::disable(&fx.kms, &key).unwrap();
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::Disabled);
    assert_eq!(code(put(&fx, "db", "v2", "new", None)), ErrorCode::Disabled, "nor can a value be encrypted");
    lifecycle::enable(&fx.kms, &key).unwrap();
    assert_eq!(get(&fx, "db", None, None).unwrap(), "pw");
    lifecycle::schedule_deletion(&fx.kms, &key, 7).unwrap();
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::PendingDeletion);
    fx.advance_days(7);
    assert!(fx.kms.registry().unwrap().key(&key).is_err(), "the key is gone");
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::KeyNotFound, "the value is lost with its key");
}

/// Every way a value could be written down.
fn spellings(value: &str) -> Vec<String> {
    vec![value.to_owned(), hex::encode(value), hex::encode(value).to_uppercase(), to_base64(value.as_bytes())]
}

fn assert_nowhere(kms: &Kms, values: &[&str]) {
    let rows = kms.store.dump().unwrap();
    let journal: String = kms
        .store
        .journal_since(0, 1_000_000)
        .unwrap()
        .iter()
        .map(|e| format!("{} {}\n", e.entity, e.payload))
        .collect();
    assert!(rows.contains("secret_versions"), "the dump sees the versions' rows");
    assert!(journal.contains("secret_version"), "the journal has the versions");
    for value in values {
        for spelling in spellings(value) {
            assert!(!rows.contains(&spelling), "a store row holds {spelling:?}");
            assert!(!journal.contains(&spelling), "the journal holds {spelling:?}");
        }
    }
    let registry = format!("{:?}", kms.registry().unwrap());
    for value in values {
        assert!(!registry.contains(value), "the registry holds {value:?}");
    }
}

#[test]
fn no_value_is_in_the_store_rows_the_journal_or_the_registry() {
    let fx = Fixture::new();
    let first = "first-value-6c1f0e-never-stored";
    let second = "second-value-93ad77-never-stored";
    create(&fx, "db", first);
    put(&fx, "db", "v2", second, None).unwrap();
    assert_eq!(get(&fx, "db", Some("v1"), None).unwrap(), first);
    let entries: Vec<(String, String)> = fx
        .kms
        .store
        .journal_since(0, 1_000_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.entity.starts_with("secret"))
        .map(|e| (e.entity, e.operation))
        .collect();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    };
    assert_eq!(
        entries,
        pairs(&[
            ("secret", "create"),
            ("secret_version", "create"),
            ("secret", "update"),
            ("secret_version", "update"),
            ("secret_version", "create"),
        ]),
        "every change journaled: the put moved ACSCurrent and gave v1 ACSPrevious"
    );
    assert_nowhere(&fx.kms, &[first, second]);
    super::assert_reloads(&fx);
}
