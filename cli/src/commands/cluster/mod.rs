//! `p11kms cluster …`: HSM clusters and the health and sync state of their
//! member tokens: their membership and status ([`status`]), their
//! consistency with the store ([`consistency`]), and mirror images
//! ([`images`]).

pub mod consistency;
pub mod images;
pub mod status;

use super::subcommands;
use consistency::{ResyncClusterArgs, VerifyClusterArgs};
use images::{CreateClusterImageArgs, ListClusterImagesArgs, RestoreClusterArgs};
use status::{AddClusterMemberArgs, ClusterStatusArgs, CreateClusterArgs, ListClustersArgs, RemoveClusterMemberArgs};

/// Exit status of `cluster verify` when it finds a difference, and of
/// `cluster resync` when the cluster is not whole afterwards.
pub use super::DIFFERENCES_FOUND;

subcommands! {
    /// Operations on clusters.
    pub enum ClusterCommand {
        /// Lists the clusters.
        List(ListClustersArgs),
        /// Creates a cluster of managed SoftHSM tokens (the daemon keeps serving).
        Create(CreateClusterArgs),
        /// Checks a cluster's members now: health, sync, object counts.
        Status(ClusterStatusArgs),
        /// Compares every member with the store and lists each difference
        /// (exit status 5 when there is one).
        Verify(VerifyClusterArgs),
        /// Copies to each member the key versions it lacks, takes members
        /// that are whole again back into service and destroys leftovers of
        /// unacknowledged creations (the daemon also does this on its own,
        /// every scheduler pass); exit status 5 when the cluster is not whole.
        Resync(ResyncClusterArgs),
        /// Adds a member: a new token that gets the cluster key and a copy of
        /// every key version before it serves (replaces a lost member).
        AddMember(AddClusterMemberArgs),
        /// Removes a mirror from the cluster (its token is left as it is).
        RemoveMember(RemoveClusterMemberArgs),
        /// Mirror images: create one now, or list them.
        #[command(subcommand)]
        Image(ImageCommand),
        /// Builds a new cluster from a mirror image (the daemon keeps serving).
        Restore(RestoreClusterArgs),
    }
}

subcommands! {
    /// `cluster image …`.
    pub enum ImageCommand {
        /// Takes a mirror image of a cluster now.
        Create(CreateClusterImageArgs),
        /// Lists mirror images (of one cluster), oldest first; damaged ones
        /// show as not intact.
        List(ListClusterImagesArgs),
    }
}
