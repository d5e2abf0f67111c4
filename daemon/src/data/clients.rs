//! Data-plane clients: one per loaded copy of `libp11kms.so` (its client
//! id), with the slots it is logged in to. All connections of a client
//! share its logins, as all sessions of a PKCS#11 application do; the
//! logins end when the client's last connection closes. The client's
//! session objects (created with `CKA_TOKEN` false) live here too and go
//! with it; the module destroys them earlier when their session closes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cryptoki_sys::{
    CKR_DEVICE_MEMORY, CKR_GENERAL_ERROR, CKR_OBJECT_HANDLE_INVALID, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
};

use p11kms_proto::data::ClientId;
use p11kms_proto::pkcs11::ObjectId;

use super::created::{CreatedObject, session_object_id};
use super::error::{DataError, rv};
use super::session_key::SessionKey;

/// Most session objects one client may hold at once.
pub const MAX_SESSION_OBJECTS: usize = 10_000;

/// How many bytes of session objects clients may hold: per peer uid and in
/// all (`[objects]` in the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionBudget {
    /// Bytes the clients of one uid may hold together.
    pub per_uid: usize,
    /// Bytes all clients may hold together.
    pub total: usize,
}

impl Default for SessionBudget {
    fn default() -> Self {
        let config = crate::config::ObjectsConfig::default();
        Self { per_uid: config.session_bytes_per_uid, total: config.session_bytes_total }
    }
}

/// What a session object is.
#[derive(Clone, Debug)]
pub enum Held {
    /// A created data object, certificate or public key.
    Object(CreatedObject),
    /// A session key on an HSM.
    Key(SessionKey),
}

impl Held {
    /// Seen only by logged-in sessions.
    pub fn is_private(&self) -> bool {
        match self {
            Self::Object(o) => o.is_private(),
            Self::Key(k) => k.flag(cryptoki_sys::CKA_PRIVATE),
        }
    }

    /// What the module caches about it.
    pub fn description(&self, id: ObjectId) -> p11kms_proto::pkcs11::ObjectDescription {
        match self {
            Self::Object(o) => o.description(id),
            Self::Key(k) => k.description(id),
        }
    }

    /// One attribute's value.
    pub fn attribute(&self, ty: u64) -> p11kms_proto::pkcs11::AttributeValue {
        match self {
            Self::Object(o) => o.attribute(ty),
            Self::Key(k) => k.attribute(ty),
        }
    }

    /// True when every attribute of `template` has the same value here.
    pub fn matches(&self, template: &[p11kms_proto::pkcs11::Attribute]) -> bool {
        match self {
            Self::Object(o) => o.matches(template),
            Self::Key(k) => k.matches(template),
        }
    }

    /// Bytes it takes in the daemon's memory, as budgets count them.
    pub fn size(&self) -> usize {
        match self {
            Self::Object(o) => o.size(),
            Self::Key(k) => k.size(),
        }
    }

    /// `C_SetAttributeValue`'s result.
    pub fn modified(&self, template: &[p11kms_proto::pkcs11::Attribute]) -> Result<Self, DataError> {
        match self {
            Self::Object(o) => o.modified(template).map(Self::Object),
            Self::Key(k) => k.modified(template).map(Self::Key),
        }
    }
}

/// A session object: the slot it was created in and what it is.
#[derive(Clone, Debug)]
pub struct SessionObject {
    /// Slot (instance) of the session that created it.
    pub slot: u64,
    /// The object.
    pub held: Held,
}

/// A client's last login attempt on a slot: whose PIN state its token's
/// user-PIN flags show there (`data::pin_flags`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastAttempt {
    /// The PIN named this app of the slot's instance, right or wrong.
    App(String),
    /// A wrong PIN that named no app of the slot's instance.
    NoApp,
}

#[derive(Debug)]
struct ClientState {
    uid: u32,
    connections: usize,
    logins: HashMap<u64, String>,
    /// Per slot, the last login attempt (kept after a logout).
    attempts: HashMap<u64, LastAttempt>,
    objects: BTreeMap<ObjectId, SessionObject>,
    /// Bytes its session objects take.
    bytes: usize,
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct Clients {
    inner: Mutex<HashMap<ClientId, ClientState>>,
    next_object: AtomicU64,
    budget: SessionBudget,
}

/// Refuses `extra` more bytes for a client of `uid` when a budget would
/// overflow: one uid cannot take the daemon's memory, nor all of them.
fn within_budget(
    clients: &HashMap<ClientId, ClientState>,
    budget: SessionBudget,
    uid: u32,
    extra: usize,
) -> Result<(), DataError> {
    let of_uid: usize = clients.values().filter(|c| c.uid == uid).map(|c| c.bytes).sum();
    let total: usize = clients.values().map(|c| c.bytes).sum();
    if of_uid + extra > budget.per_uid {
        tracing::warn!(
            uid,
            bytes = of_uid,
            limit = budget.per_uid,
            "session objects refused: the uid's budget is full (objects.session_bytes_per_uid)"
        );
        return Err(rv(CKR_DEVICE_MEMORY));
    }
    if total + extra > budget.total {
        tracing::warn!(
            uid,
            bytes = total,
            limit = budget.total,
            "session objects refused: the daemon's budget is full (objects.session_bytes_total)"
        );
        return Err(rv(CKR_DEVICE_MEMORY));
    }
    Ok(())
}

impl Clients {
    /// No clients yet; session objects held to `budget`.
    pub fn new(budget: SessionBudget) -> Self {
        Self { budget, ..Self::default() }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<ClientId, ClientState>) -> T) -> T {
        match self.inner.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A connection of `id` from a process of `uid` said hello. A client id
    /// already used by another user is refused: ids are not credentials,
    /// but they must not let one user ride on another's login.
    pub fn attach(&self, id: ClientId, uid: u32) -> Result<(), DataError> {
        self.with(|clients| {
            let state = clients.entry(id).or_insert(ClientState {
                uid,
                connections: 0,
                logins: HashMap::new(),
                attempts: HashMap::new(),
                objects: BTreeMap::new(),
                bytes: 0,
            });
            if state.uid != uid {
                return Err(rv(CKR_GENERAL_ERROR));
            }
            state.connections += 1;
            Ok(())
        })
    }

    /// A connection of `id` closed.
    pub fn detach(&self, id: &ClientId) {
        let gone = self.with(|clients| {
            let state = clients.get_mut(id)?;
            state.connections = state.connections.saturating_sub(1);
            if state.connections == 0 { clients.remove(id) } else { None }
        });
        // Dropped outside the lock: its session keys are destroyed on the HSM.
        drop(gone);
    }

    /// Records a login of `app` to `slot`.
    pub fn login(&self, id: &ClientId, slot: u64, app: String) -> Result<(), DataError> {
        self.with(|clients| {
            let state = clients.get_mut(id).ok_or(rv(CKR_GENERAL_ERROR))?;
            if state.logins.contains_key(&slot) {
                return Err(rv(CKR_USER_ALREADY_LOGGED_IN));
            }
            state.logins.insert(slot, app);
            Ok(())
        })
    }

    /// Remembers the outcome of the client's login attempt on `slot`.
    pub fn record_attempt(&self, id: &ClientId, slot: u64, attempt: LastAttempt) {
        self.with(|clients| {
            if let Some(state) = clients.get_mut(id) {
                state.attempts.insert(slot, attempt);
            }
        });
    }

    /// The client's last login attempt on `slot`, if it made one.
    pub fn last_attempt(&self, id: &ClientId, slot: u64) -> Option<LastAttempt> {
        self.with(|clients| clients.get(id).and_then(|s| s.attempts.get(&slot).cloned()))
    }

    /// True when the client is logged in anywhere or holds session
    /// objects: what closing its last connection would end.
    pub fn holds_state(&self, id: &ClientId) -> bool {
        self.with(|clients| clients.get(id).is_some_and(|s| !s.logins.is_empty() || !s.objects.is_empty()))
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
    pub fn logout(&self, id: &ClientId, slot: u64) -> Result<(), DataError> {
        self.with(|clients| {
            let state = clients.get_mut(id).ok_or(rv(CKR_GENERAL_ERROR))?;
            state.logins.remove(&slot).map(|_| ()).ok_or(rv(CKR_USER_NOT_LOGGED_IN))
        })
    }

    fn add(&self, id: &ClientId, slot: u64, object_id: ObjectId, held: Held) -> Result<ObjectId, DataError> {
        let budget = self.budget;
        self.with(|clients| {
            let (uid, count) = clients.get(id).map(|s| (s.uid, s.objects.len())).ok_or(rv(CKR_GENERAL_ERROR))?;
            if count >= MAX_SESSION_OBJECTS {
                return Err(rv(CKR_DEVICE_MEMORY));
            }
            let size = held.size();
            within_budget(clients, budget, uid, size)?;
            let state = clients.get_mut(id).ok_or(rv(CKR_GENERAL_ERROR))?;
            state.bytes += size;
            state.objects.insert(object_id, SessionObject { slot, held });
            Ok(object_id)
        })
    }

    fn next_id(&self) -> ObjectId {
        session_object_id(self.next_object.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Keeps a new session object; returns its id.
    pub fn add_object(&self, id: &ClientId, slot: u64, mut object: CreatedObject) -> Result<ObjectId, DataError> {
        let object_id = self.next_id();
        object.set_unique_id(object_id);
        self.add(id, slot, object_id, Held::Object(object))
    }

    /// Keeps a new session key; returns its id. A key refused here is
    /// dropped, which destroys it on the HSM.
    pub fn add_key(&self, id: &ClientId, slot: u64, key: SessionKey) -> Result<ObjectId, DataError> {
        let object_id = self.next_id();
        self.add(id, slot, object_id, Held::Key(key))
    }

    /// One of the client's session objects.
    pub fn object(&self, id: &ClientId, object: ObjectId) -> Option<SessionObject> {
        self.with(|clients| clients.get(id).and_then(|s| s.objects.get(&object).cloned()))
    }

    /// One of the client's session keys in `slot`.
    pub fn key(&self, id: &ClientId, slot: u64, object: ObjectId) -> Option<SessionKey> {
        match self.object(id, object) {
            Some(SessionObject { slot: s, held: Held::Key(key) }) if s == slot => Some(key),
            _ => None,
        }
    }

    /// The client's session objects in `slot`, oldest first.
    pub fn objects_in(&self, id: &ClientId, slot: u64) -> Vec<(ObjectId, Held)> {
        self.with(|clients| {
            let Some(state) = clients.get(id) else {
                return Vec::new();
            };
            state.objects.iter().filter(|(_, o)| o.slot == slot).map(|(i, o)| (*i, o.held.clone())).collect()
        })
    }

    /// Replaces a session object.
    pub fn replace(&self, id: &ClientId, object_id: ObjectId, held: Held) -> Result<(), DataError> {
        let budget = self.budget;
        self.with(|clients| {
            let state = clients.get(id).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            let old = state.objects.get(&object_id).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?.held.size();
            let new = held.size();
            within_budget(clients, budget, state.uid, new.saturating_sub(old))?;
            let state = clients.get_mut(id).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            let entry = state.objects.get_mut(&object_id).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            entry.held = held;
            state.bytes = state.bytes + new - old;
            Ok(())
        })
    }

    /// Destroys a session object (a session key leaves the HSM once no
    /// request is using it).
    pub fn remove_object(&self, id: &ClientId, object: ObjectId) -> Result<(), DataError> {
        let removed = self.with(|clients| {
            let state = clients.get_mut(id).ok_or(rv(CKR_GENERAL_ERROR))?;
            let removed = state.objects.remove(&object).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            state.bytes = state.bytes.saturating_sub(removed.held.size());
            Ok::<_, DataError>(removed)
        })?;
        // Dropped here, outside the lock: destroying a key calls the HSM.
        drop(removed);
        Ok(())
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
        assert_eq!(clients.attach(id, 1001), Err(rv(CKR_GENERAL_ERROR)), "another user may not share the id");
        assert!(!clients.holds_state(&id), "nothing to lose yet");
        clients.login(&id, 0, "web".into()).expect("login");
        assert!(clients.holds_state(&id), "a login is lost with the last connection");
        assert_eq!(clients.login(&id, 0, "web".into()), Err(rv(CKR_USER_ALREADY_LOGGED_IN)));
        clients.detach(&id);
        assert_eq!(clients.app(&id, 0).as_deref(), Some("web"), "one connection is still open");
        clients.detach(&id);
        assert!(!clients.is_logged_in(&id, 0));
    }

    #[test]
    fn session_objects_belong_to_their_client_and_go_with_it() {
        let clients = Clients::default();
        let (mine, other) = ([1; 16], [2; 16]);
        clients.attach(mine, 0).expect("attach");
        clients.attach(other, 0).expect("attach");
        let template = [
            p11kms_proto::pkcs11::Attribute::ulong(cryptoki_sys::CKA_CLASS, cryptoki_sys::CKO_DATA),
            p11kms_proto::pkcs11::Attribute::bool(cryptoki_sys::CKA_PRIVATE, false),
        ];
        let object = CreatedObject::create(&template).expect("object");
        let id = clients.add_object(&mine, 5, object.clone()).expect("added");
        assert!(clients.holds_state(&mine), "a session object is lost with the last connection");
        assert!(!clients.holds_state(&other));
        assert_eq!(clients.objects_in(&mine, 5).len(), 1);
        assert!(clients.objects_in(&mine, 6).is_empty(), "per slot");
        assert!(clients.object(&other, id).is_none(), "per client");
        assert_eq!(clients.remove_object(&other, id), Err(rv(CKR_OBJECT_HANDLE_INVALID)));
        clients.detach(&mine);
        clients.attach(mine, 0).expect("again");
        assert!(clients.object(&mine, id).is_none(), "gone with the client's last connection");
    }

    fn data_object(value_len: usize) -> CreatedObject {
        let template = [
            p11kms_proto::pkcs11::Attribute::ulong(cryptoki_sys::CKA_CLASS, cryptoki_sys::CKO_DATA),
            p11kms_proto::pkcs11::Attribute::bool(cryptoki_sys::CKA_PRIVATE, false),
            p11kms_proto::pkcs11::Attribute::bytes(cryptoki_sys::CKA_VALUE, vec![7; value_len]),
        ];
        CreatedObject::create(&template).expect("object")
    }

    #[test]
    fn session_objects_are_budgeted_per_uid_and_in_all() {
        let object = data_object(1000);
        // The size as held: with the unique id the daemon gives it.
        let probe = Clients::default();
        probe.attach([9; 16], 0).expect("attach");
        let held = probe.add_object(&[9; 16], 0, object.clone()).expect("added");
        let size = probe.object(&[9; 16], held).expect("there").held.size();
        let clients = Clients::new(SessionBudget { per_uid: 3 * size, total: 5 * size });
        let (a1, a2, b, c) = ([1; 16], [2; 16], [3; 16], [4; 16]);
        for (id, uid) in [(a1, 1000), (a2, 1000), (b, 1001), (c, 1002)] {
            clients.attach(id, uid).expect("attach");
        }
        // Two clients of one uid share its budget.
        clients.add_object(&a1, 0, object.clone()).expect("1");
        clients.add_object(&a2, 0, object.clone()).expect("2");
        let third = clients.add_object(&a1, 0, object.clone()).expect("3");
        assert_eq!(clients.add_object(&a2, 0, object.clone()), Err(rv(CKR_DEVICE_MEMORY)), "the uid's budget");
        // Another uid has its own, until the total is reached.
        clients.add_object(&b, 0, object.clone()).expect("4");
        clients.add_object(&b, 0, object.clone()).expect("5");
        assert_eq!(clients.add_object(&c, 0, object.clone()), Err(rv(CKR_DEVICE_MEMORY)), "the total budget");
        // Destroying gives the bytes back; a client that goes gives back all.
        clients.remove_object(&a1, third).expect("removed");
        clients.add_object(&c, 0, object.clone()).expect("fits again");
        clients.detach(&b);
        clients.add_object(&a2, 0, object.clone()).expect("b's bytes are free");
        // A change that grows an object counts too.
        let id = clients.add_object(&c, 0, data_object(10)).expect("small");
        let grown = Held::Object(data_object(4 * size));
        assert_eq!(clients.replace(&c, id, grown), Err(rv(CKR_DEVICE_MEMORY)));
    }

    #[test]
    fn last_attempts_are_per_client_and_slot_and_go_with_the_client() {
        let clients = Clients::default();
        let (mine, other) = ([1; 16], [2; 16]);
        clients.attach(mine, 0).expect("attach");
        clients.attach(other, 0).expect("attach");
        assert_eq!(clients.last_attempt(&mine, 0), None, "no attempt yet");
        clients.record_attempt(&mine, 0, LastAttempt::NoApp);
        clients.record_attempt(&mine, 0, LastAttempt::App("web".into()));
        assert_eq!(clients.last_attempt(&mine, 0), Some(LastAttempt::App("web".into())), "the last one counts");
        assert_eq!(clients.last_attempt(&mine, 1), None, "per slot");
        assert_eq!(clients.last_attempt(&other, 0), None, "per client");
        assert!(!clients.holds_state(&mine), "an attempt keeps no connection open");
        clients.detach(&mine);
        clients.attach(mine, 0).expect("again");
        assert_eq!(clients.last_attempt(&mine, 0), None, "gone with the client's last connection");
    }

    #[test]
    fn deleting_an_app_logs_it_out() {
        let clients = Clients::default();
        let id = [1; 16];
        clients.attach(id, 0).expect("attach");
        clients.login(&id, 3, "web".into()).expect("login");
        clients.forget_app("web");
        assert_eq!(clients.logout(&id, 3), Err(rv(CKR_USER_NOT_LOGGED_IN)));
    }
}
