//! `p11kms cluster …`: HSM clusters and the health and sync state of their
//! member tokens.

use clap::Subcommand;
use p11kms_proto::admin::{
    AdminReply, AdminRequest, ClusterStatus, ClusterSummary, ClusterVerification, ImageInfo, ResyncReport,
};

use super::{RenderError, unexpected};
use crate::output::{self, Fields, Format, Table, list_or_dash, or_dash};

/// Operations on clusters.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Lists the clusters.
    List,
    /// Creates a cluster of managed SoftHSM tokens (the daemon keeps serving).
    Create {
        /// New cluster's name.
        #[arg(value_name = "NAME")]
        name: String,
        /// Members: a primary and its mirrors (2 to 8).
        #[arg(long, value_name = "N", default_value_t = 3)]
        members: u32,
    },
    /// Checks a cluster's members now: health, sync, object counts.
    Status {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Compares every member with the store and lists each difference
    /// (exit status 5 when there is one).
    Verify {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Copies to each member the key versions it lacks and takes members
    /// that answer again back into service (the daemon also does this on
    /// its own, every scheduler pass).
    Resync {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Adds a member: a new token that gets the cluster key and a copy of
    /// every key version before it serves (replaces a lost member).
    AddMember {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Removes a mirror from the cluster (its token is left as it is).
    RemoveMember {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
        /// The member's index (`cluster status` lists them).
        #[arg(long, value_name = "N")]
        index: u32,
    },
    /// Mirror images: create one now, or list them.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Builds a new cluster from a mirror image (the daemon keeps serving).
    Restore {
        /// The image (`cluster image list`).
        #[arg(long, value_name = "ID")]
        image: String,
        /// Name of the new cluster; an existing cluster is refused.
        #[arg(long, value_name = "NEW")]
        name: String,
        /// Members of the new cluster (at least 2).
        #[arg(long, value_name = "N", default_value_t = 3)]
        members: u32,
    },
}

/// `cluster image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Takes a mirror image of a cluster now.
    Create {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Lists mirror images (of one cluster), oldest first; damaged ones
    /// show as not intact.
    List {
        /// Cluster name.
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
}

/// Exit status of `cluster verify` when it finds a difference.
pub const DIFFERENCES_FOUND: u8 = 5;

impl ClusterCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::List => AdminRequest::ClusterList,
            Self::Create { name, members } => AdminRequest::ClusterCreate { name: name.clone(), members: *members },
            Self::Status { name } => AdminRequest::ClusterStatus { name: name.clone() },
            Self::Verify { name } => AdminRequest::ClusterVerify { name: name.clone() },
            Self::Resync { name } => AdminRequest::ClusterResync { name: name.clone() },
            Self::AddMember { name } => AdminRequest::ClusterAddMember { name: name.clone() },
            Self::RemoveMember { name, index } => {
                AdminRequest::ClusterRemoveMember { name: name.clone(), index: *index }
            }
            Self::Image(ImageCommand::Create { name }) => AdminRequest::ClusterImageCreate { name: name.clone() },
            Self::Image(ImageCommand::List { name }) => AdminRequest::ClusterImageList { name: name.clone() },
            Self::Restore { image, name, members } => {
                AdminRequest::ClusterRestore { image_id: image.clone(), name: name.clone(), members: *members }
            }
        }
    }

    /// 5 for a `verify` that found differences, else 0.
    pub fn exit_status(&self, reply: &AdminReply) -> u8 {
        match reply {
            AdminReply::ClusterVerification(v) if !v.consistent => DIFFERENCES_FOUND,
            _ => 0,
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::List, AdminReply::Clusters(clusters)) => {
                Ok(output::show_list(format, "Clusters", &clusters, table)?)
            }
            (
                Self::Status { .. }
                | Self::AddMember { .. }
                | Self::RemoveMember { .. }
                | Self::Restore { .. }
                | Self::Create { .. },
                AdminReply::Cluster(status),
            ) => Ok(output::show(format, &status, status_text)?),
            (Self::Image(ImageCommand::Create { .. }), AdminReply::Image(image)) => {
                Ok(output::show(format, &image, image_fields)?)
            }
            (Self::Image(ImageCommand::List { .. }), AdminReply::Images(images)) => {
                Ok(output::show_list(format, "Images", &images, image_table)?)
            }
            (Self::Verify { .. }, AdminReply::ClusterVerification(v)) => {
                Ok(output::show(format, &v, verification_text)?)
            }
            (Self::Resync { .. }, AdminReply::Resynced(report)) => Ok(output::show(format, &report, resync_text)?),
            (Self::List, other) => Err(unexpected("cluster list", &other)),
            (Self::Status { .. }, other) => Err(unexpected("cluster status", &other)),
            (Self::Verify { .. }, other) => Err(unexpected("cluster verify", &other)),
            (Self::Resync { .. }, other) => Err(unexpected("cluster resync", &other)),
            (Self::AddMember { .. }, other) => Err(unexpected("cluster add-member", &other)),
            (Self::RemoveMember { .. }, other) => Err(unexpected("cluster remove-member", &other)),
            (Self::Image(ImageCommand::Create { .. }), other) => Err(unexpected("cluster image create", &other)),
            (Self::Image(ImageCommand::List { .. }), other) => Err(unexpected("cluster image list", &other)),
            (Self::Restore { .. }, other) => Err(unexpected("cluster restore", &other)),
            (Self::Create { .. }, other) => Err(unexpected("cluster create", &other)),
        }
    }
}

/// The verdict, then one row per difference.
fn verification_text(v: &ClusterVerification) -> String {
    let mut text = Fields::new()
        .field("ClusterName", &v.cluster_name)
        .field("ExpectedVersions", v.expected_versions)
        .field("Consistent", if v.consistent { "yes" } else { "NO" })
        .render();
    let mut table = Table::new(&["INDEX", "ROLE", "HEALTH", "DIFFERENCE", "VERSION"]);
    for member in &v.members {
        let rows = member
            .missing
            .iter()
            .map(|m| ("missing", m.as_str()))
            .chain(member.unexpected.iter().map(|u| ("unknown to the store", u.as_str())));
        for (what, version) in rows {
            table.row(vec![
                member.index.to_string(),
                member.role.to_string(),
                member.health.to_string(),
                what.to_owned(),
                version.to_owned(),
            ]);
        }
        if member.health.to_string() != "healthy" {
            table.row(vec![
                member.index.to_string(),
                member.role.to_string(),
                member.health.to_string(),
                "did not answer".to_owned(),
                "-".to_owned(),
            ]);
        }
    }
    if !v.consistent {
        text.push('\n');
        text.push_str(&table.render());
    }
    text
}

fn image_fields(image: &ImageInfo) -> String {
    Fields::new()
        .field("ImageId", &image.image_id)
        .field("ClusterName", &image.cluster_name)
        .field("CreationDate", image.creation_date)
        .field("Versions", image.versions)
        .field("Sha256", &image.sha256)
        .field("Intact", if image.intact { "yes" } else { "NO" })
        .render()
}

fn image_table(images: &[ImageInfo]) -> String {
    let mut table = Table::new(&["IMAGE", "CLUSTER", "CREATED", "VERSIONS", "INTACT", "SHA256"]);
    for image in images {
        table.row(vec![
            image.image_id.clone(),
            image.cluster_name.clone(),
            image.creation_date.to_string(),
            image.versions.to_string(),
            if image.intact { "yes" } else { "NO" }.to_owned(),
            image.sha256.clone(),
        ]);
    }
    table.render()
}

fn resync_text(report: &ResyncReport) -> String {
    Fields::new()
        .field("ClusterName", &report.cluster_name)
        .field("Copied", report.copied)
        .field("Failed", report.failed)
        .field("Recovered", list_or_dash(&report.recovered))
        .field("Promoted", report.promoted.as_deref().unwrap_or("-"))
        .render()
}

fn table(clusters: &[ClusterSummary]) -> String {
    let mut table = Table::new(&["NAME", "MEMBERS", "INSTANCES", "CREATED"]);
    for cluster in clusters {
        table.row(vec![
            cluster.cluster_name.clone(),
            cluster.member_count.to_string(),
            list_or_dash(&cluster.instances),
            cluster.creation_date.to_string(),
        ]);
    }
    table.render()
}

/// The cluster's fields, a blank line, then one row per member.
fn status_text(status: &ClusterStatus) -> String {
    let mut text = Fields::new()
        .field("ClusterName", &status.cluster_name)
        .field("ExpectedObjects", status.expected_objects)
        .field("CheckedAt", status.checked_at)
        .render();
    let mut table = Table::new(&[
        "INDEX",
        "ROLE",
        "HEALTH",
        "IN-SYNC",
        "LAG",
        "LAST-SYNC",
        "OBJECTS",
        "TOKEN-LABEL",
        "SERIAL",
        "MODULE",
    ]);
    for member in &status.members {
        table.row(vec![
            member.index.to_string(),
            member.role.to_string(),
            member.health.to_string(),
            if member.in_sync { "yes" } else { "no" }.to_owned(),
            member.missing_versions.to_string(),
            or_dash(member.last_sync.as_ref()),
            member.object_count.to_string(),
            member.token_label.clone(),
            member.serial.clone(),
            member.module.clone(),
        ]);
    }
    text.push('\n');
    text.push_str(&table.render());
    text
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{MemberHealth, MemberRole, MemberStatus};

    use super::super::test_support::{command, refused};
    use super::*;

    fn member(index: u32, role: MemberRole, health: MemberHealth, in_sync: bool) -> MemberStatus {
        MemberStatus {
            index,
            token_label: format!("c1-{index}"),
            serial: format!("serial{index}"),
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            role,
            health,
            in_sync,
            object_count: if in_sync { 2 } else { 1 },
            missing_versions: u64::from(!in_sync),
            last_sync: None,
        }
    }

    #[test]
    fn parses_to_requests() {
        assert_eq!(command(&["cluster", "list"]).request().expect("request"), AdminRequest::ClusterList);
        assert_eq!(
            command(&["cluster", "status", "c1"]).request().expect("request"),
            AdminRequest::ClusterStatus { name: "c1".into() }
        );
        refused(&["cluster", "status"]);
    }

    #[test]
    fn list_prints_a_table() {
        let reply = AdminReply::Clusters(vec![ClusterSummary {
            cluster_name: "c1".into(),
            member_count: 3,
            instances: vec!["hsm1".into(), "soft1".into()],
            creation_date: Timestamp(1_700_000_000),
        }]);
        assert_eq!(
            command(&["cluster", "list"]).render(reply, Format::Human).expect("renders"),
            "NAME  MEMBERS  INSTANCES   CREATED\n\
             c1    3        hsm1,soft1  2023-11-14T22:13:20Z\n"
        );
    }

    #[test]
    fn status_prints_fields_then_members() {
        let status = ClusterStatus {
            cluster_name: "c1".into(),
            expected_objects: 2,
            members: vec![
                member(0, MemberRole::Primary, MemberHealth::Healthy, true),
                member(1, MemberRole::Mirror, MemberHealth::Unreachable, false),
            ],
            checked_at: Timestamp(1_700_000_000),
        };
        let cmd = command(&["cluster", "status", "c1"]);
        assert_eq!(
            cmd.render(AdminReply::Cluster(status.clone()), Format::Human).expect("renders"),
            "ClusterName:     c1\n\
             ExpectedObjects: 2\n\
             CheckedAt:       2023-11-14T22:13:20Z\n\
             \n\
             INDEX  ROLE     HEALTH       IN-SYNC  LAG  LAST-SYNC  OBJECTS  TOKEN-LABEL  SERIAL   MODULE\n\
             0      primary  healthy      yes      0    -          2        c1-0         serial0  /usr/lib/softhsm/libsofthsm2.so\n\
             1      mirror   unreachable  no       1    -          1        c1-1         serial1  /usr/lib/softhsm/libsofthsm2.so\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&cmd.render(AdminReply::Cluster(status), Format::Json).expect("renders"))
                .expect("json");
        assert_eq!(json["Members"][1]["Health"], "unreachable");
        assert_eq!(json["Members"][1]["InSync"], false);
    }
}
