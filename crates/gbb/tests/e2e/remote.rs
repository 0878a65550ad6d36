//! Issue 13: gbb against a remote Docker engine, `DOCKER_HOST=tcp://127.0.0.1:<port>` with
//! TLS (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), certificates made here with `openssl`. The
//! engine is a dockerd of the test's own where no folder of the client's exists
//! (`isolated_engine.rs`), so a build that bind-mounted any of them would fail; gbb ships them
//! in volumes instead (gbb-engine's `remote.rs`). It names its engine itself (`--engine
//! docker`), so `scripts/test` runs it once, in the Docker pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::E2eStack;
use crate::isolated_engine::{IsolatedDockerd, free_port, run};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as `DOCKER_CERT_PATH`
/// names them (`ca.pem`, `cert.pem`, `key.pem`) and dockerd takes them.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=gbb-test-ca",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ],
        dir,
    );
    for (name, key, subject, ext) in [
        ("server", "server-key.pem", "/CN=127.0.0.1", "server.ext"),
        ("client", "key.pem", "/CN=gbb-test-client", "client.ext"),
    ] {
        let csr = format!("{name}.csr");
        run(
            "openssl",
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out",
                &csr,
            ],
            dir,
        );
        let cert = if name == "server" {
            "server-cert.pem"
        } else {
            "cert.pem"
        };
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                ext,
                "-out",
                cert,
            ],
            dir,
        );
    }
}

/// The test's engine, over TLS.
struct Dockerd {
    _engine: IsolatedDockerd,
    host: String,
    certs: PathBuf,
}

impl Dockerd {
    fn start() -> Self {
        let mut engine = IsolatedDockerd::new("remote", 231);
        let certs = engine.file("certs");
        certificates(&certs);
        let host = format!("tcp://127.0.0.1:{}", free_port());
        let listen = format!(
            "-H {host} --tlsverify --tlscacert {certs}/ca.pem --tlscert {certs}/server-cert.pem \
             --tlskey {certs}/server-key.pem",
            certs = certs.display(),
        );
        engine.start("", &listen, || {
            docker_over_tls(&host, &certs, &["version"])
                .status
                .success()
        });
        Self {
            _engine: engine,
            host,
            certs,
        }
    }

    /// The docker command against this engine, over TLS.
    fn docker(&self, args: &[&str]) -> std::process::Output {
        docker_over_tls(&self.host, &self.certs, args)
    }
}

/// The docker command against the engine at `host`, with the client certificates in `certs`.
fn docker_over_tls(host: &str, certs: &Path, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", certs)
        .output()
        .expect("the docker command runs")
}

#[test]
fn builds_on_a_remote_engine_over_tls_without_bind_mounts() {
    let dockerd = Dockerd::start();
    let stack = E2eStack::new();
    let cache = tempfile::tempdir().unwrap();
    let busybox = stack.id("busybox");
    // A child, so that busybox keeps a builder state to look into (a leaf keeps none).
    stack.with_child("busybox");
    let build = |args: &[&str]| {
        let mut all = vec!["--engine", "docker", "build"];
        all.extend_from_slice(args);
        let output = stack
            .command(&all)
            .env("DOCKER_HOST", &dockerd.host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &dockerd.certs)
            .env("GBB_CACHE_DIR", cache.path())
            .output()
            .expect("gbb runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = build(&[&busybox]);
    assert_eq!(code, Some(0), "{stderr}");
    // On the remote engine, and only there.
    let image = format!("{busybox}:latest");
    assert!(
        dockerd
            .docker(&["image", "inspect", &image])
            .status
            .success()
    );
    assert!(
        !Command::new("docker")
            .args(["image", "inspect", &image])
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap()
            .status
            .success(),
        "not on the machine's own engine"
    );
    let ran = dockerd.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/busybox",
        &image,
        "true",
    ]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    // What came back through the archive API is where a local build puts it.
    assert!(stack.output_dir("busybox").join("rootfs.tar").is_file());
    assert!(stack.image_dir("busybox").join("PACKAGES.md").is_file());
    // The kept builder state holds none of the shipped folders: they were volumes.
    let state = format!("{}/bob-busybox:latest", stack.ns);
    let listed = dockerd.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        &state,
        "-c",
        "ls -A /config /var/db/repos/gentoo /gbb-out 2>/dev/null | grep -v : | grep -c . || true",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "0",
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    // Unchanged: skipped without a container.
    let (code, stderr) = build(&[&busybox]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("skipped (up to date)"), "{stderr}");
    // No volume left behind.
    let volumes = dockerd.docker(&["volume", "ls", "-q"]);
    assert_eq!(String::from_utf8_lossy(&volumes.stdout).trim(), "");
}
