//! The slots and tokens as the daemon last described them, and the
//! PKCS#11 information structures built from them.
//!
//! `C_GetSlotList` refreshes the cache (one round trip); other calls use it
//! and refresh only when it was never loaded or the daemon was unreachable.
//! When the daemon cannot be reached, the slots it last reported stay
//! listed but show no token, so an application sees a token go away and
//! come back rather than slot ids vanishing.

use p11kms_ffi::sys::{
    CK_EFFECTIVELY_INFINITE, CK_FLAGS, CK_MECHANISM_TYPE, CK_SLOT_ID, CK_UNAVAILABLE_INFORMATION, CKF_DECRYPT,
    CKF_DERIVE, CKF_DIGEST, CKF_ENCRYPT, CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKF_REMOVABLE_DEVICE, CKF_SIGN,
    CKF_SIGN_RECOVER, CKF_TOKEN_PRESENT, CKF_UNWRAP, CKF_VERIFY, CKF_VERIFY_RECOVER, CKF_WRAP, CKR_MECHANISM_INVALID,
    CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT,
};
use p11kms_ffi::{SlotInfo, TokenInfo};
use p11kms_proto::pkcs11::{MechanismInfo, SlotDescription, SlotId, TokenDescription};

use crate::digest;
use crate::error::{Error, Result};

/// Manufacturer shown for the library, slots and tokens.
pub const MANUFACTURER: &str = "p11kms";

/// Function flags of `CK_MECHANISM_INFO`: what a mechanism can be used for.
const FUNCTION_FLAGS: CK_FLAGS = CKF_ENCRYPT
    | CKF_DECRYPT
    | CKF_DIGEST
    | CKF_SIGN
    | CKF_SIGN_RECOVER
    | CKF_VERIFY
    | CKF_VERIFY_RECOVER
    | CKF_GENERATE
    | CKF_GENERATE_KEY_PAIR
    | CKF_WRAP
    | CKF_UNWRAP
    | CKF_DERIVE;

/// The module's version as `(major, minor)`.
pub fn module_version() -> (u8, u8) {
    let major = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
    let minor = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
    (major, minor)
}

/// The last known slots.
#[derive(Debug, Default)]
pub struct SlotCache {
    slots: Vec<SlotDescription>,
    loaded: bool,
    reachable: bool,
}

impl SlotCache {
    /// Stores a fresh `ListSlots` answer.
    pub fn update(&mut self, slots: Vec<SlotDescription>) {
        self.slots = slots;
        self.loaded = true;
        self.reachable = true;
    }

    /// The daemon could not be reached: keep the slots, hide their tokens.
    pub fn unreachable(&mut self) {
        self.reachable = false;
    }

    /// True when the cache should be refreshed before use.
    pub fn stale(&self) -> bool {
        !self.loaded || !self.reachable
    }

    fn token_of(slot: &SlotDescription, reachable: bool) -> Option<&TokenDescription> {
        slot.token.as_ref().filter(|_| reachable)
    }

    /// `C_GetSlotList`.
    pub fn ids(&self, token_present: bool) -> Vec<CK_SLOT_ID> {
        self.slots
            .iter()
            .filter(|slot| !token_present || Self::token_of(slot, self.reachable).is_some())
            .map(|slot| slot.id)
            .collect()
    }

    /// True when the slot is known.
    pub fn contains(&self, slot: SlotId) -> bool {
        self.slots.iter().any(|s| s.id == slot)
    }

    fn slot(&self, slot: SlotId) -> Result<&SlotDescription> {
        self.slots.iter().find(|s| s.id == slot).ok_or(Error::rv(CKR_SLOT_ID_INVALID))
    }

    /// The token of a slot.
    pub fn token(&self, slot: SlotId) -> Result<&TokenDescription> {
        Self::token_of(self.slot(slot)?, self.reachable).ok_or(Error::rv(CKR_TOKEN_NOT_PRESENT))
    }

    /// `C_GetSlotInfo`.
    pub fn slot_info(&self, slot: SlotId) -> Result<SlotInfo> {
        let description = self.slot(slot)?;
        // The token goes away when the daemon or its instance cannot serve,
        // so the slot is one with a removable device.
        let mut flags = CKF_REMOVABLE_DEVICE;
        if Self::token_of(description, self.reachable).is_some() {
            flags |= CKF_TOKEN_PRESENT;
        }
        Ok(SlotInfo {
            description: fit(&description.description, 64),
            manufacturer: MANUFACTURER.into(),
            flags,
            hardware_version: module_version(),
            firmware_version: module_version(),
        })
    }

    /// `C_GetTokenInfo`, with the session counts the module keeps.
    pub fn token_info(&self, slot: SlotId, sessions: u64, rw_sessions: u64) -> Result<TokenInfo> {
        let token = self.token(slot)?;
        Ok(TokenInfo {
            label: fit(&token.label, 32),
            manufacturer: MANUFACTURER.into(),
            model: fit(&token.model, 16),
            serial: fit(&token.serial, 16),
            flags: token.flags,
            max_session_count: CK_EFFECTIVELY_INFINITE,
            session_count: sessions,
            max_rw_session_count: CK_EFFECTIVELY_INFINITE,
            rw_session_count: rw_sessions,
            max_pin_len: token.max_pin_len,
            min_pin_len: token.min_pin_len,
            total_public_memory: CK_UNAVAILABLE_INFORMATION,
            free_public_memory: CK_UNAVAILABLE_INFORMATION,
            total_private_memory: CK_UNAVAILABLE_INFORMATION,
            free_private_memory: CK_UNAVAILABLE_INFORMATION,
            hardware_version: module_version(),
            firmware_version: module_version(),
            utc_time: String::new(),
        })
    }

    /// `C_GetMechanismList`: the token's mechanisms and the digests this
    /// module computes itself.
    pub fn mechanisms(&self, slot: SlotId) -> Result<Vec<MechanismInfo>> {
        let mut list = self.token(slot)?.mechanisms.clone();
        for (ty, _) in digest::MECHANISMS {
            if !list.iter().any(|m| m.ty == ty) {
                list.push(MechanismInfo { ty, min_key_size: 0, max_key_size: 0, flags: CKF_DIGEST });
            }
        }
        Ok(list)
    }

    /// `C_GetMechanismInfo`.
    pub fn mechanism(&self, slot: SlotId, mechanism: CK_MECHANISM_TYPE) -> Result<MechanismInfo> {
        self.mechanisms(slot)?.into_iter().find(|m| m.ty == mechanism).ok_or(Error::rv(CKR_MECHANISM_INVALID))
    }

    /// Checks that a slot's token offers `mechanism` for a function
    /// (`CKF_SIGN`, `CKF_ENCRYPT`, …). A mechanism described without any
    /// function flag is given the benefit of the doubt: the daemon decides.
    pub fn check_mechanism(&self, slot: SlotId, mechanism: CK_MECHANISM_TYPE, function: CK_FLAGS) -> Result<()> {
        let info = self.mechanism(slot, mechanism)?;
        if info.flags & FUNCTION_FLAGS != 0 && info.flags & function == 0 {
            return Err(Error::rv(CKR_MECHANISM_INVALID));
        }
        Ok(())
    }
}

/// Cuts a text to at most `max` bytes without splitting a character (the
/// boundary pads it with blanks).
fn fit(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p11kms_ffi::sys::{CKM_AES_GCM, CKM_ECDSA, CKM_SHA_1, CKM_SHA256};

    fn cache() -> SlotCache {
        let mut cache = SlotCache::default();
        cache.update(vec![
            SlotDescription {
                id: 1,
                description: "default".into(),
                token: Some(TokenDescription {
                    label: "an instance name that is far longer than thirty-two bytes".into(),
                    model: "software".into(),
                    serial: "0000000000000001".into(),
                    flags: 0x40d,
                    min_pin_len: 4,
                    max_pin_len: 64,
                    mechanisms: vec![
                        MechanismInfo { ty: CKM_AES_GCM, min_key_size: 32, max_key_size: 32, flags: CKF_ENCRYPT },
                        MechanismInfo { ty: CKM_ECDSA, min_key_size: 256, max_key_size: 384, flags: 0 },
                        MechanismInfo { ty: CKM_SHA256, min_key_size: 0, max_key_size: 0, flags: CKF_DIGEST },
                    ],
                }),
            },
            SlotDescription { id: 5, description: "down".into(), token: None },
        ]);
        cache
    }

    #[test]
    fn slot_list_and_info() {
        let cache = cache();
        assert_eq!(cache.ids(false), vec![1, 5]);
        assert_eq!(cache.ids(true), vec![1]);
        let info = cache.slot_info(1).expect("known");
        assert_eq!(info.flags, CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE);
        assert_eq!(cache.slot_info(5).expect("known").flags, CKF_REMOVABLE_DEVICE);
        assert!(matches!(cache.slot_info(9), Err(e) if e.ck_rv().0 == CKR_SLOT_ID_INVALID));
        assert!(matches!(cache.token_info(5, 0, 0), Err(e) if e.ck_rv().0 == CKR_TOKEN_NOT_PRESENT));
        assert!(matches!(cache.token_info(9, 0, 0), Err(e) if e.ck_rv().0 == CKR_SLOT_ID_INVALID));
    }

    #[test]
    fn token_info_fields() {
        let info = cache().token_info(1, 3, 1).expect("present");
        assert_eq!(info.label.len(), 32);
        assert_eq!(info.manufacturer, "p11kms");
        assert_eq!(info.model, "software");
        assert_eq!(info.flags, 0x40d);
        assert_eq!((info.session_count, info.rw_session_count), (3, 1));
        assert_eq!(info.max_session_count, CK_EFFECTIVELY_INFINITE);
        assert_eq!(info.total_private_memory, CK_UNAVAILABLE_INFORMATION);
        assert_eq!((info.min_pin_len, info.max_pin_len), (4, 64));
    }

    #[test]
    fn unreachable_daemon_hides_tokens_but_keeps_slots() {
        let mut cache = cache();
        cache.unreachable();
        assert!(cache.stale());
        assert_eq!(cache.ids(false), vec![1, 5]);
        assert!(cache.ids(true).is_empty());
        assert!(matches!(cache.token(1), Err(e) if e.ck_rv().0 == CKR_TOKEN_NOT_PRESENT));
        assert_eq!(cache.slot_info(1).expect("known").flags, CKF_REMOVABLE_DEVICE);
    }

    #[test]
    fn mechanisms_include_local_digests_once() {
        let cache = cache();
        let list = cache.mechanisms(1).expect("present");
        assert_eq!(list.iter().filter(|m| m.ty == CKM_SHA256).count(), 1);
        assert!(list.iter().any(|m| m.ty == CKM_SHA_1 && m.flags == CKF_DIGEST));
        assert!(matches!(cache.mechanism(1, 0x9999), Err(e) if e.ck_rv().0 == CKR_MECHANISM_INVALID));
        assert!(cache.check_mechanism(1, CKM_AES_GCM, CKF_ENCRYPT).is_ok());
        assert!(cache.check_mechanism(1, CKM_AES_GCM, CKF_SIGN).is_err());
        assert!(cache.check_mechanism(1, CKM_ECDSA, CKF_SIGN).is_ok(), "no function flags: the daemon decides");
    }

    #[test]
    fn fit_never_splits_characters() {
        assert_eq!(fit("abc", 2), "ab");
        assert_eq!(fit("aé", 2), "a");
        assert_eq!(fit("short", 32), "short");
    }
}
