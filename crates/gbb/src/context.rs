//! What every command shares, resolved once from the arguments and the environment: where
//! the stack is, how it is loaded, the cache folder, the keyring, the engine connection and
//! the build options. Commands take it and call the library; none imports another.

use std::path::PathBuf;
use std::time::Instant;

use gbb_build::{BuildOptions, Force, GentooInputs, Paths};
use gbb_config::Environment;
use gbb_engine::Docker;
use gbb_plan::BuildPlan;
use gbb_stack::{ContainerEngine, LoadOptions, Stack};

use crate::printer::Printer;

/// Settings every command shares, resolved once from arguments and the environment.
pub(crate) struct Context {
    /// Where to look for the stack.
    pub(crate) start: PathBuf,
    pub(crate) options: LoadOptions,
    /// `--engine`: the engine every namespace that builds is built on, for this run.
    pub(crate) chosen_engine: Option<ContainerEngine>,
}

impl Context {
    pub(crate) fn new(
        working_dir: Option<PathBuf>,
        engine: Option<crate::cli::EngineChoice>,
    ) -> Self {
        Self {
            start: working_dir.unwrap_or_else(|| PathBuf::from(".")),
            options: LoadOptions::from_env(Environment::capture()),
            chosen_engine: engine.map(|engine| match engine {
                crate::cli::EngineChoice::Docker => ContainerEngine::Docker,
                crate::cli::EngineChoice::Podman => ContainerEngine::Podman,
            }),
        }
    }

    /// Reads the stack, saying how long it took under `-v`.
    pub(crate) fn load(&self, printer: &Printer) -> anyhow::Result<Stack> {
        let started = Instant::now();
        let stack = Stack::discover(&self.start, &self.options)?;
        printer.verbose(&format!(
            "read {} ({} layout): {} namespaces, {} images and builders in {:.1?}",
            stack.root.display(),
            stack.layout.as_str(),
            stack.namespaces.len(),
            stack.definitions().len(),
            started.elapsed()
        ));
        Ok(stack)
    }

    /// Where the build's files go: the stack's `.gbb` and the shared cache.
    pub(crate) fn paths(&self, stack: &Stack) -> Paths {
        Paths::new(&stack.root, &self.cache_dir())
    }

    /// A connection to `engine` (Docker or Podman): Docker at `DOCKER_HOST`, or its default
    /// socket, over TLS with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`; Podman at `CONTAINER_HOST`, or the socket its own clients use (rootful, or
    /// the user's rootless one). No other engine builds: the plan's split refused them
    /// before anything connects.
    pub(crate) fn connect(&self, engine: &ContainerEngine) -> anyhow::Result<Docker> {
        let env = &self.options.env;
        Ok(match engine {
            ContainerEngine::Podman => Docker::connect_podman(&gbb_engine::PodmanPlaces {
                container_host: env.get("CONTAINER_HOST").map(str::to_owned),
                xdg_runtime_dir: env.get("XDG_RUNTIME_DIR").map(str::to_owned),
            })?,
            _ => Docker::connect_docker(&gbb_engine::DockerPlaces {
                host: env.get("DOCKER_HOST").map(str::to_owned),
                tls_verify: env.get("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty()),
                cert_path: env
                    .get("DOCKER_CERT_PATH")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
                home: env.get("HOME").map(PathBuf::from),
            })?,
        })
    }

    /// The engine a step of `stack` builds on (`--engine`, else its namespace's); Docker for
    /// a core, which belongs to no namespace.
    pub(crate) fn engine_of(&self, stack: &Stack, step: &gbb_plan::Step) -> ContainerEngine {
        step.definition()
            .map(|index| self.definition_engine(&stack.definitions()[index]))
            .unwrap_or(ContainerEngine::Docker)
    }

    /// The engine `definition` builds on: `--engine`, else its namespace's.
    pub(crate) fn definition_engine(&self, definition: &gbb_stack::Definition) -> ContainerEngine {
        definition.engine.chosen(self.chosen_engine.as_ref())
    }

    /// Every engine the steps of `plan` build on (`--engine`, else their namespaces'), Docker
    /// first; Docker alone when no step names one (a plan of cores).
    pub(crate) fn engines(&self, stack: &Stack, plan: &BuildPlan) -> Vec<ContainerEngine> {
        let mut engines: Vec<ContainerEngine> = [ContainerEngine::Docker, ContainerEngine::Podman]
            .into_iter()
            .filter(|engine| {
                plan.steps
                    .iter()
                    .any(|s| s.definition().is_some() && self.engine_of(stack, s) == *engine)
            })
            .collect();
        if engines.is_empty() {
            engines.push(ContainerEngine::Docker);
        }
        engines
    }

    /// The one engine a plan on one engine is looked at on (`plan --status`): `--engine`,
    /// else the engine its namespaces build on. A plan over namespaces on Docker and on Podman
    /// is refused with the namespaces named: a caller that can take such a plan cuts it with
    /// `gbb_build::by_engine` and connects to each engine instead.
    pub(crate) fn engine(&self, stack: &Stack, plan: &BuildPlan) -> anyhow::Result<Docker> {
        let mut engines: Vec<(ContainerEngine, String)> = Vec::new();
        for step in &plan.steps {
            let Some(index) = step.definition() else {
                continue;
            };
            let engine = self.engine_of(stack, step);
            if engine.builds() && !engines.iter().any(|(e, _)| *e == engine) {
                engines.push((engine, stack.definitions()[index].id.to_string()));
            }
        }
        match engines.as_slice() {
            [] => self.connect(&ContainerEngine::Docker),
            [(engine, _)] => self.connect(engine),
            [(first, a), (second, b), ..] => anyhow::bail!(
                "`{a}` is built on {} and `{b}` on {}: name the ids of one engine, or pass `gbb --engine {}` (or `{}`)",
                first.name(),
                second.name(),
                first.name(),
                second.name()
            ),
        }
    }

    /// The build options every command that runs containers uses; `force`, `jobs` and
    /// `fail_fast` are `gbb build`'s own.
    pub(crate) fn build_options(
        &self,
        stack: &Stack,
        plan: &BuildPlan,
        skip_signatures: bool,
        printer: &Printer,
    ) -> anyhow::Result<BuildOptions> {
        Ok(BuildOptions {
            gentoo: GentooInputs {
                keyring: self.keyring(stack, printer, !skip_signatures && downloads(plan))?,
                skip_signatures,
            },
            force: Force::Nothing,
            jobs: 1,
            fail_fast: false,
            paths: self.paths(stack),
            source_date_epoch: self.source_date_epoch()?,
        })
    }

    /// `SOURCE_DATE_EPOCH` (seconds since 1970), the time every file and config of an image
    /// gets; 0 when unset or empty. Anything else is refused rather than read as 0: a typo
    /// would silently give other digests than the user asked for.
    fn source_date_epoch(&self) -> anyhow::Result<u64> {
        match self.options.env.get("SOURCE_DATE_EPOCH") {
            None | Some("") => Ok(0),
            Some(value) => value.parse().map_err(|_| {
                anyhow::anyhow!(
                    "SOURCE_DATE_EPOCH is `{value}`: give whole seconds since 1970 (e.g. `$(git log -1 --format=%ct)`), or unset it for 0"
                )
            }),
        }
    }

    /// The shared cache: `GBB_CACHE_DIR`, else `$XDG_CACHE_HOME/gbb`, else `~/.cache/gbb`.
    pub(crate) fn cache_dir(&self) -> PathBuf {
        let env = &self.options.env;
        if let Some(dir) = env.get("GBB_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = env.get("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("gbb");
        }
        PathBuf::from(env.get("HOME").unwrap_or("/root"))
            .join(".cache")
            .join("gbb")
    }

    /// The keys stage3 downloads must be signed with: the file `GENTOO_KEYRING` names, from the
    /// environment or the stack's config (relative to the file that sets it); else, when `needed`
    /// (something is downloaded and `-s` is not given), Gentoo's release key, fetched on first use
    /// and pinned by fingerprint ([`release_key`]).
    pub(crate) fn keyring(
        &self,
        stack: &gbb_stack::Stack,
        printer: &Printer,
        needed: bool,
    ) -> anyhow::Result<Option<gbb_gentoo::Keyring>> {
        let from_env = self
            .options
            .env
            .get("GENTOO_KEYRING")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let from_config = || {
            stack.namespaces.iter().find_map(|ns| {
                gbb_stack::config_path(&ns.config, "GENTOO_KEYRING").map(|(path, _)| path)
            })
        };
        let Some(path) = from_env.or_else(from_config) else {
            return if needed {
                self.release_key(printer).map(Some)
            } else {
                Ok(None)
            };
        };
        let data = std::fs::read(&path)
            .map_err(|e| anyhow::anyhow!("cannot read GENTOO_KEYRING `{}`: {e}", path.display()))?;
        // Armored or binary (`gpg --export` without `--armor`).
        let keyring = gbb_gentoo::Keyring::from_bytes(&data)
            .map_err(|e| anyhow::anyhow!("GENTOO_KEYRING `{}`: {e}", path.display()))?;
        Ok(Some(keyring))
    }

    /// Gentoo's release key from `<cache>/keys`, or fetched from Gentoo (or the URL
    /// `GBB_GENTOO_KEYS_URL` names) and accepted only with the fingerprint pinned in gbb.
    fn release_key(&self, printer: &Printer) -> anyhow::Result<gbb_gentoo::Keyring> {
        use gbb_gentoo::{KeyOrigin, ReleaseKeyRequest};
        let url = self
            .options
            .env
            .get(gbb_gentoo::KEY_URL_VARIABLE)
            .filter(|u| !u.is_empty())
            .unwrap_or(gbb_gentoo::GENTOO_KEYS_URL);
        let cache = self.cache_dir().join("keys");
        let request = ReleaseKeyRequest {
            url,
            fingerprint: gbb_gentoo::GENTOO_RELEASE_KEY,
            cache: &cache,
        };
        // Two attempts: a key server that is down should not hold the build for long.
        let downloader = gbb_gentoo::Downloader::new(2, std::time::Duration::from_secs(1));
        let (keyring, origin) = gbb_gentoo::release_keyring(&downloader, &request)?;
        match origin {
            KeyOrigin::Fetched => printer.note(&format!(
                "fetched Gentoo's release key from {url} (fingerprint checked), cached in {}",
                cache.display()
            )),
            KeyOrigin::Cache(path) => {
                printer.verbose(&format!("Gentoo's release key: {}", path.display()));
            }
            KeyOrigin::StaleCache { path, reason } => printer.note(&format!(
                "warning: using the cached release key `{}`, which could not be refreshed: {reason}",
                path.display()
            )),
        }
        Ok(keyring)
    }
}

/// Whether the plan downloads a stage3 or a portage snapshot (whose signatures need a key).
fn downloads(plan: &BuildPlan) -> bool {
    plan.steps
        .iter()
        .filter_map(|s| s.core().map(|core| &core.input))
        .any(|input| {
            matches!(input.stage3, gbb_stack::Stage3::Release { .. })
                || matches!(input.portage, gbb_stack::PortageTree::Snapshot { .. })
        })
}
