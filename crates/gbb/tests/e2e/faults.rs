//! Faults: each stops with a clear message, a non-zero exit, no container left behind, and the
//! previous image tags untouched.

use std::time::{Duration, Instant};

use crate::harness::{E2eStack, Run, now};

const HELLO_BUILD_SH: &str = "_packages=\"app-misc/hello-static\"\n";

#[test]
fn failing_hook_names_the_hook_and_keeps_the_previous_image() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.gbb(&["build", &hello]).success();
    let before = stack.image_id("hello:latest").unwrap();

    stack.write(
        "hello",
        "build.sh",
        &format!("{HELLO_BUILD_SH}configure_rootfs_build() {{\n    echo preparing\n    update_uze foo +bar\n}}\n"),
    );
    let run = stack.gbb(&["build", &hello]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: {hello}: configure_rootfs_build failed with status 127"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("  | preparing"),
        "the log's last lines: {}",
        run.stderr
    );
    assert!(run.stderr.contains("update_uze"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!(".gbb/logs/{}/hello.log", stack.ns)),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert_eq!(
        stack.image_id("hello:latest").as_deref(),
        Some(before.as_str()),
        "the previous image keeps its tag"
    );
}

#[test]
fn failing_emerge_names_the_emerge() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write(
        "hello",
        "build.sh",
        "_packages=\"app-misc/no-such-package\"\n",
    );
    let run = stack.gbb(&["build", &hello]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("error: {hello}: emerge failed with status 1")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no-such-package"), "{}", run.stderr);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert!(stack.image_id("hello:latest").is_none());
}

#[test]
fn template_without_rootfs_is_refused_before_any_container() {
    let stack = E2eStack::new();
    stack.write(
        "greet",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nCMD [\"/usr/bin/greet\"]\n",
    );
    let since = now();
    let run = stack.gbb(&["build"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("Dockerfile.template` does not add the root file system; it needs a line `ADD rootfs.tar /`"), "{}", run.stderr);
    assert_eq!(stack.containers_created(since, now() + 1), 0);
}

#[test]
fn sigint_during_phase_1_removes_the_containers() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write(
        "hello",
        "build.sh",
        &format!(
            "{HELLO_BUILD_SH}configure_rootfs_build() {{\n    echo waiting\n    sleep 120\n}}\n"
        ),
    );
    let mut child = stack.spawn(&["build", &hello]);
    stack.wait_for_container(&mut child, &hello);
    let started = Instant::now();
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "gbb stopped at once, not after the hook"
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    // The next run succeeds.
    stack.write("hello", "build.sh", HELLO_BUILD_SH);
    stack.gbb(&["build", &hello]).success();
}

#[test]
fn unreachable_engine_is_one_clear_line() {
    let stack = E2eStack::new();
    let run = stack
        .command(&["build"])
        .env(
            crate::harness::engine_host_variable(),
            "unix:///nonexistent/docker.sock",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let (first, hint) = match crate::harness::engine() {
        "podman" => (
            "error: no Podman service answers (tried `unix:///nonexistent/docker.sock`: no such socket)",
            "hint: start one with `podman system service --time=0",
        ),
        _ => (
            "error: cannot reach the container engine at `unix:///nonexistent/docker.sock`: ",
            "hint: start it (dockerd) or point DOCKER_HOST at a running one",
        ),
    };
    assert!(stderr.starts_with(first), "{stderr}");
    assert!(stderr.contains(hint), "{stderr}");
}

#[test]
fn health_checks_are_waited_on() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write(
        "hello",
        "build.conf",
        "IMAGE_PARENT=scratch\nPOST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION=20\n",
    );
    stack.write(
        "hello",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\nENTRYPOINT [\"/bin/hello\"]\nCMD [\"--wait\"]\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/bin/hello\"]\n",
    );
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert!(
        run.stderr.contains("waiting for its HEALTHCHECK"),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    let before = stack.image_id("hello:latest").unwrap();

    // A check that never passes fails the build, and the previous image keeps its tag.
    stack.write(
        "hello",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\nENTRYPOINT [\"/bin/hello\"]\nCMD [\"--wait\"]\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/bin/no-such-check\"]\n",
    );
    let run = stack.gbb(&["build", &hello]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: {hello}: the health check failed: its HEALTHCHECK reported `unhealthy`"
        )),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert_eq!(
        stack.image_id("hello:latest").as_deref(),
        Some(before.as_str())
    );
    assert!(
        stack.image_id("hello:gbb-candidate").is_none(),
        "the candidate tag is removed"
    );
}

#[test]
fn unknown_builder_docker_args_are_refused_before_any_container() {
    let stack = E2eStack::new();
    stack.write(
        "hello",
        "build.conf",
        "IMAGE_PARENT=scratch\nBUILDER_DOCKER_ARGS=( --cap-add SYS_ADMIN --privileged )\n",
    );
    let since = now();
    let run = stack.gbb(&["build", &stack.id("hello")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("option `--privileged` is not one gbb can pass to the engine"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hello/build.conf:2:1"),
        "{}",
        run.stderr
    );
    assert_eq!(stack.containers_created(since, now() + 1), 0);
}

#[test]
fn build_test_runs_in_the_new_image_and_guards_its_tags() {
    let stack = E2eStack::new();
    let busybox = stack.id("busybox");
    let run = stack.gbb(&["build", &busybox]);
    run.success();
    assert!(
        run.stderr
            .contains(&format!("==> {busybox}: build-test.sh")),
        "{}",
        run.stderr
    );
    let before = stack.image_id("busybox:latest").unwrap();

    stack.write(
        "busybox",
        "build-test.sh",
        "#!/bin/sh\necho checking\ntest -x /bin/no-such-program\n",
    );
    let run = stack.gbb(&["build", &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: {busybox}: build-test.sh failed with status 1"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("  | checking"), "{}", run.stderr);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert_eq!(
        stack.image_id("busybox:latest").as_deref(),
        Some(before.as_str()),
        "the tested-out image is not tagged"
    );
    assert!(stack.image_id("busybox:gbb-candidate").is_none());
}

#[test]
fn a_source_date_epoch_that_is_no_number_is_refused_before_anything_runs() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let run = Run::from(
        stack
            .command(&["build", &hello])
            .env("SOURCE_DATE_EPOCH", "yesterday")
            .output()
            .expect("gbb runs"),
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: SOURCE_DATE_EPOCH is `yesterday`: give whole seconds since 1970"),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert!(stack.image_id("hello:latest").is_none());
}
