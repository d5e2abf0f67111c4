//! The diagnostic's reasons, each alone and together, over key entries
//! as the registry holds them.

use p11kms_proto::admin::{InstanceKind, KeySpec, KeyUsage, MigrationBlocker, Origin};

use super::blockers;
use crate::data::objects::tests::key;
use crate::kms::registry::KeyEntry;

fn codes(key: &KeyEntry, kind: InstanceKind) -> Vec<MigrationBlocker> {
    blockers(key, kind).into_iter().map(|r| r.code).collect()
}

fn plain() -> KeyEntry {
    key(KeySpec::Aes256, KeyUsage::EncryptDecrypt, &["v1"])
}

#[test]
fn a_plain_cmk_of_the_default_instance_may_migrate() {
    assert_eq!(codes(&plain(), InstanceKind::Default), []);
}

#[test]
fn each_reason_of_the_spec_is_given() {
    assert_eq!(codes(&plain(), InstanceKind::Hardware), [MigrationBlocker::NotInDefaultInstance]);

    let mut external = plain();
    external.record.origin = Origin::External;
    assert_eq!(codes(&external, InstanceKind::Default), [MigrationBlocker::ExternalKeyMaterial]);

    let mut rotating = plain();
    rotating.record.automatic_rotation = true;
    let reasons = blockers(&rotating, InstanceKind::Default);
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].message.contains("once automatic rotation is disabled"), "one version: the hint");

    let versions = key(KeySpec::Aes256, KeyUsage::EncryptDecrypt, &["v1", "v2"]);
    assert_eq!(codes(&versions, InstanceKind::Default), [MigrationBlocker::MultipleVersions]);
    let mut both = versions.clone();
    both.record.automatic_rotation = true;
    let reasons = blockers(&both, InstanceKind::Default);
    assert!(!reasons[0].message.contains("disabled"), "no hint when versions stand in the way too");

    let mut exported = plain();
    exported.record.export_uses.re_encrypt = true;
    exported.record.export_uses.generate_and_export_data_key = true;
    let reasons = blockers(&exported, InstanceKind::Default);
    assert_eq!(reasons[0].code, MigrationBlocker::UsedWithExportOperations);
    assert!(reasons[0].message.contains("ReEncrypt, GenerateAndExportDataKey"), "{}", reasons[0].message);

    let mut service = plain();
    service.record.creator = "service:secrets".into();
    assert_eq!(codes(&service, InstanceKind::Default), [MigrationBlocker::ServiceKey]);
}

#[test]
fn every_reason_is_given_at_once() {
    let mut all = key(KeySpec::Aes256, KeyUsage::EncryptDecrypt, &["v1", "v2"]);
    all.record.origin = Origin::External;
    all.record.automatic_rotation = true;
    all.record.export_uses.export_data_key = true;
    all.record.creator = "service:secrets".into();
    assert_eq!(codes(&all, InstanceKind::Software), MigrationBlocker::ALL);
}
