//! Enable and disable (`keys/lifecycle.rs`): each moves between Enabled
//! and Disabled and is idempotent; a Disabled key refuses every use with
//! `Rejected.Disabled` and serves again, with the same material, once
//! enabled; every change reaches the store and the journal; a missing key
//! or alias is named as such (KeyNotFound, AliasNotFound).

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    DecryptRequest, EncryptRequest, GenerateDataKeyRequest, KeySpec, KeyState, SignRequest, SigningAlgorithm,
};

use super::{code, context, tag};
use crate::kms::keys::lifecycle;
use crate::kms::testing::Fixture;
use crate::kms::{asymmetric, envelope};

#[test]
fn disable_and_enable_move_between_the_two_states_and_are_idempotent() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    for (operation, state) in [
        (lifecycle::disable as fn(&_, &str) -> _, KeyState::Disabled),
        (lifecycle::disable, KeyState::Disabled),
        (lifecycle::enable, KeyState::Enabled),
        (lifecycle::enable, KeyState::Enabled),
    ] {
        let journal = fx.journal_len();
        operation(&fx.kms, &key).expect("allowed");
        assert_eq!(fx.key(&key).record.state, state);
        assert_eq!(fx.reloaded().key(&key).unwrap().record.state, state, "the store agrees");
        assert!(fx.journal_len() > journal, "journaled");
    }
    fx.assert_consistent();
}

#[test]
fn a_disabled_key_refuses_use_and_serves_again_once_enabled() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let context = context(&[("purpose", "test")]);
    let sealed = envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: key.clone(), plaintext: "kept".into(), encryption_context: context.clone() },
    )
    .unwrap();
    let decrypt = || {
        envelope::decrypt(
            &fx.kms,
            &DecryptRequest { ciphertext_blob: sealed.ciphertext_blob.clone(), encryption_context: context.clone() },
        )
    };
    lifecycle::disable(&fx.kms, &key).unwrap();
    assert_eq!(
        code(envelope::encrypt(
            &fx.kms,
            &EncryptRequest { key: key.clone(), plaintext: "x".into(), encryption_context: context.clone() },
        )),
        ErrorCode::Disabled
    );
    assert_eq!(code(decrypt()), ErrorCode::Disabled);
    let request = GenerateDataKeyRequest {
        key: key.clone(),
        key_spec: None,
        number_of_bytes: None,
        encryption_context: context.clone(),
    };
    assert_eq!(code(envelope::generate_data_key(&fx.kms, &request, true)), ErrorCode::Disabled);
    // Describing, tagging and aliasing still work on a Disabled key.
    lifecycle::tag(&fx.kms, &key, &[tag("state", "off")]).expect("tags");
    crate::kms::aliases::create(&fx.kms, "alias/off", &key).expect("aliases");

    lifecycle::enable(&fx.kms, &key).unwrap();
    assert_eq!(decrypt().expect("decrypts again").plaintext.expose(), b"kept");
    fx.assert_consistent();
}

#[test]
fn a_disabled_asymmetric_key_refuses_to_sign() {
    let fx = Fixture::new();
    let entry = fx.create(KeySpec::EcP256K);
    let request = SignRequest {
        key: entry.record.key_id.clone(),
        key_version_id: entry.record.primary_version.clone(),
        algorithm: SigningAlgorithm::EcdsaSha256,
        digest: vec![1; 32],
    };
    lifecycle::disable(&fx.kms, &entry.record.key_id).unwrap();
    assert_eq!(code(asymmetric::sign(&fx.kms, &request)), ErrorCode::Disabled);
    assert_eq!(code(asymmetric::public_key(&fx.kms, &entry.record.key_id, None)), ErrorCode::Disabled);
    lifecycle::enable(&fx.kms, &entry.record.key_id).unwrap();
    assert!(asymmetric::sign(&fx.kms, &request).is_ok());
}

#[test]
fn a_missing_key_or_alias_is_named_as_such() {
    let fx = Fixture::new();
    let missing = "key-0123456789abcdef0123456789abcdef";
    let journal = fx.journal_len();
    assert_eq!(code(lifecycle::enable(&fx.kms, missing)), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::disable(&fx.kms, missing)), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::schedule_deletion(&fx.kms, missing, 7)), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::cancel_deletion(&fx.kms, missing)), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::tag(&fx.kms, missing, &[tag("a", "b")])), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::set_deletion_protection(&fx.kms, missing, true)), ErrorCode::KeyNotFound);
    assert_eq!(code(lifecycle::disable(&fx.kms, "alias/missing")), ErrorCode::AliasNotFound);
    assert_eq!(code(crate::kms::keys::rotation::rotate(&fx.kms, missing)), ErrorCode::KeyNotFound);
    assert_eq!(fx.journal_len(), journal, "refusals are not journaled");
}
