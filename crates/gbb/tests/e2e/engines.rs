//! `CONTAINER_ENGINE` on the real engine: `dummy` lists the steps and starts no container;
//! an engine gbb does not know is refused for its namespace while the others build.

use crate::harness::{E2eStack, now};

#[test]
fn a_dummy_namespace_builds_nothing_and_starts_no_container() {
    let stack = E2eStack::new();
    let conf = stack.root().join("dock").join(&stack.ns).join("build.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text.replace("CONTAINER_ENGINE=\"docker\"", "CONTAINER_ENGINE=\"dummy\"");
    assert!(text.contains("\"dummy\""), "{text}");
    std::fs::write(&conf, text).unwrap();

    let since = now();
    let run = stack.gbb(&["build"]);
    run.success();
    let until = now() + 1;
    // Every step, in plan order, parents before children.
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<usize>().is_ok())
        })
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    // The plan's order: the same steps, the same order.
    let plan = stack.gbb(&["plan", "--json"]);
    plan.success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let plan: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, plan, "{}", run.stdout);
    assert_eq!(
        order.len(),
        8,
        "a core, a builder, six images: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("emerge app-misc/greet into /emerge-root"),
        "{}",
        run.stdout
    );
    assert_eq!(stack.containers_created(since, until), 0);
    assert!(stack.containers().is_empty());
    assert_eq!(stack.image_id("busybox:latest"), None);
    assert!(
        !stack.root().join(".gbb").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn an_unknown_engine_is_refused_for_its_namespace_only() {
    let stack = E2eStack::new();
    let odd = format!("{}odd", stack.ns);
    let dir = stack.root().join("dock").join(&odd);
    std::fs::create_dir_all(dir.join("images/app")).unwrap();
    std::fs::write(
        dir.join("build.conf"),
        format!("DEFAULT_BUILDER={}/bob\nBUILD_ENGINE=rkt\n", stack.ns),
    )
    .unwrap();
    std::fs::write(
        dir.join("images/app/build.conf"),
        format!("IMAGE_PARENT={}/busybox\n", stack.ns),
    )
    .unwrap();

    stack.gbb(&["plan"]).success();
    let run = stack.gbb(&["build", &stack.id("busybox"), &format!("{odd}/app")]);
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: dock/{odd}/build.conf:2:1: BUILD_ENGINE=`rkt` is not an engine gbb knows (docker, podman or dummy); not built: {odd}/app"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.result_of(&stack.id("busybox")), "built");
    assert!(stack.image_id("busybox:latest").is_some());
}
