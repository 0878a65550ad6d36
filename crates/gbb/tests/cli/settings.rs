//! Issue 10, "settings read once": what a definition's config asks of its build
//! (`POST_BUILD_HC*`, `BUILDER_*`, ...) is parsed when the stack is read, so a bad value is
//! refused with its file and line by every command that reads the stack, before anything is
//! planned or built, instead of being replaced by a default during a build.

use insta::assert_snapshot;

use crate::harness::small_stack;

#[test]
fn a_health_check_duration_that_is_no_number_is_refused_by_plan() {
    let stack = small_stack().file(
        "dock/ns/images/app/build.conf",
        "IMAGE_PARENT=ns/lib\nPOST_BUILD_HC=true\nPOST_BUILD_HC_MAX_DURATION=abc\n",
    );
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: POST_BUILD_HC_MAX_DURATION at dock/ns/images/app/build.conf:3:1: `abc` is not a duration: it is not a number of seconds; write a whole number of seconds, such as `60`
    ");
    // Whichever image is asked for: the stack as a whole cannot be read.
    stack.gbb(&["plan", "ns/base"]).refused();
    stack.gbb(&["graph"]).refused();
}

#[test]
fn flags_other_than_true_or_false_are_refused() {
    let stack = small_stack().file(
        "dock/ns/build.conf",
        "DEFAULT_BUILDER=ns/bob\nPOST_BUILD_HC=yes\n",
    );
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: POST_BUILD_HC at dock/ns/build.conf:2:1: `yes` is neither `true` nor `false`; write one of them (kubler reads other values as `false` for some flags and as `true` for others, so gbb does not guess)
    ");
    // From the environment, through gbb's own default line: the environment is named.
    let stack = small_stack().env("BUILDER_CAPS_SYS_PTRACE", "1");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: BUILDER_CAPS_SYS_PTRACE (from the environment variable `BUILDER_CAPS_SYS_PTRACE`): `1` is neither `true` nor `false`; write one of them (kubler reads other values as `false` for some flags and as `true` for others, so gbb does not guess)
    ");
}

#[test]
fn docker_args_gbb_cannot_pass_on_are_refused() {
    let stack = small_stack().file(
        "dock/ns/builder/bob/build.conf",
        "BUILDER_DOCKER_ARGS=( --cap-add SYS_ADMIN --privileged )\n",
    );
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: BUILDER_DOCKER_ARGS at dock/ns/builder/bob/build.conf:1:1: option `--privileged` is not one gbb can pass to the engine (it drives the engine through its API and translates --cap-add, -e/--env, -v/--volume, --tmpfs and --security-opt); use BUILDER_MOUNTS for mounts
    ");
    let stack = small_stack().file(
        "dock/ns/images/base/build.conf",
        "BUILDER_MOUNTS=( \"/srv/data\" )\n",
    );
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: BUILDER_MOUNTS at dock/ns/images/base/build.conf:1:1: `/srv/data` is not a mount: it has no `:TARGET`; write SOURCE:TARGET or SOURCE:TARGET:ro, with a host path (absolute, or relative to the file's folder) and an absolute path in the container
    ");
}
