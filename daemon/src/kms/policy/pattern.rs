//! Patterns with `*` wildcards, as policies write resources and actions:
//! `key/key-*`, `secret/db/*`, `kms:Generate*`. A `*` matches any run of
//! characters, `/` included; everything else matches itself, exactly and
//! case-sensitively (key ids, aliases and secret names are).

/// A compiled pattern: its literal pieces between the wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The literal pieces; a `*` stands between each two.
    pieces: Vec<String>,
}

/// Longest pattern accepted: as long as the longest name it can match.
const MAX_LEN: usize = 256;

impl Pattern {
    /// Compiles `text`. Empty patterns and overlong ones are refused.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("an empty pattern matches nothing".into());
        }
        if text.len() > MAX_LEN {
            return Err(format!("a pattern has at most {MAX_LEN} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("a pattern has no control characters".into());
        }
        Ok(Self { pieces: text.split('*').map(str::to_owned).collect() })
    }

    /// The pattern that matches only the empty string (a tag value may be
    /// empty; `Pattern::new` refuses an empty text as a likely mistake).
    pub fn exact_empty() -> Self {
        Self { pieces: vec![String::new()] }
    }

    /// True when the pattern has no wildcard.
    pub fn is_literal(&self) -> bool {
        self.pieces.len() == 1
    }

    /// The text of a literal pattern.
    pub fn literal(&self) -> Option<&str> {
        self.is_literal().then(|| self.pieces[0].as_str())
    }

    /// Whether `text` matches: the first piece starts it, the last ends
    /// it, and the others appear in order between (the leftmost match of
    /// each is always a right choice, so this is linear, with no
    /// backtracking a hostile pattern could make slow).
    pub fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(text)
    }

    #[test]
    fn literals_match_only_themselves() {
        assert!(matches("key-1", "key-1"));
        assert!(!matches("key-1", "key-12"));
        assert!(!matches("key-1", "Key-1"));
        assert!(Pattern::new("key-1").unwrap().is_literal());
    }

    #[test]
    fn wildcards_match_any_run() {
        assert!(matches("*", ""));
        assert!(matches("*", "db/orders"));
        assert!(matches("db/*", "db/orders"));
        assert!(matches("db/*", "db/"));
        assert!(!matches("db/*", "dbx/orders"));
        assert!(matches("*/orders", "eu/db/orders"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-c-b"));
        assert!(!matches("ab*ba", "aba"), "the two ends may not overlap");
        assert!(matches("**", "x"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Pattern::new("").is_err());
        assert!(Pattern::new(&"x".repeat(257)).is_err());
        assert!(Pattern::new("a\nb").is_err());
    }
}
