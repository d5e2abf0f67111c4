//! The rows of backups: of instances, restores from them (in place and
//! call by call), and their data files downloaded, fetched and uploaded.

use std::path::Path;

use p11kms_proto::bytes::{from_base64, to_base64};

use super::table::{Audit, Received, key, ok, refused, text};

/// Backups, restores and backup files.
pub(crate) fn backups(audit: &mut Audit<'_>, work: &Path, received: &mut Received) {
    let daemon = audit.daemon;
    // Backups of instances.
    let (backup, _) = audit.run(&ok(
        "CreateBackup",
        &["backup", "create", "--backup-type", "default", "--instance-kind", "hardware"],
        &[],
    ));
    let backup_id = text(&backup, "BackupId");
    let b = format!("backup/{backup_id}");
    let today = text(&daemon.cli_json(&["clock", "show"]), "Now")[..10].to_owned();
    audit.table(&[
        refused(
            "CreateBackup",
            &["backup", "create", "--backup-type", "retained", "--instance-kind", "hardware"],
            &[],
            "InvalidParameter",
        ),
        ok("EnableBackup", &["backup", "enable", &backup_id, "--instance", "hsm1"], &[&b, "instance/hsm1"]),
        refused(
            "EnableBackup",
            &["backup", "enable", &backup_id, "--instance", "hsm1"],
            &[&b, "instance/hsm1"],
            "Rejected.StateModifiedFailed",
        ),
        ok("ListBackups", &["backup", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused(
            "ListBackups",
            &["backup", "list", "--instance", "nope"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeBackup", &["backup", "describe", &backup_id], &[&b]),
        refused(
            "DescribeBackup",
            &["backup", "describe", "backup-nope"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ShowBackup", &["backup", "show", &backup_id, "--date", &today], &[&b]),
        refused("ShowBackup", &["backup", "show", &backup_id, "--date", "2000-01-01"], &[&b], "InvalidParameter"),
        refused(
            "ExtendBackup",
            &["backup", "extend", &backup_id, "--viewable-days", "30"],
            &[&b],
            "Rejected.UnsupportedOperation",
        ),
        refused(
            "RenewBackup",
            &["backup", "renew", &backup_id, "--duration-days", "30"],
            &[&b],
            "Rejected.UnsupportedOperation",
        ),
        ok("ResetBackup", &["backup", "reset", &backup_id, "--yes"], &[&b]),
        refused(
            "ResetBackup",
            &["backup", "reset", "backup-nope", "--yes"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);
    let (retained, _) = audit.run(&ok(
        "CreateBackup",
        &[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "hardware",
            "--viewable-days",
            "7",
            "--duration-days",
            "30",
        ],
        &[],
    ));
    let retained_id = text(&retained, "BackupId");
    let r = format!("backup/{retained_id}");
    audit.table(&[
        ok("ExtendBackup", &["backup", "extend", &retained_id, "--viewable-days", "30"], &[&r]),
        ok("RenewBackup", &["backup", "renew", &retained_id, "--duration-days", "30"], &[&r]),
    ]);

    // Restores from the backup of a software instance.
    daemon.cli_json(&["instance", "create", "audit-soft", "--kind", "software", "--cluster", "hsm1"]);
    let ks = text(
        &daemon.cli_json(&["key", "create", "--instance", "audit-soft", "--key-spec", "AES_256"]),
        "KeyMetadata.KeyId",
    );
    daemon.cli_json(&[
        "secret",
        "create",
        "audit-db",
        "--instance",
        "audit-soft",
        "--version-id",
        "v1",
        "--secret-data",
        "audit restore value",
        "--encryption-key-id",
        &ks,
    ]);
    received.push(("a secret value restored from a backup", b"audit restore value".to_vec()));
    let soft_backup = text(
        &daemon.cli_json(&[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "software",
            "--viewable-days",
            "30",
            "--duration-days",
            "30",
        ]),
        "BackupId",
    );
    daemon.cli_json(&["backup", "enable", &soft_backup, "--instance", "audit-soft"]);
    let sb = format!("backup/{soft_backup}");
    let enabled_on = text(&daemon.cli_json(&["clock", "show"]), "Now")[..10].to_owned();
    daemon.cli_json(&["secret", "delete", "audit-db", "--force-delete-without-recovery"]);
    let (ksr, at) = (key(&ks), text(&daemon.cli_json(&["clock", "show"]), "Now"));
    let restore_secret = [
        "backup",
        "restore-secret",
        &soft_backup,
        "--date",
        &enabled_on,
        "--secret-name",
        "audit-db",
        "--to-instance",
        "audit-soft",
    ];
    let restore_key =
        ["backup", "restore-key", &soft_backup, "--at", &at, "--key-id", &ks, "--to-instance", "audit-soft"];
    audit.table(&[
        ok("RestoreBackupSecret", &restore_secret, &[&sb, "secret/audit-db", "instance/audit-soft"]),
        refused("RestoreBackupSecret", &restore_secret, &[&sb, "secret/audit-db"], "Rejected.ResourceExist"),
        refused("RestoreBackupKey", &restore_key, &[&sb, &ksr], "Rejected.ResourceExist"),
    ]);
    daemon.cli_json(&["secret", "delete", "audit-db", "--force-delete-without-recovery"]);
    daemon.cli_json(&["key", "schedule-deletion", &ks, "--pending-window-in-days", "7"]);
    daemon.cli_json(&["clock", "advance", "8d"]);
    audit.table(&[
        ok("RestoreBackupKey", &restore_key, &[&sb, &ksr, "instance/audit-soft"]),
        ok("DrillBackup", &["backup", "drill", &soft_backup], &[&sb]),
        refused(
            "DrillBackup",
            &["backup", "drill", "backup-nope"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);

    // A restore into another daemon, call by call (here into this one):
    // the ticket, the package, the import.
    let prepare = [
        "backup",
        "prepare-restore",
        "--to-instance",
        "audit-soft",
        "--secret-name",
        "audit-db",
        "--backup-kind",
        "software",
    ];
    let (ticket, _) = audit.run(&ok("PrepareRestore", &prepare, &["secret/audit-db", "instance/audit-soft"]));
    let export = [
        "backup",
        "export-item",
        &soft_backup,
        "--date",
        &enabled_on,
        "--secret-name",
        "audit-db",
        "--instance-kind",
        "software",
    ];
    let (package, _) = audit.run(&ok("ExportBackupItem", &export, &[&sb, "secret/audit-db"]));
    let package_file = work.join("audit-db.package");
    std::fs::write(&package_file, from_base64(&text(&package, "Package")).expect("base64")).expect("package written");
    let package_path = package_file.to_str().expect("utf-8").to_owned();
    let import = ["backup", "import-item", "--ticket", &text(&ticket, "Ticket"), "--package", &package_path];
    audit.table(&[
        ok("ImportBackupItem", &import, &["secret/audit-db", "instance/audit-soft"]),
        refused("ImportBackupItem", &import, &[], "InvalidParameter"),
        refused(
            "PrepareRestore",
            &["backup", "prepare-restore", "--to-instance", "audit-soft", "--key-id", &ks],
            &[&ksr, "instance/audit-soft"],
            "Rejected.ResourceExist",
        ),
        refused(
            "ExportBackupItem",
            &["backup", "export-item", &soft_backup, "--date", &enabled_on, "--key-id", &ks],
            &[&sb, &ksr],
            "InvalidParameter",
        ),
    ]);

    // Backup data files: downloaded, fetched, uploaded; their keys never in the trail.
    let bk = work.join("audit-soft.bk");
    let bk_path = bk.to_str().expect("utf-8").to_owned();
    let no_file = work.join("never.bk").to_str().expect("utf-8").to_owned();
    let download = ["backup", "download", &soft_backup, "--date", &enabled_on, "--output", &bk_path];
    let (downloaded, _) = audit.run(&ok("DownloadBackup", &download, &[&sb]));
    let file_key = text(&downloaded, "DecryptionKey");
    received.push(("a backup file's decryption key", from_base64(&file_key).expect("base64")));
    let early = ["backup", "download", &soft_backup, "--date", "2000-01-01", "--output", &no_file];
    audit.table(&[refused("DownloadBackup", &early, &[&sb], "InvalidParameter")]);
    let only = ["backup", "download", &soft_backup, "--date", &enabled_on, "--no-fetch"];
    let ready = daemon.cli_json(&only);
    received.push(("a second decryption key", from_base64(&text(&ready, "DecryptionKey")).expect("base64")));
    let download_id = text(&ready, "DownloadId");
    audit.table(&[
        refused("FetchBackupChunk", &["backup", "fetch-chunk", &download_id, "--index", "99"], &[], "InvalidParameter"),
        ok("FetchBackupChunk", &["backup", "fetch-chunk", &download_id, "--index", "0"], &[]),
    ]);
    let chunk_file = work.join("chunk");
    std::fs::write(&chunk_file, b"P11KMSBK").expect("chunk");
    let chunk = chunk_file.to_str().expect("utf-8");
    let upload_id = "5d0c3a4e-1f2b-4c6d-8e9f-0a1b2c3d4e5f";
    let wrong_key = to_base64(&[0x5a; 32]);
    audit.table(&[
        ok("UploadBackupChunk", &["backup", "upload-chunk", upload_id, "--index", "0", "--input", chunk], &[]),
        refused(
            "UploadBackupChunk",
            &["backup", "upload-chunk", "not-a-uuid", "--index", "0", "--input", chunk],
            &[],
            "InvalidParameter",
        ),
        refused(
            "UploadBackup",
            &["backup", "upload", "--input", &bk_path, "--decryption-key", &wrong_key, "--name", "audit-up"],
            &[],
            "InvalidParameter",
        ),
    ]);
    audit.run_naming(
        &ok(
            "UploadBackup",
            &["backup", "upload", "--input", &bk_path, "--decryption-key", &file_key, "--name", "audit-up"],
            &[],
        ),
        |reply| format!("backup/{}", text(reply, "BackupId")),
    );
}
