//! The plan of a migration: the calls that rebuild a secret's versions at
//! the destination with every stage where it stood at the source, worked
//! out and checked before anything is made there.
//!
//! Versions go in creation order ([`order`]): `CreateSecret` with the
//! oldest, then `PutSecretValue` for each later one. The destination's
//! rules shape the rest ([`super::stages`]): the first version gets
//! ACSCurrent; a put names at least one stage and takes each from the
//! version that had it; moving ACSCurrent gives its old version
//! ACSPrevious, and neither of the two is ever removed; a secret carries
//! at most 8 stages. So:
//!
//! 1. a later version is put with its own custom stages; one without any
//!    (deprecated, or with system stages only) is put with a *carrier*:
//!    ACSCurrent when the source has an ACSPrevious (both are set at the
//!    end anyway); otherwise the secret's last custom stage (moved back at
//!    the end); otherwise, for a secret whose only stage is ACSCurrent, the
//!    [`TRANSFER_STAGE`], removed at the end;
//! 2. each custom stage not where it stood (the first version's, a
//!    borrowed carrier) is moved there;
//! 3. ACSCurrent is moved to its version, then ACSPrevious to its own.
//!
//! Every stage present on the way is one the source has (or the transfer
//! stage beside a lone ACSCurrent), so the procedure itself never meets the
//! 8-stage limit; and it makes exactly the source's versions, so none
//! rolls off a destination that keeps as many as the source. The plan is
//! run on the model as it is made: it is refused when a step would go over
//! a limit or when its end is not the source's stages.

use std::collections::BTreeMap;
use std::fmt;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::secret::{ACS_CURRENT, ACS_PREVIOUS, MAX_STAGES, is_system_stage};
use serde::Serialize;

use super::stages::Model;

/// The stage a version without a custom stage is put with when the source
/// has neither ACSPrevious nor a custom stage (only ACSCurrent, so it
/// cannot collide with one); removed at the end.
pub const TRANSFER_STAGE: &str = "p11kms-migration";

/// Sorts versions by creation time. Versions made in the same second
/// (times are whole seconds) keep the order in which the source listed
/// them: p11kmsd lists a secret's versions oldest first, so that is the
/// order they were made in, and one answer always sorts the same way.
pub fn order<T>(versions: &mut [T], create_time: impl Fn(&T) -> Timestamp) {
    // A stable sort: ties stay in the listing's order.
    versions.sort_by_key(create_time);
}

/// A version to rebuild, with the stages it has at the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its id.
    pub version_id: String,
    /// Its stages at the source.
    pub stages: Vec<String>,
}

/// One call at the destination, with the API's parameter names (in
/// `--json`: `{"Operation": "PutSecretValue", "VersionId": …}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "Operation", rename_all_fields = "PascalCase")]
pub enum Step {
    /// The secret with its first version (which gets ACSCurrent).
    #[serde(rename = "CreateSecret")]
    Create {
        /// The oldest version.
        version_id: String,
    },
    /// A later version.
    #[serde(rename = "PutSecretValue")]
    Put {
        /// The version.
        version_id: String,
        /// The stages it is put with.
        version_stages: Vec<String>,
    },
    /// A stage moved or removed.
    #[serde(rename = "UpdateSecretVersionStage")]
    Stage {
        /// The stage.
        version_stage: String,
        /// The version that has it (checked by the destination).
        remove_from_version: Option<String>,
        /// The version that gets it; none to remove it.
        move_to_version: Option<String>,
    },
}

impl Step {
    /// What the step does to the destination.
    fn apply(&self, model: &mut Model) {
        match self {
            Self::Create { version_id } => model.add(version_id, &[ACS_CURRENT.to_owned()]),
            Self::Put { version_id, version_stages } => model.add(version_id, version_stages),
            Self::Stage { version_stage, move_to_version: Some(to), .. } => model.move_stage(version_stage, to),
            Self::Stage { version_stage, move_to_version: None, .. } => model.remove_stage(version_stage),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Create { version_id } => write!(f, "CreateSecret {version_id}"),
            Self::Put { version_id, version_stages } => {
                write!(f, "PutSecretValue {version_id} [{}]", version_stages.join(","))
            }
            Self::Stage { version_stage, remove_from_version, move_to_version } => write!(
                f,
                "UpdateSecretVersionStage {version_stage}: {} -> {}",
                remove_from_version.as_deref().unwrap_or("-"),
                move_to_version.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// Why a source cannot be rebuilt at the destination.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Nothing to copy.
    #[error("the source lists no version")]
    NoVersions,
    /// The source breaks its own rule.
    #[error("the stage '{stage}' is on versions '{first}' and '{second}' at the source, but names one version")]
    SharedStage {
        /// The stage.
        stage: String,
        /// One version with it.
        first: String,
        /// Another.
        second: String,
    },
    /// The source breaks its own rule.
    #[error("no version has ACSCurrent at the source")]
    NoCurrent,
    /// More stages than the destination takes.
    #[error("the source's versions carry {count} stages; a secret carries at most {MAX_STAGES}")]
    TooManyStages {
        /// Stages at the source.
        count: usize,
    },
    /// ACSCurrent moved at the destination always leaves an ACSPrevious.
    #[error(
        "ACSCurrent is on '{current}', not on the oldest version '{oldest}', and no version has ACSPrevious: \
         at the destination, moving ACSCurrent gives ACSPrevious to the version it leaves, and ACSPrevious \
         is never removed"
    )]
    CurrentWithoutPrevious {
        /// The version with ACSCurrent.
        current: String,
        /// The oldest version.
        oldest: String,
    },
    /// A step would go over the 8-stage limit (a bug of the plan: the
    /// module documentation says why it cannot).
    #[error("the step `{step}` would make {count} stages, over the limit of {MAX_STAGES}")]
    StageLimit {
        /// The step.
        step: String,
        /// Stages after it.
        count: usize,
    },
    /// The plan does not end where the source is (a bug of the plan).
    #[error("the plan leaves version '{version_id}' with the stages {reached:?}, not {wanted:?}")]
    Unreached {
        /// The version.
        version_id: String,
        /// Its stages at the source.
        wanted: Vec<String>,
        /// Its stages after the plan.
        reached: Vec<String>,
    },
}

/// The plan that rebuilds `targets` (in creation order) at the
/// destination, or why there is none.
pub fn plan(targets: &[Target]) -> Result<Vec<Step>, PlanError> {
    let (first, later) = targets.split_first().ok_or(PlanError::NoVersions)?;
    let holders = holders(targets)?;
    let current = *holders.get(ACS_CURRENT).ok_or(PlanError::NoCurrent)?;
    let previous = holders.get(ACS_PREVIOUS).copied();
    if previous.is_none() && current != first.version_id {
        return Err(PlanError::CurrentWithoutPrevious {
            current: current.to_owned(),
            oldest: first.version_id.clone(),
        });
    }
    let customs: Vec<&str> = targets.iter().flat_map(custom_stages).collect();
    let carrier = match (previous, customs.last()) {
        (Some(_), _) => ACS_CURRENT,
        (None, Some(last)) => last,
        (None, None) => TRANSFER_STAGE,
    };

    let mut plan = Planner::default();
    plan.push(Step::Create { version_id: first.version_id.clone() })?;
    for target in later {
        let own: Vec<String> = custom_stages(target).map(str::to_owned).collect();
        let version_stages = if own.is_empty() { vec![carrier.to_owned()] } else { own };
        plan.push(Step::Put { version_id: target.version_id.clone(), version_stages })?;
    }
    for stage in &customs {
        plan.place(stage, holders[stage])?;
    }
    if let Some(holder) = plan.model.holder(TRANSFER_STAGE).map(str::to_owned) {
        plan.push(Step::Stage {
            version_stage: TRANSFER_STAGE.to_owned(),
            remove_from_version: Some(holder),
            move_to_version: None,
        })?;
    }
    plan.place(ACS_CURRENT, current)?;
    if let Some(previous) = previous {
        plan.place(ACS_PREVIOUS, previous)?;
    }
    plan.check(targets)?;
    Ok(plan.steps)
}

/// The version of each stage at the source; a stage on two versions, or
/// more stages than the destination takes, are refused.
fn holders(targets: &[Target]) -> Result<BTreeMap<&str, &str>, PlanError> {
    let mut holders = BTreeMap::new();
    for target in targets {
        for stage in &target.stages {
            if let Some(first) = holders.insert(stage.as_str(), target.version_id.as_str()) {
                return Err(PlanError::SharedStage {
                    stage: stage.clone(),
                    first: first.to_owned(),
                    second: target.version_id.clone(),
                });
            }
        }
    }
    if holders.len() > MAX_STAGES {
        return Err(PlanError::TooManyStages { count: holders.len() });
    }
    Ok(holders)
}

/// The stages of `target` other than ACSCurrent and ACSPrevious, in the
/// source's order.
fn custom_stages(target: &Target) -> impl Iterator<Item = &str> {
    target.stages.iter().map(String::as_str).filter(|stage| !is_system_stage(stage))
}

/// Steps so far, and the destination they make.
#[derive(Default)]
struct Planner {
    steps: Vec<Step>,
    model: Model,
}

impl Planner {
    /// Adds `step`, refusing one that goes over the stage limit.
    fn push(&mut self, step: Step) -> Result<(), PlanError> {
        step.apply(&mut self.model);
        let count = self.model.stage_count();
        if count > MAX_STAGES {
            return Err(PlanError::StageLimit { step: step.to_string(), count });
        }
        self.steps.push(step);
        Ok(())
    }

    /// Moves `stage` to `version_id` unless it is there already.
    fn place(&mut self, stage: &str, version_id: &str) -> Result<(), PlanError> {
        let holder = self.model.holder(stage).map(str::to_owned);
        if holder.as_deref() == Some(version_id) {
            return Ok(());
        }
        self.push(Step::Stage {
            version_stage: stage.to_owned(),
            remove_from_version: holder,
            move_to_version: Some(version_id.to_owned()),
        })
    }

    /// Refuses a plan whose end is not the source's stages.
    fn check(&self, targets: &[Target]) -> Result<(), PlanError> {
        for target in targets {
            let mut wanted = target.stages.clone();
            wanted.sort();
            let reached = self.model.stages_of(&target.version_id);
            if reached != wanted {
                return Err(PlanError::Unreached { version_id: target.version_id.clone(), wanted, reached });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
