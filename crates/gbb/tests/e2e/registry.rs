//! `gbb push` against a real registry (Debian's docker-registry, started by the test on
//! 127.0.0.1), and `gbb clean`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::E2eStack;

/// A registry on a free port of 127.0.0.1, with its storage in a temporary folder; stopped
/// when dropped.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs (scripts/test installs it)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the registry did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// Each blob file the registry stores, with its inode and modification time (a blob
    /// sent again is written again).
    fn blobs(&self) -> Vec<(std::path::PathBuf, u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt;
        fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u64, i64, i64)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    walk(&entry.path(), out);
                } else {
                    out.push((entry.path(), meta.ino(), meta.mtime(), meta.mtime_nsec()));
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &self._dir.path().join("data/docker/registry/v2/blobs"),
            &mut out,
        );
        out.sort();
        out
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `GET path` on the registry's HTTP API; the body.
    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_sends_tags_and_skips_layers_the_registry_has() {
    let registry = Registry::start();
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let run = stack.gbb(&["push", &hello, "--registry", &registry.address()]);
    assert_eq!(run.code, Some(2), "not built yet: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "`{hello}:latest` is not built; run: gbb build {hello}"
        )),
        "{}",
        run.stderr
    );

    stack.gbb(&["build", &hello]).success();
    let run = stack.gbb(&[
        "push",
        &hello,
        "--registry",
        &registry.address(),
        "--insecure",
    ]);
    run.success();
    assert!(
        run.stderr
            .contains(&format!("pushed {}/{hello}:2026.11", registry.address())),
        "{}",
        run.stderr
    );
    let tags = registry.get(&format!("/v2/{hello}/tags/list"));
    assert!(
        tags.contains("\"latest\"") && tags.contains("\"2026.11\""),
        "{tags}"
    );
    // The registry's names are not left behind locally.
    assert!(stack.image_id("hello:latest").is_some());
    let local = crate::harness::docker(&["images", "--format", "{{.Repository}}"]);
    assert!(
        !local.lines().any(|r| r.starts_with(&registry.address())),
        "{local}"
    );

    // Again: the blobs are there already (the image is pushed from gbb's store, see
    // image_outputs.rs), on either engine.
    let blobs = registry.blobs();
    assert!(!blobs.is_empty());
    let run = stack.gbb(&[
        "-v",
        "push",
        &hello,
        "--registry",
        &registry.address(),
        "--insecure",
    ]);
    run.success();
    assert!(run.stderr.contains("(0 of 2 blobs sent"), "{}", run.stderr);
    assert_eq!(registry.blobs(), blobs, "no blob was sent again");
}

#[test]
fn clean_removes_the_stacks_files_and_images_only() {
    let stack = E2eStack::new();
    // Both keep a state (a child builds in each), which clean removes with its image.
    stack.with_child("hello");
    stack.with_child("busybox");
    let hello = stack.id("hello");
    let busybox = stack.id("busybox");
    stack.gbb(&["build", &hello, &busybox]).success();
    assert!(stack.output_dir("hello").join("rootfs.tar").is_file());

    let run = stack.gbb(&["clean", "--images", &hello]);
    run.success();
    assert!(
        !stack.output_dir("hello").exists(),
        "phase 1 outputs are gone"
    );
    for gone in ["hello:latest", "hello:2026.11", "bob-hello:latest"] {
        assert!(stack.image_id(gone).is_none(), "{gone}: {}", run.stderr);
    }
    for kept in ["busybox:latest", "bob:latest", "bob-busybox:latest"] {
        assert!(
            stack.image_id(kept).is_some(),
            "{kept} was not asked for: {}",
            run.stderr
        );
    }
    assert!(
        stack.image_dir("hello").join("build.conf").is_file(),
        "the stack's own files stay"
    );

    stack.gbb(&["clean", "--images"]).success();
    for gone in ["busybox:latest", "bob:latest", "bob-busybox:latest"] {
        assert!(stack.image_id(gone).is_none(), "{gone}");
    }
    let cores = crate::harness::docker(&["images", "--format", "{{.Repository}}"]);
    assert!(
        cores.lines().any(|r| r.starts_with("gbb-core/")),
        "cores are shared and stay"
    );
    // A clean stack builds again.
    stack.gbb(&["build", &hello]).success();
}
