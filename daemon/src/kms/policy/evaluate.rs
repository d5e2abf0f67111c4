//! Deciding a call: may this app do this action on this key or secret?
//!
//! Deny by default. An action is allowed when an `Allow` statement names
//! it and a resource that matches, and no `Deny` statement names it and a
//! matching resource. The facts (aliases, tags) are the resource's as they
//! are at the call, so a statement over `tag:team=payments` follows a tag
//! change at once. Keys the app created itself are within its policy for
//! every key action while the policy allows `kms:CreateKey` (an app that
//! may make keys may use them), unless a `Deny` says otherwise.
//!
//! Evaluation is a walk over the statements with no allocation: at most
//! `MAX_STATEMENTS × MAX_ENTRIES` pattern matches, each linear in the
//! name's length (measured in `scripts/bench`: a 50-statement policy on
//! every signature).

use p11kms_proto::admin::Tag;

use super::action::{Action, Target};
use super::document::{Document, Resource};

/// What a call acts on, with the facts a policy may test.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A KMS key.
    Key {
        /// Its id.
        id: &'a str,
        /// Its aliases now.
        aliases: &'a [String],
        /// Its tags now.
        tags: &'a [Tag],
        /// Whether the calling app created it.
        own: bool,
    },
    /// A secret.
    Secret {
        /// Its name.
        name: &'a str,
        /// Its tags now.
        tags: &'a [Tag],
    },
    /// The instance (key creation).
    Instance,
}

impl Subject<'_> {
    fn target(&self) -> Target {
        match self {
            Self::Key { .. } => Target::Key,
            Self::Secret { .. } => Target::Secret,
            Self::Instance => Target::Instance,
        }
    }
}

fn tagged(tags: &[Tag], key: &str, value: &super::pattern::Pattern) -> bool {
    tags.iter().any(|t| t.tag_key == key && value.matches(&t.tag_value))
}

impl Resource {
    /// Whether this resource entry names `subject`.
    fn names(&self, subject: &Subject<'_>) -> bool {
        match (self, subject) {
            (Self::Any, _) => true,
            (Self::Key(p), Subject::Key { id, .. }) => p.matches(id),
            // `key/*` is every key, so also the right to make new ones.
            (Self::Key(p), Subject::Instance) => p.matches(""),
            (Self::Alias(p), Subject::Key { aliases, .. }) => aliases.iter().any(|a| p.matches(a)),
            (Self::Secret(p), Subject::Secret { name, .. }) => p.matches(name),
            (Self::Tag { key, value }, Subject::Key { tags, .. } | Subject::Secret { tags, .. }) => {
                tagged(tags, key, value)
            }
            _ => false,
        }
    }
}

impl Document {
    /// Whether `action` on `subject` is allowed.
    pub fn allows(&self, action: Action, subject: &Subject<'_>) -> bool {
        if action.target() != subject.target() {
            return false;
        }
        let mut allowed = false;
        for statement in &self.statements {
            if !statement.actions.contains(action) || !statement.resources.iter().any(|r| r.names(subject)) {
                continue;
            }
            if statement.deny {
                return false;
            }
            allowed = true;
        }
        allowed || self.owns(action, subject)
    }

    /// The own-keys rule (module documentation): a key the app created,
    /// while the policy allows creating keys.
    fn owns(&self, action: Action, subject: &Subject<'_>) -> bool {
        matches!(subject, Subject::Key { own: true, .. })
            && action != Action::CreateKey
            && self.allows(Action::CreateKey, &Subject::Instance)
    }

    /// Whether the app may see `subject` at all: some action on it is
    /// allowed. What an app may not use, it does not find.
    pub fn reveals(&self, subject: &Subject<'_>) -> bool {
        Action::ALL.iter().any(|action| self.allows(*action, subject))
    }
}
