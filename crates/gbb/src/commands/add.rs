use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context as _;
use gbb_stack::scaffold::{self, BuilderSpec, Created, ImageSpec, NamespaceSpec};
use gbb_stack::{ImageId, Layout, Stack, StackError};

use super::display_path;
use crate::cli::AddCommand;
use crate::context::Context;
use crate::printer::Printer;

/// Asks for a value on a terminal, or takes the default.
struct Prompter {
    interactive: bool,
}

impl Prompter {
    fn new(yes: bool) -> Self {
        Self {
            interactive: !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    /// `given` if set, else the answer to `question` (on a terminal) or `default`.
    fn value(
        &self,
        given: Option<String>,
        question: &str,
        default: &str,
    ) -> anyhow::Result<String> {
        if let Some(value) = given {
            return Ok(value);
        }
        if !self.interactive {
            return Ok(default.to_owned());
        }
        let answer: String = dialoguer::Input::new()
            .with_prompt(question)
            .default(default.to_owned())
            .allow_empty(true)
            .interact_text()
            .context("cannot read the answer from the terminal")?;
        Ok(answer.trim().to_owned())
    }
}

fn parse_id(text: &str) -> anyhow::Result<ImageId> {
    text.parse::<ImageId>()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .map_err(|e| e.context(format!("`{text}` is not an id")))
}

fn report(printer: &Printer, created: &Created) {
    printer.note(&format!("created {}/", display_path(&created.dir)));
    for file in &created.files {
        if !file.ends_with(".keep") {
            printer.note(&format!("  {}", display_path(file)));
        }
    }
}

pub(crate) fn run(
    context: &Context,
    command: AddCommand,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    match command {
        AddCommand::Namespace(args) => {
            let stack = match Stack::discover(&context.start, &context.options) {
                Ok(stack) => Some(stack),
                Err(StackError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let prompter = Prompter::new(args.yes);
            // Defaults from the stack's AUTHOR ("Name <mail>") when there is one.
            let configured = stack
                .as_ref()
                .and_then(|s| s.namespaces.first())
                .and_then(|ns| ns.config.value("AUTHOR"))
                .unwrap_or_default()
                .to_owned();
            let (default_author, default_email) = match configured.split_once('<') {
                Some((name, mail)) => (
                    name.trim().to_owned(),
                    mail.trim_end_matches('>').trim().to_owned(),
                ),
                None if !configured.is_empty() => (configured.clone(), String::new()),
                None => (
                    context
                        .options
                        .env
                        .get("USER")
                        .unwrap_or("Your Name")
                        .to_owned(),
                    String::new(),
                ),
            };
            let spec = NamespaceSpec {
                name: args.name,
                author: prompter.value(args.author, "Author", &default_author)?,
                email: prompter.value(args.email, "E-mail", &default_email)?,
                engine: prompter.value(
                    args.engine,
                    "Container engine (docker, podman)",
                    "docker",
                )?,
            };
            if !matches!(spec.engine.as_str(), "docker" | "podman") {
                anyhow::bail!(
                    "`{}` is not a known engine; use `docker` or `podman`",
                    spec.engine
                );
            }
            let created = scaffold::add_namespace(stack.as_ref(), &context.start, &spec)?;
            if stack.is_none() {
                printer.note(&format!(
                    "new stack (seed layout) in {}",
                    display_path(&context.start)
                ));
            }
            report(printer, &created);
            printer.hint(&format!(
                "add its first builder: gbb add builder {}/bob",
                spec.name
            ));
        }
        AddCommand::Image(args) => {
            let stack = context.load(printer)?;
            let id = parse_id(&args.id)?;
            let prompter = Prompter::new(args.yes);
            let parent =
                prompter.value(args.parent, "Parent image (an id, or scratch)", "scratch")?;
            let builder = prompter.value(
                args.builder,
                "Builder (empty: the parent's, or DEFAULT_BUILDER)",
                "",
            )?;
            let spec = ImageSpec {
                id,
                parent: (parent != "scratch" && !parent.is_empty())
                    .then(|| parse_id(&parent))
                    .transpose()?,
                builder: (!builder.is_empty())
                    .then(|| parse_id(&builder))
                    .transpose()?,
            };
            let created = scaffold::add_image(&stack, &spec)?;
            report(printer, &created);
            printer.hint(&format!(
                "list its packages in build.sh (_packages), then: gbb plan {}",
                spec.id
            ));
        }
        AddCommand::Builder(args) => {
            let stack = context.load(printer)?;
            let id = parse_id(&args.id)?;
            let prompter = Prompter::new(args.yes);
            let builder = if args.stage3.is_some() && args.builder.is_none() {
                String::new()
            } else {
                prompter.value(
                    args.builder,
                    "Builder to extend (empty: start from a stage3)",
                    "",
                )?
            };
            let stage3_base = if builder.is_empty() {
                prompter.value(args.stage3, "Stage3 (STAGE3_BASE)", "stage3-amd64-openrc")?
            } else {
                args.stage3
                    .unwrap_or_else(|| "stage3-amd64-openrc".to_owned())
            };
            let spec = BuilderSpec {
                id,
                builder: (!builder.is_empty())
                    .then(|| parse_id(&builder))
                    .transpose()?,
                stage3_base,
            };
            let created = scaffold::add_builder(&stack, &spec)?;
            report(printer, &created);
            if stack.layout == Layout::KublerSingle {
                printer.verbose("single-namespace kubler stack");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
