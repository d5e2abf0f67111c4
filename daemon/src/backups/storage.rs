//! Where backups keep their bytes, under `<state>/backups/`:
//!
//! * `objects/<2 hex>/<sha256 hex>`: content-addressed objects, one per
//!   snapshot of a key or a secret. An object is named by the SHA-256 of
//!   its bytes, so what did not change is never stored twice, whatever
//!   the number of points that name it; reading one checks its hash.
//! * `<backup id>/<seq>.json`: the manifest of each point, whose SHA-256
//!   the store keeps (`backup_points.sha256`) and which is checked before
//!   the manifest is used.
//!
//! Files are written to a temporary name and renamed, so a crash leaves a
//! whole file or none.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::kms::KmsError;

/// The backups' directory.
///
/// Objects are written without a sync each (a full of 10,000 keys would
/// wait for 20,000 of them); [`Storage::sync_objects`] makes them durable
/// at once before a manifest naming them is written, and a manifest is
/// synced before its point is recorded. An object found on disk is
/// trusted for skipping a write only once its bytes were checked against
/// its name in this run (a power cut may leave a renamed file without its
/// bytes), so a damaged one is written again.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    checked: std::sync::Mutex<std::collections::HashSet<String>>,
}

fn io(what: &str, path: &Path, error: std::io::Error) -> KmsError {
    KmsError::Internal(format!("backup storage: {what} {}: {error}", path.display()))
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `path` through a temporary name; with `sync`, made
/// durable before the rename.
fn write_atomically(path: &Path, bytes: &[u8], sync: bool) -> Result<(), KmsError> {
    let dir = path.parent().ok_or_else(|| KmsError::Internal("backup storage: a path without a folder".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    let temporary = path.with_extension("partial");
    let mut file = std::fs::File::create(&temporary).map_err(|e| io("creating", &temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| if sync { file.sync_all() } else { Ok(()) })
        .map_err(|e| io("writing", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io("renaming", &temporary, e))
}

impl Storage {
    /// The storage under `root` (made when first written).
    pub fn new(root: PathBuf) -> Self {
        Self { root, checked: std::sync::Mutex::new(std::collections::HashSet::new()) }
    }

    fn is_checked(&self, hash: &str) -> bool {
        self.checked.lock().is_ok_and(|c| c.contains(hash))
    }

    fn note_checked(&self, hash: &str) {
        if let Ok(mut checked) = self.checked.lock() {
            checked.insert(hash.to_owned());
        }
    }

    /// Makes every object written so far durable (one `syncfs` of the
    /// file system they are on).
    pub fn sync_objects(&self) -> Result<(), KmsError> {
        let dir = self.root.join("objects");
        let Ok(handle) = std::fs::File::open(&dir) else { return Ok(()) };
        use std::os::fd::AsRawFd as _;
        // SAFETY: a valid open descriptor for the call's duration.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io("syncing", &dir, std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// The backups' directory (`<state>/backups`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("00");
        self.root.join("objects").join(prefix).join(hash)
    }

    fn manifest_path(&self, backup_id: &str, seq: i64) -> PathBuf {
        self.root.join(backup_id).join(format!("{seq}.json"))
    }

    /// Stores an object; returns its name and the bytes it added (0 when
    /// it was there already).
    pub fn put_object(&self, bytes: &[u8]) -> Result<(String, u64), KmsError> {
        let hash = sha256_hex(bytes);
        let path = self.object_path(&hash);
        if self.is_checked(&hash) {
            return Ok((hash, 0));
        }
        if std::fs::read(&path).is_ok_and(|found| sha256_hex(&found) == hash) {
            self.note_checked(&hash);
            return Ok((hash, 0));
        }
        write_atomically(&path, bytes, false)?;
        self.note_checked(&hash);
        Ok((hash, bytes.len() as u64))
    }

    /// Reads an object, checking that its bytes are what its name says.
    pub fn object(&self, hash: &str) -> Result<Vec<u8>, KmsError> {
        let path = self.object_path(hash);
        let bytes = std::fs::read(&path).map_err(|e| io("reading", &path, e))?;
        if sha256_hex(&bytes) != hash {
            return Err(KmsError::Internal(format!(
                "backup object {hash} is damaged: its bytes do not hash to its name"
            )));
        }
        Ok(bytes)
    }

    /// Writes a point's manifest; returns its SHA-256.
    pub fn put_manifest(&self, backup_id: &str, seq: i64, bytes: &[u8]) -> Result<String, KmsError> {
        // The objects it names are durable before it is.
        self.sync_objects()?;
        write_atomically(&self.manifest_path(backup_id, seq), bytes, true)?;
        Ok(sha256_hex(bytes))
    }

    /// Reads a point's manifest, checking it against the SHA-256 recorded.
    pub fn manifest(&self, backup_id: &str, seq: i64, sha256: &str) -> Result<Vec<u8>, KmsError> {
        let path = self.manifest_path(backup_id, seq);
        let bytes = std::fs::read(&path).map_err(|e| io("reading", &path, e))?;
        if sha256_hex(&bytes) != sha256 {
            return Err(KmsError::Internal(format!(
                "the manifest of point {seq} of backup '{backup_id}' is damaged: its SHA-256 is not the one recorded"
            )));
        }
        Ok(bytes)
    }

    /// Deletes the manifests of a backup's points before `seq`.
    pub fn delete_manifests_before(&self, backup_id: &str, seq: i64) -> Result<(), KmsError> {
        let dir = self.root.join(backup_id);
        let Ok(files) = std::fs::read_dir(&dir) else { return Ok(()) };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let number = name.strip_suffix(".json").and_then(|n| n.parse::<i64>().ok());
            if number.is_some_and(|n| n < seq) {
                std::fs::remove_file(file.path()).map_err(|e| io("deleting", &file.path(), e))?;
            }
        }
        Ok(())
    }

    /// Deletes every manifest of a backup (its objects stay while other
    /// points name them; `collect` removes the others).
    pub fn delete_backup(&self, backup_id: &str) -> Result<(), KmsError> {
        let dir = self.root.join(backup_id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("deleting", &dir, e)),
        }
    }

    /// Deletes every object not in `kept`; returns the bytes freed.
    pub fn collect(&self, kept: &std::collections::HashSet<String>) -> Result<u64, KmsError> {
        let objects = self.root.join("objects");
        let Ok(prefixes) = std::fs::read_dir(&objects) else { return Ok(0) };
        let mut freed = 0;
        for prefix in prefixes.flatten() {
            let Ok(files) = std::fs::read_dir(prefix.path()) else { continue };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if !kept.contains(&name) {
                    if let Ok(mut checked) = self.checked.lock() {
                        checked.remove(&name);
                    }
                    freed += file.metadata().map(|m| m.len()).unwrap_or(0);
                    std::fs::remove_file(file.path()).map_err(|e| io("deleting", &file.path(), e))?;
                }
            }
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    #[test]
    fn objects_are_stored_once_and_checked_when_read() {
        let dir = tempfile::tempdir().expect("dir");
        let storage = Storage::new(dir.path().to_path_buf());
        let (hash, added) = storage.put_object(b"key snapshot").expect("stored");
        assert_eq!(added, 12);
        assert_eq!(storage.put_object(b"key snapshot").expect("stored").1, 0, "not stored twice");
        assert_eq!(storage.object(&hash).expect("read"), b"key snapshot");
        std::fs::write(storage.object_path(&hash), b"key snapshoT").expect("damaged");
        assert!(storage.object(&hash).is_err(), "a changed byte is found");
        let sha = storage.put_manifest("backup-1", 1, b"{}").expect("manifest");
        assert!(storage.manifest("backup-1", 1, &sha).is_ok());
        assert!(storage.manifest("backup-1", 1, &sha256_hex(b"other")).is_err());
        storage.delete_backup("backup-1").expect("deleted");
        assert!(storage.manifest("backup-1", 1, &sha).is_err());
        let freed = storage.collect(&std::collections::HashSet::new()).expect("collected");
        assert_eq!(freed, 12);
    }
}
