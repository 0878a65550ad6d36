//! `gbb sbom ID [--format spdx|cyclonedx]`: prints the SBOM document an image's build kept,
//! byte for byte (see `gbb_build::kept_sbom`).

use std::process::ExitCode;

use gbb_build::SbomFormat;
use gbb_plan::{BuildPlan, Request, Step};

use crate::cli::{SbomArgs, SbomFormatArg};
use crate::context::Context;
use crate::printer::Printer;

pub(crate) fn run(
    context: &Context,
    args: &SbomArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let SbomArgs { id, format } = args;
    let stack = context.load(printer)?;
    // Planned with -n, so an unknown id is refused as everywhere else (with a suggestion),
    // and a namespace or a builder is told apart from an image.
    let request = Request {
        ids: vec![id.clone()],
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let definition = match plan.steps.as_slice() {
        [Step::Image(image)] => &stack.definitions()[image.definition],
        [Step::Builder(_)] => anyhow::bail!("`{id}` is a builder; only images have an SBOM"),
        _ => anyhow::bail!("`{id}` names a namespace; give one image id"),
    };
    if definition.id.as_str() != id {
        anyhow::bail!("`{id}` names a namespace; give one image id");
    }
    let format = match format {
        SbomFormatArg::Spdx => SbomFormat::Spdx,
        SbomFormatArg::Cyclonedx => SbomFormat::CycloneDx,
    };
    let document = gbb_build::kept_sbom(&context.paths(&stack), definition.id.as_str(), format)?;
    printer.data_with(|out| out.write_all(&document))?;
    Ok(ExitCode::SUCCESS)
}
