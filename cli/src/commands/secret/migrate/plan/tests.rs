//! The plan without daemons: the order of versions, where each stage goes
//! and when, the limits on the way, and the sources that cannot be
//! rebuilt.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::secret::{ACS_CURRENT, ACS_PREVIOUS, MAX_STAGES};

use super::super::stages::Model;
use super::*;

fn target(version_id: &str, stages: &[&str]) -> Target {
    Target { version_id: version_id.into(), stages: stages.iter().map(|s| (*s).to_owned()).collect() }
}

fn put(version_id: &str, stages: &[&str]) -> Step {
    Step::Put { version_id: version_id.into(), version_stages: stages.iter().map(|s| (*s).to_owned()).collect() }
}

fn create(version_id: &str) -> Step {
    Step::Create { version_id: version_id.into() }
}

fn stage(stage: &str, from: Option<&str>, to: Option<&str>) -> Step {
    Step::Stage {
        version_stage: stage.into(),
        remove_from_version: from.map(Into::into),
        move_to_version: to.map(Into::into),
    }
}

/// Runs `steps` on a fresh model, as the destination would, checking the
/// stage limit after each; returns the end.
fn replay(steps: &[Step]) -> Model {
    let mut model = Model::default();
    for step in steps {
        if let Step::Stage { version_stage, remove_from_version: Some(from), .. } = step {
            assert_eq!(model.holder(version_stage), Some(from.as_str()), "`{step}` names the version that has it");
        }
        step.apply(&mut model);
        assert!(model.stage_count() <= MAX_STAGES, "`{step}` goes over the stage limit");
    }
    model
}

/// Plans `targets`, replays the plan and checks that it rebuilds them.
fn rebuilt(targets: &[Target]) -> Vec<Step> {
    let steps = plan(targets).unwrap_or_else(|e| panic!("{targets:?} has a plan: {e}"));
    let model = replay(&steps);
    assert_eq!(model.version_count(), targets.len(), "one version made per source version");
    for t in targets {
        let mut wanted = t.stages.clone();
        wanted.sort();
        assert_eq!(model.stages_of(&t.version_id), wanted, "{} after {steps:#?}", t.version_id);
    }
    let made: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Create { version_id } | Step::Put { version_id, .. } => Some(version_id.as_str()),
            Step::Stage { .. } => None,
        })
        .collect();
    let sources: Vec<&str> = targets.iter().map(|t| t.version_id.as_str()).collect();
    assert_eq!(made, sources, "versions are made in the source's order");
    steps
}

#[test]
fn versions_sort_by_creation_time_and_ties_keep_the_listing_order() {
    let mut listed = vec![("v3", 30), ("b", 10), ("a", 10), ("v0", 5), ("c", 10)];
    order(&mut listed, |(_, time)| Timestamp(*time));
    let ids: Vec<&str> = listed.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, ["v0", "b", "a", "c", "v3"]);
}

#[test]
fn the_specs_example_puts_each_version_then_places_the_custom_stage() {
    let steps = rebuilt(&[target("v1", &["001"]), target("v2", &[ACS_PREVIOUS]), target("v3", &[ACS_CURRENT])]);
    assert_eq!(
        steps,
        [create("v1"), put("v2", &[ACS_CURRENT]), put("v3", &[ACS_CURRENT]), stage("001", None, Some("v1")),]
    );
}

#[test]
fn a_deprecated_version_ends_without_a_stage_and_acsprevious_goes_back_to_the_first() {
    // The case: the custom stage and ACSPrevious on the first
    // version, the second deprecated.
    let steps = rebuilt(&[target("v1", &["001", ACS_PREVIOUS]), target("v2", &[]), target("v3", &[ACS_CURRENT])]);
    assert_eq!(
        steps,
        [
            create("v1"),
            put("v2", &[ACS_CURRENT]),
            put("v3", &[ACS_CURRENT]),
            stage("001", None, Some("v1")),
            stage(ACS_PREVIOUS, Some("v2"), Some("v1")),
        ]
    );
}

#[test]
fn acscurrent_and_acsprevious_are_moved_last_wherever_they_stood() {
    let steps = rebuilt(&[
        target("v1", &[]),
        target("v2", &[ACS_CURRENT, "blue"]),
        target("v3", &[ACS_PREVIOUS]),
        target("v4", &["green"]),
    ]);
    assert_eq!(
        steps,
        [
            create("v1"),
            put("v2", &["blue"]),
            put("v3", &[ACS_CURRENT]),
            put("v4", &["green"]),
            stage(ACS_CURRENT, Some("v3"), Some("v2")),
        ],
        "moving ACSCurrent from v3 to v2 leaves ACSPrevious on v3, as at the source"
    );
    // Both on one version.
    rebuilt(&[target("v1", &[]), target("v2", &[ACS_CURRENT, ACS_PREVIOUS])]);
    rebuilt(&[target("v1", &[ACS_CURRENT, ACS_PREVIOUS])]);
}

#[test]
fn without_acsprevious_a_custom_stage_carries_the_versions_without_one_and_goes_back() {
    // ACSCurrent never moved at the source: it must not move here either.
    let steps = rebuilt(&[target("v1", &[ACS_CURRENT]), target("v2", &[]), target("v3", &["blue"]), target("v4", &[])]);
    assert_eq!(
        steps,
        [
            create("v1"),
            put("v2", &["blue"]),
            put("v3", &["blue"]),
            put("v4", &["blue"]),
            stage("blue", Some("v4"), Some("v3")),
        ]
    );
    assert!(steps.iter().all(|s| !s.to_string().contains(ACS_PREVIOUS)));
}

#[test]
fn a_lone_acscurrent_carries_deprecated_versions_with_the_transfer_stage_removed_at_the_end() {
    let steps = rebuilt(&[target("v1", &[ACS_CURRENT]), target("v2", &[]), target("v3", &[])]);
    assert_eq!(
        steps,
        [
            create("v1"),
            put("v2", &[TRANSFER_STAGE]),
            put("v3", &[TRANSFER_STAGE]),
            stage(TRANSFER_STAGE, Some("v3"), None),
        ]
    );
    assert_eq!(rebuilt(&[target("only", &[ACS_CURRENT])]), [create("only")]);
}

#[test]
fn ten_versions_and_eight_stages_are_rebuilt_without_going_over_either_limit() {
    // Six custom stages on the oldest six, two deprecated, ACSPrevious and
    // ACSCurrent on the newest: the source is at both limits.
    let mut targets: Vec<Target> = (1..=6).map(|i| target(&format!("v{i}"), &[&format!("s{i}")])).collect();
    targets.extend([
        target("v7", &[]),
        target("v8", &[]),
        target("v9", &[ACS_PREVIOUS]),
        target("v10", &[ACS_CURRENT]),
    ]);
    let steps = rebuilt(&targets);
    assert_eq!(steps.iter().filter(|s| matches!(s, Step::Put { .. })).count(), 9);
    // The same without ACSPrevious: the custom stages carry.
    let mut targets: Vec<Target> = (2..=8).map(|i| target(&format!("v{i}"), &[&format!("s{i}")])).collect();
    targets.insert(0, target("v1", &[ACS_CURRENT]));
    targets.extend([target("v9", &[]), target("v10", &[])]);
    rebuilt(&targets);
}

#[test]
fn every_placement_of_four_stages_on_four_versions_is_rebuilt_or_refused_for_its_reason() {
    let ids = ["v1", "v2", "v3", "v4"];
    let mut planned = 0;
    // Each stage on a version (index) or none (4); ACSCurrent on one.
    for current in 0..4 {
        for previous in 0..5 {
            for blue in 0..5 {
                for green in 0..5 {
                    let mut targets: Vec<Target> = ids.iter().map(|id| target(id, &[])).collect();
                    for (stage, at) in
                        [(ACS_CURRENT, current), (ACS_PREVIOUS, previous), ("blue", blue), ("green", green)]
                    {
                        if let Some(t) = targets.get_mut(at) {
                            t.stages.push(stage.to_owned());
                        }
                    }
                    if previous == 4 && current != 0 {
                        assert!(matches!(plan(&targets), Err(PlanError::CurrentWithoutPrevious { .. })), "{targets:?}");
                    } else {
                        rebuilt(&targets);
                        planned += 1;
                    }
                }
            }
        }
    }
    assert_eq!(planned, 4 * 5 * 5 * 5 - 3 * 25);
}

#[test]
fn a_source_that_cannot_be_rebuilt_is_refused() {
    assert_eq!(plan(&[]), Err(PlanError::NoVersions));
    assert_eq!(plan(&[target("v1", &["blue"])]), Err(PlanError::NoCurrent));
    assert_eq!(
        plan(&[target("v1", &[ACS_CURRENT, "blue"]), target("v2", &["blue"])]),
        Err(PlanError::SharedStage { stage: "blue".into(), first: "v1".into(), second: "v2".into() })
    );
    let nine: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    let mut crowded = target("v1", &[ACS_CURRENT]);
    crowded.stages.extend(nine);
    assert_eq!(plan(&[crowded]), Err(PlanError::TooManyStages { count: 9 }));
    let error = plan(&[target("v1", &[]), target("v2", &[ACS_CURRENT])]).expect_err("no ACSPrevious");
    assert_eq!(error, PlanError::CurrentWithoutPrevious { current: "v2".into(), oldest: "v1".into() });
    assert!(error.to_string().contains("ACSPrevious is never removed"), "{error}");
}

#[test]
fn steps_show_as_the_api_calls_they_are() {
    assert_eq!(put("v2", &[ACS_CURRENT, "b"]).to_string(), "PutSecretValue v2 [ACSCurrent,b]");
    assert_eq!(stage("b", Some("v2"), None).to_string(), "UpdateSecretVersionStage b: v2 -> -");
    let json = serde_json::to_value(stage("b", None, Some("v1"))).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"Operation": "UpdateSecretVersionStage", "VersionStage": "b",
                           "RemoveFromVersion": null, "MoveToVersion": "v1"})
    );
    let json = serde_json::to_value(put("v2", &["b"])).expect("json");
    assert_eq!(json, serde_json::json!({"Operation": "PutSecretValue", "VersionId": "v2", "VersionStages": ["b"]}));
}
