//! `C_GenerateKey`, `C_GenerateKeyPair`: they create KMS keys, so they need
//! a read/write session and a logged-in slot. The new objects' handles come
//! with their cached attributes, like found ones.

use p11kms_ffi::sys::{
    CK_FLAGS, CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKR_SESSION_READ_ONLY,
    CKR_USER_NOT_LOGGED_IN,
};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, Mechanism, ObjectDescription, SlotId};

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;

impl Module {
    /// Checks a session for key generation with `mechanism` (a function
    /// flag); returns its slot and now.
    fn generation_slot(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        function: CK_FLAGS,
    ) -> Result<(SlotId, Stamp)> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            let (slot, rw) = (found.slot, found.rw);
            if !rw {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if !tables.sessions.is_logged_in(slot, now) {
                return Err(Error::rv(CKR_USER_NOT_LOGGED_IN));
            }
            slot
        };
        self.fresh_slots()?.check_mechanism(slot, mechanism.ty, function)?;
        Ok((slot, now))
    }

    /// Registers created objects and returns their handles.
    fn register_created(&self, slot: SlotId, objects: Vec<ObjectDescription>) -> Vec<CK_OBJECT_HANDLE> {
        let mut tables = self.tables();
        objects.into_iter().map(|d| tables.objects.register(slot, d)).collect()
    }

    /// `C_GenerateKey`.
    pub fn generate_key(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        let (slot, now) = self.generation_slot(session, mechanism, CKF_GENERATE)?;
        let request = DataRequest::GenerateKey { slot, mechanism: mechanism.clone(), template: template.to_vec() };
        let objects = match self.pool.call(&request, Some(now.boot))? {
            DataReply::Objects(objects) if objects.len() == 1 => objects,
            _ => return Err(Error::UnexpectedReply("GenerateKey")),
        };
        match self.register_created(slot, objects)[..] {
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
        let (slot, now) = self.generation_slot(session, mechanism, CKF_GENERATE_KEY_PAIR)?;
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
        match self.register_created(slot, objects)[..] {
            [public, private] => Ok((public, private)),
            _ => Err(Error::UnexpectedReply("GenerateKeyPair")),
        }
    }
}
