//! `backup restore-key` and `backup restore-secret`: a key or secret as a
//! backup holds it at the end of a day (`--date`) or at any second
//! (`--at`, point in time), put back into an instance under its own id or
//! name: of this daemon (one call), or with `--to-socket DEST` of another
//! daemon, another region (`peer`: three calls, the key material crossing
//! wrapped for a one-time key of the destination's HSM).

use std::path::{Path, PathBuf};

use clap::Args;
use p11kms_proto::admin::{RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret, op};

use super::super::invocation::spinner;
use super::super::{Invocation, Outcome, RenderError, RequestError};
use super::peer::{PeerRestore, restore_into};
use super::restoring::{When, key_fields, secret_fields};
use crate::output::{self, Format};

/// A restore at `when` into the daemon at `to_socket`, of nothing yet.
fn peer<'a>(when: &When, to_socket: &'a Path, to_instance: &'a str, backup_id: &'a str) -> PeerRestore<'a> {
    PeerRestore {
        to_socket,
        to_instance,
        backup_id,
        date: when.date.clone(),
        at: when.at,
        key_id: None,
        secret_name: None,
    }
}

/// Runs the restore of `command` from the daemon at `socket` into the
/// one `peer` names; `pick` takes the key or secret from its reply.
fn run_restore<I: Invocation, T: serde::Serialize>(
    command: &I,
    socket: &Path,
    format: Format,
    peer: &PeerRestore<'_>,
    pick: impl FnOnce(p11kms_proto::admin::RestoredItem) -> Option<T>,
    fields: impl Fn(&T) -> String,
) -> Outcome {
    let spinner = spinner(command.waiting());
    let restored = restore_into(socket, peer);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let restored = pick(restored?)
        .ok_or_else(|| crate::Failure::from(RequestError::Invalid("the destination restored something else".into())))?;
    Ok((output::show(format, &restored, fields).map_err(RenderError::from)?, 0))
}

/// `backup restore-key BACKUP_ID (--date D | --at T) --key-id K
/// --to-instance I [--to-socket DEST]`.
#[derive(Debug, Args)]
pub struct RestoreBackupKeyArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    #[command(flatten)]
    when: When,
    /// The key's id.
    #[arg(long, value_name = "KEY_ID")]
    key_id: String,
    /// The instance it goes into (of the backup's kind).
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
    /// Admin socket of another p11kmsd (another region) whose instance gets the key; its material crosses wrapped for a one-time key of that daemon's HSM.
    #[arg(long, value_name = "PATH")]
    to_socket: Option<PathBuf>,
}

impl Invocation for RestoreBackupKeyArgs {
    type Op = op::RestoreBackupKey;

    fn request(&self) -> Result<RestoreKeyRequest, RequestError> {
        Ok(RestoreKeyRequest {
            backup_id: self.backup_id.clone(),
            date: self.when.date.clone(),
            at: self.when.at,
            key_id: self.key_id.clone(),
            to_instance: self.to_instance.clone(),
        })
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("restoring the key (its material into the HSMs)…")
    }

    fn render(&self, key: &RestoredKey, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, key_fields)?)
    }

    fn run_with(&self, socket: &Path, format: Format) -> Option<Outcome> {
        let peer = peer(&self.when, self.to_socket.as_deref()?, &self.to_instance, &self.backup_id);
        let peer = PeerRestore { key_id: Some(self.key_id.clone()), ..peer };
        Some(run_restore(self, socket, format, &peer, |r| r.key, key_fields))
    }
}

/// `backup restore-secret BACKUP_ID (--date D | --at T) --secret-name S
/// --to-instance I [--to-socket DEST]`.
#[derive(Debug, Args)]
pub struct RestoreBackupSecretArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    #[command(flatten)]
    when: When,
    /// The secret's name.
    #[arg(long, value_name = "NAME")]
    secret_name: String,
    /// The instance it goes into (its encrypting key must be there).
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
    /// Admin socket of another p11kmsd (another region) whose instance gets the secret (restore its key there first).
    #[arg(long, value_name = "PATH")]
    to_socket: Option<PathBuf>,
}

impl Invocation for RestoreBackupSecretArgs {
    type Op = op::RestoreBackupSecret;

    fn request(&self) -> Result<RestoreSecretRequest, RequestError> {
        Ok(RestoreSecretRequest {
            backup_id: self.backup_id.clone(),
            date: self.when.date.clone(),
            at: self.when.at,
            secret_name: self.secret_name.clone(),
            to_instance: self.to_instance.clone(),
        })
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("restoring the secret…")
    }

    fn render(&self, secret: &RestoredSecret, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, secret, secret_fields)?)
    }

    fn run_with(&self, socket: &Path, format: Format) -> Option<Outcome> {
        let peer = peer(&self.when, self.to_socket.as_deref()?, &self.to_instance, &self.backup_id);
        let peer = PeerRestore { secret_name: Some(self.secret_name.clone()), ..peer };
        Some(run_restore(self, socket, format, &peer, |r| r.secret, secret_fields))
    }
}
