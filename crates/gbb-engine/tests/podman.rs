//! Podman through its Docker-compatible API: each difference from Docker that gbb handles
//! (see `src/podman.rs`), on a real Podman service. Needs `podman system service` on the
//! rootful socket (`scripts/test` starts one, with `default_ulimits = []`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use gbb_engine::{ContainerSpec, Docker, Engine, EngineError, ImageRef, PodmanPlaces};

fn podman() -> Docker {
    Docker::connect_podman(&PodmanPlaces {
        container_host: std::env::var("CONTAINER_HOST").ok(),
        xdg_runtime_dir: None,
    })
    .expect("a Podman service answers (scripts/test starts one)")
}

fn tag() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::thread::current().name().unwrap_or("t").len()
    )
}

/// A root with a static program (compiled here with the host's `cc`): `/bin/hello` exits 0,
/// `/bin/hello --wait` sleeps forever, `/bin/hello --fail` exits 1.
fn program_root(dir: &std::path::Path) -> std::path::PathBuf {
    let source = dir.join("hello.c");
    std::fs::write(
        &source,
        "#include <string.h>\n#include <unistd.h>\nint main(int c, char **v) {\n  if (c > 1 && !strcmp(v[1], \"--wait\")) for (;;) sleep(1);\n  return c > 1 && !strcmp(v[1], \"--fail\");\n}\n",
    )
    .unwrap();
    let program = dir.join("hello");
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&program)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc -static failed");
    let path = dir.join("root.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    builder
        .append_path_with_name(&program, "bin/hello")
        .unwrap();
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

/// Import keeps the tag (Podman's import ignores `tag`) and leaves no copy of the upload
/// behind (Podman's compatible import does), a container runs (its default
/// ulimits are dropped), commit keeps labels (Podman ignores the body's labels) including a
/// JSON value, and listings give names without the `docker.io/` Podman adds.
#[test]
fn import_run_commit_and_list_as_on_docker() {
    let engine = podman();
    assert!(
        engine.describe().starts_with("podman "),
        "{}",
        engine.describe()
    );
    let dir = tempfile::tempdir().unwrap();
    let tag = tag();
    let base = ImageRef::new("gbb-podman-test/base", format!("import-{tag}"));
    let started = std::time::SystemTime::now() - Duration::from_secs(1);
    engine
        .import_image(&program_root(dir.path()), &base)
        .unwrap();
    assert!(
        engine.inspect_image(&base.to_string()).unwrap().is_some(),
        "imported with its tag"
    );
    // Named as the compatible API names it, not under libpod's `localhost/`.
    let qualified = format!("docker.io/{base}");
    let status = Command::new("podman")
        .args(["image", "exists", &qualified])
        .status()
        .expect("podman runs");
    assert!(status.success(), "{qualified} exists");
    // The compatible import kept every upload in the service's temporary folder; the import
    // gbb sends leaves nothing there.
    let kept: Vec<_> = std::fs::read_dir("/var/tmp")
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("api_load.tar")
        })
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= started)
        })
        .map(|entry| entry.path())
        .collect();
    assert!(kept.is_empty(), "uploads left behind: {kept:?}");

    let label = format!("org.gentoo-bb.test={tag}");
    let spec = ContainerSpec {
        image: base.to_string(),
        cmd: vec!["/bin/hello".to_owned()],
        labels: BTreeMap::from([("org.gentoo-bb.test".to_owned(), tag.clone())]),
        ..ContainerSpec::default()
    };
    let container = engine.create_container(&spec).unwrap();
    assert_eq!(engine.run_container(&container, &mut |_| {}).unwrap(), 0);
    let labels = BTreeMap::from([
        ("org.gentoo-bb.key".to_owned(), "abc".to_owned()),
        (
            "org.gentoo-bb.key-inputs".to_owned(),
            r#"{"files":{"build.sh":"a b"},"x":"c=d"}"#.to_owned(),
        ),
        ("org.gentoo-bb.empty".to_owned(), String::new()),
    ]);
    let committed = ImageRef::new("gbb-podman-test/committed", tag.clone());
    engine
        .commit_container(&container, &committed, &labels)
        .unwrap();
    engine.remove_container(&container).unwrap();
    let info = engine
        .inspect_image(&committed.to_string())
        .unwrap()
        .unwrap();
    for (key, value) in &labels {
        assert_eq!(info.labels.get(key), Some(value), "{key}");
    }
    let listed = engine.images_with_label(&label).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].tags, [committed.to_string()]);

    engine.remove_image(&committed.to_string()).unwrap();
    engine.remove_image(&base.to_string()).unwrap();
}

/// Podman runs no HEALTHCHECK without systemd; gbb runs it itself: a passing check reports
/// `healthy`, a failing one `unhealthy` after its retries.
#[test]
fn health_checks_run_without_systemd() {
    let engine = podman();
    let dir = tempfile::tempdir().unwrap();
    let tag = tag();
    let base = ImageRef::new("gbb-podman-test/hc-base", tag.clone());
    engine
        .import_image(&program_root(dir.path()), &base)
        .unwrap();
    for (name, check, expected) in [
        ("hc-pass", "[\"/bin/hello\"]", "healthy"),
        ("hc-fail", "[\"/bin/hello\", \"--fail\"]", "unhealthy"),
    ] {
        let image = ImageRef::new(format!("gbb-podman-test/{name}"), tag.clone());
        let request = gbb_engine::BuildRequest {
            context: context(
                dir.path(),
                &format!(
                    "FROM {base}\nENTRYPOINT [\"/bin/hello\"]\nCMD [\"--wait\"]\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD {check}\n"
                ),
            ),
            dockerfile: "Dockerfile".to_owned(),
            tags: vec![image.clone()],
            labels: BTreeMap::new(),
        };
        engine.build_image(&request, &mut |_| {}).unwrap();
        let container = engine
            .create_container(&ContainerSpec {
                image: image.to_string(),
                ..ContainerSpec::default()
            })
            .unwrap();
        engine.start_container(&container).unwrap();
        let started = Instant::now();
        let status = loop {
            let status = engine.container_health(&container).unwrap();
            match status.as_deref() {
                Some("starting") if started.elapsed() < Duration::from_secs(20) => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                _ => break status,
            }
        };
        engine.remove_container(&container).unwrap();
        assert_eq!(status.as_deref(), Some(expected), "{name}");
        engine.remove_image(&image.to_string()).unwrap();
    }
    engine.remove_image(&base.to_string()).unwrap();
}

/// No service on any socket: one error naming each socket tried and how to start one.
#[test]
fn no_service_names_the_sockets_tried() {
    let error = Docker::connect_podman(&PodmanPlaces {
        container_host: Some("unix:///nonexistent/podman.sock".to_owned()),
        xdg_runtime_dir: None,
    })
    .err()
    .expect("no service there");
    assert!(matches!(error, EngineError::PodmanUnreachable { .. }));
    let text = error.to_string();
    assert!(
        text.starts_with(
            "no Podman service answers (tried `unix:///nonexistent/podman.sock`: no such socket)"
        ),
        "{text}"
    );
    assert!(text.contains("podman system service"), "{text}");
}

/// A Podman service whose containers.conf keeps the default ulimits, on this machine whose
/// hard open-files limit is lower: starting a container fails, in one line with the fix.
#[test]
fn default_ulimits_above_the_hard_limit_are_explained() {
    let hard = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard: u64 = String::from_utf8_lossy(&hard.stdout)
        .trim()
        .parse()
        .unwrap_or(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("containers.conf");
    // Podman's default, written out, so the test does not depend on the machine's files.
    std::fs::write(
        &conf,
        "[containers]\ndefault_ulimits = [\"nofile=1048576:1048576\"]\n",
    )
    .unwrap();
    let socket = dir.path().join("podman.sock");
    let mut service = Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .env("CONTAINERS_CONF", &conf)
        .spawn()
        .expect("podman runs");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let engine = Docker::connect_podman(&PodmanPlaces {
        container_host: Some(format!("unix://{}", socket.display())),
        xdg_runtime_dir: None,
    });
    let outcome = engine.map(|engine| {
        let tag = tag();
        let base = ImageRef::new("gbb-podman-test/ulimits", tag);
        engine
            .import_image(&program_root(dir.path()), &base)
            .unwrap();
        let container = engine
            .create_container(&ContainerSpec {
                image: base.to_string(),
                cmd: vec!["/bin/hello".to_owned()],
                ..ContainerSpec::default()
            })
            .unwrap();
        let run = engine.run_container(&container, &mut |_| {});
        engine.remove_container(&container).unwrap();
        engine.remove_image(&base.to_string()).unwrap();
        run
    });
    let _ = service.kill();
    let _ = service.wait();
    let run = outcome.expect("the test's service answers");
    if hard >= 1_048_576 {
        assert_eq!(
            run.unwrap(),
            0,
            "a machine whose hard limit allows Podman's default"
        );
        return;
    }
    let error = run
        .expect_err("the default ulimits exceed the hard limit")
        .to_string();
    assert!(error.contains("set `default_ulimits = []`"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

/// An image a container still uses: a plain removal is `InUse`; a forced one removes the
/// image and, on Podman, the container with it. (Podman can also leave a container only in
/// its storage, unlisted, when removing it fails halfway; the forced removal is for that,
/// but no API call makes such a container on purpose, so this test cannot.)
#[test]
fn forced_removal_takes_an_image_and_the_containers_using_it() {
    let engine = podman();
    let dir = tempfile::tempdir().unwrap();
    let image = ImageRef::new("gbb-podman-test/forced", tag());
    engine
        .import_image(&program_root(dir.path()), &image)
        .unwrap();
    let label = format!("gbb-podman-test.forced={}", tag());
    let (key, value) = label.split_once('=').unwrap();
    let container = engine
        .create_container(&ContainerSpec {
            image: image.to_string(),
            cmd: vec!["/bin/hello".to_owned()],
            labels: BTreeMap::from([(key.to_owned(), value.to_owned())]),
            ..ContainerSpec::default()
        })
        .unwrap();
    let plain = engine.remove_image(&image.to_string());
    let forced = engine.force_remove_image(&image.to_string());
    let listed = engine.containers_with_label(&label).unwrap();
    engine.remove_container(&container).unwrap();
    assert!(matches!(plain, Err(EngineError::InUse { .. })), "{plain:?}");
    forced.unwrap();
    assert!(engine.inspect_image(&image.to_string()).unwrap().is_none());
    assert!(listed.is_empty(), "{listed:?}");
}
