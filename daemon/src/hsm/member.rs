//! One member token of a cluster: its slot, its login, a pool of sessions
//! and a cache of object handles.
//!
//! `cryptoki::Session` is `Send` but not `Sync`: a session is taken from the
//! pool by the thread that uses it and put back afterwards, so a session
//! is only ever used by one thread at a time and no lock is held during an
//! HSM call. A long-lived *anchor* session keeps the token logged in
//! (PKCS#11 logs an application out when its last session closes).
//! Object handles are valid in every session of the application, so one
//! cache per member serves all threads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::error::{Context, HsmError};
use super::module::HsmModule;
use super::objects::{CLUSTER_KEY_LABEL, ObjectRole};

/// Most idle sessions kept per member; more are opened on demand and closed
/// when returned.
const MAX_IDLE_SESSIONS: usize = 32;

/// A member token, connected and logged in.
#[derive(Debug)]
pub struct Member {
    index: u32,
    label: String,
    serial: String,
    module: Arc<HsmModule>,
    slot: Slot,
    pin: Zeroizing<String>,
    anchor: Mutex<Option<Session>>,
    idle: Mutex<Vec<Session>>,
    handles: RwLock<HashMap<([u8; 16], ObjectRole), ObjectHandle>>,
    cluster_key: Mutex<Option<ObjectHandle>>,
    healthy: AtomicBool,
    /// Unix time it was last found holding every version; 0 for never.
    last_sync: AtomicI64,
}

impl Member {
    /// Finds the token labelled `label` in `module`, checks its serial when
    /// one is expected (a different serial means the token was replaced),
    /// and logs in with `pin`.
    pub fn connect(
        index: u32,
        label: &str,
        expected_serial: Option<&str>,
        module: Arc<HsmModule>,
        pin: Zeroizing<String>,
    ) -> Result<Self, HsmError> {
        let slot = module.find_token(label)?;
        let info = module.ctx().get_token_info(slot).context(|| format!("C_GetTokenInfo '{label}'"))?;
        let serial = info.serial_number().trim().to_owned();
        if let Some(expected) = expected_serial {
            if expected != serial {
                return Err(HsmError::Unexpected(format!(
                    "token '{label}' has serial {serial}, the store expects {expected}: it was replaced"
                )));
            }
        }
        let member = Self {
            index,
            label: label.to_owned(),
            serial,
            module,
            slot,
            pin,
            anchor: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            handles: RwLock::new(HashMap::new()),
            cluster_key: Mutex::new(None),
            healthy: AtomicBool::new(false),
            last_sync: AtomicI64::new(0),
        };
        member.login()?;
        member.mark_healthy();
        Ok(member)
    }

    /// The library instance the member's token lives in.
    pub fn module(&self) -> &Arc<HsmModule> {
        &self.module
    }

    /// Records that the member was found holding every version at `unix`.
    pub fn synced_at(&self, unix: i64) {
        self.last_sync.store(unix, Ordering::Relaxed);
    }

    /// When the member was last found holding every version (this run).
    pub fn last_sync(&self) -> Option<i64> {
        Some(self.last_sync.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// Takes the member out of service (it failed a write).
    pub fn mark_unhealthy(&self) {
        self.healthy.store(false, Ordering::Release);
    }

    /// Takes the member (back) into service.
    pub fn mark_healthy(&self) {
        self.healthy.store(true, Ordering::Release);
    }

    fn login(&self) -> Result<(), HsmError> {
        let session =
            self.module.ctx().open_rw_session(self.slot).context(|| format!("C_OpenSession '{}'", self.label))?;
        match session.login(UserType::User, Some(&AuthPin::from(self.pin.to_string()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(HsmError::pkcs11(format!("C_Login '{}'", self.label), e)),
        }
        *self.anchor.lock().map_err(|_| poisoned())? = Some(session);
        Ok(())
    }

    /// Position in the cluster.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Token label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Token serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Module path.
    pub fn module_path(&self) -> String {
        self.module.path().display().to_string()
    }

    /// Checks a member marked unhealthy: logs in again (which also opens a
    /// fresh anchor session) and, when that works, drops the idle sessions
    /// and cached handles of before, which may be stale. It stays out of
    /// service until [`Member::mark_healthy`]: the caller resyncs it first.
    pub fn probe(&self) -> Result<(), HsmError> {
        self.login()?;
        self.idle.lock().map_err(|_| poisoned())?.clear();
        self.handles.write().map_err(|_| poisoned())?.clear();
        *self.cluster_key.lock().map_err(|_| poisoned())? = None;
        tracing::info!(member = %self.label, "member answers again");
        Ok(())
    }

    /// Whether the last use succeeded at the device level.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Runs `f` with a session of this member. A session that saw a device
    /// fault is closed rather than reused, and the member is marked
    /// unhealthy.
    pub fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, HsmError>) -> Result<T, HsmError> {
        let pooled = self.idle.lock().map_err(|_| poisoned())?.pop();
        let session = match pooled {
            Some(session) => session,
            None => match self.module.ctx().open_rw_session(self.slot) {
                Ok(session) => session,
                Err(e) => {
                    self.healthy.store(false, Ordering::Release);
                    return Err(HsmError::pkcs11(format!("C_OpenSession '{}'", self.label), e));
                }
            },
        };
        let result = f(&session);
        match &result {
            Err(e) if e.is_device_fault() => {
                self.healthy.store(false, Ordering::Release);
                drop(session);
            }
            _ => {
                let mut idle = self.idle.lock().map_err(|_| poisoned())?;
                if idle.len() < MAX_IDLE_SESSIONS {
                    idle.push(session);
                }
            }
        }
        result
    }

    /// The handle of one object of a version, from the cache or a search.
    pub fn find(&self, id: &[u8; 16], role: ObjectRole) -> Result<ObjectHandle, HsmError> {
        if let Some(handle) = self.handles.read().map_err(|_| poisoned())?.get(&(*id, role)) {
            return Ok(*handle);
        }
        let class = match role {
            ObjectRole::Secret => ObjectClass::SECRET_KEY,
            ObjectRole::Private => ObjectClass::PRIVATE_KEY,
            ObjectRole::Public => ObjectClass::PUBLIC_KEY,
        };
        let template = [Attribute::Id(id.to_vec()), Attribute::Class(class)];
        let found = self.with_session(|s| s.find_objects(&template).context(|| "C_FindObjects".into()))?;
        let handle = match found.as_slice() {
            [handle] => *handle,
            [] => {
                return Err(HsmError::ObjectMissing(uuid::Uuid::from_bytes(*id).to_string(), self.label.clone()));
            }
            _ => {
                return Err(HsmError::Unexpected(format!(
                    "{} objects share id {} on '{}'",
                    found.len(),
                    uuid::Uuid::from_bytes(*id),
                    self.label
                )));
            }
        };
        self.handles.write().map_err(|_| poisoned())?.insert((*id, role), handle);
        Ok(handle)
    }

    /// Forgets cached handles of a version (after it was destroyed).
    pub fn forget(&self, id: &[u8; 16]) {
        if let Ok(mut handles) = self.handles.write() {
            handles.retain(|(cached, _), _| cached != id);
        }
    }

    /// Remembers the handle of an object just created.
    pub fn remember(&self, id: &[u8; 16], role: ObjectRole, handle: ObjectHandle) {
        if let Ok(mut handles) = self.handles.write() {
            handles.insert((*id, role), handle);
        }
    }

    /// The cluster key's handle on this member.
    pub fn cluster_key(&self) -> Result<ObjectHandle, HsmError> {
        let mut cached = self.cluster_key.lock().map_err(|_| poisoned())?;
        if let Some(handle) = *cached {
            return Ok(handle);
        }
        let template =
            [Attribute::Id(CLUSTER_KEY_LABEL.as_bytes().to_vec()), Attribute::Class(ObjectClass::SECRET_KEY)];
        let found = self.with_session(|s| s.find_objects(&template).context(|| "C_FindObjects".into()))?;
        let handle =
            *found.first().ok_or_else(|| HsmError::ObjectMissing(CLUSTER_KEY_LABEL.into(), self.label.clone()))?;
        *cached = Some(handle);
        Ok(handle)
    }

    /// True when the token holds the cluster key now. A cached handle is
    /// checked against the token (the key may have been destroyed behind
    /// the daemon's back, and its handle given to another object since)
    /// and dropped when stale.
    pub fn has_cluster_key(&self) -> bool {
        let cached = self.cluster_key.lock().ok().and_then(|c| *c);
        if let Some(handle) = cached {
            let alive = self
                .with_session(|s| {
                    s.get_attributes(handle, &[AttributeType::Id]).context(|| "C_GetAttributeValue".into())
                })
                .is_ok_and(
                    |attrs| matches!(attrs.first(), Some(Attribute::Id(id)) if id == CLUSTER_KEY_LABEL.as_bytes()),
                );
            if alive {
                return true;
            }
            if let Ok(mut cached) = self.cluster_key.lock() {
                *cached = None;
            }
        }
        self.cluster_key().is_ok()
    }

    /// Remembers the cluster key's handle.
    pub fn set_cluster_key(&self, handle: ObjectHandle) {
        if let Ok(mut cached) = self.cluster_key.lock() {
            *cached = Some(handle);
        }
    }

    /// The distinct key-version ids (`CKA_ID`s of 16 bytes) on the token.
    pub fn version_ids(&self) -> Result<Vec<[u8; 16]>, HsmError> {
        let objects = self.with_session(|s| {
            let handles = s.find_objects(&[Attribute::Token(true)]).context(|| "C_FindObjects".into())?;
            let mut ids = Vec::new();
            for handle in handles {
                let attrs = s.get_attributes(handle, &[AttributeType::Id]).context(|| "C_GetAttributeValue".into())?;
                if let Some(Attribute::Id(id)) = attrs.first() {
                    if let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) {
                        ids.push(id);
                    }
                }
            }
            Ok(ids)
        })?;
        let mut ids = objects;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

fn poisoned() -> HsmError {
    HsmError::Unexpected("member lock poisoned".into())
}

impl Member {
    /// Information on the mechanisms of `wanted` that the token offers.
    /// cryptoki's list leaves out types it cannot name (see
    /// [`super::mechanism::mechanism_type`]); those are asked for directly,
    /// and a token without one answers `CKR_MECHANISM_INVALID`.
    pub fn mechanisms(&self, wanted: &[u64]) -> Result<Vec<p11kms_proto::pkcs11::MechanismInfo>, HsmError> {
        let ctx = self.module.ctx();
        let offered: Vec<u64> = ctx
            .get_mechanism_list(self.slot)
            .context(|| "C_GetMechanismList".into())?
            .into_iter()
            .map(u64::from)
            .collect();
        let mut infos = Vec::new();
        for &ty in wanted {
            let listed = super::mechanism::listed_by_cryptoki(ty);
            let Some(mechanism) = super::mechanism::mechanism_type(ty).filter(|_| !listed || offered.contains(&ty))
            else {
                continue;
            };
            let info = match ctx.get_mechanism_info(self.slot, mechanism) {
                Ok(info) => info,
                Err(CkError::Pkcs11(RvError::MechanismInvalid, _)) if !listed => continue,
                Err(error) => return Err(error).context(|| "C_GetMechanismInfo".into()),
            };
            infos.push(p11kms_proto::pkcs11::MechanismInfo {
                ty,
                min_key_size: info.min_key_size() as u64,
                max_key_size: info.max_key_size() as u64,
                flags: mechanism_flags(&info),
            });
        }
        Ok(infos)
    }
}

/// `CK_MECHANISM_INFO.flags` rebuilt from cryptoki's accessors (it offers
/// no raw value).
fn mechanism_flags(info: &cryptoki::mechanism::MechanismInfo) -> u64 {
    use cryptoki_sys::*;
    let pairs = [
        (info.hardware(), CKF_HW),
        (info.encrypt(), CKF_ENCRYPT),
        (info.decrypt(), CKF_DECRYPT),
        (info.digest(), CKF_DIGEST),
        (info.sign(), CKF_SIGN),
        (info.sign_recover(), CKF_SIGN_RECOVER),
        (info.verify(), CKF_VERIFY),
        (info.verify_recover(), CKF_VERIFY_RECOVER),
        (info.generate(), CKF_GENERATE),
        (info.generate_key_pair(), CKF_GENERATE_KEY_PAIR),
        (info.wrap(), CKF_WRAP),
        (info.unwrap(), CKF_UNWRAP),
        (info.derive(), CKF_DERIVE),
        (info.ec_f_p(), CKF_EC_F_P),
        (info.ec_from_oid(), CKF_EC_OID),
        (info.ec_uncompressed(), CKF_EC_UNCOMPRESS),
        (info.ec_compressed(), CKF_EC_COMPRESS),
    ];
    pairs.iter().filter(|(set, _)| *set).fold(0, |flags, (_, bit)| flags | bit)
}
