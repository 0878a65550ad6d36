//! `gbb build -i`: the parents are built, then bash opens in the container the image's phase
//! 1 would run in, where `gbb-build` runs the phase by hand.

use crate::harness::E2eStack;

#[test]
fn interactive_build_opens_a_shell_where_gbb_build_runs_phase_1() {
    let stack = E2eStack::new();
    let greet = stack.id("greet");

    // On a terminal, typing into the shell (typed ahead: the terminal keeps the keys until the
    // shell reads them).
    let keys = "echo \"hooks: $(declare -F configure_rootfs_build) id=$GBB_ID\"; \
                gbb-build image >/tmp/phase1.log 2>&1; echo \"phase 1 status $?\"; \
                tar -tf /gbb-out/rootfs.tar | grep -c usr/bin/greet; exit 4\r";
    let (code, text) = stack.on_terminal(stack.root(), &format!("build -i {greet}"), keys);
    assert_eq!(code, Some(4), "the shell's exit code: {text}");
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
