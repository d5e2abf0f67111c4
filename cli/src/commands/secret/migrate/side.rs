//! One end of a migration: a daemon's admin socket and which end it is.
//! Every call opens its own connection, as most commands do: a migration
//! is a few dozen calls, and a connection kept open across a long step
//! (or the test pause) could be closed by the daemon's idle timeout.

use std::path::PathBuf;

use p11kms_proto::admin::Operation;

use super::error::{MigrateError, Role};
use crate::client;

/// A daemon taking part in the migration.
#[derive(Clone, Debug)]
pub struct Side {
    /// Source or destination.
    pub role: Role,
    /// Its admin socket.
    pub socket: PathBuf,
}

impl Side {
    /// Calls `O` on this daemon; a failure names the daemon.
    pub fn call<O: Operation>(&self, request: &O::Request) -> Result<O::Reply, MigrateError> {
        client::call::<O>(&self.socket, request).map_err(|error| MigrateError::from_client(self.role, error))
    }
}
