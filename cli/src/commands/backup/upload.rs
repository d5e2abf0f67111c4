//! `backup upload --input FILE --decryption-key KEY --name NAME`: a backup
//! data file (`backup download`'s) made a backup of type `upload`. The
//! command reads the file's header first (a file of another kind or
//! format is refused here, with its reason), sends the file in chunks of
//! at most 1 MiB under an upload id of its own (UploadBackupChunk), then
//! asks the daemon to check it whole and import it (UploadBackup).
//! `backup upload-chunk` sends one chunk, for a client of its own.

use std::path::{Path, PathBuf};

use clap::Args;

use p11kms_proto::SecretString;
use p11kms_proto::admin::backup_file::{FileHeader, TRANSFER_CHUNK_LEN};
use p11kms_proto::admin::{BackupInfo, UploadBackupChunkRequest, UploadBackupRequest, UploadedChunks, op};

use super::super::{Invocation, Outcome, RenderError, RequestError, Run};
use super::description::fields;
use super::download::progress_bar;
use crate::client::Client;
use crate::output::{self, Fields, Format};

/// `backup upload --input FILE --decryption-key KEY --name NAME`.
#[derive(Debug, Args)]
pub struct UploadBackupArgs {
    /// The backup data file.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Its decryption key, as `backup download` printed it (base64). A
    /// command line shows in the process list: `--decryption-key-file` keeps
    /// it out.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "decryption_key_file",
        conflicts_with = "decryption_key_file"
    )]
    decryption_key: Option<String>,
    /// A file holding the decryption key (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    decryption_key_file: Option<PathBuf>,
    /// The new backup's name (its alias), 1 to 64 characters.
    #[arg(long, value_name = "NAME")]
    name: String,
}

/// A random UUID (version 4), for an upload's id.
fn new_upload_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

impl UploadBackupArgs {
    /// The decryption key, from the command line or its file (surrounding
    /// white space dropped: a file ends with a newline).
    fn key(&self) -> Result<SecretString, RequestError> {
        let text = match (&self.decryption_key, &self.decryption_key_file) {
            (Some(key), _) => key.clone(),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|source| RequestError::Read { path: path.clone(), source })?;
                text
            }
            (None, Some(path)) => {
                std::fs::read_to_string(path).map_err(|source| RequestError::Read { path: path.clone(), source })?
            }
            (None, None) => return Err(RequestError::Invalid("give --decryption-key or --decryption-key-file".into())),
        };
        Ok(SecretString::new(zeroize::Zeroizing::new(text).trim().to_owned()))
    }

    fn upload(&self, socket: &Path, format: Format) -> Outcome {
        let decryption_key = self.key()?;
        let bytes =
            std::fs::read(&self.input).map_err(|source| RequestError::Read { path: self.input.clone(), source })?;
        FileHeader::decode(&bytes)
            .map_err(|e| RequestError::Invalid(format!("{} is refused: {e}", self.input.display())))?;
        let upload_id = new_upload_id();
        let mut client = Client::connect(socket)?;
        let bar = progress_bar(bytes.len() as u64, format, "uploading");
        for (index, chunk) in bytes.chunks(TRANSFER_CHUNK_LEN).enumerate() {
            let request = UploadBackupChunkRequest {
                upload_id: upload_id.clone(),
                index: u32::try_from(index).unwrap_or(u32::MAX),
                bytes: chunk.to_vec(),
            };
            let sent = client.call::<op::UploadBackupChunk>(&request);
            if let Err(error) = sent {
                bar.finish_and_clear();
                return Err(error.into());
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let request = UploadBackupRequest { upload_id, decryption_key, name: self.name.clone() };
        let info = client.call::<op::UploadBackup>(&request)?;
        Ok((render(&info, format)?, 0))
    }
}

fn render(info: &BackupInfo, format: Format) -> Result<String, RenderError> {
    Ok(output::show(format, info, fields)?)
}

impl Run for UploadBackupArgs {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        self.upload(socket, format)
    }

    #[cfg(test)]
    fn leaves() -> Vec<super::super::Leaf> {
        vec![super::super::Leaf::of::<op::UploadBackup>(<op::UploadBackup as p11kms_proto::admin::Operation>::COMMAND)]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

/// `backup upload-chunk UPLOAD_ID --index N --input FILE`.
#[derive(Debug, Args)]
pub struct UploadBackupChunkArgs {
    /// The upload's id: a UUID the client chooses, the same for every chunk.
    #[arg(value_name = "UPLOAD_ID")]
    upload_id: String,
    /// The chunk, from 0.
    #[arg(long, value_name = "N")]
    index: u32,
    /// A file holding the chunk's bytes (at most 1 MiB).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
}

impl Invocation for UploadBackupChunkArgs {
    type Op = op::UploadBackupChunk;

    fn request(&self) -> Result<UploadBackupChunkRequest, RequestError> {
        let bytes =
            std::fs::read(&self.input).map_err(|source| RequestError::Read { path: self.input.clone(), source })?;
        Ok(UploadBackupChunkRequest { upload_id: self.upload_id.clone(), index: self.index, bytes })
    }

    fn render(&self, uploaded: &UploadedChunks, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, uploaded, |u| {
            Fields::new()
                .field("UploadId", &u.upload_id)
                .field("ChunkCount", u.chunk_count)
                .field("Size", u.size)
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::super::super::test_support::{parsed, refused, request, temp_dir};
    use super::*;

    #[test]
    fn upload_ids_are_uuids_and_chunks_are_read_from_files() {
        let id = new_upload_id();
        assert_eq!((id.len(), id.as_bytes()[14]), (36, b'4'));
        assert_ne!(id, new_upload_id());
        let dir = temp_dir();
        let path = dir.path().join("chunk");
        std::fs::write(&path, b"bytes").expect("written");
        assert_eq!(
            request::<UploadBackupChunkArgs>(&[
                "backup",
                "upload-chunk",
                &id,
                "--index",
                "1",
                "--input",
                path.to_str().unwrap()
            ]),
            UploadBackupChunkRequest { upload_id: id.clone(), index: 1, bytes: b"bytes".to_vec() }
        );
        refused(&["backup", "upload", "--input", "f", "--name", "n"]);
        refused(&[
            "backup",
            "upload",
            "--input",
            "f",
            "--decryption-key",
            "k",
            "--decryption-key-file",
            "g",
            "--name",
            "n",
        ]);
    }

    #[test]
    fn the_key_comes_from_its_file_without_its_newline() {
        let dir = temp_dir();
        let path = dir.path().join("key");
        std::fs::write(&path, "3q2+7w==\n").expect("written");
        let args: UploadBackupArgs = parsed(&[
            "backup",
            "upload",
            "--input",
            "f",
            "--decryption-key-file",
            path.to_str().unwrap(),
            "--name",
            "n",
        ]);
        assert_eq!(args.key().expect("read").expose(), "3q2+7w==");
    }

    #[test]
    fn a_file_of_another_kind_is_refused_before_anything_is_sent() {
        let dir = temp_dir();
        let path = dir.path().join("not.bk");
        std::fs::write(&path, b"PK\x03\x04 a zip file").expect("written");
        let args: UploadBackupArgs =
            parsed(&["backup", "upload", "--input", path.to_str().unwrap(), "--decryption-key", "AAAA", "--name", "n"]);
        let error = args.run(&dir.path().join("no.sock"), Format::Human).expect_err("refused");
        assert!(error.to_string().contains("not a p11kms backup data file"), "{error}");
    }
}
