//! `gbb build -i`: the parents are built, then bash opens in the container the image's phase
//! 1 would run in, where `gbb-build` runs the phase by hand.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::E2eStack;

#[test]
fn interactive_build_opens_a_shell_where_gbb_build_runs_phase_1() {
    let stack = E2eStack::new();
    let greet = stack.id("greet");

    // On a terminal (a pty made by `script`), typing into the shell.
    let gbb = env!("CARGO_BIN_EXE_gbb");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{gbb} build -i {greet}"), "/dev/null"])
        .current_dir(stack.root())
        .env("GBB_USER_CONFIG", "")
        .env("NO_COLOR", "1")
        .env("GBB_TEST_BUILD_ROOT", stack.build_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Typed ahead: the terminal keeps the keys until the shell reads them.
    let keys = "echo \"hooks: $(declare -F configure_rootfs_build) id=$GBB_ID\"; \
                gbb-build image >/tmp/phase1.log 2>&1; echo \"phase 1 status $?\"; \
                tar -tf /gbb-out/rootfs.tar | grep -c usr/bin/greet; exit 4\r";
    stdin.write_all(keys.as_bytes()).unwrap();
    let output = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| child.wait_with_output().unwrap());
        let output = waiter.join().unwrap();
        drop(stdin);
        output
    });
    let text = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    assert_eq!(
        output.status.code(),
        Some(4),
        "the shell's exit code: {text}"
    );
    assert!(
        text.contains(&format!(
            "gbb build -i: {greet} in {}/bob-greetlib:latest",
            stack.ns
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("hooks: configure_rootfs_build id={greet}")),
        "the hooks' environment: {text}"
    );
    assert!(text.contains("phase 1 status 0"), "{text}");
    assert!(text.contains("\n1\n"), "rootfs.tar holds greet: {text}");
    // The parents were built first; greet itself was not.
    assert!(stack.image_id("greetlib:latest").is_some());
    assert_eq!(stack.image_id("greet:latest"), None);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}
