//! The names a `build.sh` may call without defining them: gbb's helpers, bash's builtins and
//! keywords, and the commands a Gentoo stage3 has.

use std::collections::BTreeSet;

use crate::script;

/// bash's reserved words and builtins (bash 5.2, `compgen -k` and `compgen -b`).
const BASH: &[&str] = &[
    "!",
    "[[",
    "]]",
    "{",
    "}",
    "case",
    "coproc",
    "do",
    "done",
    "elif",
    "else",
    "esac",
    "fi",
    "for",
    "function",
    "if",
    "in",
    "select",
    "then",
    "time",
    "until",
    "while",
    ".",
    ":",
    "[",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
];

/// What a Gentoo stage3 has on its `PATH`, by package (see the file's header).
const STAGE3: &str = include_str!("stage3-commands.txt");

/// Every name a build.sh may call without defining it.
#[derive(Debug)]
pub(crate) struct KnownNames {
    /// gbb's helpers: the functions its in-container scripts define, and those scripts that
    /// are commands themselves (`gbb-build`, `sed-or-die`).
    pub(crate) helpers: BTreeSet<String>,
    /// bash's builtins and keywords, and the stage3's commands.
    pub(crate) system: BTreeSet<String>,
}

/// Whether the in-container script `name` is bash (or POSIX sh) that build.sh files can call
/// into; the Python helper that indexes binary packages (`binpkg-index.py`) is gbb's own.
fn is_shell(name: &str) -> bool {
    !name.ends_with(".py")
}

impl KnownNames {
    /// Reads the helpers from `scripts` (name, text): gbb's `CONTAINER_SCRIPTS`, so the list
    /// is the scripts' own and cannot drift from them.
    pub(crate) fn new(scripts: &[(&str, &str)]) -> Self {
        let mut helpers = BTreeSet::new();
        for (name, text) in scripts.iter().filter(|(name, _)| is_shell(name)) {
            // An executable script is a command on PATH (`gbb-build`, `sed-or-die`); its own
            // functions are not there for build.sh. A library (helpers.sh) is sourced before
            // build.sh, so its functions are.
            if text.starts_with("#!") {
                helpers.insert((*name).to_owned());
            } else if let Ok(facts) = script::read(text) {
                // gbb's own scripts parse; a test makes sure of it.
                helpers.extend(facts.functions);
            }
        }
        let system = BASH
            .iter()
            .map(|s| (*s).to_owned())
            .chain(
                STAGE3
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .flat_map(str::split_whitespace)
                    .map(str::to_owned),
            )
            .collect();
        Self { helpers, system }
    }

    pub(crate) fn knows(&self, name: &str) -> bool {
        self.helpers.contains(name) || self.system.contains(name)
    }

    /// The helper whose name is closest to `name`, if it is close enough to be a typo of it.
    /// gbb's internal functions (`gbb_*`) are not suggested.
    pub(crate) fn closest_helper(&self, name: &str) -> Option<&str> {
        self.helpers
            .iter()
            .filter(|h| !h.starts_with("gbb_"))
            .map(|h| (strsim::damerau_levenshtein(name, h), h.as_str()))
            // One edit for short names (`mvn` is no typo of `main`), more for long ones.
            .filter(|(distance, h)| *distance <= if h.len() < 6 { 1 } else { 2.max(h.len() / 5) })
            .min()
            .map(|(_, h)| h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_come_from_the_container_scripts() {
        let names = KnownNames::new(&gbb_build::CONTAINER_SCRIPTS);
        for helper in [
            "update_use",
            "provide_package",
            "download_file",
            "gbb-build",
        ] {
            assert!(
                names.helpers.contains(helper),
                "{helper}: {:?}",
                names.helpers
            );
        }
        assert!(!names.helpers.contains("helpers.sh"));
        for script in gbb_build::CONTAINER_SCRIPTS
            .into_iter()
            .filter(|(name, _)| is_shell(name))
        {
            script::read(script.1).unwrap_or_else(|e| panic!("{}: {e}", script.0));
        }
    }

    #[test]
    fn system_names() {
        let names = KnownNames::new(&[]);
        for name in [
            "emerge", "useradd", "gcc", "make", "sed", "local", "[[", "portageq", "qlist",
        ] {
            assert!(names.knows(name), "{name}");
        }
        assert!(!names.knows("git"));
    }

    #[test]
    fn typos_of_helpers() {
        let names = KnownNames::new(&gbb_build::CONTAINER_SCRIPTS);
        assert_eq!(names.closest_helper("update_uses"), Some("update_use"));
        assert_eq!(
            names.closest_helper("provide_pakage"),
            Some("provide_package")
        );
        assert_eq!(names.closest_helper("git"), None);
        assert_eq!(names.closest_helper("mvn"), None);
        assert!(!names.helpers.contains("main"), "gbb-build's own functions");
    }
}
