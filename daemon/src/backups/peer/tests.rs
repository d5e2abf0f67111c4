//! Unit tests of restores from another daemon's backup, between two KMS
//! fixtures (in-memory vaults): a key with its versions, its ciphertext
//! decrypting at the destination, then its secret; every refusal
//! (conflicts, kinds, a missing or foreign wrapping key, a changed
//! package, a ticket spent or expired), each leaving nothing behind.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    BackupItemPackage, ExportBackupItemRequest, ImportBackupItemRequest, InstanceKind, PrepareRestoreRequest,
    RestoreTicket, RestoredItem,
};

use super::super::tests::{Setup, code};
use super::super::transfer::tests::software;
use super::tickets::TICKET_LIFETIME;
use super::{export, import, prepare};
use crate::kms::testing::CLUSTER;
use crate::kms::{KmsError, envelope, instances};

fn prepare_key(s: &Setup, key: &str) -> Result<RestoreTicket, KmsError> {
    let request = PrepareRestoreRequest {
        to_instance: "soft1".into(),
        key_id: Some(key.into()),
        secret_name: None,
        backup_kind: None,
    };
    prepare::prepare(&s.fx.kms, s.backups.tickets(), &request)
}

fn export_key(s: &Setup, backup: &str, key: &str, ticket: &RestoreTicket) -> Result<BackupItemPackage, KmsError> {
    let request = ExportBackupItemRequest {
        backup_id: backup.into(),
        date: Some(s.today()),
        at: None,
        key_id: Some(key.into()),
        secret_name: None,
        instance_kind: Some(ticket.instance_kind),
        wrapping_public_key: ticket.wrapping_public_key.clone(),
    };
    export::export(&s.fx.kms, &s.backups, &request)
}

fn secret_request(key: &str) -> p11kms_proto::admin::CreateSecretRequest {
    crate::kms::testing::secret_request("db", "soft1", "pw-1", Some(key))
}

/// The secret `db` of `backup`, restored into `second` through a ticket.
fn restore_secret(first: &Setup, second: &Setup, backup: &str) -> Result<RestoredItem, KmsError> {
    let request = PrepareRestoreRequest {
        to_instance: "soft1".into(),
        key_id: None,
        secret_name: Some("db".into()),
        backup_kind: Some(InstanceKind::Software),
    };
    let ticket = prepare::prepare(&second.fx.kms, second.backups.tickets(), &request)?;
    assert!(ticket.wrapping_public_key.is_none(), "a secret's values stay encrypted under its key");
    let request = ExportBackupItemRequest {
        backup_id: backup.into(),
        date: Some(first.today()),
        at: None,
        key_id: None,
        secret_name: Some("db".into()),
        instance_kind: Some(ticket.instance_kind),
        wrapping_public_key: None,
    };
    let package = export::export(&first.fx.kms, &first.backups, &request)?;
    import(second, &ticket, package.package)
}

fn import(s: &Setup, ticket: &RestoreTicket, package: Vec<u8>) -> Result<RestoredItem, KmsError> {
    let request = ImportBackupItemRequest { ticket: ticket.ticket.clone(), package };
    import::import(&s.fx.kms, s.backups.tickets(), &request)
}

/// Nothing of a refused restore is left at the destination: no key, no
/// ticket, no wrapping key.
fn nothing_left(s: &Setup, key: &str) {
    assert!(s.fx.kms.registry().unwrap().key(key).is_err(), "no key");
    assert!(s.backups.tickets().is_empty(), "no ticket");
    assert_eq!(s.fx.vault.wrapping_key_count(), 0, "no wrapping key");
}

#[test]
fn a_key_and_its_secret_restore_into_another_kms() {
    let first = Setup::new();
    let (backup, key) = software(&first);
    let blob = envelope::encrypt_bytes(&first.fx.kms, &key, b"kept", &Default::default()).expect("encrypted");
    crate::kms::secrets::create::create(&first.fx.kms, &secret_request(&key), "admin:0").expect("secret");
    first.advance(300);
    let second = Setup::new();
    instances::create(&second.fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("soft1");
    let refused = restore_secret(&first, &second, &backup).expect_err("its key first");
    assert!(refused.to_string().contains(&key), "names the key: {refused}");
    assert!(second.backups.tickets().is_empty(), "the ticket is spent");

    let ticket = prepare_key(&second, &key).expect("prepared");
    assert_eq!(ticket.instance_kind, InstanceKind::Software);
    assert!(ticket.wrapping_public_key.is_some());
    assert_eq!(second.fx.vault.wrapping_key_count(), 1);
    let package = export_key(&first, &backup, &key, &ticket).expect("packed");
    assert_eq!((package.item.as_str(), package.version_count), (key.as_str(), 2));
    let text = String::from_utf8_lossy(&package.package);
    assert!(!text.contains("pw-1") && text.contains(&key), "metadata in the package, no value in clear");

    let restored = import(&second, &ticket, package.package.clone()).expect("restored").key.expect("a key");
    assert_eq!((restored.key_id.as_str(), restored.key_version_ids.len()), (key.as_str(), 2));
    let plain = envelope::decrypt_bytes(&second.fx.kms, &blob.ciphertext_blob, &Default::default(), None)
        .expect("decrypts at the destination");
    assert_eq!(plain.plaintext.expose(), b"kept");
    assert!(second.backups.tickets().is_empty() && second.fx.vault.wrapping_key_count() == 0, "the ticket is spent");
    // Spent: the same ticket again is refused; the key is there now.
    assert_eq!(code(import(&second, &ticket, package.package)), ErrorCode::InvalidParameter);
    assert_eq!(code(prepare_key(&second, &key)), ErrorCode::ResourceExist);

    let secret = restore_secret(&first, &second, &backup).expect("restored").secret.expect("a secret");
    assert_eq!(secret.version_ids, ["v1"]);
    let value = crate::kms::secrets::read::current_value(&second.fx.kms, "soft1", "db").expect("reads");
    assert_eq!(value.expose(), b"pw-1");
    assert_eq!(code(restore_secret(&first, &second, &backup)), ErrorCode::ResourceExist);
}

#[test]
fn every_refusal_leaves_nothing_at_the_destination() {
    let first = Setup::new();
    let (backup, key) = software(&first);
    first.advance(300);
    let second = Setup::new();
    instances::create(&second.fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("soft1");

    let default = PrepareRestoreRequest {
        to_instance: "default".into(),
        key_id: Some(key.clone()),
        secret_name: None,
        backup_kind: None,
    };
    assert!(prepare::prepare(&second.fx.kms, second.backups.tickets(), &default).is_err(), "not the default instance");
    let both = PrepareRestoreRequest {
        to_instance: "soft1".into(),
        key_id: Some(key.clone()),
        secret_name: Some("db".into()),
        backup_kind: None,
    };
    assert_eq!(code(prepare::prepare(&second.fx.kms, second.backups.tickets(), &both)), ErrorCode::InvalidParameter);
    let hardware_backup = PrepareRestoreRequest {
        to_instance: "soft1".into(),
        key_id: Some(key.clone()),
        secret_name: None,
        backup_kind: Some(InstanceKind::Hardware),
    };
    let refused = prepare::prepare(&second.fx.kms, second.backups.tickets(), &hardware_backup).expect_err("kind");
    assert!(refused.to_string().contains("hardware"), "{refused}");

    // A software backup's material leaves only wrapped for a ticket.
    let ticket = prepare_key(&second, &key).expect("prepared");
    let bare = RestoreTicket { wrapping_public_key: None, ..ticket.clone() };
    assert_eq!(code(export_key(&first, &backup, &key, &bare)), ErrorCode::InvalidParameter);
    let hardware = RestoreTicket { instance_kind: InstanceKind::Hardware, ..ticket.clone() };
    assert_eq!(code(export_key(&first, &backup, &key, &hardware)), ErrorCode::InvalidParameter);

    // Packed for another ticket: its one-time key does not unwrap here.
    let other = prepare_key(&second, &key).expect("another");
    let foreign = export_key(&first, &backup, &key, &other).expect("packed for the other");
    assert_eq!(code(import(&second, &ticket, foreign.package.clone())), ErrorCode::InvalidParameter);
    // A changed package.
    let mut changed = foreign.package.clone();
    let at = changed.iter().position(|b| *b == b'{').unwrap() + 1;
    changed[at] = b'!';
    assert_eq!(code(import(&second, &other, changed)), ErrorCode::InvalidParameter);
    nothing_left(&second, &key);

    // Expired: ten minutes on the daemon clock, the pair destroyed unused.
    let late = prepare_key(&second, &key).expect("prepared");
    let package = export_key(&first, &backup, &key, &late).expect("packed");
    second.fx.advance_seconds(TICKET_LIFETIME + 1);
    super::tickets::sweep(&second.fx.kms, second.backups.tickets());
    nothing_left(&second, &key);
    assert_eq!(code(import(&second, &late, package.package)), ErrorCode::InvalidParameter);
}

#[test]
fn tickets_outstanding_are_limited() {
    let s = Setup::new();
    instances::create(&s.fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("soft1");
    let prepare_secret = |name: String| {
        let request = PrepareRestoreRequest {
            to_instance: "soft1".into(),
            key_id: None,
            secret_name: Some(name),
            backup_kind: None,
        };
        prepare::prepare(&s.fx.kms, s.backups.tickets(), &request)
    };
    for n in 0..super::tickets::MAX_TICKETS {
        prepare_secret(format!("s{n}")).expect("within the limit");
    }
    assert_eq!(code(prepare_secret("one-more".into())), ErrorCode::LimitExceeded);
    assert_eq!(code(prepare_key(&s, "key-1")), ErrorCode::LimitExceeded);
    assert_eq!(s.fx.vault.wrapping_key_count(), 0, "the refused key's pair is destroyed");
    s.fx.advance_seconds(TICKET_LIFETIME);
    prepare_secret("after".into()).expect("the expired ones are swept first");
}
