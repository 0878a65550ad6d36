//! Parallel builds: independent branches go on past a failure, and two runs on one stack take
//! turns.

use crate::harness::E2eStack;

#[test]
fn a_failed_branch_leaves_the_other_branches_built() {
    let stack = E2eStack::new();
    stack.write(
        "greetlib",
        "build.sh",
        "_packages=\"dev-libs/libgreet\"\nconfigure_rootfs_build() {\n    echo breaking\n    false\n}\n",
    );
    let run = stack.gbb(&["build", "-j", "2"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let greetlib = stack.id("greetlib");
    assert!(
        run.stderr.contains(&format!(
            "error: {greetlib}: configure_rootfs_build failed with status 1"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.result_of(&greetlib), "failed");
    for name in ["greet", "greet-tools"] {
        assert_eq!(
            run.result_of(&stack.id(name)),
            "not",
            "{name}: {}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains(&format!(
            "not started (needs {greetlib}, which was not built)"
        )),
        "{}",
        run.stderr
    );
    for name in ["busybox", "glibc", "hello"] {
        assert_eq!(
            run.result_of(&stack.id(name)),
            "built",
            "{name}: {}",
            run.stderr
        );
    }
    assert!(stack.image_id("hello:latest").is_some());
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}

#[test]
fn two_runs_on_one_stack_take_turns() {
    let stack = E2eStack::new();
    let first = stack.spawn(&["build", "-j", "2"]);
    // Give the first run the lock.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = stack.spawn(&["build", "-j", "2"]);
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    let (first_err, second_err) = (
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&second.stderr),
    );
    assert!(first.status.success(), "{first_err}");
    assert!(second.status.success(), "{second_err}");
    assert!(
        second_err.contains("waiting for another gbb build on this stack (pid"),
        "{second_err}"
    );
    assert!(
        second_err.contains("Built 0 of 8 steps"),
        "the second found everything built: {second_err}"
    );
    let run = stack.gbb(&["build", "--no-wait"]);
    run.success();
}

#[test]
fn no_wait_refuses_a_held_lock() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write(
        "hello",
        "build.sh",
        "_packages=\"app-misc/hello-static\"\nconfigure_rootfs_build() {\n    sleep 20\n}\n",
    );
    let mut first = stack.spawn(&["build", &hello]);
    let started = std::time::Instant::now();
    while !stack.containers().iter().any(|c| c.ends_with(&hello)) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the first build did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let run = stack.gbb(&["build", "--no-wait", &hello]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("another gbb build (pid "),
        "{}",
        run.stderr
    );
    let _ = std::process::Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status();
    assert_eq!(first.wait().unwrap().code(), Some(130));
    assert!(stack.containers().is_empty());
}
