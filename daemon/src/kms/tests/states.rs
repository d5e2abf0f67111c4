//! The state table of `docs/keys.md`, which `keys/rules.rs` implements,
//! proved cell by cell through the real operations: the table is read
//! from the document itself, a fresh key of a kind the operation takes is
//! put in each state, the operation runs, and its answer must be the
//! cell's (`OK`, or the spec's error code). Then the operations the
//! document says follow another row (decrypt, re-encrypt, the data key
//! exports, verify, asymmetric-decrypt, import-key-material, alias update
//! and delete) are checked against that row.

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, DecryptRequest, EncryptRequest,
    GenerateDataKeyRequest, ImportKeyMaterialRequest, KeySpec, KeyState, ReEncryptRequest, SignRequest,
    SigningAlgorithm, UpdateRotationPolicyRequest, VerifyRequest, WrappingAlgorithm, WrappingKeySpec,
};

use super::{DAY, imported_key, material, tag};
use crate::kms::keys::{import, lifecycle, rotation};
use crate::kms::metadata::{key_description, version_info};
use crate::kms::testing::{Fixture, wrap_material};
use crate::kms::{KmsError, aliases, asymmetric, envelope, export};

/// The document the table lives in.
const KEYS_MD: &str = include_str!("../../../../docs/keys.md");

/// The states in the table's column order.
const COLUMNS: [KeyState; 4] =
    [KeyState::Enabled, KeyState::Disabled, KeyState::PendingDeletion, KeyState::PendingImport];

/// The table: each operation with its four cells (`None` for `OK`, else
/// the error code as the spec writes it).
fn table() -> Vec<(String, [Option<String>; 4])> {
    let mut lines = KEYS_MD.lines().skip_while(|l| !l.starts_with("<!-- state-table"));
    assert!(lines.next().is_some(), "docs/keys.md has no state-table marker");
    let header = lines.next().expect("a header row");
    assert_eq!(header.replace(' ', ""), "|operation|Enabled|Disabled|PendingDeletion|PendingImport|");
    let rows: Vec<_> = lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 5, "row {line}");
            let cell = |i: usize| (cells[i] != "OK").then(|| cells[i].to_owned());
            (cells[0].to_owned(), [cell(1), cell(2), cell(3), cell(4)])
        })
        .collect();
    assert!(rows.len() >= 19, "the table has {} rows", rows.len());
    rows
}

/// The cells of one row.
fn row(name: &str) -> [Option<String>; 4] {
    table().into_iter().find(|(op, _)| op == name).unwrap_or_else(|| panic!("no row {name}")).1
}

/// What kind of key an operation takes (so `OK` means success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Aes,
    Ec,
    Rsa,
    External,
}

fn kind_for(operation: &str) -> Kind {
    match operation {
        "sign" | "get-public-key" => Kind::Ec,
        "asymmetric-encrypt" => Kind::Rsa,
        "get-parameters-for-import" | "delete-key-material" => Kind::External,
        _ => Kind::Aes,
    }
}

/// Moves an Enabled key to `state` (PendingImport only by deleting an
/// EXTERNAL key's material).
fn put_in(fx: &Fixture, key: &str, state: KeyState) {
    match state {
        KeyState::Enabled => {}
        KeyState::Disabled => lifecycle::disable(&fx.kms, key).expect("disables"),
        KeyState::PendingDeletion => lifecycle::schedule_deletion(&fx.kms, key, 7).expect("schedules"),
        KeyState::PendingImport => import::delete_material(&fx.kms, key).expect("deletes the material"),
    }
    assert_eq!(fx.key(key).record.state, state);
}

/// A fresh key of `kind` in `state` (an EXTERNAL one for PendingImport).
fn key_in(fx: &Fixture, kind: Kind, state: KeyState) -> String {
    if state == KeyState::PendingImport {
        let key = fx.create_external().record.key_id;
        assert_eq!(fx.key(&key).record.state, KeyState::PendingImport);
        return key;
    }
    let key = match kind {
        Kind::Aes => fx.create(KeySpec::Aes256).record.key_id,
        Kind::Ec => fx.create(KeySpec::EcP256).record.key_id,
        Kind::Rsa => fx.create(KeySpec::Rsa2048).record.key_id,
        Kind::External => imported_key(fx, &material()),
    };
    put_in(fx, &key, state);
    key
}

fn primary(fx: &Fixture, key: &str) -> String {
    fx.key(key).record.primary_version
}

/// Runs the operation a row names on `key`.
fn run(fx: &Fixture, operation: &str, key: &str) -> Result<(), KmsError> {
    let kms = &fx.kms;
    match operation {
        "describe" => {
            let entry = kms.registry()?.key(key)?.clone();
            key_description(&entry, crate::kms::keys::instance_kind(kms, &entry)?, kms.region());
            Ok(())
        }
        "list-versions" => {
            let versions: Vec<_> = kms.registry()?.key(key)?.versions.iter().map(version_info).collect();
            assert!(!versions.is_empty());
            Ok(())
        }
        "tag" => lifecycle::tag(kms, key, &[tag("team", "payments")]),
        "untag" => lifecycle::untag(kms, key, &["team".into()]),
        "alias-create" => aliases::create(kms, "alias/state-table", key),
        "set-deletion-protection" => lifecycle::set_deletion_protection(kms, key, true),
        "enable" => lifecycle::enable(kms, key),
        "disable" => lifecycle::disable(kms, key),
        "schedule-deletion" => lifecycle::schedule_deletion(kms, key, 7),
        "cancel-deletion" => lifecycle::cancel_deletion(kms, key),
        "create-version" => rotation::rotate(kms, key).map(drop),
        "update-rotation-policy" => rotation::update_policy(
            kms,
            &UpdateRotationPolicyRequest {
                key: key.into(),
                enable_automatic_rotation: true,
                rotation_interval: Some(30 * DAY),
            },
        ),
        "encrypt" => envelope::encrypt(
            kms,
            &EncryptRequest { key: key.into(), plaintext: "hello".into(), encryption_context: Default::default() },
        )
        .map(drop),
        "generate-data-key" => envelope::generate_data_key(kms, &data_key_request(key), true).map(drop),
        "sign" => asymmetric::sign(
            kms,
            &SignRequest {
                key: key.into(),
                key_version_id: primary(fx, key),
                algorithm: SigningAlgorithm::EcdsaSha256,
                digest: vec![7; 32],
            },
        )
        .map(drop),
        "asymmetric-encrypt" => asymmetric::encrypt(
            kms,
            &AsymmetricEncryptRequest {
                key: key.into(),
                key_version_id: primary(fx, key),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
                plaintext: "hello".into(),
            },
        )
        .map(drop),
        "get-public-key" => asymmetric::public_key(kms, key, None).map(drop),
        "get-parameters-for-import" => {
            import::get_parameters(kms, key, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048).map(drop)
        }
        "delete-key-material" => import::delete_material(kms, key),
        other => panic!("docs/keys.md has a row this test does not know: {other}"),
    }
}

fn data_key_request(key: &str) -> GenerateDataKeyRequest {
    GenerateDataKeyRequest {
        key: key.into(),
        key_spec: None,
        number_of_bytes: None,
        encryption_context: Default::default(),
    }
}

/// Runs every row of one column and returns the cells that differ.
fn check_column(column: usize) -> Vec<String> {
    let state = COLUMNS[column];
    let mut wrong = Vec::new();
    for (operation, cells) in table() {
        let fx = Fixture::new();
        let key = key_in(&fx, kind_for(&operation), state);
        let answer = run(&fx, &operation, &key);
        let got = answer.as_ref().err().map(|e| e.code().as_str().to_owned());
        if got != cells[column] {
            wrong.push(format!(
                "{operation} on a {state} key: the table says {}, the operation answered {}",
                cells[column].as_deref().unwrap_or("OK"),
                match &answer {
                    Ok(()) => "OK".to_owned(),
                    Err(e) => format!("{}: {e}", e.code()),
                }
            ));
        }
        fx.assert_consistent();
    }
    wrong
}

#[test]
fn every_cell_of_the_enabled_column() {
    let wrong = check_column(0);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_cell_of_the_disabled_column() {
    let wrong = check_column(1);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_cell_of_the_pending_deletion_column() {
    let wrong = check_column(2);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_cell_of_the_pending_import_column() {
    let wrong = check_column(3);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The error `row` gives in `state`, or `None` for OK.
fn expected(row_name: &str, state: KeyState) -> Option<String> {
    let column = COLUMNS.iter().position(|s| *s == state).expect("a column");
    row(row_name)[column].clone()
}

fn answer<T>(result: Result<T, KmsError>) -> Option<String> {
    result.err().map(|e| e.code().as_str().to_owned())
}

#[test]
fn decryption_and_data_keys_follow_the_encrypt_row() {
    for state in COLUMNS {
        let fx = Fixture::new();
        // An EXTERNAL key reaches all four states with blobs made while it
        // was Enabled.
        let key = imported_key(&fx, &material());
        let context = super::context(&[("app", "billing")]);
        let blob = envelope::encrypt(
            &fx.kms,
            &EncryptRequest { key: key.clone(), plaintext: "secret".into(), encryption_context: context.clone() },
        )
        .expect("encrypts")
        .ciphertext_blob;
        put_in(&fx, &key, state);
        let want = expected("encrypt", state);
        let decrypt = envelope::decrypt(
            &fx.kms,
            &DecryptRequest { ciphertext_blob: blob.clone(), encryption_context: context.clone() },
        );
        assert_eq!(answer(decrypt), want, "decrypt on a {state} key");
        let exported = export::export_data_key(&fx.kms, &super::export::export_request(&blob, &context));
        assert_eq!(answer(exported), want, "export-data-key on a {state} key");
        let request = super::export::generate_request(&key, WrappingAlgorithm::RsaesOaepSha256);
        assert_eq!(answer(export::generate_and_export(&fx.kms, &request)), want, "generate-and-export on {state}");
        let re_encrypt = envelope::re_encrypt(
            &fx.kms,
            &ReEncryptRequest {
                ciphertext_blob: blob,
                destination_key: None,
                source_encryption_context: context.clone(),
                destination_encryption_context: context,
            },
        );
        assert_eq!(answer(re_encrypt), want, "re-encrypt on a {state} key");
        let without = envelope::generate_data_key(&fx.kms, &data_key_request(&key), false);
        assert_eq!(answer(without), want, "generate-data-key-without-plaintext on a {state} key");
    }
}

#[test]
fn verify_and_asymmetric_decrypt_follow_their_rows() {
    for state in [KeyState::Enabled, KeyState::Disabled, KeyState::PendingDeletion] {
        let fx = Fixture::new();
        let ec = fx.create(KeySpec::EcP256).record.key_id;
        let ec_version = primary(&fx, &ec);
        let digest = vec![9; 32];
        let signature = asymmetric::sign(
            &fx.kms,
            &SignRequest {
                key: ec.clone(),
                key_version_id: ec_version.clone(),
                algorithm: SigningAlgorithm::EcdsaSha256,
                digest: digest.clone(),
            },
        )
        .expect("signs")
        .value;
        let rsa = fx.create(KeySpec::Rsa2048).record.key_id;
        let rsa_version = primary(&fx, &rsa);
        let ciphertext = asymmetric::encrypt(
            &fx.kms,
            &AsymmetricEncryptRequest {
                key: rsa.clone(),
                key_version_id: rsa_version.clone(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
                plaintext: SecretBytes::from("secret"),
            },
        )
        .expect("encrypts")
        .ciphertext_blob;
        put_in(&fx, &ec, state);
        put_in(&fx, &rsa, state);
        let verify = asymmetric::verify(
            &fx.kms,
            &VerifyRequest {
                key: ec,
                key_version_id: ec_version,
                algorithm: SigningAlgorithm::EcdsaSha256,
                digest,
                value: signature,
            },
        );
        if state == KeyState::Enabled {
            assert!(verify.as_ref().is_ok_and(|v| v.value), "verify on an Enabled key: {verify:?}");
        }
        assert_eq!(answer(verify), expected("sign", state), "verify on a {state} key");
        let decrypt = asymmetric::decrypt(
            &fx.kms,
            &AsymmetricDecryptRequest {
                key: rsa,
                key_version_id: rsa_version,
                algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
                ciphertext_blob: ciphertext,
            },
        );
        assert_eq!(answer(decrypt), expected("asymmetric-encrypt", state), "asymmetric-decrypt on a {state} key");
    }
}

#[test]
fn import_follows_get_parameters_and_alias_changes_follow_alias_create() {
    for state in COLUMNS {
        let fx = Fixture::new();
        let secret = material();
        let key = imported_key(&fx, &secret);
        // The token is taken while the key allows it; the state comes after.
        let parameters =
            import::get_parameters(&fx.kms, &key, WrappingAlgorithm::RsaesOaepSha1, WrappingKeySpec::Rsa2048)
                .expect("parameters");
        aliases::create(&fx.kms, "alias/moving", &key).expect("an alias");
        aliases::create(&fx.kms, "alias/going", &key).expect("an alias");
        put_in(&fx, &key, state);
        let request = ImportKeyMaterialRequest {
            key: key.clone(),
            import_token: parameters.import_token,
            encrypted_key_material: wrap_material(&parameters.public_key, WrappingAlgorithm::RsaesOaepSha1, &secret),
            key_material_expire_unix: None,
        };
        assert_eq!(
            answer(import::import(&fx.kms, &request)),
            expected("get-parameters-for-import", state),
            "import-key-material on a {state} key"
        );
        let other = fx.create(KeySpec::Aes256).record.key_id;
        aliases::update(&fx.kms, "alias/moving", &other).expect("moves an alias away from the key");
        let want = expected("alias-create", state);
        assert_eq!(answer(aliases::update(&fx.kms, "alias/moving", &key)), want, "alias update to a {state} key");
        assert_eq!(answer(aliases::delete(&fx.kms, "alias/going")), want, "alias delete on a {state} key");
        fx.assert_consistent();
    }
}
