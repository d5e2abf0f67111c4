//! Where the daemon's data socket is, and how long a call polls for the
//! daemon's reply before it sleeps.
//!
//! Order: `P11KMS_SOCKET` (the socket's path), else the TOML file named by
//! `P11KMS_CONFIG` (its `socket = "/path"` key), else
//! [`DEFAULT_SOCKET`]. The environment is read once, at `C_Initialize`;
//! [`resolve`] takes the values as arguments so the order can be tested
//! without touching the process environment.
//!
//! `P11KMS_SPIN_WAIT_US` (0 to 10000, default [`DEFAULT_SPIN_WAIT`]) sets
//! the poll; see `p11kms_proto::socket` for why polling pays.
//!
//! The config file may be the daemon's own (other keys are ignored). A
//! relative `socket` is taken relative to the file's directory, like a
//! config file's paths usually are.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the daemon listens when nothing says otherwise.
pub const DEFAULT_SOCKET: &str = "/var/lib/p11kms/data.sock";
/// Environment variable naming the socket.
pub const SOCKET_ENV: &str = "P11KMS_SOCKET";
/// Environment variable naming a config file.
pub const CONFIG_ENV: &str = "P11KMS_CONFIG";

/// Environment variable: microseconds a call polls for its reply.
pub const SPIN_WAIT_ENV: &str = "P11KMS_SPIN_WAIT_US";
/// The poll when nothing says otherwise: long enough for a signature on
/// a software token, short enough that a slow operation (an RSA key
/// generation) wastes little CPU before the thread sleeps.
pub const DEFAULT_SPIN_WAIT: Duration = Duration::from_micros(250);
/// The longest poll accepted.
const MAX_SPIN_WAIT_US: u64 = 10_000;

/// The config file named by `P11KMS_CONFIG` is unusable. A broken config
/// fails `C_Initialize`: guessing a socket would hide the mistake.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path} is not valid TOML: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// `socket` is there but not a string.
    #[error("{path}: `socket` must be a string")]
    SocketNotString {
        /// The file.
        path: PathBuf,
    },
    /// `P11KMS_SPIN_WAIT_US` is not a number from 0 to 10000.
    #[error("P11KMS_SPIN_WAIT_US must be a number of microseconds from 0 to 10000, not {0:?}")]
    SpinWait(OsString),
}

/// The socket path from the process environment.
pub fn socket_from_env() -> Result<PathBuf, ConfigError> {
    resolve(std::env::var_os(SOCKET_ENV), std::env::var_os(CONFIG_ENV))
}

/// The reply poll from the process environment.
pub fn spin_wait_from_env() -> Result<Duration, ConfigError> {
    spin_wait(std::env::var_os(SPIN_WAIT_ENV))
}

/// The reply poll from the value of `P11KMS_SPIN_WAIT_US` (empty counts
/// as unset).
pub fn spin_wait(value: Option<OsString>) -> Result<Duration, ConfigError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_SPIN_WAIT);
    };
    match value.to_str().and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(us) if us <= MAX_SPIN_WAIT_US => Ok(Duration::from_micros(us)),
        _ => Err(ConfigError::SpinWait(value)),
    }
}

/// The socket path from the values of `P11KMS_SOCKET` and `P11KMS_CONFIG`
/// (an empty value counts as unset, as shells make unsetting awkward).
pub fn resolve(socket: Option<OsString>, config: Option<OsString>) -> Result<PathBuf, ConfigError> {
    if let Some(socket) = socket.filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(socket));
    }
    if let Some(config) = config.filter(|c| !c.is_empty()) {
        if let Some(socket) = socket_from_file(Path::new(&config))? {
            return Ok(socket);
        }
    }
    Ok(PathBuf::from(DEFAULT_SOCKET))
}

/// The `socket` key of a config file, if it has one.
fn socket_from_file(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?;
    let Some(value) = table.get("socket") else {
        return Ok(None);
    };
    let socket = value.as_str().ok_or_else(|| ConfigError::SocketNotString { path: path.to_owned() })?;
    let socket = PathBuf::from(socket);
    if socket.is_relative() {
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        return Ok(Some(base.join(socket)));
    }
    Ok(Some(socket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::temp_dir;

    #[test]
    fn socket_variable_wins() {
        let dir = temp_dir("cfg");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "socket = \"/from/file\"\n").ok();
        let got = resolve(Some("/from/env".into()), Some(file.into_os_string()));
        assert_eq!(got.ok(), Some(PathBuf::from("/from/env")));
    }

    #[test]
    fn config_file_comes_next_and_other_keys_are_ignored() {
        let dir = temp_dir("cfg");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "region = \"eu\"\nsocket = \"/run/p11kms/data.sock\"\n[store]\nx = 1\n").ok();
        let got = resolve(Some("".into()), Some(file.into_os_string()));
        assert_eq!(got.ok(), Some(PathBuf::from("/run/p11kms/data.sock")));
    }

    #[test]
    fn relative_socket_is_relative_to_the_file() {
        let dir = temp_dir("cfg");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "socket = \"data.sock\"\n").ok();
        let got = resolve(None, Some(file.into_os_string()));
        assert_eq!(got.ok(), Some(dir.path().join("data.sock")));
    }

    #[test]
    fn default_when_nothing_is_set_or_the_file_has_no_socket() {
        assert_eq!(resolve(None, None).ok(), Some(PathBuf::from(DEFAULT_SOCKET)));
        let dir = temp_dir("cfg");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "region = \"eu\"\n").ok();
        assert_eq!(resolve(None, Some(file.into_os_string())).ok(), Some(PathBuf::from(DEFAULT_SOCKET)));
    }

    #[test]
    fn spin_wait_defaults_and_is_bounded() {
        assert_eq!(spin_wait(None).ok(), Some(DEFAULT_SPIN_WAIT));
        assert_eq!(spin_wait(Some("".into())).ok(), Some(DEFAULT_SPIN_WAIT));
        assert_eq!(spin_wait(Some("0".into())).ok(), Some(Duration::ZERO));
        assert_eq!(spin_wait(Some("10000".into())).ok(), Some(Duration::from_millis(10)));
        for bad in ["10001", "-1", "fast", "1.5"] {
            assert!(matches!(spin_wait(Some(bad.into())), Err(ConfigError::SpinWait(_))), "{bad}");
        }
    }

    #[test]
    fn broken_config_is_an_error() {
        let dir = temp_dir("cfg");
        let missing = dir.path().join("missing.toml");
        assert!(matches!(resolve(None, Some(missing.into_os_string())), Err(ConfigError::Read { .. })));
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "socket = \n").ok();
        assert!(matches!(resolve(None, Some(bad.clone().into_os_string())), Err(ConfigError::Parse { .. })));
        std::fs::write(&bad, "socket = 3\n").ok();
        assert!(matches!(resolve(None, Some(bad.into_os_string())), Err(ConfigError::SocketNotString { .. })));
    }
}
