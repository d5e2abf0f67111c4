//! The actions a policy allows or denies, by the KMS API's names
//! (`kms:Encrypt`), and the groups the spec's permission templates name.
//!
//! Only what an application does through PKCS#11 is an action here: using
//! keys, reading secrets, creating keys. Managing apps, instances and
//! clusters is the operator's, on the admin socket, and never an app's.

use super::pattern::Pattern;

/// One action an application may be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Envelope encryption, and AES encryption with a KMS key.
    Encrypt,
    /// Envelope decryption, and AES decryption with a KMS key.
    Decrypt,
    /// A data key under a KMS key (`CKM_P11KMS_ENVELOPE` data keys).
    GenerateDataKey,
    /// Signing with a KMS key.
    Sign,
    /// Verifying with a KMS key.
    Verify,
    /// RSA encryption with a KMS key's public half.
    AsymmetricEncrypt,
    /// RSA decryption with a KMS key.
    AsymmetricDecrypt,
    /// Reading a KMS key's public half.
    GetPublicKey,
    /// Creating a KMS key (`C_GenerateKey`, `C_GenerateKeyPair`).
    CreateKey,
    /// Reading a secret's value (`CKA_VALUE` of its data object).
    GetSecretValue,
    /// Scheduling a KMS key's deletion (`C_DestroyObject` on its objects).
    ScheduleKeyDeletion,
}

/// What an action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A KMS key.
    Key,
    /// A secret.
    Secret,
    /// The instance (creation).
    Instance,
}

impl Action {
    /// Every action, in a fixed order.
    pub const ALL: [Self; 11] = [
        Self::Encrypt,
        Self::Decrypt,
        Self::GenerateDataKey,
        Self::Sign,
        Self::Verify,
        Self::AsymmetricEncrypt,
        Self::AsymmetricDecrypt,
        Self::GetPublicKey,
        Self::CreateKey,
        Self::GetSecretValue,
        Self::ScheduleKeyDeletion,
    ];

    /// The API name without the `kms:` prefix.
    pub fn name(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::Sign => "Sign",
            Self::Verify => "Verify",
            Self::AsymmetricEncrypt => "AsymmetricEncrypt",
            Self::AsymmetricDecrypt => "AsymmetricDecrypt",
            Self::GetPublicKey => "GetPublicKey",
            Self::CreateKey => "CreateKey",
            Self::GetSecretValue => "GetSecretValue",
            Self::ScheduleKeyDeletion => "ScheduleKeyDeletion",
        }
    }

    /// What the action applies to.
    pub fn target(self) -> Target {
        match self {
            Self::CreateKey => Target::Instance,
            Self::GetSecretValue => Target::Secret,
            _ => Target::Key,
        }
    }

    /// A bit of its own, for sets of actions.
    pub(super) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The spec's permission templates, as groups of actions.
pub const GROUPS: &[(&str, &[Action])] = &[
    (
        "RbacPermission/Template/CryptoServiceKeyUser",
        &[
            Action::Encrypt,
            Action::Decrypt,
            Action::GenerateDataKey,
            Action::Sign,
            Action::Verify,
            Action::AsymmetricEncrypt,
            Action::AsymmetricDecrypt,
            Action::GetPublicKey,
        ],
    ),
    ("RbacPermission/Template/CryptoServiceSecretUser", &[Action::GetSecretValue]),
];

/// A set of actions, as one statement allows or denies them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions(u16);

impl Actions {
    /// Whether `action` is in the set.
    pub fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Adds one action.
    fn insert(&mut self, action: Action) {
        self.0 |= action.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Reads one `Action` entry of a statement: `kms:Name`, a pattern
    /// over such names (`kms:*`, `kms:Generate*`), or a group. An entry
    /// that names no action is refused: it is a typo, never intended.
    pub fn parse_entry(&mut self, entry: &str) -> Result<(), String> {
        if let Some((_, actions)) = GROUPS.iter().find(|(name, _)| *name == entry) {
            actions.iter().for_each(|a| self.insert(*a));
            return Ok(());
        }
        let Some(name) = entry.strip_prefix("kms:") else {
            return Err(format!(
                "action '{entry}' is neither kms:<Action> nor a group ({})",
                GROUPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
        };
        let pattern = Pattern::new(name).map_err(|why| format!("action '{entry}': {why}"))?;
        let before = *self;
        let mut matched = false;
        for action in Action::ALL {
            if pattern.matches(action.name()) {
                self.insert(action);
                matched = true;
            }
        }
        if !matched {
            *self = before;
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            return Err(format!("action '{entry}' names no action; the actions are kms:{}", known.join(", kms:")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(entries: &[&str]) -> Result<Actions, String> {
        let mut actions = Actions::default();
        for entry in entries {
            actions.parse_entry(entry)?;
        }
        Ok(actions)
    }

    #[test]
    fn names_patterns_and_groups_name_actions() {
        let sign = parsed(&["kms:Sign"]).unwrap();
        assert!(sign.contains(Action::Sign) && !sign.contains(Action::Verify));
        let all = parsed(&["kms:*"]).unwrap();
        assert!(Action::ALL.iter().all(|a| all.contains(*a)));
        let generate = parsed(&["kms:Generate*"]).unwrap();
        assert!(generate.contains(Action::GenerateDataKey) && !generate.contains(Action::Encrypt));
        let keys = parsed(&["RbacPermission/Template/CryptoServiceKeyUser"]).unwrap();
        assert!(keys.contains(Action::Decrypt) && !keys.contains(Action::GetSecretValue));
        assert!(!keys.contains(Action::CreateKey), "creating keys is granted apart from using them");
        let secrets = parsed(&["RbacPermission/Template/CryptoServiceSecretUser"]).unwrap();
        assert!(secrets.contains(Action::GetSecretValue) && !secrets.contains(Action::Sign));
    }

    #[test]
    fn entries_that_name_nothing_are_refused() {
        for bad in ["kms:Sigh", "Sign", "kms:", "kms:Create*Secret", "ecs:*", "RbacPermission/Template/Other"] {
            assert!(parsed(&[bad]).is_err(), "{bad}");
        }
        let why = parsed(&["kms:Sigh"]).unwrap_err();
        assert!(why.contains("kms:Sign"), "lists the actions: {why}");
    }
}
