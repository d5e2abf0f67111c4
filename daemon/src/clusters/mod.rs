//! HSM clusters as the daemon runs them: opening and creating them
//! ([`open`]), changing their members ([`members`]), comparing them with
//! the store ([`verify`]), keeping members in step with it, healing and
//! failing over ([`sync`], with [`lagging`] members out of service until
//! whole), mirror images ([`images`]), restoring a cluster from one
//! ([`restore`]) and moving an instance to another cluster ([`attach`]),
//! the open clusters by name ([`live`]), the vault that keeps KMS key
//! material on them ([`vault`]), and the daemon's vault routing between
//! it and the default instance's software vault ([`routed`]).
//!
//! This room sits between the KMS model (`kms`, which it serves through
//! the `Vault` trait and whose registry says what each cluster must hold)
//! and the HSM layer (`hsm`: modules, members, clusters over cryptoki).

pub mod attach;
pub mod backup_key;
pub mod backup_rewrap;
pub mod images;
pub mod lagging;
pub mod live;
pub mod members;
pub mod open;
pub mod restore;
pub mod routed;
pub mod sync;
pub mod vault;
pub mod verify;

pub use live::{LiveCluster, LiveClusters};
pub use routed::RoutedVault;
pub use vault::HsmVault;
