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

/// Issue 9, item 9: a tag Docker would refuse is refused when the stack is read, with the
/// line that set it, before anything is built or re-tagged.
#[test]
fn image_tag_must_be_a_docker_tag() {
    let stack = small_stack().file(
        "dock/ns/images/app/build.conf",
        "IMAGE_PARENT=ns/lib\nIMAGE_TAG=\"1.0:beta\"\n",
    );
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/images/app/build.conf:2:1: IMAGE_TAG=`1.0:beta` is not a valid image tag: `:` cannot appear in a tag (letters, digits, `_`, `.` and `-` only)
    ");

    // From the environment, through the config line that lets it in.
    let stack = small_stack()
        .file(
            "dock/ns/build.conf",
            "DEFAULT_BUILDER=ns/bob\nIMAGE_TAG=\"${IMAGE_TAG:-2026}\"\n",
        )
        .env("IMAGE_TAG", "x\nRUN touch /pwned");
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/build.conf:2:1: IMAGE_TAG=`x\nRUN touch /pwned` is not a valid image tag: `\n` cannot appear in a tag (letters, digits, `_`, `.` and `-` only)
    ");

    // From the environment alone (gbb's defaults let it in).
    let run = small_stack().env("IMAGE_TAG", "-x").gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: IMAGE_TAG=`-x` (from the environment) is not a valid image tag: a tag must start with a letter, a digit or `_`
    ");
}

/// Issue 9, item 9: gbb tags an image under test `gbb-candidate`; a stack cannot use that
/// name, nor any other `gbb-` tag.
#[test]
fn image_tag_reserved_by_gbb() {
    let stack = small_stack().file(
        "dock/ns/build.conf",
        "DEFAULT_BUILDER=ns/bob\nIMAGE_TAG=gbb-candidate\n",
    );
    let run = stack.gbb(&["build"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/build.conf:2:1: IMAGE_TAG=`gbb-candidate` is not a valid image tag: tags starting with `gbb-` are gbb's own (it tags images under test `gbb-candidate`)
    ");
}

/// Issue 9, item 13: bytes that are not UTF-8 are a config error with file, line and column.
#[test]
fn non_utf8_config() {
    let stack = small_stack();
    std::fs::write(
        stack.path().join("dock/ns/images/lib/build.conf"),
        b"IMAGE_PARENT=ns/base\nAUTHOR=\"Ren\xe9 <r@example.org>\"\n",
    )
    .unwrap();
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/images/lib/build.conf:2:12: byte 0xE9 is not UTF-8; config files must be UTF-8 text (convert it, e.g. with `iconv -f latin1 -t utf-8`)
      |
    2 | AUTHOR="Ren� <r@example.org>"
      |            ^
    "#);
}

/// Issue 9, item 6: a value that doubles on each line stops at 1 MiB with the line that
/// crosses it, instead of growing until the process dies.
#[test]
fn doubling_value_stops_at_the_limit() {
    let config = "A=x\n".to_owned() + &"A=\"$A$A\"\n".repeat(40);
    let stack = small_stack().file("dock/ns/images/base/build.conf", &config);
    let run = stack.gbb(&["plan"]);
    run.refused();
    assert_snapshot!(run.all(), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: dock/ns/images/base/build.conf:22:1: the value of `A` grows past 1 MiB, the most a config value may hold
       |
    22 | A="$A$A"
       | ^
    "#);
}
