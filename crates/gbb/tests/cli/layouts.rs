//! Both stack layouts, found from the stack folder, from below it and with `-w`.

use crate::harness::{TestStack, step_ids};

fn kubler_multi() -> TestStack {
    TestStack::new()
        .file(
            "kubler.conf",
            r#"
            AUTHOR="Multi <m@example.org>"
            DEFAULT_BUILDER="${DEFAULT_BUILDER:-core/bob}"
            BUILD_ENGINE=docker
        "#,
        )
        .file("core/kubler.conf", "IMAGE_TAG=\"${IMAGE_TAG:-1}\"\n")
        .file(
            "core/builder/bob/build.conf",
            "STAGE3_BASE='stage3-amd64-openrc'\n",
        )
        .file("core/images/glibc/build.conf", "#IMAGE_PARENT=\n")
        .file("mine/kubler.conf", "DEFAULT_BUILDER=core/bob\n")
        .file("mine/images/app/build.conf", "IMAGE_PARENT='core/glibc'\n")
        .file("docs/README.md", "not a namespace: no kubler.conf\n")
}

#[test]
fn kubler_multi_namespace() {
    let plan = kubler_multi().gbb(&["plan", "--json"]).json();
    assert_eq!(plan["layout"], "kubler-multi");
    assert_eq!(
        step_ids(&plan),
        [
            "core:stage3-amd64-openrc-latest",
            "core/bob",
            "core/glibc",
            "mine/app"
        ]
    );
    assert_eq!(plan["steps"][3]["builder"], "core/bob-glibc");
    assert_eq!(
        plan["steps"][0]["stage3"],
        serde_json::json!({"base": "stage3-amd64-openrc", "date": null, "arch": "amd64"})
    );
}

#[test]
fn kubler_multi_from_inside_a_namespace() {
    let stack = kubler_multi();
    let run = stack.gbb_in("mine/images/app", &["plan", "--json"]);
    let plan = run.json();
    assert_eq!(plan["layout"], "kubler-multi");
    assert_eq!(plan["stack"], "../../..");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 4);
}

#[test]
fn kubler_single_namespace_is_named_after_its_folder() {
    let stack = TestStack::named("acme")
        .file("kubler.conf", "DEFAULT_BUILDER=\"${NAMESPACE}/bob\"\n")
        .file("builder/bob/build.conf", "STAGE3_FILE=/s.tar\n")
        .file("images/app/build.conf", "");
    let plan = stack.gbb(&["plan", "--json"]).json();
    assert_eq!(plan["layout"], "kubler-single");
    assert_eq!(step_ids(&plan), ["core:s.tar", "acme/bob", "acme/app"]);
}

#[test]
fn seed_layout_with_working_dir_flag() {
    let stack = TestStack::fixture("seed");
    let run = TestStack::new().dir("elsewhere").gbb_in(
        "elsewhere",
        &["-w", stack.path().to_str().unwrap(), "plan", "--json"],
    );
    let plan = run.json();
    assert_eq!(plan["layout"], "seed");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 10);
}

#[test]
fn seed_global_stage3_and_old_names() {
    let plan = TestStack::fixture("seed").gbb(&["plan", "--json"]).json();
    let steps = plan["steps"].as_array().unwrap();
    // The seed sets STAGE3_BASE globally and names the default builder DEF_BUILD_CONTAINER.
    assert_eq!(
        steps[0]["id"],
        "core:stage3-amd64-hardened+nomultilib-20260101"
    );
    let glibc = steps.iter().find(|s| s["id"] == "gentoobb/glibc").unwrap();
    assert_eq!(glibc["builder"], "gentoobb/bob");
    let musl = steps
        .iter()
        .find(|s| s["id"] == "gentoobb/bob-musl")
        .unwrap();
    assert_eq!(
        musl["parent"], "gentoobb/bob",
        "BUILDER wins over a stage3 set only globally"
    );
    let nginx = steps.iter().find(|s| s["id"] == "gentoobb/nginx").unwrap();
    assert_eq!(
        nginx["packages"],
        serde_json::json!(["www-servers/nginx"]),
        "PACKAGES, the old name"
    );
    let bob = steps.iter().find(|s| s["id"] == "gentoobb/bob").unwrap();
    assert_eq!(
        bob["hooks"],
        serde_json::json!(["configure_builder"]),
        "configure_bob, the old name"
    );
}

#[test]
fn kubler_reference_stack_shape() {
    let plan = TestStack::fixture("kubler").gbb(&["plan", "--json"]).json();
    let steps = plan["steps"].as_array().unwrap();
    let count = |kind: &str| steps.iter().filter(|s| s["kind"] == kind).count();
    assert_eq!(
        (count("core"), count("builder"), count("image")),
        (2, 2, 43)
    );
    let busybox = steps.iter().find(|s| s["id"] == "kubler/busybox").unwrap();
    assert_eq!(busybox["builder"], "kubler/bob-musl");
    assert_eq!(busybox["tag"], "20260101");
    let clojure = steps.iter().find(|s| s["id"] == "kubler/clojure").unwrap();
    assert_eq!(clojure["builder"], "kubler/bob-jdk-openjdk");
    let s6_musl = steps.iter().find(|s| s["id"] == "kubler/s6-musl").unwrap();
    assert_eq!(s6_musl["builder"], "kubler/bob-musl-musl");
}
