//! Which engine a namespace (or an image) is built with: `CONTAINER_ENGINE`, old name
//! `BUILD_ENGINE`.
//!
//! Reading a stack never refuses an engine. Planning and graphs do not depend on the engine,
//! and a stack is often shared between people and machines that build only part of it (the
//! seed's own `dock/dummy` namespace names the `dummy` engine, which builds nothing). So the
//! value is kept as it was written, with where it was written, and only a build of that
//! namespace decides what to do with it: Docker and Podman build, `dummy` lists the steps it
//! would take, and a name gbb does not know is refused there, at its file and line.
//!
//! `gbb --engine docker|podman` replaces the engine of every namespace that builds (for one
//! run); `dummy` namespaces stay dry runs and unknown names stay refused
//! ([`ContainerEngine::chosen`]).

use gbb_config::{Config, Origin};

/// The variables that name the engine, the current name first.
const ENGINE_VARIABLES: [&str; 2] = ["CONTAINER_ENGINE", "BUILD_ENGINE"];

/// An engine named in a stack's config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerEngine {
    /// `docker`, and the default when nothing names an engine.
    Docker,
    /// `podman`, through its Docker-compatible API (`podman system service`).
    Podman,
    /// `dummy`: a dry run. A build lists each step it would take and runs none.
    Dummy,
    /// Any other name: planned like the others, refused when built.
    Other {
        name: String,
        /// The variable that names it (`CONTAINER_ENGINE` or `BUILD_ENGINE`).
        variable: &'static str,
        origin: Origin,
    },
}

impl ContainerEngine {
    /// The engine `config` names (the variable assigned last wins), Docker when none.
    pub fn from_config(config: &Config) -> Self {
        let Some((variable, var)) = config.latest_of(&ENGINE_VARIABLES) else {
            return Self::Docker;
        };
        match var.value.as_str() {
            "docker" => Self::Docker,
            "podman" => Self::Podman,
            "dummy" => Self::Dummy,
            other => Self::Other {
                name: other.to_owned(),
                variable,
                origin: var.origin.clone(),
            },
        }
    }

    /// The name as written in config files.
    pub fn name(&self) -> &str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Dummy => "dummy",
            Self::Other { name, .. } => name,
        }
    }

    /// Whether this engine builds images (Docker or Podman).
    pub fn builds(&self) -> bool {
        matches!(self, Self::Docker | Self::Podman)
    }

    /// The engine that builds for this setting when `--engine` chose `chosen`: the chosen
    /// one for a namespace that builds; `dummy` and unknown names as they are.
    pub fn chosen(&self, chosen: Option<&ContainerEngine>) -> ContainerEngine {
        match chosen {
            Some(chosen) if self.builds() => chosen.clone(),
            _ => self.clone(),
        }
    }

    /// Where `config` names its engine: the variable and its file position, `None` when the
    /// engine is the default.
    pub fn origin(config: &Config) -> Option<(&'static str, Origin)> {
        config
            .latest_of(&ENGINE_VARIABLES)
            .map(|(variable, var)| (variable, var.origin.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gbb_config::{Environment, parse};

    use super::*;

    fn engine_of(text: &str) -> ContainerEngine {
        let path = Path::new("ns/build.conf");
        let script = parse(path, text).unwrap();
        let config = Config::new()
            .eval(path, text, &script, &Environment::default())
            .unwrap();
        ContainerEngine::from_config(&config)
    }

    #[test]
    fn known_names_and_the_default() {
        assert_eq!(engine_of(""), ContainerEngine::Docker);
        assert_eq!(
            engine_of("CONTAINER_ENGINE=docker"),
            ContainerEngine::Docker
        );
        assert_eq!(engine_of("BUILD_ENGINE=podman"), ContainerEngine::Podman);
        assert_eq!(
            engine_of("CONTAINER_ENGINE=\"dummy\""),
            ContainerEngine::Dummy
        );
        assert_eq!(
            engine_of("BUILD_ENGINE=docker\nCONTAINER_ENGINE=dummy"),
            ContainerEngine::Dummy
        );
    }

    #[test]
    fn a_chosen_engine_replaces_building_engines_only() {
        let podman = Some(&ContainerEngine::Podman);
        assert_eq!(
            ContainerEngine::Docker.chosen(podman),
            ContainerEngine::Podman
        );
        assert_eq!(
            ContainerEngine::Docker.chosen(None),
            ContainerEngine::Docker
        );
        assert_eq!(
            ContainerEngine::Dummy.chosen(podman),
            ContainerEngine::Dummy
        );
        assert!(matches!(
            engine_of("BUILD_ENGINE=rkt").chosen(podman),
            ContainerEngine::Other { .. }
        ));
    }

    #[test]
    fn other_names_keep_where_they_were_set() {
        let ContainerEngine::Other {
            name,
            variable,
            origin,
        } = engine_of("X=1\nBUILD_ENGINE=rkt\n")
        else {
            panic!("rkt is not a known engine");
        };
        assert_eq!((name.as_str(), variable), ("rkt", "BUILD_ENGINE"));
        assert_eq!(origin.to_string(), "ns/build.conf:2:1");
    }
}
