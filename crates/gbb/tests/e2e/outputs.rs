//! What a build container leaves in `/gbb-out` never reaches the host's files, and a failed
//! step (or a full disk) leaves the previous state, image tags and outputs exactly as they
//! were. See: issue 9, items 1, 2, 9 and 10.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{E2eStack, Run};

const HELLO_PACKAGES: &str = "_packages=\"app-misc/hello-static\"\n";

/// A host file a hook aims at, with content that must stay as it is. It lives under a folder
/// of its own in `/tmp`, which the hook makes inside the container too, so that the
/// container's own writes through the link succeed (as a real attacker would make sure).
struct Canary {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

const SECRET: &str = "canary-secret-line\n";

impl Canary {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gbb-canary-")
            .tempdir_in("/tmp")
            .unwrap();
        let path = dir.path().join("shadow");
        std::fs::write(&path, SECRET).unwrap();
        Self { _dir: dir, path }
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap()
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert_eq!(
            std::fs::read_to_string(&self.path).unwrap(),
            SECRET,
            "the host file behind the planted link changed"
        );
    }
}

/// hello's build.sh with a `finish_rootfs_build` hook of `body`.
fn hello_with_hook(stack: &E2eStack, body: &str) {
    stack.write(
        "hello",
        "build.sh",
        &format!("{HELLO_PACKAGES}finish_rootfs_build() {{\n{body}\n}}\n"),
    );
}

/// What the stack's kept state of an image is now: the state's and the image's ids, and
/// the bytes of its kept outputs.
#[derive(Debug, PartialEq, Eq)]
struct Kept {
    state: Option<String>,
    image: Option<String>,
    /// Size and hash of `rootfs.tar`.
    rootfs: Option<(usize, u64)>,
    key: Option<String>,
    packages: Option<String>,
    /// The kept SBOM documents.
    sboms: [Option<String>; 2],
}

fn kept(stack: &E2eStack, name: &str) -> Kept {
    let out = stack.output_dir(name);
    Kept {
        state: stack.image_id(&format!("bob-{name}:latest")),
        image: stack.image_id(&format!("{name}:latest")),
        rootfs: std::fs::read(out.join("rootfs.tar")).ok().map(|bytes| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            (bytes.len(), hasher.finish())
        }),
        key: std::fs::read_to_string(out.join("key")).ok(),
        packages: std::fs::read_to_string(out.join("packages.tsv")).ok(),
        sboms: ["sbom.spdx.json", "sbom.cdx.json"]
            .map(|name| std::fs::read_to_string(out.join(name)).ok()),
    }
}

/// Nothing of a run is left: no container, no candidate, no run folder. `said` is what gbb
/// printed, for the message.
#[track_caller]
fn assert_nothing_left(stack: &E2eStack, name: &str, said: &str) {
    assert!(
        stack.containers().is_empty(),
        "{:?}\n{}",
        stack.containers(),
        said
    );
    for candidate in [
        format!("{name}:gbb-candidate"),
        format!("bob-{name}:gbb-candidate"),
    ] {
        assert!(
            stack.image_id(&candidate).is_none(),
            "`{candidate}` is left\n{said}"
        );
    }
    let runs = stack.root().join(".gbb/run");
    let left: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in .gbb/run: {left:?}");
}

#[test]
fn links_planted_in_gbb_out_reach_no_host_file() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let canary = Canary::new();
    // Every name gbb wrote into the output folder before (the context, the key and its
    // temporary name), and the file index and SBOM files gbb writes there itself, as links to
    // the canary. The temporary name had gbb's pid in it: the test hands the pid to the hook
    // through the image folder once gbb runs.
    let pid_file = stack.image_dir("hello").join("gbb.pid");
    hello_with_hook(
        &stack,
        &format!(
            "    until [[ -f /config/gbb.pid ]]; do sleep 0.2; done\n\
             \x20   for name in context.tar key \"key.gbb-tmp-$(cat /config/gbb.pid)\" \\\n\
             \x20       sbom-layer.json sbom.spdx.json sbom.cdx.json files.json; do\n\
             \x20       ln -sf {canary} \"/gbb-out/$name\"\n\
             \x20   done",
            canary = canary.path.display()
        ),
    );
    let child = stack.spawn(&["build", &hello]);
    std::fs::write(&pid_file, child.id().to_string()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    canary.assert_untouched();
    // What gbb kept is its own regular files.
    let out = stack.output_dir("hello");
    for name in [
        "rootfs.tar",
        "key",
        "manifest",
        "packages.tsv",
        "sbom-layer.json",
        "sbom.spdx.json",
        "sbom.cdx.json",
        "files.json",
    ] {
        assert!(
            std::fs::symlink_metadata(out.join(name)).unwrap().is_file(),
            "{name}"
        );
    }
    for name in std::fs::read_dir(&out).unwrap() {
        let name = name.unwrap().file_name();
        assert!(
            [
                "rootfs.tar",
                "key",
                "packages.tsv",
                "purged.txt",
                "package.installed",
                "pkgdb.tar",
                "sbom-layer.json",
                "sbom.spdx.json",
                "sbom.cdx.json",
                "files.json",
                "manifest",
            ]
            .contains(&name.to_str().unwrap()),
            "`{name:?}` is in .gbb/build: only the outputs gbb keeps are"
        );
    }
    assert_nothing_left(&stack, "hello", &stderr);
}

#[test]
fn packages_tsv_and_purged_txt_links_are_refused() {
    for name in ["packages.tsv", "purged.txt"] {
        let stack = E2eStack::new();
        let hello = stack.id("hello");
        let canary = Canary::new();
        // packages.tsv is written as packages.tsv.tmp and moved: a link there becomes
        // packages.tsv. purged.txt is written where it is. The container's own writes go
        // through the link into its own copy of the canary's folder.
        let planted = if name == "packages.tsv" {
            "packages.tsv.tmp"
        } else {
            "purged.txt"
        };
        hello_with_hook(
            &stack,
            &format!(
                "    mkdir -p {dir}\n    ln -sf {canary} /gbb-out/{planted}",
                dir = canary.dir().display(),
                canary = canary.path.display()
            ),
        );
        let run = stack.gbb(&["build", &hello]);
        assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "/{name}`: it is a symbolic link, not a regular file (a build container may have planted it)"
            )),
            "{name}: {}",
            run.stderr
        );
        canary.assert_untouched();
        let packages_md = std::fs::read_to_string(stack.image_dir("hello").join("PACKAGES.md"))
            .unwrap_or_default();
        assert!(
            !packages_md.contains("canary-secret"),
            "{name}: {packages_md}"
        );
        assert!(stack.image_id("hello:latest").is_none(), "{name}");
        assert_nothing_left(&stack, "hello", &run.stderr);
    }
}

#[test]
fn failures_after_phase_1_leave_the_previous_state_tags_and_outputs() {
    // busybox: it has a shell, for build-test.sh; with a child, so that it keeps a state.
    let stack = E2eStack::new();
    stack.with_child("busybox");
    let busybox = stack.id("busybox");
    stack.gbb(&["build", &busybox]).success();
    let before = kept(&stack, "busybox");
    assert!(before.state.is_some() && before.image.is_some() && before.rootfs.is_some());
    assert!(before.sboms.iter().all(Option::is_some), "{before:?}");
    let original =
        |file: &str| std::fs::read_to_string(stack.image_dir("busybox").join(file)).unwrap();
    let (template, build_sh, build_conf, build_test) = (
        original("Dockerfile.template"),
        original("build.sh"),
        original("build.conf"),
        original("build-test.sh"),
    );

    // Phase 2 fails (after a new phase 1: the template is part of the key), in its second
    // RUN; the phase-2 log holds both, each after a line naming it.
    stack.write(
        "busybox",
        "Dockerfile.template",
        &format!("{template}RUN echo said-by-the-first\nRUN false\n"),
    );
    let run = stack.gbb(&["build", &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("RUN false failed with status 1"),
        "{}",
        run.stderr
    );
    let log = stack.log("busybox.phase2");
    let lines: Vec<&str> = log.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("gbb: RUN ") && l.contains("echo said-by-the-first"));
    let said = lines.iter().position(|l| *l == "said-by-the-first");
    let second = lines
        .iter()
        .position(|l| l.starts_with("gbb: RUN ") && l.ends_with("false"));
    assert!(first.is_some() && first < said && said < second, "{log}");
    assert!(
        run.stderr.contains(&format!("==> {busybox}: phase 1")),
        "{}",
        run.stderr
    );
    assert_eq!(kept(&stack, "busybox"), before, "phase 2 failed");
    assert_nothing_left(&stack, "busybox", &run.stderr);
    stack.write("busybox", "Dockerfile.template", &template);

    // build-test.sh fails.
    stack.write("busybox", "build-test.sh", "#!/bin/sh\nexit 3\n");
    let run = stack.gbb(&["build", &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("build-test.sh failed with status 3"),
        "{}",
        run.stderr
    );
    assert_eq!(kept(&stack, "busybox"), before, "build-test.sh failed");
    assert_nothing_left(&stack, "busybox", &run.stderr);
    stack.write("busybox", "build-test.sh", &build_test);

    // The health check fails.
    stack.write(
        "busybox",
        "build.conf",
        &format!("{build_conf}POST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION=10\n"),
    );
    let run = stack.gbb(&["build", &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("the health check failed"),
        "{}",
        run.stderr
    );
    assert_eq!(kept(&stack, "busybox"), before, "the health check failed");
    assert_nothing_left(&stack, "busybox", &run.stderr);
    stack.write("busybox", "build.conf", &build_conf);

    // A hook fails.
    stack.write(
        "busybox",
        "build.sh",
        &format!("{build_sh}finish_rootfs_build() {{\n    false\n}}\n"),
    );
    let run = stack.gbb(&["build", &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("finish_rootfs_build failed"),
        "{}",
        run.stderr
    );
    assert_eq!(kept(&stack, "busybox"), before, "a hook failed");
    assert_nothing_left(&stack, "busybox", &run.stderr);

    // And -f redoes phase 2 only, from the kept outputs, which are still current.
    stack.write("busybox", "build.sh", &build_sh);
    let run = stack.gbb(&["build", "-f", &busybox]);
    run.success();
    assert!(
        !run.stderr.contains(&format!("==> {busybox}: phase 1")),
        "{}",
        run.stderr
    );
    assert_eq!(kept(&stack, "busybox").state, before.state);
}

/// A small tmpfs mounted as the stack's `.gbb`, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(stack: &E2eStack, size: &str) -> Self {
        let path = stack.root().join(".gbb");
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs needs root; this test fills a real disk"
        );
        Self { path }
    }

    /// Bytes in use.
    fn used(&self) -> u64 {
        let out = Command::new("df")
            .args(["-B1", "--output=used"])
            .arg(&self.path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

#[track_caller]
fn assert_no_space(run: &Run, what: &str) {
    assert_eq!(run.code, Some(3), "{what}: {}", run.stderr);
    assert!(
        run.stderr.contains("no space left on device"),
        "{what}: {}",
        run.stderr
    );
}

#[test]
fn a_full_disk_is_named_cleaned_up_and_the_next_build_works() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let disk = SmallDisk::mount(&stack, "48m");
    stack.gbb(&["build", &hello]).success();
    let before = kept(&stack, "hello");
    let rootfs_size = before.rootfs.unwrap().0 as u64;
    let used = disk.used();

    // Inside the container: a hook fills /gbb-out, so rootfs.tar cannot be written.
    hello_with_hook(
        &stack,
        "    dd if=/dev/zero of=/gbb-out/filler bs=64k 2>/dev/null || true",
    );
    let run = stack.gbb(&["build", &hello]);
    assert_no_space(&run, "in the container");
    assert!(
        run.stderr.contains("No space left on device"),
        "the container's own message: {}",
        run.stderr
    );
    assert_eq!(kept(&stack, "hello"), before);
    assert_nothing_left(&stack, "hello", &run.stderr);
    assert!(
        disk.used() <= used + 1024 * 1024,
        "the filler and partial files are gone: {} bytes used, {used} before",
        disk.used()
    );

    // On the host: room for rootfs.tar in the container, none for the layer gbb writes
    // next from it, into the stack's image store (`.gbb/images`, on the same small disk).
    hello_with_hook(
        &stack,
        &format!(
            "    dd if=/dev/zero of=/gbb-out/filler bs=64k 2>/dev/null || true\n    truncate -s -{} /gbb-out/filler",
            rootfs_size + 64 * 1024
        ),
    );
    let run = stack.gbb(&["build", &hello]);
    assert_no_space(&run, "on the host");
    assert!(
        run.stderr
            .contains("no space left on device: cannot write `")
            && run.stderr.contains(".gbb/images/blobs/"),
        "names the blob it could not write: {}",
        run.stderr
    );
    assert_eq!(kept(&stack, "hello"), before);
    assert_nothing_left(&stack, "hello", &run.stderr);

    // Another image builds on the same disk, and so does hello without the hook.
    stack.gbb(&["build", &stack.id("busybox")]).success();
    stack.write("hello", "build.sh", HELLO_PACKAGES);
    stack.gbb(&["build", &hello]).success();
    drop(disk);
}

/// Run by a user who is not root (`nobody`, in the engine's group, through `setpriv`): what
/// gbb hands over (the outputs the container made as root, `PACKAGES.md`) is theirs. See:
/// issue 8, item 4.
#[test]
fn outputs_belong_to_the_user_who_ran_gbb() {
    use std::os::unix::fs::MetadataExt;
    const NOBODY: u32 = 65534;
    let stack = E2eStack::new();
    let docker_gid = String::from_utf8(
        Command::new("getent")
            .args(["group", "docker"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split(':')
    .nth(2)
    .expect("a docker group, for the engine's socket")
    .to_owned();
    let top = stack.root().parent().unwrap().to_owned();
    let (home, cache) = (top.join("home"), top.join("cache"));
    for dir in [&home, &cache] {
        std::fs::create_dir_all(dir).unwrap();
    }
    assert!(
        Command::new("chown")
            .args(["-R", &format!("{NOBODY}:{NOBODY}")])
            .arg(&top)
            .status()
            .unwrap()
            .success()
    );
    // The test build root lies under root's home: reading it (only) is allowed through
    // CAP_DAC_READ_SEARCH. The user has no CAP_CHOWN, so gbb cannot chown what the container
    // made and has to copy it.
    let output = Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            &format!("--groups={docker_gid}"),
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
        ])
        .arg(env!("CARGO_BIN_EXE_gbb"))
        .args(["build", &stack.id("hello")])
        .current_dir(stack.root())
        .env("GBB_TEST_BUILD_ROOT", stack.build_root())
        .env("GBB_USER_CONFIG", "")
        .env("NO_COLOR", "1")
        .env("HOME", &home)
        .env("GBB_CACHE_DIR", &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let out = stack.output_dir("hello");
    for file in [
        out.join("rootfs.tar"),
        out.join("packages.tsv"),
        out.join("key"),
        stack.image_dir("hello").join("PACKAGES.md"),
    ] {
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (NOBODY, NOBODY),
            "`{}` belongs to the user who ran gbb",
            file.display()
        );
        assert_eq!(meta.mode() & 0o7777, 0o644, "{}", file.display());
    }
    assert_nothing_left(&stack, "hello", &stderr);
}
