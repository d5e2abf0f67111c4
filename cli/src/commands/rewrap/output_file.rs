//! The output file of a rewrap: written to a temporary file beside it,
//! readable by its owner only until it is complete, then renamed over it
//! with the permissions of the file it replaces (else the input's). A run
//! that stops leaves neither a half-written output nor its temporary file.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::RewrapError;

/// The output file: written to a temporary file beside it, then renamed
/// over it.
#[derive(Debug)]
pub(super) struct Output {
    path: PathBuf,
    tmp: PathBuf,
    permissions: Option<Permissions>,
}

impl Output {
    /// Picks the temporary file and checks, before any work, that it can
    /// be made. The result gets the permissions of the file it replaces,
    /// else those of the input.
    pub(super) fn prepare(path: &Path, input: &Path) -> Result<Self, RewrapError> {
        let error = |source| RewrapError::Output { path: path.to_owned(), source };
        let name = path.file_name().ok_or_else(|| {
            error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the output is not a file name"))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".rewrap-{}.tmp", std::process::id()));
        let permissions =
            std::fs::metadata(path).or_else(|_| std::fs::metadata(input)).ok().map(|meta| meta.permissions());
        let output = Self { path: path.to_owned(), tmp: dir.join(tmp_name), permissions };
        drop(output.create()?);
        Ok(output)
    }

    /// Creates the temporary file, new (never through an existing file or
    /// link) and readable by its owner only until it is complete. One left
    /// by a killed run of the same process id is removed first: its name
    /// is this process's, so nothing else uses it.
    fn create(&self) -> Result<TempFile, RewrapError> {
        let open = || OpenOptions::new().write(true).create_new(true).mode(0o600).open(&self.tmp);
        let file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&self.tmp).and_then(|()| open())
            }
            other => other,
        }
        .map_err(|source| RewrapError::Output { path: self.tmp.clone(), source })?;
        Ok(TempFile { path: self.tmp.clone(), file: Some(file) })
    }

    /// Writes the lines, each ending with a newline, and puts the file in
    /// place.
    pub(super) fn commit(self, lines: &[String]) -> Result<(), RewrapError> {
        let mut tmp = self.create()?;
        let error = |source| RewrapError::Output { path: self.tmp.clone(), source };
        let file = tmp.file.take().ok_or_else(|| error(std::io::ErrorKind::NotFound.into()))?;
        let mut writer = BufWriter::new(file);
        for line in lines {
            writer.write_all(line.as_bytes()).and_then(|()| writer.write_all(b"\n")).map_err(error)?;
        }
        let file = writer.into_inner().map_err(|e| error(e.into_error()))?;
        if let Some(permissions) = &self.permissions {
            file.set_permissions(permissions.clone()).map_err(error)?;
        }
        file.sync_all().map_err(error)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|source| RewrapError::Output { path: self.path.clone(), source })?;
        tmp.path = PathBuf::new();
        // The rename is durable once the directory is; a failure here
        // leaves the (complete) output in place.
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|dir| dir.sync_all());
        }
        Ok(())
    }
}

/// A temporary file removed when dropped, unless it was renamed (its path
/// emptied).
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
