use std::io;
use std::path::{Path, PathBuf};

use gbb_config::{Config, Environment, Script, parse};
use rustc_hash::FxHashMap;

use crate::definition::{BuilderBase, CoreInput, PortageTree, Stage3};
use crate::{
    BuildScript, BuildSettings, ContainerEngine, Definition, ImageId, Kind, Layout, Reference,
    StackError, validate_name,
};

/// The built-in defaults. They are evaluated *after* an image's own files, and each of them
/// only fills a variable that is still unset or empty (`X="${X:-default}"`): evaluated first,
/// they would hide the environment from the stack's own `${X:-...}` defaults, so that
/// `IMAGE_TAG=2026 gbb build` could not override `IMAGE_TAG="${IMAGE_TAG:-2025}"`.
const DEFAULTS: &str = include_str!("defaults.conf");
pub(crate) const DEFAULTS_PATH: &str = "<gbb defaults>";

/// What reading a stack depends on besides its folder.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The process environment: the fallback for every expansion.
    pub env: Environment,
    /// The user's own config file, read after the global file.
    pub user_config: Option<PathBuf>,
}

impl LoadOptions {
    /// Options for `env`, with the user config file found the usual way: `GBB_USER_CONFIG`
    /// (empty for none), else `$XDG_CONFIG_HOME/gbb/gbb.conf`, else `~/.config/gbb/gbb.conf`,
    /// when that file exists.
    pub fn from_env(env: Environment) -> Self {
        let user_config = match env.get("GBB_USER_CONFIG") {
            Some("") => None,
            Some(path) => Some(PathBuf::from(path)),
            None => env
                .get("XDG_CONFIG_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".config")))
                .map(|d| d.join("gbb").join("gbb.conf"))
                .filter(|p| p.is_file()),
        };
        Self { env, user_config }
    }
}

/// A namespace: a folder of images and builders with its own config.
#[derive(Clone, Debug)]
pub struct Namespace {
    pub name: String,
    pub dir: PathBuf,
    /// Its config file (`dock/<ns>/build.conf` or `<ns>/kubler.conf`), if there is one.
    pub config_file: Option<PathBuf>,
    /// Its config after every layer up to and including its own file.
    pub config: Config,
    /// The engine its config names (`CONTAINER_ENGINE`); an image may name its own.
    pub engine: ContainerEngine,
}

/// A whole stack, read once.
#[derive(Debug)]
pub struct Stack {
    pub root: PathBuf,
    pub layout: Layout,
    /// The global config file, if the layout has one.
    pub global_file: Option<PathBuf>,
    pub namespaces: Vec<Namespace>,
    definitions: Vec<Definition>,
    index: FxHashMap<ImageId, usize>,
}

/// A config file parsed once, evaluated once per namespace.
struct Parsed {
    path: PathBuf,
    text: String,
    script: Script,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StackError + '_ {
    move |source| StackError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_parsed(path: &Path) -> Result<Parsed, StackError> {
    let text = gbb_config::decode(path, std::fs::read(path).map_err(io_error(path))?)?;
    let script = parse(path, &text)?;
    Ok(Parsed {
        path: path.to_owned(),
        text,
        script,
    })
}

/// `path` as the file system takes it: the empty path (the current folder, as roots found from
/// `.` are kept, so that messages show `dock/...` rather than `./dock/...`) becomes `.`.
fn on_disk(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// The sub-folders of `dir`, sorted, without hidden ones. A missing `dir` has none.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, StackError> {
    let entries = match std::fs::read_dir(on_disk(dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        let is_dir = file_type.is_dir() || (file_type.is_symlink() && entry.path().is_dir());
        if is_dir {
            out.push((name.clone(), dir.join(&name)));
        }
    }
    out.sort();
    Ok(out)
}

impl Stack {
    /// Finds the stack `start` is in (see [`Layout::find`]) and reads it.
    pub fn discover(start: &Path, options: &LoadOptions) -> Result<Self, StackError> {
        let (root, layout) = Layout::find(start)?;
        Self::load(&root, layout, options)
    }

    /// Reads the stack at `root`.
    pub fn load(root: &Path, layout: Layout, options: &LoadOptions) -> Result<Self, StackError> {
        let env = &options.env;
        let defaults_path = Path::new(DEFAULTS_PATH);
        let defaults = Parsed {
            path: defaults_path.to_owned(),
            text: DEFAULTS.to_owned(),
            script: parse(defaults_path, DEFAULTS)?,
        };
        let global_file = match layout {
            Layout::Seed => Some(root.join("build.conf")),
            Layout::KublerMulti => Some(root.join("kubler.conf")),
            Layout::KublerSingle => None,
        };
        let mut shared = Vec::new();
        if let Some(path) = &global_file {
            shared.push(read_parsed(path)?);
        }
        if let Some(path) = &options.user_config {
            shared.push(read_parsed(path)?);
        }

        // (name, folder, config file)
        let namespace_dirs: Vec<(String, PathBuf, Option<PathBuf>)> = match layout {
            Layout::Seed => subdirs(&root.join("dock"))?
                .into_iter()
                .map(|(name, dir)| {
                    let file = dir.join("build.conf");
                    let file = file.is_file().then_some(file);
                    (name, dir, file)
                })
                .collect(),
            Layout::KublerMulti => subdirs(root)?
                .into_iter()
                .filter(|(_, dir)| dir.join("kubler.conf").is_file())
                .map(|(name, dir)| {
                    let file = dir.join("kubler.conf");
                    (name, dir, Some(file))
                })
                .collect(),
            Layout::KublerSingle => {
                let absolute = std::path::absolute(on_disk(root)).map_err(io_error(root))?;
                let name = absolute
                    .components()
                    .filter_map(|c| match c {
                        std::path::Component::Normal(n) => Some(n),
                        _ => None,
                    })
                    .next_back()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                vec![(name, root.to_owned(), Some(root.join("kubler.conf")))]
            }
        };

        let mut stack = Self {
            root: root.to_owned(),
            layout,
            global_file,
            namespaces: Vec::new(),
            definitions: Vec::new(),
            index: FxHashMap::default(),
        };
        for (name, dir, file) in namespace_dirs {
            validate_name(&name).map_err(|source| StackError::InvalidName {
                path: dir.clone(),
                what: "namespace",
                source,
            })?;
            let mut config = Config::new().with_preset("NAMESPACE", &name, &dir);
            for parsed in &shared {
                config = config.eval(&parsed.path, &parsed.text, &parsed.script, env)?;
            }
            if let Some(file) = &file {
                let parsed = read_parsed(file)?;
                config = config.eval(&parsed.path, &parsed.text, &parsed.script, env)?;
            }
            let namespace = Namespace {
                engine: ContainerEngine::from_config(&config),
                name,
                dir,
                config_file: file,
                config,
            };
            let mut jobs = Vec::new();
            for (kind, folder) in [(Kind::Builder, "builder"), (Kind::Image, "images")] {
                for (name, dir) in subdirs(&namespace.dir.join(folder))? {
                    jobs.push((kind, name, dir));
                }
            }
            let load = |(kind, name, dir): (Kind, String, PathBuf)| {
                load_definition(&namespace, &defaults, kind, &name, dir, env)
            };
            for definition in in_parallel(jobs, load) {
                stack.insert(definition?)?;
            }
            stack.namespaces.push(namespace);
        }
        Ok(stack)
    }

    fn insert(&mut self, definition: Definition) -> Result<(), StackError> {
        if let Some(&existing) = self.index.get(&definition.id) {
            return Err(StackError::DuplicateId {
                id: definition.id,
                first: self.definitions[existing].dir.clone(),
                second: definition.dir,
            });
        }
        self.index
            .insert(definition.id.clone(), self.definitions.len());
        self.definitions.push(definition);
        Ok(())
    }

    /// Every image and builder, builders of a namespace before its images, namespaces in name
    /// order, names in name order.
    pub fn definitions(&self) -> &[Definition] {
        &self.definitions
    }

    /// The image or builder with this id.
    pub fn get(&self, id: &ImageId) -> Option<&Definition> {
        self.index.get(id).map(|&i| &self.definitions[i])
    }

    /// The position of `id` in [`Self::definitions`].
    pub fn position(&self, id: &ImageId) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| ns.name == name)
    }
}

/// Maps `jobs` with `f` on all cores, keeping their order (so that the first error reported is
/// the same on every run). Reading a definition is two small file reads and an evaluation; on a
/// 10,000-image stack spreading them over the cores roughly divides the load time by their
/// number. Small stacks stay on one thread, where starting threads would cost more than it saves.
fn in_parallel<J: Send, T: Send>(jobs: Vec<J>, f: impl Fn(J) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || jobs.len() < 256 {
        return jobs.into_iter().map(f).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<J>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        chunks.push(jobs.by_ref().take(chunk).collect());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn reference(config: &Config, names: &[&'static str]) -> Result<Option<Reference>, StackError> {
    let Some((variable, var)) = config.latest_of(names) else {
        return Ok(None);
    };
    let value = var.value.as_str();
    let id = value
        .parse::<ImageId>()
        .map_err(|e| StackError::InvalidReference {
            origin: var.origin.clone(),
            variable,
            value: value.to_owned(),
            reason: e.reason,
        })?;
    Ok(Some(Reference {
        id,
        variable,
        origin: var.origin.clone(),
    }))
}

/// A path from a config value: relative ones are relative to the file that set them.
pub fn config_path(config: &Config, name: &str) -> Option<(PathBuf, gbb_config::Origin)> {
    let var = config.non_empty(name)?;
    let path = PathBuf::from(var.value.as_str());
    let path = if path.is_relative() {
        var.origin
            .path
            .parent()
            .map_or(path.clone(), |dir| dir.join(&path))
    } else {
        path
    };
    Some((path, var.origin.clone()))
}

fn load_definition(
    namespace: &Namespace,
    defaults: &Parsed,
    kind: Kind,
    name: &str,
    dir: PathBuf,
    env: &Environment,
) -> Result<Definition, StackError> {
    let id = ImageId::new(&namespace.name, name).map_err(|source| StackError::InvalidName {
        path: dir.clone(),
        what: kind.as_str(),
        source,
    })?;
    let conf_path = dir.join("build.conf");
    let text = match std::fs::read(&conf_path) {
        Ok(bytes) => gbb_config::decode(&conf_path, bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StackError::MissingBuildConf {
                dir,
                what: kind.as_str(),
            });
        }
        Err(e) => return Err(io_error(&conf_path)(e)),
    };
    let script = parse(&conf_path, &text)?;
    let own = namespace.config.eval(&conf_path, &text, &script, env)?;
    // Decided before the defaults layer goes on top: whether the builder's own file sets a
    // stage3.
    let own_stage3 = ["STAGE3_FILE", "STAGE3_BASE"]
        .iter()
        .any(|name| own.assigned_in_last_layer(name) && own.non_empty(name).is_some());
    let config = own.eval(&defaults.path, &defaults.text, &defaults.script, env)?;

    let script_path = dir.join("build.sh");
    let build_script = match std::fs::read_to_string(&script_path) {
        Ok(text) => BuildScript::scan(&script_path, &text, &config, env)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => BuildScript::default(),
        Err(e) => return Err(io_error(&script_path)(e)),
    };

    let tag = crate::tag::image_tag(&config, &own, env)?;
    let settings = BuildSettings::read(&config, &own)?;
    let mut definition = Definition {
        id,
        kind,
        engine: ContainerEngine::from_config(&config),
        dir,
        tag,
        parent: None,
        builder: None,
        default_builder: None,
        base: BuilderBase::NotABuilder,
        script: build_script,
        settings,
        config,
    };
    let config = &definition.config;
    match kind {
        Kind::Image => {
            definition.parent = match config.non_empty("IMAGE_PARENT") {
                Some(var) if var.value.as_str() == "scratch" => None,
                Some(_) => reference(config, &["IMAGE_PARENT"])?,
                None => None,
            };
            definition.builder = reference(config, &["BUILDER"])?;
            definition.default_builder =
                reference(config, &["DEFAULT_BUILDER", "DEF_BUILD_CONTAINER"])?;
        }
        Kind::Builder => {
            // A builder's own stage3 wins over BUILDER (kubler: "overrides BUILDER if
            // defined"); a stage3 set only globally (the seed's style) applies when the builder
            // names no BUILDER.
            let builder = reference(config, &["BUILDER"])?;
            let has_stage3 = config.non_empty("STAGE3_FILE").is_some()
                || config.non_empty("STAGE3_BASE").is_some();
            definition.base = if own_stage3 || (builder.is_none() && has_stage3) {
                core_input(config)
            } else if let Some(builder) = builder {
                BuilderBase::Builder(builder)
            } else {
                BuilderBase::Missing
            };
        }
    }
    Ok(definition)
}

fn core_input(config: &Config) -> BuilderBase {
    let (stage3, origin) = if let Some((path, origin)) = config_path(config, "STAGE3_FILE") {
        (Stage3::File { path }, origin)
    } else {
        let Some(var) = config.non_empty("STAGE3_BASE") else {
            return BuilderBase::Missing;
        };
        (
            Stage3::Release {
                base: var.value.as_str().to_owned(),
                date: config
                    .non_empty("STAGE3_DATE")
                    .map(|v| v.value.as_str().to_owned()),
                arch: config.value("ARCH").unwrap_or("amd64").to_owned(),
                mirrors: config
                    .get("MIRROR")
                    .map(|var| {
                        var.value
                            .items()
                            .iter()
                            .flat_map(|item| item.split_whitespace())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            var.origin.clone(),
        )
    };
    let portage = if let Some((path, _)) = config_path(config, "PORTAGE_DIR") {
        PortageTree::Dir { path }
    } else {
        PortageTree::Snapshot {
            url: config
                .non_empty("PORTAGE_URL")
                .map(|v| v.value.as_str().to_owned()),
            date: config
                .non_empty("PORTAGE_DATE")
                .map_or("latest", |v| v.value.as_str())
                .to_owned(),
        }
    };
    BuilderBase::Core {
        input: CoreInput { stage3, portage },
        origin,
    }
}
