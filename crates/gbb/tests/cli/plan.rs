//! `gbb plan`: the steps, their order and the reasons, human and JSON.

use insta::assert_snapshot;

use crate::harness::{TestStack, small_stack, step_ids};

#[test]
fn whole_stack_human() {
    let run = small_stack().gbb(&["plan"]);
    run.success();
    assert_snapshot!(run.all(), @"
    exit: 0
    --- stdout
    Plan for . (seed layout): 6 steps (1 core, 1 builder, 4 images)

     #  KIND     ID                  PARENT              BUILDS IN           WHY
     1  core     core:stage3.tar.xz  -                   -                   core of ns/bob
     2  builder  ns/bob              core:stage3.tar.xz  core:stage3.tar.xz  requested
     3  image    ns/base             scratch             ns/bob              requested
     4  image    ns/lib              ns/base             ns/bob-base         requested
     5  image    ns/app              ns/lib              ns/bob-lib          requested
     6  image    ns/tool             ns/base             ns/bob-base         requested
    --- stderr
    ");
}

#[test]
fn parents_and_builders_are_added_with_reasons() {
    let plan = small_stack().gbb(&["plan", "--json", "ns/app"]).json();
    assert_eq!(
        step_ids(&plan),
        [
            "core:stage3.tar.xz",
            "ns/bob",
            "ns/base",
            "ns/lib",
            "ns/app"
        ]
    );
    let reasons: Vec<_> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "core of ns/bob",
            "builder of ns/base",
            "parent of ns/lib",
            "parent of ns/app",
            "requested"
        ]
    );
}

#[test]
fn json_steps_have_kind_id_parent_builder() {
    let plan = small_stack().gbb(&["plan", "--json"]).json();
    assert_eq!(plan["layout"], "seed");
    for step in plan["steps"].as_array().unwrap() {
        for field in [
            "kind",
            "id",
            "parent",
            "builder",
            "builds_in",
            "needs",
            "reason",
        ] {
            assert!(step.get(field).is_some(), "{field} missing in {step}");
        }
    }
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps[0]["kind"], "core");
    assert_eq!(steps[0]["parent"], serde_json::Value::Null);
    assert_eq!(steps[0]["stage3"]["file"], "/srv/stage3.tar.xz");
    assert_eq!(steps[0]["portage"]["dir"], "/srv/portage");
    let app = steps.iter().find(|s| s["id"] == "ns/app").unwrap();
    assert_eq!(app["kind"], "image");
    assert_eq!(app["parent"], "ns/lib");
    assert_eq!(app["builder"], "ns/bob-lib");
    assert_eq!(app["builds_in"], "state");
    assert_eq!(app["needs"], serde_json::json!(["ns/lib"]));
    assert_eq!(app["state"], "ns/bob-app");
    assert_eq!(
        app["keeps_state"], false,
        "nothing builds in the state of ns/app"
    );
    assert_eq!(app["path"], "dock/ns/images/app");
    let base = steps.iter().find(|s| s["id"] == "ns/base").unwrap();
    assert_eq!(base["parent"], "scratch");
    assert_eq!(base["builder"], "ns/bob");
    assert_eq!(base["needs"], serde_json::json!(["ns/bob"]));
    assert_eq!(base["keeps_state"], true, "ns/lib builds in it");
}

#[test]
fn every_step_comes_after_what_it_needs() {
    let plan = TestStack::fixture("kubler").gbb(&["plan", "--json"]).json();
    let ids = step_ids(&plan);
    for (i, step) in plan["steps"].as_array().unwrap().iter().enumerate() {
        for need in step["needs"].as_array().unwrap() {
            let at = ids
                .iter()
                .position(|id| id == need.as_str().unwrap())
                .unwrap();
            assert!(at < i, "{} comes before its need {need}", ids[i]);
        }
    }
}

#[test]
fn only_given_ids_with_n() {
    let plan = small_stack()
        .gbb(&["plan", "--json", "-n", "ns/app", "ns/lib"])
        .json();
    assert_eq!(step_ids(&plan), ["ns/lib", "ns/app"]);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["needs"],
        serde_json::json!([]),
        "ns/base is taken as built"
    );
    assert_eq!(steps[1]["needs"], serde_json::json!(["ns/lib"]));
}

#[test]
fn exclude_with_e() {
    let plan = small_stack()
        .gbb(&["plan", "--json", "-e", "ns/lib", "-e", "ns/tool"])
        .json();
    // ns/app builds in the kept state of ns/lib, which is taken as built: it needs nothing
    // else in this plan.
    assert_eq!(
        step_ids(&plan),
        ["core:stage3.tar.xz", "ns/bob", "ns/app", "ns/base"]
    );
    assert_eq!(plan["steps"][2]["needs"], serde_json::json!([]));
}

#[test]
fn exclude_a_namespace() {
    let stack = small_stack()
        .file("dock/other/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file("dock/other/images/x/build.conf", "IMAGE_PARENT=ns/app\n");
    let plan = stack.gbb(&["plan", "--json", "-e", "ns"]).json();
    assert_eq!(step_ids(&plan), ["other/x"]);
}

#[test]
fn namespace_means_its_images() {
    let stack = small_stack()
        .file("dock/other/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file("dock/other/images/x/build.conf", "IMAGE_PARENT=ns/base\n")
        .file("dock/other/images/y/build.conf", "");
    let plan = stack.gbb(&["plan", "--json", "other"]).json();
    assert_eq!(
        step_ids(&plan),
        [
            "core:stage3.tar.xz",
            "ns/bob",
            "ns/base",
            "other/x",
            "other/y"
        ]
    );
}

#[test]
fn a_builder_id_can_be_requested() {
    let plan = small_stack().gbb(&["plan", "--json", "ns/bob"]).json();
    assert_eq!(step_ids(&plan), ["core:stage3.tar.xz", "ns/bob"]);
}

#[test]
fn builder_setting_beats_the_parent_state() {
    let stack = small_stack()
        .file("dock/ns/builder/bob-musl/build.conf", "BUILDER=ns/bob\n")
        .file(
            "dock/ns/images/tool/build.conf",
            "IMAGE_PARENT=ns/base\nBUILDER=ns/bob-musl\n",
        )
        .file("dock/ns/images/tool2/build.conf", "IMAGE_PARENT=ns/tool\n");
    let plan = stack.gbb(&["plan", "--json", "ns/tool2"]).json();
    let steps = plan["steps"].as_array().unwrap();
    let tool = steps.iter().find(|s| s["id"] == "ns/tool").unwrap();
    assert_eq!(tool["builder"], "ns/bob-musl");
    assert_eq!(tool["builds_in"], "builder");
    assert_eq!(tool["state"], "ns/bob-musl-tool");
    assert_eq!(tool["keeps_state"], true, "ns/tool2 builds in it");
    let tool2 = steps.iter().find(|s| s["id"] == "ns/tool2").unwrap();
    assert_eq!(
        tool2["builder"], "ns/bob-musl-tool",
        "children build in the state, named after the chain's builder"
    );
    assert_eq!(
        step_ids(&plan),
        [
            "core:stage3.tar.xz",
            "ns/bob",
            "ns/bob-musl",
            "ns/base",
            "ns/tool",
            "ns/tool2"
        ]
    );
}

#[test]
fn environment_overrides_defaults_in_config() {
    let stack = small_stack().file(
        "dock/ns/images/base/build.conf",
        "IMAGE_TAG=\"${IMAGE_TAG:-2025}\"\n",
    );
    let tag = |run: crate::harness::Run| run.json()["steps"][2]["tag"].as_str().unwrap().to_owned();
    assert_eq!(tag(stack.gbb(&["plan", "--json", "ns/base"])), "2025");
    let stack = stack.env("IMAGE_TAG", "2026");
    assert_eq!(tag(stack.gbb(&["plan", "--json", "ns/base"])), "2026");
}

#[test]
fn user_config_comes_between_global_and_namespace() {
    let stack = small_stack()
        .file(
            "build.conf",
            "STAGE3_FILE=/global.tar\nPORTAGE_DIR=/p\nIMAGE_TAG=global\n",
        )
        .file("user.conf", "STAGE3_FILE=/user.tar\nIMAGE_TAG=user\n")
        .file(
            "dock/ns/build.conf",
            "DEFAULT_BUILDER=ns/bob\nIMAGE_TAG=\"ns-${IMAGE_TAG}\"\n",
        );
    let stack = stack.env("GBB_USER_CONFIG", "user.conf");
    let plan = stack.gbb(&["plan", "--json", "ns/base"]).json();
    assert_eq!(plan["steps"][0]["id"], "core:user.tar");
    assert_eq!(plan["steps"][2]["tag"], "ns-user");
}

#[test]
fn builders_sharing_a_stage3_share_a_core() {
    let stack = small_stack()
        .file("dock/ns/builder/bob2/build.conf", "# same global stage3\n")
        .file("dock/ns/builder/bob3/build.conf", "STAGE3_FILE=other.tar\n");
    let plan = stack
        .gbb(&["plan", "--json", "ns/bob", "ns/bob2", "ns/bob3"])
        .json();
    assert_eq!(
        step_ids(&plan),
        [
            "core:other.tar",
            "core:stage3.tar.xz",
            "ns/bob",
            "ns/bob2",
            "ns/bob3"
        ]
    );
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["stage3"]["file"], "dock/ns/builder/bob3/other.tar",
        "a relative STAGE3_FILE is relative to the file that sets it"
    );
}

#[test]
fn packages_and_hooks_from_build_sh() {
    let stack = small_stack().file(
        "dock/ns/images/app/build.sh",
        r#"
        _packages="dev-libs/a ${NAMESPACE}-x/b"
        configure_bob() { :; }
        finish_rootfs_build() {
            :
        }
    "#,
    );
    let plan = stack.gbb(&["plan", "--json", "-n", "ns/app"]).json();
    assert_eq!(
        plan["steps"][0]["packages"],
        serde_json::json!(["dev-libs/a", "ns-x/b"])
    );
    assert_eq!(
        plan["steps"][0]["hooks"],
        serde_json::json!(["configure_builder", "finish_rootfs_build"])
    );
}

#[test]
fn empty_plan() {
    let run = small_stack().gbb(&["plan", "-e", "ns", "ns"]);
    run.success();
    assert!(run.stdout.contains("Nothing to build."), "{}", run.all());
}

#[test]
fn kubler_reference_stack_human() {
    let run = TestStack::fixture("kubler").gbb(&["plan"]);
    run.success();
    assert_snapshot!(run.stdout);
}

#[test]
fn seed_stack_human() {
    let run = TestStack::fixture("seed").gbb(&["plan"]);
    run.success();
    assert_snapshot!(run.stdout);
}

/// Large stacks are read on several threads; the result and the first error reported must be
/// the same as on one.
#[test]
fn large_stack_reads_in_order() {
    let mut stack = small_stack();
    for i in 0..300 {
        let parent = if i == 0 {
            "ns/app".to_owned()
        } else {
            format!("ns/gen{:03}", i - 1)
        };
        stack = stack.file(
            &format!("dock/ns/images/gen{i:03}/build.conf"),
            &format!("IMAGE_PARENT={parent}\n"),
        );
    }
    let plan = stack.gbb(&["plan", "--json", "ns/gen299"]).json();
    let ids = step_ids(&plan);
    assert_eq!(ids.len(), 6 + 300 - 1);
    assert_eq!(ids.last().unwrap(), "ns/gen299");
    let stack = stack
        .file("dock/ns/images/gen100/build.conf", "A=$(x)\n")
        .file("dock/ns/images/gen200/build.conf", "B=`y`\n");
    for _ in 0..3 {
        let run = stack.gbb(&["plan"]);
        run.refused();
        assert!(
            run.stderr.contains("gen100/build.conf:1:3"),
            "{}",
            run.all()
        );
    }
}

/// Issue 14: an image keeps a builder state only when an image of the stack builds in it,
/// whatever was asked for (the key covers it, so it must not depend on the ids given).
#[test]
fn an_image_keeps_its_state_only_for_a_child_built_in_it() {
    let keeps = |plan: &serde_json::Value, id: &str| {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} is in the plan"))["keeps_state"]
            .clone()
    };
    let plan = small_stack()
        .gbb(&["plan", "--json", "-n", "ns/lib"])
        .json();
    assert_eq!(
        keeps(&plan, "ns/lib"),
        true,
        "ns/app builds in it, though not asked for"
    );
    let plan = small_stack()
        .file("dock/ns/builder/bob-musl/build.conf", "BUILDER=ns/bob\n")
        .file(
            "dock/ns/images/app/build.conf",
            "IMAGE_PARENT=ns/lib\nBUILDER=ns/bob-musl\n",
        )
        .gbb(&["plan", "--json"])
        .json();
    assert_eq!(
        keeps(&plan, "ns/lib"),
        false,
        "ns/app names a builder of its own"
    );
    assert_eq!(
        keeps(&plan, "ns/base"),
        true,
        "ns/lib and ns/tool build in it"
    );
    assert_eq!(keeps(&plan, "ns/app"), false);
}
