//! What gbb learns from an image's `build.sh` without running it.
//!
//! `build.sh` is real bash, sourced inside the build container, so the host never parses it
//! whole. For plans and reports gbb only needs a few facts, which kubler and the seed write in
//! a fixed shape: which hooks the file defines (`name() {` at the start of a line) and the
//! top-level package list (`_packages="..."`, old name `PACKAGES`, at the start of a line, read
//! with the config grammar and evaluated against the image's config). gbb's own
//! `_allow_missing_libs="path ..."` is read the same way: files whose loader or libraries may
//! be missing from the image (see `gbb-elf`), refused at its line when a word is not a valid
//! pattern.

use std::path::Path;

use gbb_config::{Config, Environment, Origin, Position, Script, parser::parse_leading_assignment};
use gbb_elf::Waivers;

use crate::{SetBy, Setting, StackError};

/// A hook function a `build.sh` may define, with both its old and new names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    /// `configure_builder` (old name `configure_bob`): changes to the build container that
    /// children inherit.
    ConfigureBuilder,
    /// `configure_rootfs_build`: before the packages are emerged into the empty root.
    ConfigureRootfsBuild,
    /// `finish_rootfs_build`: after the emerge, before cleanup and the tar.
    FinishRootfsBuild,
}

impl Hook {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigureBuilder => "configure_builder",
            Self::ConfigureRootfsBuild => "configure_rootfs_build",
            Self::FinishRootfsBuild => "finish_rootfs_build",
        }
    }

    fn from_function(name: &str) -> Option<Self> {
        match name {
            "configure_builder" | "configure_bob" => Some(Self::ConfigureBuilder),
            "configure_rootfs_build" => Some(Self::ConfigureRootfsBuild),
            "finish_rootfs_build" => Some(Self::FinishRootfsBuild),
            _ => None,
        }
    }
}

/// The facts read from a `build.sh`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildScript {
    /// Whether the folder has a `build.sh` at all.
    pub exists: bool,
    /// The hooks it defines, in file order, without repeats.
    pub hooks: Vec<Hook>,
    /// The package atoms of `_packages`/`PACKAGES`, when that assignment could be read. `None`
    /// when there is none or it is computed in a way only bash can follow.
    pub packages: Option<Vec<String>>,
    /// `_allow_missing_libs`: files whose unmet loader needs pass (as `ALLOW_MISSING_LIBS` in
    /// `build.conf`, see [`crate::BuildSettings`]). `None` when there is none, or it is
    /// computed in a way only bash can follow.
    pub allow_missing_libs: Option<Setting<Waivers>>,
}

impl BuildScript {
    /// Scans `text`, evaluating the package assignment against `config`. Refuses an
    /// `_allow_missing_libs` word that is not a valid path pattern, with its line.
    pub fn scan(
        path: &Path,
        text: &str,
        config: &Config,
        env: &Environment,
    ) -> Result<Self, StackError> {
        let mut script = Self {
            exists: true,
            ..Self::default()
        };
        let mut offset = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += line.len();
            if line.starts_with("_packages=") || line.starts_with("PACKAGES=") {
                if script.packages.is_none() {
                    script.packages = read_words(path, &text[start..], config, env);
                }
                continue;
            }
            if line.starts_with("_allow_missing_libs=") {
                if script.allow_missing_libs.is_none()
                    && let Some(words) = read_words(path, &text[start..], config, env)
                {
                    let set_by = SetBy {
                        variable: "_allow_missing_libs",
                        origin: Origin {
                            path: path.into(),
                            position: Position {
                                line: u32::try_from(number + 1).unwrap_or(u32::MAX),
                                column: 1,
                            },
                            order: (0, 0),
                            environment: None,
                        },
                    };
                    let words: Vec<&str> = words.iter().map(String::as_str).collect();
                    script.allow_missing_libs = Some(Setting {
                        value: crate::settings::waivers(&words, &set_by)?,
                        set_by,
                    });
                }
                continue;
            }
            let trimmed = line.trim_start();
            let declared = trimmed
                .strip_prefix("function ")
                .map(str::trim_start)
                .unwrap_or(trimmed);
            let name_len = declared
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let (name, rest) = declared.split_at(name_len);
            let is_function = rest.trim_start().starts_with("()")
                || (trimmed.starts_with("function ") && !name.is_empty());
            if is_function
                && let Some(hook) = Hook::from_function(name)
                && !script.hooks.contains(&hook)
            {
                script.hooks.push(hook);
            }
        }
        Ok(script)
    }
}

/// The words of the assignment at the start of `text` (`_packages`, `PACKAGES` or
/// `_allow_missing_libs`), evaluated against `config`.
fn read_words(path: &Path, text: &str, config: &Config, env: &Environment) -> Option<Vec<String>> {
    let assignment = parse_leading_assignment(text)?;
    let script = Script {
        assignments: vec![assignment],
    };
    let evaluated = config.eval(path, text, &script, env).ok()?;
    let value = ["_packages", "PACKAGES", "_allow_missing_libs"]
        .into_iter()
        .find_map(|name| evaluated.get(name))?;
    Some(
        value
            .value
            .items()
            .iter()
            .flat_map(|item| item.split_whitespace())
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> BuildScript {
        let config = Config::new().with_preset("BOB_X", "dev-libs/x", Path::new("preset"));
        BuildScript::scan(Path::new("build.sh"), text, &config, &Environment::empty()).unwrap()
    }

    #[test]
    fn kubler_shape() {
        let script = scan(
            "#\n# build config\n#\n_packages=\"sys-libs/glibc\n  app-misc/ca-certificates ${BOB_X}\"\n\
             \nconfigure_bob() {\n    _packages=\"not/this\"\n}\n\n\
             configure_rootfs_build()\n{\n    :\n}\n\nfunction finish_rootfs_build {\n  :\n}\n",
        );
        assert_eq!(
            script.packages.unwrap(),
            ["sys-libs/glibc", "app-misc/ca-certificates", "dev-libs/x"]
        );
        assert_eq!(
            script.hooks,
            [
                Hook::ConfigureBuilder,
                Hook::ConfigureRootfsBuild,
                Hook::FinishRootfsBuild
            ]
        );
    }

    #[test]
    fn old_names_and_arrays() {
        let script = scan("PACKAGES=( a/b c/d )\nconfigure_builder () { :; }\n");
        assert_eq!(script.packages.unwrap(), ["a/b", "c/d"]);
        assert_eq!(script.hooks, [Hook::ConfigureBuilder]);
    }

    #[test]
    fn allowed_missing_libs_are_globs_with_their_line() {
        let script =
            scan("_packages=\"a/b\"\n_allow_missing_libs=\"/usr/bin/gpu-*\n  opt/x/**\"\n");
        assert_eq!(script.packages.unwrap(), ["a/b"]);
        let allowed = script.allow_missing_libs.unwrap();
        assert!(allowed.value.covers("/usr/bin/gpu-smi"));
        assert!(allowed.value.covers("/opt/x/lib/liby.so"));
        assert!(!allowed.value.covers("/usr/bin/other"));
        assert_eq!(
            allowed.set_by.to_string(),
            "_allow_missing_libs at build.sh:2:1"
        );
        let config = Config::new();
        let error = BuildScript::scan(
            Path::new("build.sh"),
            "#\n\n_allow_missing_libs=\"/usr/bin/[x\"\n",
            &config,
            &Environment::empty(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "_allow_missing_libs at build.sh:3:1: `/usr/bin/[x` is not a valid path pattern (invalid range pattern); write absolute paths in the image, with `*`, `?`, `[...]` or a `**` folder"
        );
    }

    #[test]
    fn computed_packages_are_unknown() {
        assert_eq!(scan("_packages=\"$(cat list)\"\n").packages, None);
        assert_eq!(scan("configure_bob() { :; }\n").packages, None);
    }
}
