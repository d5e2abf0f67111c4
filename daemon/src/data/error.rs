//! The data plane's errors ([`DataError`]), and the one place where each
//! becomes the `CK_RV` the application sees ([`DataError::ck_rv`]), as
//! `kms::error` does for both planes' KMS errors.
//!
//! Most refusals of the data plane are PKCS#11's own answers to a request
//! (`CKR_TEMPLATE_INCONSISTENT`, `CKR_ATTRIBUTE_READ_ONLY`, …): they are
//! [`DataError::Pkcs11`], built with [`rv`]. What the KMS or the HSM says
//! keeps its own type until here, so that the log line of a failed request
//! says what happened, not only its return value.

use cryptoki_sys::*;

use crate::hsm::HsmError;
use crate::kms::KmsError;
use crate::kms::policy::Action;

/// A data-plane request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The slot id names no instance.
    #[error("slot {0} is not an instance")]
    SlotInvalid(u64),
    /// The instance's cluster is not serving.
    #[error("the cluster of slot {0} is not serving")]
    ClusterDown(u64),
    /// A PKCS#11 answer decided here.
    #[error("{}", name(*.0))]
    Pkcs11(CK_RV),
    /// The KMS refused or failed.
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// The HSM refused or failed.
    #[error(transparent)]
    Hsm(#[from] HsmError),
    /// The app's policy does not allow the action (`data::access`).
    #[error("app '{app}' may not kms:{} on {resource}: its policy does not allow it", .action.name())]
    Denied {
        /// The app logged in.
        app: String,
        /// What it asked to do.
        action: Action,
        /// What it asked to do it on (`key/<id>`, `secret/<name>`, `instance/<name>`).
        resource: String,
    },
}

/// A return value's name for the log (`TemplateInconsistent`).
fn name(code: CK_RV) -> String {
    match cryptoki::error::Rv::from(code) {
        cryptoki::error::Rv::Error(error) => format!("{error:?}"),
        other => format!("{other:?}"),
    }
}

/// A PKCS#11 answer decided by the data plane.
pub fn rv(code: CK_RV) -> DataError {
    DataError::Pkcs11(code)
}

impl DataError {
    /// What the application sees.
    pub fn ck_rv(&self) -> CK_RV {
        match self {
            Self::SlotInvalid(_) => CKR_SLOT_ID_INVALID,
            Self::ClusterDown(_) => CKR_DEVICE_ERROR,
            Self::Pkcs11(code) => *code,
            Self::Kms(error) => error.ck_rv(),
            Self::Hsm(error) => error.ck_rv(),
            // PKCS#11 has CKR_ACTION_PROHIBITED for "policy restrictions
            // on the token" where no key function is involved: creating
            // and destroying keys. A key used beyond the policy is a key
            // function not permitted, as a key without the usage flag is.
            Self::Denied { action: Action::CreateKey | Action::ScheduleKeyDeletion, .. } => CKR_ACTION_PROHIBITED,
            Self::Denied { .. } => CKR_KEY_FUNCTION_NOT_PERMITTED,
        }
    }

    /// The return value's name (`KeyFunctionNotPermitted`), as the audit
    /// trail records a refusal.
    pub fn code_name(&self) -> String {
        name(self.ck_rv())
    }

    /// True for a refusal by the app's policy: the operator's business,
    /// logged at `info` with the app and the resource, not the data.
    pub fn is_denial(&self) -> bool {
        matches!(self, Self::Denied { .. })
    }

    /// The same refusal for an operation's key: PKCS#11 says
    /// `CKR_KEY_HANDLE_INVALID` where a finder says `CKR_OBJECT_HANDLE_INVALID`.
    pub fn for_key(self) -> Self {
        if self.ck_rv() == CKR_OBJECT_HANDLE_INVALID { rv(CKR_KEY_HANDLE_INVALID) } else { self }
    }

    /// True for a fault of the daemon or its HSMs (worth an error in the
    /// log), as opposed to a refusal of the request.
    pub fn is_fault(&self) -> bool {
        matches!(self.ck_rv(), CKR_GENERAL_ERROR | CKR_DEVICE_ERROR | CKR_DEVICE_MEMORY | CKR_FUNCTION_FAILED)
    }
}

/// Tests compare answers: two errors are the same answer when the
/// application would see the same return value.
#[cfg(test)]
impl PartialEq for DataError {
    fn eq(&self, other: &Self) -> bool {
        self.ck_rv() == other.ck_rv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_return_value_and_says_what_happened() {
        assert_eq!(DataError::SlotInvalid(7).ck_rv(), CKR_SLOT_ID_INVALID);
        assert_eq!(DataError::SlotInvalid(7).to_string(), "slot 7 is not an instance");
        assert_eq!(rv(CKR_TEMPLATE_INCONSISTENT).ck_rv(), CKR_TEMPLATE_INCONSISTENT);
        assert_eq!(rv(CKR_TEMPLATE_INCONSISTENT).to_string(), "TemplateInconsistent");
        let disabled = DataError::from(KmsError::Disabled("k".into()));
        assert_eq!(disabled.ck_rv(), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(disabled.to_string(), "key 'k' is disabled");
        assert!(DataError::ClusterDown(1).is_fault());
        assert!(!disabled.is_fault());
        let denied = |action| DataError::Denied { app: "web".into(), action, resource: "key/k-1".into() };
        assert_eq!(denied(Action::Sign).ck_rv(), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(denied(Action::CreateKey).ck_rv(), CKR_ACTION_PROHIBITED);
        assert_eq!(denied(Action::ScheduleKeyDeletion).ck_rv(), CKR_ACTION_PROHIBITED);
        assert_eq!(
            denied(Action::Sign).to_string(),
            "app 'web' may not kms:Sign on key/k-1: its policy does not allow it"
        );
        assert!(denied(Action::Sign).is_denial() && !denied(Action::Sign).is_fault());
    }

    #[test]
    fn an_invalid_object_is_an_invalid_key_for_an_operation() {
        assert_eq!(rv(CKR_OBJECT_HANDLE_INVALID).for_key().ck_rv(), CKR_KEY_HANDLE_INVALID);
        assert_eq!(rv(CKR_USER_NOT_LOGGED_IN).for_key().ck_rv(), CKR_USER_NOT_LOGGED_IN);
    }
}
