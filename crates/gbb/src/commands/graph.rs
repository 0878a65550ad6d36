use std::process::ExitCode;

use gbb_plan::{GraphFormat, render_graph};

use super::plan_for;
use crate::cli::{GraphArgs, GraphFormatArg};
use crate::context::Context;
use crate::printer::Printer;

pub(crate) fn run(
    context: &Context,
    args: &GraphArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let plan = plan_for(&stack, &args.selection, printer)?;
    let format = match args.format {
        GraphFormatArg::Text => GraphFormat::Text,
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
        GraphFormatArg::Json => GraphFormat::Json,
    };
    printer.data(&render_graph(&plan, format));
    Ok(ExitCode::SUCCESS)
}
