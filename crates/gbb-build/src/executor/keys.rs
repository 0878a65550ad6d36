//! Content keys of a plan's steps, computed before anything runs.
//!
//! A step's key covers everything its result is made of: a core's stage3 file, portage tree
//! and gbb's scripts; a builder's or image's folder and config, and the keys of what it is
//! built on (its base builder or core; its parent image and builder), and for an image
//! whether it keeps a builder state for a child. Steps are keyed in plan
//! order, parents first. What the plan builds on from outside (`-n`, `-e`) has its key from the
//! inputs stage, which read it from the image already built; so this is hashing only, and the
//! steps can then run on several threads from shared, read-only keys.

use std::collections::HashMap;

use gbb_plan::{BuildPlan, BuilderBuildsIn, CoreRef, ImageBuildsIn, Step, StepId};
use gbb_stack::{CoreInput, ImageId, PortageTree, Stack};

use super::inputs::ResolvedInputs;
use super::steps::core::CORE_DOCKERFILE;
use crate::key::{KeyInputs, core_key, core_key_with_inputs, definition_key};
use crate::{BuildError, ContentKey};

/// Every key a build needs: its steps', and those of what they build on.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    by_step: HashMap<StepId, ContentKey>,
    /// What each step's key is made of, kept on its result for the next build's "why".
    records: HashMap<StepId, KeyInputs>,
}

impl Keys {
    pub(crate) fn compute(
        plan: &BuildPlan,
        stack: &Stack,
        inputs: &ResolvedInputs,
    ) -> Result<Self, BuildError> {
        let mut keys = Self::default();
        for step in &plan.steps {
            let (key, record) = match step {
                Step::Core(core) => {
                    core_key_with_inputs(inputs.local(&core.core.input), CORE_DOCKERFILE)?
                }
                Step::Builder(builder) => {
                    let base = match &builder.builds_in {
                        BuilderBuildsIn::Core(core) => keys.core_or_compute(core, inputs)?,
                        BuilderBuildsIn::Builder(base) => keys.built(base, inputs)?,
                    };
                    let definition = &stack.definitions()[builder.definition];
                    definition_key(definition, Some(&base), None, None)?
                }
                Step::Image(image) => {
                    let parent = image
                        .parent
                        .as_ref()
                        .map(|parent| keys.built(parent, inputs))
                        .transpose()?;
                    let builder = match &image.builds_in {
                        ImageBuildsIn::Builder(builder) => Some(keys.built(builder, inputs)?),
                        // The state is the parent's phase 1: the parent's key covers it.
                        ImageBuildsIn::ParentState { .. } => None,
                    };
                    let definition = &stack.definitions()[image.definition];
                    definition_key(
                        definition,
                        parent.as_ref(),
                        builder.as_ref(),
                        Some(image.keeps_state),
                    )?
                }
            };
            keys.by_step.insert(step.id().clone(), key);
            keys.records.insert(step.id().clone(), record);
        }
        Ok(keys)
    }

    /// The key of a step of the plan.
    pub(crate) fn step(&self, id: &StepId) -> &ContentKey {
        self.by_step
            .get(id)
            .expect("every step of the plan is keyed before it runs")
    }

    /// What the key of a step of the plan is made of.
    pub(crate) fn record(&self, id: &StepId) -> &KeyInputs {
        self.records
            .get(id)
            .expect("every step of the plan is keyed before it runs")
    }

    /// The key of the core `core` (in the plan or not: keyed for the builders made from it).
    pub(crate) fn core(&self, core: &CoreRef) -> &ContentKey {
        self.step(&core.step_id())
    }

    /// The key of a builder or image: this plan's, else the one it was built with before.
    pub(crate) fn built(
        &self,
        id: &ImageId,
        inputs: &ResolvedInputs,
    ) -> Result<ContentKey, BuildError> {
        if let Some(key) = self.by_step.get(&StepId::Definition(id.clone())) {
            return Ok(key.clone());
        }
        inputs
            .built_key(id)
            .cloned()
            .ok_or_else(|| BuildError::NotBuilt { id: id.to_string() })
    }

    fn core_or_compute(
        &mut self,
        core: &CoreRef,
        inputs: &ResolvedInputs,
    ) -> Result<ContentKey, BuildError> {
        let id = core.step_id();
        if let Some(key) = self.by_step.get(&id) {
            return Ok(key.clone());
        }
        let key = core_key(inputs.local(&core.input), CORE_DOCKERFILE)?;
        self.by_step.insert(id, key.clone());
        Ok(key)
    }
}

/// The key of a stage3 import: the stage3 file alone, so that a change of scripts or portage
/// tree does not import it again.
pub(crate) fn stage3_key(local: &CoreInput) -> Result<ContentKey, BuildError> {
    core_key(
        &CoreInput {
            stage3: local.stage3.clone(),
            portage: PortageTree::Snapshot {
                url: None,
                date: String::new(),
            },
        },
        "",
    )
}
