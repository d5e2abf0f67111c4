//! Data-plane clients: one per loaded copy of `libp11kms.so` (its client
//! id), with the slots it is logged in to. All connections of a client
//! share its logins, as all sessions of a PKCS#11 application do; the
//! logins end when the client's last connection closes.

use std::collections::HashMap;
use std::sync::Mutex;

use cryptoki_sys::{CK_RV, CKR_GENERAL_ERROR, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN};

use p11kms_proto::data::ClientId;

#[derive(Debug)]
struct ClientState {
    uid: u32,
    connections: usize,
    logins: HashMap<u64, String>,
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct Clients {
    inner: Mutex<HashMap<ClientId, ClientState>>,
}

impl Clients {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<ClientId, ClientState>) -> T) -> T {
        match self.inner.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A connection of `id` from a process of `uid` said hello. A client id
    /// already used by another user is refused: ids are not credentials,
    /// but they must not let one user ride on another's login.
    pub fn attach(&self, id: ClientId, uid: u32) -> Result<(), CK_RV> {
        self.with(|clients| {
            let state = clients.entry(id).or_insert(ClientState { uid, connections: 0, logins: HashMap::new() });
            if state.uid != uid {
                return Err(CKR_GENERAL_ERROR);
            }
            state.connections += 1;
            Ok(())
        })
    }

    /// A connection of `id` closed.
    pub fn detach(&self, id: &ClientId) {
        self.with(|clients| {
            if let Some(state) = clients.get_mut(id) {
                state.connections = state.connections.saturating_sub(1);
                if state.connections == 0 {
                    clients.remove(id);
                }
            }
        });
    }

    /// Records a login of `app` to `slot`.
    pub fn login(&self, id: &ClientId, slot: u64, app: String) -> Result<(), CK_RV> {
        self.with(|clients| {
            let state = clients.get_mut(id).ok_or(CKR_GENERAL_ERROR)?;
            if state.logins.contains_key(&slot) {
                return Err(CKR_USER_ALREADY_LOGGED_IN);
            }
            state.logins.insert(slot, app);
            Ok(())
        })
    }

    /// True when the client is logged in to `slot`.
    pub fn is_logged_in(&self, id: &ClientId, slot: u64) -> bool {
        self.with(|clients| clients.get(id).is_some_and(|s| s.logins.contains_key(&slot)))
    }

    /// The app logged in to `slot`, if any.
    pub fn app(&self, id: &ClientId, slot: u64) -> Option<String> {
        self.with(|clients| clients.get(id).and_then(|s| s.logins.get(&slot).cloned()))
    }

    /// Ends a login.
    pub fn logout(&self, id: &ClientId, slot: u64) -> Result<(), CK_RV> {
        self.with(|clients| {
            let state = clients.get_mut(id).ok_or(CKR_GENERAL_ERROR)?;
            state.logins.remove(&slot).map(|_| ()).ok_or(CKR_USER_NOT_LOGGED_IN)
        })
    }

    /// Ends every login of a deleted app.
    pub fn forget_app(&self, app: &str) {
        self.with(|clients| {
            for state in clients.values_mut() {
                state.logins.retain(|_, name| name != app);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_shared_by_connections_and_end_with_the_last() {
        let clients = Clients::default();
        let id = [7; 16];
        clients.attach(id, 1000).expect("first connection");
        clients.attach(id, 1000).expect("second connection");
        assert_eq!(clients.attach(id, 1001), Err(CKR_GENERAL_ERROR), "another user may not share the id");
        clients.login(&id, 0, "web".into()).expect("login");
        assert_eq!(clients.login(&id, 0, "web".into()), Err(CKR_USER_ALREADY_LOGGED_IN));
        clients.detach(&id);
        assert_eq!(clients.app(&id, 0).as_deref(), Some("web"), "one connection is still open");
        clients.detach(&id);
        assert!(!clients.is_logged_in(&id, 0));
    }

    #[test]
    fn deleting_an_app_logs_it_out() {
        let clients = Clients::default();
        let id = [1; 16];
        clients.attach(id, 0).expect("attach");
        clients.login(&id, 3, "web".into()).expect("login");
        clients.forget_app("web");
        assert_eq!(clients.logout(&id, 3), Err(CKR_USER_NOT_LOGGED_IN));
    }
}
