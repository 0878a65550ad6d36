//! Kept builder states only where something builds in them (issue 14): a leaf image's phase 1
//! merges nothing into its container's own `/` and keeps no state; a child added later makes
//! its parent's state needed (the key says so), so the parent is built again with one, and
//! the child builds in it.

use crate::harness::{E2eStack, now};

#[test]
fn a_leaf_keeps_no_state_until_a_child_needs_one() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.gbb(&["build", &hello]).success();
    assert!(stack.image_id("hello:latest").is_some());
    assert_eq!(
        stack.image_id("bob-hello:latest"),
        None,
        "nothing builds in hello's state"
    );
    let log = stack.log("hello");
    assert!(
        log.contains("::gbb:: step emerge app-misc/hello-static"),
        "{log}"
    );
    assert!(
        !log.contains("::gbb:: step emerge-builder"),
        "no second merge into the container's own /: {log}"
    );
    // Unchanged: up to date without its state, no container.
    let since = now();
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert_eq!(run.result_of(&hello), "skipped", "{}", run.stderr);
    assert_eq!(
        stack.containers_created(since, now() + 1),
        0,
        "{}",
        run.stderr
    );

    // A child that builds in hello's state: hello's key changes, and says why.
    stack.with_child("hello");
    let kid = stack.id("hello-kid");
    let status = stack.gbb(&["plan", "--status", &kid]);
    status.success();
    let row = status
        .stdout
        .lines()
        .find(|line| line.split_whitespace().nth(2) == Some(hello.as_str()))
        .unwrap_or_else(|| panic!("no row for hello:\n{}", status.stdout));
    assert!(row.ends_with("state now needed"), "{row}");

    let run = stack.gbb(&["build", &kid]);
    run.success();
    assert_eq!(run.result_of(&hello), "built", "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "==> {kid}: phase 1 in {}/bob-hello:latest",
            stack.ns
        )),
        "{}",
        run.stderr
    );
    assert!(stack.image_id("bob-hello:latest").is_some());
    let log = stack.log("hello");
    assert!(
        log.contains("::gbb:: step emerge-builder app-misc/hello-static"),
        "the state knows hello's package: {log}"
    );
    // The child's container is hello's state: Portage there has hello's package installed.
    let installed = crate::harness::docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        &format!("{}/bob-hello:latest", stack.ns),
        "-c",
        "ls /var/db/pkg/app-misc/ && grep -x 'app-misc/hello-static-.*' /etc/portage/profile/package.provided",
    ]);
    assert!(installed.contains("hello-static-"), "{installed}");

    // The child gone again: hello keeps no state, and the old one is untagged.
    std::fs::remove_dir_all(stack.image_dir("hello-kid")).unwrap();
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert_eq!(run.result_of(&hello), "built", "{}", run.stderr);
    assert_eq!(stack.image_id("bob-hello:latest"), None, "{}", run.stderr);
}
