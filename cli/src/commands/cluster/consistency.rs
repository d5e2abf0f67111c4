//! A cluster against the store: `cluster verify` lists every difference
//! (and exits 5 when there is one), and leftovers of unacknowledged
//! creations apart; `cluster resync` repairs what it can (and exits 5 when
//! it could not make the cluster whole).

use clap::Args;
use p11kms_proto::admin::{ClusterVerification, MemberHealth, ResourceName, ResyncReport, op};

use super::super::{Invocation, RenderError, RequestError};
use super::DIFFERENCES_FOUND;
use crate::output::{self, Fields, Format, Table, list_or_dash};

/// `cluster verify NAME`.
#[derive(Debug, Args)]
pub struct VerifyClusterArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for VerifyClusterArgs {
    type Op = op::VerifyCluster;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, verification: &ClusterVerification, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, verification, verification_text)?)
    }

    /// 5 when a member differs from the store.
    fn exit_status(&self, verification: &ClusterVerification) -> u8 {
        if verification.consistent { 0 } else { DIFFERENCES_FOUND }
    }
}

/// `cluster resync NAME`.
#[derive(Debug, Args)]
pub struct ResyncClusterArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for ResyncClusterArgs {
    type Op = op::ResyncCluster;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, report: &ResyncReport, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, report, resync_text)?)
    }

    /// 5 when a copy failed, a version has no member to copy it from, or a
    /// member is still out of service: the cluster is not whole.
    fn exit_status(&self, report: &ResyncReport) -> u8 {
        let whole = report.failed == 0 && report.unheld.is_empty() && report.out_of_service.is_empty();
        if whole { 0 } else { DIFFERENCES_FOUND }
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
            .chain(member.unexpected.iter().map(|u| ("unknown to the store", u.as_str())))
            .chain(member.orphans.iter().map(|o| ("leftover (to destroy)", o.as_str())));
        for (what, version) in rows {
            table.row(vec![
                member.index.to_string(),
                member.role.to_string(),
                member.health.to_string(),
                what.to_owned(),
                version.to_owned(),
            ]);
        }
        let state = match member.health {
            MemberHealth::Unreachable => Some("did not answer"),
            MemberHealth::OutOfService => Some("out of service"),
            MemberHealth::Healthy => None,
        };
        if let Some(state) = state {
            table.row(vec![
                member.index.to_string(),
                member.role.to_string(),
                member.health.to_string(),
                state.to_owned(),
                "-".to_owned(),
            ]);
        }
    }
    let leftovers = v.members.iter().any(|m| !m.orphans.is_empty());
    if !v.consistent || leftovers {
        text.push('\n');
        text.push_str(&table.render());
    }
    text
}

fn resync_text(report: &ResyncReport) -> String {
    Fields::new()
        .field("ClusterName", &report.cluster_name)
        .field("Copied", report.copied)
        .field("Failed", report.failed)
        .field("Recovered", list_or_dash(&report.recovered))
        .field("Promoted", report.promoted.as_deref().unwrap_or("-"))
        .field("OrphansDestroyed", list_or_dash(&report.orphans_destroyed))
        .field("Unheld", list_or_dash(&report.unheld))
        .field("OutOfService", list_or_dash(&report.out_of_service))
        .render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::{MemberDifferences, MemberRole};

    use super::super::super::test_support::{human, json, parsed, request};
    use super::*;

    fn verification(consistent: bool) -> ClusterVerification {
        let member = |index, role, health, missing: &[&str]| MemberDifferences {
            index,
            token_label: format!("c1-{index}"),
            role,
            health,
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
            unexpected: vec![],
            orphans: vec![],
        };
        ClusterVerification {
            cluster_name: "c1".into(),
            expected_versions: 2,
            consistent,
            members: if consistent {
                vec![member(0, MemberRole::Primary, MemberHealth::Healthy, &[])]
            } else {
                vec![
                    member(0, MemberRole::Primary, MemberHealth::Healthy, &[]),
                    member(1, MemberRole::Mirror, MemberHealth::Healthy, &["k-1/v-2"]),
                    member(2, MemberRole::Mirror, MemberHealth::Unreachable, &[]),
                ]
            },
        }
    }

    #[test]
    fn verify_lists_each_difference_and_exits_5_when_there_is_one() {
        let args = &["cluster", "verify", "c1"];
        assert_eq!(request::<VerifyClusterArgs>(args), ResourceName { name: "c1".into() });
        assert_eq!(
            human::<VerifyClusterArgs>(args, &verification(true)),
            "ClusterName:      c1\nExpectedVersions: 2\nConsistent:       yes\n"
        );
        assert_eq!(parsed::<VerifyClusterArgs>(args).exit_status(&verification(true)), 0);
        assert_eq!(
            human::<VerifyClusterArgs>(args, &verification(false)),
            "ClusterName:      c1\nExpectedVersions: 2\nConsistent:       NO\n\
             \n\
             INDEX  ROLE    HEALTH       DIFFERENCE      VERSION\n\
             1      mirror  healthy      missing         k-1/v-2\n\
             2      mirror  unreachable  did not answer  -\n"
        );
        assert_eq!(parsed::<VerifyClusterArgs>(args).exit_status(&verification(false)), DIFFERENCES_FOUND);
        assert_eq!(json::<VerifyClusterArgs>(args, &verification(false))["Members"][1]["Missing"][0], "k-1/v-2");
    }

    #[test]
    fn verify_lists_leftovers_apart_and_they_are_no_difference() {
        let args = &["cluster", "verify", "c1"];
        let mut with_leftovers = verification(true);
        with_leftovers.members[0].orphans = vec!["0a1b (k-1/v-9)".into()];
        assert_eq!(parsed::<VerifyClusterArgs>(args).exit_status(&with_leftovers), 0);
        assert_eq!(
            human::<VerifyClusterArgs>(args, &with_leftovers),
            "ClusterName:      c1\nExpectedVersions: 2\nConsistent:       yes\n\
             \n\
             INDEX  ROLE     HEALTH   DIFFERENCE             VERSION\n\
             0      primary  healthy  leftover (to destroy)  0a1b (k-1/v-9)\n"
        );
        assert_eq!(json::<VerifyClusterArgs>(args, &with_leftovers)["Members"][0]["Orphans"][0], "0a1b (k-1/v-9)");
    }

    #[test]
    fn resync_reports_what_it_did() {
        let report = ResyncReport {
            cluster_name: "c1".into(),
            copied: 3,
            failed: 0,
            recovered: vec!["c1-2".into()],
            promoted: None,
            orphans_destroyed: vec!["k-1/v-9".into()],
            unheld: vec![],
            out_of_service: vec![],
        };
        let args = &["cluster", "resync", "c1"];
        assert_eq!(request::<ResyncClusterArgs>(args), ResourceName { name: "c1".into() });
        assert_eq!(
            human::<ResyncClusterArgs>(args, &report),
            "ClusterName:      c1\nCopied:           3\nFailed:           0\nRecovered:        c1-2\n\
             Promoted:         -\nOrphansDestroyed: k-1/v-9\nUnheld:           -\nOutOfService:     -\n"
        );
        assert_eq!(json::<ResyncClusterArgs>(args, &report)["Promoted"], serde_json::Value::Null);
        assert_eq!(parsed::<ResyncClusterArgs>(args).exit_status(&report), 0, "a whole cluster");
        let failed = ResyncReport { failed: 17, ..report.clone() };
        assert_eq!(parsed::<ResyncClusterArgs>(args).exit_status(&failed), DIFFERENCES_FOUND, "failed copies");
        let unheld = ResyncReport { unheld: vec!["k-1/v-1".into()], ..report.clone() };
        assert_eq!(parsed::<ResyncClusterArgs>(args).exit_status(&unheld), DIFFERENCES_FOUND, "nothing to copy from");
        let out = ResyncReport { out_of_service: vec!["c1-1".into()], ..report };
        assert_eq!(parsed::<ResyncClusterArgs>(args).exit_status(&out), DIFFERENCES_FOUND, "a member still out");
    }
}
