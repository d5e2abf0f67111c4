//! Who is on the other end of a socket, from the kernel (`SO_PEERCRED`),
//! and whether they may use the admin socket.

use crate::admin::Role;
use crate::config::SocketsConfig;

/// Who is connected, as the kernel says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The peer process's uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
    /// Its pid, when the kernel gives one.
    pub pid: Option<i32>,
}

/// The peer of a connection as the kernel reports it.
pub fn peer_identity(stream: &tokio::net::UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    Ok(Peer { uid: cred.uid(), gid: cred.gid(), pid: cred.pid() })
}

/// Uids allowed on the admin socket: root, the daemon's own user (it owns
/// the state directory anyway) and `admin_uids` for everything;
/// `admin_read_only_uids` for reading.
#[derive(Clone, Debug)]
pub struct AdminPolicy {
    admins: Vec<u32>,
    readers: Vec<u32>,
}

impl AdminPolicy {
    /// The policy the configuration gives.
    pub fn new(config: &SocketsConfig) -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let own = unsafe { libc::geteuid() };
        let mut admins = vec![0, own];
        admins.extend_from_slice(&config.admin_uids);
        Self { admins, readers: config.admin_read_only_uids.clone() }
    }

    /// What `uid` may do on the admin socket; `None`: nothing.
    pub fn role(&self, uid: u32) -> Option<Role> {
        if self.admins.contains(&uid) {
            Some(Role::Admin)
        } else if self.readers.contains(&uid) {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_self_and_configured_uids_are_allowed() {
        let config = SocketsConfig {
            admin_uids: vec![4242],
            admin_read_only_uids: vec![4244, 4242],
            ..SocketsConfig::default()
        };
        let policy = AdminPolicy::new(&config);
        assert_eq!(policy.role(0), Some(Role::Admin));
        // SAFETY: as above.
        assert_eq!(policy.role(unsafe { libc::geteuid() }), Some(Role::Admin));
        assert_eq!(policy.role(4242), Some(Role::Admin), "an admin listed as a reader too stays an admin");
        assert_eq!(policy.role(4244), Some(Role::ReadOnly));
        assert_eq!(policy.role(4243), None);
    }
}
