//! What a definition's config asks of its build, read once into typed values: the build
//! container's mounts and engine options (`BUILDER_MOUNTS`, `PARENT_BUILDER_MOUNTS`,
//! `BUILDER_DOCKER_ARGS` and kubler's `BUILDER_DOCKER_ARGS_GLOBAL`, `BUILDER_SECCOMP`,
//! `BUILDER_ALLOW_HOST_MOUNTS`, `BUILDER_CAPS_SYS_PTRACE`), the health check after phase 2
//! (`POST_BUILD_HC`, `POST_BUILD_HC_MAX_DURATION`), the template's `AUTHOR` and the `IMAGE_TAG`
//! line, the `BOB_*` variables that reach build containers and templates, and
//! `ALLOW_MISSING_LIBS` (files of the image whose loader or libraries may be missing, see
//! `gbb-elf`).
//!
//! **Why at load time.** These values used to be read out of the config as strings at several
//! places during a build, each with its own idea of a bad value: a `POST_BUILD_HC_MAX_DURATION`
//! of `abc` became 30 seconds without a word, an unknown `docker run` option was found only
//! when the container was about to start. Read here, every value is parsed once, a bad one is
//! refused with its variable, file and line before anything is planned (`gbb plan`, `gbb graph`
//! and `gbb check` refuse it too), and the build consumes values that cannot be wrong in form.
//!
//! **What is left to the build.** Only what this module can tell from the text. Facts of the
//! machine that builds are checked by `gbb-build` when it makes a container: whether a mount's
//! host path exists and where its links lead, whether it is one of the host's places a build
//! container may not have (`/`, gbb's cache, the stack's `.gbb` folder, a socket), which
//! targets gbb takes for itself, and what a seccomp profile file holds. A stack is often read
//! on a machine that will not build it (a plan on a laptop, a graph in CI), where those paths
//! need not exist.
//!
//! **One rule for relative paths.** A relative host path (a mount's source, a seccomp profile)
//! is joined to the folder of the file that set the variable, whichever file that is (an
//! image's `build.conf`, a namespace's, the global one), never to the folder gbb was started
//! in: the same stack means the same mounts from wherever it is built.
//!
//! **Yes and no.** kubler compares most of its flags with `true` (`BUILDER_CAPS_SYS_PTRACE`,
//! `PARENT_BUILDER_MOUNTS`: anything else is off) but `POST_BUILD_HC` with `false` (anything
//! else but empty is on). So `yes`, `1` or `True` mean off for one flag and on for another,
//! and a user who writes them means on. Reading them as off would silently skip the health
//! check or the capability asked for; reading them as on would differ from kubler for most
//! flags. gbb takes `true` and `false` (and an empty value, which is the default) and refuses
//! anything else with the line that says it: one edit, and the stack means one thing on both
//! tools. Every stack in kubler's and gentoo-bb's own repositories writes `true` or `false`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gbb_config::{Config, Origin, Var};
use gbb_elf::Waivers;

use crate::StackError;

/// How long the health check waits when `POST_BUILD_HC_MAX_DURATION` is unset: kubler's
/// default.
pub const DEFAULT_HEALTH_CHECK_DURATION: Duration = Duration::from_secs(30);

/// The variable that set a value, and where: what a message about the value names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetBy {
    pub variable: &'static str,
    pub origin: Origin,
}

impl fmt::Display for SetBy {
    /// `BUILDER_MOUNTS at dock/ns/build.conf:3:1`, with the environment variable the value was
    /// read from when there is one. A value only gbb's defaults line assigned, from the
    /// environment, names the environment alone (that line is no file of the user's).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin.environment {
            Some(variable) if &*self.origin.path == Path::new(crate::stack::DEFAULTS_PATH) => {
                write!(
                    f,
                    "{} (from the environment variable `{variable}`)",
                    self.variable
                )
            }
            Some(variable) => write!(
                f,
                "{} at {} (from the environment variable `{variable}`)",
                self.variable, self.origin
            ),
            None => write!(f, "{} at {}", self.variable, self.origin),
        }
    }
}

impl SetBy {
    /// The folder relative paths of this value are joined to: the folder of its file.
    pub fn dir(&self) -> &Path {
        self.origin.path.parent().unwrap_or(Path::new(""))
    }

    /// Whether this value was set in the same file as `other`.
    pub fn same_file(&self, other: &SetBy) -> bool {
        self.origin.path == other.origin.path
    }

    fn refuse(&self, problem: impl Into<String>) -> StackError {
        StackError::BadSetting {
            setting: self.clone(),
            problem: problem.into(),
        }
    }
}

/// A typed value and the variable and line that set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub set_by: SetBy,
}

/// A host path to mount into build containers: an entry of `BUILDER_MOUNTS`, or a
/// `-v`/`--volume` of `BUILDER_DOCKER_ARGS` (`SOURCE:TARGET[:OPTIONS]`, as `docker run -v`
/// takes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuilderMount {
    /// The entry as written, for messages.
    pub entry: String,
    /// The host path, a relative one joined to the folder of the file that set it. Not
    /// resolved further: whether it exists and where its links lead is for the machine that
    /// builds to tell (see the module docs).
    pub source: PathBuf,
    /// An absolute path in the container, without a trailing `/`.
    pub target: String,
    pub read_only: bool,
}

/// `BUILDER_SECCOMP`, or `--security-opt seccomp=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seccomp {
    /// `unconfined`: no seccomp filter.
    Unconfined,
    /// A JSON profile file, a relative path joined to the folder of the file that named it.
    /// The build reads it and hands its text to the engine, as the `docker` command does.
    Profile(PathBuf),
}

/// One `docker run` option of `BUILDER_DOCKER_ARGS`. gbb drives the engine through its API,
/// so it knows these options and translates each; any other is refused when the stack is read,
/// never dropped silently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineArg {
    /// `--cap-add NAME`.
    CapAdd(String),
    /// `-e`/`--env KEY=value`.
    Env(String),
    /// `-v`/`--volume SOURCE:TARGET[:ro]`: the same rules as `BUILDER_MOUNTS`.
    Volume(BuilderMount),
    /// `--tmpfs /path[:options]` (kubler's example: `--tmpfs /var/tmp/portage:exec`).
    Tmpfs { target: String, options: String },
    /// `--security-opt seccomp=FILE|unconfined`.
    Seccomp(Seccomp),
    /// `--security-opt no-new-privileges[=BOOL]`.
    NoNewPrivileges(bool),
}

/// `POST_BUILD_HC=true`: after phase 2, start the new image and wait for its `HEALTHCHECK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// The `POST_BUILD_HC` line that turned it on.
    pub enabled_by: SetBy,
    /// How long to wait for it to pass: `POST_BUILD_HC_MAX_DURATION` seconds, else
    /// [`DEFAULT_HEALTH_CHECK_DURATION`].
    pub max_duration: Duration,
    /// The `POST_BUILD_HC_MAX_DURATION` line, when one set it.
    pub max_duration_set_by: Option<SetBy>,
}

/// A `BOB_*` variable: passed into build containers and filled into templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BobVar {
    pub name: String,
    /// The value as `"${NAME[*]}"` gives it (an array's items joined with a space).
    pub value: String,
    pub origin: Origin,
}

/// Everything a definition's config asks of its build (see the module docs), parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// `BUILDER_MOUNTS`, in order.
    pub mounts: Vec<Setting<BuilderMount>>,
    /// `PARENT_BUILDER_MOUNTS`; `None` when unset or empty, in which case the definition its
    /// build container comes from decides (the build walks that chain).
    pub parent_mounts: Option<Setting<bool>>,
    /// `BUILDER_DOCKER_ARGS_GLOBAL`, then `BUILDER_DOCKER_ARGS`, options in order.
    pub engine_args: Vec<Setting<EngineArg>>,
    /// `BUILDER_SECCOMP`.
    pub seccomp: Option<Setting<Seccomp>>,
    /// `BUILDER_ALLOW_HOST_MOUNTS`: the opt-in for mounts of the host's own places, which
    /// counts only for mounts set in the same file ([`Self::allows_host_mounts`]).
    pub allow_host_mounts: Option<Setting<bool>>,
    /// `BUILDER_CAPS_SYS_PTRACE`: build containers get `SYS_PTRACE` ([`Self::sys_ptrace`]).
    pub caps_sys_ptrace: Option<Setting<bool>>,
    /// `POST_BUILD_HC=true`, with its duration; `None` when off.
    pub health_check: Option<HealthCheck>,
    /// `AUTHOR`, the template's `MAINTAINER`.
    pub author: Option<Setting<String>>,
    /// The line that set `IMAGE_TAG` (the value, checked, is [`crate::Definition::tag`]);
    /// `None` when gbb's default applies.
    pub tag_origin: Option<Origin>,
    /// Every `BOB_*` variable, in name order.
    pub bob_vars: Vec<BobVar>,
    /// `ALLOW_MISSING_LIBS`: paths and globs of the image's files whose unmet loader needs
    /// do not fail the build (`build.sh` may say the same with `_allow_missing_libs`, see
    /// [`crate::BuildScript`]); checked as patterns here.
    pub allow_missing_libs: Option<Setting<Waivers>>,
}

impl BuildSettings {
    /// Reads the settings of a definition's resolved `config`; a value that cannot mean what
    /// it should is refused with its variable, file and line.
    ///
    /// `own` is the same config before gbb's defaults layer. A defaults line such as
    /// `POST_BUILD_HC="${POST_BUILD_HC:-false}"` assigns every variable it names again, so in
    /// `config` a value the stack set seems to come from that line; `own` names the stack's
    /// line instead (see [`Lines`]).
    pub fn read(config: &Config, own: &Config) -> Result<Self, StackError> {
        let lines = Lines { config, own };
        let mut settings = Self {
            parent_mounts: lines.flag("PARENT_BUILDER_MOUNTS")?,
            allow_host_mounts: lines.flag("BUILDER_ALLOW_HOST_MOUNTS")?,
            caps_sys_ptrace: lines.flag("BUILDER_CAPS_SYS_PTRACE")?,
            health_check: lines.health_check()?,
            author: config.get("AUTHOR").map(|var| Setting {
                value: var.value.as_str().to_owned(),
                set_by: lines.set_by("AUTHOR", var),
            }),
            tag_origin: config
                .get("IMAGE_TAG")
                .map(|var| lines.origin("IMAGE_TAG", var).clone()),
            ..Self::default()
        };
        if let Some(var) = config.get("BUILDER_MOUNTS") {
            let set_by = lines.set_by("BUILDER_MOUNTS", var);
            for entry in var.value.items().into_iter().filter(|e| !e.is_empty()) {
                settings.mounts.push(Setting {
                    value: parse_mount(entry, &set_by)?,
                    set_by: set_by.clone(),
                });
            }
        }
        for variable in ["BUILDER_DOCKER_ARGS_GLOBAL", "BUILDER_DOCKER_ARGS"] {
            if let Some(var) = config.get(variable) {
                let set_by = lines.set_by(variable, var);
                let args: Vec<&str> = var
                    .value
                    .items()
                    .into_iter()
                    .flat_map(str::split_whitespace)
                    .collect();
                for arg in parse_engine_args(&args, &set_by)? {
                    settings.engine_args.push(Setting {
                        value: arg,
                        set_by: set_by.clone(),
                    });
                }
            }
        }
        if let Some(var) = config.non_empty("BUILDER_SECCOMP") {
            let set_by = lines.set_by("BUILDER_SECCOMP", var);
            settings.seccomp = Some(Setting {
                value: seccomp(var.value.as_str(), &set_by)?,
                set_by,
            });
        }
        if let Some(var) = config.non_empty("ALLOW_MISSING_LIBS") {
            let set_by = lines.set_by("ALLOW_MISSING_LIBS", var);
            settings.allow_missing_libs = Some(Setting {
                value: waivers(&var.value.items(), &set_by)?,
                set_by,
            });
        }
        settings.bob_vars = config
            .vars()
            .into_iter()
            .filter(|(name, _)| name.starts_with("BOB_"))
            .map(|(name, var)| BobVar {
                name: name.to_owned(),
                value: var.value.joined(),
                origin: lines.origin(name, var).clone(),
            })
            .collect();
        Ok(settings)
    }

    /// Whether build containers get the `SYS_PTRACE` capability.
    pub fn sys_ptrace(&self) -> bool {
        self.caps_sys_ptrace.as_ref().is_some_and(|flag| flag.value)
    }

    /// Whether a mount set by `set_by` may be one of the host's own places: only when the
    /// same file also says `BUILDER_ALLOW_HOST_MOUNTS=true`, so that an opt-in in a
    /// namespace's file does not cover what an image's file asks for, nor the other way round.
    pub fn allows_host_mounts(&self, set_by: &SetBy) -> bool {
        self.allow_host_mounts
            .as_ref()
            .is_some_and(|allow| allow.value && allow.set_by.same_file(set_by))
    }
}

/// A definition's config with and without gbb's defaults layer: which line set a value.
struct Lines<'c> {
    config: &'c Config,
    own: &'c Config,
}

impl<'c> Lines<'c> {
    /// Where `var` (the value of `name` in the whole config) was set: the stack's own line
    /// when the defaults line only passed its value on, else the line that assigned it (a
    /// defaults line's origin names the environment variable it read, if any).
    fn origin(&self, name: &str, var: &'c Var) -> &'c Origin {
        match self.own.get(name) {
            Some(own) if own.value == var.value => &own.origin,
            _ => &var.origin,
        }
    }

    fn set_by(&self, variable: &'static str, var: &'c Var) -> SetBy {
        SetBy {
            variable,
            origin: self.origin(variable, var).clone(),
        }
    }

    /// A `true`/`false` flag (see "Yes and no" in the module docs); `None` when unset or
    /// empty.
    fn flag(&self, variable: &'static str) -> Result<Option<Setting<bool>>, StackError> {
        let Some(var) = self.config.non_empty(variable) else {
            return Ok(None);
        };
        let set_by = self.set_by(variable, var);
        let value = match var.value.as_str() {
            "true" => true,
            "false" => false,
            other => {
                return Err(set_by.refuse(format!(
                    "`{}` is neither `true` nor `false`; write one of them (kubler reads other values as `false` for some flags and as `true` for others, so gbb does not guess)",
                    other.escape_debug()
                )));
            }
        };
        Ok(Some(Setting { value, set_by }))
    }

    /// `POST_BUILD_HC` and `POST_BUILD_HC_MAX_DURATION`. The duration is checked even while
    /// the health check is off: a typo should not wait until someone turns it on.
    fn health_check(&self) -> Result<Option<HealthCheck>, StackError> {
        let (max_duration, max_duration_set_by) =
            match self.config.non_empty("POST_BUILD_HC_MAX_DURATION") {
                Some(var) => {
                    let set_by = self.set_by("POST_BUILD_HC_MAX_DURATION", var);
                    (seconds(var.value.as_str(), &set_by)?, Some(set_by))
                }
                None => (DEFAULT_HEALTH_CHECK_DURATION, None),
            };
        Ok(self
            .flag("POST_BUILD_HC")?
            .filter(|on| on.value)
            .map(|on| HealthCheck {
                enabled_by: on.set_by,
                max_duration,
                max_duration_set_by,
            }))
    }
}

/// The words of an `ALLOW_MISSING_LIBS` or `_allow_missing_libs` value (a string of words, or
/// an array of them) as waivers; a word that is not a valid glob is refused at its line.
pub(crate) fn waivers(items: &[&str], set_by: &SetBy) -> Result<Waivers, StackError> {
    Waivers::new(items.iter().flat_map(|item| item.split_whitespace())).map_err(|error| {
        set_by.refuse(format!(
            "`{}` is not a valid path pattern ({}); write absolute paths in the image, with `*`, `?`, `[...]` or a `**` folder",
            error.pattern, error.message
        ))
    })
}

/// A whole number of seconds, at least one, as kubler's `[[ $MAX -gt $elapsed ]]` takes it
/// (blanks around it are fine there too).
fn seconds(value: &str, set_by: &SetBy) -> Result<Duration, StackError> {
    let refuse = |why: &str| {
        set_by.refuse(format!(
            "`{}` is not a duration: {why}; write a whole number of seconds, such as `60`",
            value.escape_debug()
        ))
    };
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse("it is not a number of seconds"));
    }
    match digits.parse::<u64>() {
        Ok(0) => Err(refuse("a health check needs at least a second to pass")),
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => Err(refuse("it is too large")),
    }
}

/// `docker run` options, translated (see [`EngineArg`]).
fn parse_engine_args(args: &[&str], set_by: &SetBy) -> Result<Vec<EngineArg>, StackError> {
    let mut parsed = Vec::new();
    let mut args = args.iter().copied();
    while let Some(arg) = args.next() {
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value)),
            _ => (arg, None),
        };
        let mut value = || {
            inline.or_else(|| args.next()).ok_or_else(|| {
                set_by.refuse(format!("option `{option}` has no value; give it one"))
            })
        };
        parsed.push(match option {
            "--cap-add" => EngineArg::CapAdd(value()?.to_owned()),
            "-e" | "--env" => EngineArg::Env(value()?.to_owned()),
            "-v" | "--volume" => EngineArg::Volume(parse_mount(value()?, set_by)?),
            "--tmpfs" => {
                let value = value()?;
                let (target, options) = value.split_once(':').unwrap_or((value, ""));
                if !target.starts_with('/') || target.trim_end_matches('/').is_empty() {
                    return Err(set_by.refuse(format!(
                        "`--tmpfs {value}` is not a tmpfs mount: write --tmpfs /path/in/container[:options]"
                    )));
                }
                EngineArg::Tmpfs {
                    target: target.to_owned(),
                    options: options.to_owned(),
                }
            }
            "--security-opt" => security_opt(value()?, set_by)?,
            other => {
                return Err(set_by.refuse(format!(
                    "option `{other}` is not one gbb can pass to the engine (it drives the engine through its API and translates --cap-add, -e/--env, -v/--volume, --tmpfs and --security-opt); use BUILDER_MOUNTS for mounts"
                )));
            }
        });
    }
    Ok(parsed)
}

/// `--security-opt`: `seccomp=...` (or `seccomp:...`) and `no-new-privileges[=BOOL]`.
fn security_opt(value: &str, set_by: &SetBy) -> Result<EngineArg, StackError> {
    let unknown = || {
        set_by.refuse(format!(
            "`--security-opt {value}` is not one gbb passes on; it knows `seccomp=FILE`, `seccomp=unconfined` and `no-new-privileges`"
        ))
    };
    match value.split_once(['=', ':']) {
        Some(("seccomp", profile)) => Ok(EngineArg::Seccomp(seccomp(profile, set_by)?)),
        None if value == "no-new-privileges" => Ok(EngineArg::NoNewPrivileges(true)),
        // The spellings the engine itself takes for this option (Go's `strconv.ParseBool`),
        // since these values are written for `docker run`.
        Some(("no-new-privileges", flag)) => match flag {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(EngineArg::NoNewPrivileges(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(EngineArg::NoNewPrivileges(false)),
            _ => Err(unknown()),
        },
        _ => Err(unknown()),
    }
}

/// `unconfined` or a profile file.
fn seccomp(value: &str, set_by: &SetBy) -> Result<Seccomp, StackError> {
    match value {
        "unconfined" => Ok(Seccomp::Unconfined),
        "" => Err(set_by.refuse(
            "no seccomp profile is named; give a JSON file (relative to the file's folder) or `unconfined`",
        )),
        path => Ok(Seccomp::Profile(set_by.dir().join(path))),
    }
}

/// `SOURCE:TARGET[:OPTIONS]`, as `docker run -v` takes it, with the source joined to the
/// folder of the file that set it.
fn parse_mount(entry: &str, set_by: &SetBy) -> Result<BuilderMount, StackError> {
    let not_a_mount = |why: &str| {
        set_by.refuse(format!(
            "`{entry}` is not a mount: {why}; write SOURCE:TARGET or SOURCE:TARGET:ro, with a host path (absolute, or relative to the file's folder) and an absolute path in the container"
        ))
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(source), Some(target)) = (parts.next(), parts.next()) else {
        return Err(not_a_mount("it has no `:TARGET`"));
    };
    if source.is_empty() {
        return Err(not_a_mount("its host path is empty"));
    }
    if !target.starts_with('/') {
        return Err(not_a_mount("its target is not an absolute path"));
    }
    let target = target.trim_end_matches('/');
    if target.is_empty() {
        return Err(not_a_mount("its target is the container's root"));
    }
    let mut read_only = false;
    for option in parts.next().unwrap_or_default().split(',') {
        match option {
            "ro" => read_only = true,
            "rw" | "" => {}
            other => {
                return Err(not_a_mount(&format!(
                    "`{other}` is not a mount option gbb knows (ro, rw)"
                )));
            }
        }
    }
    Ok(BuilderMount {
        entry: entry.to_owned(),
        source: set_by.dir().join(source),
        target: target.to_owned(),
        read_only,
    })
}

#[cfg(test)]
mod tests {
    use gbb_config::{Environment, parse};

    use super::*;

    /// The settings of `text` as `dock/ns/build.conf`, or the refusal's message.
    fn read_with(text: &str, env: &Environment) -> Result<BuildSettings, String> {
        let path = Path::new("dock/ns/build.conf");
        let script = parse(path, text).unwrap();
        let config = Config::new().eval(path, text, &script, env).unwrap();
        BuildSettings::read(&config, &config).map_err(|e| e.to_string())
    }

    fn read(text: &str) -> Result<BuildSettings, String> {
        read_with(text, &Environment::empty())
    }

    #[track_caller]
    fn refusal(text: &str) -> String {
        read(text).expect_err("refused")
    }

    #[test]
    fn nothing_set_asks_for_nothing() {
        assert_eq!(read("").unwrap(), BuildSettings::default());
        let settings = read("PARENT_BUILDER_MOUNTS=\nBUILDER_SECCOMP=\nPOST_BUILD_HC=\n").unwrap();
        assert_eq!(settings, BuildSettings::default());
        assert!(!settings.sys_ptrace());
    }

    #[test]
    fn flags_are_true_or_false() {
        let settings = read(
            "BUILDER_CAPS_SYS_PTRACE=true\nPARENT_BUILDER_MOUNTS=false\nBUILDER_ALLOW_HOST_MOUNTS='true'\n",
        )
        .unwrap();
        assert!(settings.sys_ptrace());
        assert_eq!(
            settings.parent_mounts.as_ref().map(|f| f.value),
            Some(false)
        );
        assert_eq!(
            settings.allow_host_mounts.unwrap().set_by.to_string(),
            "BUILDER_ALLOW_HOST_MOUNTS at dock/ns/build.conf:3:1"
        );
        for (variable, value) in [
            ("POST_BUILD_HC", "yes"),
            ("BUILDER_CAPS_SYS_PTRACE", "1"),
            ("PARENT_BUILDER_MOUNTS", "True"),
            ("BUILDER_ALLOW_HOST_MOUNTS", "on"),
        ] {
            assert_eq!(
                refusal(&format!("X=1\n{variable}={value}\n")),
                format!(
                    "{variable} at dock/ns/build.conf:2:1: `{value}` is neither `true` nor `false`; write one of them (kubler reads other values as `false` for some flags and as `true` for others, so gbb does not guess)"
                )
            );
        }
    }

    #[test]
    fn health_checks_wait_whole_seconds() {
        let check = read("POST_BUILD_HC=true\n").unwrap().health_check.unwrap();
        assert_eq!(check.max_duration, DEFAULT_HEALTH_CHECK_DURATION);
        assert_eq!(check.max_duration_set_by, None);
        assert_eq!(
            check.enabled_by.to_string(),
            "POST_BUILD_HC at dock/ns/build.conf:1:1"
        );
        let check = read("POST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION=' 60 '\n")
            .unwrap()
            .health_check
            .unwrap();
        assert_eq!(check.max_duration, Duration::from_secs(60));
        assert!(check.max_duration_set_by.is_some());
        assert_eq!(read("POST_BUILD_HC=false\n").unwrap().health_check, None);
        for (value, why) in [
            ("abc", "it is not a number of seconds"),
            ("30s", "it is not a number of seconds"),
            ("-5", "it is not a number of seconds"),
            ("1.5", "it is not a number of seconds"),
            ("0", "a health check needs at least a second to pass"),
            ("99999999999999999999999", "it is too large"),
        ] {
            assert_eq!(
                refusal(&format!(
                    "POST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION={value}\n"
                )),
                format!(
                    "POST_BUILD_HC_MAX_DURATION at dock/ns/build.conf:2:1: `{value}` is not a duration: {why}; write a whole number of seconds, such as `60`"
                ),
            );
        }
        // Refused while the check is off too: a typo does not wait for someone to turn it on.
        assert!(refusal("POST_BUILD_HC_MAX_DURATION=abc\n").contains("is not a duration"));
    }

    #[test]
    fn mounts_are_joined_to_the_files_folder() {
        let settings =
            read("BUILDER_MOUNTS=( \"data:/in/data/:ro\" \"\" \"/abs/x:/x:rw\" )\n").unwrap();
        let mounts: Vec<_> = settings.mounts.iter().map(|m| &m.value).collect();
        assert_eq!(
            mounts,
            [
                &BuilderMount {
                    entry: "data:/in/data/:ro".to_owned(),
                    source: PathBuf::from("dock/ns/data"),
                    target: "/in/data".to_owned(),
                    read_only: true,
                },
                &BuilderMount {
                    entry: "/abs/x:/x:rw".to_owned(),
                    source: PathBuf::from("/abs/x"),
                    target: "/x".to_owned(),
                    read_only: false,
                }
            ]
        );
        assert_eq!(
            settings.mounts[0].set_by.to_string(),
            "BUILDER_MOUNTS at dock/ns/build.conf:1:1"
        );
    }

    #[test]
    fn what_is_not_a_mount_says_so() {
        for (entry, why) in [
            ("data", "it has no `:TARGET`"),
            (":/x", "its host path is empty"),
            ("data:relative", "its target is not an absolute path"),
            ("data:/", "its target is the container's root"),
            (
                "data:/x:ro,shared",
                "`shared` is not a mount option gbb knows (ro, rw)",
            ),
        ] {
            assert_eq!(
                refusal(&format!("BUILDER_MOUNTS=( \"{entry}\" )\n")),
                format!(
                    "BUILDER_MOUNTS at dock/ns/build.conf:1:1: `{entry}` is not a mount: {why}; write SOURCE:TARGET or SOURCE:TARGET:ro, with a host path (absolute, or relative to the file's folder) and an absolute path in the container"
                ),
            );
            // The same rules for a docker `-v`.
            assert!(
                refusal(&format!("BUILDER_DOCKER_ARGS=( -v \"{entry}\" )\n"))
                    .starts_with("BUILDER_DOCKER_ARGS at dock/ns/build.conf:1:1: `"),
                "{entry}"
            );
        }
    }

    #[test]
    fn docker_args_become_typed_options() {
        let settings = read(
            "BUILDER_DOCKER_ARGS=( -v data:/d:ro --cap-add SYS_ADMIN -e A=1 --env=B=2 --volume=/v:/v )\n\
             BUILDER_DOCKER_ARGS_GLOBAL=( '--tmpfs' '/var/tmp/portage:exec' --security-opt no-new-privileges \
             --security-opt seccomp=profile.json --security-opt seccomp:unconfined --security-opt no-new-privileges=false )\n",
        )
        .unwrap();
        let args: Vec<(&str, &EngineArg)> = settings
            .engine_args
            .iter()
            .map(|a| (a.set_by.variable, &a.value))
            .collect();
        let volume = |entry: &str, source: &str, target: &str, read_only| {
            EngineArg::Volume(BuilderMount {
                entry: entry.to_owned(),
                source: PathBuf::from(source),
                target: target.to_owned(),
                read_only,
            })
        };
        let global = "BUILDER_DOCKER_ARGS_GLOBAL";
        let own = "BUILDER_DOCKER_ARGS";
        assert_eq!(
            args,
            [
                (
                    global,
                    &EngineArg::Tmpfs {
                        target: "/var/tmp/portage".to_owned(),
                        options: "exec".to_owned()
                    }
                ),
                (global, &EngineArg::NoNewPrivileges(true)),
                (
                    global,
                    &EngineArg::Seccomp(Seccomp::Profile(PathBuf::from("dock/ns/profile.json")))
                ),
                (global, &EngineArg::Seccomp(Seccomp::Unconfined)),
                (global, &EngineArg::NoNewPrivileges(false)),
                (own, &volume("data:/d:ro", "dock/ns/data", "/d", true)),
                (own, &EngineArg::CapAdd("SYS_ADMIN".to_owned())),
                (own, &EngineArg::Env("A=1".to_owned())),
                (own, &EngineArg::Env("B=2".to_owned())),
                (own, &volume("/v:/v", "/v", "/v", false)),
            ]
        );
        // One string of options works as well as an array.
        assert_eq!(
            read("BUILDER_DOCKER_ARGS=\"--cap-add NET_ADMIN -e X=y\"\n")
                .unwrap()
                .engine_args
                .len(),
            2
        );
    }

    #[test]
    fn unknown_docker_args_are_refused() {
        assert_eq!(
            refusal("X=1\nBUILDER_DOCKER_ARGS=( --privileged )\n"),
            "BUILDER_DOCKER_ARGS at dock/ns/build.conf:2:1: option `--privileged` is not one gbb can pass to the engine (it drives the engine through its API and translates --cap-add, -e/--env, -v/--volume, --tmpfs and --security-opt); use BUILDER_MOUNTS for mounts"
        );
        assert_eq!(
            refusal("BUILDER_DOCKER_ARGS_GLOBAL=( --cap-add )\n"),
            "BUILDER_DOCKER_ARGS_GLOBAL at dock/ns/build.conf:1:1: option `--cap-add` has no value; give it one"
        );
        assert!(
            refusal("BUILDER_DOCKER_ARGS=( --tmpfs relative )\n")
                .contains("`--tmpfs relative` is not a tmpfs mount")
        );
        for opt in [
            "label=disable",
            "no-new-privileges=maybe",
            "no-new-privilegesX",
        ] {
            assert!(
                refusal(&format!("BUILDER_DOCKER_ARGS=( --security-opt {opt} )\n")).contains(
                    &format!("`--security-opt {opt}` is not one gbb passes on; it knows")
                ),
                "{opt}"
            );
        }
        assert!(
            refusal("BUILDER_DOCKER_ARGS=( --security-opt seccomp= )\n")
                .contains("no seccomp profile is named")
        );
    }

    #[test]
    fn allow_missing_libs_are_checked_globs() {
        let settings =
            read("ALLOW_MISSING_LIBS=( /usr/bin/nvidia-smi \"/opt/cuda/** usr/lib/libx.so.*\" )\n")
                .unwrap();
        let allowed = settings.allow_missing_libs.unwrap();
        assert!(allowed.value.covers("/usr/bin/nvidia-smi"));
        assert!(allowed.value.covers("/opt/cuda/lib64/libcuda.so.1"));
        assert!(allowed.value.covers("/usr/lib/libx.so.2"));
        assert!(!allowed.value.covers("/usr/bin/other"));
        assert_eq!(
            allowed.set_by.to_string(),
            "ALLOW_MISSING_LIBS at dock/ns/build.conf:1:1"
        );
        assert_eq!(
            read("ALLOW_MISSING_LIBS=\n").unwrap().allow_missing_libs,
            None
        );
        assert_eq!(
            refusal("X=1\nALLOW_MISSING_LIBS=\"/usr/bin/ok /usr/lib/[libx\"\n"),
            "ALLOW_MISSING_LIBS at dock/ns/build.conf:2:1: `/usr/lib/[libx` is not a valid path pattern (invalid range pattern); write absolute paths in the image, with `*`, `?`, `[...]` or a `**` folder"
        );
    }

    #[test]
    fn seccomp_is_a_profile_or_unconfined() {
        let settings = read("BUILDER_SECCOMP=seccomp.json\n").unwrap();
        assert_eq!(
            settings.seccomp.unwrap().value,
            Seccomp::Profile(PathBuf::from("dock/ns/seccomp.json"))
        );
        let settings = read("BUILDER_SECCOMP=unconfined\n").unwrap();
        assert_eq!(settings.seccomp.unwrap().value, Seccomp::Unconfined);
    }

    #[test]
    fn host_mounts_are_allowed_by_their_own_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("ns.conf");
        let image = dir.path().join("image.conf");
        let env = Environment::empty();
        let layer = |config: &Config, path: &Path, text: &str| {
            config
                .eval(path, text, &parse(path, text).unwrap(), &env)
                .unwrap()
        };
        let config = layer(
            &Config::new(),
            &ns,
            "BUILDER_ALLOW_HOST_MOUNTS=true\nBUILDER_MOUNTS=( /:/host )\n",
        );
        let config = layer(&config, &image, "BUILDER_DOCKER_ARGS=( -v /:/host )\n");
        let settings = BuildSettings::read(&config, &config).unwrap();
        assert!(settings.allows_host_mounts(&settings.mounts[0].set_by));
        assert!(!settings.allows_host_mounts(&settings.engine_args[0].set_by));
    }

    #[test]
    fn bob_vars_author_and_tag_keep_their_lines() {
        let settings = read_with(
            "AUTHOR='Jane <j@x>'\nBOB_B=( 1 2 )\nBOB_A=\"${BOB_A:-}\"\nNOT_BOB=1\nIMAGE_TAG=2026\n",
            &Environment::empty().with("BOB_A", "from env"),
        )
        .unwrap();
        let author = settings.author.unwrap();
        assert_eq!(author.value, "Jane <j@x>");
        assert_eq!(
            author.set_by.to_string(),
            "AUTHOR at dock/ns/build.conf:1:1"
        );
        let bob: Vec<(&str, &str)> = settings
            .bob_vars
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(bob, [("BOB_A", "from env"), ("BOB_B", "1 2")]);
        assert_eq!(
            settings.bob_vars[0].origin.environment.as_deref(),
            Some("BOB_A")
        );
        assert_eq!(
            settings.tag_origin.unwrap().to_string(),
            "dock/ns/build.conf:5:1"
        );
    }

    #[test]
    fn values_from_the_environment_say_so() {
        let error = read_with(
            "POST_BUILD_HC=\"${POST_BUILD_HC:-false}\"\n",
            &Environment::empty().with("POST_BUILD_HC", "yes"),
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "POST_BUILD_HC at dock/ns/build.conf:1:1 (from the environment variable `POST_BUILD_HC`): `yes`"
            ),
            "{error}"
        );
    }

    /// Loaded as a stack: every definition holds its settings, and a value only gbb's
    /// defaults line assigned, from the environment, is traced to the environment.
    #[test]
    fn stacks_read_settings_with_their_definitions() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("build.conf", "AUTHOR=me\n");
        write("dock/ns/build.conf", "BUILDER_CAPS_SYS_PTRACE=true\n");
        write("dock/ns/images/app/build.conf", "POST_BUILD_HC=true\n");
        let load = |env: Environment| {
            crate::Stack::discover(
                dir.path(),
                &crate::LoadOptions {
                    env,
                    user_config: None,
                },
            )
        };
        let stack = load(Environment::empty()).unwrap();
        let app = &stack.definitions()[0];
        assert!(app.settings.sys_ptrace());
        assert_eq!(
            app.settings.health_check.as_ref().map(|c| c.max_duration),
            Some(DEFAULT_HEALTH_CHECK_DURATION)
        );
        assert_eq!(app.settings.author.as_ref().unwrap().value, "me");
        // gbb's defaults fill BOB_* values; one the stack sets keeps the stack's line, though
        // the defaults line assigns it again.
        let bob = |app: &crate::Definition, name: &str| {
            let var = app
                .settings
                .bob_vars
                .iter()
                .find(|v| v.name == name)
                .cloned();
            var.map(|v| (v.value, v.origin.path.display().to_string()))
        };
        assert_eq!(
            bob(app, "BOB_TIMEZONE"),
            Some(("UTC".to_owned(), crate::stack::DEFAULTS_PATH.to_owned()))
        );
        write("dock/ns/build.conf", "BOB_TIMEZONE=Europe/Paris\n");
        let stack = load(Environment::empty()).unwrap();
        assert_eq!(
            bob(&stack.definitions()[0], "BOB_TIMEZONE"),
            Some((
                "Europe/Paris".to_owned(),
                dir.path().join("dock/ns/build.conf").display().to_string()
            ))
        );

        // A flag the stack set is refused at the stack's line, not the defaults line.
        write("dock/ns/images/app/build.conf", "");
        write("dock/ns/build.conf", "X=1\nPOST_BUILD_HC=yes\n");
        let error = load(Environment::empty()).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "POST_BUILD_HC at {}:2:1: `yes` is neither",
                dir.path().join("dock/ns/build.conf").display()
            )),
            "{error}"
        );

        write("dock/ns/build.conf", "");
        let error = load(Environment::empty().with("POST_BUILD_HC", "yes"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "POST_BUILD_HC (from the environment variable `POST_BUILD_HC`): `yes` is neither"
            ),
            "{error}"
        );
    }
}
