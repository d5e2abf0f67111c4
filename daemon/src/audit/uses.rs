//! Cryptographic uses of keys through PKCS#11, counted per app, key
//! version, operation and result, and written as one record per group at
//! most a second after its first use: 10,000 signatures a second make a
//! few records a second, not 10,000 (`audit.per_call_uses` records each).

use std::collections::HashMap;

use p11kms_proto::Timestamp;
use p11kms_proto::audit::{Event, EventSource, SUCCESS, UserIdentity, Uses};

/// What uses are counted by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UseKey {
    /// The app (and uid) using the key.
    pub uid: u32,
    /// The app.
    pub app: Option<String>,
    /// The instance.
    pub instance: String,
    /// The key.
    pub key_id: String,
    /// The version.
    pub version_id: String,
    /// `Sign`, `Verify`, `Encrypt`, `Decrypt`, …
    pub operation: &'static str,
    /// `Success` or the refusal's code.
    pub result: String,
}

/// Uses counted and not yet written.
#[derive(Debug, Default)]
pub struct Pending(HashMap<UseKey, Uses>);

impl Pending {
    /// Counts one use at `now`.
    pub fn add(&mut self, key: UseKey, now: Timestamp) {
        self.0
            .entry(key)
            .and_modify(|uses| {
                uses.count += 1;
                uses.last_time = now;
            })
            .or_insert(Uses { count: 1, first_time: now, last_time: now });
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything counted, as events (oldest first use first), and forgets it.
    pub fn drain(&mut self, region: &str, mut request_id: impl FnMut() -> String) -> Vec<Event> {
        let mut groups: Vec<(UseKey, Uses)> = self.0.drain().collect();
        groups.sort_by_key(|(_, uses)| (uses.first_time, uses.last_time));
        groups.into_iter().map(|(key, uses)| event(key, uses, region, request_id())).collect()
    }
}

/// The event of one group of uses.
pub fn event(key: UseKey, uses: Uses, region: &str, request_id: String) -> Event {
    let failed = key.result != SUCCESS;
    Event {
        event_time: uses.first_time,
        event_name: key.operation.to_owned(),
        event_source: EventSource::Pkcs11,
        region: region.to_owned(),
        request_id,
        user_identity: UserIdentity { uid: key.uid, app: key.app, ..UserIdentity::default() },
        instance: Some(key.instance),
        resource_name: vec![format!("key/{}", key.key_id), format!("key/{}/version/{}", key.key_id, key.version_id)],
        request_parameters: serde_json::Value::Null,
        error_code: failed.then(|| key.result.clone()),
        result: key.result,
        uses: Some(uses),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Uses of `key-1`'s `v-1` by app `web`, succeeding.
    pub(crate) fn key(operation: &'static str) -> UseKey {
        UseKey {
            uid: 1000,
            app: Some("web".into()),
            instance: "hsm1".into(),
            key_id: "key-1".into(),
            version_id: "v-1".into(),
            operation,
            result: SUCCESS.into(),
        }
    }

    #[test]
    fn uses_are_counted_per_group_with_their_first_and_last_times() {
        let mut pending = Pending::default();
        for t in 0..1000 {
            pending.add(key("Sign"), Timestamp(100 + t / 500));
        }
        pending.add(key("Verify"), Timestamp(101));
        let mut n = 0;
        let events = pending.drain("local", || {
            n += 1;
            format!("r-{n}")
        });
        assert!(pending.is_empty());
        assert_eq!(events.len(), 2);
        let sign = &events[0];
        assert_eq!(sign.event_name, "Sign");
        assert_eq!(sign.uses, Some(Uses { count: 1000, first_time: Timestamp(100), last_time: Timestamp(101) }));
        assert_eq!(sign.resource_name, ["key/key-1", "key/key-1/version/v-1"]);
        assert_eq!(sign.user_identity.app.as_deref(), Some("web"));
        assert_eq!(events[1].uses.as_ref().map(|u| u.count), Some(1));
    }
}
