//! Rootless Podman: a `podman system service` a user runs as themselves.
//!
//! Such a service keeps its images under the user's `~/.local/share/containers` and runs
//! containers in a user namespace in which root is the user (uid 0 inside is the user's uid
//! outside; other uids are the user's ranges in `/etc/subuid` and `/etc/subgid`). So a build
//! container's root writes the user's files into gbb's folders, and the container cannot do
//! on the host what the user cannot.
//!
//! **The network.** A rootless container cannot have a bridge of the host: Podman gives it a
//! network namespace of its own served by slirp4netns (Podman 4; pasta in Podman 5), a
//! user-space network stack that needs `/dev/net/tun`. Where that device is root-only (mode
//! 0600, as on gbb's test machines), every container Podman makes with its default network
//! fails ("slirp4netns failed: open("/dev/net/tun"): Permission denied"). gbb therefore names
//! the network of each container it makes on a rootless service, from what the container
//! says it needs ([`NetworkNeed`]):
//!
//! - [`NetworkNeed::Outside`] gets `host`, the user's own network. Phase 1 and a builder's
//!   hook need other machines (emerge fetches the distfiles inside the container, from
//!   `GENTOO_MIRRORS`, into the mounted cache; `download_file` and `add_overlay` download),
//!   so may a template's `RUN` and a user in `gbb shell`. Rootless, `host` gives the
//!   container nothing the user lacks: its processes are the user's on the host, the
//!   namespace belongs to the host's user namespace (so no privileged ports, no interface
//!   changes). What it does give up is isolation: the container sees the host's loopback
//!   services and shares its ports with the host and with the other build containers.
//! - [`NetworkNeed::Loopback`] gets `none`: a namespace of its own with only a loopback
//!   interface. `build-test.sh` and the health check need no other machine, and a server
//!   the image starts (nginx on port 80) must be able to listen there, which `host` would
//!   refuse for a port below 1024 and would share with everything else on the host.
//!
//! The same choice is made whether or not `/dev/net/tun` is open to users: the service
//! cannot say whether slirp4netns would work until a container fails, and `host` is also
//! faster for downloads (slirp4netns copies every packet in user space). On Docker and
//! rootful Podman, [`NetworkNeed::Outside`] keeps the engine's default network (a bridge of
//! the container's own, which users' hooks rely on) and [`NetworkNeed::Loopback`] gets
//! `none` as well, so that an image's tests see the same network on every engine.
//!
//! **Finding out.** Whether the service runs rootless is found once per connection, when
//! the first container is made (not when connecting: `/info` takes about 0.4 s, which
//! commands that start no container should not pay). A Unix socket root owns is a rootful
//! service's (a rootless service makes its socket as the user), so that case asks nothing;
//! otherwise Podman's own API says it in `host.security.rootless` of `/libpod/info`. The Docker-compatible `/info` does not say it
//! in a field bollard reads (Podman 4.3 lists no `name=rootless` security option), and bollard
//! has no call for Podman's own API, so [`ask_rootless`] sends that one request itself.

use std::io::{Read, Write};
use std::time::Duration;

use crate::podman::Dialect;
use crate::{Docker, EngineError, NetworkNeed};

/// How long the question may take (Podman answers in about 0.4 s; a busy machine is slower).
const ASK_TIMEOUT: Duration = Duration::from_secs(60);

/// Podman's own API: its `info`, which says whether the service runs rootless.
const LIBPOD_INFO: &str = "/v4.0.0/libpod/info";

/// The network mode a container needing `need` gets on a rootless Podman (see the module's
/// doc).
pub(crate) fn rootless_network_mode(need: NetworkNeed) -> &'static str {
    match need {
        NetworkNeed::Outside => "host",
        NetworkNeed::Loopback => "none",
    }
}

impl Docker {
    /// The network mode to create a container needing `need` with: [`rootless_network_mode`]
    /// on rootless Podman; elsewhere `none` for [`NetworkNeed::Loopback`] and the engine's
    /// default bridge (`None`) for [`NetworkNeed::Outside`].
    ///
    /// A container that needs only its loopback gets `none` on every engine: its tests then
    /// pass or fail alike on Docker, on rootful and on rootless Podman, whatever the build
    /// machine's network reaches, and the engine skips making and removing a bridge interface
    /// for it (about 75 ms of each `build-test.sh` container's 280 ms on Docker 20.10, by
    /// hyperfine over `docker run --rm --network none|bridge`).
    pub(crate) fn network_mode(&self, need: NetworkNeed) -> Result<Option<String>, EngineError> {
        if self.dialect == Dialect::Podman && self.is_rootless()? {
            return Ok(Some(rootless_network_mode(need).to_owned()));
        }
        Ok(match need {
            NetworkNeed::Outside => None,
            NetworkNeed::Loopback => Some("none".to_owned()),
        })
    }

    /// Whether the Podman service runs rootless: asked once, then remembered.
    fn is_rootless(&self) -> Result<bool, EngineError> {
        if let Some(known) = self.rootless.get() {
            return Ok(*known);
        }
        let operation = format!(
            "asking the Podman service at `{}` whether it runs rootless",
            self.host
        );
        // Behind ssh, the service is asked through the local end of the tunnel, which says
        // nothing about the remote service's user.
        let (address, tunnelled) = match &self.tunnel {
            Some(tunnel) => (tunnel.local_host(), true),
            None => (self.host.clone(), false),
        };
        // A socket of root's is a rootful service's: a rootless one creates its socket as
        // the user and cannot give it to root. So the common rootful case asks nothing.
        let answer = if !tunnelled && socket_of_root(&address) {
            false
        } else {
            match ask_rootless(&address) {
                Ok(Some(answer)) => answer,
                Ok(None) => self.rootless_from_security_options(&operation)?,
                Err(message) => return Err(EngineError::Api { operation, message }),
            }
        };
        // Two threads may ask at once; both get the same answer.
        let _ = self.rootless.set(answer);
        Ok(answer)
    }

    /// Over a connection [`ask_rootless`] cannot make itself (one bollard makes, such as
    /// `ssh://`): the compatible `/info`'s security options, where Docker and newer Podmans
    /// list `name=rootless` (Podman 4.3 does not: it is then taken as rootful).
    fn rootless_from_security_options(&self, operation: &str) -> Result<bool, EngineError> {
        let info = self
            .runtime
            .block_on(self.client.info())
            .map_err(|e| EngineError::Api {
                operation: operation.to_owned(),
                message: e.to_string(),
            })?;
        Ok(info
            .security_options
            .unwrap_or_default()
            .iter()
            .any(|option| option.split(',').any(|part| part == "name=rootless")))
    }
}

/// Whether `host` is a Unix socket that root owns.
fn socket_of_root(host: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    host.strip_prefix("unix://")
        .and_then(|path| std::fs::metadata(path).ok())
        .is_some_and(|meta| meta.uid() == 0)
}

/// Asks the Podman service at `host` (`unix://PATH`, `tcp://HOST:PORT` or `http://...`, the
/// addresses gbb reaches Podman at) whether it runs rootless; `None` for another kind of
/// address.
///
/// One `GET` in HTTP/1.0, written by hand: the service closes the connection after its
/// answer, so the answer is read to its end, with no chunked encoding to decode. Pulling in
/// an HTTP client for this one request of a known service would add more than it saves.
pub(crate) fn ask_rootless(host: &str) -> Result<Option<bool>, String> {
    let request = format!("GET {LIBPOD_INFO} HTTP/1.0\r\nHost: podman\r\n\r\n");
    let answer = if let Some(path) = host.strip_prefix("unix://") {
        let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(ASK_TIMEOUT))
            .map_err(|e| e.to_string())?;
        exchange(stream, &request)
    } else if let Some(address) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let address = address.trim_end_matches('/');
        let stream = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(ASK_TIMEOUT))
            .map_err(|e| e.to_string())?;
        exchange(stream, &request)
    } else {
        return Ok(None);
    }
    .map_err(|e| e.to_string())?;
    rootless_from_answer(&answer).map(Some)
}

/// Sends `request` and reads the answer until the service closes the connection.
fn exchange(mut stream: impl Read + Write, request: &str) -> std::io::Result<Vec<u8>> {
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

/// Whether an HTTP answer of `/libpod/info` says the service runs rootless.
fn rootless_from_answer(answer: &[u8]) -> Result<bool, String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "the service's answer ended before its body".to_owned())?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the service answered `{status}` to {LIBPOD_INFO}"));
    }
    let info: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the service's answer to {LIBPOD_INFO} is not JSON: {e}"))?;
    info.pointer("/host/security/rootless")
        .and_then(serde_json::Value::as_bool)
        .ok_or_else(|| {
            format!("the service's answer to {LIBPOD_INFO} has no `host.security.rootless`")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!("HTTP/1.0 {status}\r\nContent-Type: application/json\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn the_info_answer_says_whether_the_service_is_rootless() {
        let info = |rootless: bool| {
            format!(r#"{{"host":{{"security":{{"rootless":{rootless},"seccompEnabled":true}}}}}}"#)
        };
        assert_eq!(
            rootless_from_answer(&answer("200 OK", &info(true))),
            Ok(true)
        );
        assert_eq!(
            rootless_from_answer(&answer("200 OK", &info(false))),
            Ok(false)
        );
        let refused = rootless_from_answer(&answer("404 Not Found", "{}")).unwrap_err();
        assert!(refused.contains("`HTTP/1.0 404 Not Found`"), "{refused}");
        let missing = rootless_from_answer(&answer("200 OK", r#"{"host":{}}"#)).unwrap_err();
        assert!(missing.contains("host.security.rootless"), "{missing}");
        assert!(rootless_from_answer(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(rootless_from_answer(&answer("200 OK", "not json")).is_err());
    }

    #[test]
    fn rootless_containers_get_the_network_they_need() {
        assert_eq!(rootless_network_mode(NetworkNeed::Outside), "host");
        assert_eq!(rootless_network_mode(NetworkNeed::Loopback), "none");
        assert_eq!(NetworkNeed::default(), NetworkNeed::Outside);
    }

    /// The request as a service on a Unix socket receives it, and its answer read to the
    /// end (a service of the test's own, answering as Podman does).
    #[test]
    fn the_question_is_one_get_of_libpod_info_over_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("podman.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let service = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buffer).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buffer[..n]);
            }
            let body = r#"{"host":{"security":{"rootless":true}}}"#;
            stream.write_all(&answer("200 OK", body)).unwrap();
            String::from_utf8(request).unwrap()
        });
        let host = format!("unix://{}", socket.display());
        assert_eq!(ask_rootless(&host), Ok(Some(true)));
        let request = service.join().unwrap();
        assert!(
            request.starts_with("GET /v4.0.0/libpod/info HTTP/1.0\r\n"),
            "{request}"
        );
        let error = ask_rootless(&format!(
            "unix://{}",
            dir.path().join("gone.sock").display()
        ));
        assert!(error.is_err());
        assert_eq!(ask_rootless("ssh://user@host"), Ok(None));
    }

    #[test]
    fn only_a_unix_socket_of_roots_is_taken_as_rootful_without_asking() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("podman.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let ours = std::fs::metadata(&socket).unwrap().uid() == 0;
        assert_eq!(
            socket_of_root(&format!("unix://{}", socket.display())),
            ours
        );
        assert!(!socket_of_root("unix:///no/such/podman.sock"));
        assert!(!socket_of_root("tcp://127.0.0.1:8080"));
    }
}
