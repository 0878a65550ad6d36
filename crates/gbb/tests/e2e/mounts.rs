//! What a stack's values can do to the Dockerfile and to the engine, on the real engine:
//! template values that would add instructions, mounts that would hand the host to a build
//! container, relative mount paths, mount points in kept builder states, and the kubler
//! settings `PARENT_BUILDER_MOUNTS` and `BUILDER_SECCOMP`.

use std::path::{Path, PathBuf};

use crate::harness::{E2eStack, docker, now};

/// A host file that must stay as it is, outside the stack.
struct Canary {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

const CANARY: &str = "canary: untouched\n";

impl Canary {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("canary.txt");
        std::fs::write(&path, CANARY).unwrap();
        Self { _dir: dir, path }
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert_eq!(std::fs::read_to_string(&self.path).unwrap(), CANARY);
    }
}

fn append(path: &Path, text: &str) {
    let mut old = std::fs::read_to_string(path).unwrap_or_default();
    old.push_str(text);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, old).unwrap();
}

fn namespace_conf(stack: &E2eStack) -> PathBuf {
    stack.root().join("dock").join(&stack.ns).join("build.conf")
}

fn builder_dir(stack: &E2eStack) -> PathBuf {
    stack
        .root()
        .join("dock")
        .join(&stack.ns)
        .join("builder/bob")
}

/// How many lines `path` has (the next line appended is this plus one).
fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// hello's build.sh with `check` run in `configure_rootfs_build` (inside its build container).
fn hello_checks(stack: &E2eStack, check: &str) {
    stack.write(
        "hello",
        "build.sh",
        &format!(
            "_packages=\"app-misc/hello-static\"\n\nconfigure_rootfs_build()\n{{\n{check}\n}}\n"
        ),
    );
}

// Issue 9, item 4: a value with a quote and a line break added a `RUN` to the rendered
// Dockerfile, which ran in the build (`/pwned` in the tagged image).
#[test]
fn template_values_that_would_add_instructions_are_refused_with_their_origin() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let attack = "evil\"\nRUN touch /pwned\nLABEL x=\"y";

    // AUTHOR from the namespace's build.conf, into `LABEL maintainer="${MAINTAINER}"`.
    let conf = namespace_conf(&stack);
    let original = std::fs::read_to_string(&conf).unwrap();
    let line = lines(&conf) + 1;
    append(&conf, &format!("AUTHOR='{attack}'\n"));
    let since = now();
    let run = stack.gbb(&["build", &hello]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("error: MAINTAINER (AUTHOR at ")
            && run.stderr.contains(&format!(
                "{}/build.conf:{line}:1) cannot go into `",
                stack.ns
            ))
            && run
                .stderr
                .contains("hello/Dockerfile.template` line 2: it holds a line break"),
        "{}",
        run.stderr
    );
    assert_eq!(stack.containers_created(since, now() + 1), 0);
    assert!(stack.image_id("hello:latest").is_none());

    // The seed's unquoted `MAINTAINER ${MAINTAINER}`: the line break is refused all the same.
    let template = stack.image_dir("hello").join("Dockerfile.template");
    let quoted = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        quoted.replace(
            "LABEL maintainer=\"${MAINTAINER}\"",
            "MAINTAINER ${MAINTAINER}",
        ),
    )
    .unwrap();
    let run = stack.gbb(&["build", &hello]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("it holds a line break"),
        "{}",
        run.stderr
    );
    std::fs::write(&template, &quoted).unwrap();

    // A BOB_* from the environment, into a double-quoted label.
    std::fs::write(&conf, &original).unwrap();
    append(
        &stack.root().join("build.conf"),
        "BOB_NOTE=\"${BOB_NOTE:-none}\"\n",
    );
    std::fs::write(
        &template,
        quoted.replace(
            "LABEL maintainer=\"${MAINTAINER}\"",
            "LABEL maintainer=\"${MAINTAINER}\" note=\"${BOB_NOTE}\"",
        ),
    )
    .unwrap();
    let since = now();
    let output = stack
        .command(&["build", &hello])
        .env("BOB_NOTE", attack)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("BOB_NOTE (BOB_NOTE at ")
            && stderr.contains("(from the environment variable `BOB_NOTE`)")
            && stderr.contains("line 2: it holds a line break"),
        "{stderr}"
    );
    // A quote alone cannot end the string either.
    let output = stack
        .command(&["build", &hello])
        .env("BOB_NOTE", "a\" other=\"b")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("which would end the double-quoted string"),
        "{stderr}"
    );
    assert_eq!(stack.containers_created(since, now() + 1), 0);
    assert!(stack.image_id("hello:latest").is_none());

    // Normal values build: an author with spaces and `<mail>`, a plain note.
    let output = stack
        .command(&["build", &hello])
        .env("BOB_NOTE", "built by the e2e tests")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let labels = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &hello,
    ]);
    assert!(
        labels.contains("\"maintainer\":\"gentoo-bb developers <gbb@example.org>\"")
            && labels.contains("\"note\":\"built by the e2e tests\""),
        "{labels}"
    );
    let history = docker(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        &hello,
    ]);
    assert!(!history.contains("pwned"), "{history}");
}

// Issue 9, item 5: `BUILDER_DOCKER_ARGS=( -v /:/host )` gave the build container the host's
// root, read-write.
#[test]
fn mounts_of_the_host_root_or_gbbs_own_places_are_refused_before_any_container() {
    let stack = E2eStack::new();
    let canary = Canary::new();
    let hello = stack.id("hello");
    hello_checks(
        &stack,
        &format!(
            "    echo pwned > /host{0} || true\n    echo pwned > /cache-parent/canary || true",
            canary.path.display()
        ),
    );
    // The cache the gbb under test uses (as the harness finds it).
    let cache = std::env::var_os("GBB_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/gbb"));
    std::fs::create_dir_all(&cache).unwrap();
    let cache_parent = format!(
        "BUILDER_MOUNTS=( \"{}:/cache-parent\" )",
        cache.parent().unwrap().display()
    );
    for (setting, what) in [
        (
            "BUILDER_DOCKER_ARGS=( -v /:/host )",
            "the host's root folder `/`",
        ),
        (
            "BUILDER_MOUNTS=( \"/:/host\" )",
            "the host's root folder `/`",
        ),
        (cache_parent.as_str(), "which holds gbb's cache"),
        (
            "BUILDER_DOCKER_ARGS=( --volume=../../../../.gbb:/state )",
            "the stack's `.gbb` folder",
        ),
    ] {
        std::fs::create_dir_all(stack.root().join(".gbb")).unwrap();
        stack.write(
            "hello",
            "build.conf",
            &format!("IMAGE_PARENT=scratch\n{setting}\n"),
        );
        let since = now();
        let run = stack.gbb(&["build", &hello]);
        assert_eq!(run.code, Some(2), "{setting}: {}", run.stderr);
        let variable = setting.split('=').next().unwrap();
        assert!(
            run.stderr.contains(&format!("error: {variable} at "))
                && run.stderr.contains("hello/build.conf:2:1: `")
                && run.stderr.contains(what)
                && run.stderr.contains("BUILDER_ALLOW_HOST_MOUNTS=true"),
            "{setting}: {}",
            run.stderr
        );
        assert_eq!(stack.containers_created(since, now() + 1), 0, "{setting}");
        canary.assert_untouched();
    }
    assert!(stack.image_id("hello:latest").is_none());
}

// Issue 9, item 5: relative `-v` paths were resolved against the folder gbb was started in,
// relative `BUILDER_MOUNTS` against the image folder. Both follow the file that sets them.
#[test]
fn relative_mount_paths_follow_the_config_file_that_sets_them() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    append(
        &stack.image_dir("hello").join("data/marker"),
        "from the image folder\n",
    );
    let ns_dir = stack.root().join("dock").join(&stack.ns);
    append(&ns_dir.join("shared/marker"), "from the namespace folder\n");
    // Decoys where gbb runs (the stack's root is the tests' working folder).
    append(
        &stack.root().join("data/marker"),
        "from the working folder\n",
    );
    append(
        &stack.root().join("shared/marker"),
        "from the working folder\n",
    );
    stack.write(
        "hello",
        "build.conf",
        "IMAGE_PARENT=scratch\nBUILDER_DOCKER_ARGS=( -v data:/gbb-data:ro )\n",
    );
    append(
        &ns_dir.join("build.conf"),
        "BUILDER_MOUNTS=( \"shared:/gbb-shared:ro\" )\n",
    );
    hello_checks(
        &stack,
        "    grep -qx 'from the image folder' /gbb-data/marker || { echo \"/gbb-data: $(cat /gbb-data/marker)\"; return 1; }\n    \
         grep -qx 'from the namespace folder' /gbb-shared/marker || { echo \"/gbb-shared: $(cat /gbb-shared/marker)\"; return 1; }",
    );
    let run = stack.gbb(&["build", &hello]);
    run.success();
    // The namespace's mount reached the builder too, and its mount point is not in the
    // builder's kept state.
    let bob = format!("{}:latest", stack.id("bob"));
    docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        &bob,
        "-c",
        "test ! -e /gbb-shared",
    ]);
}

// Issue 9, item 14: a file mounted into a builder's container was kept in its state as an
// empty file, which images built in that state (without the mount) then ran.
#[test]
fn mount_points_are_not_kept_in_builder_states() {
    let stack = E2eStack::new();
    let host = tempfile::tempdir().unwrap();
    let tool = host.path().join("tool");
    std::fs::write(&tool, "#!/bin/sh\necho from the host tool\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir(host.path().join("dir")).unwrap();
    std::fs::write(host.path().join("dir/file"), "in the mounted folder\n").unwrap();
    let bob = builder_dir(&stack);
    append(
        &bob.join("build.conf"),
        &format!(
            "BUILDER_MOUNTS=( \"{}:/usr/local/bin/gbb-mounted-tool:ro\" \"{}:/opt/gbb-mnt/deep/dir:ro\" )\n",
            tool.display(),
            host.path().join("dir").display()
        ),
    );
    // The builder's hook sees the mounts and leaves a file of its own next to them.
    std::fs::write(
        bob.join("build.sh"),
        "configure_builder()\n{\n    test \"$(gbb-mounted-tool)\" = 'from the host tool' || return 1\n    \
         test -f /opt/gbb-mnt/deep/dir/file || return 1\n    \
         mkdir -p /opt/gbb-kept && echo kept > /opt/gbb-kept/file\n}\n",
    )
    .unwrap();
    // hello builds in the builder's state, without the mounts.
    hello_checks(
        &stack,
        "    for path in /usr/local/bin/gbb-mounted-tool /opt/gbb-mnt; do\n        \
         if [ -e \"$path\" ]; then echo \"mount point kept: $path\"; return 1; fi\n    done\n    \
         test -f /opt/gbb-kept/file || { echo 'the builder lost its own file'; return 1; }",
    );
    let run = stack.gbb(&["build", &stack.id("hello")]);
    run.success();
    // The key label survived the second commit: an unchanged stack starts no container.
    let since = now();
    let run = stack.gbb(&["build", &stack.id("hello")]);
    run.success();
    assert_eq!(
        stack.containers_created(since, now() + 1),
        0,
        "{}",
        run.stderr
    );
    let state = format!("{}:latest", stack.id("bob"));
    let check = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        &state,
        "-c",
        "ls -d /usr/local/bin/gbb-mounted-tool /opt/gbb-mnt 2>&1; cat /opt/gbb-kept/file",
    ]);
    assert!(
        check.contains("kept") && check.matches("No such file").count() == 2,
        "{check}"
    );
    assert_eq!(
        std::fs::read_to_string(&tool).unwrap(),
        "#!/bin/sh\necho from the host tool\n"
    );
}

// Issue 8: kubler's `PARENT_BUILDER_MOUNTS=true` passes a builder's mounts to what is built
// from it.
#[test]
fn parent_builder_mounts_reach_images_built_from_the_builder() {
    let stack = E2eStack::new();
    let bob = builder_dir(&stack);
    std::fs::create_dir_all(bob.join("shared")).unwrap();
    std::fs::write(bob.join("shared/marker"), "from bob\n").unwrap();
    append(
        &bob.join("build.conf"),
        "BUILDER_MOUNTS=( \"shared:/gbb-inherited:ro\" )\nPARENT_BUILDER_MOUNTS=true\n",
    );
    hello_checks(
        &stack,
        "    grep -qx 'from bob' /gbb-inherited/marker || { echo 'no inherited mount'; return 1; }",
    );
    stack.gbb(&["build", &stack.id("hello")]).success();
}

// Issue 8: kubler's `BUILDER_SECCOMP` (`docker run --security-opt seccomp=FILE`).
#[test]
fn builder_seccomp_profiles_apply_to_build_containers() {
    let stack = E2eStack::new();
    let bob = builder_dir(&stack);
    // Everything allowed but making device nodes and FIFOs (`mkfifo`), which no build step
    // here needs.
    std::fs::write(
        bob.join("seccomp.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mknod", "mknodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    )
    .unwrap();
    append(&bob.join("build.conf"), "BUILDER_SECCOMP=seccomp.json\n");
    std::fs::write(
        bob.join("build.sh"),
        "configure_builder()\n{\n    if mkfifo /tmp/gbb-seccomp-probe; then echo 'the seccomp profile was not applied'; return 1; fi\n    \
         echo 'mkfifo refused as the profile says'\n}\n",
    )
    .unwrap();
    let run = stack.gbb(&["build", &stack.id("hello")]);
    run.success();
    assert!(
        stack
            .log("bob")
            .contains("mkfifo refused as the profile says"),
        "{}",
        stack.log("bob")
    );
    // Without the profile the same hook fails: the test can tell.
    std::fs::write(
        bob.join("seccomp.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#,
    )
    .unwrap();
    let run = stack.gbb(&["build", &stack.id("hello")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("the seccomp profile was not applied"),
        "{}",
        run.stderr
    );
}
