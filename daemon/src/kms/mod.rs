//! The KMS model: instances, apps, keys and versions as the spec describes
//! them, built on the store (what is true) and the HSM layer (where the
//! material is). Operations here are synchronous and shared by both
//! planes: the admin plane calls them for the CLI, the data plane for
//! PKCS#11 applications.

pub mod aliases;
pub mod apps;
pub mod asymmetric;
pub mod cluster_members;
pub mod cluster_sync;
pub mod clusters;
pub mod encoding;
pub mod envelope;
pub mod error;
pub mod images;
pub mod instances;
pub mod keys;
pub mod metadata;
pub mod names;
pub mod registry;
pub mod scheduler;

pub use error::KmsError;
