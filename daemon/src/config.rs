//! The daemon's configuration: `conf/p11kmsd.toml` documents every key.
//! The daemon runs without a file on the defaults below; a file only needs
//! the keys it changes. Unknown keys are refused so typos do not pass
//! silently.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the daemon keeps its state when neither `--state-dir` nor
/// `P11KMS_STATE_DIR` nor the config names one.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/p11kms";
/// Where Debian installs SoftHSM v2.
pub const DEFAULT_SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// Longest time limit a `[sockets]` `*_timeout_seconds` key takes: a day.
const MAX_TIMEOUT_SECONDS: u64 = 86_400;
/// Smallest `sockets.max_unsent_reply_bytes`: room for two of the largest
/// replies, so that one slow reader of a large reply is never refused.
const MIN_UNSENT_REPLY_BYTES: u64 = 2 * p11kms_proto::MAX_BODY_LEN as u64;

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("invalid config value {key}: {reason}")]
    Value {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The deployment's region name, used in key ARNs.
    pub region: String,
    /// State directory (overridden by `--state-dir` and `P11KMS_STATE_DIR`).
    pub state_dir: Option<PathBuf>,
    /// Which clock drives schedules: `system`, or `manual` for tests.
    pub clock: ClockMode,
    /// Sockets and who may use them.
    pub sockets: SocketsConfig,
    /// Application logins.
    pub apps: AppsConfig,
    /// HSM modules.
    pub hsm: HsmConfig,
    /// What a first start creates.
    pub bootstrap: BootstrapConfig,
    /// Instance limits.
    pub instances: InstancesConfig,
    /// Key lifecycle.
    pub keys: KeysConfig,
    /// Secrets.
    pub secrets: SecretsConfig,
    /// The audit trail.
    pub audit: AuditConfig,
    /// Mirror images.
    pub images: ImagesConfig,
    /// Instance backups.
    pub backups: BackupsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Objects applications create through PKCS#11: sizes and budgets.
    pub objects: ObjectsConfig,
    /// Clusters of tokens in PKCS#11 modules the daemon does not manage
    /// (`[[clusters]]`): adopted at the first start that names them.
    pub clusters: Vec<ExternalClusterConfig>,
}

/// `[[clusters]]`: a cluster of existing tokens in any PKCS#11 module.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalClusterConfig {
    /// Cluster name.
    pub name: String,
    /// A hardware instance on it, created with the cluster, if given.
    pub instance: Option<String>,
    /// Members, the first one primary.
    pub members: Vec<ExternalMemberConfig>,
}

/// `[[clusters.members]]`: one token.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalMemberConfig {
    /// PKCS#11 module path.
    pub module: PathBuf,
    /// Label of an initialized token with a user PIN.
    pub token_label: String,
    /// File holding the user PIN (mode 0600); the daemon keeps a copy in
    /// its secrets directory.
    pub pin_file: PathBuf,
    /// Environment the module reads at `C_Initialize` (for SoftHSM,
    /// `SOFTHSM2_CONF`); set only while the daemon loads it.
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
}

impl Config {
    /// The environment configured for `module` in cluster `cluster`.
    pub fn module_environment(
        &self,
        cluster: &str,
        module: &std::path::Path,
    ) -> std::collections::BTreeMap<String, String> {
        self.clusters
            .iter()
            .filter(|c| c.name == cluster)
            .flat_map(|c| &c.members)
            .find(|m| m.module == module)
            .map(|m| m.environment.clone())
            .unwrap_or_default()
    }
}

/// `[images]`: mirror images of clusters.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagesConfig {
    /// Take an image of every cluster once a day, after 00:00 of the
    /// daemon's clock.
    pub daily: bool,
    /// Images kept per cluster (the spec's "viewable days"); older ones go.
    pub keep: u32,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self { daily: true, keep: 7 }
    }
}

/// `[backups]`: instance backups (`docs/backups.md`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupsConfig {
    /// Rehearse a restore of every enabled backup after its daily full
    /// (`backup drill`), and log a failure loudly.
    pub drill_daily: bool,
    /// The time zone of the backups' days (`crate::calendar`).
    pub time_zone: crate::calendar::Calendar,
}

/// The clock behind every schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// The operating system's clock.
    #[default]
    System,
    /// A test clock moved only by `p11kms clock`.
    Manual,
}

/// `[sockets]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketsConfig {
    /// Data socket path; default `<state>/data.sock`.
    pub data: Option<PathBuf>,
    /// Admin socket path; default `<state>/admin.sock`.
    pub admin: Option<PathBuf>,
    /// Group (name or numeric gid) that owns the data socket.
    pub data_group: Option<String>,
    /// Mode of the data socket.
    pub data_mode: u32,
    /// Uids allowed on the admin socket besides root and the daemon's own uid.
    pub admin_uids: Vec<u32>,
    /// Uids allowed on the admin socket for operations that only read
    /// (lists, descriptions, status): auditors, monitoring.
    pub admin_read_only_uids: Vec<u32>,
    /// Group (name or numeric gid) given the admin socket. Without one the
    /// socket is 0600, so only the daemon's own uid (and root) can reach it;
    /// with one it is 0660 and `admin_uids` must be members. The peer-uid
    /// check applies either way.
    pub admin_group: Option<String>,
    /// Most connections open at once on the data socket, all peers
    /// together. One more is refused at once (`Unavailable`).
    pub max_connections: usize,
    /// Most connections one peer uid may have open at once on the data
    /// socket.
    pub max_connections_per_uid: usize,
    /// Most connections open at once on the admin socket, all peers
    /// together.
    pub admin_max_connections: usize,
    /// Most connections one peer uid (root and the daemon's own included)
    /// may have open at once on the admin socket.
    pub admin_max_connections_per_uid: usize,
    /// Seconds a new connection (either socket) may take to begin its
    /// first frame: the module's `Hello`, the CLI's first call.
    pub handshake_timeout_seconds: u64,
    /// Seconds a connection may send nothing before it is closed, unless
    /// it belongs to a data client that is logged in or holds session
    /// objects (closing its last connection would end them).
    pub idle_timeout_seconds: u64,
    /// Seconds a frame may take from its first byte to its last, and a
    /// reply to be taken by the peer; a connection that stalls longer is
    /// closed.
    pub frame_timeout_seconds: u64,
    /// Bytes of replies the daemon holds, all connections together, for
    /// peers that have not read them; a reply over it is dropped and its
    /// connection closed.
    pub max_unsent_reply_bytes: u64,
    /// Largest message body accepted, in bytes.
    pub max_body_bytes: u32,
    /// How long a data connection's thread polls for the next request
    /// after answering one before it sleeps, in microseconds (0: never
    /// polls). Polling saves the client the cost of waking a sleeping
    /// thread; it only happens while a CPU is likely free (see
    /// `p11kms_proto::socket`).
    pub spin_wait_us: u32,
}

impl Default for SocketsConfig {
    fn default() -> Self {
        Self {
            data: None,
            admin: None,
            data_group: None,
            data_mode: 0o660,
            admin_uids: Vec::new(),
            admin_read_only_uids: Vec::new(),
            admin_group: None,
            max_connections: 4096,
            max_connections_per_uid: 2048,
            admin_max_connections: 256,
            admin_max_connections_per_uid: 64,
            handshake_timeout_seconds: 10,
            idle_timeout_seconds: 300,
            frame_timeout_seconds: 30,
            max_unsent_reply_bytes: 256 * 1024 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
            spin_wait_us: 50,
        }
    }
}

/// `[objects]`: how much of the daemon's memory and store the objects
/// applications create may take. Session objects need no login when they
/// are public, so their budgets are per peer uid and in all, not per app.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectsConfig {
    /// Bytes of session objects the clients of one uid may hold together.
    pub session_bytes_per_uid: usize,
    /// Bytes of session objects all clients may hold together.
    pub session_bytes_total: usize,
    /// Token objects one instance may hold.
    pub token_objects_per_instance: usize,
    /// Bytes of token objects one instance may hold.
    pub token_bytes_per_instance: usize,
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        Self {
            session_bytes_per_uid: 64 * 1024 * 1024,
            session_bytes_total: 256 * 1024 * 1024,
            token_objects_per_instance: 10_000,
            token_bytes_per_instance: 64 * 1024 * 1024,
        }
    }
}

/// `[apps]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppsConfig {
    /// Wrong PINs in a row that lock an app.
    pub max_failed_logins: u32,
    /// How long a lock lasts, in seconds.
    pub lockout_seconds: i64,
}

impl Default for AppsConfig {
    fn default() -> Self {
        Self { max_failed_logins: 10, lockout_seconds: 900 }
    }
}

/// `[hsm]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HsmConfig {
    /// SoftHSM v2 library used for the tokens the daemon creates itself.
    pub softhsm_module: PathBuf,
    /// Spread operations with key versions over all healthy members in
    /// turn (true) or keep them on the primary while it is healthy (false).
    pub spread_operations: bool,
    /// Seconds between full comparisons of every member with the store
    /// (healing); members out of service are probed on every scheduler
    /// pass regardless.
    pub resync_interval_seconds: u64,
}

impl Default for HsmConfig {
    fn default() -> Self {
        Self {
            softhsm_module: PathBuf::from(DEFAULT_SOFTHSM_MODULE),
            spread_operations: true,
            resync_interval_seconds: 300,
        }
    }
}

/// `[bootstrap]`: what the first start creates in an empty state directory.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Name of the hardware instance and of its cluster.
    pub hardware_instance: String,
    /// Mirrors beside the primary in that cluster.
    pub mirrors: u32,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { hardware_instance: "hsm1".into(), mirrors: 2 }
    }
}

/// `[instances]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstancesConfig {
    /// Key versions a new HSM-backed instance may hold.
    pub key_quota: u64,
    /// Key versions the `default` instance may hold.
    pub default_key_quota: u64,
    /// Secrets an HSM-backed instance may hold (pending deletion ones too).
    pub secret_quota: u64,
}

impl Default for InstancesConfig {
    fn default() -> Self {
        Self { key_quota: 10_000, default_key_quota: 100, secret_quota: 1_000 }
    }
}

/// `[secrets]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Versions a secret keeps (3 to 10): a new version beyond it makes
    /// the oldest version without a stage go.
    pub max_versions: usize,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        Self { max_versions: 10 }
    }
}

/// `[audit]`: the audit trail (`docs/audit.md`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Record events at all. Off only to measure what the trail costs.
    pub enabled: bool,
    /// One record per cryptographic use of a key through PKCS#11, instead
    /// of one per app, key version and operation per second.
    pub per_call_uses: bool,
    /// Days of files kept (the day's file included); older ones are
    /// removed, and the trail verifies from the oldest file kept.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { enabled: true, per_call_uses: false, retention_days: 400 }
    }
}

/// `[keys]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Deletion window of a key destroyed through PKCS#11 (`C_DestroyObject`).
    pub pkcs11_deletion_window_days: u32,
    /// Seconds between passes of the scheduler (rotations, deletions, expiries).
    pub scheduler_interval_seconds: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self { pkcs11_deletion_window_days: 30, scheduler_interval_seconds: 30 }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `p11kmsd=debug`; `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { filter: "info".into() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            region: "local".into(),
            state_dir: None,
            clock: ClockMode::System,
            sockets: SocketsConfig::default(),
            apps: AppsConfig::default(),
            hsm: HsmConfig::default(),
            bootstrap: BootstrapConfig::default(),
            instances: InstancesConfig::default(),
            keys: KeysConfig::default(),
            secrets: SecretsConfig::default(),
            audit: AuditConfig::default(),
            images: ImagesConfig::default(),
            backups: BackupsConfig::default(),
            log: LogConfig::default(),
            objects: ObjectsConfig::default(),
            clusters: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)
            .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?;
        config.validate()?;
        Ok(config)
    }

    /// Range checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let value = |key, reason: &str| Err(ConfigError::Value { key, reason: reason.into() });
        if self.region.is_empty() || !self.region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return value("region", "letters, digits and '-' only, not empty");
        }
        for (key, cap) in [
            ("sockets.max_connections", self.sockets.max_connections),
            ("sockets.max_connections_per_uid", self.sockets.max_connections_per_uid),
            ("sockets.admin_max_connections", self.sockets.admin_max_connections),
            ("sockets.admin_max_connections_per_uid", self.sockets.admin_max_connections_per_uid),
        ] {
            if cap == 0 {
                return value(key, "must be at least 1");
            }
        }
        for (key, seconds) in [
            ("sockets.handshake_timeout_seconds", self.sockets.handshake_timeout_seconds),
            ("sockets.idle_timeout_seconds", self.sockets.idle_timeout_seconds),
            ("sockets.frame_timeout_seconds", self.sockets.frame_timeout_seconds),
        ] {
            if !(1..=MAX_TIMEOUT_SECONDS).contains(&seconds) {
                return value(key, "must be between 1 and 86400 (a day)");
            }
        }
        if self.sockets.max_unsent_reply_bytes < MIN_UNSENT_REPLY_BYTES {
            return value(
                "sockets.max_unsent_reply_bytes",
                "must be at least 33554432 (32 MiB, two of the largest replies)",
            );
        }
        if !(4096..=p11kms_proto::MAX_BODY_LEN).contains(&self.sockets.max_body_bytes) {
            return value("sockets.max_body_bytes", "must be between 4096 and 16777216");
        }
        if self.sockets.spin_wait_us > 10_000 {
            return value("sockets.spin_wait_us", "must be at most 10000 (10 ms)");
        }
        if self.sockets.data_mode & !0o777 != 0 {
            return value("sockets.data_mode", "must be a permission mode such as 0o660");
        }
        if self.apps.max_failed_logins == 0 || self.apps.lockout_seconds <= 0 {
            return value("apps", "max_failed_logins and lockout_seconds must be positive");
        }
        if crate::kms::names::check_instance_name(&self.bootstrap.hardware_instance).is_err() {
            return value("bootstrap.hardware_instance", "must be a valid instance name");
        }
        if !(1..=36_500).contains(&self.audit.retention_days) {
            return value("audit.retention_days", "must be between 1 and 36500");
        }
        if !(7..=366).contains(&self.keys.pkcs11_deletion_window_days) {
            return value("keys.pkcs11_deletion_window_days", "must be between 7 and 366");
        }
        for cluster in &self.clusters {
            if cluster.members.is_empty() || cluster.members.len() > 8 {
                return value("clusters.members", "a cluster has 1 to 8 members");
            }
            if cluster.name.is_empty() || !cluster.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return value("clusters.name", "letters, digits and '-' only, not empty");
            }
        }
        if self.images.keep == 0 {
            return value("images.keep", "must be at least 1");
        }
        if !(3..=10).contains(&self.secrets.max_versions) {
            return value("secrets.max_versions", "must be between 3 and 10");
        }
        if self.keys.scheduler_interval_seconds == 0 {
            return value("keys.scheduler_interval_seconds", "must be at least 1");
        }
        if self.bootstrap.mirrors > 7 {
            return value("bootstrap.mirrors", "at most 7 mirrors");
        }
        let objects = &self.objects;
        // The largest object (`data::created::MAX_OBJECT_BYTES` is this
        // bound; read from proto so configuration depends on no plane).
        let largest = p11kms_proto::pkcs11::MAX_ATTRIBUTE_VALUE_LEN;
        if objects.session_bytes_per_uid < largest
            || objects.session_bytes_total < objects.session_bytes_per_uid
            || objects.token_bytes_per_instance < largest
            || objects.token_objects_per_instance == 0
        {
            return value(
                "objects",
                "each budget must hold at least one object of the largest size (65536 bytes), \
                 and session_bytes_total at least session_bytes_per_uid",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
