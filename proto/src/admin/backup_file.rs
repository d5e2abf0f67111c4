//! Backup data files (`backup download`, `backup upload`,
//! `docs/backup-files.md`): the requests and replies that carry one across
//! the admin socket in pieces, and the file's header, which the CLI reads
//! to refuse a file of another format early and the daemon authenticates.
//!
//! A file is its header, then the payload sealed with AES-256-GCM in
//! chunks of [`FileHeader::chunk_size`] bytes of plaintext, each chunk's
//! ciphertext followed by its 16-byte tag. The header layout (integers
//! big-endian):
//!
//! ```text
//! magic "P11KMSBK" (8) | format u16 | header length u32 | nonce prefix (8)
//! | chunk size u32 | chunk count u32 | payload length u64 | instance kind u8
//! | key count u32 | secret count u32 | material count u32 | as of i64
//! | key check (16) | date (10, YYYY-MM-DD) | backup id length u16 | backup id
//! ```

use serde::{Deserialize, Serialize};

use super::instance::InstanceKind;
use crate::SecretString;

/// The first bytes of every backup data file.
pub const MAGIC: &[u8; 8] = b"P11KMSBK";

/// The file format this version writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes of the header before the backup id.
pub const FIXED_HEADER_LEN: usize = 87;

/// Most bytes a transfer chunk carries over the admin socket (1 MiB).
pub const TRANSFER_CHUNK_LEN: usize = 1 << 20;

/// Bytes of a file's decryption key.
pub const DECRYPTION_KEY_LEN: usize = 32;

/// Parameters of `backup download BACKUP --date D`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadBackupRequest {
    /// The backup.
    pub backup_id: String,
    /// The day, `YYYY-MM-DD`: what the backup holds at its end.
    pub date: String,
}

/// A download made ready: the file waits in the daemon, to be fetched in
/// chunks. The decryption key is in this reply only: the daemon keeps no
/// copy of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDownload {
    /// The download, for `FetchBackupChunk`.
    pub download_id: String,
    /// The backup.
    pub backup_id: String,
    /// The day.
    pub date: String,
    /// Bytes of the file.
    pub size: u64,
    /// Chunks to fetch (indices from 0).
    pub chunk_count: u32,
    /// Keys in the file.
    pub key_count: u32,
    /// Secrets in the file.
    pub secret_count: u32,
    /// The file's decryption key (32 bytes, base64), shown once.
    pub decryption_key: SecretString,
}

/// Parameters of `backup fetch-chunk DOWNLOAD_ID --index N`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchBackupChunkRequest {
    /// The download.
    pub download_id: String,
    /// The chunk, from 0.
    pub index: u32,
}

/// One chunk of a download.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupChunk {
    /// The download.
    pub download_id: String,
    /// The chunk.
    pub index: u32,
    /// True for the last chunk.
    pub last: bool,
    /// Its bytes (at most 1 MiB).
    #[serde(with = "crate::bytes")]
    pub bytes: Vec<u8>,
}

/// Parameters of `backup upload-chunk UPLOAD_ID --index N --input FILE`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadBackupChunkRequest {
    /// The upload: a UUID the client chose.
    pub upload_id: String,
    /// The chunk, from 0 (sent again: replaced).
    pub index: u32,
    /// Its bytes (at most 1 MiB).
    #[serde(with = "crate::bytes")]
    pub bytes: Vec<u8>,
}

/// What an upload holds so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadedChunks {
    /// The upload.
    pub upload_id: String,
    /// Chunks received.
    pub chunk_count: u32,
    /// Bytes received.
    pub size: u64,
}

/// Parameters of `backup upload --input FILE --decryption-key KEY --name N`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadBackupRequest {
    /// The upload whose chunks make the file.
    pub upload_id: String,
    /// The file's decryption key (base64).
    pub decryption_key: SecretString,
    /// The new backup's name (its alias).
    pub name: String,
}

/// Why bytes are not a backup data file's header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Not a backup data file at all.
    #[error("not a p11kms backup data file (it does not begin with P11KMSBK)")]
    Magic,
    /// A format this version does not read.
    #[error("backup data file format {0}: this version reads format {FORMAT_VERSION}")]
    Version(u16),
    /// Too short, or its fields do not hold together.
    #[error("the backup data file's header is damaged or cut: {0}")]
    Malformed(&'static str),
}

/// A backup data file's header. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// The first 8 bytes of every chunk's nonce (the last 4: its index).
    pub nonce_prefix: [u8; 8],
    /// Plaintext bytes per chunk (the last may hold fewer).
    pub chunk_size: u32,
    /// Chunks in the file.
    pub chunk_count: u32,
    /// Bytes of the payload.
    pub payload_len: u64,
    /// The backed-up instance's kind.
    pub instance_kind: InstanceKind,
    /// Keys in the payload.
    pub key_count: u32,
    /// Secrets in the payload.
    pub secret_count: u32,
    /// Versions' material in the payload.
    pub material_count: u32,
    /// The second the data stands for (Unix seconds).
    pub as_of: i64,
    /// Tells the file's decryption key from another (a MAC of the prefix).
    pub key_check: [u8; 16],
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The backup downloaded.
    pub backup_id: String,
}

fn kind_byte(kind: InstanceKind) -> u8 {
    match kind {
        InstanceKind::Default => 0,
        InstanceKind::Software => 1,
        InstanceKind::Hardware => 2,
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderError> {
        if self.0.len() < n {
            return Err(HeaderError::Malformed("it is shorter than its header"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], HeaderError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

impl FileHeader {
    /// The header's bytes (authenticated by every chunk).
    pub fn encode(&self) -> Vec<u8> {
        let id = self.backup_id.as_bytes();
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + id.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        let len = u32::try_from(FIXED_HEADER_LEN + id.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix);
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.chunk_count.to_be_bytes());
        out.extend_from_slice(&self.payload_len.to_be_bytes());
        out.push(kind_byte(self.instance_kind));
        out.extend_from_slice(&self.key_count.to_be_bytes());
        out.extend_from_slice(&self.secret_count.to_be_bytes());
        out.extend_from_slice(&self.material_count.to_be_bytes());
        out.extend_from_slice(&self.as_of.to_be_bytes());
        out.extend_from_slice(&self.key_check);
        let mut date = [b' '; 10];
        let given = self.date.as_bytes();
        date[..given.len().min(10)].copy_from_slice(&given[..given.len().min(10)]);
        out.extend_from_slice(&date);
        out.extend_from_slice(&u16::try_from(id.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(id);
        out
    }

    /// Reads the header at the start of `bytes`; returns it and its length.
    /// Nothing here is authenticated yet: the chunks' tags do that.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), HeaderError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(HeaderError::Magic);
        }
        let mut r = Reader(&bytes[MAGIC.len()..]);
        let version = u16::from_be_bytes(r.array()?);
        if version != FORMAT_VERSION {
            return Err(HeaderError::Version(version));
        }
        let len = u32::from_be_bytes(r.array()?) as usize;
        let nonce_prefix = r.array()?;
        let chunk_size = u32::from_be_bytes(r.array()?);
        let chunk_count = u32::from_be_bytes(r.array()?);
        let payload_len = u64::from_be_bytes(r.array()?);
        let instance_kind = match r.array::<1>()?[0] {
            1 => InstanceKind::Software,
            2 => InstanceKind::Hardware,
            _ => return Err(HeaderError::Malformed("its instance kind is neither software nor hardware")),
        };
        let key_count = u32::from_be_bytes(r.array()?);
        let secret_count = u32::from_be_bytes(r.array()?);
        let material_count = u32::from_be_bytes(r.array()?);
        let as_of = i64::from_be_bytes(r.array()?);
        let key_check = r.array()?;
        let date = String::from_utf8(r.take(10)?.to_vec()).map_err(|_| HeaderError::Malformed("its date"))?;
        let id_len = usize::from(u16::from_be_bytes(r.array()?));
        let backup_id =
            String::from_utf8(r.take(id_len)?.to_vec()).map_err(|_| HeaderError::Malformed("its backup id"))?;
        if len != FIXED_HEADER_LEN + id_len {
            return Err(HeaderError::Malformed("its length field"));
        }
        if chunk_size == 0 || u64::from(chunk_count) != payload_len.div_ceil(u64::from(chunk_size)).max(1) {
            return Err(HeaderError::Malformed("its chunk count does not fit its length"));
        }
        let header = Self {
            nonce_prefix,
            chunk_size,
            chunk_count,
            payload_len,
            instance_kind,
            key_count,
            secret_count,
            material_count,
            as_of,
            key_check,
            date,
            backup_id,
        };
        Ok((header, len))
    }

    /// Bytes of the whole file this header announces.
    pub fn file_len(&self, header_len: usize) -> u64 {
        (header_len as u64).saturating_add(self.payload_len).saturating_add(u64::from(self.chunk_count) * 16)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    fn sample() -> FileHeader {
        FileHeader {
            nonce_prefix: [7; 8],
            chunk_size: 65_536,
            chunk_count: 2,
            payload_len: 70_000,
            instance_kind: InstanceKind::Software,
            key_count: 3,
            secret_count: 1,
            material_count: 4,
            as_of: 1_700_000_000,
            key_check: [9; 16],
            date: "2026-12-05".into(),
            backup_id: "backup-1".into(),
        }
    }

    #[test]
    fn a_header_reads_back_and_other_files_are_named() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), FIXED_HEADER_LEN + 8);
        assert_eq!(FileHeader::decode(&bytes).expect("decodes"), (sample(), bytes.len()));
        assert_eq!(FileHeader::decode(b"PK\x03\x04 a zip file"), Err(HeaderError::Magic));
        let mut other = bytes.clone();
        other[9] = 2;
        assert_eq!(FileHeader::decode(&other), Err(HeaderError::Version(2)));
        assert!(matches!(FileHeader::decode(&bytes[..40]), Err(HeaderError::Malformed(_))));
        let mut wrong_count = sample();
        wrong_count.chunk_count = 5;
        assert!(matches!(FileHeader::decode(&wrong_count.encode()), Err(HeaderError::Malformed(_))));
        assert_eq!(sample().file_len(bytes.len()), bytes.len() as u64 + 70_000 + 32);
    }
}
