//! `CONTAINER_ENGINE` per namespace: every engine plans; `dummy` builds nothing and lists the
//! steps it would take; an engine gbb does not know is refused when its namespace is built,
//! and only then.

use insta::assert_snapshot;

use crate::harness::{TestStack, small_stack};

/// No engine answers here: a build that tried to reach one would fail saying so.
const NO_ENGINE: &str = "unix:///nonexistent/gbb-test.sock";

/// The small stack plus a namespace `dummy` on the dummy engine, as the seed's `dock/dummy`.
fn with_dummy_namespace(stack: TestStack) -> TestStack {
    stack
        .file(
            "dock/dummy/build.conf",
            r#"
            DEFAULT_BUILDER="${NAMESPACE}/bob"
            CONTAINER_ENGINE="dummy"
        "#,
        )
        .file(
            "dock/dummy/builder/bob/build.conf",
            "STAGE3_BASE=stage3-amd64-openrc\nSTAGE3_DATE=20260101T000000Z\n",
        )
        .file(
            "dock/dummy/builder/bob/build.sh",
            "configure_bob() {\n    emerge sys-devel/crossdev\n}\n",
        )
        .file(
            "dock/dummy/images/busybox/build.conf",
            "BUILDER=\"dummy/bob\"\nIMAGE_PARENT=scratch\n",
        )
        .file(
            "dock/dummy/images/busybox/build.sh",
            r#"
            PACKAGES="sys-apps/busybox"
            configure_rootfs_build() {
                update_use sys-apps/busybox +static
            }
            finish_rootfs_build() {
                mkdir -p "$EMERGE_ROOT/var/log"
            }
        "#,
        )
}

#[test]
fn a_dummy_namespace_plans_and_graphs() {
    let stack = with_dummy_namespace(TestStack::new().file("build.conf", "AUTHOR=t\n"));
    let run = stack.gbb(&["plan", "dummy"]);
    run.success();
    assert_snapshot!(run.stdout, @r"
    Plan for . (seed layout): 3 steps (1 core, 1 builder, 1 image)

     #  KIND     ID                                         PARENT                                     BUILDS IN                                  WHY
     1  core     core:stage3-amd64-openrc-20260101T000000Z  -                                          -                                          core of dummy/bob
     2  builder  dummy/bob                                  core:stage3-amd64-openrc-20260101T000000Z  core:stage3-amd64-openrc-20260101T000000Z  builder of dummy/busybox
     3  image    dummy/busybox                              scratch                                    dummy/bob                                  requested
    ");
    stack.gbb(&["plan"]).success();
    stack.gbb(&["graph", "--format", "dot"]).success();
}

#[test]
fn a_dummy_build_lists_each_step_and_builds_nothing() {
    let stack = with_dummy_namespace(TestStack::new().file("build.conf", "AUTHOR=t\n"))
        .env("DOCKER_HOST", NO_ENGINE);
    let run = stack.gbb(&["build"]);
    assert_snapshot!(run.all(), @r"
    exit: 0
    --- stdout
    Dry run (CONTAINER_ENGINE=dummy): 3 steps, nothing is built
      1  core core:stage3-amd64-openrc-20260101T000000Z
           download stage3 `stage3-amd64-openrc` (20260101T000000Z, amd64) from https://distfiles.gentoo.org/ and check its hashes and signature, then import it
           download and check portage snapshot `latest`
           add gbb's in-container scripts on top: the core
      2  builder dummy/bob
           start a container of `core:stage3-amd64-openrc-20260101T000000Z`
           run configure_builder
           keep the container as `dummy/bob`
      3  image dummy/busybox
           start a container of `dummy/bob`
           run configure_rootfs_build
           emerge sys-apps/busybox into /emerge-root
           run finish_rootfs_build
           clean up the root and write rootfs.tar
           remove the container (nothing builds in it)
           write the image from Dockerfile.template on scratch with rootfs.tar, load it, tag `dummy/busybox:latest` and `:latest`
    --- stderr
    ");
    // Nothing written: no lock, no logs, no build output.
    assert!(!stack.path().join(".gbb").exists());
}

#[test]
fn an_unknown_engine_plans_and_is_refused_when_built() {
    let stack = small_stack()
        .file(
            "dock/odd/build.conf",
            "DEFAULT_BUILDER=ns/bob\n# not an engine\nBUILD_ENGINE=rkt\n",
        )
        .file("dock/odd/images/app/build.conf", "IMAGE_PARENT=ns/base\n")
        .env("DOCKER_HOST", NO_ENGINE);
    stack.gbb(&["plan"]).success();
    stack.gbb(&["graph"]).success();

    let run = stack.gbb(&["build", "odd"]);
    run.refused();
    assert_snapshot!(run.stderr, @"error: dock/odd/build.conf:3:1: BUILD_ENGINE=`rkt` is not an engine gbb knows (docker, podman or dummy); not built: odd/app
");

    // Another namespace is not refused: its build goes on to the engine (here, none).
    let run = stack.gbb(&["build", "ns/base"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(!run.stderr.contains("rkt"), "{}", run.all());
}

#[test]
fn interactive_takes_one_id_on_an_engine_that_runs_containers() {
    let stack = with_dummy_namespace(small_stack()).env("DOCKER_HOST", NO_ENGINE);
    let run = stack.gbb(&["build", "-i", "ns/app", "ns/lib"]);
    run.refused();
    assert!(
        run.stderr
            .contains("-i takes exactly one image or builder id"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["build", "-i", "ns"]);
    run.refused();
    assert!(
        run.stderr.contains("`ns` names a namespace"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["build", "-i", "dummy/busybox"]);
    run.refused();
    assert_snapshot!(run.stderr, @"error: -i: `dummy/busybox` is built with the `dummy` engine, which starts no container
");
}

#[test]
fn an_image_on_docker_over_a_dummy_parent_is_refused() {
    let stack = with_dummy_namespace(small_stack())
        .file(
            "dock/ns/images/over/build.conf",
            "IMAGE_PARENT=dummy/busybox\n",
        )
        .env("DOCKER_HOST", NO_ENGINE);
    let run = stack.gbb(&["build", "ns/over"]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    // The dummy parent is not listed either: nothing that was asked for uses it.
    assert!(run.stdout.is_empty(), "{}", run.all());
    assert_snapshot!(run.stderr, @"error: it needs `dummy/busybox`, which is not built; not built: ns/over
");
}

/// The small stack plus a namespace `pod` on Podman whose images are built on `ns`'s (on
/// Docker, the default): `pod/app` on `ns/base`, and `pod/own` with a builder of its own.
fn with_podman_namespace(stack: TestStack) -> TestStack {
    stack
        .file(
            "dock/pod/build.conf",
            "DEFAULT_BUILDER=pod/bob\nCONTAINER_ENGINE=podman\n",
        )
        .file(
            "dock/pod/builder/bob/build.conf",
            "# from the global stage3\n",
        )
        .file("dock/pod/images/app/build.conf", "IMAGE_PARENT=ns/base\n")
        .file("dock/pod/images/own/build.conf", "# on scratch\n")
}

/// Issue 13: an image on Podman whose parent is on Docker is refused, naming the chain's
/// link and where each engine is set; nothing reaches an engine.
#[test]
fn an_image_on_podman_over_a_docker_parent_is_refused() {
    let stack = with_podman_namespace(small_stack())
        .env("DOCKER_HOST", NO_ENGINE)
        .env("CONTAINER_HOST", NO_ENGINE);
    stack.gbb(&["plan"]).success();
    let run = stack.gbb(&["build", "pod/app"]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert_snapshot!(run.stderr, @"error: it is built on podman (CONTAINER_ENGINE at dock/pod/build.conf:2:1), but `ns/base`, which it is built on, is built on docker (the default); an image, its parent and its builder must be on one engine; not built: pod/app
");
    // One engine for all (`--engine`): the chain is on one engine, and the build goes on to
    // it (here, none answers).
    let run = stack.gbb(&["--engine", "podman", "build", "pod/app"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert_snapshot!(run.stderr.lines().next().unwrap(), @"error: no Podman service answers (tried `unix:///nonexistent/gbb-test.sock`: no such socket)");
}

/// Issue 13: a stack with a namespace on Docker and one on Podman builds both, each on its
/// engine: here neither answers, and the build says so for the first it connects to. The
/// namespace on Podman alone reaches Podman, not Docker.
#[test]
fn each_namespace_goes_to_its_own_engine() {
    let stack = with_podman_namespace(small_stack())
        .env("DOCKER_HOST", NO_ENGINE)
        .env("CONTAINER_HOST", NO_ENGINE);
    let run = stack.gbb(&["build", "pod/own"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr.starts_with("error: no Podman service answers"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["build", "ns/base"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr.starts_with(
            "error: cannot reach the container engine at `unix:///nonexistent/gbb-test.sock`"
        ),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["build", "ns/base", "pod/own"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr.starts_with("error: cannot reach"),
        "{}",
        run.all()
    );
}

/// Issue 13: `gbb plan` over namespaces on Docker and on Podman names each step's engine (a
/// core is made on every engine that needs it); a plan on one engine has no such column.
#[test]
fn a_plan_over_two_engines_names_each_steps_engine() {
    let stack = with_podman_namespace(small_stack());
    let run = stack.gbb(&["plan", "ns/base", "pod/own"]);
    run.success();
    assert_snapshot!(run.stdout, @r"
    Plan for . (seed layout): 5 steps (1 core, 2 builders, 2 images)

     #  KIND     ENGINE          ID                  PARENT              BUILDS IN           WHY
     1  core     docker, podman  core:stage3.tar.xz  -                   -                   core of ns/bob
     2  builder  docker          ns/bob              core:stage3.tar.xz  core:stage3.tar.xz  builder of ns/base
     3  builder  podman          pod/bob             core:stage3.tar.xz  core:stage3.tar.xz  builder of pod/own
     4  image    docker          ns/base             scratch             ns/bob              requested
     5  image    podman          pod/own             scratch             pod/bob             requested
    ");
    let run = stack.gbb(&["plan", "pod/own"]);
    run.success();
    assert!(!run.stdout.contains("ENGINE"), "{}", run.stdout);
    let run = stack.gbb(&["--engine", "podman", "plan", "ns/base", "pod/own"]);
    run.success();
    assert!(!run.stdout.contains("ENGINE"), "{}", run.stdout);
}

/// Issue 13: `plan --status`, `verify` and `push` over namespaces on Docker and on Podman ask
/// each image's own engine (they used to refuse a selection over two engines): here neither
/// answers, and each command says so for the engine it reaches first; an image on Podman
/// alone reaches Podman.
#[test]
fn status_verify_and_push_reach_each_engine() {
    let stack = with_podman_namespace(small_stack())
        .env("DOCKER_HOST", NO_ENGINE)
        .env("CONTAINER_HOST", NO_ENGINE);
    for args in [
        &["plan", "--status", "ns/base", "pod/own"][..],
        &["verify", "ns/base", "pod/own"],
        &["push", "ns/base", "pod/own"],
    ] {
        let run = stack.gbb(args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains(
                "error: cannot reach the container engine at `unix:///nonexistent/gbb-test.sock`"
            ),
            "{args:?}: {}",
            run.all()
        );
        assert!(
            !run.stderr.contains("name the ids of one engine"),
            "{}",
            run.all()
        );
    }
    for args in [
        &["plan", "--status", "pod/own"][..],
        &["verify", "pod/own"],
        &["push", "pod/own"],
    ] {
        let run = stack.gbb(args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains("error: no Podman service answers"),
            "{args:?}: {}",
            run.all()
        );
    }
}
