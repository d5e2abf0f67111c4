//! Binding the sockets and running the accept loops until a shutdown
//! signal, then waiting for connections to finish.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;

use super::accept::{Acceptor, open_file_limit};
use super::admission::{Admission, Caps};
use super::connection::Limits;
use super::shutdown::Shutdown;
use super::{admin_connection, data_connection};
use crate::config::SocketsConfig;
use crate::service::Service;

/// Descriptors the daemon needs beside its connections: its store, logs,
/// HSM token files, mirror images.
const OWN_DESCRIPTORS: u64 = 256;

/// How long shutdown waits for connections to finish their request.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the two sockets live.
#[derive(Clone, Debug)]
pub struct Sockets {
    /// Data socket.
    pub data: PathBuf,
    /// Admin socket.
    pub admin: PathBuf,
}

impl Sockets {
    /// The configured paths, or the state directory's defaults.
    pub fn of(service: &Service) -> Self {
        let sockets = &service.config.sockets;
        Self {
            data: sockets.data.clone().unwrap_or_else(|| service.paths.data_socket()),
            admin: sockets.admin.clone().unwrap_or_else(|| service.paths.admin_socket()),
        }
    }
}

/// Binds a socket at `path` with `mode`, replacing a stale socket file (the
/// state-directory lock proves no other daemon owns it).
fn bind(path: &Path, mode: u32, group: Option<u32>) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(listener)
}

/// The gid of a group given by name or number.
fn resolve_group(group: &str) -> io::Result<u32> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    let name = std::ffi::CString::new(group).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group name"))?;
    // SAFETY: `libc::group` is plain old data; all-zero is a valid value.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, correctly sized memory owned by
    // this function; getgrnam_r writes only inside `entry` and `buffer`.
    let rc = unsafe { libc::getgrnam_r(name.as_ptr(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("no group named '{group}'")));
    }
    Ok(entry.gr_gid)
}

/// Warns when the open-file limit cannot hold the connections the caps
/// allow (two descriptors each: the stream, and the copy shutdown uses to
/// wake its thread): the connections beyond it would be refused for want
/// of descriptors instead of by a cap.
fn warn_if_descriptors_are_short(config: &SocketsConfig) {
    let connections = (config.max_connections as u64).saturating_add(config.admin_max_connections as u64);
    let wanted = connections.saturating_mul(2).saturating_add(OWN_DESCRIPTORS);
    if let Some(limit) = open_file_limit().filter(|limit| *limit < wanted) {
        tracing::warn!(
            limit,
            wanted,
            "the open-file limit is below 2 × (sockets.max_connections + sockets.admin_max_connections) + \
             {OWN_DESCRIPTORS}: raise it (LimitNOFILE) or lower the caps"
        );
    }
}

/// Serves both sockets until `signal` completes, then shuts down
/// gracefully: stop accepting, let connections finish their request,
/// remove the socket files.
pub async fn serve(service: Arc<Service>, signal: impl Future<Output = ()>) -> io::Result<()> {
    let sockets = Sockets::of(&service);
    let config = &service.config.sockets;
    let group = config.data_group.as_deref().map(resolve_group).transpose()?;
    let data = bind(&sockets.data, config.data_mode, group)?;
    // The admin socket is 0600 unless an admin group is named: the mode is
    // the first gate, the peer-uid check the second.
    let admin_group = config.admin_group.as_deref().map(resolve_group).transpose()?;
    let admin_mode = if admin_group.is_some() { 0o660 } else { 0o600 };
    let admin = bind(&sockets.admin, admin_mode, admin_group)?;
    let (shutdown, mut done) = Shutdown::new();
    tracing::info!(data = %sockets.data.display(), admin = %sockets.admin.display(), "p11kmsd ready");

    warn_if_descriptors_are_short(config);
    // One set of limits, and one budget of unsent replies, for both sockets.
    let limits = Limits::of(config);

    let background = tokio::spawn(crate::background::run(service.clone(), shutdown.subscribe()));
    let audit_flush = tokio::spawn(crate::background::flush_audit(service.clone(), shutdown.subscribe()));
    let data_loop = Acceptor {
        service: service.clone(),
        shutdown: shutdown.clone(),
        admission: Admission::new("data", Caps::data(config)),
        limits: limits.clone(),
        thread: "p11kms-data",
        serve: data_connection::serve,
    }
    .run(data);
    let admin_loop = Acceptor {
        service: service.clone(),
        shutdown: shutdown.clone(),
        admission: Admission::new("admin", Caps::admin(config)),
        limits,
        thread: "p11kms-admin",
        serve: admin_connection::serve,
    }
    .run(admin);
    let result = tokio::select! {
        result = data_loop => result,
        result = admin_loop => result,
        () = signal => {
            tracing::info!("shutdown requested");
            Ok(())
        }
    };
    shutdown.trigger();
    shutdown.into_waiting();
    let _ = background.await;
    if tokio::time::timeout(DRAIN_TIMEOUT, done.recv()).await.is_err() {
        tracing::warn!("connections still busy after {DRAIN_TIMEOUT:?}; exiting anyway");
    }
    // The last key uses counted, once no connection adds more.
    let _ = audit_flush.await;
    service.audit.flush(&service.kms.store);
    for path in [&sockets.data, &sockets.admin] {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("p11kmsd stopped");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_resolve_by_number_and_name() {
        assert_eq!(resolve_group("1234").expect("numeric"), 1234);
        assert_eq!(resolve_group("root").expect("root group exists"), 0);
        assert!(resolve_group("no-such-group-p11kms").is_err());
    }
}
