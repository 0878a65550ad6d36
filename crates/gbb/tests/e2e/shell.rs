//! `gbb shell`: bash in an image's build container, with the helpers and build.sh loaded.

use crate::harness::E2eStack;

#[test]
fn shell_opens_bash_in_the_build_container() {
    let stack = E2eStack::new();
    let greetlib = stack.id("greetlib");
    let greet = stack.id("greet");
    stack.gbb(&["build", &greetlib]).success();

    // On a terminal, typing into the shell.
    let keys = "declare -F update_use provide_package; echo \"root=$EMERGE_ROOT packages=$_packages\"; \
                ls /usr/lib/libgreet.so.1; exit 3\r";
    let (code, text) =
        stack.on_terminal(&stack.image_dir("greet"), &format!("shell {greet}"), keys);
    assert_eq!(code, Some(3), "the shell's exit code: {text}");
    assert!(
        text.contains(&format!(
            "gbb shell: {greet} in {}/bob-greetlib:latest",
            stack.ns
        )),
        "{text}"
    );
    assert!(
        text.contains("update_use\nprovide_package\n"),
        "helpers loaded: {text}"
    );
    assert!(
        text.contains("root=/emerge-root packages=app-misc/greet"),
        "build.sh loaded: {text}"
    );
    assert!(
        text.contains("/usr/lib/libgreet.so.1\n"),
        "runs in the parent's kept state: {text}"
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}

#[test]
fn shell_needs_the_build_container_built() {
    let stack = E2eStack::new();
    let run = stack.gbb(&["shell", &stack.id("greet")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "`{}/bob-greetlib:latest` is needed but not built",
            stack.ns
        )),
        "{}",
        run.stderr
    );
}
