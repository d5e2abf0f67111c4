//! Creating keys (`keys/mod.rs`): what a new key is (as `key describe`
//! shows it, and in the vault) for every KeySpec; the usage rules of each
//! spec; the description limit; where keys may be created (an instance
//! with a cluster the vault serves, not `default`); an EXTERNAL key is
//! AES_256 and starts PendingImport with one version and no material.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    AutomaticRotation, DeletionProtection, InstanceKind, KeySpec, KeyState, KeyUsage, Origin, ProtectionLevel,
};

use super::{code, describe};
use crate::hsm::PublicKey;
use crate::kms::instances;
use crate::kms::keys::{self, NewKey};
use crate::kms::names::is_key_id;
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};

#[test]
fn a_new_key_as_describe_shows_it() {
    let fx = Fixture::new();
    let journal = fx.journal_len();
    let entry = fx.create(KeySpec::Aes256);
    let key = entry.record.key_id.clone();
    assert!(is_key_id(&key), "{key}");
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.arn, format!("acs:kms:{}:{INSTANCE}:key/{key}", fx.kms.region()));
    assert_eq!(metadata.key_state, KeyState::Enabled);
    assert_eq!(metadata.key_spec, KeySpec::Aes256);
    assert_eq!(metadata.key_usage, KeyUsage::EncryptDecrypt);
    assert_eq!(metadata.origin, Origin::AliyunKms);
    assert_eq!(metadata.protection_level, ProtectionLevel::Hsm);
    assert_eq!(metadata.creator, "admin:0");
    assert_eq!(metadata.creation_date, fx.now());
    assert_eq!(metadata.last_rotation_date, fx.now());
    assert_eq!(metadata.deletion_protection, DeletionProtection::Disabled);
    assert_eq!(metadata.automatic_rotation, AutomaticRotation::Disabled);
    assert_eq!((metadata.delete_date, metadata.next_rotation_date, metadata.rotation_interval), (None, None, None));
    assert_eq!(entry.versions.len(), 1);
    assert_eq!(metadata.primary_key_version, entry.versions[0].record.version_id);
    assert!(fx.vault.holds(CLUSTER, &entry.versions[0].uuid), "its material is in the vault");
    let added: Vec<_> = fx.kms.store.journal_since(0, 1000).unwrap().into_iter().skip(journal).collect();
    let kinds: Vec<_> = added.iter().map(|e| (e.entity.as_str(), e.operation.as_str())).collect();
    assert_eq!(
        kinds,
        [("creation_intent", "create"), ("key", "create"), ("key_version", "create"), ("creation_intent", "delete")],
        "the intent is recorded before the HSM write and goes with the commit"
    );
    assert!(added.iter().all(|e| e.at == fx.now()));
    fx.assert_consistent();
}

#[test]
fn every_spec_makes_material_of_its_kind() {
    let fx = Fixture::new();
    for spec in [KeySpec::Aes256, KeySpec::Aes128, KeySpec::Rsa2048, KeySpec::EcP256, KeySpec::EcP256K] {
        let entry = fx.create(spec);
        assert_eq!(entry.record.key_usage, spec.default_usage(), "{spec}");
        let version = &entry.versions[0];
        match (spec, &version.public_key) {
            (KeySpec::Aes256 | KeySpec::Aes128, None) => assert!(version.record.public_key.is_none()),
            (KeySpec::Rsa2048, Some(public @ PublicKey::Rsa { .. })) => {
                assert_eq!(public.modulus_bits(), Some(2048));
            }
            (KeySpec::EcP256 | KeySpec::EcP256K, Some(PublicKey::Ec { point, .. })) => {
                assert_eq!(point.len(), 67, "an uncompressed point in an OCTET STRING");
            }
            (spec, public) => panic!("{spec} has public key {public:?}"),
        }
        assert!(fx.vault.holds(CLUSTER, &version.uuid));
    }
    assert_eq!(fx.vault.version_count(), 5);
    fx.assert_consistent();
}

#[test]
fn each_spec_takes_its_usages() {
    let fx = Fixture::new();
    let with_usage = |spec: KeySpec, usage: Option<KeyUsage>| {
        let mut new = fx.new_key(spec);
        new.usage = usage;
        keys::create(&fx.kms, new)
    };
    for (spec, usage) in [
        (KeySpec::Aes256, KeyUsage::SignVerify),
        (KeySpec::Aes128, KeyUsage::SignVerify),
        (KeySpec::EcP256, KeyUsage::EncryptDecrypt),
        (KeySpec::EcP256K, KeyUsage::EncryptDecrypt),
    ] {
        assert_eq!(code(with_usage(spec, Some(usage))), ErrorCode::InvalidParameter, "{spec} {usage}");
    }
    let rsa_sign = with_usage(KeySpec::Rsa2048, Some(KeyUsage::SignVerify)).expect("RSA may sign");
    assert_eq!(rsa_sign.record.key_usage, KeyUsage::SignVerify);
    let ec = with_usage(KeySpec::EcP256, None).expect("the default usage");
    assert_eq!(ec.record.key_usage, KeyUsage::SignVerify);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 2);
}

#[test]
fn a_description_has_at_most_8192_bytes() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.description = "é".repeat(4097);
    assert_eq!(code(keys::create(&fx.kms, new)), ErrorCode::InvalidParameter, "8194 bytes");
    let mut new = fx.new_key(KeySpec::Aes256);
    new.description = "d".repeat(8192);
    let key = fx.create_with(new).record.key_id;
    assert_eq!(describe(&fx, &key).description.len(), 8192);
}

#[test]
fn keys_live_in_instances_with_a_cluster_or_in_the_daemon_for_the_default_instance() {
    let fx = Fixture::new();
    let at = |instance: &str| {
        keys::create(
            &fx.kms,
            NewKey::plain(instance.into(), KeySpec::Aes256, KeyUsage::EncryptDecrypt, None, "admin:0".into()),
        )
    };
    let default = at(instances::DEFAULT_INSTANCE).expect("a key of the default instance");
    assert!(
        fx.vault.holds(crate::kms::vault::SOFTWARE_CLUSTER, &default.versions[0].uuid),
        "its material is the daemon's own"
    );
    assert!(!fx.vault.holds(CLUSTER, &default.versions[0].uuid), "not on an HSM cluster");
    assert_eq!(code(at("nowhere")), ErrorCode::ResourceNotFound);
    let soft = instances::create(&fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("an instance on c1");
    assert_eq!(soft.key_count, 0);
    let key = at("soft1").expect("a key in the new instance");
    let metadata = crate::kms::metadata::key_metadata(&key, InstanceKind::Software, fx.kms.region());
    assert_eq!(metadata.protection_level, ProtectionLevel::Software);
    assert_eq!(
        code(instances::create(&fx.kms, "soft2", InstanceKind::Software, "no-such-cluster")),
        ErrorCode::ResourceNotFound
    );
    assert_eq!(code(instances::create(&fx.kms, "soft1", InstanceKind::Software, CLUSTER)), ErrorCode::ResourceExist);
    assert_eq!(
        code(instances::create(&fx.kms, "Bad Name", InstanceKind::Software, CLUSTER)),
        ErrorCode::InvalidParameter
    );
    assert_eq!(fx.vault.version_count(), 2, "the default key's and soft1's");
    fx.assert_consistent();
}

#[test]
fn an_external_key_is_aes_256_and_waits_for_its_material() {
    let fx = Fixture::new();
    for spec in [KeySpec::Aes128, KeySpec::Rsa2048, KeySpec::EcP256] {
        let mut new = fx.new_key(spec);
        new.origin = Origin::External;
        assert_eq!(code(keys::create(&fx.kms, new)), ErrorCode::InvalidParameter, "{spec}");
    }
    let entry = fx.create_external();
    assert_eq!(entry.record.state, KeyState::PendingImport);
    assert_eq!(entry.record.origin, Origin::External);
    assert_eq!(entry.versions.len(), 1);
    assert!(!entry.versions[0].record.has_material);
    assert_eq!(fx.vault.object_count(), 0, "no material yet");
    assert_eq!(describe(&fx, &entry.record.key_id).material_expire_time, None);
    fx.assert_consistent();
}
