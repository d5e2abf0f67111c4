//! `p11kms connection list`: the daemon's open data connections and the
//! request frames each has carried (one per round trip). Shows which
//! processes use the module and whether a client coalesces its calls.

use clap::Subcommand;
use p11kms_proto::admin::{AdminReply, AdminRequest, ConnectionInfo};

use super::{RenderError, unexpected};
use crate::output::{self, Format, Table, or_dash};

/// Data-plane connections.
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Lists open data connections with their peer and request count.
    List,
}

impl ConnectionCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::List => AdminRequest::ConnectionList,
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::List, AdminReply::Connections(rows)) => Ok(output::show_list(format, "Connections", &rows, table)?),
            (Self::List, other) => Err(unexpected("connection list", &other)),
        }
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
