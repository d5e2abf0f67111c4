//! The state directory's layout, in one place.
//!
//! ```text
//! <state>/                 0711: sockets reachable by name, nothing listable
//!   p11kms.db              metadata and journal (SQLite, 0600)
//!   p11kmsd.lock           held while a daemon runs on this directory
//!   data.sock admin.sock   default socket paths
//!   test-clock             the test clock's time, when the daemon runs on it
//!   secrets/               0700: token PINs and root keys, one file each, 0600
//!   audit/                 0700: the audit trail, one file a day (YYYY-MM-DD.jsonl, 0600)
//!   clusters/<name>/       one SoftHSM library instance per cluster:
//!     softhsm2.conf        its configuration
//!     tokens/              its token directory (all members of the cluster)
//!     lib/libsofthsm2.so   its private copy of the library
//! ```

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Paths inside one state directory.
#[derive(Clone, Debug)]
pub struct StatePaths {
    root: PathBuf,
}

impl StatePaths {
    /// Where the test clock keeps its time across restarts.
    pub fn test_clock(&self) -> PathBuf {
        self.root.join("test-clock")
    }

    /// Layout rooted at `root` (made absolute so sockets and SoftHSM
    /// configurations never depend on the working directory).
    pub fn new(root: &Path) -> io::Result<Self> {
        let root = if root.is_absolute() { root.to_owned() } else { std::env::current_dir()?.join(root) };
        Ok(Self { root })
    }

    /// Creates the directories that must exist, with private modes.
    pub fn create(&self) -> io::Result<()> {
        // The root is 0711: others may reach the sockets inside it by name
        // (their own modes decide who connects) but not list or read it.
        // Everything secret sits in 0700 directories or 0600 files below.
        create_dir_with_mode(&self.root, 0o711)?;
        create_private_dir(&self.secrets_dir())?;
        create_private_dir(&self.audit_dir())?;
        create_private_dir(&self.root.join("clusters"))?;
        Ok(())
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Instance backups' objects and manifests (`backups::storage`).
    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// The audit trail's files.
    pub fn audit_dir(&self) -> PathBuf {
        self.root.join("audit")
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("p11kms.db")
    }

    /// The lock file that keeps a second daemon off this directory.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("p11kmsd.lock")
    }

    /// Default data socket.
    pub fn data_socket(&self) -> PathBuf {
        self.root.join("data.sock")
    }

    /// Default admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.root.join("admin.sock")
    }

    /// Directory of secret files.
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }

    /// A cluster's directory.
    pub fn cluster_dir(&self, cluster: &str) -> PathBuf {
        self.root.join("clusters").join(cluster)
    }
}

/// Creates a directory (and parents) with mode 0700, and tightens the mode
/// of one that already exists.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    create_dir_with_mode(path, 0o700)
}

fn create_dir_with_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StatePaths::new(&dir.path().join("state")).expect("paths");
        paths.create().expect("create");
        for (path, expected) in [(paths.root().to_owned(), 0o711), (paths.secrets_dir(), 0o700)] {
            let mode = fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, expected, "{}", path.display());
        }
        assert!(paths.database().starts_with(paths.root()));
    }
}
