//! What a stack's settings ask of the engine for build containers: the mounts of
//! `BUILDER_MOUNTS` (and those inherited along `PARENT_BUILDER_MOUNTS`), the options of
//! `BUILDER_DOCKER_ARGS` (and kubler's `BUILDER_DOCKER_ARGS_GLOBAL`) and `BUILDER_SECCOMP`,
//! checked against the host before any container starts and added to a container spec.
//!
//! The values were parsed when the stack was read (`gbb_stack::BuildSettings`, one parser for
//! every setting, which refuses malformed ones with their file and line and joins relative
//! host paths to the folder of the file that set them). What is left here needs the machine
//! that builds: a mount's host path must exist, and is resolved with its links (what is
//! checked is what is mounted); a seccomp profile file is read; and the host's own places are
//! kept from build containers.
//!
//! **What the host keeps to itself.** gbb runs as root, and a bind mount is the build
//! container's way out of its sandbox: `-v /:/host` hands it the host. A mount of `/`, of
//! gbb's cache (binary packages other builds install from), of the stack's `.gbb` folder (the
//! outputs gbb reads back), of anything inside those or of a folder above them, and of a Unix
//! socket (the engine's own socket gives away the host as surely as `/`), is refused, unless
//! the file that asks for it also says `BUILDER_ALLOW_HOST_MOUNTS=true`. The targets where gbb
//! mounts its own folders ([`GBB_TARGETS`]) cannot be taken, and a target takes one mount.
//!
//! **`PARENT_BUILDER_MOUNTS`** (kubler's name). In kubler the flag keeps the `BUILDER_MOUNTS`
//! of the definition built just before for the next one, and the flag itself stays set for
//! everything read after it: in practice, a builder or an image that says `true` passes its
//! mounts on to what is built from it, and an image that says `true` gets its parents'. gbb,
//! which builds along the graph rather than in one sequence, makes that a rule of the graph:
//! a definition whose `PARENT_BUILDER_MOUNTS` is `true` (in its own config, or, when its config
//! does not set it, in the definition its build container comes from, and so on up) also gets
//! the mounts of that definition's build container. The base of an image is its `BUILDER`, else
//! its parent image (whose kept state it builds in), else the namespace's default builder; the
//! base of a builder is the builder it extends. Its own mounts win over inherited ones with the
//! same target; `false` stops the inheritance.
//!
//! **`BUILDER_SECCOMP`**: kubler runs build containers with `--security-opt
//! seccomp=$BUILDER_SECCOMP`, where the `docker` command reads the profile file and sends its
//! text. Through the API gbb does the same: the file (or `unconfined`) becomes the security
//! option `seccomp=<profile JSON>`.
//!
//! **`BUILDER_DOCKER_ARGS`** are `docker run` options, but gbb drives the engine through its
//! API, so each option is translated (`gbb_stack::EngineArg`: `--cap-add`, `-e`/`--env`,
//! `-v`/`--volume` with the same rules as `BUILDER_MOUNTS`, `--tmpfs`, and `--security-opt`
//! `seccomp=...` or `no-new-privileges`); others were refused when the stack was read.

use std::path::{Path, PathBuf};

use gbb_engine::{ContainerSpec, Mount};
use gbb_stack::{BuilderBase, BuilderMount, Definition, EngineArg, Kind, Seccomp, SetBy, Stack};

use crate::{BuildError, Paths};

/// The opt-in for mounts of the host's own places.
pub(crate) const ALLOW_HOST_MOUNTS: &str = "BUILDER_ALLOW_HOST_MOUNTS";

/// Where gbb mounts its own folders into build containers; a user mount cannot take them.
pub(crate) const GBB_TARGETS: [&str; 6] = crate::mount_targets::ALL;

/// A refusal of the value `set_by` set.
fn refuse(set_by: &SetBy, problem: impl Into<String>) -> BuildError {
    BuildError::BadSetting {
        setting: set_by.to_string(),
        problem: problem.into(),
    }
}

/// A host path mounted into build containers, and the setting that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostMount {
    /// Absolute, with symbolic links resolved (what is checked is what is mounted).
    pub(crate) source: PathBuf,
    pub(crate) target: String,
    pub(crate) read_only: bool,
    pub(crate) set_by: SetBy,
}

/// Everything a definition's settings ask of the engine, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EngineSettings {
    pub(crate) mounts: Vec<HostMount>,
    pub(crate) cap_add: Vec<String>,
    /// `KEY=value` entries.
    pub(crate) env: Vec<String>,
    pub(crate) security_opt: Vec<String>,
    /// Folders replaced by a tmpfs, with its options (`--tmpfs /var/tmp/portage:exec`).
    pub(crate) tmpfs: Vec<(String, String)>,
}

impl EngineSettings {
    /// Checks the settings of `definition`'s build container against the host.
    pub(crate) fn read(
        stack: &Stack,
        definition: &Definition,
        paths: &Paths,
    ) -> Result<Self, BuildError> {
        let guard = Guard::new(paths);
        let settings = &definition.settings;
        let mut engine = Self {
            mounts: builder_mounts(stack, definition, &guard, 0)?,
            ..Self::default()
        };
        for arg in &settings.engine_args {
            let set_by = &arg.set_by;
            match &arg.value {
                EngineArg::CapAdd(capability) => engine.cap_add.push(capability.clone()),
                EngineArg::Env(entry) => engine.env.push(entry.clone()),
                EngineArg::Volume(mount) => {
                    let allow = settings.allows_host_mounts(set_by);
                    engine
                        .mounts
                        .push(host_mount(mount, set_by, &guard, allow)?);
                }
                EngineArg::Tmpfs { target, options } => {
                    engine.tmpfs.push((target.clone(), options.clone()));
                }
                EngineArg::Seccomp(profile) => {
                    engine.security_opt.push(seccomp(profile, set_by)?);
                }
                // The spelling the engine takes (`=`; `:` is deprecated there).
                EngineArg::NoNewPrivileges(true) => {
                    engine.security_opt.push("no-new-privileges".to_owned());
                }
                EngineArg::NoNewPrivileges(false) => {
                    engine
                        .security_opt
                        .push("no-new-privileges=false".to_owned());
                }
            }
        }
        if let Some(profile) = &settings.seccomp {
            engine
                .security_opt
                .push(seccomp(&profile.value, &profile.set_by)?);
        }
        for (i, mount) in engine.mounts.iter().enumerate() {
            if GBB_TARGETS.contains(&mount.target.as_str()) {
                return Err(refuse(
                    &mount.set_by,
                    format!(
                        "`{}` is where gbb mounts its own folder; choose another target",
                        mount.target
                    ),
                ));
            }
            if let Some(earlier) = engine.mounts[..i].iter().find(|m| m.target == mount.target) {
                return Err(refuse(
                    &mount.set_by,
                    format!(
                        "`{}` is mounted already ({}); a target can take one mount",
                        mount.target, earlier.set_by
                    ),
                ));
            }
        }
        Ok(engine)
    }

    /// Adds the settings to a container spec.
    pub(crate) fn apply_to(self, spec: &mut ContainerSpec) {
        spec.mounts.extend(self.mounts.into_iter().map(|m| Mount {
            source: m.source,
            target: m.target,
            read_only: m.read_only,
        }));
        spec.cap_add.extend(self.cap_add);
        spec.env.extend(self.env);
        spec.security_opt.extend(self.security_opt);
        spec.tmpfs.extend(self.tmpfs);
    }
}

/// The definition `definition`'s build container comes from (see the module docs).
fn base_of<'s>(stack: &'s Stack, definition: &Definition) -> Option<&'s Definition> {
    let next = match definition.kind {
        Kind::Builder => match &definition.base {
            BuilderBase::Builder(reference) => &reference.id,
            BuilderBase::Core { .. } | BuilderBase::Missing | BuilderBase::NotABuilder => {
                return None;
            }
        },
        Kind::Image => match (
            &definition.builder,
            &definition.parent,
            &definition.default_builder,
        ) {
            (Some(builder), _, _) => &builder.id,
            (None, Some(parent), _) => &parent.id,
            (None, None, Some(builder)) => &builder.id,
            (None, None, None) => return None,
        },
    };
    stack.get(next)
}

/// `PARENT_BUILDER_MOUNTS`, from the definition's settings or, when unset, from its base's.
fn inherits_mounts(stack: &Stack, definition: &Definition, depth: usize) -> bool {
    match &definition.settings.parent_mounts {
        Some(flag) => flag.value,
        None if depth <= stack.definitions().len() => {
            base_of(stack, definition).is_some_and(|base| inherits_mounts(stack, base, depth + 1))
        }
        None => false,
    }
}

/// The `BUILDER_MOUNTS` of `definition`'s build container: its own, then those it inherits.
/// `depth` stops a cycle (which the plan refuses before this runs).
fn builder_mounts(
    stack: &Stack,
    definition: &Definition,
    guard: &Guard,
    depth: usize,
) -> Result<Vec<HostMount>, BuildError> {
    let settings = &definition.settings;
    let mut mounts = Vec::new();
    for mount in &settings.mounts {
        let allow = settings.allows_host_mounts(&mount.set_by);
        mounts.push(host_mount(&mount.value, &mount.set_by, guard, allow)?);
    }
    if depth <= stack.definitions().len()
        && inherits_mounts(stack, definition, 0)
        && let Some(base) = base_of(stack, definition)
    {
        for inherited in builder_mounts(stack, base, guard, depth + 1)? {
            if !mounts.iter().any(|m| m.target == inherited.target) {
                mounts.push(inherited);
            }
        }
    }
    Ok(mounts)
}

/// A mount with its host path resolved on this machine, and checked unless `allow`.
fn host_mount(
    mount: &BuilderMount,
    set_by: &SetBy,
    guard: &Guard,
    allow: bool,
) -> Result<HostMount, BuildError> {
    let entry = &mount.entry;
    let source = std::fs::canonicalize(&mount.source).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "does not exist".to_owned()
        } else {
            format!("cannot be read ({e})")
        };
        refuse(
            set_by,
            format!(
                "the host path `{}` of `{entry}` {why} (named volumes are not mounts gbb makes; give a host path)",
                mount.source.display()
            ),
        )
    })?;
    if !allow {
        guard.check(&source, entry, set_by)?;
    }
    Ok(HostMount {
        source,
        target: mount.target.clone(),
        read_only: mount.read_only,
        set_by: set_by.clone(),
    })
}

/// A seccomp profile for the engine: `unconfined`, or a JSON file's text.
fn seccomp(profile: &Seccomp, set_by: &SetBy) -> Result<String, BuildError> {
    let path = match profile {
        Seccomp::Unconfined => return Ok("seccomp=unconfined".to_owned()),
        Seccomp::Profile(path) => path,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        refuse(
            set_by,
            format!(
                "the seccomp profile `{}` cannot be read: {e}",
                path.display()
            ),
        )
    })?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        // Compact: the option travels in the container's configuration.
        Ok(profile @ serde_json::Value::Object(_)) => Ok(format!("seccomp={profile}")),
        Ok(_) => Err(refuse(
            set_by,
            format!(
                "the seccomp profile `{}` is not a JSON object",
                path.display()
            ),
        )),
        Err(e) => Err(refuse(
            set_by,
            format!(
                "the seccomp profile `{}` is not valid JSON: {e}",
                path.display()
            ),
        )),
    }
}

/// The host's places a build container may not be given.
struct Guard {
    protected: Vec<(PathBuf, &'static str)>,
}

impl Guard {
    fn new(paths: &Paths) -> Self {
        Self {
            protected: vec![
                (real_path(&paths.cache), "gbb's cache"),
                (real_path(&paths.state), "the stack's `.gbb` folder"),
            ],
        }
    }

    fn check(&self, source: &Path, entry: &str, set_by: &SetBy) -> Result<(), BuildError> {
        let refuse = |what: String| {
            refuse(
                set_by,
                format!(
                    "`{entry}` would give the build container {what}; mount something narrower, or set {ALLOW_HOST_MOUNTS}=true in that file if the build really needs it"
                ),
            )
        };
        if source == Path::new("/") {
            return Err(refuse("the host's root folder `/`".to_owned()));
        }
        for (place, name) in &self.protected {
            if place == source {
                return Err(refuse(format!("{name} (`{}`)", place.display())));
            }
            if place.starts_with(source) {
                return Err(refuse(format!(
                    "`{}`, which holds {name} (`{}`)",
                    source.display(),
                    place.display()
                )));
            }
            if source.starts_with(place) {
                return Err(refuse(format!(
                    "`{}`, inside {name} (`{}`)",
                    source.display(),
                    place.display()
                )));
            }
        }
        use std::os::unix::fs::FileTypeExt;
        if std::fs::metadata(source).is_ok_and(|m| m.file_type().is_socket()) {
            return Err(refuse(format!(
                "the socket `{}` (an engine's socket gives away the host)",
                source.display()
            )));
        }
        Ok(())
    }
}

/// `path` with symbolic links resolved as far as it exists (the cache or the `.gbb` folder may
/// not exist yet).
fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            real_path(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gbb_config::Environment;
    use gbb_stack::{ImageId, LoadOptions};

    fn write(root: &Path, path: &str, content: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A seed stack in `dir/stack`: builder `ns/bob`, images `ns/base` (on scratch) and
    /// `ns/app` (on base), with the given config lines added to each file.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            write(root, "stage3.tar", "");
            write(root, "stack/build.conf", "STAGE3_FILE=../stage3.tar\n");
            write(root, "stack/dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n");
            write(root, "stack/dock/ns/builder/bob/build.conf", "");
            write(
                root,
                "stack/dock/ns/images/base/build.conf",
                "IMAGE_PARENT=scratch\n",
            );
            write(
                root,
                "stack/dock/ns/images/app/build.conf",
                "IMAGE_PARENT=ns/base\n",
            );
            write(root, "host/data/file", "data");
            Self { dir }
        }

        fn root(&self) -> &Path {
            self.dir.path()
        }

        fn add(&self, file: &str, text: &str) -> &Self {
            let path = self.root().join("stack").join(file);
            let mut old = std::fs::read_to_string(&path).unwrap_or_default();
            old.push_str(text);
            std::fs::write(path, old).unwrap();
            self
        }

        /// The engine settings of `id`, or the refusal: of the stack when it is read (a
        /// malformed value), or of the settings when they are checked against the host.
        fn read(&self, id: &str, env: Environment) -> Result<EngineSettings, String> {
            let stack = Stack::discover(
                &self.root().join("stack"),
                &LoadOptions {
                    env,
                    user_config: None,
                },
            )
            .map_err(|e| e.to_string())?;
            let definition = stack.get(&id.parse::<ImageId>().unwrap()).unwrap();
            let paths = Paths::new(&stack.root, &self.root().join("cache"));
            EngineSettings::read(&stack, definition, &paths).map_err(|e| e.to_string())
        }

        fn settings(&self, id: &str) -> EngineSettings {
            self.read(id, Environment::empty()).unwrap()
        }

        fn refusal(&self, id: &str) -> String {
            self.read(id, Environment::empty()).unwrap_err()
        }

        fn host(&self, path: &str) -> PathBuf {
            std::fs::canonicalize(self.root().join(path)).unwrap()
        }
    }

    fn targets(settings: &EngineSettings) -> Vec<(&str, bool)> {
        settings
            .mounts
            .iter()
            .map(|m| (m.target.as_str(), m.read_only))
            .collect()
    }

    #[test]
    fn relative_paths_follow_the_file_that_says_them() {
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/build.conf",
            "BUILDER_DOCKER_ARGS=( -v ../../../host/data:/from-ns:ro --cap-add SYS_PTRACE -e A=1 )\n\
             BUILDER_DOCKER_ARGS_GLOBAL=( --tmpfs /var/tmp/portage:exec --security-opt no-new-privileges )\n",
        );
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_MOUNTS=( \"../../../../../host/data/file:/from-image/file\" )\n",
        );
        let settings = fixture.settings("ns/base");
        assert_eq!(
            targets(&settings),
            [("/from-image/file", false), ("/from-ns", true)]
        );
        assert_eq!(settings.mounts[0].source, fixture.host("host/data/file"));
        assert_eq!(settings.mounts[1].source, fixture.host("host/data"));
        assert_eq!(settings.cap_add, ["SYS_PTRACE"]);
        assert_eq!(settings.env, ["A=1"]);
        assert_eq!(
            settings.tmpfs,
            [("/var/tmp/portage".to_owned(), "exec".to_owned())]
        );
        assert_eq!(settings.security_opt, ["no-new-privileges"]);
    }

    #[test]
    fn the_hosts_own_places_are_refused_unless_allowed() {
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_DOCKER_ARGS=( -v /:/host )\n",
        );
        let error = fixture.refusal("ns/base");
        assert!(
            error.starts_with("BUILDER_DOCKER_ARGS at ")
                && error.contains("images/base/build.conf:2:1: `/:/host` would give the build container the host's root folder `/`"),
            "{error}"
        );
        // The cache, a folder above it, something inside it, the stack's .gbb folder.
        for (entry, what) in [
            ("../../../../../cache:/c", "gbb's cache"),
            ("../../../../..:/c", "which holds gbb's cache"),
            (
                "../../../../../stack:/c",
                "which holds the stack's `.gbb` folder",
            ),
            ("../../../../.gbb/x:/c", "inside the stack's `.gbb` folder"),
        ] {
            std::fs::create_dir_all(fixture.root().join("cache/packages")).unwrap();
            std::fs::create_dir_all(fixture.root().join("stack/.gbb/x")).unwrap();
            std::fs::write(
                fixture.root().join("stack/dock/ns/images/app/build.conf"),
                format!("IMAGE_PARENT=ns/base\nBUILDER_MOUNTS=( \"{entry}\" )\n"),
            )
            .unwrap();
            let error = fixture.refusal("ns/app");
            assert!(
                error.starts_with("BUILDER_MOUNTS at ") && error.contains(what),
                "{entry}: {error}"
            );
            assert!(error.contains("BUILDER_ALLOW_HOST_MOUNTS=true"), "{error}");
        }
        // Allowed by the file that asks.
        fixture.add(
            "dock/ns/images/app/build.conf",
            "BUILDER_ALLOW_HOST_MOUNTS=true\n",
        );
        assert_eq!(targets(&fixture.settings("ns/app")), [("/c", false)]);
        // An opt-in in another file does not count.
        fixture.add("dock/ns/build.conf", "BUILDER_ALLOW_HOST_MOUNTS=true\n");
        assert!(fixture.refusal("ns/base").contains("host's root folder"));
    }

    #[test]
    fn what_is_not_a_mount_says_so() {
        for (entry, why) in [
            ("H", "`H` is not a mount: it has no `:TARGET`"),
            ("H:relative", "its target is not an absolute path"),
            ("H:/", "its target is the container's root"),
            ("H:/x:ro,shared", "`shared` is not a mount option gbb knows"),
            (
                "no-such-volume:/x",
                "no-such-volume` of `no-such-volume:/x` does not exist",
            ),
            (
                "H:/packages",
                "`/packages` is where gbb mounts its own folder",
            ),
        ] {
            let fixture = Fixture::new();
            fixture.add(
                "dock/ns/images/base/build.conf",
                &format!(
                    "BUILDER_MOUNTS=( \"{}\" )\n",
                    entry.replace('H', "../../../../../host/data")
                ),
            );
            let error = fixture.refusal("ns/base");
            let why = why.replace('H', "../../../../../host/data");
            assert!(error.contains(&why), "{entry}: {error}");
            assert!(error.contains("images/base/build.conf:2:1"), "{error}");
        }
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_DOCKER_ARGS=( --privileged )\n",
        );
        assert!(
            fixture
                .refusal("ns/base")
                .contains("option `--privileged` is not one gbb can pass to the engine")
        );
    }

    #[test]
    fn parent_builder_mounts_pass_down_the_chain() {
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/builder/bob/build.conf",
            "BUILDER_MOUNTS=( \"../../../../../host/data:/bob\" )\n",
        );
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_MOUNTS=( \"../../../../../host/data:/base\" )\n",
        );
        // Without the flag, each has its own.
        assert_eq!(targets(&fixture.settings("ns/base")), [("/base", false)]);
        assert_eq!(targets(&fixture.settings("ns/app")), []);
        // The flag on the builder: what is built from it gets its mounts, down the chain.
        fixture.add(
            "dock/ns/builder/bob/build.conf",
            "PARENT_BUILDER_MOUNTS=true\n",
        );
        assert_eq!(
            targets(&fixture.settings("ns/base")),
            [("/base", false), ("/bob", false)]
        );
        assert_eq!(
            targets(&fixture.settings("ns/app")),
            [("/base", false), ("/bob", false)]
        );
        // `false` on an image stops it.
        fixture.add(
            "dock/ns/images/app/build.conf",
            "PARENT_BUILDER_MOUNTS=false\n",
        );
        assert_eq!(targets(&fixture.settings("ns/app")), []);
        // The flag on a child alone: its parents' mounts.
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_MOUNTS=( \"../../../../../host/data:/base\" )\n",
        );
        fixture.add(
            "dock/ns/images/app/build.conf",
            "PARENT_BUILDER_MOUNTS=true\nBUILDER_MOUNTS=( \"../../../../../host/data/file:/base\" )\n",
        );
        // Its own mount wins over the inherited one with the same target.
        let settings = fixture.settings("ns/app");
        assert_eq!(targets(&settings), [("/base", false)]);
        assert_eq!(settings.mounts[0].source, fixture.host("host/data/file"));
    }

    #[test]
    fn seccomp_profiles_are_read_for_the_engine() {
        let fixture = Fixture::new();
        write(
            fixture.root(),
            "stack/dock/ns/images/base/seccomp.json",
            "{ \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [] }\n",
        );
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_SECCOMP=seccomp.json\n",
        );
        assert_eq!(
            fixture.settings("ns/base").security_opt,
            ["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}"]
        );
        fixture.add(
            "dock/ns/images/app/build.conf",
            "BUILDER_SECCOMP=unconfined\n",
        );
        assert_eq!(
            fixture.settings("ns/app").security_opt,
            ["seccomp=unconfined"]
        );
        write(
            fixture.root(),
            "stack/dock/ns/images/base/seccomp.json",
            "{ nope",
        );
        let error = fixture.refusal("ns/base");
        assert!(
            error.starts_with("BUILDER_SECCOMP at ") && error.contains("is not valid JSON"),
            "{error}"
        );
        std::fs::remove_file(
            fixture
                .root()
                .join("stack/dock/ns/images/base/seccomp.json"),
        )
        .unwrap();
        assert!(fixture.refusal("ns/base").contains("cannot be read"));
    }

    #[test]
    fn origins_name_the_environment() {
        let fixture = Fixture::new();
        fixture.add(
            "dock/ns/images/base/build.conf",
            "BUILDER_MOUNTS=( \"${HOST_MOUNT:-}\" )\n",
        );
        let error = fixture
            .read(
                "ns/base",
                Environment::empty().with("HOST_MOUNT", "/:/host"),
            )
            .unwrap_err();
        assert!(
            error.contains("(from the environment variable `HOST_MOUNT`)"),
            "{error}"
        );
    }
}
