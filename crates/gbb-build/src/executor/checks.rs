//! The checks a new image passes before its tags move: the image folder's `build-test.sh`,
//! run inside the image, and `POST_BUILD_HC`, which starts the image and waits for its
//! HEALTHCHECK.

use std::time::{Duration, Instant};

use gbb_engine::{ContainerSpec, ImageRef, Mount, NetworkNeed};
use gbb_stack::Definition;

use super::Build;
use super::container::absolute;
use crate::BuildError;
use crate::labels::container_labels;

impl Build<'_> {
    /// Runs the image folder's `build-test.sh` inside the new image.
    pub(super) fn build_test(
        &self,
        definition: &Definition,
        image: &ImageRef,
    ) -> Result<(), BuildError> {
        let id = definition.id.to_string();
        let spec = ContainerSpec {
            image: image.to_string(),
            entrypoint: Some(vec!["/bin/sh".to_owned()]),
            cmd: vec!["/gbb-test/build-test.sh".to_owned()],
            mounts: vec![Mount {
                source: absolute(&definition.dir)?,
                target: "/gbb-test".to_owned(),
                read_only: true,
            }],
            labels: container_labels(&self.prepared.stack_identity, &id),
            network: NetworkNeed::Loopback,
            ..ContainerSpec::default()
        };
        let log_path = self.options.paths.log(&format!("{id}.test"));
        let container = self
            .run_container(&id, &spec, &log_path)
            .map_err(|e| e.named_step("build-test.sh"))?;
        self.remove(&id, &container, "the test container")
    }

    /// `POST_BUILD_HC=true`: starts the new image and waits for its HEALTHCHECK to pass,
    /// at most `max_duration` (`POST_BUILD_HC_MAX_DURATION`, checked when the stack was read).
    pub(super) fn health_check(
        &self,
        definition: &Definition,
        image: &ImageRef,
        max_duration: Duration,
    ) -> Result<(), BuildError> {
        let id = definition.id.to_string();
        let limit = max_duration.as_secs();
        self.reporter.started(
            &id,
            &format!("waiting for its HEALTHCHECK (at most {limit} s)"),
        );
        let spec = ContainerSpec {
            image: image.to_string(),
            labels: container_labels(&self.prepared.stack_identity, &id),
            network: NetworkNeed::Loopback,
            ..ContainerSpec::default()
        };
        let container = self
            .engine
            .create_container(&spec)
            .map_err(BuildError::engine(format!(
                "{id}: creating the health check container"
            )))?;
        self.registry.add(&container);
        let started = Instant::now();
        let outcome = (|| {
            self.engine
                .start_container(&container)
                .map_err(BuildError::engine(format!(
                    "{id}: starting the health check container"
                )))?;
            loop {
                if self.registry.interrupted() {
                    return Err(BuildError::Interrupted);
                }
                let status =
                    self.engine
                        .container_health(&container)
                        .map_err(BuildError::engine(format!(
                            "{id}: reading the health status"
                        )))?;
                let failed = |reason: String| {
                    Err(BuildError::HealthCheckFailed {
                        id: id.clone(),
                        reason,
                    })
                };
                match status.as_deref() {
                    Some("healthy") => return Ok(()),
                    Some("unhealthy") => {
                        return failed("its HEALTHCHECK reported `unhealthy`".to_owned());
                    }
                    Some("exited") => {
                        return failed(
                            "the container exited before its HEALTHCHECK passed".to_owned(),
                        );
                    }
                    None => {
                        return failed(
                            "POST_BUILD_HC is true, but the image has no HEALTHCHECK".to_owned(),
                        );
                    }
                    Some(_) if started.elapsed() > Duration::from_secs(limit) => {
                        return failed(format!("its HEALTHCHECK did not pass within {limit} s"));
                    }
                    Some(_) => std::thread::sleep(Duration::from_millis(250)),
                }
            }
        })();
        match outcome {
            Ok(()) => {
                if !self.registry.remove(&container) {
                    return Err(BuildError::Interrupted);
                }
                self.engine
                    .remove_container(&container)
                    .map_err(BuildError::engine(format!(
                        "{id}: removing the health check container"
                    )))
            }
            Err(e) => Err(self.discard(&container, e)),
        }
    }
}
