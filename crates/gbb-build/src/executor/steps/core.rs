//! A core step: the stage3 imported as an image, with gbb's scripts added.

use std::collections::BTreeMap;

use gbb_plan::CoreStep;
use gbb_stack::Stage3;

use super::super::Build;
use super::super::keys::stage3_key;
use super::super::options::Force;
use super::super::schedule::{Done, StepResult};
use crate::{BuildError, Why, context, names, render_template};

/// The Dockerfile of a core: the stage3 plus gbb's in-container scripts.
pub(crate) const CORE_DOCKERFILE: &str = "\
FROM ${STAGE3_IMAGE}
COPY gbb/ /usr/local/lib/gbb/
RUN chmod 0755 /usr/local/lib/gbb/gbb-build /usr/local/lib/gbb/sed-or-die \\
 && ln -sf /usr/local/lib/gbb/gbb-build /usr/local/bin/gbb-build \\
 && ln -sf /usr/local/lib/gbb/sed-or-die /usr/local/bin/sed-or-die \\
 && mkdir -p /emerge-root /packages /var/cache/gbb/binpkgs /distfiles /gbb-out /etc/portage/profile \\
 && touch /etc/portage/profile/package.provided
";

impl Build<'_> {
    pub(in super::super) fn core(&self, step: &CoreStep) -> StepResult {
        let label = &step.core.label;
        let id = step.id.to_string();
        let input = self.prepared.inputs.local(&step.core.input);
        // -C rebuilds this stack's own core and stage3 import; the shared ones, which other
        // stacks build on, are made once and never re-tagged.
        let own = self.options.force == Force::Everything;
        let (why, core_image) = if own {
            (
                Why::Forced(Force::Everything.flag()),
                names::own_core(label, &self.prepared.stack_identity),
            )
        } else {
            self.core_status(step)?
        };
        if why == Why::UpToDate {
            return Ok(Done::up_to_date());
        }
        let Stage3::File { path: stage3 } = &input.stage3 else {
            unreachable!("local inputs have stage3 files")
        };
        let stage3_image = if own {
            names::own_stage3(label, &self.prepared.stack_identity)
        } else {
            names::shared_stage3(label, &stage3_key(input)?)
        };
        if own
            || self
                .engine
                .inspect_image(&stage3_image.to_string())
                .map_err(BuildError::engine("looking up the stage3"))?
                .is_none()
        {
            self.reporter
                .started(&id, &format!("importing {}", stage3.display()));
            self.engine
                .import_image(stage3, &stage3_image)
                .map_err(BuildError::engine(format!(
                    "importing stage3 `{}`",
                    stage3.display()
                )))?;
        }
        self.reporter.started(&id, "building the core");
        let mut vars = BTreeMap::new();
        vars.insert("STAGE3_IMAGE".to_owned(), stage3_image.to_string());
        let dockerfile = render_template(CORE_DOCKERFILE, &vars);
        let mut generated: Vec<(String, &[u8], u32)> = crate::CONTAINER_SCRIPTS
            .iter()
            .map(|(name, text)| (format!("gbb/{name}"), text.as_bytes(), 0o755))
            .collect();
        generated.push(("Dockerfile".to_owned(), dockerfile.as_bytes(), 0o644));
        let generated: Vec<(&str, &[u8], u32)> = generated
            .iter()
            .map(|(n, b, m)| (n.as_str(), *b, *m))
            .collect();
        let context_path =
            context::write_context(&self.options.paths.runs(), None, &[], &generated)?;
        let log_name = format!("core/{}", names::image_name_part(label));
        let log_path = self.options.paths.log(&match &self.engine_name {
            Some(engine) => format!("{log_name}.{engine}"),
            None => log_name,
        });
        self.image_build(
            &step.id,
            &context_path,
            std::slice::from_ref(&core_image),
            &log_path,
        )?;
        drop(context_path);
        Ok(Done::built(why, self.size_of(&core_image)?))
    }
}
