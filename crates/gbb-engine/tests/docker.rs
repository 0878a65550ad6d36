//! The Docker engine through its API: imports of every stage3 compression, and the one-line
//! error when no engine answers. Needs a running engine (`scripts/test` starts one).

use std::collections::BTreeMap;
use std::process::Command;

use gbb_engine::{ContainerSpec, Docker, Engine, EngineError, ImageRef};

fn docker() -> Docker {
    let host = std::env::var("DOCKER_HOST").ok();
    Docker::connect(host.as_deref()).expect("a Docker engine answers (scripts/test starts one)")
}

/// A tiny root file system: one file.
fn root_tar(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("root.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let content = b"gentoo-bb\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "etc/marker", &content[..])
        .unwrap();
    builder.finish().unwrap();
    path
}

/// The test's names are written `repository:tag`; the engine takes them apart.
trait ParseRef {
    fn parse_ref(&self) -> ImageRef;
}

impl ParseRef for String {
    fn parse_ref(&self) -> ImageRef {
        let (repository, tag) = self.rsplit_once(':').expect("name:tag");
        ImageRef::new(repository, tag)
    }
}

#[test]
fn imports_plain_and_compressed_tarballs() {
    let engine = docker();
    let dir = tempfile::tempdir().unwrap();
    let tar = root_tar(dir.path());
    for (tool, extension) in [
        (None, "tar"),
        (Some("gzip"), "tar.gz"),
        (Some("xz"), "tar.xz"),
        (Some("bzip2"), "tar.bz2"),
    ] {
        let file = match tool {
            None => tar.clone(),
            Some(tool) => {
                let out = dir.path().join(format!("root.{extension}"));
                let compressed = Command::new(tool)
                    .arg("-c")
                    .arg(&tar)
                    .output()
                    .unwrap_or_else(|e| panic!("{tool}: {e}"));
                assert!(compressed.status.success(), "{tool} failed");
                std::fs::write(&out, compressed.stdout).unwrap();
                out
            }
        };
        let reference = format!(
            "gbb-engine-test/import-{}:{}",
            extension.replace('.', "-"),
            std::process::id()
        );
        engine.import_image(&file, &reference.parse_ref()).unwrap();
        let info = engine
            .inspect_image(&reference)
            .unwrap()
            .unwrap_or_else(|| panic!("{extension} imported"));
        assert!(info.size > 0, "{extension}: {info:?}");
        engine.remove_image(&reference).unwrap();
        assert!(engine.inspect_image(&reference).unwrap().is_none());
    }
}

#[test]
fn missing_images_are_none_and_labels_are_read() {
    let engine = docker();
    assert!(
        engine
            .inspect_image("gbb-engine-test/never-built:x")
            .unwrap()
            .is_none()
    );
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("gbb-engine-test/labels:{}", std::process::id());
    engine
        .import_image(&root_tar(dir.path()), &reference.parse_ref())
        .unwrap();
    // A container of a root without a program cannot start, but can be committed.
    let spec = ContainerSpec {
        image: reference.clone(),
        cmd: vec!["/nothing".to_owned()],
        ..ContainerSpec::default()
    };
    let container = engine.create_container(&spec).unwrap();
    let mut labels = BTreeMap::new();
    labels.insert("org.gentoo-bb.key".to_owned(), "abc".to_owned());
    let committed = format!("gbb-engine-test/committed:{}", std::process::id());
    engine
        .commit_container(&container, &committed.parse_ref(), &labels)
        .unwrap();
    engine.remove_container(&container).unwrap();
    engine.remove_container(&container).unwrap();
    let info = engine.inspect_image(&committed).unwrap().unwrap();
    assert_eq!(
        info.labels.get("org.gentoo-bb.key").map(String::as_str),
        Some("abc")
    );
    engine.remove_image(&committed).unwrap();
    engine.remove_image(&reference).unwrap();
}

#[test]
fn no_engine_is_one_clear_error() {
    let error = Docker::connect(Some("unix:///nonexistent/gbb.sock"))
        .err()
        .expect("no engine there");
    assert!(matches!(error, EngineError::Unreachable { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.starts_with("cannot reach the container engine at `unix:///nonexistent/gbb.sock`: "),
        "{text}"
    );
    let error = Docker::connect(Some("tcp://127.0.0.1:1"))
        .err()
        .expect("nothing listens on port 1");
    assert!(error.to_string().contains("`tcp://127.0.0.1:1`"), "{error}");
}

/// A root with a shell and `sleep`, from the host's own binaries (Debian's dash and
/// coreutils, with the C library they load), so that a `RUN` can run.
fn shell_root(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("shell.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    builder.follow_symlinks(true);
    for (host, inside) in [
        ("/bin/dash", "bin/sh"),
        ("/bin/sleep", "bin/sleep"),
        (
            "/lib/x86_64-linux-gnu/libc.so.6",
            "lib/x86_64-linux-gnu/libc.so.6",
        ),
        ("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
    ] {
        builder.append_path_with_name(host, inside).unwrap();
    }
    builder.finish().unwrap();
    path
}

/// A build context: a Dockerfile alone.
fn context(dir: &std::path::Path, dockerfile: &str) -> std::path::PathBuf {
    let path = dir.join("context.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    builder.finish().unwrap();
    path
}

/// Issue 9, item 8: `cancel` stops a running image build at once, says what it stopped, and
/// the engine removes the `RUN`'s container (Docker 20.10's classic builder does, once the
/// request's connection closes).
#[test]
fn cancel_stops_a_running_build_at_once() {
    let engine = std::sync::Arc::new(docker());
    let dir = tempfile::tempdir().unwrap();
    let base = format!("gbb-engine-test/shell:{}", std::process::id());
    engine
        .import_image(&shell_root(dir.path()), &base.parse_ref())
        .unwrap();
    let marker = format!("gbb-engine-test-cancel-{}", std::process::id());
    let request = gbb_engine::BuildRequest {
        context: context(
            dir.path(),
            &format!("FROM {base}\nRUN echo {marker} && sleep 60\n"),
        ),
        dockerfile: "Dockerfile".to_owned(),
        tags: vec![ImageRef::new(
            "gbb-engine-test/cancelled",
            std::process::id().to_string(),
        )],
        labels: BTreeMap::new(),
    };
    let building = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let result = engine.build_image(&request, &mut |_| {});
            (result, started.elapsed())
        })
    };
    // Wait for the RUN's container.
    let started = std::time::Instant::now();
    let run_container = loop {
        let listed = Command::new("docker")
            .args(["ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        if let Some(line) = listed.lines().find(|l| l.contains(&marker)) {
            break line.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the RUN did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let stopped = engine.cancel();
    assert_eq!(
        stopped,
        [format!(
            "building `gbb-engine-test/cancelled:{}`",
            std::process::id()
        )]
    );
    let (result, took) = building.join().unwrap();
    assert!(
        matches!(result, Err(EngineError::Cancelled { .. })),
        "{result:?}"
    );
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    let gone = std::time::Instant::now();
    while Command::new("docker")
        .args(["container", "inspect", &run_container])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            gone.elapsed() < std::time::Duration::from_secs(15),
            "the RUN's container {run_container} is still there"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Cancelled for good: a later build stops at once too.
    let again = engine.build_image(
        &gbb_engine::BuildRequest {
            context: context(dir.path(), &format!("FROM {base}\n")),
            dockerfile: "Dockerfile".to_owned(),
            tags: vec![ImageRef::new(
                "gbb-engine-test/again",
                std::process::id().to_string(),
            )],
            labels: BTreeMap::new(),
        },
        &mut |_| {},
    );
    assert!(matches!(again, Err(EngineError::Cancelled { .. })));
    docker().remove_image(&base).unwrap();
}

/// An image a container still uses: a plain removal is `InUse`; a forced one takes the
/// name away and, on Docker, leaves the container (and the image, untagged) as they are.
#[test]
fn forced_removal_takes_the_name_of_an_image_a_container_uses() {
    let engine = docker();
    let dir = tempfile::tempdir().unwrap();
    let image = format!("gbb-engine-test/forced:{}", std::process::id());
    engine
        .import_image(&root_tar(dir.path()), &image.parse_ref())
        .unwrap();
    let label = format!("gbb-engine-test.forced={}", std::process::id());
    let (key, value) = label.split_once('=').unwrap();
    let container = engine
        .create_container(&ContainerSpec {
            image: image.clone(),
            cmd: vec!["/bin/true".to_owned()],
            labels: BTreeMap::from([(key.to_owned(), value.to_owned())]),
            ..ContainerSpec::default()
        })
        .unwrap();
    let plain = engine.remove_image(&image);
    let forced = engine.force_remove_image(&image);
    let listed = engine.containers_with_label(&label).unwrap();
    engine.remove_container(&container).unwrap();
    assert!(matches!(plain, Err(EngineError::InUse { .. })), "{plain:?}");
    forced.unwrap();
    assert!(engine.inspect_image(&image).unwrap().is_none());
    assert_eq!(listed.len(), 1, "{listed:?}");
}
