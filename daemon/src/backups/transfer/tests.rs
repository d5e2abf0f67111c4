//! Unit tests of backup data files: the file format (a round trip, and
//! every tampering refused: a byte of the header, of a chunk, of a tag; a
//! chunk removed, two swapped, the file cut, a wrong key, another magic
//! or format), the re-wrap in the in-memory vault, and a download from
//! one KMS uploaded into another, viewed and restored there.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_proto::admin::backup_file::{FIXED_HEADER_LEN, FileHeader, TRANSFER_CHUNK_LEN};
use p11kms_proto::admin::{
    BackupStatus, BackupType, CreateBackupRequest, DownloadBackupRequest, EnableBackupRequest, FetchBackupChunkRequest,
    InstanceKind, KeySpec, RestoreKeyRequest, ShowBackupRequest, UploadBackupChunkRequest, UploadBackupRequest,
};
use p11kms_proto::{ErrorCode, SecretString, Timestamp};

use super::super::tests::{Setup, code};
use super::super::{lifecycle, restore, view};
use super::{download, format, upload};
use crate::hsm::VersionName;
use crate::kms::testing::CLUSTER;
use crate::kms::vault::{Rewrap, Vault};
use crate::kms::{KmsError, envelope, instances, keys};

const KEY: [u8; 32] = [0x11; 32];

fn header() -> FileHeader {
    FileHeader {
        nonce_prefix: [0; 8],
        chunk_size: 0,
        chunk_count: 0,
        payload_len: 0,
        instance_kind: InstanceKind::Software,
        key_count: 1,
        secret_count: 2,
        material_count: 3,
        as_of: 1_700_000_000,
        key_check: [0; 16],
        date: "2026-12-05".into(),
        backup_id: "backup-1".into(),
    }
}

/// A payload of three chunks, the last one short.
fn payload() -> Vec<u8> {
    (0..(2 * format::CHUNK_SIZE as usize + 1000)).map(|i| (i % 251) as u8).collect()
}

fn refusal(bytes: &[u8], key: &[u8; 32]) -> String {
    match format::open(bytes, key) {
        Err(KmsError::InvalidParameter(message)) => message,
        other => panic!("refused with InvalidParameter, not {:?}", other.map(|(h, _)| h)),
    }
}

#[test]
fn a_file_reads_back_and_every_tampering_is_refused() {
    let plain = payload();
    let file = format::seal(header(), &plain, &KEY).expect("sealed");
    let (read, opened) = format::open(&file, &KEY).expect("opens");
    assert_eq!(opened.as_slice(), plain.as_slice());
    assert_eq!((read.chunk_count, read.key_count, read.backup_id.as_str()), (3, 1, "backup-1"));
    let head = FIXED_HEADER_LEN + "backup-1".len();
    let sealed_chunk = format::CHUNK_SIZE as usize + 16;
    assert_eq!(file.len(), head + plain.len() + 3 * 16);
    assert!(!file.windows(64).any(|w| plain.windows(64).next() == Some(w)), "no plaintext in the file");

    // Another key.
    assert!(refusal(&file, &[0x12; 32]).contains("decryption key is not"));
    // A byte of the header (its date, its counts), of a chunk, of a tag.
    for at in [75, 40, head + 5, head + sealed_chunk + 100, head + sealed_chunk - 1, file.len() - 1] {
        let mut changed = file.clone();
        changed[at] ^= 0x01;
        let message = refusal(&changed, &KEY);
        assert!(message.contains("does not authenticate") || message.contains("header"), "byte {at}: {message}");
    }
    // The key check itself changed: taken for a wrong key.
    let mut changed = file.clone();
    changed[60] ^= 0x80;
    assert!(refusal(&changed, &KEY).contains("decryption key is not"));
    // A chunk removed, two swapped, the file cut, bytes appended.
    let chunk = |i: usize| &file[head + i * sealed_chunk..(head + (i + 1) * sealed_chunk).min(file.len())];
    let removed = [&file[..head], chunk(0), chunk(2)].concat();
    assert!(refusal(&removed, &KEY).contains("cut"));
    let swapped = [&file[..head], chunk(1), chunk(0), chunk(2)].concat();
    assert!(refusal(&swapped, &KEY).contains("chunk 1 of 3 does not authenticate"));
    assert!(refusal(&file[..file.len() - 10], &KEY).contains("cut"));
    assert!(refusal(&file[..head - 3], &KEY).contains("header"));
    assert!(refusal(&[file.as_slice(), b"x"].concat(), &KEY).contains("after its last chunk"));
    // The last chunk dropped and the header told so: the final flag.
    let mut forged = FileHeader { chunk_count: 2, payload_len: 2 * u64::from(format::CHUNK_SIZE), ..read.clone() };
    forged.key_check = read.key_check;
    let forged = [forged.encode().as_slice(), chunk(0), chunk(1)].concat();
    assert!(refusal(&forged, &KEY).contains("does not authenticate"));
    // Another magic, another format.
    assert!(refusal(b"PK\x03\x04 not a backup", &KEY).contains("not a p11kms backup data file"));
    let mut version = file.clone();
    version[9] = 9;
    assert!(refusal(&version, &KEY).contains("format 9"));
    // Nothing at all is one empty chunk, still authenticated.
    let empty = format::seal(header(), &[], &KEY).expect("sealed");
    assert!(format::open(&empty, &KEY).expect("opens").1.is_empty());
}

#[test]
fn material_is_rewrapped_from_the_root_key_to_the_file_key_and_back() {
    let s = Setup::new();
    let vault = &s.fx.vault;
    let key = s.fx.create(KeySpec::Aes256);
    let v: VersionName = keys::version_name(&key.record, &key.versions[0]);
    let under_root = vault.wrap_for_backup(CLUSTER, &v).expect("wrapped");
    let under_file = vault.rewrap(CLUSTER, Rewrap::Export, &v, &under_root, &KEY).expect("to the file key");
    assert_ne!(under_file, under_root);
    let clear = aes_kw::KekAes256::new(&KEY.into()).unwrap_with_padding_vec(&under_file).expect("under the file key");
    assert!(!clear.is_empty());
    let back = vault.rewrap(CLUSTER, Rewrap::Import, &v, &under_file, &KEY).expect("back");
    assert_eq!(back, under_root, "AES key wrap is deterministic");
    let wrong = vault.rewrap(CLUSTER, Rewrap::Import, &v, &under_file, &[0x12; 32]).expect_err("another key");
    assert!(matches!(wrong, KmsError::MaterialRefused(_)));
    assert!(vault.rewrap("nope", Rewrap::Export, &v, &under_root, &KEY).is_err(), "a cluster it does not serve");
}

/// A software instance with a key, a secret and a backup enabled on it;
/// returns the backup's id and the key's id.
pub(in crate::backups) fn software(s: &Setup) -> (String, String) {
    instances::create(&s.fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("soft1");
    let request = CreateBackupRequest {
        backup_type: BackupType::Retained,
        instance_kind: InstanceKind::Software,
        alias: None,
        viewable_days: Some(30),
        duration_days: Some(365),
    };
    let id = lifecycle::create(&s.fx.kms, &s.backups, &request).expect("created").backup_id;
    let new =
        keys::NewKey::plain("soft1".into(), KeySpec::Aes256, KeySpec::Aes256.default_usage(), None, "admin:0".into());
    let key = keys::create(&s.fx.kms, new).expect("key").record.key_id;
    keys::rotation::rotate(&s.fx.kms, &key).expect("two versions");
    let enable = EnableBackupRequest { backup_id: id.clone(), instance: "soft1".into(), alias: None };
    lifecycle::enable(&s.fx.kms, &s.backups, &enable).expect("enabled");
    (id, key)
}

/// Downloads `id`'s day `date` from `s`: the file and its key.
fn fetch_file(s: &Setup, id: &str, date: &str) -> (Vec<u8>, SecretString) {
    let request = DownloadBackupRequest { backup_id: id.into(), date: date.into() };
    let ready = download::download(&s.fx.kms, &s.backups, &request).expect("ready");
    let mut file = Vec::new();
    for index in 0..ready.chunk_count {
        let request = FetchBackupChunkRequest { download_id: ready.download_id.clone(), index };
        let chunk = download::fetch(&s.fx.kms, &s.backups, &request).expect("chunk");
        assert_eq!(chunk.last, index + 1 == ready.chunk_count);
        file.extend(chunk.bytes);
    }
    assert_eq!(file.len() as u64, ready.size);
    let again = FetchBackupChunkRequest { download_id: ready.download_id, index: 0 };
    assert_eq!(code(download::fetch(&s.fx.kms, &s.backups, &again)), ErrorCode::ResourceNotFound, "gone once fetched");
    (file, ready.decryption_key)
}

fn upload_file(s: &Setup, file: &[u8], key: SecretString) -> Result<p11kms_proto::admin::BackupInfo, KmsError> {
    let upload_id = uuid::Uuid::new_v4().to_string();
    for (index, bytes) in file.chunks(TRANSFER_CHUNK_LEN).enumerate() {
        let request =
            UploadBackupChunkRequest { upload_id: upload_id.clone(), index: index as u32, bytes: bytes.into() };
        upload::put_chunk(&s.fx.kms, &s.backups, &request).expect("chunk");
    }
    let request = UploadBackupRequest { upload_id, decryption_key: key, name: "from-first".into() };
    upload::upload(&s.fx.kms, &s.backups, &request)
}

fn transfer_files(s: &Setup) -> usize {
    ["exports", "uploads"]
        .iter()
        .filter_map(|d| std::fs::read_dir(s.backups.storage().root().join(d)).ok())
        .map(|d| d.count())
        .sum()
}

#[test]
fn a_download_uploads_into_another_kms_and_restores_there() {
    let first = Setup::new();
    let (id, key) = software(&first);
    let blob = envelope::encrypt_bytes(&first.fx.kms, &key, b"kept", &Default::default()).expect("encrypted");
    first.advance(300);
    let day = first.today();
    let (file, decryption_key) = fetch_file(&first, &id, &day);
    assert_eq!(transfer_files(&first), 0, "nothing stays once fetched");
    let refused = DownloadBackupRequest { backup_id: id.clone(), date: "2000-01-01".into() };
    assert_eq!(code(download::download(&first.fx.kms, &first.backups, &refused)), ErrorCode::InvalidParameter);

    let second = Setup::new();
    instances::create(&second.fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("soft1");
    // Refused: a changed byte, a wrong key, a cut file; nothing left.
    let mut changed = file.clone();
    let last = changed.len() - 20;
    changed[last] ^= 1;
    assert_eq!(code(upload_file(&second, &changed, decryption_key.clone())), ErrorCode::InvalidParameter);
    let wrong = SecretString::new(p11kms_proto::bytes::to_base64(&[7; 32]));
    assert_eq!(code(upload_file(&second, &file, wrong)), ErrorCode::InvalidParameter);
    assert_eq!(
        code(upload_file(&second, &file[..file.len() / 2], decryption_key.clone())),
        ErrorCode::InvalidParameter
    );
    assert_eq!(code(upload_file(&second, &file, SecretString::new("short".into()))), ErrorCode::InvalidParameter);
    assert!(second.backups.book().expect("book").entries.values().all(|e| e.record.backup_type != BackupType::Upload));
    assert_eq!(transfer_files(&second), 0, "no chunk left behind");

    let info = upload_file(&second, &file, decryption_key).expect("uploaded");
    assert_eq!((info.backup_type, info.status, info.point_count), (BackupType::Upload, BackupStatus::Disabled, 1));
    assert_eq!(info.alias.as_deref(), Some("from-first"));
    // Its day shows whatever this KMS's date; another day does not.
    second.advance(40 * 86_400);
    let show = |date: &str| {
        view::show(
            &second.fx.kms,
            &second.backups,
            &ShowBackupRequest { backup_id: info.backup_id.clone(), date: date.into() },
        )
    };
    let shown = show(&day).expect("its day");
    assert_eq!(shown.fully_backed_up_keys.len(), 1);
    assert_eq!(shown.fully_backed_up_keys[0].version_count, 2);
    assert_eq!(code(show("2000-01-01")), ErrorCode::InvalidParameter);
    let enable = EnableBackupRequest { backup_id: info.backup_id.clone(), instance: "soft1".into(), alias: None };
    assert!(lifecycle::enable(&second.fx.kms, &second.backups, &enable).is_err(), "never enabled");

    let restore = |date: Option<String>, at: Option<Timestamp>| RestoreKeyRequest {
        backup_id: info.backup_id.clone(),
        date,
        at,
        key_id: key.clone(),
        to_instance: "soft1".into(),
    };
    let at = restore(None, Some(second.fx.now()));
    assert_eq!(code(restore::restore_key(&second.fx.kms, &second.backups, &at)), ErrorCode::InvalidParameter);
    let restored = restore::restore_key(&second.fx.kms, &second.backups, &restore(Some(day), None)).expect("restored");
    assert_eq!(restored.key_version_ids.len(), 2);
    let plain = envelope::decrypt_bytes(&second.fx.kms, &blob.ciphertext_blob, &Default::default(), None)
        .expect("decrypts in the second KMS");
    assert_eq!(plain.plaintext.expose(), b"kept");
}

#[test]
fn a_hardware_backup_carries_metadata_only_and_restores_only_where_the_versions_are() {
    let first = Setup::new();
    let key = first.fx.create(KeySpec::Aes256).record.key_id;
    first.advance(1);
    let system = lifecycle::list(&first.fx.kms, &first.backups, &Default::default())
        .expect("listed")
        .into_iter()
        .find(|b| b.backup_type == BackupType::System)
        .expect("the hardware instance's system backup");
    assert_eq!(system.instance_kind, InstanceKind::Hardware);
    first.advance(300);
    let day = first.today();
    let (file, decryption_key) = fetch_file(&first, &system.backup_id, &day);
    let (header, _) = FileHeader::decode(&file).expect("a header");
    assert_eq!((header.instance_kind, header.key_count, header.material_count), (InstanceKind::Hardware, 1, 0));

    let second = Setup::new();
    let info = upload_file(&second, &file, decryption_key).expect("uploaded");
    assert_eq!(info.instance_kind, InstanceKind::Hardware);
    let shown = view::show(
        &second.fx.kms,
        &second.backups,
        &ShowBackupRequest { backup_id: info.backup_id.clone(), date: day.clone() },
    )
    .expect("its day");
    assert_eq!(shown.fully_backed_up_keys.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(), [key.as_str()]);
    // The second KMS's cluster never held the key's versions: refused,
    // saying where they are (a cluster restored from a mirror image).
    let restore = RestoreKeyRequest {
        backup_id: info.backup_id,
        date: Some(day),
        at: None,
        key_id: key.clone(),
        to_instance: crate::kms::testing::INSTANCE.into(),
    };
    let refused = restore::restore_key(&second.fx.kms, &second.backups, &restore).expect_err("no versions there");
    assert_eq!(refused.code(), ErrorCode::UnsupportedOperation, "{refused}");
    assert!(refused.to_string().contains("mirror image"), "{refused}");
    assert!(second.fx.kms.registry().unwrap().key(&key).is_err(), "nothing restored");
}
