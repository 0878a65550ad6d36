//! `Dockerfile.template` checks: the file is there, it adds `rootfs.tar`, and every `${VAR}`
//! it uses is one gbb fills in, or one the template declares itself.

use std::collections::BTreeSet;
use std::path::Path;

use gbb_stack::Definition;

use crate::{Finding, Severity};

/// What phase 2 substitutes besides every `BOB_*` of the image's config (see
/// `gbb_build::render_template` and the phase 2 code that calls it).
const FIXED: [&str; 6] = [
    "IMAGE_PARENT",
    "NAMESPACE",
    "TAG",
    "IMAGE_TAG",
    "MAINTAINER",
    "AUTHOR",
];

/// Dockerfile instructions whose text a shell reads at build or run time: their `${VAR}`
/// are the shell's, not the template's.
const SHELL_INSTRUCTIONS: [&str; 4] = ["RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"];

pub(crate) fn check(definition: &Definition, findings: &mut Vec<Finding>) {
    let path = definition.dir.join("Dockerfile.template");
    if let Err(error) = gbb_build::check_template(&definition.dir) {
        let line = None;
        findings.push(Finding::new(
            Severity::Error,
            &path,
            line,
            error.to_string(),
        ));
        if matches!(error, gbb_build::BuildError::MissingTemplate { .. }) {
            return;
        }
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    unknown_variables(definition, &path, &text, findings);
}

fn unknown_variables(
    definition: &Definition,
    path: &Path,
    text: &str,
    findings: &mut Vec<Finding>,
) {
    let declared: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| {
            let mut words = line
                .split_whitespace()
                .skip_while(|w| w.eq_ignore_ascii_case("ONBUILD"));
            let instruction = words.next()?;
            (instruction.eq_ignore_ascii_case("ARG") || instruction.eq_ignore_ascii_case("ENV"))
                .then(|| words.next())
                .flatten()
                .map(|w| w.split('=').next().unwrap_or(w))
        })
        .collect();
    let mut instruction = String::new();
    let mut continued = false;
    for (n, line) in text.lines().enumerate() {
        if !continued {
            // `ONBUILD RUN ...` is a RUN for the image's children.
            instruction = line
                .split_whitespace()
                .find(|w| !w.eq_ignore_ascii_case("ONBUILD"))
                .unwrap_or_default()
                .to_ascii_uppercase();
        }
        continued = line.trim_end().ends_with('\\');
        if instruction.starts_with('#') || SHELL_INSTRUCTIONS.contains(&instruction.as_str()) {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("${") {
            let inner = &rest[at + 2..];
            let Some(end) = inner.find('}') else { break };
            let name = &inner[..end];
            rest = &inner[end..];
            let known = FIXED.contains(&name)
                || declared.contains(name)
                || (name.starts_with("BOB_") && definition.config.get(name).is_some());
            let plain =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if plain && !known {
                findings.push(Finding::new(
                    Severity::Warning,
                    path,
                    Some(n + 1),
                    format!(
                        "`${{{name}}}` is not filled in by gbb (IMAGE_PARENT, NAMESPACE, TAG, IMAGE_TAG, MAINTAINER, AUTHOR and the BOB_* variables of the config are) nor declared with ARG or ENV; it reaches the image build as it is"
                    ),
                ));
            }
        }
    }
}
