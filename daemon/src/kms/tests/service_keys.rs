//! Service keys (`keys/service.rs`, `docs/keys.md` "Service keys"): the
//! secrets' service key, made by the first secret of an instance that
//! names no key, is a `Service Key` and every other key a `CMK`; every
//! change to a service key, to its alias or to the `alias/acs/` space is
//! refused with `Rejected.UnsupportedOperation`, journals nothing and
//! changes nothing, whatever name the call uses; the daemon (and the
//! admin plane's cryptographic operations) still use the key.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    EncryptRequest, ImportKeyMaterialRequest, KeyManagerType, KeySpec, UpdateRotationPolicyRequest, WrappingAlgorithm,
    WrappingKeySpec,
};

use super::{code, describe, tag};
use crate::kms::keys::{self, import, lifecycle, rotation};
use crate::kms::secrets::{create, read, service_key};
use crate::kms::testing::{Fixture, INSTANCE};
use crate::kms::{KmsError, aliases, envelope};
use crate::store::AliasRecord;

/// The service key's alias in the fixture's instance.
const SERVICE_ALIAS: &str = "alias/acs/secrets/hsm1";

/// Creates secret `name` with no `EncryptionKeyId`, which makes the
/// instance's service key the first time.
fn create_secret(fx: &Fixture, name: &str, value: &str) {
    create::create(&fx.kms, &super::secrets::generic(name, value), "admin:0").expect("the secret is created");
}

/// A fixture with secret `db` and so the service key; returns the key id.
fn with_service_key(fx: &Fixture) -> String {
    create_secret(fx, "db", "pw-1");
    fx.key(SERVICE_ALIAS).record.key_id
}

/// The value of secret `name` now.
fn value(fx: &Fixture, name: &str) -> String {
    let plain = read::current_value(&fx.kms, INSTANCE, name).expect("the secret reads");
    String::from_utf8(plain.expose().to_vec()).expect("text")
}

/// The journal's length, to prove a refusal wrote nothing.
fn journal(fx: &Fixture) -> usize {
    fx.journal_len()
}

/// Panics unless `result` is the service-key refusal: its code, a message
/// naming the key and what was refused.
#[track_caller]
fn refused_as_service_key<T: std::fmt::Debug>(result: Result<T, KmsError>, key: &str, what: &str) {
    match result {
        Err(error @ KmsError::ServiceKey { .. }) => {
            assert_eq!(error.code(), ErrorCode::UnsupportedOperation);
            let message = error.to_string();
            assert!(message.contains(&format!("key '{key}' is a service key")), "{message}");
            assert!(message.contains("service:secrets"), "{message}");
            assert!(message.ends_with(what), "{message} (expected to end with '{what}')");
        }
        other => panic!("expected the service-key refusal ({what}), got {other:?}"),
    }
}

/// Panics unless `result` is the refusal of an alias in `alias/acs/`.
#[track_caller]
fn refused_as_service_alias<T: std::fmt::Debug>(result: Result<T, KmsError>, alias: &str) {
    match result {
        Err(error @ KmsError::ServiceAlias(_)) => {
            assert_eq!(error.code(), ErrorCode::UnsupportedOperation);
            let message = error.to_string();
            assert!(message.starts_with(&format!("alias '{alias}' is in the 'alias/acs/' space")), "{message}");
        }
        other => panic!("expected the service-alias refusal of '{alias}', got {other:?}"),
    }
}

#[test]
fn the_secrets_service_key_is_a_service_key_and_every_other_key_a_cmk() {
    let fx = Fixture::new();
    let cmk = fx.create(KeySpec::Aes256).record.key_id;
    let external = fx.create_external().record.key_id;
    let signing = fx.create(KeySpec::EcP256).record.key_id;
    let service = with_service_key(&fx);
    assert_eq!(service_key::alias(INSTANCE), SERVICE_ALIAS);
    assert_eq!(describe(&fx, &service).key_manager_type, KeyManagerType::ServiceKey);
    assert_eq!(describe(&fx, SERVICE_ALIAS).creator, "service:secrets");
    for key in [&cmk, &external, &signing] {
        assert_eq!(describe(&fx, key).key_manager_type, KeyManagerType::Cmk, "{key}");
    }
    // A secret that names its key makes no service key and changes no type.
    let fx = Fixture::new();
    let named = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(describe(&fx, &named).key_manager_type, KeyManagerType::Cmk);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 1);
    // And the type is the record's, so it is the same after a restart.
    let fx = Fixture::new();
    let service = with_service_key(&fx);
    let reloaded = fx.reloaded();
    let entry = reloaded.key(&service).unwrap();
    assert_eq!(keys::service::manager_type(&entry.record), KeyManagerType::ServiceKey);
}

#[test]
fn every_change_to_a_service_key_is_refused_and_changes_nothing() {
    let fx = Fixture::new();
    let key = with_service_key(&fx);
    let before = fx.key(&key);
    let journaled = journal(&fx);
    let kms = &fx.kms;
    // By id and by alias alike.
    for name in [key.as_str(), SERVICE_ALIAS] {
        refused_as_service_key(lifecycle::disable(kms, name), &key, "be disabled");
        refused_as_service_key(lifecycle::enable(kms, name), &key, "be enabled");
        refused_as_service_key(lifecycle::schedule_deletion(kms, name, 7), &key, "be scheduled for deletion");
        refused_as_service_key(lifecycle::cancel_deletion(kms, name), &key, "have a deletion cancelled");
        for protect in [true, false] {
            refused_as_service_key(
                lifecycle::set_deletion_protection(kms, name, protect),
                &key,
                "have its deletion protection changed",
            );
        }
        refused_as_service_key(lifecycle::tag(kms, name, &[tag("team", "ops")]), &key, "be tagged or untagged");
        refused_as_service_key(lifecycle::untag(kms, name, &["team".into()]), &key, "be tagged or untagged");
        refused_as_service_key(rotation::rotate(kms, name), &key, "be rotated");
        for enable in [true, false] {
            let policy = UpdateRotationPolicyRequest {
                key: name.into(),
                enable_automatic_rotation: enable,
                rotation_interval: Some(30 * super::DAY),
            };
            refused_as_service_key(rotation::update_policy(kms, &policy), &key, "take a rotation policy");
        }
        refused_as_service_key(
            import::get_parameters(kms, name, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048),
            &key,
            "take imported key material",
        );
        // Refused for the key, before the token is looked at.
        let import_request = ImportKeyMaterialRequest {
            key: name.into(),
            import_token: "no-such-token".into(),
            encrypted_key_material: vec![0; 256],
            key_material_expire_unix: None,
        };
        refused_as_service_key(import::import(kms, &import_request), &key, "take imported key material");
        refused_as_service_key(import::delete_material(kms, name), &key, "lose its key material");
    }
    assert_eq!(journal(&fx), journaled, "no refusal journals anything");
    let after = fx.key(&key);
    assert_eq!(after.record, before.record, "the key is unchanged");
    assert_eq!(after.versions.len(), 1, "and was not rotated");
    assert_eq!(after.aliases, vec![SERVICE_ALIAS.to_owned()]);
    assert_eq!(fx.vault.wrapping_key_count(), 0, "no import key was made");
    fx.assert_consistent();
}

#[test]
fn a_service_key_is_refused_whatever_its_state() {
    // Users cannot put a service key in another state; a store could still
    // hold one (written by hand, or by a daemon of later rules): the key
    // is refused for being a service key, not for its state.
    let fx = Fixture::new();
    let key = with_service_key(&fx);
    let mut record = fx.key(&key).record;
    record.state = p11kms_proto::admin::KeyState::Disabled;
    fx.kms.store.write(fx.now(), |tx| tx.update_key(&record)).unwrap();
    fx.kms.registry_mut().unwrap().replace_key(record).unwrap();
    refused_as_service_key(lifecycle::enable(&fx.kms, &key), &key, "be enabled");
    refused_as_service_key(lifecycle::schedule_deletion(&fx.kms, &key, 7), &key, "be scheduled for deletion");
    refused_as_service_key(rotation::rotate(&fx.kms, &key), &key, "be rotated");
}

#[test]
fn the_alias_acs_space_is_the_service_keys() {
    let fx = Fixture::new();
    let service = with_service_key(&fx);
    let cmk = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/mine", &cmk).unwrap();
    let journaled = journal(&fx);
    let kms = &fx.kms;
    // No alias of a user's in the space, new or taken, on any key.
    for alias in ["alias/acs", "alias/acs/x", "alias/acs/secrets/other", SERVICE_ALIAS] {
        refused_as_service_alias(aliases::create(kms, alias, &cmk), alias);
        refused_as_service_alias(aliases::create(kms, alias, &service), alias);
    }
    // The service key's alias cannot move or go.
    refused_as_service_alias(aliases::update(kms, SERVICE_ALIAS, &cmk), SERVICE_ALIAS);
    refused_as_service_alias(aliases::delete(kms, SERVICE_ALIAS), SERVICE_ALIAS);
    // No user alias can name a service key, new or moved.
    refused_as_service_key(aliases::create(kms, "alias/secrets-key", &service), &service, "take or lose an alias");
    refused_as_service_key(aliases::create(kms, "alias/x", SERVICE_ALIAS), &service, "take or lose an alias");
    refused_as_service_key(aliases::update(kms, "alias/mine", &service), &service, "take or lose an alias");
    // `key create --alias` (and a PKCS#11 label, which becomes the alias).
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/acs/kms".into());
    refused_as_service_alias(keys::create(kms, new), "alias/acs/kms");
    assert_eq!(journal(&fx), journaled, "no refusal journals anything");
    assert_eq!(fx.key(&service).aliases, vec![SERVICE_ALIAS.to_owned()]);
    assert_eq!(fx.key("alias/mine").record.key_id, cmk);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 2, "no key was made");
    // A malformed name is still a malformed name.
    assert_eq!(code(aliases::create(kms, "alias/acs/a b", &cmk)), ErrorCode::InvalidParameter);
    // The refusal reaches PKCS#11 as a bad label.
    let refusal = aliases::create(kms, "alias/acs/x", &cmk).expect_err("refused");
    assert_eq!(refusal.ck_rv(), cryptoki_sys::CKR_ATTRIBUTE_VALUE_INVALID);
    let refusal = lifecycle::schedule_deletion(kms, &service, 7).expect_err("refused");
    assert_eq!(refusal.ck_rv(), cryptoki_sys::CKR_ACTION_PROHIBITED, "C_DestroyObject, were the key reached");
    fx.assert_consistent();
}

#[test]
fn a_users_alias_on_a_service_key_from_before_can_be_moved_away_or_deleted() {
    // A daemon from before the rule let users point aliases at service
    // keys; such an alias is the user's to clean up.
    let fx = Fixture::new();
    let service = with_service_key(&fx);
    let cmk = fx.create(KeySpec::Aes256).record.key_id;
    for alias in ["alias/old-a", "alias/old-b"] {
        let record = AliasRecord { alias: alias.into(), key_id: service.clone(), created_at: fx.now() };
        fx.kms.store.write(fx.now(), |tx| tx.insert_alias(&record)).unwrap();
        fx.kms.registry_mut().unwrap().add_alias(record).unwrap();
    }
    aliases::update(&fx.kms, "alias/old-a", &cmk).expect("moved away");
    aliases::delete(&fx.kms, "alias/old-b").expect("deleted");
    assert_eq!(fx.key(&service).aliases, vec![SERVICE_ALIAS.to_owned()]);
    assert_eq!(fx.key("alias/old-a").record.key_id, cmk);
    fx.assert_consistent();
}

#[test]
fn the_daemon_and_the_admin_plane_still_use_the_service_key() {
    let fx = Fixture::new();
    let key = with_service_key(&fx);
    // Every refusal above, then the secrets still open.
    assert!(lifecycle::disable(&fx.kms, &key).is_err());
    assert!(lifecycle::schedule_deletion(&fx.kms, &key, 7).is_err());
    create_secret(&fx, "api", "token");
    assert_eq!(value(&fx, "db"), "pw-1");
    assert_eq!(value(&fx, "api"), "token");
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 1, "one service key per instance");
    // The admin plane's cryptographic operations may use it (the operator
    // reads the secrets it protects anyway): `docs/keys.md` says why.
    let sealed = envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: SERVICE_ALIAS.into(), plaintext: "x".into(), encryption_context: Default::default() },
    )
    .expect("encrypts");
    assert_eq!(sealed.key_id, key);
}

#[test]
fn the_first_secrets_of_an_instance_created_at_once_share_one_service_key() {
    let fx = Fixture::new();
    std::thread::scope(|scope| {
        let made: Vec<_> = (0..4)
            .map(|i| {
                let fx = &fx;
                scope.spawn(move || {
                    create::create(&fx.kms, &super::secrets::generic(&format!("s{i}"), "v"), "admin:0").map(|_| ())
                })
            })
            .collect();
        for secret in made {
            secret.join().expect("no panic").expect("every secret is made");
        }
    });
    let service =
        fx.kms.registry().expect("registry").keys().filter(|k| k.aliases.contains(&SERVICE_ALIAS.to_owned())).count();
    assert_eq!(service, 1, "one service key");
}
