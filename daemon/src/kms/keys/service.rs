//! Service keys: the keys the daemon makes for its own features (today the
//! default key of secrets, `alias/acs/secrets/<instance>`, see
//! `kms::secrets::service_key`), as `shared/spec/cmk-migration.txt`
//! describes them: creator `service:<feature>`, an alias in the
//! `alias/acs/` space, `KeyManagerType` `Service Key`. Every other key is a
//! CMK.
//!
//! A service key is the daemon's alone. Users may look at it (describe,
//! list, versions) and the daemon uses it; anything that would change it,
//! its aliases or its material is refused with
//! `Rejected.UnsupportedOperation` ([`KmsError::ServiceKey`]), whatever the
//! key's state: disabling or deleting it would lose every secret it
//! protects, rotating or re-aliasing it would change what the daemon
//! finds. The check is an allow-list (`rules::service_key_allows`), part of
//! `rules::check`, so an operation added later (migration) is refused for
//! service keys until someone decides otherwise.

use p11kms_proto::admin::KeyManagerType;

use crate::kms::KmsError;
use crate::kms::names::SERVICE_ALIAS_SPACE;
use crate::store::KeyRecord;

/// What a service key's creator starts with: `service:<feature>`.
pub const CREATOR_PREFIX: &str = "service:";

/// True for the creator of the daemon's own keys (`service:<feature>`).
/// Users cannot take such a creator: the admin plane writes
/// `admin:<uid>`, the data plane `app:<name>`.
pub fn is_service_creator(creator: &str) -> bool {
    creator.starts_with(CREATOR_PREFIX)
}

/// True for a key the daemon made for its own use.
pub fn is_service_key(key: &KeyRecord) -> bool {
    is_service_creator(&key.creator)
}

/// `KeyManagerType` of a key, as `key describe` and `key list` show it.
pub fn manager_type(key: &KeyRecord) -> KeyManagerType {
    if is_service_key(key) { KeyManagerType::ServiceKey } else { KeyManagerType::Cmk }
}

/// True for an alias in the space of service keys: `alias/acs` and
/// everything under `alias/acs/`.
pub fn is_service_alias(alias: &str) -> bool {
    alias.starts_with(SERVICE_ALIAS_SPACE) || alias == SERVICE_ALIAS_SPACE.trim_end_matches('/')
}

/// Refuses an alias a user names (to create, move or delete it) in the
/// space of service keys.
pub fn check_user_alias(alias: &str) -> Result<(), KmsError> {
    if is_service_alias(alias) { Err(KmsError::ServiceAlias(alias.to_owned())) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_alias_space_is_alias_acs_and_below() {
        for alias in ["alias/acs", "alias/acs/secrets/hsm1", "alias/acs/x"] {
            assert!(is_service_alias(alias), "{alias}");
        }
        for alias in ["alias/acsx", "alias/web/acs/x", "alias/ACS/x", "alias/x"] {
            assert!(!is_service_alias(alias), "{alias}");
        }
    }

    #[test]
    fn service_creators_are_the_daemons() {
        assert!(is_service_creator("service:secrets"));
        assert!(!is_service_creator("admin:0") && !is_service_creator("app:service:x"));
    }
}
