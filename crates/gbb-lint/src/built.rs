//! Images already built whose programs cannot be loaded: what the build's check after phase 1
//! says (issue 15, `gbb-elf`), read from what gbb kept of each image and its ancestors
//! (`.gbb/build/<ns>/<name>/files.json`), without building or starting anything. An image
//! never built here has nothing kept and nothing to say.

use gbb_build::Paths;
use gbb_plan::{BuildPlan, Step};
use gbb_stack::{Definition, Stack};

use crate::{Finding, Severity};

/// The findings for every built image among `definitions`, with its ancestors from `plan`:
/// one error per file that cannot be loaded, at the image's folder; a warning when the check
/// itself cannot be made (an ancestor's files are not kept, an index of another version).
pub fn check_built_images<'d>(
    stack: &Stack,
    plan: &BuildPlan,
    paths: &Paths,
    definitions: impl IntoIterator<Item = &'d Definition>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    // The plan's image steps by definition, looked up once each (a stack may have thousands).
    let steps: std::collections::HashMap<usize, &gbb_plan::ImageStep> = plan
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Image(image) => Some((image.definition, image)),
            _ => None,
        })
        .collect();
    for definition in definitions {
        let Some(step) = stack
            .position(&definition.id)
            .and_then(|index| steps.get(&index))
        else {
            continue;
        };
        match gbb_build::check_built(stack, paths, definition, &step.ancestors) {
            Ok(None) => {}
            Ok(Some(found)) => findings.extend(found.into_iter().map(|finding| {
                Finding::new(
                    Severity::Error,
                    &definition.dir,
                    None,
                    format!("the built image `{}` cannot load {finding}", definition.id),
                )
            })),
            Err(error) => findings.push(Finding::new(
                Severity::Warning,
                &definition.dir,
                None,
                error.to_string(),
            )),
        }
    }
    findings
}
