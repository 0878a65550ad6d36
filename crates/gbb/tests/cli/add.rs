//! `gbb add` (alias `new`): starter files, never overwriting, refusing bad names.

use crate::harness::{TestStack, small_stack, step_ids};

#[test]
fn new_stack_from_nothing_plans_once_filled() {
    let stack = TestStack::new();
    let run = stack.gbb(&[
        "add",
        "namespace",
        "acme",
        "--author",
        "Jane Doe",
        "--email",
        "jane@acme.org",
    ]);
    run.success();
    assert!(
        run.stderr.contains("new stack (seed layout)"),
        "{}",
        run.all()
    );
    let conf = std::fs::read_to_string(stack.path().join("dock/acme/build.conf")).unwrap();
    assert!(
        conf.contains("AUTHOR=\"Jane Doe <jane@acme.org>\""),
        "{conf}"
    );
    assert!(stack.path().join("build.conf").is_file());

    stack
        .gbb(&[
            "add",
            "builder",
            "acme/bob",
            "--stage3",
            "stage3-amd64-openrc",
        ])
        .success();
    stack.gbb(&["new", "image", "acme/glibc"]).success();
    stack
        .gbb(&["add", "image", "acme/nginx", "--parent", "acme/glibc"])
        .success();
    let plan = stack.gbb(&["plan", "--json"]).json();
    assert_eq!(
        step_ids(&plan),
        [
            "core:stage3-amd64-openrc-latest",
            "acme/bob",
            "acme/glibc",
            "acme/nginx"
        ]
    );
    for file in ["build.conf", "build.sh", "Dockerfile.template", "README.md"] {
        assert!(
            stack
                .path()
                .join("dock/acme/images/nginx")
                .join(file)
                .is_file(),
            "{file}"
        );
    }
    let template = std::fs::read_to_string(
        stack
            .path()
            .join("dock/acme/images/nginx/Dockerfile.template"),
    )
    .unwrap();
    assert!(template.contains("ADD rootfs.tar /"), "{template}");
}

#[test]
fn builder_extending_a_builder() {
    let stack = small_stack();
    stack
        .gbb(&["add", "builder", "ns/bob-musl", "--builder", "ns/bob"])
        .success();
    let plan = stack.gbb(&["plan", "--json", "ns/bob-musl"]).json();
    assert_eq!(
        step_ids(&plan),
        ["core:stage3.tar.xz", "ns/bob", "ns/bob-musl"]
    );
}

#[test]
fn never_overwrites() {
    let stack = small_stack();
    let before =
        std::fs::read_to_string(stack.path().join("dock/ns/images/app/build.conf")).unwrap();
    let run = stack.gbb(&["add", "image", "ns/app"]);
    run.refused();
    assert!(
        run.stderr
            .contains("already exists; gbb add never overwrites"),
        "{}",
        run.all()
    );
    let after =
        std::fs::read_to_string(stack.path().join("dock/ns/images/app/build.conf")).unwrap();
    assert_eq!(before, after);
    let run = stack.gbb(&["add", "namespace", "ns"]);
    run.refused();
}

#[test]
fn refuses_bad_names_and_references() {
    let stack = small_stack();
    let run = stack.gbb(&["add", "image", "ns/Bad"]);
    run.refused();
    assert!(
        run.stderr.contains("`ns/Bad` is not a valid name"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["add", "image", "nope/x"]);
    run.refused();
    assert!(
        run.stderr.contains("namespace `nope` does not exist"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["add", "image", "ns/x", "--parent", "ns/missing"]);
    run.refused();
    assert!(
        run.stderr
            .contains("parent image `ns/missing` does not exist"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["add", "image", "ns/x", "--builder", "ns/base"]);
    run.refused();
    assert!(
        run.stderr.contains("builder `ns/base` does not exist"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["add", "namespace", "x", "--engine", "rkt"]);
    run.refused();
    assert!(!stack.path().join("dock/x").exists());
    // Nothing half-written is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(stack.path().join("dock/ns/images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn kubler_multi_gets_a_namespace_folder() {
    let stack = TestStack::new()
        .file("kubler.conf", "AUTHOR=\"K <k@example.org>\"\n")
        .file("a/kubler.conf", "");
    let run = stack.gbb(&["add", "namespace", "b"]);
    run.success();
    let conf = std::fs::read_to_string(stack.path().join("b/kubler.conf")).unwrap();
    assert!(
        conf.contains("AUTHOR=\"K <k@example.org>\""),
        "defaults come from the stack: {conf}"
    );
    assert!(stack.path().join("b/images").is_dir());
}

#[test]
fn kubler_single_refuses_a_second_namespace() {
    let stack = TestStack::named("one")
        .file("kubler.conf", "")
        .dir("images");
    let run = stack.gbb(&["add", "namespace", "two"]);
    run.refused();
    assert!(
        run.stderr.contains("single-namespace kubler stack"),
        "{}",
        run.all()
    );
}

#[test]
fn prompts_on_a_terminal() {
    let stack = small_stack();
    // Parent typed, builder left at its default (Enter).
    let run = stack.gbb_on_terminal(&["add", "image", "ns/web"], "ns/lib\r\r");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("Parent image (an id, or scratch)"),
        "{run:?}"
    );
    let conf = std::fs::read_to_string(stack.path().join("dock/ns/images/web/build.conf")).unwrap();
    assert!(conf.contains("IMAGE_PARENT=\"ns/lib\""), "{conf}");
    assert!(conf.contains("#BUILDER="), "{conf}");
    // Flags given are not asked for.
    let run = stack.gbb_on_terminal(
        &[
            "add",
            "image",
            "ns/web2",
            "--parent",
            "ns/app",
            "--builder",
            "",
        ],
        "",
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!run.stdout.contains("Parent image"), "{run:?}");
}

#[test]
fn no_prompts_without_a_terminal() {
    let stack = small_stack();
    let run = stack.gbb(&["add", "image", "ns/web"]);
    run.success();
    let conf = std::fs::read_to_string(stack.path().join("dock/ns/images/web/build.conf")).unwrap();
    assert!(
        conf.contains("IMAGE_PARENT=\"scratch\""),
        "defaults taken: {conf}"
    );
}
