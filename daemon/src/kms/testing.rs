//! A KMS context for unit tests, with nothing real under it but SQLite:
//! an in-memory store holding what a first start creates (a hardware
//! instance `hsm1` on cluster `c1`, and `default`), the manual clock, and
//! the in-memory vault; and what the tests of `kms::tests` share: building
//! keys, importing material as a client would, and checking that the
//! registry, the store and the vault still agree.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::rand_core::OsRng;
use rsa::{BigUint, Oaep, Pkcs1v15Encrypt, RsaPublicKey};
use sha1::Sha1;
use sha2::Sha256;

use p11kms_proto::SecretString;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    CreateSecretRequest, ImportKeyMaterialRequest, KeySpec, KeyUsage, MemberRole, Origin, WrappingAlgorithm,
    WrappingKeySpec,
};

use super::keys::{self, NewKey, import};
use super::registry::{KeyEntry, Registry};
use super::scheduler::{self, Pass};
use super::vault::SOFTWARE_CLUSTER;
use super::vault::memory::MemoryVault;
use super::{Kms, KmsError, instances};
use crate::clock::Clock;
use crate::config::{ClockMode, Config};
use crate::encoding::der::rsa_public_from_spki;
use crate::store::{AppRecord, ImportTokenRecord, InstanceRecord, KeyRecord, VersionRecord};
use crate::store::{ClusterRecord, MemberRecord, Store};

/// The hardware instance of the fixture.
pub const INSTANCE: &str = "hsm1";
/// Its cluster.
pub const CLUSTER: &str = "c1";

/// A KMS over memory, and its vault (to look inside).
#[derive(Debug)]
pub struct Fixture {
    /// The context under test.
    pub kms: Kms,
    /// Its vault.
    pub vault: Arc<MemoryVault>,
}

/// A generic text secret `name` of `instance` whose first version `v1`
/// holds `value`, encrypted under `key` (the instance's default when none).
pub fn secret_request(name: &str, instance: &str, value: &str, key: Option<&str>) -> CreateSecretRequest {
    CreateSecretRequest {
        encryption_key_id: key.map(Into::into),
        ..CreateSecretRequest::generic_text(name, instance, SecretString::new(value.into()))
    }
}

impl Fixture {
    /// A fresh KMS with the default configuration.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A fresh KMS with `config` (the clock is made manual).
    pub fn with_config(mut config: Config) -> Self {
        config.clock = ClockMode::Manual;
        config.bootstrap.hardware_instance = INSTANCE.into();
        let clock = Clock::new(ClockMode::Manual);
        let now = clock.now();
        let store = Store::open_in_memory().expect("an in-memory store");
        let cluster = ClusterRecord {
            name: CLUSTER.into(),
            created_at: now,
            members: vec![MemberRecord {
                index: 0,
                module: "memory".into(),
                managed: false,
                token_label: "c1-0".into(),
                serial: "0".into(),
                role: MemberRole::Primary,
                in_sync: true,
            }],
            library: None,
        };
        let [hardware, default] = instances::bootstrap_records(&config, CLUSTER, now);
        store
            .write(now, |tx| {
                tx.insert_cluster(&cluster)?;
                tx.insert_instance(&hardware)?;
                tx.insert_instance(&default)
            })
            .expect("bootstrap rows");
        let registry = Registry::from_snapshot(store.load().expect("loads")).expect("indexes");
        let vault = Arc::new(MemoryVault::new(&[CLUSTER, SOFTWARE_CLUSTER]));
        let kms = Kms::new(Arc::new(config), Arc::new(store), registry, vault.clone(), Arc::new(clock));
        Self { kms, vault }
    }

    /// Now, on the fixture's clock.
    pub fn now(&self) -> Timestamp {
        self.kms.clock.now()
    }

    /// Moves the clock `days` forward and runs the scheduler, as
    /// `p11kms clock advance` does.
    pub fn advance_days(&self, days: i64) -> Pass {
        self.kms.clock.advance(days * 86_400).expect("the manual clock moves");
        scheduler::run_due(&self.kms)
    }

    /// Moves the clock `seconds` forward and runs the scheduler.
    pub fn advance_seconds(&self, seconds: i64) -> Pass {
        self.kms.clock.advance(seconds).expect("the manual clock moves");
        scheduler::run_due(&self.kms)
    }

    /// What `NewKey::plain` makes for `spec` in `hsm1` (its default usage,
    /// no options), for a test to change before `create_with`.
    pub fn new_key(&self, spec: KeySpec) -> NewKey {
        NewKey::plain(INSTANCE.into(), spec, spec.default_usage(), None, "admin:0".into())
    }

    /// A new key of `spec` in `hsm1`, as `key create` makes it.
    pub fn create(&self, spec: KeySpec) -> KeyEntry {
        self.create_with(NewKey::plain(INSTANCE.into(), spec, spec.default_usage(), None, "admin:0".into()))
    }

    /// A new key as `new` says.
    pub fn create_with(&self, new: NewKey) -> KeyEntry {
        keys::create(&self.kms, new).expect("the key is created")
    }

    /// A new EXTERNAL key (no material yet).
    pub fn create_external(&self) -> KeyEntry {
        let mut new = NewKey::plain(INSTANCE.into(), KeySpec::Aes256, KeyUsage::EncryptDecrypt, None, "admin:0".into());
        new.origin = Origin::External;
        self.create_with(new)
    }

    /// A key as the registry has it now.
    pub fn key(&self, key: &str) -> KeyEntry {
        self.kms.registry().expect("registry").key(key).expect("the key exists").clone()
    }

    /// The same rows, read again from the store: what a restart would see.
    pub fn reloaded(&self) -> Registry {
        Registry::from_snapshot(self.kms.store.load().expect("loads")).expect("indexes")
    }

    /// How many changes of KMS state the journal holds: every entry but
    /// the creation intents, which come and go around each HSM write
    /// (`kms::tests::intents` follows those).
    pub fn journal_len(&self) -> usize {
        let journal = self.kms.store.journal_since(0, 1_000_000).expect("the journal reads");
        journal.iter().filter(|e| e.entity != "creation_intent").count()
    }

    /// Imports `material` into the EXTERNAL key `key` as a client does:
    /// `get-parameters-for-import`, wrap under the returned PEM public key
    /// with `algorithm`, `import-key-material`.
    pub fn import_material(
        &self,
        key: &str,
        material: &[u8],
        algorithm: WrappingAlgorithm,
        expire_unix: Option<i64>,
    ) -> Result<(), KmsError> {
        let parameters = import::get_parameters(&self.kms, key, algorithm, WrappingKeySpec::Rsa2048)?;
        let request = ImportKeyMaterialRequest {
            key: key.into(),
            import_token: parameters.import_token,
            encrypted_key_material: wrap_material(&parameters.public_key, algorithm, material),
            key_material_expire_unix: expire_unix,
        };
        import::import(&self.kms, &request)
    }

    /// Panics unless a restart would see what the registry shows (keys
    /// with their versions and aliases, aliases, import tokens, apps,
    /// instances, and no quota or alias reservation left behind), and the
    /// vault holds exactly the material and import keys the metadata names.
    #[track_caller]
    pub fn assert_consistent(&self) {
        let live = self.kms.registry().expect("registry");
        let stored = self.reloaded();
        assert_eq!(View::of(&live), View::of(&stored), "the registry and the store disagree");
        for instance in live.instances() {
            assert_eq!(
                live.versions_in(&instance.name),
                stored.versions_in(&instance.name),
                "instance '{}' has quota reserved that nobody holds",
                instance.name
            );
        }
        let mut with_material = 0;
        for key in live.keys() {
            let instance = live.instance(&key.record.instance).expect("the key's instance");
            let cluster =
                crate::kms::placement::holding_cluster(instance).expect("keys live in instances that hold keys");
            for version in &key.versions {
                assert_eq!(
                    self.vault.holds(&cluster, &version.uuid),
                    version.record.has_material,
                    "version {} of {}: the vault and has_material disagree",
                    version.record.version_id,
                    key.record.key_id
                );
                with_material += usize::from(version.record.has_material);
            }
        }
        assert_eq!(self.vault.version_count(), with_material, "the vault holds versions no key names");
        assert_eq!(live.intents().count(), 0, "a creation intent is left in the registry");
        assert_eq!(stored.intents().count(), 0, "a creation intent is left in the store");
        assert_eq!(
            self.vault.wrapping_key_count(),
            live.import_tokens().count(),
            "the vault holds import keys no token names (or the reverse)"
        );
    }
}

/// What a registry holds, in a form that compares (orders that a restart
/// may legitimately change are sorted away: keys by id, aliases by name).
#[derive(Debug, PartialEq, Eq)]
struct View {
    keys: BTreeMap<String, (KeyRecord, Vec<VersionRecord>, Vec<String>)>,
    aliases: BTreeMap<String, String>,
    tokens: BTreeMap<String, ImportTokenRecord>,
    apps: BTreeMap<String, AppRecord>,
    instances: Vec<InstanceRecord>,
}

impl View {
    fn of(registry: &Registry) -> Self {
        let keys = registry
            .keys()
            .map(|k| {
                let versions = k.versions.iter().map(|v| v.record.clone()).collect();
                let mut aliases = k.aliases.clone();
                aliases.sort();
                (k.record.key_id.clone(), (k.record.clone(), versions, aliases))
            })
            .collect();
        Self {
            keys,
            aliases: registry.aliases().map(|(a, k)| (a.clone(), k.clone())).collect(),
            tokens: registry.import_tokens().map(|t| (t.token.clone(), t.clone())).collect(),
            apps: registry.apps().map(|a| (a.name.clone(), a.clone())).collect(),
            instances: registry.instances().cloned().collect(),
        }
    }
}

/// The DER inside one PEM block labelled `label`, checking the armour as
/// RFC 7468 writes it (lines of 64 base64 characters, the last shorter).
#[track_caller]
pub fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----\n");
    let end = format!("-----END {label}-----\n");
    let body = pem
        .strip_prefix(begin.as_str())
        .and_then(|rest| rest.strip_suffix(end.as_str()))
        .unwrap_or_else(|| panic!("not a PEM block labelled {label}: {pem}"));
    let lines: Vec<&str> = body.lines().collect();
    assert!(!lines.is_empty(), "an empty PEM body");
    let (last, full) = lines.split_last().expect("lines");
    assert!(full.iter().all(|l| l.len() == 64) && !last.is_empty() && last.len() <= 64, "PEM lines: {lines:?}");
    STANDARD.decode(lines.concat()).expect("the PEM body is base64")
}

/// `material` wrapped under the RSA public key of a PEM
/// SubjectPublicKeyInfo (read with the encoding module's own parser), as
/// a BYOK client wraps it.
pub fn wrap_material(public_key_pem: &str, algorithm: WrappingAlgorithm, material: &[u8]) -> Vec<u8> {
    let (n, e) = rsa_public_from_spki(&pem_der(public_key_pem, "PUBLIC KEY")).expect("an RSA SubjectPublicKeyInfo");
    let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).expect("an RSA public key");
    match algorithm {
        WrappingAlgorithm::RsaesOaepSha256 => key.encrypt(&mut OsRng, Oaep::new::<Sha256>(), material),
        WrappingAlgorithm::RsaesOaepSha1 => key.encrypt(&mut OsRng, Oaep::new::<Sha1>(), material),
        WrappingAlgorithm::RsaesPkcs1V15 => key.encrypt(&mut OsRng, Pkcs1v15Encrypt, material),
    }
    .expect("the material wraps")
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}
