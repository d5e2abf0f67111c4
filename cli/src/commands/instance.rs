//! `p11kms instance …`: the KMS instances (PKCS#11 slots) and what they
//! hold against their quota.

use clap::Subcommand;
use p11kms_proto::admin::{AdminReply, AdminRequest, InstanceInfo, InstanceKind};

use super::{RenderError, unexpected};
use crate::output::{self, Fields, Format, Table, or_dash};

/// Operations on instances.
#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Lists the instances.
    List,
    /// Shows one instance.
    Describe {
        /// Instance name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Creates an instance (a new PKCS#11 slot) whose keys a cluster keeps.
    Create {
        /// Instance name (also its token label).
        #[arg(value_name = "NAME")]
        name: String,
        /// `hardware` or `software`.
        #[arg(long, value_name = "KIND", default_value = "hardware", value_parser = super::named_value(InstanceKind::ALL, InstanceKind::as_str))]
        kind: InstanceKind,
        /// The cluster.
        #[arg(long, value_name = "CLUSTER")]
        cluster: String,
    },
    /// Points an instance at another cluster (one restored from an image).
    AttachCluster {
        /// Instance name.
        #[arg(value_name = "INSTANCE")]
        instance: String,
        /// The cluster that holds its keys from now on.
        #[arg(value_name = "CLUSTER")]
        cluster: String,
    },
}

impl InstanceCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::List => AdminRequest::InstanceList,
            Self::Describe { name } => AdminRequest::InstanceDescribe { name: name.clone() },
            Self::Create { name, kind, cluster } => {
                AdminRequest::InstanceCreate { name: name.clone(), kind: *kind, cluster: cluster.clone() }
            }
            Self::AttachCluster { instance, cluster } => {
                AdminRequest::InstanceAttachCluster { instance: instance.clone(), cluster: cluster.clone() }
            }
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::List, AdminReply::Instances(instances)) => {
                Ok(output::show_list(format, "Instances", &instances, table)?)
            }
            (
                Self::Describe { .. } | Self::AttachCluster { .. } | Self::Create { .. },
                AdminReply::Instance(instance),
            ) => Ok(output::show(format, &instance, fields)?),
            (Self::List, other) => Err(unexpected("instance list", &other)),
            (Self::Describe { .. }, other) => Err(unexpected("instance describe", &other)),
            (Self::AttachCluster { .. }, other) => Err(unexpected("instance attach-cluster", &other)),
            (Self::Create { .. }, other) => Err(unexpected("instance create", &other)),
        }
    }
}

fn table(instances: &[InstanceInfo]) -> String {
    let mut table = Table::new(&["NAME", "SLOT", "KIND", "CLUSTER", "KEYS", "KEY-VERSIONS", "QUOTA", "CREATED"]);
    for instance in instances {
        table.row(vec![
            instance.name.clone(),
            instance.slot_id.to_string(),
            instance.kind.to_string(),
            or_dash(instance.cluster.as_ref()),
            instance.key_count.to_string(),
            instance.key_version_count.to_string(),
            instance.key_quota.to_string(),
            instance.creation_date.to_string(),
        ]);
    }
    table.render()
}

fn fields(instance: &InstanceInfo) -> String {
    Fields::new()
        .field("Name", &instance.name)
        .field("SlotId", instance.slot_id)
        .field("Kind", instance.kind)
        .field("Cluster", or_dash(instance.cluster.as_ref()))
        .field("KeyQuota", instance.key_quota)
        .field("KeyCount", instance.key_count)
        .field("KeyVersionCount", instance.key_version_count)
        .field("CreationDate", instance.creation_date)
        .render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::InstanceKind;

    use super::super::test_support::{command, refused};
    use super::*;

    fn instance(name: &str, kind: InstanceKind, cluster: Option<&str>) -> InstanceInfo {
        InstanceInfo {
            name: name.into(),
            slot_id: 1,
            kind,
            cluster: cluster.map(Into::into),
            key_quota: 1000,
            key_count: 3,
            key_version_count: 4,
            creation_date: Timestamp(1_700_000_000),
        }
    }

    #[test]
    fn parses_to_requests() {
        assert_eq!(command(&["instance", "list"]).request().expect("request"), AdminRequest::InstanceList);
        assert_eq!(
            command(&["instance", "describe", "hsm1"]).request().expect("request"),
            AdminRequest::InstanceDescribe { name: "hsm1".into() }
        );
        refused(&["instance", "describe"]);
        refused(&["instance", "list", "extra"]);
    }

    #[test]
    fn list_prints_a_table() {
        let reply = AdminReply::Instances(vec![
            instance("default", InstanceKind::Default, None),
            instance("hsm1", InstanceKind::Hardware, Some("c1")),
        ]);
        let text = command(&["instance", "list"]).render(reply, Format::Human).expect("renders");
        assert_eq!(
            text,
            "NAME     SLOT  KIND      CLUSTER  KEYS  KEY-VERSIONS  QUOTA  CREATED\n\
             default  1     default   -        3     4             1000   2023-11-14T22:13:20Z\n\
             hsm1     1     hardware  c1       3     4             1000   2023-11-14T22:13:20Z\n"
        );
    }

    #[test]
    fn describe_prints_fields_and_json() {
        let cmd = command(&["instance", "describe", "hsm1"]);
        let reply = AdminReply::Instance(instance("hsm1", InstanceKind::Software, Some("c1")));
        let text = cmd.render(reply.clone(), Format::Human).expect("renders");
        assert!(text.starts_with("Name:            hsm1\n"), "{text}");
        assert!(text.contains("Kind:            software\n"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&cmd.render(reply, Format::Json).expect("renders")).expect("valid json");
        assert_eq!(json["Name"], "hsm1");
        assert_eq!(json["KeyVersionCount"], 4);
        assert_eq!(json["CreationDate"], "2023-11-14T22:13:20Z");
    }
}
