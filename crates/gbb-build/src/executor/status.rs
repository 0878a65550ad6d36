//! Whether each step is up to date and, if not, why ([`Why`]): what the steps decide on before
//! they run, and what `gbb plan --status` shows, asking the engine and starting no container.

use gbb_engine::ImageRef;
use gbb_plan::{BuilderStep, CoreStep, ImageStep, Step, StepId};

use super::{Build, Existing};
use crate::{BuildError, Why, names};

/// An image step's results: the image and, when it keeps one, its kept state.
pub(super) struct ImageStatus {
    pub(super) why: Why,
    /// Phase 1's result in the engine is current: the kept state exists with this step's key,
    /// or the image keeps none (then its outputs in `.gbb/build` are all phase 1 left). With
    /// `-f`, phase 1 need not run again.
    pub(super) state_current: bool,
}

/// A step of the plan and why it would be built.
#[derive(Clone, Debug)]
pub struct StepStatus {
    pub id: StepId,
    pub why: Why,
}

impl Build<'_> {
    /// Every step of the plan, in order, with why it would be built (or that it is up to
    /// date), without building anything.
    pub fn status(&self) -> Result<Vec<StepStatus>, BuildError> {
        self.plan
            .steps
            .iter()
            .map(|step| {
                let why = match step {
                    Step::Core(core) => self.core_status(core)?.0,
                    Step::Builder(builder) => self.builder_status(builder)?,
                    Step::Image(image) => self.image_status(image)?.why,
                };
                Ok(StepStatus {
                    id: step.id().clone(),
                    why,
                })
            })
            .collect()
    }

    /// The result named `reference`, if the engine has it.
    pub(super) fn existing(&self, reference: &ImageRef) -> Result<Option<Existing>, BuildError> {
        super::existing(self.engine, reference)
    }

    /// Why `step` would be built, given its result `existing`.
    fn why(&self, step: &StepId, existing: Option<&Existing>) -> Why {
        let Some(existing) = existing else {
            return Why::NotBuilt;
        };
        if existing.key.as_ref() == Some(self.key_of_step(step)) {
            return Why::UpToDate;
        }
        Why::changed(existing.record.as_ref(), self.prepared.keys.record(step))
    }

    /// Why a core would be built, and the core image its builders use (the stack's own when
    /// `-C` made one with this key, else the shared one).
    pub(super) fn core_status(&self, step: &CoreStep) -> Result<(Why, ImageRef), BuildError> {
        let image = self.core_image(&step.core.label, self.key_of_step(&step.id))?;
        let why = self.why(&step.id, self.existing(&image)?.as_ref());
        Ok((why, image))
    }

    pub(super) fn builder_status(&self, step: &BuilderStep) -> Result<Why, BuildError> {
        let reference = names::latest(&step.builder);
        Ok(self.why(&step.id, self.existing(&reference)?.as_ref()))
    }

    /// An image is up to date when the image and its kept state carry its key; an image that
    /// keeps no state (nothing builds in it) needs only the image. A state left from when it
    /// kept one is not looked at: its key differs, and the image's key says why.
    pub(super) fn image_status(&self, step: &ImageStep) -> Result<ImageStatus, BuildError> {
        let definition = self.definition(step.definition);
        let image = self.existing(&names::latest(&definition.id))?;
        let image_why = self.why(&step.id, image.as_ref());
        if !step.keeps_state {
            return Ok(ImageStatus {
                why: image_why,
                state_current: true,
            });
        }
        let state = self.existing(&names::state(&step.state))?;
        let state_why = self.why(&step.id, state.as_ref());
        let state_current = state_why == Why::UpToDate;
        // The image's record says why first: a state missing because it was not needed
        // before is "state now needed", not "not built yet".
        let why = match (image_why, state_why) {
            (Why::UpToDate, state) => state,
            (image, _) => image,
        };
        Ok(ImageStatus { why, state_current })
    }
}
