//! The image config: the parent's config with the template's instructions applied, in
//! Docker's way, as oci-spec types plus Docker's two extensions.

use std::collections::{BTreeSet, HashMap};

use oci_spec::image::{Config, ConfigBuilder, History, ImageConfiguration};
use serde::{Deserialize, Serialize};

use crate::canonical::value_to_canonical_json;
use crate::{Healthcheck, ImageInstructions};

/// The fields of Docker's image config that the OCI spec lacks and gbb keeps: they sit in the
/// config's `config` object beside the OCI fields, where Docker, Podman and BuildKit put them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerExtensions {
    /// `HEALTHCHECK`, inherited by children unless they set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// `ONBUILD` triggers, for the children to run (never inherited further).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
}

/// Reads Docker's extensions from a config's JSON (`{"config": {"Healthcheck": ...}}`).
pub(crate) fn read_extensions(config_json: &[u8]) -> serde_json::Result<DockerExtensions> {
    #[derive(Deserialize)]
    struct Outer {
        #[serde(default)]
        config: Option<DockerExtensions>,
    }
    let outer: Outer = serde_json::from_slice(config_json)?;
    Ok(outer.config.unwrap_or_default())
}

/// The canonical JSON of a config with Docker's extensions merged into its `config` object.
pub(crate) fn config_json(
    config: &ImageConfiguration,
    extensions: &DockerExtensions,
) -> serde_json::Result<Vec<u8>> {
    let mut value = serde_json::to_value(config)?;
    let serde_json::Value::Object(extra) = serde_json::to_value(extensions)? else {
        unreachable!("a struct serializes to an object")
    };
    if !extra.is_empty()
        && let serde_json::Value::Object(outer) = &mut value
    {
        let inner = outer
            .entry("config")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(inner) = inner {
            inner.extend(extra);
        }
    }
    value_to_canonical_json(value)
}

/// The execution config of a child: the parent's (`None` for `FROM scratch`) with the
/// instructions applied as Docker applies them.
pub(crate) fn apply_instructions(
    parent: Option<&Config>,
    instructions: &ImageInstructions,
) -> Config {
    let parent = parent.cloned().unwrap_or_default();

    let mut env: Vec<String> = parent.env().clone().unwrap_or_default();
    for (name, value) in &instructions.env {
        let line = format!("{name}={value}");
        let same_name = |existing: &String| existing.split_once('=').map(|(n, _)| n) == Some(name);
        match env.iter_mut().find(|existing| same_name(existing)) {
            Some(existing) => *existing = line,
            None => env.push(line),
        }
    }

    let entrypoint = instructions
        .entrypoint
        .clone()
        .or_else(|| parent.entrypoint().clone());
    let cmd = match (&instructions.cmd, &instructions.entrypoint) {
        (Some(cmd), _) => Some(cmd.clone()),
        // Docker: "If CMD is defined from the base image, setting ENTRYPOINT will reset CMD
        // to an empty value."
        (None, Some(_)) => None,
        (None, None) => parent.cmd().clone(),
    };

    let working_dir = match &instructions.working_dir {
        Some(dir) if dir.starts_with('/') => Some(dir.clone()),
        Some(dir) => {
            let base = parent
                .working_dir()
                .clone()
                .unwrap_or_else(|| "/".to_owned());
            Some(format!("{}/{dir}", base.trim_end_matches('/')))
        }
        None => parent.working_dir().clone(),
    };

    let ports: BTreeSet<String> = parent
        .exposed_ports()
        .iter()
        .flatten()
        .cloned()
        .chain(instructions.exposed_ports.iter().map(|p| {
            if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            }
        }))
        .collect();
    let volumes: BTreeSet<String> = parent
        .volumes()
        .iter()
        .flatten()
        .chain(&instructions.volumes)
        .cloned()
        .collect();
    let mut labels: HashMap<String, String> = parent.labels().clone().unwrap_or_default();
    labels.extend(instructions.labels.clone());

    let mut builder = ConfigBuilder::default();
    if let Some(user) = instructions.user.clone().or_else(|| parent.user().clone()) {
        builder = builder.user(user);
    }
    if !ports.is_empty() {
        builder = builder.exposed_ports(ports.into_iter().collect::<Vec<_>>());
    }
    if !env.is_empty() {
        builder = builder.env(env);
    }
    if let Some(entrypoint) = entrypoint {
        builder = builder.entrypoint(entrypoint);
    }
    if let Some(cmd) = cmd {
        builder = builder.cmd(cmd);
    }
    if !volumes.is_empty() {
        builder = builder.volumes(volumes.into_iter().collect::<Vec<_>>());
    }
    if let Some(dir) = working_dir {
        builder = builder.working_dir(dir);
    }
    if !labels.is_empty() {
        builder = builder.labels(labels);
    }
    if let Some(signal) = instructions
        .stop_signal
        .clone()
        .or_else(|| parent.stop_signal().clone())
    {
        builder = builder.stop_signal(signal);
    }
    // Every field is optional, so building cannot fail.
    builder.build().unwrap_or_default()
}

/// Docker's extensions of a child: its own health check or the parent's; its own triggers.
pub(crate) fn apply_extensions(
    parent: Option<&DockerExtensions>,
    instructions: &ImageInstructions,
) -> DockerExtensions {
    DockerExtensions {
        healthcheck: instructions
            .healthcheck
            .clone()
            .or_else(|| parent.and_then(|p| p.healthcheck.clone())),
        on_build: (!instructions.on_build.is_empty()).then(|| instructions.on_build.clone()),
    }
}

/// A history entry at the epoch.
pub(crate) fn history(created: &str, created_by: &str, empty_layer: bool) -> History {
    let mut entry = History::default();
    entry.set_created(Some(created.to_owned()));
    entry.set_created_by(Some(created_by.to_owned()));
    if empty_layer {
        entry.set_empty_layer(Some(true));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> Config {
        ConfigBuilder::default()
            .env(vec!["PATH=/bin".to_owned(), "LANG=C".to_owned()])
            .cmd(vec!["/bin/sh".to_owned()])
            .working_dir("/srv")
            .exposed_ports(vec!["80/tcp".to_owned()])
            .build()
            .unwrap()
    }

    #[test]
    fn instructions_apply_over_the_parent_as_in_docker() {
        let instructions = ImageInstructions {
            env: vec![("LANG".into(), "C.UTF-8".into()), ("A".into(), "1".into())],
            entrypoint: Some(vec!["/init".into()]),
            working_dir: Some("app".into()),
            exposed_ports: vec!["443".into()],
            ..Default::default()
        };
        let config = apply_instructions(Some(&parent()), &instructions);
        assert_eq!(
            config.env().as_deref(),
            Some(&["PATH=/bin".to_owned(), "LANG=C.UTF-8".into(), "A=1".into()][..])
        );
        assert_eq!(config.cmd(), &None, "ENTRYPOINT clears an inherited CMD");
        assert_eq!(config.working_dir().as_deref(), Some("/srv/app"));
        assert_eq!(
            config.exposed_ports().as_deref(),
            Some(&["443/tcp".to_owned(), "80/tcp".into()][..])
        );
    }

    #[test]
    fn nothing_set_keeps_the_parent() {
        let config = apply_instructions(Some(&parent()), &ImageInstructions::default());
        assert_eq!(config, parent());
    }

    #[test]
    fn extensions_round_trip_through_the_config() {
        let extensions = DockerExtensions {
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "/bin/true".into()],
                interval: Some(std::time::Duration::from_secs(30)),
                retries: Some(3),
                ..Default::default()
            }),
            on_build: Some(vec!["RUN true".into()]),
        };
        let config = ImageConfiguration::default();
        let json = config_json(&config, &extensions).unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(
            text.contains(
                r#""Healthcheck":{"Interval":30000000000,"Retries":3,"Test":["CMD","/bin/true"]}"#
            ),
            "{text}"
        );
        assert_eq!(read_extensions(&json).unwrap(), extensions);
    }
}
