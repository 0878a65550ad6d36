//! `gbb check`: a lint of a stack's images and builders before a long build.
//!
//! A build finds a misspelt helper only when the container reaches it, minutes into the
//! build, and a missing `ADD rootfs.tar /` only after phase 1. [`Linter::check`] finds both
//! on the host in milliseconds, for every definition at once:
//!
//! - `build.sh` is given to bash itself (`bash -n`): bash decides what is a syntax error;
//! - its command words (read with brush-parser, see `script.rs`) must be a function the file
//!   defines, a gbb helper (read from the in-container scripts gbb ships, so the list cannot
//!   drift from them), a bash builtin or keyword, or a command a Gentoo stage3 has
//!   (`stage3-commands.txt`). A word close to a helper's name is an error with the helper
//!   named; any other unknown word is a warning, since a builder may have emerged the tool;
//! - kubler and gentoo-bb features gbb does not support, or treats differently, are named
//!   (`kubler.rs`);
//! - an image's `Dockerfile.template` must exist and add `rootfs.tar`, and its `${VAR}`s
//!   should be ones gbb fills in (`template.rs`);
//! - an image already built must be able to load its programs, as its build checked after
//!   phase 1 (`built.rs`, from the file indexes gbb kept).
//!
//! Like every library crate here, it prints nothing: findings are values, which the command
//! line prints.

mod built;
mod kubler;
mod names;
mod script;
mod template;

use std::path::{Path, PathBuf};

use gbb_stack::Definition;

pub use built::check_built_images;

/// How serious a finding is: an error makes `gbb check` fail, a warning does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One thing `gbb check` found, at a file and (mostly) a line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub severity: Severity,
    pub message: String,
    /// What to write instead: the closest helper's name, for a misspelt one.
    pub hint: Option<String>,
}

impl Finding {
    fn new(severity: Severity, path: &Path, line: Option<usize>, message: String) -> Self {
        Self {
            path: path.to_owned(),
            line,
            severity,
            message,
            hint: None,
        }
    }

    /// `path:line` (or just `path`).
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// Checks definitions; made once, for the names it knows.
#[derive(Debug)]
pub struct Linter {
    names: names::KnownNames,
}

impl Default for Linter {
    fn default() -> Self {
        Self::new()
    }
}

impl Linter {
    pub fn new() -> Self {
        Self {
            names: names::KnownNames::new(&gbb_build::CONTAINER_SCRIPTS),
        }
    }

    /// Everything found in `definitions`, sorted by file and line, without repeats (a
    /// namespace's setting is found once, not once per image).
    pub fn check_all<'d>(
        &self,
        definitions: impl IntoIterator<Item = &'d Definition>,
    ) -> Vec<Finding> {
        let mut findings: Vec<Finding> = definitions
            .into_iter()
            .flat_map(|definition| self.check(definition))
            .collect();
        findings.sort();
        findings.dedup();
        findings
    }

    /// What is wrong with one image or builder.
    pub fn check(&self, definition: &Definition) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (name, difference) in kubler::variables() {
            if let Some(var) = definition.config.get(name)
                && !matches!(var.value.joined().as_str(), "" | "false")
            {
                findings.push(Finding::new(
                    difference.severity,
                    &var.origin.path,
                    Some(var.origin.position.line as usize),
                    format!("{name}: {}", difference.message),
                ));
            }
        }
        self.check_script(&definition.dir.join("build.sh"), &mut findings);
        // A namespace on the dry-run engine builds no image, so its templates are never read
        // (the seed's own `dock/dummy` has none).
        if definition.is_image() && definition.engine != gbb_stack::ContainerEngine::Dummy {
            template::check(definition, &mut findings);
        }
        findings
    }

    fn check_script(&self, path: &Path, findings: &mut Vec<Finding>) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                findings.push(Finding::new(
                    Severity::Error,
                    path,
                    None,
                    format!("cannot read it: {e}"),
                ));
                return;
            }
        };
        match script::syntax_error(path) {
            Ok(None) => {}
            Ok(Some((line, message))) => {
                findings.push(Finding::new(
                    Severity::Error,
                    path,
                    line,
                    format!("bash: {message}"),
                ));
                return;
            }
            Err(e) => findings.push(Finding::new(
                Severity::Warning,
                path,
                None,
                format!("bash -n could not run ({e}); the syntax is checked by brush-parser only"),
            )),
        }
        let facts = match script::read(&text) {
            Ok(facts) => facts,
            Err(e) => {
                findings.push(Finding::new(
                    Severity::Error,
                    path,
                    None,
                    format!("cannot read its commands: {e}"),
                ));
                return;
            }
        };
        for assignment in &facts.assignments {
            if let Some((name, difference)) =
                kubler::variables().find(|(n, _)| *n == assignment.name)
            {
                findings.push(Finding::new(
                    difference.severity,
                    path,
                    Some(assignment.line),
                    format!("{name}: {}", difference.message),
                ));
            }
        }
        for command in &facts.commands {
            let name = command.name.as_str();
            if let Some(difference) = kubler::command(name) {
                findings.push(Finding::new(
                    difference.severity,
                    path,
                    Some(command.line),
                    format!("`{name}`: {}", difference.message),
                ));
                continue;
            }
            if facts.functions.iter().any(|f| f == name) || self.names.knows(name) {
                continue;
            }
            let finding = match self.names.closest_helper(name) {
                Some(helper) => {
                    let mut finding = Finding::new(
                        Severity::Error,
                        path,
                        Some(command.line),
                        format!("`{name}` is not a gbb helper"),
                    );
                    finding.hint = Some(format!("did you mean `{helper}`?"));
                    finding
                }
                None => Finding::new(
                    Severity::Warning,
                    path,
                    Some(command.line),
                    format!(
                        "`{name}` is not a gbb helper, a bash builtin or a command a stage3 has; fine if the builder installs it"
                    ),
                ),
            };
            findings.push(finding);
        }
    }
}
