//! Lost key versions (`keys/rules.rs::check_version`): a version recorded
//! lost (its instance attached to a cluster that lacks it, with `--force`)
//! is refused with `Rejected.KeyVersionLost` by every operation that needs
//! its material, on both planes, never with a fault or a blamed
//! ciphertext; its key says so in `describe` and `list-versions`, keeps
//! its public key, rotates to a usable version, and goes as any key at
//! the end of its deletion window.

use cryptoki_sys::CKR_KEY_FUNCTION_NOT_PERMITTED;

use p11kms_proto::admin::{
    DecryptRequest, EncryptRequest, GenerateDataKeyRequest, KeySpec, SignRequest, SigningAlgorithm, VerifyRequest,
};
use p11kms_proto::{ErrorCode, SecretBytes};

use super::{code, context};
use crate::kms::keys::{lifecycle, rotation};
use crate::kms::metadata::{key_description, version_info};
use crate::kms::testing::{CLUSTER, Fixture};
use crate::kms::{KmsError, asymmetric, envelope};
use crate::store::LostVersionRecord;

/// Records a key's primary version lost, as `attach-cluster --force` does.
fn lose_primary(fx: &Fixture, key: &str) -> String {
    let entry = fx.key(key);
    let lost = LostVersionRecord {
        version_id: entry.record.primary_version.clone(),
        key_id: entry.record.key_id.clone(),
        cluster: CLUSTER.into(),
        lost_at: fx.now(),
    };
    fx.kms.store.write(fx.now(), |tx| tx.insert_lost_version(&lost)).expect("recorded");
    fx.kms.registry_mut().expect("registry").put_lost_version(lost.clone());
    lost.version_id
}

fn encrypt(fx: &Fixture, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
    let request = EncryptRequest {
        key: key.into(),
        plaintext: SecretBytes::new(plaintext.to_vec()),
        encryption_context: context(&[("app", "lost")]),
    };
    envelope::encrypt(&fx.kms, &request).map(|e| e.ciphertext_blob)
}

fn decrypt(fx: &Fixture, blob: &[u8]) -> Result<Vec<u8>, KmsError> {
    let request = DecryptRequest { ciphertext_blob: blob.to_vec(), encryption_context: context(&[("app", "lost")]) };
    envelope::decrypt(&fx.kms, &request).map(|d| d.plaintext.expose().to_vec())
}

#[test]
fn a_lost_version_is_refused_with_its_own_code_and_said_so() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let blob = encrypt(&fx, &key, b"before the loss").expect("sealed");
    let lost = lose_primary(&fx, &key);

    let refused = decrypt(&fx, &blob).expect_err("its material is gone");
    assert_eq!(refused.code(), ErrorCode::KeyVersionLost, "{refused}");
    assert!(refused.to_string().contains(&lost) && refused.to_string().contains("lost"), "{refused}");
    assert_eq!(refused.ck_rv(), CKR_KEY_FUNCTION_NOT_PERMITTED, "the data plane's answer");
    assert_eq!(code(encrypt(&fx, &key, b"new")), ErrorCode::KeyVersionLost, "the primary is lost");
    let data_key = GenerateDataKeyRequest {
        key: key.clone(),
        key_spec: None,
        number_of_bytes: None,
        encryption_context: context(&[]),
    };
    assert_eq!(code(envelope::generate_data_key(&fx.kms, &data_key, true)), ErrorCode::KeyVersionLost);

    let entry = fx.key(&key);
    let description = key_description(&entry, p11kms_proto::admin::InstanceKind::Hardware, fx.kms.region());
    assert_eq!(description.lost_key_versions, std::slice::from_ref(&lost));
    assert_eq!(version_info(&entry.versions[0]).lost_date, Some(fx.now()));
    assert_eq!(
        fx.reloaded().key(&key).expect("after a restart").versions[0].lost.as_ref().map(|l| l.lost_at),
        Some(fx.now())
    );

    // A rotation gives the key a usable primary; the lost version stays lost.
    let fresh = rotation::rotate(&fx.kms, &key).expect("rotates").record.version_id;
    let sealed = encrypt(&fx, &key, b"after the loss").expect("the new primary works");
    assert_eq!(decrypt(&fx, &sealed).expect("opens"), b"after the loss");
    assert_eq!(code(decrypt(&fx, &blob)), ErrorCode::KeyVersionLost);
    let description = key_description(&fx.key(&key), p11kms_proto::admin::InstanceKind::Hardware, fx.kms.region());
    assert_eq!(description.lost_key_versions, [lost]);
    assert_eq!(description.key_metadata.primary_key_version, fresh);
    fx.assert_consistent();
}

#[test]
fn a_lost_asymmetric_version_keeps_its_public_key_only() {
    let fx = Fixture::new();
    let entry = fx.create(KeySpec::EcP256);
    let key = entry.record.key_id.clone();
    let version = lose_primary(&fx, &key);
    let sign = SignRequest {
        key: key.clone(),
        key_version_id: version.clone(),
        algorithm: SigningAlgorithm::EcdsaSha256,
        digest: vec![7; 32],
    };
    assert_eq!(code(asymmetric::sign(&fx.kms, &sign)), ErrorCode::KeyVersionLost);
    let verify = VerifyRequest {
        key: key.clone(),
        key_version_id: version.clone(),
        algorithm: SigningAlgorithm::EcdsaSha256,
        digest: vec![7; 32],
        value: vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
    };
    assert_eq!(code(asymmetric::verify(&fx.kms, &verify)), ErrorCode::KeyVersionLost);
    let public = asymmetric::public_key(&fx.kms, &key, Some(&version)).expect("the store still knows it");
    assert!(public.public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
    fx.assert_consistent();
}

#[test]
fn a_key_with_lost_versions_is_deleted_with_their_records() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    lose_primary(&fx, &key);
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("scheduled");
    assert_eq!(fx.advance_days(7).destroyed, 1);
    assert_eq!(fx.kms.registry().expect("registry").keys().count(), 0);
    assert_eq!(fx.reloaded().keys().count(), 0, "no lost record holds the key back");
    fx.assert_consistent();
}
