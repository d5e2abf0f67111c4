//! Files only the daemon may read: the token PINs of its cluster members
//! and the backup root key, generated here, stored in files of mode 0600
//! inside the 0700 `secrets/` directory, read into memory that is zeroized
//! when dropped, and never logged. (The KMS's secrets, the values
//! applications store, are not kept here.)

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::distr::{Alphanumeric, SampleString};
use zeroize::Zeroizing;

/// Writes a file readable only by its owner, replacing it atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    // The mode above only applies to a new file; make sure of it anyway.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// A random PIN of `len` letters and digits from the OS generator.
pub fn random_pin(len: usize) -> Zeroizing<String> {
    Zeroizing::new(Alphanumeric.sample_string(&mut rand::rng(), len))
}

/// The token PINs of one member, as files under `secrets/`.
#[derive(Clone, Debug)]
pub struct TokenPins {
    user: PathBuf,
    so: PathBuf,
}

impl TokenPins {
    /// The PIN files of `cluster`'s member `index`.
    pub fn new(secrets_dir: &Path, cluster: &str, index: u32) -> Self {
        Self {
            user: secrets_dir.join(format!("{cluster}-{index}.user-pin")),
            so: secrets_dir.join(format!("{cluster}-{index}.so-pin")),
        }
    }

    /// Generates and stores both PINs; returns (so, user).
    pub fn generate(&self) -> io::Result<(Zeroizing<String>, Zeroizing<String>)> {
        let so = random_pin(32);
        let user = random_pin(32);
        write_private(&self.so, so.as_bytes())?;
        write_private(&self.user, user.as_bytes())?;
        Ok((so, user))
    }

    /// Keeps a user PIN given from outside (a configured token's).
    pub fn store_user_pin(&self, pin: &str) -> io::Result<()> {
        write_private(&self.user, pin.as_bytes())
    }

    /// Reads the user PIN, refusing a file others could read.
    pub fn user_pin(&self) -> io::Result<Zeroizing<String>> {
        read_private(&self.user)
    }

    /// Removes both PIN files (of a token a failed change made and
    /// removed again); missing files are no error.
    pub fn remove(&self) -> io::Result<()> {
        for path in [&self.user, &self.so] {
            match fs::remove_file(path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The backup root key (AES-256): mirror images wrap key versions under
/// it, so that a cluster can be restored when all its members are gone.
/// Made on first use; kept as hex in `<secrets>/backup-root.key` (0600).
/// Losing it makes every image useless; anyone holding it and an image holds
/// the keys: keep a copy offline, apart from the images.
pub fn backup_root_key(secrets_dir: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    key_file(&secrets_dir.join("backup-root.key"))
}

/// A 256-bit key kept as hex in a private file, made (from the OS
/// generator) when the file does not exist yet.
pub fn key_file(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !path.exists() {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        let text = Zeroizing::new(hex::encode(&key[..]));
        write_private(path, text.as_bytes())?;
    }
    let text = read_private(path)?;
    let key = Zeroizing::new(hex::decode(text.as_bytes()).map_err(|_| io::Error::other(format!("{name} is not hex")))?);
    if key.len() != 32 {
        return Err(io::Error::other(format!("{name} is not 32 bytes")));
    }
    Ok(key)
}

/// Reads a secret file, refusing one whose mode lets others read it.
pub fn read_private(path: &Path) -> io::Result<Zeroizing<String>> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} has mode {:o}; secret files must be 0600", path.display(), mode & 0o777),
        ));
    }
    let text = Zeroizing::new(fs::read_to_string(path)?);
    Ok(Zeroizing::new(text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_stored_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pins = TokenPins::new(dir.path(), "hsm1", 0);
        let (so, user) = pins.generate().expect("generate");
        assert_eq!(user.len(), 32);
        assert_ne!(*so, *user);
        assert_eq!(*pins.user_pin().expect("read"), *user);
        let mode = fs::metadata(dir.path().join("hsm1-0.user-pin")).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_readable_secret_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pin");
        fs::write(&path, "1234").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_private(&path).expect_err("must refuse");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }
}
