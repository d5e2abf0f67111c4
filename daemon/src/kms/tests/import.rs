//! Bring your own key (`keys/import.rs`): `get-parameters-for-import`
//! gives a 24-hour token and an RSA-2048 public key in PEM that a client
//! can wrap under with each wrapping algorithm; importing turns
//! PendingImport into Enabled with exactly that material (a blob opens
//! with it outside the KMS); the same material may be imported again,
//! other material never; wrong sizes, expired tokens, another key's
//! token and a used token are refused and change nothing; deleting the
//! material, or its expiry (enforced by the scheduler), puts the key back
//! in PendingImport until the same material returns; unused tokens expire
//! with their wrapping keys.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rsa::RsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    DecryptRequest, EncryptRequest, ImportKeyMaterialRequest, ImportParameters, KeySpec, KeyState, WrappingAlgorithm,
    WrappingKeySpec,
};
use p11kms_proto::blob::{CiphertextBlob, EncryptionContext};

use super::{DAY, code, context, describe, imported_key, material};
use crate::encoding::der::rsa_public_from_spki;
use crate::kms::envelope;
use crate::kms::keys::{import, lifecycle};
use crate::kms::testing::{CLUSTER, Fixture, pem_der, wrap_material};

fn parameters(fx: &Fixture, key: &str, algorithm: WrappingAlgorithm) -> ImportParameters {
    import::get_parameters(&fx.kms, key, algorithm, WrappingKeySpec::Rsa2048).expect("import parameters")
}

fn request(key: &str, parameters: &ImportParameters, wrapped: Vec<u8>) -> ImportKeyMaterialRequest {
    ImportKeyMaterialRequest {
        key: key.into(),
        import_token: parameters.import_token.clone(),
        encrypted_key_material: wrapped,
        key_material_expire_unix: None,
    }
}

fn encrypt(fx: &Fixture, key: &str, plaintext: &str, context: &EncryptionContext) -> Vec<u8> {
    envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: key.into(), plaintext: plaintext.into(), encryption_context: context.clone() },
    )
    .expect("encrypts")
    .ciphertext_blob
}

fn decrypt(fx: &Fixture, blob: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, crate::kms::KmsError> {
    envelope::decrypt(&fx.kms, &DecryptRequest { ciphertext_blob: blob.to_vec(), encryption_context: context.clone() })
        .map(|d| d.plaintext.expose().to_vec())
}

/// Opens a blob with the raw material, outside the KMS.
fn open_with(material: &[u8; 32], blob: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let blob = CiphertextBlob::decode(blob).expect("a blob");
    let cipher = Aes256Gcm::new_from_slice(material).expect("an AES-256 key");
    cipher
        .decrypt(Nonce::from_slice(&blob.iv), Payload { msg: &blob.ciphertext, aad: &blob.aad(context) })
        .expect("the blob opens with the imported material")
}

#[test]
fn the_parameters_are_a_token_and_an_rsa_2048_pem_public_key_for_24_hours() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let journal = fx.journal_len();
    let first = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha256);
    assert!(fx.journal_len() > journal);
    assert_eq!(first.key_id, key);
    assert_eq!(first.token_expire_time, fx.now().plus_seconds(24 * 3600));
    assert_eq!(first.import_token.len(), 32);
    let (modulus, exponent) = rsa_public_from_spki(&pem_der(&first.public_key, "PUBLIC KEY")).expect("RSA SPKI");
    assert_eq!(modulus.len(), 256);
    assert!(modulus[0] & 0x80 != 0, "a 2048-bit modulus");
    assert_eq!(exponent, [1, 0, 1]);
    let parsed = RsaPublicKey::from_public_key_pem(&first.public_key).expect("an independent parser reads it too");
    assert_eq!(parsed.n().to_bytes_be(), modulus);
    assert_eq!(fx.vault.wrapping_key_count(), 1);
    assert!(fx.reloaded().import_token(&first.import_token).is_some(), "the token is stored");

    let second = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha1);
    assert_ne!(second.import_token, first.import_token);
    assert_ne!(second.public_key, first.public_key, "a wrapping key per token");
    assert_eq!(fx.vault.wrapping_key_count(), 2);
    fx.assert_consistent();
}

#[test]
fn import_turns_pending_import_into_enabled_with_that_material() {
    for algorithm in
        [WrappingAlgorithm::RsaesOaepSha256, WrappingAlgorithm::RsaesOaepSha1, WrappingAlgorithm::RsaesPkcs1V15]
    {
        let fx = Fixture::new();
        let key = fx.create_external().record.key_id;
        let secret = material();
        let params = parameters(&fx, &key, algorithm);
        import::import(&fx.kms, &request(&key, &params, wrap_material(&params.public_key, algorithm, &secret)))
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        let entry = fx.key(&key);
        assert_eq!(entry.record.state, KeyState::Enabled, "{algorithm}");
        assert!(entry.versions[0].record.has_material && entry.versions[0].record.kcv.is_some());
        assert!(fx.vault.holds(CLUSTER, &entry.versions[0].uuid));
        assert!(fx.kms.registry().unwrap().import_token(&params.import_token).is_none(), "the token is used up");
        assert_eq!(fx.vault.wrapping_key_count(), 0, "and its wrapping key destroyed");
        assert_eq!(describe(&fx, &key).material_expire_time, None);
        let context = context(&[("byok", algorithm.as_str())]);
        let blob = encrypt(&fx, &key, "imported", &context);
        assert_eq!(open_with(&secret, &blob, &context), b"imported", "the KMS encrypts with the imported material");
        assert_eq!(decrypt(&fx, &blob, &context).unwrap(), b"imported");
        fx.assert_consistent();
    }
}

#[test]
fn the_same_material_imports_again_and_other_material_never() {
    let fx = Fixture::new();
    let secret = material();
    let key = imported_key(&fx, &secret);
    let context = context(&[]);
    let blob = encrypt(&fx, &key, "before", &context);
    let kcv = fx.key(&key).versions[0].record.kcv.clone();

    let expiry = fx.now().unix() + 30 * DAY;
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha1, Some(expiry)).expect("the same material");
    assert_eq!(fx.key(&key).record.material_expire_time.map(|t| t.unix()), Some(expiry), "only the expiry changed");
    assert_eq!(fx.key(&key).versions[0].record.kcv, kcv);

    let journal = fx.journal_len();
    let refused = fx.import_material(&key, &material(), WrappingAlgorithm::RsaesOaepSha256, None);
    assert_eq!(code(refused), ErrorCode::InvalidParameter);
    assert_eq!(fx.journal_len(), journal + 1, "only the new token was written");
    let entry = fx.key(&key);
    assert_eq!(entry.record.state, KeyState::Enabled);
    assert_eq!(entry.record.material_expire_time.map(|t| t.unix()), Some(expiry));
    assert_eq!(open_with(&secret, &encrypt(&fx, &key, "after", &context), &context), b"after", "material unchanged");
    assert_eq!(decrypt(&fx, &blob, &context).unwrap(), b"before");
    assert_eq!(fx.vault.version_count(), 1, "the comparison copy is gone");
    fx.assert_consistent();

    // Without material the key still only takes its own.
    import::delete_material(&fx.kms, &key).expect("deletes");
    let refused = fx.import_material(&key, &material(), WrappingAlgorithm::RsaesOaepSha256, None);
    assert_eq!(code(refused), ErrorCode::InvalidParameter);
    assert_eq!(fx.key(&key).record.state, KeyState::PendingImport);
    assert_eq!(fx.vault.version_count(), 0);
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesPkcs1V15, None).expect("its own material");
    assert_eq!(decrypt(&fx, &blob, &context).unwrap(), b"before");
    fx.assert_consistent();
}

#[test]
fn material_that_does_not_unwrap_to_256_bits_is_refused() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let params = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha256);
    for size in [0, 16, 31, 33, 64] {
        let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha256, &vec![7; size]);
        assert_eq!(
            code(import::import(&fx.kms, &request(&key, &params, wrapped))),
            ErrorCode::InvalidParameter,
            "{size}"
        );
    }
    let other_scheme = wrap_material(&params.public_key, WrappingAlgorithm::RsaesPkcs1V15, &material());
    assert_eq!(code(import::import(&fx.kms, &request(&key, &params, other_scheme))), ErrorCode::InvalidParameter);
    assert_eq!(code(import::import(&fx.kms, &request(&key, &params, vec![0x42; 256]))), ErrorCode::InvalidParameter);
    assert_eq!(fx.key(&key).record.state, KeyState::PendingImport);
    assert_eq!(fx.vault.version_count(), 0, "nothing of it is left");
    fx.assert_consistent();
    // Refusals do not use the token up.
    let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha256, &material());
    import::import(&fx.kms, &request(&key, &params, wrapped)).expect("the token still works");
    assert_eq!(fx.key(&key).record.state, KeyState::Enabled);
}

#[test]
fn an_expired_token_is_refused() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let secret = material();
    let params = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha1);
    let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha1, &secret);
    // Past its 24 hours, before any scheduler pass removes it.
    fx.kms.clock.advance(24 * 3600).unwrap();
    assert_eq!(code(import::import(&fx.kms, &request(&key, &params, wrapped.clone()))), ErrorCode::InvalidParameter);
    assert_eq!(fx.key(&key).record.state, KeyState::PendingImport);
    // And after the pass that removes it, with a message that says it may
    // have expired (not just "unknown").
    assert_eq!(fx.advance_seconds(0).expired_tokens, 1);
    let error = import::import(&fx.kms, &request(&key, &params, wrapped)).expect_err("expired");
    assert_eq!(error.code(), ErrorCode::InvalidParameter);
    assert!(error.to_string().contains("expired"), "{error}");
    assert_eq!(fx.vault.object_count(), 0);
    fx.assert_consistent();

    // One second earlier it is accepted.
    let params = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha1);
    fx.kms.clock.advance(24 * 3600 - 1).unwrap();
    let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha1, &secret);
    import::import(&fx.kms, &request(&key, &params, wrapped)).expect("still valid");
}

#[test]
fn a_token_of_another_key_is_refused() {
    let fx = Fixture::new();
    let a = fx.create_external().record.key_id;
    let b = fx.create_external().record.key_id;
    let params = parameters(&fx, &a, WrappingAlgorithm::RsaesOaepSha256);
    let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha256, &material());
    assert_eq!(code(import::import(&fx.kms, &request(&b, &params, wrapped.clone()))), ErrorCode::InvalidParameter);
    assert_eq!(fx.key(&b).record.state, KeyState::PendingImport);
    // Nor does an EXTERNAL key's token make a KMS key take material.
    let generated = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(
        code(import::import(&fx.kms, &request(&generated, &params, wrapped.clone()))),
        ErrorCode::UnsupportedOperation
    );
    assert_eq!(
        code(import::get_parameters(&fx.kms, &generated, WrappingAlgorithm::RsaesOaepSha1, WrappingKeySpec::Rsa2048)),
        ErrorCode::UnsupportedOperation
    );
    import::import(&fx.kms, &request(&a, &params, wrapped)).expect("its own key takes it");
    fx.assert_consistent();
}

#[test]
fn a_token_is_used_once() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let params = parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha256);
    let wrapped = wrap_material(&params.public_key, WrappingAlgorithm::RsaesOaepSha256, &material());
    import::import(&fx.kms, &request(&key, &params, wrapped.clone())).expect("imports");
    assert_eq!(code(import::import(&fx.kms, &request(&key, &params, wrapped))), ErrorCode::InvalidParameter);
    assert!(fx.reloaded().import_token(&params.import_token).is_none());
}

#[test]
fn deleting_the_material_puts_the_key_back_in_pending_import() {
    let fx = Fixture::new();
    let secret = material();
    let key = imported_key(&fx, &secret);
    let uuid = fx.key(&key).versions[0].uuid;
    let context = context(&[("a", "b")]);
    let blob = encrypt(&fx, &key, "kept", &context);
    let journal = fx.journal_len();
    import::delete_material(&fx.kms, &key).expect("deletes");
    assert!(fx.journal_len() > journal);
    let entry = fx.key(&key);
    assert_eq!(entry.record.state, KeyState::PendingImport);
    assert!(!entry.versions[0].record.has_material);
    assert!(!fx.vault.holds(CLUSTER, &uuid), "the material left the vault");
    assert_eq!(code(decrypt(&fx, &blob, &context)), ErrorCode::PendingImport);
    assert_eq!(code(import::delete_material(&fx.kms, &key)), ErrorCode::StateModifiedFailed, "nothing to delete");
    fx.assert_consistent();
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha256, None).expect("the same material again");
    assert_eq!(decrypt(&fx, &blob, &context).unwrap(), b"kept");
    let generated = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(code(import::delete_material(&fx.kms, &generated)), ErrorCode::UnsupportedOperation);
    assert!(fx.vault.holds(CLUSTER, &fx.key(&generated).versions[0].uuid));
}

#[test]
fn importing_into_a_disabled_key_keeps_it_disabled() {
    let fx = Fixture::new();
    let secret = material();
    let key = imported_key(&fx, &secret);
    lifecycle::disable(&fx.kms, &key).unwrap();
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha256, Some(fx.now().unix() + DAY)).unwrap();
    assert_eq!(fx.key(&key).record.state, KeyState::Disabled);
}

#[test]
fn material_expiry_is_enforced_by_the_scheduler() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let secret = material();
    let now = fx.now().unix();
    for past in [now - 1, now] {
        let refused = fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha256, Some(past));
        assert_eq!(code(refused), ErrorCode::InvalidParameter, "expiry {past} is not in the future");
    }
    fx.advance_days(2); // the refused attempts' tokens expire
    let expiry = fx.now().unix() + 3 * DAY;
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha256, Some(expiry)).expect("imports");
    assert_eq!(describe(&fx, &key).material_expire_time.map(|t| t.unix()), Some(expiry));
    let uuid = fx.key(&key).versions[0].uuid;

    let pass = fx.advance_seconds(3 * DAY - 1);
    assert_eq!(pass.expired_material, 0);
    assert_eq!(fx.key(&key).record.state, KeyState::Enabled, "one second before the expiry");
    let pass = fx.advance_seconds(1);
    assert_eq!(pass.expired_material, 1);
    let entry = fx.key(&key);
    assert_eq!(entry.record.state, KeyState::PendingImport);
    assert_eq!(entry.record.material_expire_time, None);
    assert!(!fx.vault.holds(CLUSTER, &uuid));
    fx.assert_consistent();
    // Zero means never.
    fx.import_material(&key, &secret, WrappingAlgorithm::RsaesOaepSha256, Some(0)).expect("imports");
    assert_eq!(fx.key(&key).record.material_expire_time, None);
    assert_eq!(fx.advance_days(400).expired_material, 0);
    assert_eq!(fx.key(&key).record.state, KeyState::Enabled);
}

#[test]
fn unused_tokens_expire_with_their_wrapping_keys() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    parameters(&fx, &key, WrappingAlgorithm::RsaesOaepSha256);
    parameters(&fx, &key, WrappingAlgorithm::RsaesPkcs1V15);
    assert_eq!(fx.vault.wrapping_key_count(), 2);
    assert_eq!(fx.advance_seconds(24 * 3600 - 1).expired_tokens, 0);
    assert_eq!(fx.advance_seconds(1).expired_tokens, 2);
    assert_eq!(fx.vault.wrapping_key_count(), 0);
    assert_eq!(fx.kms.registry().unwrap().import_tokens().count(), 0);
    assert_eq!(fx.reloaded().import_tokens().count(), 0);
}

#[test]
fn parameters_that_the_vault_cannot_make_leave_nothing() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    let journal = fx.journal_len();
    fx.vault.fail_writes(true);
    assert_eq!(
        code(import::get_parameters(&fx.kms, &key, WrappingAlgorithm::RsaesOaepSha1, WrappingKeySpec::Rsa2048)),
        ErrorCode::InternalFailure
    );
    assert_eq!(fx.journal_len(), journal);
    assert_eq!(fx.kms.registry().unwrap().import_tokens().count(), 0);
    fx.assert_consistent();
}
