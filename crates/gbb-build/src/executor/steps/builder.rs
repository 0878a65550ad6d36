//! A builder step: its `configure_builder` hook runs in its base (a core or another builder),
//! and the container is kept as the builder image.

use gbb_plan::{BuilderBuildsIn, BuilderStep};

use super::super::container::Mode;
use super::super::options::Force;
use super::super::schedule::{Done, StepResult};
use super::super::{Build, step_container};
use crate::outputs::RunDir;
use crate::{BuildError, Why, names};

impl Build<'_> {
    pub(in super::super) fn builder(&self, step: &BuilderStep) -> StepResult {
        let definition = self.definition(step.definition);
        let id = definition.id.to_string();
        let base_image = match &step.builds_in {
            BuilderBuildsIn::Core(core) => {
                let key = self.prepared.keys.core(core);
                let image = self.core_image(&core.label, key)?;
                if self.existing_key(&image)?.as_ref() != Some(key) {
                    return Err(BuildError::NotBuilt {
                        id: core.step_id().to_string(),
                    });
                }
                image
            }
            BuilderBuildsIn::Builder(builder) => names::latest(builder),
        };
        let reference = names::latest(&definition.id);
        let why = match self.builder_status(step)? {
            Why::UpToDate if self.options.force >= Force::Builders => {
                Why::Forced(self.options.force.flag())
            }
            Why::UpToDate => return Ok(Done::up_to_date()),
            why => why,
        };
        self.reporter
            .started(&id, &format!("configuring in {base_image}"));
        // The container writes into a folder of its own, removed when this returns.
        let run = RunDir::new(&self.options.paths, &id)?;
        let packages = self
            .package_cache(&step.builder)?
            .open_run(&self.options.paths.package_runs())?;
        let spec = step_container(
            &self.prepared,
            self.stack,
            self.options,
            step.definition,
            step.core.as_ref(),
            &base_image,
            Mode::Builder,
            run.path(),
            packages.mounts()?,
        )?;
        let ran = self.run_container(&id, &spec, &self.options.paths.log(&id));
        let container = self.take_packages(&id, packages, ran)?;
        // Kept under a candidate name; the builder's tags move only once all went well.
        let candidate = names::candidate(definition.id.as_str());
        self.keep(&step.id, &container, &candidate, &spec.mounts)?;
        self.promote(&id, &candidate, &names::final_tags(definition))?;
        Ok(Done::built(why, self.size_of(&reference)?))
    }
}
