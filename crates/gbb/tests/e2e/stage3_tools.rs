//! The test build root stands in for a Gentoo stage3: real ebuilds take a stage3's tools for
//! granted (Portage's default phases call `make`; build systems call awk, sed, perl), and an
//! ebuild whose `make` is missing "succeeds" without installing anything.

use crate::harness::{E2eStack, docker};

/// What a stage3 carries that ebuilds and kubler's helpers expect on `PATH`.
const STAGE3_TOOLS: &[&str] = &[
    "make", "gcc", "g++", "patch", "sed", "gawk", "awk", "grep", "xz", "bzip2", "gzip", "find",
    "diff", "file", "perl", "tar", "scanelf", "wget", "curl", "git",
];

#[test]
fn the_build_root_has_a_stage3s_tools_and_default_phases_build() {
    let stack = E2eStack::new();
    stack.write(
        "hello-make",
        "build.conf",
        "# Built by Portage's default phases.\nIMAGE_PARENT=\"scratch\"\n",
    );
    stack.write(
        "hello-make",
        "build.sh",
        "_packages=\"app-misc/hello-make\"\n",
    );
    stack.write(
        "hello-make",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\nENTRYPOINT [\"/usr/bin/hello-make\"]\n",
    );
    let run = stack.gbb(&["build", &stack.id("hello-make")]);
    run.success();

    // Every tool is on PATH in the builder, as on a stage3.
    let script = STAGE3_TOOLS
        .iter()
        .map(|tool| format!("command -v {tool} >/dev/null || echo missing: {tool};"))
        .collect::<String>();
    let missing = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/bash",
        &format!("{}:latest", stack.id("bob")),
        "-c",
        &script,
    ]);
    assert_eq!(missing.trim(), "", "the test build root lacks stage3 tools");

    // Portage's default src_compile and src_install ran make, which ran awk, sed and perl.
    assert_eq!(
        docker(&["run", "--rm", &stack.id("hello-make")]).trim(),
        "BUILT WITH make"
    );
}
