//! `C_GenerateKey`, `C_GenerateKeyPair`: with `CKA_TOKEN` true they create
//! KMS keys, which needs a read/write session and a login; otherwise
//! session keys, which belong to the session and go when it closes, and
//! need a login unless they are public (`CKA_PRIVATE` false: PKCS#11's
//! public session objects, `docs/pkcs11.md` §2a). The new objects' handles come with their cached
//! attributes, like found ones.

use p11kms_ffi::sys::{
    CK_FLAGS, CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CKA_PRIVATE, CKA_TOKEN, CKF_GENERATE, CKF_GENERATE_KEY_PAIR,
    CKR_SESSION_CLOSED, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN,
};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, Mechanism, ObjectDescription, SlotId, find_attribute};

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;

/// True when a template asks for a token object (`CKA_TOKEN` true); the
/// default, as PKCS#11 has it, is a session object.
pub(crate) fn is_token(templates: &[&[Attribute]]) -> bool {
    templates.iter().any(|t| find_attribute(t, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true))
}

/// `CKA_PRIVATE` as a template says it, if it does.
fn private_flag(template: &[Attribute]) -> Option<bool> {
    find_attribute(template, CKA_PRIVATE).and_then(Attribute::as_bool)
}

impl Module {
    /// Checks a session for key generation with `mechanism` (a function
    /// flag); returns its slot and now.
    fn generation_slot(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        function: CK_FLAGS,
        token: bool,
        private: bool,
    ) -> Result<(SlotId, Stamp)> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            let (slot, rw) = (found.slot, found.rw);
            if token && !rw {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if (token || private) && !tables.sessions.is_logged_in(slot, now) {
                return Err(Error::rv(CKR_USER_NOT_LOGGED_IN));
            }
            slot
        };
        self.fresh_slots()?.check_mechanism(slot, mechanism.ty, function)?;
        Ok((slot, now))
    }

    /// Registers objects the daemon made for `session` and returns their
    /// handles; session objects are tied to the session, so that closing
    /// it destroys them.
    pub(crate) fn register_created(
        &self,
        session: CK_SESSION_HANDLE,
        slot: SlotId,
        objects: Vec<ObjectDescription>,
    ) -> Result<Vec<CK_OBJECT_HANDLE>> {
        let mut guard = self.tables();
        let tables = &mut *guard;
        let mut handles = Vec::with_capacity(objects.len());
        let mut created = Vec::new();
        for description in objects {
            let token = find_attribute(&description.fixed, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true);
            let handle = tables.objects.register(slot, description);
            if !token {
                created.push(handle);
            }
            handles.push(handle);
        }
        if !created.is_empty() {
            // Closed by another thread meanwhile: report it; the daemon
            // drops the objects with the client at the latest.
            let found = tables.sessions.get_open(session).ok_or(Error::rv(CKR_SESSION_CLOSED))?;
            found.created.extend(created);
        }
        Ok(handles)
    }

    /// `C_GenerateKey`.
    pub fn generate_key(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        let private = private_flag(template) != Some(false);
        let (slot, now) = self.generation_slot(session, mechanism, CKF_GENERATE, is_token(&[template]), private)?;
        let request = DataRequest::GenerateKey { slot, mechanism: mechanism.clone(), template: template.to_vec() };
        let objects = match self.pool.call(&request, Some(now.boot))? {
            DataReply::Objects(objects) if objects.len() == 1 => objects,
            _ => return Err(Error::UnexpectedReply("GenerateKey")),
        };
        match self.register_created(session, slot, objects)?[..] {
            [key] => Ok(key),
            _ => Err(Error::UnexpectedReply("GenerateKey")),
        }
    }

    /// `C_GenerateKeyPair`: (public, private).
    pub fn generate_key_pair(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        public_template: &[Attribute],
        private_template: &[Attribute],
    ) -> Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
        let token = is_token(&[public_template, private_template]);
        let private = private_flag(private_template) != Some(false) || private_flag(public_template) == Some(true);
        let (slot, now) = self.generation_slot(session, mechanism, CKF_GENERATE_KEY_PAIR, token, private)?;
        let request = DataRequest::GenerateKeyPair {
            slot,
            mechanism: mechanism.clone(),
            public_template: public_template.to_vec(),
            private_template: private_template.to_vec(),
        };
        let objects = match self.pool.call(&request, Some(now.boot))? {
            DataReply::Objects(objects) if objects.len() == 2 => objects,
            _ => return Err(Error::UnexpectedReply("GenerateKeyPair")),
        };
        match self.register_created(session, slot, objects)?[..] {
            [public, private] => Ok((public, private)),
            _ => Err(Error::UnexpectedReply("GenerateKeyPair")),
        }
    }
}
