//! A cluster's membership and status: `cluster list | create | status |
//! add-member | remove-member`. Every command that changes the members
//! answers with the cluster's status, read after the change.

use clap::Args;
use p11kms_proto::admin::{
    ClusterStatus, ClusterSummary, CreateClusterRequest, RemoveClusterMemberRequest, ResourceName, op,
};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, Table, list_or_dash, or_dash};

/// `cluster list`.
#[derive(Debug, Args)]
pub struct ListClustersArgs {}

impl Invocation for ListClustersArgs {
    type Op = op::ListClusters;

    fn request(&self) -> Result<(), RequestError> {
        Ok(())
    }

    fn render(&self, clusters: &Vec<ClusterSummary>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Clusters", clusters, table)?)
    }
}

/// `cluster create NAME --members N`.
#[derive(Debug, Args)]
pub struct CreateClusterArgs {
    /// New cluster's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// Members: a primary and its mirrors (2 to 8).
    #[arg(long, value_name = "N", default_value_t = 3)]
    members: u32,
}

impl Invocation for CreateClusterArgs {
    type Op = op::CreateCluster;

    fn request(&self) -> Result<CreateClusterRequest, RequestError> {
        Ok(CreateClusterRequest { name: self.name.clone(), members: self.members })
    }

    fn render(&self, status: &ClusterStatus, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, status, status_text)?)
    }
}

/// `cluster status NAME`.
#[derive(Debug, Args)]
pub struct ClusterStatusArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for ClusterStatusArgs {
    type Op = op::GetClusterStatus;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, status: &ClusterStatus, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, status, status_text)?)
    }
}

/// `cluster add-member NAME`.
#[derive(Debug, Args)]
pub struct AddClusterMemberArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for AddClusterMemberArgs {
    type Op = op::AddClusterMember;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, status: &ClusterStatus, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, status, status_text)?)
    }
}

/// `cluster remove-member NAME --index N`.
#[derive(Debug, Args)]
pub struct RemoveClusterMemberArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
    /// The member's index (`cluster status` lists them).
    #[arg(long, value_name = "N")]
    index: u32,
}

impl Invocation for RemoveClusterMemberArgs {
    type Op = op::RemoveClusterMember;

    fn request(&self) -> Result<RemoveClusterMemberRequest, RequestError> {
        Ok(RemoveClusterMemberRequest { name: self.name.clone(), index: self.index })
    }

    fn render(&self, status: &ClusterStatus, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, status, status_text)?)
    }
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

/// The cluster's fields, a blank line, then one row per member (also what
/// `cluster restore` shows of the new cluster).
pub(super) fn status_text(status: &ClusterStatus) -> String {
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
        "UNKNOWN",
        "ORPHANS",
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
            member.unexpected_objects.to_string(),
            member.orphans.to_string(),
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

    use super::super::super::test_support::{human, json, parsed, refused, request};
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
            unexpected_objects: 0,
            orphans: u64::from(index),
        }
    }

    #[test]
    fn parses_to_requests() {
        parsed::<ListClustersArgs>(&["cluster", "list"]);
        assert_eq!(request::<ClusterStatusArgs>(&["cluster", "status", "c1"]), ResourceName { name: "c1".into() });
        refused(&["cluster", "status"]);
    }

    #[test]
    fn membership_commands_parse_to_requests() {
        assert_eq!(
            request::<CreateClusterArgs>(&["cluster", "create", "c2"]),
            CreateClusterRequest { name: "c2".into(), members: 3 },
            "three members by default"
        );
        assert_eq!(
            request::<CreateClusterArgs>(&["cluster", "create", "c2", "--members", "2"]),
            CreateClusterRequest { name: "c2".into(), members: 2 }
        );
        assert_eq!(
            request::<AddClusterMemberArgs>(&["cluster", "add-member", "c1"]),
            ResourceName { name: "c1".into() }
        );
        assert_eq!(
            request::<RemoveClusterMemberArgs>(&["cluster", "remove-member", "c1", "--index", "2"]),
            RemoveClusterMemberRequest { name: "c1".into(), index: 2 }
        );
        refused(&["cluster", "remove-member", "c1"]);
    }

    #[test]
    fn list_prints_a_table() {
        let reply = vec![ClusterSummary {
            cluster_name: "c1".into(),
            member_count: 3,
            instances: vec!["hsm1".into(), "soft1".into()],
            creation_date: Timestamp(1_700_000_000),
        }];
        assert_eq!(
            human::<ListClustersArgs>(&["cluster", "list"], &reply),
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
                member(1, MemberRole::Mirror, MemberHealth::OutOfService, false),
            ],
            checked_at: Timestamp(1_700_000_000),
        };
        let args = &["cluster", "status", "c1"];
        let text = human::<ClusterStatusArgs>(args, &status);
        assert_eq!(
            text,
            "ClusterName:     c1\n\
             ExpectedObjects: 2\n\
             CheckedAt:       2023-11-14T22:13:20Z\n\
             \n\
             INDEX  ROLE     HEALTH          IN-SYNC  LAG  LAST-SYNC  OBJECTS  UNKNOWN  ORPHANS  TOKEN-LABEL  SERIAL   MODULE\n\
             0      primary  healthy         yes      0    -          2        0        0        c1-0         serial0  /usr/lib/softhsm/libsofthsm2.so\n\
             1      mirror   out-of-service  no       1    -          1        0        1        c1-1         serial1  /usr/lib/softhsm/libsofthsm2.so\n"
        );
        let json = json::<ClusterStatusArgs>(args, &status);
        assert_eq!(json["Members"][1]["Health"], "out-of-service");
        assert_eq!(json["Members"][1]["Orphans"], 1);
        assert_eq!(json["Members"][1]["InSync"], false);
        let members_changed =
            human::<RemoveClusterMemberArgs>(&["cluster", "remove-member", "c1", "--index", "2"], &status);
        assert_eq!(members_changed, text, "a change of members answers with the status");
    }
}
