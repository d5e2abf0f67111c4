//! `p11kms instance …`: the KMS instances (PKCS#11 slots) and what they
//! hold against their quota.

use clap::Args;
use p11kms_proto::admin::{
    AttachClusterRequest, CreateInstanceRequest, DeleteInstanceRequest, InstanceInfo, InstanceKind, ResourceName, op,
};

use super::values::named_value;
use super::{Invocation, RenderError, RequestError, subcommands};
use crate::output::{self, Fields, Format, Table, or_dash};

subcommands! {
    /// Operations on instances.
    pub enum InstanceCommand {
        /// Lists the instances.
        List(ListInstancesArgs),
        /// Shows one instance.
        Describe(DescribeInstanceArgs),
        /// Creates an instance (a new PKCS#11 slot) whose keys a cluster keeps.
        Create(CreateInstanceArgs),
        /// Points an instance at another cluster (one restored from an image),
        /// copying the key versions it lacks from the cluster the instance
        /// leaves; refuses when versions would be lost, unless --force.
        AttachCluster(AttachClusterArgs),
        /// Deletes an instance and its PKCS#11 slot (not its cluster, not its
        /// backups); refuses while it holds keys not pending deletion,
        /// secrets, apps or migration tasks, unless --force.
        Delete(DeleteInstanceArgs),
    }
}

/// `instance list`.
#[derive(Debug, Args)]
pub struct ListInstancesArgs {}

impl Invocation for ListInstancesArgs {
    type Op = op::ListInstances;

    fn request(&self) -> Result<(), RequestError> {
        Ok(())
    }

    fn render(&self, instances: &Vec<InstanceInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Instances", instances, table)?)
    }
}

/// `instance describe NAME`.
#[derive(Debug, Args)]
pub struct DescribeInstanceArgs {
    /// Instance name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for DescribeInstanceArgs {
    type Op = op::DescribeInstance;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, instance: &InstanceInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, instance, fields)?)
    }
}

/// `instance create NAME --kind K --cluster C`.
#[derive(Debug, Args)]
pub struct CreateInstanceArgs {
    /// Instance name (also its token label).
    #[arg(value_name = "NAME")]
    name: String,
    /// `hardware` or `software`.
    #[arg(long, value_name = "KIND", default_value = "hardware", value_parser = named_value(InstanceKind::ALL, InstanceKind::as_str))]
    kind: InstanceKind,
    /// The cluster.
    #[arg(long, value_name = "CLUSTER")]
    cluster: String,
}

impl Invocation for CreateInstanceArgs {
    type Op = op::CreateInstance;

    fn request(&self) -> Result<CreateInstanceRequest, RequestError> {
        Ok(CreateInstanceRequest { name: self.name.clone(), kind: self.kind, cluster: self.cluster.clone() })
    }

    fn render(&self, instance: &InstanceInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, instance, fields)?)
    }
}

/// `instance attach-cluster INSTANCE CLUSTER`.
#[derive(Debug, Args)]
pub struct AttachClusterArgs {
    /// Instance name.
    #[arg(value_name = "INSTANCE")]
    instance: String,
    /// The cluster that holds its keys from now on.
    #[arg(value_name = "CLUSTER")]
    cluster: String,
    /// Attach even though key versions that no reachable HSM holds would be
    /// lost (the refusal lists them); they are recorded lost.
    #[arg(long)]
    force: bool,
}

impl Invocation for AttachClusterArgs {
    type Op = op::AttachCluster;

    fn request(&self) -> Result<AttachClusterRequest, RequestError> {
        Ok(AttachClusterRequest { instance: self.instance.clone(), cluster: self.cluster.clone(), force: self.force })
    }

    fn render(&self, instance: &InstanceInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, instance, fields)?)
    }
}

/// `instance delete NAME [--force]`.
#[derive(Debug, Args)]
pub struct DeleteInstanceArgs {
    /// Instance name.
    #[arg(value_name = "NAME")]
    name: String,
    /// Delete what it still holds with it: every key (its material
    /// destroyed), secret and app, and end its scheduled migration tasks.
    #[arg(long)]
    force: bool,
}

impl Invocation for DeleteInstanceArgs {
    type Op = op::DeleteInstance;

    fn request(&self) -> Result<DeleteInstanceRequest, RequestError> {
        Ok(DeleteInstanceRequest { name: self.name.clone(), force: self.force })
    }

    /// The instance as it was before its deletion.
    fn render(&self, instance: &InstanceInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, instance, fields)?)
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
        .field("Region", &instance.region)
        .field("SlotId", instance.slot_id)
        .field("Kind", instance.kind)
        .field("Cluster", or_dash(instance.cluster.as_ref()))
        .field("KeyQuota", instance.key_quota)
        .field("KeyCount", instance.key_count)
        .field("KeyVersionCount", instance.key_version_count)
        .field("SecretQuota", instance.secret_quota)
        .field("SecretCount", instance.secret_count)
        .field("CreationDate", instance.creation_date)
        .render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::InstanceKind;

    use super::super::test_support::{human, json, parsed, refused, request};
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
            secret_quota: 1000,
            secret_count: 2,
            region: "local".into(),
        }
    }

    #[test]
    fn parses_to_requests() {
        parsed::<ListInstancesArgs>(&["instance", "list"]);
        assert_eq!(
            request::<DescribeInstanceArgs>(&["instance", "describe", "hsm1"]),
            ResourceName { name: "hsm1".into() }
        );
        refused(&["instance", "describe"]);
        refused(&["instance", "list", "extra"]);
    }

    #[test]
    fn create_and_attach_parse_to_requests() {
        assert_eq!(
            request::<CreateInstanceArgs>(&["instance", "create", "soft1", "--kind", "software", "--cluster", "c1"]),
            CreateInstanceRequest { name: "soft1".into(), kind: InstanceKind::Software, cluster: "c1".into() }
        );
        assert_eq!(
            request::<CreateInstanceArgs>(&["instance", "create", "hsm2", "--cluster", "c1"]).kind,
            InstanceKind::Hardware,
            "hardware by default"
        );
        assert_eq!(
            request::<AttachClusterArgs>(&["instance", "attach-cluster", "hsm1", "c2"]),
            AttachClusterRequest { instance: "hsm1".into(), cluster: "c2".into(), force: false }
        );
        assert!(request::<AttachClusterArgs>(&["instance", "attach-cluster", "hsm1", "c2", "--force"]).force);
        refused(&["instance", "create", "soft1"]);
        refused(&["instance", "attach-cluster", "hsm1"]);
    }

    #[test]
    fn delete_parses_to_requests() {
        assert_eq!(
            request::<DeleteInstanceArgs>(&["instance", "delete", "soft1"]),
            DeleteInstanceRequest { name: "soft1".into(), force: false }
        );
        assert!(request::<DeleteInstanceArgs>(&["instance", "delete", "soft1", "--force"]).force);
        refused(&["instance", "delete"]);
        refused(&["instance", "delete", "a", "b"]);
        let reply = instance("soft1", InstanceKind::Software, Some("c1"));
        let text = human::<DeleteInstanceArgs>(&["instance", "delete", "soft1"], &reply);
        assert!(text.starts_with("Name:            soft1\n"), "{text}");
    }

    #[test]
    fn list_prints_a_table() {
        let reply = vec![
            instance("default", InstanceKind::Default, None),
            instance("hsm1", InstanceKind::Hardware, Some("c1")),
        ];
        let text = human::<ListInstancesArgs>(&["instance", "list"], &reply);
        assert_eq!(
            text,
            "NAME     SLOT  KIND      CLUSTER  KEYS  KEY-VERSIONS  QUOTA  CREATED\n\
             default  1     default   -        3     4             1000   2023-11-14T22:13:20Z\n\
             hsm1     1     hardware  c1       3     4             1000   2023-11-14T22:13:20Z\n"
        );
    }

    #[test]
    fn describe_prints_fields_and_json() {
        let args = &["instance", "describe", "hsm1"];
        let reply = instance("hsm1", InstanceKind::Software, Some("c1"));
        let text = human::<DescribeInstanceArgs>(args, &reply);
        assert!(text.starts_with("Name:            hsm1\n"), "{text}");
        assert!(text.contains("Kind:            software\n"), "{text}");
        assert!(text.contains("Region:          local\n"), "{text}");
        let json = json::<DescribeInstanceArgs>(args, &reply);
        assert_eq!(json["Name"], "hsm1");
        assert_eq!(json["KeyVersionCount"], 4);
        assert_eq!((json["SecretQuota"].as_u64(), json["SecretCount"].as_u64()), (Some(1000), Some(2)));
        assert_eq!(json["CreationDate"], "2023-11-14T22:13:20Z");
        assert_eq!(json["Region"], "local");
    }
}
