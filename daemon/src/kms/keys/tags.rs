//! Tag rules: at most 20 per key; keys of 1 to 128 characters that do not
//! start with `aliyun` or `acs:` (reserved, in any case); values of at most
//! 128 characters.

use p11kms_proto::admin::Tag;

use crate::kms::KmsError;

/// Most tags a key may carry.
pub const MAX_TAGS: usize = 20;

/// Checks a set of tags.
pub fn check(tags: &[Tag]) -> Result<(), KmsError> {
    if tags.len() > MAX_TAGS {
        return Err(KmsError::InvalidParameter(format!("a key carries at most {MAX_TAGS} tags, not {}", tags.len())));
    }
    for tag in tags {
        let key = tag.tag_key.as_str();
        let lower = key.to_ascii_lowercase();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(KmsError::InvalidParameter(format!("tag key '{key}' must be 1 to 128 characters")));
        }
        if lower.starts_with("aliyun") || lower.starts_with("acs:") {
            return Err(KmsError::InvalidParameter(format!("tag key '{key}' may not start with 'aliyun' or 'acs:'")));
        }
        if tag.tag_value.chars().count() > 128 {
            return Err(KmsError::InvalidParameter(format!("the value of tag '{key}' is longer than 128 characters")));
        }
    }
    let mut keys: Vec<&str> = tags.iter().map(|t| t.tag_key.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(KmsError::InvalidParameter("a tag key appears twice".into()));
    }
    Ok(())
}

/// `existing` with `added` set (overwriting the values of keys it has).
pub fn merge(existing: &[Tag], added: &[Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> =
        existing.iter().filter(|t| !added.iter().any(|a| a.tag_key == t.tag_key)).cloned().collect();
    out.extend(added.iter().cloned());
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { tag_key: k.into(), tag_value: v.into() }
    }

    #[test]
    fn reserved_prefixes_and_limits_are_refused() {
        assert!(check(&[tag("team", "payments")]).is_ok());
        for bad in ["aliyun:x", "Aliyun", "acs:owner", "ACS:x", ""] {
            assert!(check(&[tag(bad, "v")]).is_err(), "{bad}");
        }
        assert!(check(&[tag("k", &"v".repeat(129))]).is_err());
        let many: Vec<Tag> = (0..21).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(check(&many).is_err());
        assert!(check(&many[..20]).is_ok());
        assert!(check(&[tag("a", "1"), tag("a", "2")]).is_err());
    }

    #[test]
    fn merging_overwrites_values_and_keeps_order() {
        let merged = merge(&[tag("b", "1"), tag("a", "1")], &[tag("b", "2"), tag("c", "3")]);
        assert_eq!(merged, vec![tag("a", "1"), tag("b", "2"), tag("c", "3")]);
    }
}
