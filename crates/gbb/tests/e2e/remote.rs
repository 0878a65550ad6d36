//! Issue 13: gbb against a remote Docker engine, `DOCKER_HOST=tcp://127.0.0.1:<port>` with
//! TLS (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), certificates made here with `openssl`. The
//! engine is a dockerd of the test's own (its own data root, exec root and port, a bridge of
//! its own, no iptables, so the machine's dockerd is not touched: `--bridge=none` would delete
//! the machine's `docker0`, which dockerd does at start to clean up), started in a mount
//! namespace where
//! `/tmp`, `/work` and `/root` are empty: no folder of the client's (the stack, the portage
//! tree, gbb's cache, the test build root) exists on the engine's side, so a build that
//! bind-mounted any of them would fail. gbb ships them in volumes instead (gbb-engine's
//! `remote.rs`). It names its engine itself (`--engine docker`), so `scripts/test` runs it
//! once, in the Docker pass.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::E2eStack;

fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

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

/// The test's dockerd, stopped and its folders and bridge removed when dropped.
struct Dockerd {
    child: Child,
    bridge: String,
    state: PathBuf,
    exec_root: PathBuf,
    host: String,
    certs: PathBuf,
}

impl Dockerd {
    fn start() -> Self {
        let id = format!("gbb-remote-{}", std::process::id());
        let state = PathBuf::from("/var/lib").join(&id);
        let exec_root = PathBuf::from("/run").join(&id);
        let certs = state.join("certs");
        certificates(&certs);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("tcp://127.0.0.1:{port}");
        // A bridge of its own (a name of at most 15 bytes, a subnet of its own).
        let bridge = format!("gbbr{}", std::process::id() % 100_000);
        let subnet = 20 + std::process::id() % 200;
        run("ip", &["link", "add", &bridge, "type", "bridge"], &state);
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("10.231.{subnet}.1/24"),
                "dev",
                &bridge,
            ],
            &state,
        );
        run("ip", &["link", "set", &bridge, "up"], &state);
        let script = format!(
            "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /work && mount -t tmpfs tmpfs /root && exec dockerd --data-root {state}/data --exec-root {exec} --pidfile {exec}/dockerd.pid -H {host} --tlsverify --tlscacert {certs}/ca.pem --tlscert {certs}/server-cert.pem --tlskey {certs}/server-key.pem --bridge={bridge} --iptables=false --ip-masq=false",
            state = state.display(),
            exec = exec_root.display(),
            certs = certs.display(),
        );
        let log = std::fs::File::create(state.join("dockerd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("unshare runs");
        let dockerd = Self {
            child,
            bridge,
            state,
            exec_root,
            host,
            certs,
        };
        let started = Instant::now();
        while !dockerd.docker(&["version"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the test's dockerd did not start: {}",
                std::fs::read_to_string(dockerd.state.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        dockerd
    }

    /// The docker command against this engine, over TLS.
    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &self.certs)
            .output()
            .expect("the docker command runs")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // dockerd is the shell's exec: the child itself.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_dir_all(&self.exec_root);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
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
