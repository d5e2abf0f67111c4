//! Secrets (the KMS API's secrets manager): the names users type
//! (`SecretType`, `SecretDataType`, the system stages), the requests of
//! the secret operations ([`requests`]) and their replies with the API's
//! field names ([`replies`]).
//!
//! A value travels as the API carries `SecretData`: a text secret as its
//! text, a binary one as base64 text; the daemon stores and hands out the
//! raw bytes. Values are [`crate::SecretString`]: redacted in `Debug`,
//! wiped when dropped.

pub mod replies;
pub mod requests;

use super::names::named_enum;

named_enum! {
    /// What a secret holds, and who changes its value.
    pub enum SecretType {
        /// Any value; its owner puts new versions (PutSecretValue).
        Generic => "Generic",
        /// An ApsaraDB RDS account; the daemon rotates its password.
        Rds => "Rds",
        /// A RAM user's AccessKey pair; the daemon rotates it.
        RamCredentials => "RAMCredentials",
        /// An ECS instance's login; the daemon rotates its password.
        Ecs => "ECS",
    }
}

impl SecretType {
    /// True for the types whose values the daemon makes by rotation.
    pub fn is_managed(self) -> bool {
        self != Self::Generic
    }

    /// Parses a type as users type it: the API's names in any case, and
    /// `RAM` for `RAMCredentials`.
    pub fn parse_lenient(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("RAM") {
            return Ok(Self::RamCredentials);
        }
        text.parse()
    }
}

named_enum! {
    /// How `SecretData` is given and returned.
    pub enum SecretDataType {
        /// UTF-8 text, as is.
        Text => "text",
        /// Bytes, in base64.
        Binary => "binary",
    }
}

/// The stage of the version in use: every secret has exactly one version
/// with it.
pub const ACS_CURRENT: &str = "ACSCurrent";
/// The stage of the version that was ACSCurrent before the last move.
pub const ACS_PREVIOUS: &str = "ACSPrevious";

/// Most stages the versions of one secret carry together (the API's
/// limit).
pub const MAX_STAGES: usize = 8;

/// True for the stages the service manages (moved, never removed).
pub fn is_system_stage(stage: &str) -> bool {
    stage == ACS_CURRENT || stage == ACS_PREVIOUS
}

pub use replies::{
    SecretCreated, SecretDeleted, SecretDescription, SecretList, SecretListEntry, SecretNamed, SecretRotated,
    SecretValue, SecretVersionInfo, SecretVersionList, SecretVersionPut,
};
pub use requests::{
    CreateSecretRequest, DeleteSecretRequest, DescribeSecretRequest, GetSecretValueRequest,
    ListSecretVersionIdsRequest, ListSecretsRequest, PutSecretValueRequest, RotateSecretRequest, SecretFilter,
    SecretRef, UpdateSecretRequest, UpdateSecretRotationPolicyRequest, UpdateSecretVersionStageRequest,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_as_the_api_and_users_write_them() {
        assert_eq!(SecretType::parse_lenient("RAM"), Ok(SecretType::RamCredentials));
        assert_eq!(SecretType::parse_lenient("ramcredentials"), Ok(SecretType::RamCredentials));
        assert_eq!(SecretType::parse_lenient("ecs"), Ok(SecretType::Ecs));
        assert!(SecretType::parse_lenient("Redis").is_err());
        assert_eq!(SecretType::Ecs.to_string(), "ECS");
        assert!(!SecretType::Generic.is_managed() && SecretType::Rds.is_managed());
        assert_eq!("BINARY".parse::<SecretDataType>(), Ok(SecretDataType::Binary));
        assert!(is_system_stage("ACSPrevious") && !is_system_stage("acscurrent"));
    }
}
