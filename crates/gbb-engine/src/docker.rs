//! The Docker engine, over its HTTP API; Podman through the same client (its differences are
//! listed in `podman.rs` and handled behind `Dialect::Podman` branches here).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use bollard::models::{
    ChangeType, ContainerConfig, ContainerCreateBody, HostConfig, Mount as DockerMount, MountType,
};
use bollard::query_parameters::{
    BuildImageOptions, CommitContainerOptions, CreateContainerOptions, CreateImageOptions,
    ListContainersOptions, LogsOptions, RemoveContainerOptions, RemoveImageOptions,
    TagImageOptions, WaitContainerOptions,
};
use futures_util::{StreamExt, TryStreamExt};

use crate::podman::{Dialect, HealthConfig, HealthProbe};
use crate::{
    BuildRequest, ChangeKind, ContainerInfo, ContainerSpec, Engine, EngineError, FileChange,
    ImageInfo, ImageRef, ListedImage,
};

/// An engine that speaks the Docker Engine API: Docker at `DOCKER_HOST` (or the local
/// socket), or Podman's service ([`Docker::connect_podman`]).
pub struct Docker {
    pub(crate) client: bollard::Docker,
    /// Docker or Podman: where their answers differ, gbb follows the engine's.
    pub(crate) dialect: Dialect,
    /// Podman only: the health checks gbb runs itself (see `podman.rs`), by container id.
    health: Mutex<HashMap<String, HealthProbe>>,
    /// Whether the engine is on another machine (not a Unix socket): mounts are shipped in
    /// volumes instead of bind-mounted (`remote.rs`).
    pub(crate) remote: bool,
    /// Remote engines: the mounts of each created container, to copy back once it ended.
    pub(crate) shipped: Mutex<HashMap<String, Vec<crate::remote::Shipped>>>,
    pub(crate) runtime: tokio::runtime::Runtime,
    /// The engine's address as the user gave it (an `ssh://` URL for an engine behind ssh).
    pub(crate) host: String,
    /// Podman only: whether the service runs rootless, asked when the first container is
    /// made; it decides containers' network mode (`rootless.rs`).
    pub(crate) rootless: std::sync::OnceLock<bool>,
    /// The engine's version, asked for when first described (Podman answers `/version` in
    /// about 0.6 s, as it runs its runtimes to say theirs).
    version: std::sync::OnceLock<String>,
    api_version: String,
    /// Fired by [`Engine::cancel`]; image builds and imports end when it fires.
    cancel: tokio_util::sync::CancellationToken,
    /// The cancellable operations running now (a name may run twice at once, hence counts).
    running: Mutex<BTreeMap<String, usize>>,
    /// How a running call checks that the engine still answers (`watchdog.rs`).
    pub(crate) watchdog: crate::watchdog::Watchdog,
    /// An engine behind ssh: the ssh process forwarding its socket, ended when this engine is
    /// dropped (`ssh.rs`). Last, so the client goes before the forward it talks through.
    pub(crate) tunnel: Option<crate::ssh::Tunnel>,
}

/// Lists an operation in [`Docker::running`] while it lives.
struct Running<'a> {
    running: &'a Mutex<BTreeMap<String, usize>>,
    operation: String,
}

impl<'a> Running<'a> {
    fn new(running: &'a Mutex<BTreeMap<String, usize>>, operation: &str) -> Self {
        *lock(running).entry(operation.to_owned()).or_default() += 1;
        Self {
            running,
            operation: operation.to_owned(),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut running = lock(self.running);
        if let Some(count) = running.get_mut(&self.operation) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.operation);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The map stays right when a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The listing filter for `label` (`key` or `key=value`).
fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![label.to_owned()])])
}

fn api(operation: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let operation = operation.into();
    move |e| EngineError::Api {
        operation,
        message: engine_message(match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message,
            other => other.to_string(),
        }),
    }
}

/// The engine's message, or one line saying what it means when its cause is known (Podman's
/// default ulimits, see `podman.rs`).
/// The error a streamed answer (an import, a load, a build, a push) carries, as the failure
/// of `operation`; `Ok` when it carries none.
fn streamed(
    operation: &str,
    detail: Option<bollard::models::ErrorDetail>,
) -> Result<(), EngineError> {
    match detail {
        Some(detail) => Err(EngineError::Api {
            operation: operation.to_owned(),
            message: engine_message(detail.message.unwrap_or_default()),
        }),
        None => Ok(()),
    }
}

fn engine_message(message: String) -> String {
    crate::podman::explain(&message).unwrap_or(message)
}

/// A file as a stream of chunks, for request bodies: stage3 tarballs and build contexts can be
/// hundreds of megabytes, so they are never read into memory whole.
async fn file_stream(
    path: &Path,
) -> Result<tokio_util::io::ReaderStream<tokio::fs::File>, EngineError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|source| EngineError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20))
}

impl Docker {
    /// Connects to `host` (a `DOCKER_HOST` value such as `unix:///run/docker.sock` or
    /// `tcp://host:2375`), or to the local default socket, and agrees on an API version: the
    /// engine may be older than the client (Debian 12's Docker speaks API 1.41).
    pub fn connect(host: Option<&str>) -> Result<Self, EngineError> {
        Self::connect_docker(&crate::DockerPlaces {
            host: host.map(str::to_owned),
            ..Default::default()
        })
    }

    /// Connects to Docker as the `docker` command does: `DOCKER_HOST` (or the local socket),
    /// over TLS with the client's certificate when `DOCKER_TLS_VERIFY` is set (see
    /// `remote.rs`), through ssh for an `ssh://` host (`ssh.rs`).
    pub fn connect_docker(places: &crate::DockerPlaces) -> Result<Self, EngineError> {
        let host = places
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("unix:///var/run/docker.sock");
        Self::connect_as(host, Dialect::Docker, places.tls())
    }

    /// Connects to the engine at `host`, which speaks `dialect`, over TLS with `tls`.
    pub(crate) fn connect_as(
        host: &str,
        dialect: Dialect,
        tls: Option<crate::remote::TlsFiles>,
    ) -> Result<Self, EngineError> {
        if host.starts_with("ssh://") {
            return Self::connect_over_ssh(host, dialect);
        }
        let host = host.to_owned();
        let unreachable = |cause: String| EngineError::Unreachable {
            host: host.clone(),
            cause,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        let client = match &tls {
            Some(tls) => bollard::Docker::connect_with_ssl(
                &host,
                &tls.key,
                &tls.cert,
                &tls.ca,
                120,
                bollard::API_DEFAULT_VERSION,
            ),
            // Podman serves version 1.41 of the API; asking it (`/version`) costs 0.6 s.
            None if dialect == Dialect::Podman && host.starts_with("unix://") => {
                bollard::Docker::connect_with_unix(&host, 120, &crate::podman::API_VERSION)
            }
            None if dialect == Dialect::Podman => {
                bollard::Docker::connect_with_http(&host, 120, &crate::podman::API_VERSION)
            }
            None => bollard::Docker::connect_with_host(&host),
        }
        .map_err(|e| unreachable(e.to_string()))?
        .with_timeout(std::time::Duration::from_secs(3600));
        let version = std::sync::OnceLock::new();
        let client = runtime.block_on(async {
            let ping = tokio::time::timeout(std::time::Duration::from_secs(10), client.ping())
                .await
                .map_err(|_| unreachable("no answer within 10 s".to_owned()))?;
            ping.map_err(|e| unreachable(short_cause(&e)))?;
            Ok::<_, EngineError>(match dialect {
                Dialect::Docker => {
                    let client = client
                        .negotiate_version()
                        .await
                        .map_err(|e| unreachable(short_cause(&e)))?;
                    let answer = client
                        .version()
                        .await
                        .map_err(|e| unreachable(short_cause(&e)))?;
                    let _ = version.set(answer.version.unwrap_or_else(|| "?".to_owned()));
                    client
                }
                Dialect::Podman => client.with_request_modifier(crate::podman::adapt_request),
            })
        })?;
        Ok(Self {
            api_version: client.client_version().to_string(),
            client,
            dialect,
            health: Mutex::new(HashMap::new()),
            remote: crate::remote::is_remote(&host),
            shipped: Mutex::new(HashMap::new()),
            runtime,
            host,
            rootless: std::sync::OnceLock::new(),
            version,
            cancel: tokio_util::sync::CancellationToken::new(),
            running: Mutex::new(BTreeMap::new()),
            watchdog: crate::watchdog::Watchdog::default(),
            tunnel: None,
        })
    }

    /// Connects to the engine behind the `ssh://` URL `host` through a forward of its socket
    /// (`ssh.rs`). The engine is on another machine, so mounts are shipped (`remote.rs`).
    fn connect_over_ssh(host: &str, dialect: Dialect) -> Result<Self, EngineError> {
        let default_socket = match dialect {
            Dialect::Docker => "/var/run/docker.sock",
            Dialect::Podman => crate::ROOTFUL_SOCKET.trim_start_matches("unix://"),
        };
        let target = crate::ssh::SshTarget::parse(host, default_socket)?;
        let mut tunnel = crate::ssh::Tunnel::open(host, &target)?;
        match Self::connect_as(&tunnel.local_host(), dialect, None) {
            Ok(mut engine) => {
                engine.host = host.to_owned();
                engine.remote = true;
                engine.tunnel = Some(tunnel);
                Ok(engine)
            }
            Err(EngineError::Unreachable { cause, .. }) => {
                Err(tunnel.explain(host, &target, &cause))
            }
            Err(other) => Err(other),
        }
    }
}

impl Docker {
    /// Runs `work` until it ends or [`Engine::cancel`] fires. On cancel, `work` is dropped with
    /// its HTTP request: the engine sees the connection close and stops the operation itself
    /// (the classic builder kills and removes the `RUN` container it was waiting on; an import
    /// drops the half-read upload). That is the only way the Engine API offers to stop a
    /// classic build, which has no id to cancel by.
    async fn cancellable<T>(
        &self,
        operation: &str,
        work: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        let _running = Running::new(&self.running, operation);
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(EngineError::Cancelled {
                operation: operation.to_owned(),
            }),
            result = self.watched(operation, work) => result,
        }
    }

    /// Runs `work` on the engine's runtime, watched ([`Docker::watched`]).
    fn on_engine<T>(
        &self,
        operation: &str,
        work: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        self.runtime.block_on(self.watched(operation, work))
    }

    /// Runs `work` until it ends or the engine stops answering pings (`watchdog.rs`); a
    /// failure of an engine behind ssh whose ssh has ended says so ([`Docker::ssh_ended`]).
    async fn watched<T>(
        &self,
        operation: &str,
        work: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        let result = tokio::select! {
            result = work => result,
            error = self.watchdog.stopped_answering(&self.client, &self.host, operation) => {
                Err(error)
            }
        };
        result.map_err(|error| self.ssh_ended(operation).unwrap_or(error))
    }

    /// When the engine is behind ssh and ssh has ended: the error that says so, in place of
    /// the refused or closed connection the client saw.
    fn ssh_ended(&self, operation: &str) -> Option<EngineError> {
        let cause = self.tunnel.as_ref()?.ended()?;
        Some(EngineError::SshEnded {
            host: self.host.clone(),
            operation: operation.to_owned(),
            cause,
        })
    }

    /// Waits for a container to end and returns its exit code.
    async fn exit_code(&self, id: &str) -> Result<i64, EngineError> {
        let waited: Vec<_> = self
            .client
            .wait_container(id, None::<WaitContainerOptions>)
            .map(|r| match r {
                // bollard reports a non-zero exit as an error carrying the code.
                Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => Ok(code),
                Ok(response) => Ok(response.status_code),
                Err(e) => Err(e),
            })
            .try_collect()
            .await
            .map_err(api(format!("waiting for `{id}`")))?;
        Ok(waited.last().copied().unwrap_or(-1))
    }

    /// A listing (or an inspection), asked again when Podman lost a race: its listings fail
    /// ("image not known", "no such container") when an object goes while they are made,
    /// which another build on the same engine does at any time, and a container Podman has
    /// not cleaned up yet after it ended is in a state (`stopped`) the Docker API does not
    /// have, which bollard refuses; it becomes `exited` within moments. Docker's answers do
    /// not fail that way.
    async fn listed<T, F>(&self, list: impl Fn() -> F) -> Result<T, bollard::errors::Error>
    where
        F: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        let mut attempts = 0;
        loop {
            let result = list().await;
            let again = match &result {
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code,
                    message,
                }) => *status_code != 404 && crate::podman::lost_race(message),
                Err(other) => crate::podman::not_cleaned_up(&other.to_string()),
                Ok(_) => false,
            };
            if !again || self.dialect != Dialect::Podman || attempts >= 40 {
                return result;
            }
            attempts += 1;
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// Podman: the container's health as gbb's own run of its HEALTHCHECK says (see
    /// `podman.rs`): `exited` once it stopped, `None` without a check.
    fn podman_health(&self, id: &str) -> Result<Option<String>, EngineError> {
        let inspected = self.on_engine(&format!("inspecting container `{id}`"), async {
            Ok(self
                .client
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await)
        })?;
        let container = match inspected {
            Ok(container) => container,
            // Podman names an ended container's state `stopped`, which is not one of the
            // Docker API's states (bollard refuses it): the container has ended.
            Err(e) if crate::podman::not_cleaned_up(&e.to_string()) => {
                lock(&self.health).remove(id);
                return Ok(Some("exited".to_owned()));
            }
            Err(e) => return Err(api(format!("inspecting container `{id}`"))(e)),
        };
        if container.state.and_then(|s| s.running) != Some(true) {
            lock(&self.health).remove(id);
            return Ok(Some("exited".to_owned()));
        }
        let Some(check) = container
            .config
            .and_then(|c| c.healthcheck)
            .and_then(|c| HealthConfig::from_api(&c))
        else {
            return Ok(None);
        };
        let now = std::time::Instant::now();
        let due = {
            let mut health = lock(&self.health);
            let probe = health
                .entry(id.to_owned())
                .or_insert_with(|| HealthProbe::new(check, now));
            probe.due(now).then(|| probe.config.clone())
        };
        if let Some(check) = due {
            let passed = self.probe(id, &check)?;
            if let Some(probe) = lock(&self.health).get_mut(id) {
                probe.record(passed, std::time::Instant::now());
            }
        }
        Ok(lock(&self.health).get(id).map(|p| p.status().to_owned()))
    }

    /// Runs a health check command in container `id` through exec; whether it ended with 0
    /// within its timeout. Attached, not detached: Podman 4.3 reports a detached exec as
    /// running long after it ended, while an attached one's output ends when it does.
    fn probe(&self, id: &str, check: &HealthConfig) -> Result<bool, EngineError> {
        let operation = format!("running the HEALTHCHECK of `{id}`");
        self.on_engine(&operation, async {
            let exec = self
                .client
                .create_exec(
                    id,
                    bollard::models::ExecConfig {
                        cmd: Some(check.command()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(api(operation.clone()))?;
            let run = async {
                let started = self
                    .client
                    .start_exec(&exec.id, None::<bollard::exec::StartExecOptions>)
                    .await
                    .map_err(api(operation.clone()))?;
                if let bollard::exec::StartExecResults::Attached { mut output, .. } = started {
                    while output.next().await.is_some() {}
                }
                let state = self
                    .client
                    .inspect_exec(&exec.id)
                    .await
                    .map_err(api(operation.clone()))?;
                Ok::<_, EngineError>(state.exit_code == Some(0))
            };
            match tokio::time::timeout(check.timeout, run).await {
                Ok(passed) => passed,
                Err(_) => Ok(false),
            }
        })
    }

    /// A call that writes or removes image layers, made again when Podman lost a layer to a
    /// concurrent removal: see [`again_on_lost_layer`].
    fn again_on_lost_layer<T>(
        &self,
        call: impl FnMut() -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        again_on_lost_layer(self.dialect, std::time::Duration::from_millis(250), call)
    }

    /// `DELETE /images/{reference}`, with `force` or not: what [`Engine::remove_image`] and
    /// [`Engine::force_remove_image`] share.
    fn removing_image(&self, reference: &str, force: bool) -> Result<(), EngineError> {
        self.again_on_lost_layer(|| {
            self.on_engine(&format!("removing image `{reference}`"), async {
                let options = RemoveImageOptions {
                    force,
                    noprune: false,
                    ..Default::default()
                };
                match self
                    .client
                    .remove_image(reference, Some(options), None)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 404,
                        ..
                    }) => Ok(()),
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 409,
                        message,
                    }) => Err(EngineError::InUse {
                        operation: format!("removing image `{reference}`"),
                        message,
                    }),
                    Err(e) => Err(api(format!("removing image `{reference}`"))(e)),
                }
            })
        })
    }
}

/// `call`, made again (up to 4 times, `pause` apart) when Podman lost a layer to a
/// concurrent removal ("layer not known", see `podman.rs`): the call failed as a whole and
/// left nothing, and the next attempt writes the layer anew. Docker's calls do not fail that
/// way, and other errors are returned at once.
fn again_on_lost_layer<T>(
    dialect: Dialect,
    pause: std::time::Duration,
    mut call: impl FnMut() -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let mut attempts = 0;
    loop {
        let result = call();
        let lost = matches!(&result, Err(EngineError::Api { message, .. })
            if crate::podman::lost_layer(message));
        if !lost || dialect != Dialect::Podman || attempts >= 4 {
            return result;
        }
        attempts += 1;
        std::thread::sleep(pause);
    }
}

/// The innermost cause of a connection error, which is the part that says what happened
/// ("Connection refused", "No such file or directory").
fn short_cause(e: &bollard::errors::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

impl Engine for Docker {
    fn describe(&self) -> String {
        let name = match self.dialect {
            Dialect::Docker => "docker",
            Dialect::Podman => "podman",
        };
        let version = self.version.get_or_init(|| {
            self.runtime
                .block_on(self.client.version())
                .ok()
                .and_then(|v| v.version)
                .unwrap_or_else(|| "?".to_owned())
        });
        format!(
            "{name} {version} (API {}) at {}",
            self.api_version, self.host
        )
    }

    fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>, EngineError> {
        self.on_engine(&format!("inspecting image `{reference}`"), async {
            match self.listed(|| self.client.inspect_image(reference)).await {
                Ok(image) => Ok(Some(ImageInfo {
                    id: image.id.unwrap_or_default(),
                    labels: image
                        .config
                        .and_then(|c| c.labels)
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                    size: image.size.unwrap_or(0).max(0) as u64,
                })),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e) => Err(api(format!("inspecting image `{reference}`"))(e)),
            }
        })
    }

    fn import_image(&self, tarball: &Path, reference: &ImageRef) -> Result<(), EngineError> {
        let (repo, tag) = (reference.repository(), reference.tag());
        let operation = format!("importing `{}`", tarball.display());
        self.again_on_lost_layer(|| {
            self.runtime.block_on(self.cancellable(&operation, async {
                let body = bollard::body_try_stream(file_stream(tarball).await?);
                let options = match self.dialect {
                    Dialect::Docker => CreateImageOptions {
                        from_src: Some("-".to_owned()),
                        repo: Some(repo.to_owned()),
                        tag: Some(tag.to_owned()),
                        ..Default::default()
                    },
                    // Podman ignores `tag` on import; it takes the tag as part of `repo`.
                    Dialect::Podman => CreateImageOptions {
                        from_src: Some("-".to_owned()),
                        repo: Some(reference.to_string()),
                        ..Default::default()
                    },
                };
                let mut stream = self.client.create_image(Some(options), Some(body), None);
                while let Some(info) = stream.next().await {
                    let info = info.map_err(api(operation.clone()))?;
                    streamed(&operation, info.error_detail)?;
                }
                Ok(())
            }))
        })
    }

    fn build_image(
        &self,
        request: &BuildRequest,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError> {
        let first = request.tags.first().map(ToString::to_string);
        let operation = format!("building `{}`", first.as_deref().unwrap_or("image"));
        // A `RUN` of a build has the network, as `docker build` gives it.
        let networkmode = self.network_mode(crate::NetworkNeed::Outside)?;
        let id = self.runtime.block_on(self.cancellable(&operation, async {
            let body = bollard::body_try_stream(file_stream(&request.context).await?);
            let options = BuildImageOptions {
                dockerfile: request.dockerfile.clone(),
                t: first.clone(),
                rm: true,
                forcerm: true,
                networkmode,
                labels: Some(
                    request
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<HashMap<_, _>>(),
                ),
                ..Default::default()
            };
            let mut stream = self.client.build_image(options, None, Some(body));
            let mut id = None;
            while let Some(info) = stream.next().await {
                let info = info.map_err(api(operation.clone()))?;
                if let Some(text) = &info.stream {
                    for line in text.lines() {
                        log(line);
                    }
                }
                streamed(&operation, info.error_detail)?;
                if let Some(aux) = info.aux
                    && let Some(image_id) = aux.id
                {
                    id = Some(image_id);
                }
            }
            id.ok_or_else(|| EngineError::Api {
                operation: operation.clone(),
                message: "the engine reported no image id".to_owned(),
            })
        }))?;
        for tag in request.tags.iter().skip(1) {
            self.tag_image(&id, tag)?;
        }
        Ok(id)
    }

    fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        // Podman reads a seccomp profile from a file on its side; it lives until the
        // container exists (`_profiles` is dropped at the end of this function).
        let (security_opt, _profiles) = match self.dialect {
            Dialect::Docker => (spec.security_opt.clone(), Vec::new()),
            Dialect::Podman => crate::podman::seccomp_files(&spec.security_opt)?,
        };
        // A remote engine gets the folders in volumes, filled once the container exists.
        let (mounts, shipped) = if self.remote {
            crate::remote::volumes(&spec.mounts)?
        } else {
            let mounts = spec
                .mounts
                .iter()
                .map(|m| DockerMount {
                    source: Some(m.source.display().to_string()),
                    target: Some(m.target.clone()),
                    typ: Some(MountType::BIND),
                    read_only: Some(m.read_only),
                    ..Default::default()
                })
                .collect();
            (mounts, Vec::new())
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            working_dir: spec.working_dir.clone(),
            tty: Some(spec.interactive),
            open_stdin: Some(spec.interactive),
            stdin_once: Some(spec.interactive),
            attach_stdin: Some(spec.interactive),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
                security_opt: (!security_opt.is_empty()).then_some(security_opt),
                tmpfs: (!spec.tmpfs.is_empty()).then(|| spec.tmpfs.clone().into_iter().collect()),
                network_mode: self.network_mode(spec.network)?,
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = spec.name.as_ref().map(|name| CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        });
        let id = self.on_engine(
            &format!("creating a container of `{}`", spec.image),
            async {
                let created = self
                    .client
                    .create_container(options, body)
                    .await
                    .map_err(api(format!("creating a container of `{}`", spec.image)))?;
                Ok::<_, EngineError>(created.id)
            },
        )?;
        if !shipped.is_empty() {
            if let Err(e) = self.ship_in(&id, &shipped) {
                let _ = self.remove_container(&id);
                return Err(e);
            }
            lock(&self.shipped).insert(id.clone(), shipped);
        }
        Ok(id)
    }

    fn run_container(&self, id: &str, log: &mut dyn FnMut(&[u8])) -> Result<i64, EngineError> {
        self.on_engine(&format!("running `{id}`"), async {
            self.client
                .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
                .await
                .map_err(api(format!("starting container `{id}`")))?;
            let options = LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            };
            let mut logs = self.client.logs(id, Some(options));
            while let Some(chunk) = logs.next().await {
                match chunk {
                    Ok(output) => log(&output.into_bytes()),
                    Err(e) => return Err(api(format!("reading the output of `{id}`"))(e)),
                }
            }
            self.exit_code(id).await
        })
        .and_then(|code| self.ship_back(id).map(|()| code))
    }

    fn run_interactive(
        &self,
        id: &str,
        mut input: Box<dyn std::io::Read + Send>,
        output: &mut dyn std::io::Write,
        size: Option<(u16, u16)>,
    ) -> Result<i64, EngineError> {
        use tokio::io::AsyncWriteExt;
        self.on_engine(&format!("attaching to `{id}`"), async {
            let options = bollard::query_parameters::AttachContainerOptions {
                stdin: true,
                stdout: true,
                stderr: true,
                stream: true,
                logs: false,
                detach_keys: None,
            };
            let attached = self
                .client
                .attach_container(id, Some(options))
                .await
                .map_err(api(format!("attaching to container `{id}`")))?;
            self.client
                .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
                .await
                .map_err(api(format!("starting container `{id}`")))?;
            if let Some((columns, rows)) = size {
                let resize = bollard::query_parameters::ResizeContainerTTYOptions {
                    w: i32::from(columns),
                    h: i32::from(rows),
                };
                // A terminal of the wrong size is an annoyance, not a failure.
                let _ = self.client.resize_container_tty(id, resize).await;
            }
            // The user's keystrokes: read on a thread of their own (reading a terminal blocks),
            // handed to the container's input.
            let (keys, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 1024];
                while let Ok(n) = input.read(&mut buffer) {
                    if n == 0 || keys.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
            let mut container_input = attached.input;
            let forward = tokio::spawn(async move {
                while let Some(bytes) = received.recv().await {
                    if container_input.write_all(&bytes).await.is_err() {
                        break;
                    }
                    let _ = container_input.flush().await;
                }
            });
            let mut stream = attached.output;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        let _ = output.write_all(&chunk.into_bytes());
                        let _ = output.flush();
                    }
                    Err(_) => break,
                }
            }
            forward.abort();
            self.exit_code(id).await
        })
    }

    fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.on_engine(&format!("starting `{id}`"), async {
            self.client
                .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
                .await
                .map_err(api(format!("starting container `{id}`")))
        })
    }

    fn container_health(&self, id: &str) -> Result<Option<String>, EngineError> {
        if self.dialect == Dialect::Podman {
            return self.podman_health(id);
        }
        self.on_engine(&format!("inspecting `{id}`"), async {
            let container = self
                .client
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await
                .map_err(api(format!("inspecting container `{id}`")))?;
            let state = container.state.unwrap_or_default();
            if state.running != Some(true) {
                return Ok(Some("exited".to_owned()));
            }
            Ok(state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty() && s != "none"))
        })
    }

    fn commit_container(
        &self,
        id: &str,
        reference: &ImageRef,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let (repo, tag) = (reference.repository(), reference.tag());
        let operation = format!("committing container `{id}` as `{reference}`");
        let changes = match self.dialect {
            Dialect::Docker => None,
            // Podman ignores the labels of the body; it takes `LABEL` changes instead.
            Dialect::Podman => {
                Some(
                    crate::podman::label_changes(labels).map_err(|message| EngineError::Api {
                        operation: operation.clone(),
                        message,
                    })?,
                )
            }
        };
        let options = CommitContainerOptions {
            container: Some(id.to_owned()),
            repo: Some(repo.to_owned()),
            tag: Some(tag.to_owned()),
            pause: true,
            changes: changes.as_ref().map(|c| c.join("\n")),
            ..Default::default()
        };
        let config = ContainerConfig {
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let committed = self.again_on_lost_layer(|| {
            self.on_engine(&format!("committing `{id}`"), async {
                let response = self
                    .client
                    .commit_container(options.clone(), config.clone())
                    .await
                    .map_err(api(operation.clone()))?;
                Ok::<_, EngineError>(response.id)
            })
        })?;
        if changes.is_some() {
            // A label Podman read differently would be a wrong content key: compare.
            let kept = self.inspect_image(&committed)?.unwrap_or_default().labels;
            if let Some((key, value)) = labels.iter().find(|(k, v)| kept.get(*k) != Some(*v)) {
                let _ = self.remove_image(&reference.to_string());
                return Err(EngineError::Api {
                    operation,
                    message: format!(
                        "Podman kept the label `{key}` as `{}` instead of `{value}`",
                        kept.get(key).map_or("(none)", String::as_str)
                    ),
                });
            }
        }
        Ok(committed)
    }

    fn container_changes(&self, id: &str) -> Result<Vec<FileChange>, EngineError> {
        self.on_engine(&format!("listing the changes of `{id}`"), async {
            let changes = self
                .client
                .container_changes(id)
                .await
                .map_err(api(format!("listing the changes of container `{id}`")))?;
            Ok(changes
                .unwrap_or_default()
                .into_iter()
                .map(|change| FileChange {
                    path: change.path,
                    kind: match change.kind {
                        ChangeType::_0 => ChangeKind::Modified,
                        ChangeType::_1 => ChangeKind::Added,
                        ChangeType::_2 => ChangeKind::Deleted,
                    },
                })
                .collect())
        })
    }

    fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.on_engine(&format!("removing `{id}`"), async {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            lock(&self.shipped).remove(id);
            match self.client.remove_container(id, Some(options)).await {
                Ok(()) => Ok(()),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(()),
                Err(e) => Err(api(format!("removing container `{id}`"))(e)),
            }
        })
    }

    fn tag_image(&self, source: &str, reference: &ImageRef) -> Result<(), EngineError> {
        let (repo, tag) = (reference.repository(), reference.tag());
        let options = TagImageOptions {
            repo: Some(repo.to_owned()),
            tag: Some(tag.to_owned()),
        };
        self.on_engine(&format!("tagging `{source}` as `{reference}`"), async {
            self.client
                .tag_image(source, Some(options))
                .await
                .map_err(api(format!("tagging `{source}` as `{reference}`")))
        })
    }

    fn push_image(
        &self,
        reference: &ImageRef,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), EngineError> {
        let (repo, tag) = (reference.repository(), reference.tag());
        let operation = format!("pushing `{reference}`");
        self.on_engine(&operation, async {
            let options = bollard::query_parameters::PushImageOptions {
                tag: Some(tag.to_owned()),
                platform: None,
            };
            let mut stream = self.client.push_image(repo, Some(options), None);
            while let Some(info) = stream.next().await {
                let info = info.map_err(api(operation.clone()))?;
                streamed(&operation, info.error_detail)?;
                // "Pushing" lines are byte counts; the others say what happened to a layer.
                if let Some(status) = info.status.filter(|s| s != "Pushing") {
                    log(&status);
                }
            }
            Ok(())
        })
    }

    fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        self.removing_image(reference, false)
    }

    fn force_remove_image(&self, reference: &str) -> Result<(), EngineError> {
        self.removing_image(reference, true)
    }

    fn containers_with_label(&self, label: &str) -> Result<Vec<ContainerInfo>, EngineError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(label_filter(label)),
            ..Default::default()
        };
        self.on_engine("listing containers", async {
            let containers = self
                .listed(|| self.client.list_containers(Some(options.clone())))
                .await
                .map_err(api("listing containers"))?;
            Ok(containers
                .into_iter()
                .filter_map(|c| {
                    Some(ContainerInfo {
                        id: c.id?,
                        labels: c.labels.unwrap_or_default().into_iter().collect(),
                    })
                })
                .collect())
        })
    }

    fn images_with_label(&self, label: &str) -> Result<Vec<ListedImage>, EngineError> {
        let options = bollard::query_parameters::ListImagesOptions {
            all: false,
            filters: Some(label_filter(label)),
            ..Default::default()
        };
        self.on_engine("listing images", async {
            let images = self
                .listed(|| self.client.list_images(Some(options.clone())))
                .await
                .map_err(api("listing images"))?;
            Ok(images
                .into_iter()
                .map(|image| ListedImage {
                    id: image.id,
                    // Older engines name an untagged image `<none>:<none>`.
                    tags: image
                        .repo_tags
                        .into_iter()
                        .filter(|t| t != "<none>:<none>")
                        .map(|t| match self.dialect {
                            Dialect::Docker => t,
                            Dialect::Podman => crate::podman::short_name(&t).to_owned(),
                        })
                        .collect(),
                    labels: image.labels.into_iter().collect(),
                    created: image.created,
                    size: image.size.max(0) as u64,
                })
                .collect())
        })
    }

    fn cancel(&self) -> Vec<String> {
        // Listed before the token fires: the operations unlist themselves as they end.
        let running = lock(&self.running).keys().cloned().collect();
        self.cancel.cancel();
        running
    }

    fn load_image(&self, archive: &Path) -> Result<(), EngineError> {
        let operation = format!("loading `{}`", archive.display());
        self.again_on_lost_layer(|| {
            self.runtime.block_on(self.cancellable(&operation, async {
                let body = bollard::body_try_stream(file_stream(archive).await?);
                let options = bollard::query_parameters::ImportImageOptions {
                    quiet: true,
                    ..Default::default()
                };
                let mut stream = self.client.import_image(options, body, None);
                while let Some(info) = stream.next().await {
                    let info = info.map_err(api(operation.clone()))?;
                    streamed(&operation, info.error_detail)?;
                }
                Ok(())
            }))
        })
    }

    fn save_image(&self, reference: &str, to: &Path) -> Result<(), EngineError> {
        use tokio::io::AsyncWriteExt;
        let operation = format!("saving `{reference}`");
        let io_error = |source| EngineError::Io {
            path: to.to_owned(),
            source,
        };
        self.runtime.block_on(self.cancellable(&operation, async {
            let mut file = tokio::fs::File::create(to).await.map_err(io_error)?;
            let mut stream = self.client.export_image(reference);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(api(operation.clone()))?;
                file.write_all(&chunk).await.map_err(io_error)?;
            }
            file.flush().await.map_err(io_error)?;
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The message Podman 4.3 gave in CI when another stack's clean-up removed a layer the
    /// load of an image with the same content was about to use.
    const LOST: &str = "payload does not match any of the supported image formats:\n * docker-archive: committing the finished image: creating image \"297373c1\": layer not known";

    fn failing(message: &str) -> EngineError {
        EngineError::Api {
            operation: "loading `image.tar`".to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn podman_calls_that_lost_a_layer_are_made_again() {
        let mut calls = 0;
        let result = again_on_lost_layer(Dialect::Podman, Duration::ZERO, || {
            calls += 1;
            if calls < 3 {
                Err(failing(LOST))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), 3);

        let mut calls = 0;
        let result: Result<(), _> = again_on_lost_layer(Dialect::Podman, Duration::ZERO, || {
            calls += 1;
            Err(failing(LOST))
        });
        assert_eq!(calls, 5, "four more attempts, then the error");
        assert!(result.unwrap_err().to_string().contains("layer not known"));
    }

    #[test]
    fn other_errors_and_docker_are_not_asked_again() {
        for (dialect, message) in [
            (Dialect::Podman, "no space left on device"),
            (Dialect::Docker, LOST),
        ] {
            let mut calls = 0;
            let result: Result<(), _> = again_on_lost_layer(dialect, Duration::ZERO, || {
                calls += 1;
                Err(failing(message))
            });
            assert_eq!(calls, 1, "{dialect:?}: {message}");
            assert!(result.is_err());
        }
    }
}
