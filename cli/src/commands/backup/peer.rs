//! Restoring into another daemon (another region): the three operations
//! `backup restore-key … --to-socket DEST` composes, each with its own
//! command for a client of its own ([`restore_into`] runs them in turn):
//!
//! 1. `backup prepare-restore` at the destination (with the backup's kind
//!    from `backup describe` at the source): its checks, and a
//!    one-time ticket with, for a key, an RSA wrapping public key;
//! 2. `backup export-item` at the source: the key or secret as the backup
//!    holds it, its material wrapped for that public key inside the
//!    source's HSM;
//! 3. `backup import-item` at the destination: unwrapped into its cluster.
//!
//! The CLI only passes the ticket's public key and the package on; no key
//! material crosses in clear, and nothing of it is printed.

use std::path::{Path, PathBuf};

use clap::Args;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    BackupItemPackage, BackupRef, ExportBackupItemRequest, ImportBackupItemRequest, InstanceKind,
    PrepareRestoreRequest, RestoreTicket, RestoredItem, op,
};
use p11kms_proto::bytes::to_base64;

use super::super::crypto::export::public_key_der;
use super::super::values::named_value;
use super::super::{Invocation, RenderError, RequestError};
use super::lifecycle::BACKED_UP_KINDS;
use crate::Failure;
use crate::client;
use crate::output::{self, Fields, Format};

/// A key or a secret, one of them.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ItemArg {
    /// The key's id.
    #[arg(long, value_name = "KEY_ID")]
    key_id: Option<String>,
    /// The secret's name.
    #[arg(long, value_name = "NAME")]
    secret_name: Option<String>,
}

/// `backup prepare-restore --to-instance I (--key-id K | --secret-name S)`.
#[derive(Debug, Args)]
pub struct PrepareRestoreArgs {
    /// The instance of this daemon the key or secret goes into.
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
    #[command(flatten)]
    item: ItemArg,
    /// The kind of instance the backup is of (its `backup describe` at the source): refused at once when the instance is of another.
    #[arg(long, value_name = "KIND", value_parser = named_value(BACKED_UP_KINDS, InstanceKind::as_str))]
    backup_kind: Option<InstanceKind>,
}

impl Invocation for PrepareRestoreArgs {
    type Op = op::PrepareRestore;

    fn request(&self) -> Result<PrepareRestoreRequest, RequestError> {
        Ok(PrepareRestoreRequest {
            to_instance: self.to_instance.clone(),
            key_id: self.item.key_id.clone(),
            secret_name: self.item.secret_name.clone(),
            backup_kind: self.backup_kind,
        })
    }

    fn render(&self, ticket: &RestoreTicket, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, ticket, |t| {
            let mut text = Fields::new()
                .field("Ticket", &t.ticket)
                .field("Instance", &t.instance)
                .field("InstanceKind", t.instance_kind)
                .field("ExpiresAt", t.expires_at)
                .render();
            if let Some(der) = &t.wrapping_public_key {
                text.push_str(&pem(der));
            }
            text
        })?)
    }
}

/// A DER SubjectPublicKeyInfo as PEM.
fn pem(der: &[u8]) -> String {
    let body = to_base64(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// `backup export-item BACKUP_ID (--date D | --at T) (--key-id K |
/// --secret-name S) [--instance-kind K] [--wrapping-public-key FILE]`.
#[derive(Debug, Args)]
pub struct ExportBackupItemArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    #[command(flatten)]
    when: super::restoring::When,
    #[command(flatten)]
    item: ItemArg,
    /// The destination instance's kind, from the ticket (refused when the backup's differs).
    #[arg(long, value_name = "KIND", value_parser = named_value(BACKED_UP_KINDS, InstanceKind::as_str))]
    instance_kind: Option<InstanceKind>,
    /// The ticket's wrapping public key (PEM or DER), which a software backup's key material is wrapped for.
    #[arg(long, value_name = "PEM_OR_DER")]
    wrapping_public_key: Option<PathBuf>,
}

impl Invocation for ExportBackupItemArgs {
    type Op = op::ExportBackupItem;

    fn request(&self) -> Result<ExportBackupItemRequest, RequestError> {
        let wrapping_public_key = match &self.wrapping_public_key {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| RequestError::Read { path: path.clone(), source })?;
                Some(public_key_der(path, &bytes)?)
            }
            None => None,
        };
        Ok(ExportBackupItemRequest {
            backup_id: self.backup_id.clone(),
            date: self.when.date.clone(),
            at: self.when.at,
            key_id: self.item.key_id.clone(),
            secret_name: self.item.secret_name.clone(),
            instance_kind: self.instance_kind,
            wrapping_public_key,
        })
    }

    fn render(&self, package: &BackupItemPackage, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, package, |p| {
            Fields::new()
                .field("BackupId", &p.backup_id)
                .field("Item", &p.item)
                .field("AsOf", p.as_of)
                .field("VersionCount", p.version_count)
                .field("Package", to_base64(&p.package))
                .render()
        })?)
    }
}

/// `backup import-item --ticket T --package FILE`.
#[derive(Debug, Args)]
pub struct ImportBackupItemArgs {
    /// The ticket of `backup prepare-restore` (spent by this call).
    #[arg(long, value_name = "TICKET")]
    ticket: String,
    /// The package `backup export-item` made (its Package field, base64-decoded).
    #[arg(long, value_name = "FILE")]
    package: PathBuf,
}

impl Invocation for ImportBackupItemArgs {
    type Op = op::ImportBackupItem;

    fn request(&self) -> Result<ImportBackupItemRequest, RequestError> {
        let package =
            std::fs::read(&self.package).map_err(|source| RequestError::Read { path: self.package.clone(), source })?;
        Ok(ImportBackupItemRequest { ticket: self.ticket.clone(), package })
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("restoring (the material into the HSMs)…")
    }

    fn render(&self, restored: &RestoredItem, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, restored, |r| match (&r.key, &r.secret) {
            (Some(key), _) => super::restoring::key_fields(key),
            (None, Some(secret)) => super::restoring::secret_fields(secret),
            (None, None) => String::new(),
        })?)
    }
}

/// What a restore into another daemon restores, and as of when.
#[derive(Debug)]
pub struct PeerRestore<'a> {
    /// The destination's admin socket.
    pub to_socket: &'a Path,
    /// Its instance.
    pub to_instance: &'a str,
    /// The backup, at the source.
    pub backup_id: &'a str,
    /// The day, or
    pub date: Option<String>,
    /// the second.
    pub at: Option<Timestamp>,
    /// The key (or
    pub key_id: Option<String>,
    /// the secret).
    pub secret_name: Option<String>,
}

/// Runs the calls: the backup's kind at the source (`source`), prepare at
/// the destination, export at the source, import at the destination. A
/// ticket left unused by a refusal at the source expires at the
/// destination within 10 minutes, its key pair destroyed.
pub fn restore_into(source: &Path, restore: &PeerRestore<'_>) -> Result<RestoredItem, Failure> {
    let backup = client::call::<op::DescribeBackup>(source, &BackupRef { backup_id: restore.backup_id.to_owned() })?;
    let prepare = PrepareRestoreRequest {
        to_instance: restore.to_instance.to_owned(),
        key_id: restore.key_id.clone(),
        secret_name: restore.secret_name.clone(),
        backup_kind: Some(backup.instance_kind),
    };
    let ticket = client::call::<op::PrepareRestore>(restore.to_socket, &prepare)?;
    let export = ExportBackupItemRequest {
        backup_id: restore.backup_id.to_owned(),
        date: restore.date.clone(),
        at: restore.at,
        key_id: restore.key_id.clone(),
        secret_name: restore.secret_name.clone(),
        instance_kind: Some(ticket.instance_kind),
        wrapping_public_key: ticket.wrapping_public_key.clone(),
    };
    let package = client::call::<op::ExportBackupItem>(source, &export)?;
    let import = ImportBackupItemRequest { ticket: ticket.ticket, package: package.package };
    Ok(client::call::<op::ImportBackupItem>(restore.to_socket, &import)?)
}
