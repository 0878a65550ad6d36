//! What a template's config instructions ask of an image, as typed values.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The config instructions of a `Dockerfile.template` (everything but `FROM`, `ADD`/`COPY`,
/// `RUN` and `ARG`, which the caller carries out), already parsed and with build arguments
/// substituted. Applied over the parent image's config with Docker's rules (see
/// [`write_image`](crate::write_image)): an instruction the template does not use leaves the
/// parent's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageInstructions {
    /// `MAINTAINER` (deprecated by Docker, still used by kubler's templates): the config's
    /// `author`. Not inherited, as in Docker.
    pub author: Option<String>,
    /// `ENV`, in template order: each replaces the parent's variable of the same name (keeping
    /// its place in the list) or is appended.
    pub env: Vec<(String, String)>,
    /// `CMD`, exec form (a shell form is `["/bin/sh", "-c", "..."]`, made by the caller).
    pub cmd: Option<Vec<String>>,
    /// `ENTRYPOINT`, exec form. Setting it clears a `CMD` inherited from the parent, as
    /// Docker does.
    pub entrypoint: Option<Vec<String>>,
    /// `USER`.
    pub user: Option<String>,
    /// `WORKDIR`; a relative path is taken from the parent's working folder, as Docker does.
    pub working_dir: Option<String>,
    /// `EXPOSE` (`80/tcp`, `53/udp`; a bare port means tcp and is written as `N/tcp`), added
    /// to the parent's.
    pub exposed_ports: Vec<String>,
    /// `VOLUME`, added to the parent's.
    pub volumes: Vec<String>,
    /// `LABEL`, over the parent's.
    pub labels: BTreeMap<String, String>,
    /// `STOPSIGNAL`.
    pub stop_signal: Option<String>,
    /// `HEALTHCHECK`; `HEALTHCHECK NONE` is a test of `["NONE"]`.
    pub healthcheck: Option<Healthcheck>,
    /// `ONBUILD` triggers, as written after the keyword. Not inherited, as in Docker.
    pub on_build: Vec<String>,
}

impl ImageInstructions {
    /// Whether no instruction is set (then no history entry is written for them).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Docker's health check, as Docker writes it in an image config's `config.Healthcheck`.
///
/// Not part of the OCI image spec (oci-spec has no field for it), but Docker, Podman and
/// BuildKit all write and read it there, so gbb writes it the same way: `Test` and, when set,
/// `Interval`, `Timeout`, `StartPeriod`, `StartInterval` as nanoseconds and `Retries`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["CMD", arg...]`, `["CMD-SHELL", command]` or `["NONE"]`.
    #[serde(default)]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(default, with = "nanoseconds", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Time a check may take.
    #[serde(default, with = "nanoseconds", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Time after start during which failures do not count.
    #[serde(default, with = "nanoseconds", skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    /// Time between checks during the start period.
    #[serde(default, with = "nanoseconds", skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    /// Failures in a row that make the container unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

/// Go's `time.Duration` in JSON: an integer count of nanoseconds.
mod nanoseconds {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
                serializer.serialize_u64(nanos)
            }
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        // Docker writes 0 for "not set".
        Ok(Option::<u64>::deserialize(deserializer)?
            .filter(|&n| n != 0)
            .map(Duration::from_nanos))
    }
}
