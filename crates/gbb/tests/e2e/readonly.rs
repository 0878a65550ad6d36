//! A stack on a read-only file system: with nothing to build, `gbb build` succeeds
//! (issue 9, item 13).

use std::process::Command;

use crate::harness::E2eStack;

#[test]
fn a_read_only_stack_with_nothing_to_build_succeeds() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.gbb(&["build", &hello]).success();

    // The same build in a mount namespace of its own where the stack is a read-only bind
    // mount of itself (gbb runs as root here, and root writes through file permissions). The
    // shell enters the folder after mounting: a working folder entered before would still be
    // the writable one underneath.
    let run_read_only = || {
        let gbb = stack.command(&[]);
        let root = stack.root().display().to_string();
        let script = format!(
            "mount --bind '{root}' '{root}' && mount -o remount,ro,bind '{root}' '{root}' \
         && cd '{root}' && ! touch .gbb/probe 2>/dev/null && exec '{}' build '{hello}'",
            gbb.get_program().to_string_lossy()
        );
        let mut command = Command::new("unshare");
        command
            .args(["-m", "sh", "-c", &script])
            .current_dir(stack.root());
        for (name, value) in gbb.get_envs() {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        let output = command.output().expect("unshare runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&hello) && l.contains("skipped (up to date)")),
            "{stderr}"
        );
    };
    // With the lock file of the first build: it is locked through a read-only open.
    assert!(stack.root().join(".gbb/lock").is_file());
    run_read_only();
    // Without one (a checkout that was never built here, its images built elsewhere).
    std::fs::remove_dir_all(stack.root().join(".gbb")).unwrap();
    run_read_only();
    assert!(!stack.root().join(".gbb").exists(), "nothing was written");
}
