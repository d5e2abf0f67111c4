//! The KMS model: instances, apps, keys and versions, and secrets, as the
//! spec describes them, built on the store (what is true) and the vault (where the
//! material is). Every operation here is synchronous, runs in a [`Kms`]
//! context, and is shared by both planes: the admin plane calls it for the
//! CLI, the data plane for PKCS#11 applications.
//!
//! Nothing here knows about sockets, HSM clusters or the daemon's
//! `Service`: the unit tests run every rule over [`testing`]'s in-memory
//! store, manual clock and in-memory vault.

pub mod aliases;
pub mod apps;
pub mod asymmetric;
pub mod context;
pub mod envelope;
pub mod error;
pub mod export;
pub mod instances;
pub mod keys;
pub mod metadata;
pub mod migration;
pub mod names;
pub mod placement;
pub mod policy;
pub mod registry;
pub mod scheduler;
pub mod secrets;
pub mod vault;

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use context::Kms;
pub use error::KmsError;
