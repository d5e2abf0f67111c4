//! Who is on the other end of a socket, from the kernel (`SO_PEERCRED`),
//! and whether they may use the admin socket.

/// The peer's uid and pid as the kernel reports them.
pub fn peer_identity(stream: &tokio::net::UnixStream) -> std::io::Result<(u32, Option<i32>)> {
    let cred = stream.peer_cred()?;
    Ok((cred.uid(), cred.pid()))
}

/// Uids allowed on the admin socket: root, the daemon's own user (it owns
/// the state directory anyway), and those the configuration lists.
#[derive(Clone, Debug)]
pub struct AdminPolicy {
    allowed: Vec<u32>,
}

impl AdminPolicy {
    /// The policy for a configured list.
    pub fn new(configured: &[u32]) -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let own = unsafe { libc::geteuid() };
        let mut allowed = vec![0, own];
        allowed.extend_from_slice(configured);
        allowed.sort_unstable();
        allowed.dedup();
        Self { allowed }
    }

    /// True when `uid` may administer the daemon.
    pub fn allows(&self, uid: u32) -> bool {
        self.allowed.contains(&uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_self_and_configured_uids_are_allowed() {
        let policy = AdminPolicy::new(&[4242]);
        assert!(policy.allows(0));
        // SAFETY: as above.
        assert!(policy.allows(unsafe { libc::geteuid() }));
        assert!(policy.allows(4242));
        assert!(!policy.allows(4243));
    }
}
