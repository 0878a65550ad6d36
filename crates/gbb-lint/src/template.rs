//! `Dockerfile.template` checks: the file is there, it adds `rootfs.tar`, and every `${VAR}`
//! it uses is one gbb fills in, or one the template declares itself.

use std::collections::BTreeSet;
use std::path::Path;

use gbb_build::FIXED_TEMPLATE_VARIABLES;
use gbb_stack::Definition;

use crate::{Finding, Severity};

/// Dockerfile instructions whose text a shell reads at build or run time: their `${VAR}`
/// are the shell's, not the template's.
const SHELL_INSTRUCTIONS: [&str; 4] = ["RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"];

pub(crate) fn check(definition: &Definition, findings: &mut Vec<Finding>) {
    let path = definition.dir.join("Dockerfile.template");
    // The build's own check, so that check and build agree; the messages drop the path,
    // which the finding shows already.
    match gbb_build::check_template(&definition.dir) {
        Ok(_) => {}
        Err(gbb_build::BuildError::MissingTemplate { .. }) => {
            let message = "missing; every image needs a Dockerfile.template".to_owned();
            findings.push(Finding::new(Severity::Error, &path, None, message));
            return;
        }
        Err(gbb_build::BuildError::NoRootfsAdd { .. }) => {
            let message = "does not add the root file system; it needs a line `ADD rootfs.tar /`";
            findings.push(Finding::new(
                Severity::Error,
                &path,
                None,
                message.to_owned(),
            ));
        }
        Err(error) => {
            findings.push(Finding::new(
                Severity::Error,
                &path,
                None,
                error.to_string(),
            ));
            return;
        }
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    // The `BOB_*` variables phase 2 fills in are exactly these.
    let config_has = |name: &str| definition.settings.bob_vars.iter().any(|v| v.name == name);
    unknown_variables(&config_has, &path, &text, findings);
}

/// Warns about each `${VAR}` of `text` that is neither filled in (the
/// [`FIXED_TEMPLATE_VARIABLES`], and the
/// `BOB_*` names `config_has`) nor declared by the template (`ARG`, `ENV`, also after
/// `ONBUILD`), outside instructions a shell reads.
fn unknown_variables(
    config_has: &dyn Fn(&str) -> bool,
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
            let known = FIXED_TEMPLATE_VARIABLES.contains(&name)
                || declared.contains(name)
                || (name.starts_with("BOB_") && config_has(name));
            let plain =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if plain && !known {
                findings.push(Finding::new(
                    Severity::Warning,
                    path,
                    Some(n + 1),
                    format!(
                        "`${{{name}}}` is not filled in by gbb ({} and the BOB_* variables of the config are) nor declared with ARG or ENV; it reaches the image build as it is",
                        FIXED_TEMPLATE_VARIABLES.join(", ")
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(usize, String)> {
        let mut findings = Vec::new();
        let config_has = |name: &str| name == "BOB_SLOT";
        unknown_variables(&config_has, Path::new("T"), text, &mut findings);
        findings
            .into_iter()
            .map(|f| {
                (
                    f.line.unwrap(),
                    f.message.split('`').nth(1).unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn known_declared_and_shell_variables_pass() {
        let text = "FROM ${IMAGE_PARENT}\nLABEL a=${MAINTAINER} b=${BOB_SLOT} c=${BOB_NONE}\n\
                    ONBUILD ARG JAVA_UID\nONBUILD RUN echo ${JAVA_GID} \\\n  ${MORE}\n\
                    ENV X=${JAVA_UID} Y=${HOME}\nRUN echo ${PATH}\n";
        assert_eq!(
            unknown(text),
            [(2, "${BOB_NONE}".to_owned()), (6, "${HOME}".to_owned())]
        );
    }
}
