//! What the caller of one data-plane request may see and do: the app
//! logged in to the slot and its policy in force at this call
//! (`docs/policies.md`).
//!
//! Read afresh for every request, from the registry the request reads
//! anyway, so a policy change, an alias moved or a tag changed applies to
//! every open session at its next call: nothing is cached per session.
//!
//! A session that is not logged in has no app and no policy: it sees the
//! public key objects and may use them as PKCS#11 lets anyone (verify,
//! encrypt), which tells nothing a public key does not. Once logged in,
//! the app sees only the keys and secrets its policy lets it use, and each
//! action is decided against the policy.
//!
//! Service keys (`kms::keys::service`) are seen by no one, whatever the
//! policy: the daemon uses them itself, through the vault (a secret's
//! value reaches an app as the secret's object, never as a use of its
//! key), so an app has nothing to do with one, and one it could see it
//! could use on any ciphertext that key made.

use std::sync::Arc;

use p11kms_proto::data::ClientId;

use super::clients::Clients;
use super::error::DataError;
use crate::kms::keys::service;
use crate::kms::policy::{Action, Document, Subject};
use crate::kms::registry::{KeyEntry, Registry};
use crate::kms::secrets::entry::SecretEntry;

/// The caller's rights for one request.
#[derive(Clone, Debug)]
pub struct Access {
    /// The app logged in to the slot and its policy; none before the login.
    login: Option<(String, Arc<Document>)>,
}

/// An app's policy that allows nothing: an app whose row is gone (deleted
/// while one of its requests was on its way) may do nothing.
fn nothing() -> Arc<Document> {
    Arc::new(Document { statements: Vec::new() })
}

impl Access {
    /// The rights of `client` in `slot` now. Takes the clients' lock
    /// inside the registry's, the order every data-plane request keeps.
    pub fn of(clients: &Clients, registry: &Registry, client: &ClientId, slot: u64) -> Self {
        let login = clients.app(client, slot).map(|app| {
            let policy = registry.app_policy(&app).unwrap_or_else(nothing);
            (app, policy)
        });
        Self { login }
    }

    /// Rights of an app with `policy`, for tests.
    #[cfg(test)]
    pub fn app(app: &str, policy: Arc<Document>) -> Self {
        Self { login: Some((app.to_owned(), policy)) }
    }

    /// Rights of a session that is not logged in, for tests.
    #[cfg(test)]
    pub fn anonymous() -> Self {
        Self { login: None }
    }

    /// True when an app is logged in to the slot.
    pub fn is_logged_in(&self) -> bool {
        self.login.is_some()
    }

    /// The app logged in, if any.
    pub fn app_name(&self) -> Option<&str> {
        self.login.as_ref().map(|(app, _)| app.as_str())
    }

    /// Whether the caller may see `key` at all. Never a service key.
    /// Otherwise, before the login, every key (its public objects only:
    /// `ObjectView::is_private` decides); after, the keys for which the
    /// policy allows some action.
    pub fn sees_key(&self, key: &KeyEntry) -> bool {
        if service::is_service_key(&key.record) {
            return false;
        }
        match &self.login {
            None => true,
            Some((app, policy)) => policy.reveals(&key_subject(key, app)),
        }
    }

    /// Whether the caller may see `secret`: after the login, and when the
    /// policy allows reading it.
    pub fn sees_secret(&self, secret: &SecretEntry) -> bool {
        match &self.login {
            None => false,
            Some((_, policy)) => policy.reveals(&secret_subject(secret)),
        }
    }

    /// Allows `action` on `key`, or says who may not do what. A session
    /// that is not logged in reaches this only for the public operations
    /// PKCS#11 allows anyone; its callers check the login first.
    pub fn check_key(&self, action: Action, key: &KeyEntry) -> Result<(), DataError> {
        match &self.login {
            None => Ok(()),
            Some((app, policy)) if policy.allows(action, &key_subject(key, app)) => Ok(()),
            Some((app, _)) => Err(denied(app, action, format!("key/{}", key.record.key_id))),
        }
    }

    /// Allows reading `secret`'s value, or says who may not.
    pub fn check_secret(&self, secret: &SecretEntry) -> Result<(), DataError> {
        match &self.login {
            Some((_, policy)) if policy.allows(Action::GetSecretValue, &secret_subject(secret)) => Ok(()),
            Some((app, _)) => Err(denied(app, Action::GetSecretValue, format!("secret/{}", secret.record.name))),
            None => Err(super::error::rv(cryptoki_sys::CKR_USER_NOT_LOGGED_IN)),
        }
    }

    /// Allows creating a key in the instance, or says who may not.
    pub fn check_create(&self, instance: &str) -> Result<(), DataError> {
        match &self.login {
            Some((_, policy)) if policy.allows(Action::CreateKey, &Subject::Instance) => Ok(()),
            Some((app, _)) => Err(denied(app, Action::CreateKey, format!("instance/{instance}"))),
            None => Err(super::error::rv(cryptoki_sys::CKR_USER_NOT_LOGGED_IN)),
        }
    }
}

fn denied(app: &str, action: Action, resource: String) -> DataError {
    DataError::Denied { app: app.to_owned(), action, resource }
}

/// `key` as a policy sees it; `own` when `app` created it through PKCS#11.
fn key_subject<'a>(key: &'a KeyEntry, app: &str) -> Subject<'a> {
    let own = key.record.creator.strip_prefix("app:").is_some_and(|creator| creator == app);
    Subject::Key { id: &key.record.key_id, aliases: &key.aliases, tags: &key.record.tags, own }
}

fn secret_subject(secret: &SecretEntry) -> Subject<'_> {
    Subject::Secret { name: &secret.record.name, tags: &secret.record.tags }
}

#[cfg(test)]
mod tests {
    use cryptoki_sys::*;
    use p11kms_proto::admin::{KeySpec, KeyUsage, Tag};

    use super::*;
    use crate::data::objects::tests::key;
    use crate::kms::policy::document;

    fn policy(text: &str) -> Arc<Document> {
        Arc::new(document::parse(text).expect("policy"))
    }

    fn signing_key() -> KeyEntry {
        key(KeySpec::EcP256, KeyUsage::SignVerify, &["v1"])
    }

    #[test]
    fn before_the_login_keys_are_seen_and_their_public_use_is_pkcs11s() {
        let anonymous = Access::anonymous();
        let key = signing_key();
        assert!(anonymous.sees_key(&key) && !anonymous.is_logged_in());
        assert_eq!(anonymous.check_key(Action::Verify, &key), Ok(()));
        assert_eq!(anonymous.check_create("hsm1").map_err(|e| e.ck_rv()), Err(CKR_USER_NOT_LOGGED_IN));
    }

    #[test]
    fn a_logged_in_app_sees_and_uses_what_its_policy_allows() {
        let sign_only =
            policy(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"alias/k1"}]}"#);
        let web = Access::app("web", sign_only);
        let key = signing_key();
        assert!(web.sees_key(&key));
        assert_eq!(web.check_key(Action::Sign, &key), Ok(()));
        let refused = web.check_key(Action::Decrypt, &key).expect_err("not allowed");
        assert_eq!(refused.ck_rv(), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_eq!(refused.to_string(), "app 'web' may not kms:Decrypt on key/key-1: its policy does not allow it");
        assert_eq!(web.check_create("hsm1").map_err(|e| e.ck_rv()), Err(CKR_ACTION_PROHIBITED));

        let nothing = Access::app("web", nothing());
        assert!(!nothing.sees_key(&key));
    }

    #[test]
    fn keys_an_app_made_are_its_own_while_it_may_make_keys() {
        let create =
            policy(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"key/*"}]}"#);
        let mut key = signing_key();
        key.record.creator = "app:builder".into();
        assert_eq!(Access::app("builder", create.clone()).check_key(Action::Sign, &key), Ok(()));
        assert!(!Access::app("other", create.clone()).sees_key(&key), "another app's key");
        key.record.creator = "admin:0".into();
        assert!(!Access::app("builder", create).sees_key(&key), "a key the operator made");
    }

    #[test]
    fn service_keys_are_seen_by_no_app_and_no_anonymous_session() {
        let mut key = key(KeySpec::Aes256, KeyUsage::EncryptDecrypt, &["v1"]);
        let everything = policy(document::FULL_ACCESS);
        assert!(Access::app("web", everything.clone()).sees_key(&key), "a CMK, with the full policy");
        key.record.creator = "service:secrets".into();
        key.aliases = vec!["alias/acs/secrets/hsm1".into()];
        assert!(!Access::app("web", everything).sees_key(&key), "not even with the full policy");
        assert!(!Access::anonymous().sees_key(&key), "nor before the login");
        let by_alias =
            policy(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"alias/acs/*"}]}"#);
        assert!(!Access::app("web", by_alias).sees_key(&key), "nor by naming its alias");
    }

    #[test]
    fn tags_are_read_from_the_key_at_each_check() {
        let team = policy(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"tag:team=payments"}]}"#,
        );
        let payments = Access::app("payments", team);
        let mut key = signing_key();
        assert!(!payments.sees_key(&key));
        key.record.tags.push(Tag { tag_key: "team".into(), tag_value: "payments".into() });
        assert!(payments.sees_key(&key));
        assert_eq!(payments.check_key(Action::Sign, &key), Ok(()));
    }
}
