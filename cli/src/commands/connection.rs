//! `p11kms connection list`: the daemon's open data connections and the
//! request frames each has carried (one per round trip). Shows which
//! processes use the module and whether a client coalesces its calls.

use clap::Args;
use p11kms_proto::admin::{ConnectionInfo, op};

use super::{Invocation, RenderError, RequestError, subcommands};
use crate::output::{self, Format, Table, or_dash};

subcommands! {
    /// Data-plane connections.
    pub enum ConnectionCommand {
        /// Lists open data connections with their peer and request count.
        List(ListConnectionsArgs),
    }
}

/// `connection list`.
#[derive(Debug, Args)]
pub struct ListConnectionsArgs {}

impl Invocation for ListConnectionsArgs {
    type Op = op::ListConnections;

    fn request(&self) -> Result<(), RequestError> {
        Ok(())
    }

    fn render(&self, rows: &Vec<ConnectionInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Connections", rows, table)?)
    }
}

fn table(rows: &[ConnectionInfo]) -> String {
    let mut table = Table::new(&["CONNECTION", "PID", "UID", "OPENED", "REQUESTS"]);
    for row in rows {
        table.row(vec![
            row.connection_id.to_string(),
            or_dash(row.pid.as_ref()),
            row.uid.to_string(),
            row.opened.to_string(),
            row.requests.to_string(),
        ]);
    }
    table.render()
}
