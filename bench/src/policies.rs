//! The policy workload's two policies for the bench app, switched over the
//! admin socket between runs: the full-access policy of `--policy all`
//! (one statement), and 50 statements where only the last names the bench
//! keys. The 49 before it name `kms:Sign` too, so each is matched against
//! the key's id, aliases and tags on every signature: the most work a
//! 50-statement policy makes the daemon do for one call.

use std::sync::Mutex;

use p11kms_proto::admin::app::FULL_ACCESS_POLICY;

use crate::Result;
use crate::admin::Admin;

/// The app the benchmark logs in as.
pub const APP: &str = "bench";

/// Statements in the larger policy.
pub const STATEMENTS: usize = 50;

/// The policy a workload runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `--policy all`.
    Full,
    /// [`fifty_statements`].
    Fifty,
}

impl Policy {
    fn text(self) -> String {
        match self {
            Self::Full => FULL_ACCESS_POLICY.to_owned(),
            Self::Fifty => fifty_statements(),
        }
    }
}

/// 49 statements that allow signing with keys other than the bench's (by
/// alias pattern, key id pattern and tag), then one for `alias/bench-*`.
pub fn fifty_statements() -> String {
    let mut statements: Vec<String> = (1..STATEMENTS)
        .map(|i| {
            format!(
                r#"{{"Effect":"Allow","Action":["kms:Sign","kms:Verify","kms:GetPublicKey"],"Resource":["alias/team-{i}-*","key/none-{i}-*","tag:team=t{i}"]}}"#
            )
        })
        .collect();
    statements
        .push(r#"{"Effect":"Allow","Action":["kms:Sign","kms:GetPublicKey"],"Resource":["alias/bench-*"]}"#.into());
    format!(r#"{{"Version":"1","Statement":[{}]}}"#, statements.join(","))
}

/// The policy the bench app has now, on p11kms's target.
#[derive(Debug)]
pub struct Current(Mutex<Policy>);

impl Default for Current {
    fn default() -> Self {
        Self(Mutex::new(Policy::Full))
    }
}

impl Current {
    /// Gives the bench app `wanted` unless it has it already (one admin
    /// call, outside any measured run).
    pub fn switch(&self, admin_socket: &std::path::Path, wanted: Policy) -> Result<()> {
        let mut current = self.0.lock().map_err(|_| "policy lock poisoned")?;
        if *current != wanted {
            Admin::connect(admin_socket)?.update_app_policy(APP, &wanted.text())?;
            *current = wanted;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_larger_policy_has_fifty_statements_and_is_json() {
        let policy: serde_json::Value = serde_json::from_str(&fifty_statements()).expect("JSON");
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), STATEMENTS);
        assert_eq!(statements[STATEMENTS - 1]["Resource"][0], "alias/bench-*");
    }
}
