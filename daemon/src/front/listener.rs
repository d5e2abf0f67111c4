//! Binding the sockets and running the accept loops until a shutdown
//! signal, then waiting for connections to finish.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::Semaphore;

use super::peer::{Peer, peer_identity};
use super::shutdown::{ConnectionGuard, Shutdown};
use super::{admin_connection, data_connection};
use crate::service::Service;

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

    let background = tokio::spawn(crate::background::run(service.clone(), shutdown.subscribe()));
    let data_loop = accept(service.clone(), data, shutdown.clone(), "p11kms-data", data_connection::serve);
    let admin_loop = accept(service.clone(), admin, shutdown.clone(), "p11kms-admin", admin_connection::serve);
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
    for path in [&sockets.data, &sockets.admin] {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("p11kmsd stopped");
    result
}

/// Waits after a failed accept (out of file descriptors, ...) before
/// trying again, as mini-redis does.
async fn backoff(error: io::Error, attempt: &mut u32) {
    tracing::error!(%error, "accept failed");
    *attempt = (*attempt + 1).min(6);
    tokio::time::sleep(Duration::from_millis(10 << *attempt)).await;
}

/// What serves one accepted connection, on its own thread.
type ServeConnection = fn(Arc<Service>, std::os::unix::net::UnixStream, Peer, ConnectionGuard);

/// Accepts connections on one socket until the listener fails: at most
/// `sockets.max_connections` at once (more wait to be accepted), each on
/// an OS thread of its own that runs `serve` with the peer the kernel
/// names. The thread blocks in its reads; shutdown wakes it by shutting
/// the stream's reading half.
async fn accept(
    service: Arc<Service>,
    listener: UnixListener,
    shutdown: Shutdown,
    thread: &'static str,
    serve: ServeConnection,
) -> io::Result<()> {
    let limit = Arc::new(Semaphore::new(service.config.sockets.max_connections));
    let mut failures = 0;
    loop {
        let permit = limit.clone().acquire_owned().await.map_err(io::Error::other)?;
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                backoff(error, &mut failures).await;
                continue;
            }
        };
        failures = 0;
        let peer = match peer_identity(&stream) {
            Ok(peer) => peer,
            Err(error) => {
                tracing::warn!(%error, "cannot read peer credentials; closing");
                continue;
            }
        };
        let stream = stream.into_std()?;
        stream.set_nonblocking(false)?;
        let guard = shutdown.guard_blocking(stream.try_clone()?);
        let service = service.clone();
        std::thread::Builder::new().name(thread.into()).spawn(move || {
            serve(service, stream, peer, guard);
            drop(permit);
        })?;
    }
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
