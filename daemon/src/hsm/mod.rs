//! The daemon's HSM layer: PKCS#11 modules loaded through cryptoki, member
//! tokens with their sessions, clusters that keep every key version on
//! every member, and the SoftHSM tokens the daemon manages itself.
//!
//! Everything here blocks; it runs on the data plane's connection threads
//! and on the admin plane's blocking pool, never on the async executor.

pub mod adopt;
pub mod cluster;
pub mod error;
pub mod image_auth;
pub mod import;
pub mod mechanism;
pub mod member;
pub mod module;
pub mod oaep;
pub mod objects;
pub mod persist;
pub mod rv;
pub mod session_keys;
pub mod softhsm;
pub mod templates;
pub mod transfer;

pub use cluster::Cluster;
pub use error::HsmError;
pub use member::Member;
pub use module::HsmModule;
pub use objects::{ObjectRole, PublicKey, VersionName};
