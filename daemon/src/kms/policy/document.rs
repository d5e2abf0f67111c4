//! A policy document as operators write it (JSON, the shape of the
//! spec's permission policies) and its compiled form.
//!
//! ```json
//! {"Version": "1", "Statement": [
//!   {"Effect": "Allow", "Action": ["kms:Sign", "kms:Verify"], "Resource": ["alias/signing", "tag:team=payments"]},
//!   {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "secret/db/*"},
//!   {"Effect": "Deny", "Action": "kms:*", "Resource": "key/key-0123*"}]}
//! ```
//!
//! Parsing checks everything that can be checked without the registry:
//! the shape (unknown fields refused), the version, each action entry,
//! each resource's syntax, and the sizes.

use serde::Deserialize;

use super::action::Actions;
use super::pattern::Pattern;

/// The only document version.
pub const VERSION: &str = "1";
/// Most statements in a policy.
pub const MAX_STATEMENTS: usize = 100;
/// Most action or resource entries in one statement.
pub const MAX_ENTRIES: usize = 100;
/// Largest policy document, in bytes.
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;

/// A policy allowing every action on every key and secret of the app's
/// instance (`--policy all`; what apps made before policies existed got;
/// the store's migration 6 writes the same text).
pub use p11kms_proto::admin::app::FULL_ACCESS_POLICY as FULL_ACCESS;

/// A policy allowing nothing (an app created without one).
pub use p11kms_proto::admin::app::NO_ACCESS_POLICY as NO_ACCESS;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentJson {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Statement")]
    statement: Vec<StatementJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementJson {
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Action")]
    action: OneOrMany,
    #[serde(rename = "Resource")]
    resource: OneOrMany,
}

/// `"x"` or `["x", "y"]`, as policies write lists.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

/// What a statement's resource entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `*`: every key and secret of the instance, and the instance itself
    /// (key creation).
    Any,
    /// `key/<pattern>`: keys by id; `key/*` also covers key creation.
    Key(Pattern),
    /// `alias/<pattern>`: keys by any of their aliases (the whole alias,
    /// `alias/` included, is matched), as they are at each call.
    Alias(Pattern),
    /// `secret/<pattern>`: secrets by name.
    Secret(Pattern),
    /// `tag:<key>=<pattern>`: keys and secrets carrying tag `key` with a
    /// value the pattern matches, as their tags are at each call.
    Tag {
        /// The tag key, exactly.
        key: String,
        /// The tag value's pattern.
        value: Pattern,
    },
}

impl Resource {
    /// Reads one `Resource` entry.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let pattern = |text: &str| Pattern::new(text).map_err(|why| format!("resource '{entry}': {why}"));
        if entry == "*" {
            return Ok(Self::Any);
        }
        if let Some(id) = entry.strip_prefix("key/") {
            return Ok(Self::Key(pattern(id)?));
        }
        if entry.starts_with("alias/") {
            return Ok(Self::Alias(pattern(entry)?));
        }
        if let Some(name) = entry.strip_prefix("secret/") {
            return Ok(Self::Secret(pattern(name)?));
        }
        if let Some(tag) = entry.strip_prefix("tag:") {
            let Some((key, value)) = tag.split_once('=') else {
                return Err(format!("resource '{entry}': a tag condition is tag:<key>=<value>"));
            };
            if key.is_empty() || key.contains('*') {
                return Err(format!("resource '{entry}': the tag key is written out, without wildcards"));
            }
            // An empty value is a real tag value; `*` matches any.
            let value = if value.is_empty() { Pattern::exact_empty() } else { pattern(value)? };
            return Ok(Self::Tag { key: key.to_owned(), value });
        }
        Err(format!("resource '{entry}' is none of *, key/<id>, alias/<alias>, secret/<name>, tag:<key>=<value>"))
    }
}

/// One compiled statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// A `Deny` statement (which wins over every `Allow`).
    pub deny: bool,
    /// The actions it names.
    pub actions: Actions,
    /// The resources it names.
    pub resources: Vec<Resource>,
}

/// A compiled policy: its statements, and the document as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The statements, in the document's order.
    pub statements: Vec<Statement>,
}

/// Parses and compiles a policy document; the error says what is wrong,
/// naming the statement (counted from 1).
pub fn parse(text: &str) -> Result<Document, String> {
    if text.len() > MAX_DOCUMENT_LEN {
        return Err(format!("a policy has at most {MAX_DOCUMENT_LEN} bytes"));
    }
    let json: DocumentJson =
        serde_json::from_str(text).map_err(|e| format!("the policy is not a policy document: {e}"))?;
    if json.version != VERSION {
        return Err(format!("policy Version '{}': the only version is \"{VERSION}\"", json.version));
    }
    if json.statement.len() > MAX_STATEMENTS {
        return Err(format!("a policy has at most {MAX_STATEMENTS} statements"));
    }
    let mut statements = Vec::with_capacity(json.statement.len());
    for (index, s) in json.statement.into_iter().enumerate() {
        let at = |why: String| format!("statement {}: {why}", index + 1);
        let deny = match s.effect.as_str() {
            "Allow" => false,
            "Deny" => true,
            other => return Err(at(format!("Effect '{other}' is neither Allow nor Deny"))),
        };
        let (action, resource) = (s.action.into_vec(), s.resource.into_vec());
        if action.is_empty() || resource.is_empty() {
            return Err(at("a statement names at least one action and one resource".into()));
        }
        if action.len() > MAX_ENTRIES || resource.len() > MAX_ENTRIES {
            return Err(at(format!("a statement has at most {MAX_ENTRIES} actions and {MAX_ENTRIES} resources")));
        }
        let mut actions = Actions::default();
        for entry in &action {
            actions.parse_entry(entry).map_err(at)?;
        }
        let resources = resource.iter().map(|r| Resource::parse(r)).collect::<Result<_, _>>().map_err(at)?;
        statements.push(Statement { deny, actions, resources });
    }
    Ok(Document { statements })
}
