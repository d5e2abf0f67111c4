//! The limits of secrets, as the KMS API's pages give them, and the
//! checks of what users type: names, version ids, stages, values.
//! `docs/secrets.md` lists each with its error code.

use zeroize::Zeroizing;

use p11kms_proto::SecretString;
use p11kms_proto::admin::SecretDataType;
use p11kms_proto::bytes::from_base64;

use crate::kms::KmsError;

/// Longest secret name.
pub const MAX_NAME: usize = 192;
/// Longest version id.
pub const MAX_VERSION_ID: usize = 64;
/// Longest stage.
pub const MAX_STAGE: usize = 64;
/// Largest value, in bytes (binary values: the decoded bytes).
pub const MAX_VALUE: usize = 30_720;
pub use p11kms_proto::admin::secret::MAX_STAGES;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 8192;
/// Longest ExtendedConfig, in bytes.
pub const MAX_EXTENDED_CONFIG: usize = 4096;
/// Shortest recovery window, in days.
pub const MIN_RECOVERY_DAYS: u32 = 7;
/// Longest recovery window, in days.
pub const MAX_RECOVERY_DAYS: u32 = 30;
/// The recovery window when none is given.
pub const DEFAULT_RECOVERY_DAYS: u32 = 30;
/// Shortest rotation interval: 6 hours.
pub const MIN_ROTATION_INTERVAL: i64 = 6 * 3600;
/// Longest rotation interval: 8,760 hours (365 days).
pub const MAX_ROTATION_INTERVAL: i64 = 8760 * 3600;
/// Largest page of a list.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// The prefix reserved for secrets the service manages.
pub const RESERVED_PREFIX: &str = "acs/";

fn invalid(message: String) -> KmsError {
    KmsError::InvalidParameter(message)
}

/// A secret name: 1 to 192 letters, digits and `_ / + = . - @`.
/// Which prefix a type needs or may not have is [`super::managed`]'s.
pub fn check_name(name: &str) -> Result<(), KmsError> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(invalid(format!("SecretName must be 1 to {MAX_NAME} characters long")));
    }
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || "_/+=.-@".contains(*c))) {
        Some(c) => {
            Err(invalid(format!("SecretName '{name}' may not contain {c:?} (letters, digits and _ / + = . - @)")))
        }
        None => Ok(()),
    }
}

/// Version ids and stages: 1 to `max` visible ASCII characters (no
/// spaces, no control characters), so that they print and compare as
/// typed.
fn check_token(what: &str, text: &str, max: usize) -> Result<(), KmsError> {
    if text.is_empty() || text.len() > max {
        return Err(invalid(format!("{what} must be 1 to {max} characters long")));
    }
    match text.chars().find(|c| !c.is_ascii_graphic()) {
        Some(c) => Err(invalid(format!("{what} '{}' may not contain {c:?}", text.escape_default()))),
        None => Ok(()),
    }
}

/// A version id: 1 to 64 visible ASCII characters.
pub fn check_version_id(version_id: &str) -> Result<(), KmsError> {
    check_token("VersionId", version_id, MAX_VERSION_ID)
}

/// A stage: 1 to 64 visible ASCII characters.
pub fn check_stage(stage: &str) -> Result<(), KmsError> {
    check_token("VersionStage", stage, MAX_STAGE)
}

/// The stages of a new version: each valid, none twice, at most
/// [`MAX_STAGES`].
pub fn check_stages(stages: &[String]) -> Result<(), KmsError> {
    stages.iter().try_for_each(|s| check_stage(s))?;
    let mut sorted: Vec<&String> = stages.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("VersionStages names a stage twice".into()));
    }
    if stages.len() > MAX_STAGES {
        return Err(KmsError::LimitExceeded(format!("a secret carries at most {MAX_STAGES} stages")));
    }
    Ok(())
}

/// The bytes of `SecretData` as given: a text value's UTF-8, a binary
/// one's base64 decoded. 1 to [`MAX_VALUE`] bytes.
pub fn value_bytes(data: &SecretString, data_type: SecretDataType) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let bytes = match data_type {
        SecretDataType::Text => Zeroizing::new(data.expose().as_bytes().to_vec()),
        SecretDataType::Binary => Zeroizing::new(
            from_base64(data.expose()).map_err(|_| invalid("SecretData of a binary secret must be base64".into()))?,
        ),
    };
    if bytes.is_empty() {
        return Err(invalid("SecretData must not be empty".into()));
    }
    if bytes.len() > MAX_VALUE {
        return Err(invalid(format!("SecretData is {} bytes; at most {MAX_VALUE} are kept", bytes.len())));
    }
    Ok(bytes)
}

/// A description: at most [`MAX_DESCRIPTION`] bytes.
pub fn check_description(description: &str) -> Result<(), KmsError> {
    if description.len() > MAX_DESCRIPTION {
        return Err(invalid(format!("Description is longer than {MAX_DESCRIPTION} bytes")));
    }
    Ok(())
}

/// A rotation interval: 6 hours to 365 days.
pub fn check_rotation_interval(seconds: i64) -> Result<(), KmsError> {
    if (MIN_ROTATION_INTERVAL..=MAX_ROTATION_INTERVAL).contains(&seconds) {
        return Ok(());
    }
    Err(invalid(format!(
        "RotationInterval must be between 6 hours and 8760 hours ({MIN_ROTATION_INTERVAL}s to \
         {MAX_ROTATION_INTERVAL}s), not {seconds}s"
    )))
}

/// A recovery window in days: 7 to 30, 30 when absent.
pub fn recovery_days(days: Option<u32>) -> Result<u32, KmsError> {
    let days = days.unwrap_or(DEFAULT_RECOVERY_DAYS);
    if !(MIN_RECOVERY_DAYS..=MAX_RECOVERY_DAYS).contains(&days) {
        return Err(invalid(format!(
            "RecoveryWindowInDays must be between {MIN_RECOVERY_DAYS} and {MAX_RECOVERY_DAYS}, not {days}"
        )));
    }
    Ok(days)
}

/// A page of a list: (number from 1, size 1 to 100).
pub fn page(number: Option<u32>, size: Option<u32>) -> Result<(u32, u32), KmsError> {
    let number = number.unwrap_or(1);
    let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
    if number == 0 {
        return Err(invalid("PageNumber starts at 1".into()));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(invalid(format!("PageSize must be between 1 and {MAX_PAGE_SIZE}, not {size}")));
    }
    Ok((number, size))
}

/// The items of page `number` of size `size`.
pub fn page_of<T>(items: Vec<T>, number: u32, size: u32) -> Vec<T> {
    let skip = (number as usize - 1).saturating_mul(size as usize);
    items.into_iter().skip(skip).take(size as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_api_characters_up_to_192() {
        assert!(check_name("db/prod+main=1.x-y@z_").is_ok());
        assert!(check_name(&"n".repeat(192)).is_ok());
        for bad in ["", "a b", "név", "a:b", "a#b", &"n".repeat(193)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_ids_and_stages_are_visible_ascii_up_to_64() {
        assert!(check_version_id("v1").is_ok());
        assert!(check_version_id(&"v".repeat(64)).is_ok());
        for bad in ["", "a b", "tab\t", &"v".repeat(65)] {
            assert!(check_version_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_stages(&["ACSCurrent".into(), "custom".into()]).is_ok());
        assert!(matches!(check_stages(&["a".into(), "a".into()]), Err(KmsError::InvalidParameter(_))));
        let nine: Vec<String> = (0..9).map(|i| format!("s{i}")).collect();
        assert!(matches!(check_stages(&nine), Err(KmsError::LimitExceeded(_))));
    }

    #[test]
    fn values_are_1_to_30720_bytes_and_binary_ones_base64() {
        let text = |t: &str| value_bytes(&SecretString::new(t.into()), SecretDataType::Text);
        assert_eq!(text("pw").expect("text").as_slice(), b"pw");
        assert!(text("").is_err());
        assert!(text(&"x".repeat(MAX_VALUE)).is_ok());
        assert!(text(&"x".repeat(MAX_VALUE + 1)).is_err());
        let binary = |t: &str| value_bytes(&SecretString::new(t.into()), SecretDataType::Binary);
        assert_eq!(binary("AAH/").expect("binary").as_slice(), &[0, 1, 255]);
        assert!(binary("not base64!").is_err());
    }

    #[test]
    fn windows_intervals_and_pages_have_their_bounds() {
        assert_eq!(recovery_days(None).expect("default"), 30);
        assert!(recovery_days(Some(7)).is_ok() && recovery_days(Some(30)).is_ok());
        assert!(recovery_days(Some(6)).is_err() && recovery_days(Some(31)).is_err());
        assert!(check_rotation_interval(6 * 3600).is_ok() && check_rotation_interval(365 * 86_400).is_ok());
        assert!(check_rotation_interval(6 * 3600 - 1).is_err() && check_rotation_interval(366 * 86_400).is_err());
        assert_eq!(page(None, None).expect("page"), (1, 10));
        assert!(page(Some(0), None).is_err() && page(None, Some(101)).is_err() && page(None, Some(0)).is_err());
        assert_eq!(page_of((1..=25).collect(), 3, 10), vec![21, 22, 23, 24, 25]);
        assert!(page_of((1..=5).collect::<Vec<i32>>(), 2, 10).is_empty());
    }
}
