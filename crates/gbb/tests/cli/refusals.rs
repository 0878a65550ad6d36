//! Every refusal: a one-line cause with the file and line or the chain of ids, exit code 2,
//! nothing on stdout.

use insta::assert_snapshot;

use crate::harness::{TestStack, small_stack};

#[test]
fn unknown_id_suggests_the_closest() {
    let run = small_stack().gbb(&["plan", "ns/ap"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: unknown id `ns/ap`: no image, builder or namespace has that name
      hint: did you mean `ns/app`?
    ");
}

#[test]
fn unknown_exclude_is_refused() {
    let run = small_stack().gbb(&["plan", "-e", "nope/x"]);
    run.refused();
    assert!(run.stderr.contains("unknown id `nope/x`"), "{}", run.all());
}

#[test]
fn unknown_parent_names_file_line_and_chain() {
    let stack = small_stack().file(
        "dock/ns/images/lib/build.conf",
        "# lib\nIMAGE_PARENT=\"ns/bsae\"\n",
    );
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: unknown parent image `ns/bsae` (IMAGE_PARENT at dock/ns/images/lib/build.conf:2:1)
      hint: did you mean `ns/base`?
      chain:
        ns/app
        → ns/lib  (IMAGE_PARENT at dock/ns/images/app/build.conf:1:1)
    ");
}

#[test]
fn unknown_builder_names_file_and_line() {
    let stack = small_stack().file(
        "dock/ns/images/tool/build.conf",
        "IMAGE_PARENT=ns/base\nBUILDER=ns/bob-musl\n",
    );
    let run = stack.gbb(&["plan", "ns/tool"]);
    run.refused();
    assert!(
        run.stderr.contains(
            "unknown builder `ns/bob-musl` (BUILDER at dock/ns/images/tool/build.conf:2:1)"
        ),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains("chain:\n    ns/tool\n"),
        "{}",
        run.all()
    );
}

#[test]
fn cycle_is_listed() {
    let stack = small_stack().file("dock/ns/images/base/build.conf", "IMAGE_PARENT=ns/app\n");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all());
}

#[test]
fn self_parent_is_a_cycle() {
    let stack = small_stack().file("dock/ns/images/base/build.conf", "IMAGE_PARENT=ns/base\n");
    let run = stack.gbb(&["plan", "ns/base"]);
    run.refused();
    assert!(
        run.stderr
            .contains("dependency cycle: `ns/base` → `ns/base`"),
        "{}",
        run.all()
    );
}

#[test]
fn builder_cycle_is_listed() {
    let stack = small_stack()
        .file("dock/ns/builder/bob/build.conf", "BUILDER=ns/bob2\n")
        .file("dock/ns/builder/bob2/build.conf", "BUILDER=ns/bob\n")
        .file("build.conf", "AUTHOR=x\n");
    let run = stack.gbb(&["plan", "ns/bob"]);
    run.refused();
    assert!(
        run.stderr
            .contains("dependency cycle: `ns/bob` → `ns/bob2` → `ns/bob`"),
        "{}",
        run.all()
    );
}

#[test]
fn malformed_config_names_file_line_and_column() {
    let stack = small_stack().file(
        "dock/ns/images/app/build.conf",
        "IMAGE_PARENT=ns/lib\nTAG=\"$(date +%Y)\"\n",
    );
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/images/app/build.conf:2:6: command substitution (`$(...)` or backticks) is not supported in config files
      |
    2 | TAG="$(date +%Y)"
      |      ^
    "#);
}

#[test]
fn malformed_global_config_is_refused() {
    let stack = small_stack().file("build.conf", "AUTHOR=me\nif [ -n x ]; then A=1; fi\n");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert!(
        run.stderr.contains("build.conf:2:1: `if` is not supported"),
        "{}",
        run.all()
    );
}

#[test]
fn image_folder_without_build_conf() {
    let stack = small_stack().file("dock/ns/images/empty/build.sh", "_packages=x\n");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: `dock/ns/images/empty` has no build.conf; every image folder needs one (it may be empty)
    ");
}

#[test]
fn invalid_image_name() {
    let stack = small_stack().file("dock/ns/images/My_App/build.conf", "");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: `dock/ns/images/My_App`: image name `My_App` is not a valid name: it must start with a lowercase letter or a digit
    ");
}

#[test]
fn invalid_namespace_name() {
    let stack = small_stack().file("dock/Ns/build.conf", "");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert!(
        run.stderr
            .contains("namespace name `Ns` is not a valid name"),
        "{}",
        run.all()
    );
}

#[test]
fn parent_value_that_is_not_an_id() {
    let stack = small_stack().file("dock/ns/images/app/build.conf", "IMAGE_PARENT=lib\n");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/images/app/build.conf:1:1: IMAGE_PARENT=`lib` is not an image id: an id has the form `namespace/name`
    ");
}

#[test]
fn parent_that_is_a_builder() {
    let stack = small_stack().file("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/bob\n");
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert!(
        run.stderr.contains("IMAGE_PARENT names `ns/bob`, which is a builder, not an image (dock/ns/images/app/build.conf:1:1)"),
        "{}",
        run.all()
    );
}

#[test]
fn builder_that_is_an_image() {
    let stack = small_stack().file("dock/ns/images/app/build.conf", "BUILDER=ns/base\n");
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert!(
        run.stderr
            .contains("BUILDER names `ns/base`, which is an image, not a builder"),
        "{}",
        run.all()
    );
}

#[test]
fn builder_without_stage3_or_builder() {
    let stack = small_stack().file("build.conf", "AUTHOR=me\n");
    let run = stack.gbb(&["plan", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: builder `ns/bob` has no stage3 and no BUILDER: set STAGE3_BASE (or STAGE3_FILE) or BUILDER in `dock/ns/builder/bob/build.conf`
      chain:
        ns/app
        → ns/lib  (IMAGE_PARENT at dock/ns/images/app/build.conf:1:1)
        → ns/base  (IMAGE_PARENT at dock/ns/images/lib/build.conf:1:1)
        → ns/bob  (DEFAULT_BUILDER at dock/ns/build.conf:1:1)
    ");
}

#[test]
fn image_without_any_builder() {
    let stack = small_stack().file("dock/ns/build.conf", "# no default builder\n");
    let run = stack.gbb(&["plan", "ns/base"]);
    run.refused();
    assert!(
        run.stderr.contains("image `ns/base` has no builder"),
        "{}",
        run.all()
    );
}

#[test]
fn required_variable_missing() {
    let stack = small_stack().file(
        "build.conf",
        "STAGE3_FILE=\"${STAGE3_FILE:?point it at a stage3 tarball}\"\n",
    );
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert!(
        run.stderr
            .contains("build.conf:1:14: `STAGE3_FILE` is not set: point it at a stage3 tarball"),
        "{}",
        run.all()
    );
}

#[test]
fn no_stack_found() {
    let run = TestStack::new().dir("empty").gbb_in("empty", &["plan"]);
    run.refused();
    assert!(
        run.stderr
            .contains("error: no stack found in `.` or any folder above it"),
        "{}",
        run.all()
    );
}

#[test]
fn same_id_for_image_and_builder() {
    let stack = small_stack().file("dock/ns/builder/base/build.conf", "BUILDER=ns/bob\n");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert!(
        run.stderr.contains("`ns/base` is defined twice"),
        "{}",
        run.all()
    );
}

#[test]
fn bad_usage_exits_2() {
    let run = small_stack().gbb(&["graph", "--format", "png"]);
    assert_eq!(run.code, Some(2), "{}", run.all());
}
