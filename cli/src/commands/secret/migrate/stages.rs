//! A model of the destination's stage rules (`docs/secrets.md`,
//! "Stages"), on which a migration's plan is worked out and checked before
//! anything is made: a new version takes each stage it is given from the
//! version that had it; moving ACSCurrent gives the version that had it
//! ACSPrevious (taken from the version that had that); a stage can be
//! removed. The daemon's own rules are `SecretEntry::move_stage` and
//! `remove_stage` (`daemon/src/kms/secrets/entry.rs`).

use p11kms_proto::admin::secret::{ACS_CURRENT, ACS_PREVIOUS};

/// Versions (oldest first) and their stages, as the destination would
/// hold them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    versions: Vec<(String, Vec<String>)>,
}

impl Model {
    /// A new version with `stages` (CreateSecret gives `["ACSCurrent"]`,
    /// PutSecretValue those it names).
    pub fn add(&mut self, version_id: &str, stages: &[String]) {
        self.versions.push((version_id.to_owned(), Vec::new()));
        for stage in stages {
            self.move_stage(stage, version_id);
        }
    }

    /// Puts `stage` on `version_id` alone.
    pub fn move_stage(&mut self, stage: &str, version_id: &str) {
        let had = self.holder(stage).map(str::to_owned);
        if had.as_deref() == Some(version_id) {
            return;
        }
        self.remove_stage(stage);
        if let Some((_, stages)) = self.versions.iter_mut().find(|(id, _)| id == version_id) {
            stages.push(stage.to_owned());
        }
        if stage == ACS_CURRENT {
            if let Some(previous) = had {
                self.move_stage(ACS_PREVIOUS, &previous);
            }
        }
    }

    /// Takes `stage` off whichever version has it.
    pub fn remove_stage(&mut self, stage: &str) {
        for (_, stages) in &mut self.versions {
            stages.retain(|s| s != stage);
        }
    }

    /// The version with `stage`.
    pub fn holder(&self, stage: &str) -> Option<&str> {
        self.versions.iter().find(|(_, stages)| stages.iter().any(|s| s == stage)).map(|(id, _)| id.as_str())
    }

    /// The stages of `version_id`, sorted.
    pub fn stages_of(&self, version_id: &str) -> Vec<String> {
        let mut stages =
            self.versions.iter().find(|(id, _)| id == version_id).map(|(_, s)| s.clone()).unwrap_or_default();
        stages.sort();
        stages
    }

    /// Stages on every version together (the 8-stage limit counts these).
    pub fn stage_count(&self) -> usize {
        self.versions.iter().map(|(_, stages)| stages.len()).sum()
    }

    /// How many versions there are.
    #[cfg(test)]
    pub fn version_count(&self) -> usize {
        self.versions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_model_follows_the_destinations_rules() {
        let mut model = Model::default();
        model.add("v1", &stages(&[ACS_CURRENT]));
        model.add("v2", &stages(&[ACS_CURRENT, "blue"]));
        assert_eq!(model.stages_of("v1"), stages(&[ACS_PREVIOUS]), "ACSCurrent's old version gets ACSPrevious");
        assert_eq!(model.stages_of("v2"), stages(&[ACS_CURRENT, "blue"]));
        model.add("v3", &stages(&["blue"]));
        assert_eq!(model.stages_of("v2"), stages(&[ACS_CURRENT]), "a stage names one version");
        model.move_stage(ACS_CURRENT, "v3");
        assert_eq!(
            (model.holder(ACS_CURRENT), model.holder(ACS_PREVIOUS), model.stages_of("v1")),
            (Some("v3"), Some("v2"), vec![]),
            "ACSPrevious is taken from the version that had it"
        );
        model.move_stage("blue", "v3");
        assert_eq!(model.stage_count(), 3, "moving a stage to its own version changes nothing");
        model.remove_stage("blue");
        assert_eq!((model.holder("blue"), model.version_count()), (None, 3));
    }
}
