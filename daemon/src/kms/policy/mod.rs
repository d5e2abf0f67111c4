//! App access policies: which keys and secrets of its instance an app may
//! use, and for what (`docs/policies.md`).
//!
//! An app's policy is a JSON document ([`document`]) stored with the app;
//! the registry keeps it compiled beside the app's row, so the data plane
//! decides every call ([`evaluate`]) against the policy in force at that
//! call: a change applies to open sessions at their next call.

pub mod action;
pub mod document;
pub mod evaluate;
pub mod pattern;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use action::Action;
pub use document::{Document, FULL_ACCESS, NO_ACCESS, Resource};
pub use evaluate::Subject;

use super::KmsError;

/// An app's policy: the document as the operator gave it, and compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The JSON text, as stored and shown by `app describe`.
    pub text: String,
    /// The compiled statements.
    pub document: Arc<Document>,
}

impl Policy {
    /// Compiles a stored policy (already checked when it was set).
    pub fn from_stored(text: &str) -> Result<Self, String> {
        Ok(Self { text: text.to_owned(), document: Arc::new(document::parse(text)?) })
    }

    /// Checks a policy given for an app of `instance`: its document
    /// ([`document::parse`]), and that no resource it names literally
    /// belongs to another instance (`owner` says which instance a literal
    /// key id, alias or secret name belongs to, if it exists). Refusals
    /// are `InvalidParameter`, saying what is wrong.
    pub fn checked(text: &str, instance: &str, owner: impl Fn(&Resource) -> Option<String>) -> Result<Self, KmsError> {
        let policy = Self::from_stored(text).map_err(KmsError::InvalidParameter)?;
        for (index, statement) in policy.document.statements.iter().enumerate() {
            for resource in &statement.resources {
                if let Some(owner) = owner(resource).filter(|owner| owner != instance) {
                    return Err(KmsError::InvalidParameter(format!(
                        "statement {}: {} belongs to instance '{owner}', not to the app's instance '{instance}'",
                        index + 1,
                        describe(resource)
                    )));
                }
            }
        }
        Ok(policy)
    }
}

fn describe(resource: &Resource) -> String {
    match resource {
        Resource::Key(p) => format!("key '{}'", p.literal().unwrap_or_default()),
        Resource::Alias(p) => format!("alias '{}'", p.literal().unwrap_or_default()),
        Resource::Secret(p) => format!("secret '{}'", p.literal().unwrap_or_default()),
        Resource::Any | Resource::Tag { .. } => String::new(),
    }
}
