//! The rules for names users choose (instances, apps, aliases) and the
//! shape of the ids the daemon makes (key ids, version ids).

use uuid::Uuid;

/// Why a name was refused.
pub type NameError = String;

fn check(what: &str, name: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), NameError> {
    if name.is_empty() || name.len() > max {
        return Err(format!("{what} must be 1 to {max} characters long"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{what} '{name}' must start with a letter or digit"));
    }
    match name.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!("{what} '{name}' may not contain {c:?}")),
        None => Ok(()),
    }
}

/// Instance (and cluster) names: they are PKCS#11 token labels, so at most
/// 32 bytes; lowercase letters, digits, `-` and `_`.
pub fn check_instance_name(name: &str) -> Result<(), NameError> {
    check("instance name", name, 32, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// App names: letters, digits, `.`, `-`, `_`; at most 64.
pub fn check_app_name(name: &str) -> Result<(), NameError> {
    check("app name", name, 64, |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The prefix every alias carries.
pub const ALIAS_PREFIX: &str = "alias/";

/// Where the aliases of the daemon's service keys live.
pub const SERVICE_ALIAS_SPACE: &str = "alias/acs/";

/// Aliases: `alias/` then 1 to 255 letters, digits, `_`, `-`, `/`. Only
/// the shape: whether a user may have the name (the `alias/acs/` space is
/// the service keys') is `keys::service::check_user_alias`, which answers
/// with its own code.
pub fn check_alias(alias: &str) -> Result<(), NameError> {
    let Some(rest) = alias.strip_prefix(ALIAS_PREFIX) else {
        return Err(format!("alias '{alias}' must start with '{ALIAS_PREFIX}'"));
    };
    if rest.is_empty() || rest.len() > 255 {
        return Err(format!("alias '{alias}' must have 1 to 255 characters after '{ALIAS_PREFIX}'"));
    }
    if let Some(c) = rest.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/'))) {
        return Err(format!("alias '{alias}' may not contain {c:?}"));
    }
    Ok(())
}

/// Aliases of the daemon's service keys: `alias/acs/` then letters,
/// digits, `_`, `-`, `/` (`alias/acs/secrets/hsm1`).
pub fn check_service_alias(alias: &str) -> Result<(), NameError> {
    let Some(rest) = alias.strip_prefix(SERVICE_ALIAS_SPACE) else {
        return Err(format!("service key alias '{alias}' must start with '{SERVICE_ALIAS_SPACE}'"));
    };
    if rest.is_empty() || rest.len() > 251 || !rest.chars().all(|c| c.is_ascii_alphanumeric() || "_-/".contains(c)) {
        return Err(format!("service key alias '{alias}' is not a valid alias"));
    }
    Ok(())
}

/// A new key id: `key-` and 32 hex digits.
pub fn new_key_id() -> String {
    format!("key-{}", Uuid::new_v4().simple())
}

/// True for strings shaped like key ids.
pub fn is_key_id(text: &str) -> bool {
    text.strip_prefix("key-").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new version id (a UUID) and its 16 bytes (the HSM objects' `CKA_ID`).
pub fn new_version_id() -> (String, [u8; 16]) {
    let id = Uuid::new_v4();
    (id.to_string(), *id.as_bytes())
}

/// The 16 bytes of a version id.
pub fn version_bytes(version_id: &str) -> Option<[u8; 16]> {
    Uuid::parse_str(version_id).ok().map(|u| *u.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        assert!(check_instance_name("hsm1").is_ok());
        assert!(check_instance_name("prod-eu_2").is_ok());
        for bad in ["", "Hsm", "-x", "a b", &"x".repeat(33)] {
            assert!(check_instance_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aliases() {
        assert!(check_alias("alias/web/signing-key_1").is_ok());
        for bad in ["web", "alias/", "alias/a b"] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
        // Well-formed: that users cannot have them is another rule.
        assert!(check_alias("alias/acs/ecs").is_ok() && check_alias("alias/acs").is_ok());
        assert!(check_service_alias("alias/acs/secrets/hsm1").is_ok());
        for bad in ["alias/web", "alias/acs/", "alias/acs/a b"] {
            assert!(check_service_alias(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids() {
        let key = new_key_id();
        assert!(is_key_id(&key), "{key}");
        assert!(!is_key_id("alias/x"));
        let (text, bytes) = new_version_id();
        assert_eq!(version_bytes(&text), Some(bytes));
        assert_eq!(version_bytes("nope"), None);
    }
}
