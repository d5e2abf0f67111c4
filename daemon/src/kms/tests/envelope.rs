//! Envelope encryption (`envelope.rs`): encrypt and decrypt round trip
//! with an encryption context, for AES_256 and AES_128 keys; a changed
//! context, or any changed byte of a blob, is refused (never other
//! plaintext); the primary version encrypts and the blob's version
//! decrypts, also after rotations; re-encryption to the primary or to
//! another key, alone or in batches (Done / Unchanged / Failed, at most
//! 1000 items); data keys of every size, with or without plaintext, whose
//! blob decrypts to the data key; the 6 KiB plaintext limit; asymmetric
//! keys refused.

use p11kms_proto::admin::{
    BatchOutcome, DataKeySpec, DecryptRequest, EncryptRequest, GenerateDataKeyRequest, KeySpec, KeyUsage,
    ReEncryptRequest,
};
use p11kms_proto::blob::{BlobAlgorithm, CiphertextBlob, EncryptionContext};
use p11kms_proto::{ErrorCode, SecretBytes};

use super::{code, context};
use crate::kms::envelope::{self, MAX_BATCH, MAX_PLAINTEXT};
use crate::kms::keys::rotation;
use crate::kms::testing::Fixture;
use crate::kms::{KmsError, envelope::re_encrypt_batch};

fn encrypt(fx: &Fixture, key: &str, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, KmsError> {
    envelope::encrypt(
        &fx.kms,
        &EncryptRequest {
            key: key.into(),
            plaintext: SecretBytes::new(plaintext.to_vec()),
            encryption_context: context.clone(),
        },
    )
    .map(|e| e.ciphertext_blob)
}

fn decrypt(fx: &Fixture, blob: &[u8], context: &EncryptionContext) -> Result<(String, Vec<u8>), KmsError> {
    envelope::decrypt(&fx.kms, &DecryptRequest { ciphertext_blob: blob.to_vec(), encryption_context: context.clone() })
        .map(|d| (d.key_version_id, d.plaintext.expose().to_vec()))
}

fn re_encrypt_request(
    blob: &[u8],
    destination: Option<&str>,
    from: &EncryptionContext,
    to: &EncryptionContext,
) -> ReEncryptRequest {
    ReEncryptRequest {
        ciphertext_blob: blob.to_vec(),
        destination_key: destination.map(str::to_owned),
        source_encryption_context: from.clone(),
        destination_encryption_context: to.clone(),
    }
}

fn data_key(
    key: &str,
    spec: Option<DataKeySpec>,
    bytes: Option<u32>,
    context: &EncryptionContext,
) -> GenerateDataKeyRequest {
    GenerateDataKeyRequest {
        key: key.into(),
        key_spec: spec,
        number_of_bytes: bytes,
        encryption_context: context.clone(),
    }
}

#[test]
fn encrypt_and_decrypt_round_trip_with_the_context() {
    for (spec, algorithm) in [(KeySpec::Aes256, BlobAlgorithm::Aes256Gcm), (KeySpec::Aes128, BlobAlgorithm::Aes128Gcm)]
    {
        let fx = Fixture::new();
        let entry = fx.create(spec);
        let key = entry.record.key_id.clone();
        let ctx = context(&[("tenant", "42"), ("purpose", "invoice")]);
        let sealed = envelope::encrypt(
            &fx.kms,
            &EncryptRequest { key: key.clone(), plaintext: "the plaintext".into(), encryption_context: ctx.clone() },
        )
        .expect("encrypts");
        assert_eq!(sealed.key_id, key);
        assert_eq!(sealed.key_version_id, entry.record.primary_version);
        let blob = CiphertextBlob::decode(&sealed.ciphertext_blob).expect("a blob");
        assert_eq!(blob.algorithm, algorithm);
        assert_eq!(blob.key_id, key);
        assert_eq!(blob.version, entry.versions[0].uuid);
        assert_eq!(blob.ciphertext.len(), "the plaintext".len() + 16, "ciphertext and a 128-bit tag");
        let (version, plaintext) = decrypt(&fx, &sealed.ciphertext_blob, &ctx).expect("decrypts");
        assert_eq!(
            (version.as_str(), plaintext.as_slice()),
            (entry.record.primary_version.as_str(), &b"the plaintext"[..])
        );
        // Each encryption takes a fresh IV.
        let again = encrypt(&fx, &key, b"the plaintext", &ctx).unwrap();
        assert_ne!(CiphertextBlob::decode(&again).unwrap().iv, blob.iv);
        // An empty context is fine; an empty plaintext is not (the API
        // requires one).
        let bare = encrypt(&fx, &key, b"x", &EncryptionContext::new()).unwrap();
        assert_eq!(decrypt(&fx, &bare, &EncryptionContext::new()).unwrap().1, b"x");
        assert_eq!(super::code(encrypt(&fx, &key, b"", &ctx)), ErrorCode::InvalidParameter);
    }
}

#[test]
fn another_context_is_refused() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("a", "1"), ("b", "2")]);
    let blob = encrypt(&fx, &key, b"bound", &ctx).unwrap();
    for other in [
        context(&[]),
        context(&[("a", "1")]),
        context(&[("a", "1"), ("b", "3")]),
        context(&[("a", "1"), ("b", "2"), ("c", "3")]),
        context(&[("a", "12"), ("b", "")]),
        context(&[("b", "2"), ("a", "1"), ("", "")]),
    ] {
        assert_eq!(code(decrypt(&fx, &blob, &other)), ErrorCode::InvalidCiphertext, "{other:?}");
    }
    // The same pairs in another order are the same context.
    let same: EncryptionContext = [("b", "2"), ("a", "1")].iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    assert_eq!(decrypt(&fx, &blob, &same).unwrap().1, b"bound");
}

#[test]
fn every_changed_byte_of_a_blob_is_refused() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("k", "v")]);
    let blob = encrypt(&fx, &key, b"sixteen bytes!!!", &ctx).unwrap();
    let key_id = 7..7 + key.len();
    for index in 0..blob.len() {
        for flip in [0x01, 0x80] {
            let mut changed = blob.clone();
            changed[index] ^= flip;
            let refusal = code(decrypt(&fx, &changed, &ctx));
            // A changed key id (or its length) names a key that is not
            // there; every other byte fails the blob's checks or its tag.
            if index == 6 || key_id.contains(&index) {
                assert!(
                    matches!(refusal, ErrorCode::InvalidCiphertext | ErrorCode::KeyNotFound),
                    "byte {index}: {refusal:?}"
                );
            } else {
                assert_eq!(refusal, ErrorCode::InvalidCiphertext, "byte {index} ^ {flip:#x}");
            }
        }
    }
    for cut in [0, 3, 7, 40, blob.len() - 1] {
        assert_eq!(code(decrypt(&fx, &blob[..cut], &ctx)), ErrorCode::InvalidCiphertext, "cut at {cut}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(code(decrypt(&fx, &longer, &ctx)), ErrorCode::InvalidCiphertext);
    assert_eq!(decrypt(&fx, &blob, &ctx).unwrap().1, b"sixteen bytes!!!", "the original still decrypts");
}

#[test]
fn decryption_after_rotation_uses_the_blobs_version() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[]);
    let first = fx.key(&key).record.primary_version;
    let old = encrypt(&fx, &key, b"old", &ctx).unwrap();
    let second = rotation::rotate(&fx.kms, &key).unwrap().record.version_id;
    let new = envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: key.clone(), plaintext: "new".into(), encryption_context: ctx.clone() },
    )
    .unwrap();
    assert_eq!(new.key_version_id, second, "the primary encrypts");
    rotation::rotate(&fx.kms, &key).unwrap();
    assert_eq!(decrypt(&fx, &old, &ctx).unwrap(), (first, b"old".to_vec()));
    assert_eq!(decrypt(&fx, &new.ciphertext_blob, &ctx).unwrap(), (second, b"new".to_vec()));
}

#[test]
fn a_blob_of_a_version_that_is_not_the_keys_is_refused() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    let b = fx.create(KeySpec::Aes256);
    let blob = encrypt(&fx, &a, b"x", &context(&[])).unwrap();
    let mut parsed = CiphertextBlob::decode(&blob).unwrap();
    parsed.version = b.versions[0].uuid;
    assert_eq!(code(decrypt(&fx, &parsed.encode().unwrap(), &context(&[]))), ErrorCode::InvalidCiphertext);
    let mut parsed = CiphertextBlob::decode(&blob).unwrap();
    parsed.key_id = b.record.key_id.clone();
    assert_eq!(code(decrypt(&fx, &parsed.encode().unwrap(), &context(&[]))), ErrorCode::InvalidCiphertext);
}

#[test]
fn re_encrypt_moves_a_blob_to_the_primary_or_to_another_key() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let other = fx.create(KeySpec::Aes128).record.key_id;
    let from = context(&[("v", "1")]);
    let to = context(&[("v", "2")]);
    let first = fx.key(&key).record.primary_version;
    let blob = encrypt(&fx, &key, b"moving", &from).unwrap();
    let second = rotation::rotate(&fx.kms, &key).unwrap().record.version_id;

    let moved = envelope::re_encrypt(&fx.kms, &re_encrypt_request(&blob, None, &from, &to)).expect("re-encrypts");
    assert_eq!((moved.source_key_id.as_str(), moved.source_key_version_id.as_str()), (key.as_str(), first.as_str()));
    assert_eq!((moved.key_id.as_str(), moved.key_version_id.as_str()), (key.as_str(), second.as_str()));
    assert_eq!(decrypt(&fx, &moved.ciphertext_blob, &to).unwrap(), (second, b"moving".to_vec()));
    assert_eq!(
        code(decrypt(&fx, &moved.ciphertext_blob, &from)),
        ErrorCode::InvalidCiphertext,
        "the new context binds"
    );

    let across =
        envelope::re_encrypt(&fx.kms, &re_encrypt_request(&blob, Some(&other), &from, &from)).expect("re-encrypts");
    assert_eq!(across.key_id, other);
    assert_eq!(CiphertextBlob::decode(&across.ciphertext_blob).unwrap().algorithm, BlobAlgorithm::Aes128Gcm);
    assert_eq!(decrypt(&fx, &across.ciphertext_blob, &from).unwrap().1, b"moving");

    assert_eq!(
        code(envelope::re_encrypt(&fx.kms, &re_encrypt_request(&blob, None, &to, &to))),
        ErrorCode::InvalidCiphertext
    );
    let ec = fx.create(KeySpec::EcP256).record.key_id;
    assert_eq!(
        code(envelope::re_encrypt(&fx.kms, &re_encrypt_request(&blob, Some(&ec), &from, &from))),
        ErrorCode::UnsupportedOperation
    );
}

#[test]
fn a_batch_answers_done_unchanged_or_failed_for_each_item() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("batch", "yes")]);
    let old = encrypt(&fx, &key, b"old", &ctx).unwrap();
    let primary = rotation::rotate(&fx.kms, &key).unwrap().record.version_id;
    let current = encrypt(&fx, &key, b"current", &ctx).unwrap();
    let mut tampered = current.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let items = [
        re_encrypt_request(&old, None, &ctx, &ctx),
        re_encrypt_request(&current, None, &ctx, &ctx),
        re_encrypt_request(b"not a blob", None, &ctx, &ctx),
        re_encrypt_request(&tampered, None, &ctx, &ctx),
        re_encrypt_request(&current, None, &context(&[]), &context(&[])),
        re_encrypt_request(&current, None, &ctx, &context(&[("batch", "moved")])),
    ];
    let outcomes = re_encrypt_batch(&fx.kms, &items).expect("a batch");
    assert_eq!(outcomes.len(), items.len());
    let BatchOutcome::Done(done) = &outcomes[0] else { panic!("an old blob is re-encrypted: {:?}", outcomes[0]) };
    assert_eq!(done.key_version_id, primary);
    assert_eq!(decrypt(&fx, &done.ciphertext_blob, &ctx).unwrap().1, b"old");
    assert_eq!(outcomes[1], BatchOutcome::Unchanged, "a blob under the primary stays as it is");
    for (index, outcome) in outcomes.iter().enumerate().skip(2).take(3) {
        let BatchOutcome::Failed(error) = outcome else { panic!("item {index}: {outcome:?}") };
        assert_eq!(error.code, ErrorCode::InvalidCiphertext, "item {index}");
    }
    assert!(matches!(&outcomes[5], BatchOutcome::Done(d) if d.key_version_id == primary), "a new context is a change");
}

#[test]
fn a_batch_holds_at_most_1000_items() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[]);
    let blob = encrypt(&fx, &key, b"x", &ctx).unwrap();
    let item = re_encrypt_request(&blob, None, &ctx, &ctx);
    let too_many = vec![item.clone(); MAX_BATCH + 1];
    assert_eq!(MAX_BATCH, 1000);
    assert_eq!(code(re_encrypt_batch(&fx.kms, &too_many)), ErrorCode::InvalidParameter);
    let outcomes = re_encrypt_batch(&fx.kms, &too_many[..MAX_BATCH]).expect("1000 items");
    assert_eq!(outcomes.len(), MAX_BATCH);
    assert!(outcomes.iter().all(|o| *o == BatchOutcome::Unchanged));
    assert!(re_encrypt_batch(&fx.kms, &[]).expect("an empty batch").is_empty());
}

#[test]
fn data_keys_come_in_every_size_and_their_blob_decrypts_to_them() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("file", "a.txt")]);
    for (spec, bytes, length) in [
        (None, None, 32),
        (Some(DataKeySpec::Aes256), None, 32),
        (Some(DataKeySpec::Aes128), None, 16),
        (None, Some(1), 1),
        (None, Some(1024), 1024),
    ] {
        let generated =
            envelope::generate_data_key(&fx.kms, &data_key(&key, spec, bytes, &ctx), true).expect("a data key");
        let plaintext = generated.plaintext.expect("with plaintext");
        assert_eq!(plaintext.len(), length);
        assert_eq!(generated.key_version_id, fx.key(&key).record.primary_version);
        assert_eq!(decrypt(&fx, &generated.ciphertext_blob, &ctx).unwrap().1, plaintext.expose());
        let without =
            envelope::generate_data_key(&fx.kms, &data_key(&key, spec, bytes, &ctx), false).expect("a data key");
        assert!(without.plaintext.is_none(), "without plaintext");
        let opened = decrypt(&fx, &without.ciphertext_blob, &ctx).unwrap().1;
        assert_eq!(opened.len(), length);
        if length >= 16 {
            assert_ne!(opened, plaintext.expose(), "a fresh key each time");
        }
    }
    for (spec, bytes) in [(Some(DataKeySpec::Aes256), Some(32)), (None, Some(0)), (None, Some(1025))] {
        assert_eq!(
            code(envelope::generate_data_key(&fx.kms, &data_key(&key, spec, bytes, &ctx), true)),
            ErrorCode::InvalidParameter,
            "{spec:?} {bytes:?}"
        );
    }
}

#[test]
fn plaintext_is_at_most_6_kib() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[]);
    assert_eq!(MAX_PLAINTEXT, 6144);
    let blob = encrypt(&fx, &key, &[0xab; 6144], &ctx).expect("6 KiB");
    assert_eq!(decrypt(&fx, &blob, &ctx).unwrap().1, vec![0xab; 6144]);
    assert_eq!(code(encrypt(&fx, &key, &[0xab; 6145], &ctx)), ErrorCode::InvalidParameter);
}

#[test]
fn asymmetric_keys_are_refused_for_envelope_encryption() {
    let fx = Fixture::new();
    let ctx = context(&[]);
    let ec = fx.create(KeySpec::EcP256).record.key_id;
    let mut new = fx.new_key(KeySpec::Rsa2048);
    new.usage = Some(KeyUsage::EncryptDecrypt);
    let rsa = fx.create_with(new).record.key_id;
    for key in [&ec, &rsa] {
        assert_eq!(code(encrypt(&fx, key, b"x", &ctx)), ErrorCode::UnsupportedOperation, "{key}");
        assert_eq!(
            code(envelope::generate_data_key(&fx.kms, &data_key(key, None, None, &ctx), true)),
            ErrorCode::UnsupportedOperation
        );
    }
    assert_eq!(code(encrypt(&fx, "key-00000000000000000000000000000000", b"x", &ctx)), ErrorCode::KeyNotFound);
    // The refusal says what the key can do instead, by its kind.
    let hint = |key: &str| encrypt(&fx, key, b"x", &ctx).expect_err("refused").to_string();
    assert!(hint(&rsa).contains("asymmetric-encrypt"), "{}", hint(&rsa));
    assert!(!hint(&ec).contains("asymmetric-encrypt") && hint(&ec).contains("does not encrypt"), "{}", hint(&ec));
    let aes = fx.create(KeySpec::Aes256).record.key_id;
    let blob = encrypt(&fx, &aes, b"x", &ctx).expect("encrypts");
    let to_ec = envelope::re_encrypt(&fx.kms, &re_encrypt_request(&blob, Some(&ec), &ctx, &ctx)).expect_err("EC");
    assert!(!to_ec.to_string().contains("asymmetric-encrypt"), "re-encrypt to an EC key: {to_ec}");
}
