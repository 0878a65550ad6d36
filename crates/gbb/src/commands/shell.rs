use std::process::ExitCode;

use gbb_plan::{BuildPlan, Request};

use crate::context::Context;
use crate::printer::Printer;

pub(crate) fn run(context: &Context, id: &str, printer: &Printer) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    let request = Request {
        ids: vec![id.to_owned()],
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let Some(step) = plan.steps.first() else {
        anyhow::bail!("`{id}` names no image or builder");
    };
    if plan.steps.len() != 1 {
        anyhow::bail!("`{id}` names a namespace; give one image or builder id");
    }
    let shell = crate::shell_session::Shell {
        what: "gbb shell",
        skip_signatures: false,
    };
    crate::shell_session::open(context, &stack, &plan, step, printer, &shell)
}
