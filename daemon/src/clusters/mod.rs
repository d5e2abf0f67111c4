//! HSM clusters as the daemon runs them: opening and creating them
//! ([`open`]), changing their members ([`members`]), keeping members in
//! step with the store and failing over ([`sync`]), mirror images and
//! restore ([`images`]), the open clusters by name ([`live`]), and the
//! vault that keeps KMS key material on them ([`vault`]).
//!
//! This room sits between the KMS model (`kms`, which it serves through
//! the `Vault` trait and whose registry says what each cluster must hold)
//! and the HSM layer (`hsm`: modules, members, clusters over cryptoki).

pub mod images;
pub mod live;
pub mod members;
pub mod open;
pub mod sync;
pub mod vault;

pub use live::{LiveCluster, LiveClusters};
pub use vault::HsmVault;
