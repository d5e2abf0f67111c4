//! Backup data files while they cross the admin socket, under
//! `<state>/backups/`: `exports/<download id>.bk` (a download made
//! ready, with `<download id>.json`: when it was made, which chunks were
//! fetched) and `uploads/<upload id>/<index>.chunk` (an upload's chunks,
//! with `touched`: when the last came). Files are mode 0600 in folders
//! mode 0700. A download goes once every chunk was fetched, an upload
//! once it was imported or refused; either, [`EXPIRY_SECONDS`] after it
//! was made (a download) or last touched (an upload), and every one when
//! the daemon starts.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::backup_file::TRANSFER_CHUNK_LEN;

use crate::kms::KmsError;

/// Seconds a download or an upload waits for its next call.
pub const EXPIRY_SECONDS: i64 = 600;

/// Most chunks of one upload (4 GiB).
pub const MAX_UPLOAD_CHUNKS: u32 = 4096;

/// Most uploads in progress at once.
pub const MAX_UPLOADS: usize = 16;

/// One transfer's bookkeeping at a time (fetches of one download may
/// come on several connections).
static LOCK: Mutex<()> = Mutex::new(());

/// A download's bookkeeping.
#[derive(Debug, Serialize, Deserialize)]
struct Export {
    created: i64,
    fetched: Vec<bool>,
}

/// The transfers' folders.
#[derive(Debug, Clone)]
pub struct Transfers {
    exports: PathBuf,
    uploads: PathBuf,
}

fn io(what: &str, path: &Path, error: std::io::Error) -> KmsError {
    KmsError::Internal(format!("backup transfer: {what} {}: {error}", path.display()))
}

fn folder(path: &Path) -> Result<(), KmsError> {
    DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(|e| io("creating", path, e))
}

/// Writes `bytes` to `path` (mode 0600) through a temporary name.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KmsError> {
    let temporary = path.with_extension("partial");
    let _ = std::fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|e| io("creating", &temporary, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| io("writing", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io("renaming", &temporary, e))
}

fn remove(path: &Path) {
    let _ = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
}

/// A download id as the daemon makes them (`download-` and 32 hex digits).
fn check_download_id(id: &str) -> Result<(), KmsError> {
    let hex = id.strip_prefix("download-").unwrap_or_default();
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(KmsError::NotFound { what: "backup download", name: id.to_owned() })
    }
}

/// An upload id: a UUID, named by its 32 hex digits.
fn upload_dir_name(id: &str) -> Result<String, KmsError> {
    uuid::Uuid::parse_str(id).map(|u| u.simple().to_string()).map_err(|_| {
        KmsError::InvalidParameter(format!("upload id '{id}' is not a UUID: choose a new random UUID per upload"))
    })
}

fn gone(id: &str) -> KmsError {
    KmsError::NotFound { what: "backup upload", name: format!("{id} (no chunk received, or it expired)") }
}

impl Transfers {
    /// The transfers of the backups under `root` (`<state>/backups`).
    pub fn new(root: &Path) -> Self {
        Self { exports: root.join("exports"), uploads: root.join("uploads") }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'static, ()>, KmsError> {
        LOCK.lock().map_err(|_| KmsError::Internal("backup transfers lock poisoned".into()))
    }

    /// Removes every transfer (at start: none outlives its daemon).
    pub fn clear(&self) {
        remove(&self.exports);
        remove(&self.uploads);
    }

    /// Removes the transfers that waited more than [`EXPIRY_SECONDS`].
    pub fn sweep(&self, now: Timestamp) {
        let Ok(_guard) = self.lock() else { return };
        let expired = |t: i64| now.unix() - t > EXPIRY_SECONDS;
        for entry in std::fs::read_dir(&self.exports).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let export = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Export>(&b).ok());
                if export.is_none_or(|e| expired(e.created)) {
                    remove(&path.with_extension("bk"));
                    remove(&path);
                }
            }
        }
        for entry in std::fs::read_dir(&self.uploads).into_iter().flatten().flatten() {
            let touched = std::fs::read_to_string(entry.path().join("touched")).ok();
            if touched.and_then(|t| t.trim().parse().ok()).is_none_or(expired) {
                remove(&entry.path());
            }
        }
    }

    /// Keeps a download's file; returns its id and its chunk count.
    pub fn put_export(&self, bytes: &[u8], now: Timestamp) -> Result<(String, u32), KmsError> {
        let _guard = self.lock()?;
        folder(&self.exports)?;
        let id = format!("download-{}", uuid::Uuid::new_v4().simple());
        let chunks = bytes.len().div_ceil(TRANSFER_CHUNK_LEN).max(1);
        let export = Export { created: now.unix(), fetched: vec![false; chunks] };
        let state = serde_json::to_vec(&export).map_err(|e| KmsError::Internal(e.to_string()))?;
        write_private(&self.exports.join(format!("{id}.bk")), bytes)?;
        write_private(&self.exports.join(format!("{id}.json")), &state)?;
        Ok((id, u32::try_from(chunks).unwrap_or(u32::MAX)))
    }

    /// Chunk `index` of download `id`, and whether it is its last; the
    /// download is removed once every chunk was fetched.
    pub fn fetch(&self, id: &str, index: u32) -> Result<(Vec<u8>, bool), KmsError> {
        check_download_id(id)?;
        let _guard = self.lock()?;
        let (data, state) = (self.exports.join(format!("{id}.bk")), self.exports.join(format!("{id}.json")));
        let not_found = || KmsError::NotFound {
            what: "backup download",
            name: format!("{id} (fully fetched, expired, or made before the daemon restarted)"),
        };
        let mut export: Export =
            std::fs::read(&state).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(not_found)?;
        let count = export.fetched.len();
        let slot = export.fetched.get_mut(index as usize).ok_or_else(|| {
            KmsError::InvalidParameter(format!("download {id} has {count} chunks: index {index} is not one"))
        })?;
        *slot = true;
        let bytes = std::fs::read(&data).map_err(|_| not_found())?;
        let start = index as usize * TRANSFER_CHUNK_LEN;
        let chunk = bytes.get(start..(start + TRANSFER_CHUNK_LEN).min(bytes.len())).unwrap_or_default().to_vec();
        if export.fetched.iter().all(|f| *f) {
            remove(&data);
            remove(&state);
        } else {
            let state_bytes = serde_json::to_vec(&export).map_err(|e| KmsError::Internal(e.to_string()))?;
            write_private(&state, &state_bytes)?;
        }
        Ok((chunk, index as usize + 1 == count))
    }

    /// Keeps chunk `index` of upload `id` (replacing one sent before);
    /// returns the chunks and bytes the upload holds.
    pub fn put_upload_chunk(&self, id: &str, index: u32, bytes: &[u8], now: Timestamp) -> Result<(u32, u64), KmsError> {
        let name = upload_dir_name(id)?;
        if bytes.len() > TRANSFER_CHUNK_LEN {
            return Err(KmsError::InvalidParameter(format!(
                "an upload chunk holds at most {TRANSFER_CHUNK_LEN} bytes; this one {}",
                bytes.len()
            )));
        }
        if index >= MAX_UPLOAD_CHUNKS {
            return Err(KmsError::LimitExceeded(format!(
                "an upload has at most {MAX_UPLOAD_CHUNKS} chunks of 1 MiB: index {index} is too far"
            )));
        }
        let _guard = self.lock()?;
        let dir = self.uploads.join(&name);
        if !dir.exists() {
            let open = std::fs::read_dir(&self.uploads).map(|d| d.count()).unwrap_or(0);
            if open >= MAX_UPLOADS {
                return Err(KmsError::LimitExceeded(format!(
                    "{open} uploads are in progress: finish one, or wait {EXPIRY_SECONDS} s for an idle one to expire"
                )));
            }
        }
        folder(&dir)?;
        write_private(&dir.join(format!("{index}.chunk")), bytes)?;
        write_private(&dir.join("touched"), now.unix().to_string().as_bytes())?;
        let (mut chunks, mut size) = (0, 0);
        for entry in std::fs::read_dir(&dir).map_err(|e| io("reading", &dir, e))?.flatten() {
            if entry.path().extension().is_some_and(|e| e == "chunk") {
                chunks += 1;
                size += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
        Ok((chunks, size))
    }

    /// The bytes of upload `id`: its chunks 0, 1, … in order, none missing.
    pub fn upload_bytes(&self, id: &str) -> Result<Vec<u8>, KmsError> {
        let name = upload_dir_name(id)?;
        let _guard = self.lock()?;
        let dir = self.uploads.join(name);
        let mut indices = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|_| gone(id))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "chunk") {
                let index = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u32>().ok());
                indices.push(index.ok_or_else(|| KmsError::Internal(format!("{} is not a chunk", path.display())))?);
            }
        }
        indices.sort_unstable();
        if indices.is_empty() {
            return Err(gone(id));
        }
        if let Some(missing) = (0..).zip(&indices).find(|(i, index)| i != *index).map(|(i, _)| i) {
            return Err(KmsError::InvalidParameter(format!(
                "upload {id} lacks chunk {missing}: it has {} chunks up to index {}",
                indices.len(),
                indices.last().copied().unwrap_or_default()
            )));
        }
        let mut bytes = Vec::new();
        for index in indices {
            let path = dir.join(format!("{index}.chunk"));
            bytes.extend(std::fs::read(&path).map_err(|e| io("reading", &path, e))?);
        }
        Ok(bytes)
    }

    /// Removes upload `id` (imported or refused).
    pub fn remove_upload(&self, id: &str) {
        if let (Ok(name), Ok(_guard)) = (upload_dir_name(id), self.lock()) {
            remove(&self.uploads.join(name));
        }
    }
}
