//! `gbb graph` (alias `dep-graph`) in each format.

use insta::assert_snapshot;

use crate::harness::{TestStack, small_stack};

fn stack() -> TestStack {
    small_stack()
        .file("dock/ns/builder/bob-musl/build.conf", "BUILDER=ns/bob\n")
        .file("dock/ns/images/tiny/build.conf", "BUILDER=ns/bob-musl\n")
}

#[test]
fn text() {
    let run = stack().gbb(&["graph"]);
    run.success();
    assert_snapshot!(run.stdout, @r"
    core:stage3.tar.xz
    └── ns/bob
        └── ns/bob-musl
    scratch
    ├── ns/base  (builder ns/bob)
    │   ├── ns/lib
    │   │   └── ns/app
    │   └── ns/tool
    └── ns/tiny  (builder ns/bob-musl)
    ");
}

#[test]
fn text_marks_parents_outside_the_plan() {
    let run = stack().gbb(&["graph", "-n", "ns/app"]);
    run.success();
    assert_snapshot!(run.stdout, @"ns/app  (on ns/lib, not in this plan)");
}

#[test]
fn dot() {
    let run = stack().gbb(&["graph", "--format", "dot", "ns/app", "ns/tiny"]);
    run.success();
    assert_snapshot!(run.stdout);
}

#[test]
fn mermaid() {
    let run = stack().gbb(&["dep-graph", "--format", "mermaid", "ns/tiny"]);
    run.success();
    assert_snapshot!(run.stdout, @r#"
    graph LR
      n0[("core:stage3.tar.xz")]
      n1(["ns/bob"])
      n2(["ns/bob-musl"])
      n3["ns/tiny"]
      n0 -.-> n1
      n1 -.-> n2
      n2 -.-> n3
    "#);
}

#[test]
fn json() {
    let run = stack().gbb(&["graph", "--format", "json", "ns/lib"]);
    let graph = run.json();
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(
        graph["edges"],
        serde_json::json!([
            {"from": "core:stage3.tar.xz", "to": "ns/bob", "kind": "builder"},
            {"from": "ns/bob", "to": "ns/base", "kind": "builder"},
            {"from": "ns/base", "to": "ns/lib", "kind": "parent"},
        ])
    );
}

#[test]
fn kubler_reference_stack_text() {
    let run = TestStack::fixture("kubler").gbb(&["graph"]);
    run.success();
    assert_snapshot!(run.stdout);
}
