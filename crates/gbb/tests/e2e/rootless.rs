//! Issue 13: gbb run by a user who is not root, on that user's rootless Podman.
//!
//! `scripts/setup-test-machine` makes the user (`gbbrootless`, with subordinate ids) and
//! starts its `podman system service` on `$XDG_RUNTIME_DIR/podman/podman.sock`; this test runs
//! the gbb binary as that user (no capability, not in the engine's group, so no other engine
//! answers it) and finds the service the way Podman's clients do. The user builds a parent
//! and a child with a core of the stack's own (`-C`, so that cleaning the stack removes
//! everything it made from the user's storage), the parent under a seccomp profile of the
//! stack's (Podman reads it from a file gbb writes). The test checks: the images are in the
//! user's Podman storage and nowhere else, and run; what the build containers wrote into
//! gbb's cache and the stack belongs to the user (root in the container is the user
//! outside); phase 1 ran in the host's network (`host`: emerge fetches inside the build
//! container), `build-test.sh` and the health check in a network of their own with only a
//! loopback interface (`none`), where the image's server listens on port 80; `gbb clean
//! --images` leaves nothing of the stack behind. It names its engine itself (`--engine
//! podman`, the user's socket), so `scripts/test` runs it once, in the Docker pass.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::E2eStack;

/// The user `scripts/setup-test-machine` makes for this test.
const USER: &str = "gbbrootless";

/// The user's uid, gid and home, from the password database.
fn user() -> (u32, u32, PathBuf) {
    let entry = Command::new("getent")
        .args(["passwd", USER])
        .output()
        .expect("getent runs");
    let line = String::from_utf8_lossy(&entry.stdout).into_owned();
    let fields: Vec<&str> = line.trim().split(':').collect();
    assert!(
        entry.status.success() && fields.len() >= 6,
        "the user `{USER}` is missing: run scripts/setup-test-machine"
    );
    (
        fields[2].parse().unwrap(),
        fields[3].parse().unwrap(),
        PathBuf::from(fields[5]),
    )
}

/// The docker command against the engine at `host`.
fn docker_at(host: &str, args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .expect("the docker command runs")
}

/// Every path below `dir` (itself included) whose owner is not `uid`.
fn not_owned_by(dir: &Path, uid: u32) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let meta = std::fs::symlink_metadata(dir).unwrap();
    if meta.uid() != uid {
        found.push(dir.to_owned());
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            found.extend(not_owned_by(&entry.unwrap().path(), uid));
        }
    }
    found
}

/// The user's images whose names start with `prefix`.
fn images_named(socket: &str, prefix: &str) -> Vec<String> {
    let listed = docker_at(socket, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(listed.status.success(), "{listed:?}");
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|name| gbb_engine::short_name(name).to_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// Runs `gbb ARGS` in the stack as the user, with the environment such a user has.
fn gbb_as_user(stack: &E2eStack, build_root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (uid, gid, home) = user();
    let mut all = vec!["--engine", "podman"];
    all.extend_from_slice(args);
    let output = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--init-groups",
            "--",
            env!("CARGO_BIN_EXE_gbb"),
        ])
        .args(&all)
        .current_dir(stack.root())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("USER", USER)
        .env("XDG_RUNTIME_DIR", format!("/run/user/{uid}"))
        .env("GBB_TEST_BUILD_ROOT", build_root)
        .env("GBB_USER_CONFIG", "")
        .env("NO_COLOR", "1")
        .output()
        .expect("setpriv runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Whatever happens, what the user's build made goes: the stack's images and own core from
/// the user's storage, its binary packages from the user's cache.
struct UserCleanup<'a> {
    stack: &'a E2eStack,
    build_root: PathBuf,
    packages: PathBuf,
}

impl Drop for UserCleanup<'_> {
    fn drop(&mut self) {
        let _ = gbb_as_user(self.stack, &self.build_root, &["clean", "--images"]);
        let _ = std::fs::remove_dir_all(&self.packages);
    }
}

#[test]
fn a_user_builds_on_rootless_podman() {
    let (uid, gid, home) = user();
    let socket = format!("unix:///run/user/{uid}/podman/podman.sock");
    let answer = docker_at(&socket, &["version", "--format", "{{.Server.Version}}"]);
    assert!(
        answer.status.success(),
        "{USER}'s rootless Podman does not answer at `{socket}`: run scripts/setup-test-machine ({})",
        String::from_utf8_lossy(&answer.stderr)
    );
    let stack = E2eStack::new();
    let top = stack.root().parent().unwrap().to_owned();
    // The parent, busybox; the child on it records, from its phase 1 hook, who it ran as and
    // in which network namespace, and its build-test.sh checks its own network.
    stack.with_child("busybox");
    // The parent's phase 1 under a seccomp profile of the stack's: Podman reads it from a file
    // gbb writes, which the user's service must be able to read.
    let busybox_conf = stack.image_dir("busybox").join("build.conf");
    let conf_text = std::fs::read_to_string(&busybox_conf).unwrap();
    std::fs::write(&busybox_conf, conf_text + "BUILDER_SECCOMP=allow.json\n").unwrap();
    stack.write(
        "busybox",
        "allow.json",
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n",
    );
    let kid = stack.id("busybox-kid");
    stack.write(
        "busybox-kid",
        "build.sh",
        "_packages=\"\"\n\
         finish_rootfs_build() {\n\
         \x20   id -u > \"${_EMERGE_ROOT}/built-as-uid\"\n\
         \x20   readlink /proc/self/ns/net > \"${_EMERGE_ROOT}/built-in-net\"\n\
         }\n",
    );
    // Its health check asks a web server the image starts on port 80 of its own loopback
    // (a port only a network namespace of the container's own lets its root open).
    stack.write(
        "busybox-kid",
        "build.conf",
        &format!(
            "IMAGE_PARENT=\"{}\"\nPOST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION=30\n",
            stack.id("busybox")
        ),
    );
    stack.write(
        "busybox-kid",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n\
         CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/\"]\n\
         HEALTHCHECK --interval=1s --timeout=2s --retries=3 \
         CMD [\"/bin/busybox\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1/built-as-uid\"]\n",
    );
    stack.write(
        "busybox-kid",
        "build-test.sh",
        "#!/bin/sh\n\
         # A network namespace of its own (not phase 1's), with a loopback interface only.\n\
         set -e\n\
         test \"$(busybox readlink /proc/self/ns/net)\" != \"$(busybox cat /built-in-net)\"\n\
         test \"$(busybox tail -n +3 /proc/net/dev | busybox wc -l)\" -eq 1\n\
         busybox grep -q '^ *lo:' /proc/net/dev\n",
    );
    // The stack, and the user's own copy of the portage tree (the repository may lie where
    // the user cannot read), are the user's.
    let portage = top.join("portage");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/portage"))
        .arg(&portage)
        .status()
        .unwrap();
    assert!(copied.success());
    let conf = stack.root().join("build.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text
        .lines()
        .map(|line| {
            if line.starts_with("PORTAGE_DIR=") {
                format!("PORTAGE_DIR=\"{}\"", portage.display())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&conf, text + "\n").unwrap();
    let owned = Command::new("chown")
        .args(["-R", &format!("{uid}:{gid}")])
        .arg(&top)
        .status()
        .unwrap();
    assert!(owned.success());
    // The test build root lies under root's home: a second name for it (made after the chown,
    // which would otherwise give the user root's file) where the user may read it.
    // (The build root is usually a link to a file named by its content: its target.)
    let original = std::fs::canonicalize(stack.build_root()).unwrap();
    let build_root = top.join("test-build-root.tar");
    if std::fs::hard_link(&original, &build_root).is_err() {
        std::fs::copy(&original, &build_root).unwrap();
    }

    let cache = home.join(".cache/gbb");
    let _cleanup = UserCleanup {
        stack: &stack,
        build_root: build_root.clone(),
        packages: cache.join("packages").join(&stack.ns),
    };
    let own_cores = || images_named(&socket, "gbb-core/").len();
    let cores_before = own_cores();
    let (code, stderr) = gbb_as_user(&stack, &build_root, &["build", "-C", &kid]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("waiting for its HEALTHCHECK"), "{stderr}");

    // In the user's storage, under the user's home, and on no other engine.
    let image = format!("{kid}:latest");
    let inspected = docker_at(
        &socket,
        &[
            "image",
            "inspect",
            "--format",
            "{{.GraphDriver.Data.UpperDir}}",
            &image,
        ],
    );
    assert!(inspected.status.success(), "{inspected:?}");
    let layer = String::from_utf8_lossy(&inspected.stdout).trim().to_owned();
    assert!(
        layer.starts_with(&format!("{}/.local/share/containers/", home.display())),
        "the image's layer is at `{layer}`"
    );
    for other in [gbb_engine::ROOTFUL_SOCKET, "unix:///var/run/docker.sock"] {
        assert!(
            !docker_at(other, &["image", "inspect", &image])
                .status
                .success(),
            "`{image}` is on `{other}` too"
        );
    }
    // It runs; its phase 1 ran as root in the user's namespace, in the host's network.
    let read = |file: &str| {
        let ran = docker_at(
            &socket,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "/bin/busybox",
                &image,
                "cat",
                file,
            ],
        );
        assert!(ran.status.success(), "{ran:?}");
        String::from_utf8_lossy(&ran.stdout).trim().to_owned()
    };
    assert_eq!(read("/built-as-uid"), "0");
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(read("/built-in-net"), host_net.to_string_lossy());

    // What the containers made is the user's: the binary packages in the user's cache, the
    // outputs and PACKAGES.md in the stack.
    let packages = cache.join("packages").join(&stack.ns);
    let package_files = walkdir_files(&packages);
    assert!(
        package_files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".gpkg.tar")),
        "busybox's binary package is cached: {package_files:?}"
    );
    for dir in [
        packages.clone(),
        stack.output_dir("busybox"),
        stack.output_dir("busybox-kid"),
        stack.image_dir("busybox").join("PACKAGES.md"),
    ] {
        assert_eq!(
            not_owned_by(&dir, uid),
            Vec::<PathBuf>::new(),
            "not the user's"
        );
    }

    // Cleaning the stack removes its images, kept states and own core from the user's
    // storage.
    let (code, stderr) = gbb_as_user(&stack, &build_root, &["clean", "--images"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        images_named(&socket, &format!("{}/", stack.ns)),
        Vec::<String>::new()
    );
    assert_eq!(own_cores(), cores_before, "the stack's own core is gone");
}

/// Every regular file below `dir`.
fn walkdir_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walkdir_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}
