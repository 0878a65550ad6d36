//! The outside tools the tests validate with. A missing tool fails the test with what to
//! install: these tests never skip.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of `tool`, or a failed test naming the Debian package.
pub(crate) fn require(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is missing: run scripts/setup-test-machine (or apt-get install {package})")
    })
}

/// Runs `command`, failing the test with its output when it does not succeed.
pub(crate) fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
