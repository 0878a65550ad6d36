//! Podman, through its Docker-compatible API (`podman system service`).
//!
//! Podman serves the Docker Engine API beside its own (libpod) API, so gbb drives it with the
//! same client as Docker ([`crate::Docker`], made with [`Dialect::Podman`]). Where Podman's
//! answers differ from Docker's, the difference is handled here or behind a
//! `Dialect::Podman` branch of the Docker client, and nowhere above the engine layer. The
//! differences found with Debian 12's Podman 4.3 (API 1.41), each handled:
//!
//! - **The socket.** Podman has no fixed daemon address: clients take `CONTAINER_HOST`, else
//!   the rootful socket `/run/podman/podman.sock` (root) or the rootless one,
//!   `$XDG_RUNTIME_DIR/podman/podman.sock` (other users). [`socket_candidates`] lists them in
//!   that order and [`crate::Docker::connect_podman`] takes the first that answers; when none
//!   does, one line names every socket tried and how to start the service.
//! - **Image names without a registry part.** The compatible API qualifies a short name with
//!   `docker.io/` (`ns/app:1` is stored and listed as `docker.io/ns/app:1`; the libpod API
//!   and `podman build` on the command line say `localhost/`). Look-ups by the short name
//!   work, so gbb keeps using short names and takes the prefix off names the engine lists
//!   ([`short_name`]).
//! - **Import.** `POST /images/create?fromSrc=-` ignores the `tag` parameter (the image is
//!   always tagged `latest`), so the tag goes into `repo` as `repo:tag`. Worse, Podman 4.3
//!   keeps the whole upload in its temporary folder (`/var/tmp/api_load.tar*`) and never
//!   removes it: every stage3 import left 640 MB behind, until a CI machine's disk was
//!   full. Its own `POST /libpod/images/import` removes its copy, so gbb's requests go
//!   there ([`import_through_libpod`]), with the name qualified as the compatible API would
//!   (`docker.io/`), so images are named as before.
//! - **Commit.** `POST /commit` ignores the labels of the configuration in the request body;
//!   it applies `changes` instead, one `LABEL key=value` per label, with the value taken
//!   verbatim (quotes are trimmed, not unescaped, so gbb does not quote). Values with a line
//!   break or edge quotes or spaces cannot pass that way ([`label_changes`] refuses them), and
//!   the committed image's labels are read back and compared, so a label Podman changed is
//!   an error rather than a wrong content key.
//! - **Health checks.** Podman runs HEALTHCHECKs from systemd timers; without systemd (a
//!   container, a CI runner) they never run and the status stays empty. Its compatible
//!   image inspection also leaves the HEALTHCHECK out, while container inspection reports it.
//!   So gbb runs the check itself, through exec, on the schedule the image asks for
//!   (interval, timeout, retries, start period: [`HealthProbe`]).
//! - **Build cancel (not handled).** Closing the connection of a build does not stop Podman's
//!   build: its `RUN` keeps running under buildah, in a container the compatible API neither
//!   lists nor stops, until it ends; the result is then left untagged. gbb's phase 2 no
//!   longer calls the build API (it runs a template's `RUN` as a container of its own, which
//!   Ctrl-C removes on either engine), so only a caller of [`Engine::build_image`] meets this.
//! - **Listings lose races.** Listing images or containers fails ("image not known") when
//!   one of them is removed while the listing is made, as another build on the engine may do
//!   at any time; so does inspecting one image while another is removed. gbb asks again
//!   (a few times, [`lost_race`]; a 404 is an answer, not a race).
//! - **Layers lost to a removal.** Images with the same content share their layers, and
//!   Podman 4.3 takes a layer it already has without holding it: when another image that
//!   has the layer is removed meanwhile (another build, another stack's clean-up), a load,
//!   import or commit fails at its end with "creating image …: layer not known", and so
//!   may the removal of an image. A known race of Podman's storage (podman#18449,
//!   buildah#5674); the call left nothing behind, and made again it writes the layer anew,
//!   so gbb makes it again a few times ([`lost_layer`]).
//! - **Container states.** Podman names a container that ended and is not cleaned up yet
//!   `stopped`, which is not one of the Docker API's states (bollard refuses the answer):
//!   listings are asked again until it is `exited` ([`not_cleaned_up`]); the health check
//!   reads it as ended.
//! - **Seccomp profiles.** Docker's API takes a profile's JSON in `seccomp=`; Podman's
//!   takes the path of a file on its side. gbb writes the JSON to a temporary file for the
//!   creation of the container ([`seccomp_files`]); so a profile reaches a local Podman
//!   only, not one on another machine.
//! - **Pushes to a registry on this machine.** Docker takes a registry on the loopback
//!   address as insecure (plain HTTP); Podman checks TLS unless told otherwise, so gbb adds
//!   `tlsVerify=false` to such pushes, and only to them ([`insecure_local_push`]).
//!
//! The last two are rewrites of bollard's requests ([`adapt_request`]): bollard has calls
//! for the Docker API only, and its request modifier is the one place to reach Podman's.
//! - **Rootless services.** A rootless Podman gives a container its default network through
//!   slirp4netns, which needs `/dev/net/tun`; gbb names `host` or `none` instead, as the
//!   container needs (`rootless.rs`, which also says how gbb finds out).
//! - **Default ulimits.** Rootful Podman sets a container's open-files limit to its default
//!   (1048576); where the machine's hard limit is lower, every container fails with "error
//!   setting rlimit type 7". [`explain`] turns that into one line with the fix
//!   (`default_ulimits = []` in a `containers.conf`).

use std::path::Path;
use std::time::{Duration, Instant};

/// Which engine answers on the Docker API: the two differ in the places listed in the
/// module's doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Docker,
    Podman,
}

/// Where Podman's clients look for its service: the process environment's values, which the
/// caller passes in (a library reads no environment).
#[derive(Clone, Debug, Default)]
pub struct PodmanPlaces {
    /// `CONTAINER_HOST`: when set, the only place tried.
    pub container_host: Option<String>,
    /// `XDG_RUNTIME_DIR`: where a rootless service puts its socket.
    pub xdg_runtime_dir: Option<String>,
}

/// The version of the Docker API Podman 4 and 5 serve. gbb uses it rather than asking:
/// Podman's `/version` runs its runtimes to report theirs, which takes about 0.6 s, and
/// negotiating asks it once more (1.2 s of every command that connects).
pub(crate) const API_VERSION: bollard::ClientVersion = bollard::ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// The rootful service's socket, as Podman's own clients find it.
pub const ROOTFUL_SOCKET: &str = "unix:///run/podman/podman.sock";

/// The sockets to try, in order: `CONTAINER_HOST` alone when it is set; else, for root, the
/// rootful socket; for another user, the rootless socket (under `XDG_RUNTIME_DIR`, else
/// `/run/user/<uid>`), then the rootful one (readable when the service's group allows it).
pub fn socket_candidates(places: &PodmanPlaces, uid: u32) -> Vec<String> {
    if let Some(host) = places.container_host.as_deref().filter(|h| !h.is_empty()) {
        return vec![host.to_owned()];
    }
    if uid == 0 {
        return vec![ROOTFUL_SOCKET.to_owned()];
    }
    let runtime_dir = places
        .xdg_runtime_dir
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("/run/user/{uid}"));
    vec![
        format!("unix://{runtime_dir}/podman/podman.sock"),
        ROOTFUL_SOCKET.to_owned(),
    ]
}

/// The user this process runs as: the owner of `/proc/self` (the effective uid, which is the
/// one Podman's rootless check uses), read without unsafe code.
pub(crate) fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// What to do when no Podman socket answers, for the error's hint.
pub(crate) fn start_hint(uid: u32) -> String {
    if uid == 0 {
        format!(
            "start one with `podman system service --time=0 {ROOTFUL_SOCKET} &`, or point CONTAINER_HOST at a running one"
        )
    } else {
        "start one with `podman system service --time=0 &` (rootless), or point CONTAINER_HOST at a running one".to_owned()
    }
}

/// A name as Podman lists it, without the registry part it added to a short name.
pub fn short_name(name: &str) -> &str {
    name.strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("localhost/"))
        .unwrap_or(name)
}

/// `LABEL key=value` changes for a commit, or the label Podman cannot take that way.
pub(crate) fn label_changes<'a>(
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<String>, String> {
    labels
        .into_iter()
        .map(|(key, value)| {
            let edge = |s: &str| {
                s.starts_with(['"', ' ', '\t'])
                    || s.ends_with(['"', ' ', '\t'])
                    || s.contains(['\n', '\r', '='])
            };
            if edge(key) || value.starts_with(['"', ' ', '\t']) || value.ends_with(['"', ' ', '\t'])
                || value.contains(['\n', '\r'])
            {
                Err(format!(
                    "Podman cannot commit the label `{key}` with the value `{value}` (its commit takes labels as `LABEL key=value` lines)"
                ))
            } else {
                Ok(format!("LABEL {key}={value}"))
            }
        })
        .collect()
}

/// Whether a listing's error means an object went while Podman made the listing (it then
/// fails where Docker leaves the object out): asked again, it succeeds.
pub(crate) fn lost_race(message: &str) -> bool {
    message.contains("image not known")
        || message.contains("no such container")
        || message.contains("no such image")
}

/// Whether a call that writes or removes image layers failed because another image's
/// removal took a layer it was using ("layer not known"): made again, it succeeds.
pub(crate) fn lost_layer(message: &str) -> bool {
    message.contains("layer not known")
}

/// Security options as Podman takes them: a `seccomp=<profile JSON>` becomes
/// `seccomp=<file>`, the JSON written to a temporary file, returned with the options (the
/// file must live until the container is created). `seccomp=unconfined` and other options
/// pass as they are.
pub(crate) fn seccomp_files(
    options: &[String],
) -> Result<(Vec<String>, Vec<tempfile::NamedTempFile>), crate::EngineError> {
    let mut files = Vec::new();
    let mut out = Vec::new();
    for option in options {
        match option.strip_prefix("seccomp=") {
            Some(profile) if profile.trim_start().starts_with('{') => {
                let io = |source| crate::EngineError::Io {
                    path: std::env::temp_dir(),
                    source,
                };
                let mut file = tempfile::Builder::new()
                    .prefix("gbb-seccomp-")
                    .suffix(".json")
                    .tempfile()
                    .map_err(io)?;
                std::io::Write::write_all(&mut file, profile.as_bytes()).map_err(io)?;
                out.push(format!("seccomp={}", file.path().display()));
                files.push(file);
            }
            _ => out.push(option.clone()),
        }
    }
    Ok((out, files))
}

/// Every request bollard makes to a Podman service passes through here: the places where
/// gbb asks Podman for something the Docker API cannot say.
pub(crate) fn adapt_request(request: bollard::BollardRequest) -> bollard::BollardRequest {
    import_through_libpod(insecure_local_push(request))
}

/// Sends an import from the request's body (`POST /images/create?fromSrc=-&repo=ns/app:1`)
/// to libpod's `POST /libpod/images/import?reference=docker.io/ns/app:1` instead: the
/// compatible endpoint leaves a copy of the whole upload in Podman's temporary folder
/// (module doc). libpod's answer, `{"Id":"sha256:..."}`, reads as a progress line without
/// an error, and its errors come as HTTP errors, as the compatible endpoint's do.
fn import_through_libpod(mut request: bollard::BollardRequest) -> bollard::BollardRequest {
    let changed = libpod_import_uri(request.method().as_str(), &request.uri().to_string());
    if let Some(Ok(uri)) = changed.map(|uri| uri.parse()) {
        *request.uri_mut() = uri;
    }
    request
}

/// The libpod import URI for a compatible import's `uri`, or `None` when `uri` is not one.
fn libpod_import_uri(method: &str, uri: &str) -> Option<String> {
    let (head, query) = uri.split_once('?')?;
    let base = head.strip_suffix("/images/create")?;
    // Scheme and host stay as bollard wrote them; an API version (`/v1.41`), which bollard
    // leaves out of the path for a unix socket, goes.
    let origin = match base.rsplit_once("/v") {
        Some((origin, version)) if version.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            origin
        }
        _ => base,
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if method != "POST" || value("fromSrc") != Some("-") {
        return None;
    }
    let reference = docker_hub_qualified(value("repo")?);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("reference", &reference)
        .finish();
    Some(format!("{origin}/v4.0.0/libpod/images/import?{query}"))
}

/// `name` as the Docker API qualifies a name without a registry part: `ns/app:1` is
/// `docker.io/ns/app:1`, `app:1` is `docker.io/library/app:1`. A name whose first part is a
/// registry (has a `.` or `:`, or is `localhost`) is left as it is. libpod would put
/// `localhost/` in front instead, and the same stack would then name its images in two ways
/// on one engine.
fn docker_hub_qualified(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => name.to_owned(),
        Some(_) => format!("docker.io/{name}"),
        None => format!("docker.io/library/{name}"),
    }
}

/// Podman's push checks TLS for every registry, where Docker takes a registry on the
/// loopback address (`127.0.0.0/8`, `localhost`, `::1`) as insecure; bollard's push options
/// have no TLS switch, so this request modifier adds Podman's (`tlsVerify=false`) to pushes
/// to such a registry, and only to them.
pub(crate) fn insecure_local_push(mut request: bollard::BollardRequest) -> bollard::BollardRequest {
    let uri = request.uri().to_string();
    if request.method() == "POST" && push_to_loopback(request.uri().path()) {
        let joined = if uri.contains('?') { '&' } else { '?' };
        if let Ok(changed) = format!("{uri}{joined}tlsVerify=false").parse() {
            *request.uri_mut() = changed;
        }
    }
    request
}

/// Whether `path` is the Engine API's push of an image on a loopback registry
/// (`/v1.41/images/127.0.0.1:5000/ns/app/push`).
fn push_to_loopback(path: &str) -> bool {
    let Some(rest) = path.split_once("/images/").map(|(_, rest)| rest) else {
        return false;
    };
    if !rest.ends_with("/push") {
        return false;
    }
    let registry = rest.split('/').next().unwrap_or_default();
    let host = registry.rsplit_once(':').map_or(registry, |(host, _)| host);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Whether bollard refused an answer because a container is in Podman's `stopped` state
/// (ended, not cleaned up yet), which the Docker API does not have.
pub(crate) fn not_cleaned_up(error: &str) -> bool {
    error.contains("unknown variant `stopped`")
}

/// The one line to show for an engine's error message, when Podman's message has a known
/// cause: its default ulimits above the machine's hard limit.
pub(crate) fn explain(message: &str) -> Option<String> {
    message.contains("error setting rlimit type 7").then(|| {
        "podman cannot raise the open-files limit of containers (\"error setting rlimit type 7\"): the machine's hard limit is below Podman's default; set `default_ulimits = []` under `[containers]` in a containers.conf (for example a file named by CONTAINERS_CONF) and restart `podman system service`".to_owned()
    })
}

/// A HEALTHCHECK as the container's configuration gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HealthConfig {
    /// `["CMD", args...]` or `["CMD-SHELL", command]`.
    pub(crate) test: Vec<String>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) start_period: Duration,
}

impl HealthConfig {
    /// From the Engine API's fields (nanoseconds; zero means Docker's default), `None` when
    /// the image has no check (or `NONE`).
    pub(crate) fn from_api(check: &bollard::models::HealthConfig) -> Option<Self> {
        let test = check.test.clone().unwrap_or_default();
        if test.is_empty() || test[0] == "NONE" {
            return None;
        }
        let nanos = |n: Option<i64>, default: Duration| match n {
            Some(n) if n > 0 => Duration::from_nanos(n as u64),
            _ => default,
        };
        Some(Self {
            test,
            interval: nanos(check.interval, Duration::from_secs(30)),
            timeout: nanos(check.timeout, Duration::from_secs(30)),
            retries: match check.retries {
                Some(n) if n > 0 => n as u32,
                _ => 3,
            },
            start_period: nanos(check.start_period, Duration::ZERO),
        })
    }

    /// The command to exec: `CMD-SHELL` through `/bin/sh -c`, as Docker runs it.
    pub(crate) fn command(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD-SHELL") => {
                vec![
                    "/bin/sh".to_owned(),
                    "-c".to_owned(),
                    self.test[1..].join(" "),
                ]
            }
            Some("CMD") => self.test[1..].to_vec(),
            _ => self.test.clone(),
        }
    }
}

/// One container's health as gbb runs its check, following Docker's rules: the first probe
/// one interval after the start, then one per interval; `retries` failures in a row make it
/// unhealthy, except failures within the start period; one success makes it healthy.
#[derive(Debug)]
pub(crate) struct HealthProbe {
    pub(crate) config: HealthConfig,
    started: Instant,
    last: Instant,
    failures: u32,
    healthy: bool,
}

impl HealthProbe {
    pub(crate) fn new(config: HealthConfig, now: Instant) -> Self {
        Self {
            config,
            started: now,
            last: now,
            failures: 0,
            healthy: false,
        }
    }

    /// Whether a probe is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        !self.healthy && now.duration_since(self.last) >= self.config.interval
    }

    /// Records a probe's result (`true`: exit 0 within the timeout).
    pub(crate) fn record(&mut self, passed: bool, now: Instant) {
        self.last = now;
        if passed {
            self.healthy = true;
            self.failures = 0;
        } else if now.duration_since(self.started) >= self.config.start_period {
            self.failures += 1;
        }
    }

    /// `starting`, `healthy` or `unhealthy`, as Docker names them.
    pub(crate) fn status(&self) -> &'static str {
        if self.healthy {
            "healthy"
        } else if self.failures >= self.config.retries {
            "unhealthy"
        } else {
            "starting"
        }
    }
}

impl crate::Docker {
    /// Connects to Podman's service: the first of [`socket_candidates`] that answers. When
    /// none does, [`crate::EngineError::PodmanUnreachable`] names each socket tried and why
    /// it failed, and how to start the service.
    pub fn connect_podman(places: &PodmanPlaces) -> Result<Self, crate::EngineError> {
        let uid = effective_uid();
        let mut tried = Vec::new();
        for host in socket_candidates(places, uid) {
            if host.starts_with("unix://") && !socket_exists(&host) {
                tried.push(format!("`{host}`: no such socket"));
                continue;
            }
            match Self::connect_as(&host, Dialect::Podman, None) {
                Ok(engine) => return Ok(engine),
                Err(crate::EngineError::Unreachable { cause, .. }) => {
                    tried.push(format!("`{host}`: {cause}"));
                }
                Err(other) => return Err(other),
            }
        }
        Err(crate::EngineError::PodmanUnreachable {
            tried: tried.join("; "),
            hint: start_hint(uid),
        })
    }
}

/// Whether `path` is a socket that exists (to say which candidates were there at all).
pub(crate) fn socket_exists(host: &str) -> bool {
    host.strip_prefix("unix://")
        .is_some_and(|path| Path::new(path).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_found_as_podman_finds_them() {
        let none = PodmanPlaces::default();
        assert_eq!(socket_candidates(&none, 0), [ROOTFUL_SOCKET]);
        assert_eq!(
            socket_candidates(&none, 1000),
            ["unix:///run/user/1000/podman/podman.sock", ROOTFUL_SOCKET]
        );
        let xdg = PodmanPlaces {
            xdg_runtime_dir: Some("/tmp/xdg".to_owned()),
            ..PodmanPlaces::default()
        };
        assert_eq!(
            socket_candidates(&xdg, 1000),
            ["unix:///tmp/xdg/podman/podman.sock", ROOTFUL_SOCKET]
        );
        let host = PodmanPlaces {
            container_host: Some("unix:///srv/p.sock".to_owned()),
            ..xdg
        };
        assert_eq!(socket_candidates(&host, 0), ["unix:///srv/p.sock"]);
        assert_eq!(socket_candidates(&host, 1000), ["unix:///srv/p.sock"]);
    }

    #[test]
    fn listed_names_lose_the_registry_podman_added() {
        assert_eq!(short_name("docker.io/ns/app:1"), "ns/app:1");
        assert_eq!(short_name("localhost/ns/app:1"), "ns/app:1");
        assert_eq!(
            short_name("localhost:5000/ns/app:1"),
            "localhost:5000/ns/app:1"
        );
        assert_eq!(short_name("ns/app:1"), "ns/app:1");
    }

    #[test]
    fn labels_become_label_changes_or_a_refusal() {
        let labels = std::collections::BTreeMap::from([
            ("org.x.key".to_owned(), "abc".to_owned()),
            ("org.x.json".to_owned(), r#"{"a b":"c=d"}"#.to_owned()),
            ("org.x.empty".to_owned(), String::new()),
        ]);
        assert_eq!(
            label_changes(&labels).unwrap(),
            [
                "LABEL org.x.empty=",
                r#"LABEL org.x.json={"a b":"c=d"}"#,
                "LABEL org.x.key=abc"
            ]
        );
        let bad = std::collections::BTreeMap::from([("k".to_owned(), "a\nb".to_owned())]);
        assert!(label_changes(&bad).unwrap_err().contains("`k`"));
        let quoted = std::collections::BTreeMap::from([("k".to_owned(), "\"x\"".to_owned())]);
        assert!(label_changes(&quoted).is_err());
    }

    #[test]
    fn imports_from_the_body_go_to_libpods_endpoint_with_the_compatible_name() {
        let sock = "http://2f72756e2f706f646d616e2f706f646d616e2e736f636b";
        assert_eq!(
            libpod_import_uri(
                "POST",
                &format!("{sock}/v1.41/images/create?fromSrc=-&repo=gbb-stage3%2Famd64%3A2026")
            )
            .unwrap(),
            format!(
                "{sock}/v4.0.0/libpod/images/import?reference=docker.io%2Fgbb-stage3%2Famd64%3A2026"
            )
        );
        let unix = "unix://2f72756e2f706f646d616e2f706f646d616e2e736f636b";
        assert_eq!(
            libpod_import_uri(
                "POST",
                &format!("{unix}/images/create?fromSrc=-&repo=ns%2Fapp%3A1&platform=")
            )
            .unwrap(),
            format!("{unix}/v4.0.0/libpod/images/import?reference=docker.io%2Fns%2Fapp%3A1")
        );
        assert_eq!(
            libpod_import_uri("POST", "/v1.41/images/create?repo=app%3A1&fromSrc=-").unwrap(),
            "/v4.0.0/libpod/images/import?reference=docker.io%2Flibrary%2Fapp%3A1"
        );
        // A pull, a URL import and other calls are left alone.
        assert!(libpod_import_uri("POST", "/v1.41/images/create?fromImage=busybox").is_none());
        assert!(
            libpod_import_uri("POST", "/v1.41/images/create?fromSrc=http%3A%2F%2Fx&repo=a")
                .is_none()
        );
        assert!(libpod_import_uri("GET", "/v1.41/images/create?fromSrc=-&repo=a").is_none());
        assert!(libpod_import_uri("POST", "/v1.41/images/load?quiet=1").is_none());
    }

    #[test]
    fn short_names_are_qualified_as_the_docker_api_does() {
        assert_eq!(docker_hub_qualified("ns/app:1"), "docker.io/ns/app:1");
        assert_eq!(docker_hub_qualified("app:1"), "docker.io/library/app:1");
        assert_eq!(
            docker_hub_qualified("localhost/ns/app:1"),
            "localhost/ns/app:1"
        );
        assert_eq!(
            docker_hub_qualified("127.0.0.1:5000/app:1"),
            "127.0.0.1:5000/app:1"
        );
        assert_eq!(
            docker_hub_qualified("reg.example.org/a/b:1"),
            "reg.example.org/a/b:1"
        );
    }

    #[test]
    fn only_pushes_to_a_loopback_registry_skip_tls() {
        assert!(push_to_loopback("/v1.41/images/127.0.0.1:5000/ns/app/push"));
        assert!(push_to_loopback("/v1.41/images/localhost:5000/ns/app/push"));
        assert!(push_to_loopback("/v1.41/images/localhost/ns/app/push"));
        assert!(!push_to_loopback(
            "/v1.41/images/registry.example.org/ns/app/push"
        ));
        assert!(!push_to_loopback(
            "/v1.41/images/127.0.0.1:5000/ns/app/json"
        ));
        assert!(!push_to_loopback("/v1.41/images/ns/127.0.0.1/push"));
    }

    #[test]
    fn seccomp_profiles_become_files() {
        let options = [
            "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}".to_owned(),
            "seccomp=unconfined".to_owned(),
            "label=disable".to_owned(),
        ];
        let (out, files) = seccomp_files(&options).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(out[0], format!("seccomp={}", files[0].path().display()));
        assert_eq!(
            std::fs::read_to_string(files[0].path()).unwrap(),
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}"
        );
        assert_eq!(out[1..], options[1..]);
    }

    #[test]
    fn the_rlimit_failure_is_one_line_with_the_fix() {
        let message = "runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied";
        let line = explain(message).unwrap();
        assert!(line.contains("default_ulimits = []"), "{line}");
        assert!(line.contains("CONTAINERS_CONF"), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(explain("no such image"), None);
    }

    fn check(retries: u32, start_period: u64) -> HealthConfig {
        HealthConfig {
            test: vec!["CMD".to_owned(), "/bin/true".to_owned()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            retries,
            start_period: Duration::from_secs(start_period),
        }
    }

    #[test]
    fn health_follows_dockers_rules() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut probe = HealthProbe::new(check(2, 0), t0);
        assert!(!probe.due(t0), "the first probe waits one interval");
        assert!(probe.due(t0 + s(1)));
        probe.record(false, t0 + s(1));
        assert_eq!(probe.status(), "starting");
        assert!(!probe.due(t0 + s(1)));
        probe.record(false, t0 + s(2));
        assert_eq!(probe.status(), "unhealthy");

        let mut probe = HealthProbe::new(check(1, 10), t0);
        probe.record(false, t0 + s(1));
        assert_eq!(probe.status(), "starting", "failures in the start period");
        probe.record(true, t0 + s(2));
        assert_eq!(probe.status(), "healthy");
        assert!(!probe.due(t0 + s(60)));
    }

    #[test]
    fn health_commands_run_as_docker_runs_them() {
        let mut shell = check(1, 0);
        shell.test = vec!["CMD-SHELL".to_owned(), "test -f /ok".to_owned()];
        assert_eq!(shell.command(), ["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!(check(1, 0).command(), ["/bin/true"]);
        let none = bollard::models::HealthConfig {
            test: Some(vec!["NONE".to_owned()]),
            ..Default::default()
        };
        assert_eq!(HealthConfig::from_api(&none), None);
        let api = bollard::models::HealthConfig {
            test: Some(vec!["CMD".to_owned(), "/x".to_owned()]),
            interval: Some(1_000_000_000),
            retries: Some(2),
            ..Default::default()
        };
        let parsed = HealthConfig::from_api(&api).unwrap();
        assert_eq!(
            (parsed.interval, parsed.timeout, parsed.retries),
            (Duration::from_secs(1), Duration::from_secs(30), 2)
        );
    }
}
