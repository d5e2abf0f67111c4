//! Data keys exported under a caller's RSA public key (`export.rs`) and
//! the per-key record of the operations the CMK migration refuses
//! (`keys/uses.rs`): generate-and-export for every wrapping algorithm and
//! key size, whose `ExportedDataKey` the private key decrypts to what the
//! blob holds; export of a blob from generate-data-key (and of an older
//! version's blob); every refusal of the public key (not DER, not RSA, a
//! size other than WrappingKeySpec's, an exponent out of range, a data
//! key longer than the key takes), of the key (its state and kind) and of
//! the blob; and the record: set only on success, by ReEncrypt (source
//! and destination, in a batch too), ExportDataKey and
//! GenerateAndExportDataKey, written once, kept in the store, and never
//! undone by a writer holding an older copy of the key's row.

use std::sync::LazyLock;

use p256::elliptic_curve::sec1::ToEncodedPoint;
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, RsaPrivateKey};
use sha1::Sha1;
use sha2::Sha256;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    BatchOutcome, DataKeySpec, DecryptRequest, EncryptRequest, ExportDataKeyRequest, ExportOperation,
    ExportWrappingKeySpec, GenerateAndExportDataKeyRequest, GenerateDataKeyRequest, InstanceKind, KeySpec,
    ReEncryptRequest, WrappingAlgorithm,
};
use p11kms_proto::blob::EncryptionContext;

use super::{code, context, imported_key, material};
use crate::encoding::{ec_spki, rsa_spki};
use crate::kms::keys::{import, lifecycle, rotation};
use crate::kms::metadata::key_description;
use crate::kms::testing::Fixture;
use crate::kms::{KmsError, envelope, export};
use crate::store::ExportUses;

/// One caller key pair of each size, made once for the whole binary
/// (RSA key generation is the slow part of these tests).
static RSA_2048: LazyLock<RsaPrivateKey> = LazyLock::new(|| new_rsa(2048));
static RSA_3072: LazyLock<RsaPrivateKey> = LazyLock::new(|| new_rsa(3072));
static RSA_4096: LazyLock<RsaPrivateKey> = LazyLock::new(|| new_rsa(4096));

fn new_rsa(bits: usize) -> RsaPrivateKey {
    RsaPrivateKey::new(&mut OsRng, bits).expect("an RSA key pair")
}

/// A caller's private key of `spec`'s size.
pub(super) fn private_key(spec: ExportWrappingKeySpec) -> &'static RsaPrivateKey {
    match spec {
        ExportWrappingKeySpec::Rsa2048 => &RSA_2048,
        ExportWrappingKeySpec::Rsa3072 => &RSA_3072,
        ExportWrappingKeySpec::Rsa4096 => &RSA_4096,
    }
}

/// The DER SubjectPublicKeyInfo of a private key's public half.
pub(super) fn spki(key: &RsaPrivateKey) -> Vec<u8> {
    rsa_spki(&key.n().to_bytes_be(), &key.e().to_bytes_be())
}

/// What the caller does with `ExportedDataKey`: decrypts it.
fn unwrap(key: &RsaPrivateKey, algorithm: WrappingAlgorithm, exported: &[u8]) -> Vec<u8> {
    match algorithm {
        WrappingAlgorithm::RsaesOaepSha256 => key.decrypt(Oaep::new::<Sha256>(), exported),
        WrappingAlgorithm::RsaesOaepSha1 => key.decrypt(Oaep::new::<Sha1>(), exported),
        WrappingAlgorithm::RsaesPkcs1V15 => key.decrypt(Pkcs1v15Encrypt, exported),
    }
    .expect("the private key decrypts ExportedDataKey")
}

/// A generate-and-export request under the 2048-bit caller key.
pub(super) fn generate_request(key: &str, algorithm: WrappingAlgorithm) -> GenerateAndExportDataKeyRequest {
    GenerateAndExportDataKeyRequest {
        key: key.into(),
        key_spec: None,
        number_of_bytes: None,
        encryption_context: EncryptionContext::new(),
        public_key_blob: spki(private_key(ExportWrappingKeySpec::Rsa2048)),
        wrapping_algorithm: algorithm,
        wrapping_key_spec: ExportWrappingKeySpec::Rsa2048,
    }
}

/// An export request of `blob` under the 2048-bit caller key.
pub(super) fn export_request(blob: &[u8], context: &EncryptionContext) -> ExportDataKeyRequest {
    ExportDataKeyRequest {
        ciphertext_blob: blob.to_vec(),
        encryption_context: context.clone(),
        public_key_blob: spki(private_key(ExportWrappingKeySpec::Rsa2048)),
        wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
        wrapping_key_spec: ExportWrappingKeySpec::Rsa2048,
    }
}

fn plaintext_of(fx: &Fixture, blob: &[u8], context: &EncryptionContext) -> Vec<u8> {
    envelope::decrypt(&fx.kms, &DecryptRequest { ciphertext_blob: blob.to_vec(), encryption_context: context.clone() })
        .expect("the blob decrypts")
        .plaintext
        .expose()
        .to_vec()
}

fn data_key_blob(fx: &Fixture, key: &str, bytes: Option<u32>, context: &EncryptionContext) -> Vec<u8> {
    let request = GenerateDataKeyRequest {
        key: key.into(),
        key_spec: None,
        number_of_bytes: bytes,
        encryption_context: context.clone(),
    };
    envelope::generate_data_key(&fx.kms, &request, false).expect("a data key").ciphertext_blob
}

/// The uses recorded for `key`, in the registry and in the store.
fn uses(fx: &Fixture, key: &str) -> Vec<ExportOperation> {
    let live = fx.key(key).record.export_uses;
    let stored = fx.reloaded().key(key).expect("the key is stored").record.export_uses;
    assert_eq!(live, stored, "the registry and the store disagree on the uses of {key}");
    live.operations()
}

/// The message of a refusal, which must have `want` as its code.
#[track_caller]
fn refusal<T: std::fmt::Debug>(result: Result<T, KmsError>, want: ErrorCode) -> String {
    let error = result.expect_err("a refusal");
    assert_eq!(error.code(), want, "{error}");
    error.to_string()
}

#[test]
fn generated_data_keys_are_exported_with_every_algorithm_and_key_size() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("purpose", "export")]);
    let cases = [
        (WrappingAlgorithm::RsaesOaepSha256, ExportWrappingKeySpec::Rsa2048),
        (WrappingAlgorithm::RsaesOaepSha1, ExportWrappingKeySpec::Rsa2048),
        (WrappingAlgorithm::RsaesPkcs1V15, ExportWrappingKeySpec::Rsa2048),
        (WrappingAlgorithm::RsaesOaepSha256, ExportWrappingKeySpec::Rsa3072),
        (WrappingAlgorithm::RsaesPkcs1V15, ExportWrappingKeySpec::Rsa4096),
    ];
    for (algorithm, spec) in cases {
        let caller = private_key(spec);
        let request = GenerateAndExportDataKeyRequest {
            encryption_context: ctx.clone(),
            public_key_blob: spki(caller),
            wrapping_key_spec: spec,
            ..generate_request(&key, algorithm)
        };
        let made = export::generate_and_export(&fx.kms, &request).expect("generated and exported");
        assert_eq!(made.key_id, key);
        assert_eq!(made.key_version_id, fx.key(&key).record.primary_version);
        assert_eq!(made.exported_data_key.len(), spec.modulus_bits() / 8, "one RSA block of the caller's key");
        let data_key = unwrap(caller, algorithm, &made.exported_data_key);
        assert_eq!(data_key.len(), 32, "AES_256 when no size is asked for");
        assert_eq!(plaintext_of(&fx, &made.ciphertext_blob, &ctx), data_key, "{algorithm} {spec}");
    }
    fx.assert_consistent();
}

#[test]
fn generated_data_keys_have_the_size_asked_for_up_to_what_the_key_takes() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes128).record.key_id;
    let caller = private_key(ExportWrappingKeySpec::Rsa2048);
    for (spec, bytes, length) in [(Some(DataKeySpec::Aes128), None, 16), (None, Some(1), 1), (None, Some(190), 190)] {
        let request = GenerateAndExportDataKeyRequest {
            key_spec: spec,
            number_of_bytes: bytes,
            ..generate_request(&key, WrappingAlgorithm::RsaesOaepSha256)
        };
        let made = export::generate_and_export(&fx.kms, &request).expect("exported");
        let data_key = unwrap(caller, WrappingAlgorithm::RsaesOaepSha256, &made.exported_data_key);
        assert_eq!(data_key.len(), length);
        assert_eq!(plaintext_of(&fx, &made.ciphertext_blob, &EncryptionContext::new()), data_key);
    }
    // An RSA_2048 key takes at most 190 bytes with OAEP-SHA-256, 214 with
    // OAEP-SHA-1, 245 with PKCS#1 v1.5.
    for (algorithm, max) in [
        (WrappingAlgorithm::RsaesOaepSha256, 190),
        (WrappingAlgorithm::RsaesOaepSha1, 214),
        (WrappingAlgorithm::RsaesPkcs1V15, 245),
    ] {
        let fits = GenerateAndExportDataKeyRequest { number_of_bytes: Some(max), ..generate_request(&key, algorithm) };
        let made = export::generate_and_export(&fx.kms, &fits).expect("the largest data key the key takes");
        assert_eq!(unwrap(caller, algorithm, &made.exported_data_key).len(), max as usize);
        let over = GenerateAndExportDataKeyRequest { number_of_bytes: Some(max + 1), ..fits };
        let message = refusal(export::generate_and_export(&fx.kms, &over), ErrorCode::InvalidParameter);
        assert!(message.contains(&format!("at most {max} bytes")) && message.contains(algorithm.as_str()), "{message}");
    }
    for (spec, bytes) in [(Some(DataKeySpec::Aes256), Some(32)), (None, Some(0)), (None, Some(1025))] {
        let request = GenerateAndExportDataKeyRequest {
            key_spec: spec,
            number_of_bytes: bytes,
            ..generate_request(&key, WrappingAlgorithm::RsaesPkcs1V15)
        };
        refusal(export::generate_and_export(&fx.kms, &request), ErrorCode::InvalidParameter);
    }
}

#[test]
fn a_data_key_blob_is_exported_under_the_callers_key() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("file", "a.txt")]);
    let first = fx.key(&key).record.primary_version;
    let old_blob = data_key_blob(&fx, &key, None, &ctx);
    rotation::rotate(&fx.kms, &key).expect("rotates");
    let new_blob = data_key_blob(&fx, &key, Some(64), &ctx);
    let caller = private_key(ExportWrappingKeySpec::Rsa2048);
    for algorithm in WrappingAlgorithm::ALL {
        for blob in [&old_blob, &new_blob] {
            let request = ExportDataKeyRequest { wrapping_algorithm: *algorithm, ..export_request(blob, &ctx) };
            let exported = export::export_data_key(&fx.kms, &request).expect("exported");
            assert_eq!(exported.key_id, key);
            assert_eq!(unwrap(caller, *algorithm, &exported.exported_data_key), plaintext_of(&fx, blob, &ctx));
        }
    }
    let exported = export::export_data_key(&fx.kms, &export_request(&old_blob, &ctx)).expect("exported");
    assert_eq!(exported.key_version_id, first, "the version the blob names");
    // Any envelope blob holds a "data key": what encrypt made too.
    let blob = envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: key.clone(), plaintext: "a short secret".into(), encryption_context: ctx.clone() },
    )
    .expect("encrypts")
    .ciphertext_blob;
    let exported = export::export_data_key(&fx.kms, &export_request(&blob, &ctx)).expect("exported");
    assert_eq!(unwrap(caller, WrappingAlgorithm::RsaesOaepSha256, &exported.exported_data_key), b"a short secret");
    fx.assert_consistent();
}

#[test]
fn a_data_key_longer_than_the_public_key_takes_is_not_exported() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = EncryptionContext::new();
    let blob = data_key_blob(&fx, &key, Some(200), &ctx);
    let message = refusal(export::export_data_key(&fx.kms, &export_request(&blob, &ctx)), ErrorCode::InvalidParameter);
    assert!(message.contains("200 bytes") && message.contains("at most 190 bytes"), "{message}");
    let pkcs1 =
        ExportDataKeyRequest { wrapping_algorithm: WrappingAlgorithm::RsaesPkcs1V15, ..export_request(&blob, &ctx) };
    let exported = export::export_data_key(&fx.kms, &pkcs1).expect("245 bytes fit PKCS#1 v1.5");
    let caller = private_key(ExportWrappingKeySpec::Rsa2048);
    assert_eq!(unwrap(caller, WrappingAlgorithm::RsaesPkcs1V15, &exported.exported_data_key).len(), 200);
    let larger = ExportDataKeyRequest {
        public_key_blob: spki(private_key(ExportWrappingKeySpec::Rsa3072)),
        wrapping_key_spec: ExportWrappingKeySpec::Rsa3072,
        ..export_request(&blob, &ctx)
    };
    export::export_data_key(&fx.kms, &larger).expect("a 3072-bit key takes 318 bytes with OAEP-SHA-256");
}

#[test]
fn the_public_key_must_be_an_rsa_spki_of_the_size_named() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let rsa_2048 = spki(private_key(ExportWrappingKeySpec::Rsa2048));
    let point = p256::SecretKey::random(&mut OsRng).public_key().to_encoded_point(false);
    let p256_params = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let ec = ec_spki(&p256_params, point.as_bytes()).expect("an EC SubjectPublicKeyInfo");
    let trailing = [&rsa_2048[..], &[0]].concat();
    let modulus = private_key(ExportWrappingKeySpec::Rsa2048).n().to_bytes_be();
    let exponent_one = rsa_spki(&modulus, &[1]);
    let cases: [(&[u8], ExportWrappingKeySpec, &str); 8] = [
        (&[], ExportWrappingKeySpec::Rsa2048, "not a DER SubjectPublicKeyInfo"),
        (b"-----BEGIN PUBLIC KEY-----", ExportWrappingKeySpec::Rsa2048, "not a DER SubjectPublicKeyInfo"),
        (&rsa_2048[..100], ExportWrappingKeySpec::Rsa2048, "truncated"),
        (&trailing, ExportWrappingKeySpec::Rsa2048, "trailing bytes"),
        (&ec, ExportWrappingKeySpec::Rsa2048, "not an RSA public key"),
        (&rsa_2048, ExportWrappingKeySpec::Rsa3072, "2048 bits, not of 3072 bits as WrappingKeySpec RSA_3072"),
        (&rsa_2048, ExportWrappingKeySpec::Rsa4096, "2048 bits, not of 4096 bits"),
        (&exponent_one, ExportWrappingKeySpec::Rsa2048, "not a usable RSA public key"),
    ];
    let blob = data_key_blob(&fx, &key, None, &EncryptionContext::new());
    for (public_key, spec, expected) in cases {
        let generate = GenerateAndExportDataKeyRequest {
            public_key_blob: public_key.to_vec(),
            wrapping_key_spec: spec,
            ..generate_request(&key, WrappingAlgorithm::RsaesOaepSha1)
        };
        let message = refusal(export::generate_and_export(&fx.kms, &generate), ErrorCode::InvalidParameter);
        assert!(message.contains(expected), "{expected}: {message}");
        let export = ExportDataKeyRequest {
            public_key_blob: public_key.to_vec(),
            wrapping_key_spec: spec,
            ..export_request(&blob, &EncryptionContext::new())
        };
        let message = refusal(export::export_data_key(&fx.kms, &export), ErrorCode::InvalidParameter);
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // A 3072-bit key named RSA_2048 is refused the same way.
    let request = GenerateAndExportDataKeyRequest {
        public_key_blob: spki(private_key(ExportWrappingKeySpec::Rsa3072)),
        ..generate_request(&key, WrappingAlgorithm::RsaesPkcs1V15)
    };
    let message = refusal(export::generate_and_export(&fx.kms, &request), ErrorCode::InvalidParameter);
    assert!(message.contains("3072 bits, not of 2048 bits"), "{message}");
    assert_eq!(uses(&fx, &key), [], "nothing refused is recorded");
}

#[test]
fn the_key_must_be_an_enabled_symmetric_key() {
    let fx = Fixture::new();
    let request = |key: &str| generate_request(key, WrappingAlgorithm::RsaesOaepSha256);
    let disabled = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = EncryptionContext::new();
    let blob = data_key_blob(&fx, &disabled, None, &ctx);
    lifecycle::disable(&fx.kms, &disabled).expect("disables");
    assert_eq!(code(export::generate_and_export(&fx.kms, &request(&disabled))), ErrorCode::Disabled);
    assert_eq!(code(export::export_data_key(&fx.kms, &export_request(&blob, &ctx))), ErrorCode::Disabled);
    lifecycle::enable(&fx.kms, &disabled).expect("enables");
    lifecycle::schedule_deletion(&fx.kms, &disabled, 7).expect("schedules");
    assert_eq!(code(export::generate_and_export(&fx.kms, &request(&disabled))), ErrorCode::PendingDeletion);
    assert_eq!(code(export::export_data_key(&fx.kms, &export_request(&blob, &ctx))), ErrorCode::PendingDeletion);
    assert_eq!(uses(&fx, &disabled), [], "refused uses are not recorded");

    let external = imported_key(&fx, &material());
    let external_blob = data_key_blob(&fx, &external, None, &ctx);
    import::delete_material(&fx.kms, &external).expect("deletes the material");
    assert_eq!(code(export::generate_and_export(&fx.kms, &request(&external))), ErrorCode::PendingImport);
    assert_eq!(code(export::export_data_key(&fx.kms, &export_request(&external_blob, &ctx))), ErrorCode::PendingImport);

    for spec in [KeySpec::Rsa2048, KeySpec::EcP256] {
        let asymmetric = fx.create(spec).record.key_id;
        assert_eq!(code(export::generate_and_export(&fx.kms, &request(&asymmetric))), ErrorCode::UnsupportedOperation);
    }
    assert_eq!(code(export::generate_and_export(&fx.kms, &request("nope"))), ErrorCode::KeyNotFound);
    assert_eq!(code(export::generate_and_export(&fx.kms, &request("alias/nope"))), ErrorCode::AliasNotFound);
    fx.assert_consistent();
}

#[test]
fn a_blob_that_does_not_decrypt_is_not_exported() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = context(&[("tenant", "42")]);
    let blob = data_key_blob(&fx, &key, None, &ctx);
    let mut tampered = blob.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    for (bad, context) in [
        (&b"not a blob"[..], &ctx),
        (&tampered[..], &ctx),
        (&blob[..], &EncryptionContext::new()),
        (&blob[..], &context(&[("tenant", "43")])),
    ] {
        let result = export::export_data_key(&fx.kms, &export_request(bad, context));
        assert_eq!(code(result), ErrorCode::InvalidCiphertext);
    }
    assert_eq!(uses(&fx, &key), []);
}

#[test]
fn each_operation_records_its_use_with_the_key_once_and_for_good() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let other = fx.create(KeySpec::Aes256).record.key_id;
    let untouched = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = EncryptionContext::new();
    for k in [&key, &other, &untouched] {
        assert_eq!(uses(&fx, k), [], "a new key has none");
    }
    // Encrypting, decrypting and making data keys are no such use.
    let blob = data_key_blob(&fx, &key, None, &ctx);
    plaintext_of(&fx, &blob, &ctx);

    let before = fx.journal_len();
    export::export_data_key(&fx.kms, &export_request(&blob, &ctx)).expect("exported");
    assert_eq!(uses(&fx, &key), [ExportOperation::ExportDataKey]);
    assert_eq!(fx.journal_len(), before + 1, "the first use is one journaled key update");
    export::export_data_key(&fx.kms, &export_request(&blob, &ctx)).expect("exported again");
    assert_eq!(fx.journal_len(), before + 1, "later uses write nothing");

    export::generate_and_export(&fx.kms, &generate_request(&other, WrappingAlgorithm::RsaesPkcs1V15))
        .expect("exported");
    assert_eq!(uses(&fx, &other), [ExportOperation::GenerateAndExportDataKey]);

    // A re-encryption marks the source and the destination.
    let re_encrypt = ReEncryptRequest {
        ciphertext_blob: blob.clone(),
        destination_key: Some(other.clone()),
        source_encryption_context: ctx.clone(),
        destination_encryption_context: ctx.clone(),
    };
    envelope::re_encrypt(&fx.kms, &re_encrypt).expect("re-encrypts");
    assert_eq!(uses(&fx, &key), [ExportOperation::ReEncrypt, ExportOperation::ExportDataKey]);
    assert_eq!(uses(&fx, &other), [ExportOperation::ReEncrypt, ExportOperation::GenerateAndExportDataKey]);
    assert_eq!(uses(&fx, &untouched), []);

    let description = key_description(&fx.key(&key), InstanceKind::Hardware, fx.kms.region());
    assert_eq!(
        description.used_with_export_operations,
        [ExportOperation::ReEncrypt, ExportOperation::ExportDataKey],
        "key describe shows them, in a fixed order"
    );
    // Disabling the key does not undo what it was used for.
    lifecycle::disable(&fx.kms, &key).expect("disables");
    assert_eq!(uses(&fx, &key), [ExportOperation::ReEncrypt, ExportOperation::ExportDataKey]);
    fx.assert_consistent();
}

#[test]
fn re_encryption_is_recorded_in_batches_and_only_when_it_succeeds() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let disabled = fx.create(KeySpec::Aes256).record.key_id;
    let current = fx.create(KeySpec::Aes256).record.key_id;
    let ctx = EncryptionContext::new();
    let blob = data_key_blob(&fx, &key, None, &ctx);
    let item = |blob: &[u8], destination: Option<&str>| ReEncryptRequest {
        ciphertext_blob: blob.to_vec(),
        destination_key: destination.map(str::to_owned),
        source_encryption_context: ctx.clone(),
        destination_encryption_context: ctx.clone(),
    };
    lifecycle::disable(&fx.kms, &disabled).expect("disables");
    assert_eq!(code(envelope::re_encrypt(&fx.kms, &item(&blob, Some(&disabled)))), ErrorCode::Disabled);
    assert_eq!(uses(&fx, &key), [], "a refused re-encryption records nothing, not even for its source");
    assert_eq!(uses(&fx, &disabled), []);

    // A blob already under its key's primary version is left as it is:
    // still a successful ReEncrypt of that key.
    let current_blob = data_key_blob(&fx, &current, None, &ctx);
    let outcomes =
        envelope::re_encrypt_batch(&fx.kms, &[item(&current_blob, None), item(b"junk", None)]).expect("a batch");
    assert_eq!(outcomes[0], BatchOutcome::Unchanged);
    assert!(matches!(outcomes[1], BatchOutcome::Failed(_)));
    assert_eq!(uses(&fx, &current), [ExportOperation::ReEncrypt]);
    rotation::rotate(&fx.kms, &key).expect("rotates");
    let outcomes = envelope::re_encrypt_batch(&fx.kms, &[item(&blob, None)]).expect("a batch");
    assert!(matches!(outcomes[0], BatchOutcome::Done(_)), "{outcomes:?}");
    assert_eq!(uses(&fx, &key), [ExportOperation::ReEncrypt]);
}

#[test]
fn a_writer_holding_an_older_copy_of_the_key_cannot_undo_a_recorded_use() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    // A change that read the key's row before the use...
    let older = fx.key(&key).record;
    export::generate_and_export(&fx.kms, &generate_request(&key, WrappingAlgorithm::RsaesOaepSha1)).expect("exported");
    // ...commits it afterwards, as every key change does.
    let stale = crate::store::KeyRecord { description: "changed".into(), ..older };
    assert_eq!(stale.export_uses, ExportUses::default());
    fx.kms.store.write(fx.now(), |tx| tx.update_key(&stale)).expect("commits");
    fx.kms.registry_mut().expect("registry").replace_key(stale).expect("publishes");
    assert_eq!(fx.key(&key).record.description, "changed", "the change is there");
    assert_eq!(uses(&fx, &key), [ExportOperation::GenerateAndExportDataKey], "and the use is not undone");
}
