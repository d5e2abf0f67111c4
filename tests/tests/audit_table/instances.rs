//! The rows of apps and instances (first), of the clock, and of clusters
//! and the instances on them (last of the single-daemon rows but backups).

use p11kms_proto::Timestamp;

use super::table::{Audit, Received, ok, refused, text};

/// Instances and apps.
pub(crate) fn apps(audit: &mut Audit<'_>, received: &mut Received) {
    audit.table(&[
        ok("ListInstances", &["instance", "list"], &[]),
        ok("DescribeInstance", &["instance", "describe", "hsm1"], &["instance/hsm1"]),
        refused(
            "DescribeInstance",
            &["instance", "describe", "nope"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);
    let (app, _) = audit.run(&ok(
        "CreateApp",
        &["app", "create", "audit-app", "--instance", "hsm1", "--policy", "all"],
        &["app/audit-app", "instance/hsm1"],
    ));
    received.push(("the app's PIN", text(&app, "Pin").into_bytes()));
    audit.table(&[
        refused(
            "CreateApp",
            &["app", "create", "audit-app", "--instance", "hsm1", "--policy", "all"],
            &["app/audit-app"],
            "Rejected.ResourceExist",
        ),
        ok("ListApps", &["app", "list"], &[]),
        ok("DescribeApp", &["app", "describe", "audit-app"], &["app/audit-app"]),
        refused("DescribeApp", &["app", "describe", "nope"], &["app/nope"], "Forbidden.ResourceNotFound"),
        ok("UpdateAppPolicy", &["app", "update-policy", "audit-app", "--policy", "all"], &["app/audit-app"]),
        refused(
            "UpdateAppPolicy",
            &["app", "update-policy", "nope", "--policy", "all"],
            &["app/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DeleteApp", &["app", "delete", "audit-app"], &["app/audit-app"]),
        refused("DeleteApp", &["app", "delete", "audit-app"], &["app/audit-app"], "Forbidden.ResourceNotFound"),
    ]);
}

/// The clock (test clock here; refusals of the system clock in the test).
pub(crate) fn clock(audit: &mut Audit<'_>) {
    let daemon = audit.daemon;
    let now = Timestamp::parse_rfc3339(&text(&daemon.cli_json(&["clock", "show"]), "Now")).expect("RFC 3339");
    let later = now.plus_seconds(7200).to_string();
    audit.table(&[
        ok("GetClock", &["clock", "show"], &[]),
        ok("AdvanceClock", &["clock", "advance", "1h"], &[]),
        ok("SetClock", &["clock", "set", &later], &[]),
        refused("SetClock", &["clock", "set", &now.to_string()], &[], "InvalidParameter"),
        ok("ListConnections", &["connection", "list"], &[]),
    ]);
}

/// Clusters and instances, last: the instance moves to a restored cluster.
pub(crate) fn clusters(audit: &mut Audit<'_>) {
    audit.table(&[
        ok("ListClusters", &["cluster", "list"], &[]),
        ok("GetClusterStatus", &["cluster", "status", "hsm1"], &["cluster/hsm1"]),
        refused("GetClusterStatus", &["cluster", "status", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok("VerifyCluster", &["cluster", "verify", "hsm1"], &["cluster/hsm1"]),
        refused("VerifyCluster", &["cluster", "verify", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok("CreateCluster", &["cluster", "create", "audit-c", "--members", "2"], &["cluster/audit-c"]),
        refused(
            "CreateCluster",
            &["cluster", "create", "audit-c", "--members", "2"],
            &["cluster/audit-c"],
            "Rejected.ResourceExist",
        ),
        ok("AddClusterMember", &["cluster", "add-member", "audit-c"], &["cluster/audit-c"]),
        refused(
            "AddClusterMember",
            &["cluster", "add-member", "nope"],
            &["cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("RemoveClusterMember", &["cluster", "remove-member", "audit-c", "--index", "2"], &["cluster/audit-c"]),
        refused(
            "RemoveClusterMember",
            &["cluster", "remove-member", "audit-c", "--index", "0"],
            &["cluster/audit-c"],
            "InvalidParameter",
        ),
        ok("ResyncCluster", &["cluster", "resync", "audit-c"], &["cluster/audit-c"]),
        refused("ResyncCluster", &["cluster", "resync", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok(
            "CreateInstance",
            &["instance", "create", "audit-i", "--cluster", "audit-c"],
            &["instance/audit-i", "cluster/audit-c"],
        ),
        refused(
            "CreateInstance",
            &["instance", "create", "audit-j", "--cluster", "nope"],
            &["instance/audit-j", "cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DeleteInstance", &["instance", "delete", "audit-i"], &["instance/audit-i"]),
        refused("DeleteInstance", &["instance", "delete", "default"], &["instance/default"], "InvalidParameter"),
    ]);
    let (image, _) = audit.run(&ok("CreateClusterImage", &["cluster", "image", "create", "hsm1"], &["cluster/hsm1"]));
    let image = text(&image, "ImageId");
    audit.table(&[
        refused(
            "CreateClusterImage",
            &["cluster", "image", "create", "nope"],
            &["cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListClusterImages", &["cluster", "image", "list", "hsm1"], &["cluster/hsm1"]),
        ok(
            "RestoreCluster",
            &["cluster", "restore", "--image", &image, "--name", "audit-r", "--members", "2"],
            &["cluster/audit-r"],
        ),
        refused(
            "RestoreCluster",
            &["cluster", "restore", "--image", "img-nope", "--name", "audit-s", "--members", "2"],
            &["cluster/audit-s"],
            "Forbidden.ResourceNotFound",
        ),
        ok("AttachCluster", &["instance", "attach-cluster", "hsm1", "audit-r"], &["instance/hsm1", "cluster/audit-r"]),
        refused(
            "AttachCluster",
            &["instance", "attach-cluster", "hsm1", "nope"],
            &["instance/hsm1", "cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);
}
