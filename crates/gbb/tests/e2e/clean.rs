//! `gbb clean` (issue 9, item 11) and `-C` (item 12): ids are checked before anything goes,
//! exactly what was named goes, only what this stack made goes, old states can be cleared, and
//! `-C` leaves the cores other stacks share as they were.

use crate::harness::{E2eStack, docker};

/// The stack identity label gbb put on an image.
fn stack_label(stack: &E2eStack, reference: &str) -> String {
    docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.gentoo-bb.stack\"}}",
        &format!("{}/{reference}", stack.ns),
    ])
    .trim()
    .to_owned()
}

#[test]
fn clean_checks_the_ids_first_and_removes_only_what_was_named() {
    let stack = E2eStack::new();
    let (hello, busybox) = (stack.id("hello"), stack.id("busybox"));
    stack.gbb(&["build", &hello, &busybox]).success();
    let logs = stack.root().join(".gbb/logs");

    for args in [
        vec!["clean", "--images", "nosuch/id"],
        vec!["clean", "nosuch/id"],
    ] {
        let run = stack.gbb(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("nosuch/id"), "{}", run.stderr);
        assert!(stack.output_dir("hello").join("rootfs.tar").is_file());
        assert!(logs.join(&stack.ns).join("hello.log").is_file());
        assert!(stack.image_id("hello:latest").is_some());
    }

    // An id without --images: its outputs and logs, nobody else's, and no image.
    let run = stack.gbb(&["clean", &hello]);
    run.success();
    assert!(!stack.output_dir("hello").exists(), "{}", run.stderr);
    assert!(!logs.join(&stack.ns).join("hello.log").exists());
    assert!(!logs.join(&stack.ns).join("hello.phase2.log").exists());
    assert!(stack.output_dir("busybox").join("rootfs.tar").is_file());
    assert!(logs.join(&stack.ns).join("busybox.log").is_file());
    assert!(stack.image_id("hello:latest").is_some());
}

#[test]
fn clean_leaves_another_stacks_images_of_the_same_namespace() {
    let first = E2eStack::new();
    first.with_child("hello");
    let hello = first.id("hello");
    first.gbb(&["build", &hello]).success();
    // A second stack with the same namespace name, and a builder of its own, builds over the
    // names. (With the very same files it would find the first stack's images up to date and
    // use them.)
    let second = E2eStack::new();
    let namespace = second.root().join("dock").join(&first.ns);
    std::fs::rename(second.root().join("dock").join(&second.ns), &namespace).unwrap();
    let kid = namespace.join("images/hello-kid");
    std::fs::create_dir_all(&kid).unwrap();
    std::fs::write(
        kid.join("build.conf"),
        format!("IMAGE_PARENT=\"{hello}\"\n"),
    )
    .unwrap();
    std::fs::write(
        kid.join("Dockerfile.template"),
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n",
    )
    .unwrap();
    let conf = namespace.join("builder/bob/build.conf");
    let text = std::fs::read_to_string(&conf).unwrap_or_default();
    std::fs::write(&conf, format!("{text}# the second stack's builder\n")).unwrap();
    second.gbb(&["build", &hello]).success();
    let theirs = first.image_id("bob:latest").unwrap();

    let run = first.gbb(&["clean", "--images"]);
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "left {}/bob:latest: another stack (or an older gbb) made it",
            first.ns
        )),
        "{}",
        run.stderr
    );
    for kept in ["bob:latest", "hello:latest", "bob-hello:latest"] {
        assert!(first.image_id(kept).is_some(), "{kept}: {}", run.stderr);
    }
    assert_eq!(first.image_id("bob:latest"), Some(theirs));

    // The second stack's clean removes them.
    let run = second.gbb(&["clean", "--images"]);
    run.success();
    for gone in [
        "bob:latest",
        "hello:latest",
        "hello:2026.11",
        "bob-hello:latest",
    ] {
        assert!(first.image_id(gone).is_none(), "{gone}: {}", run.stderr);
    }
}

#[test]
fn dangling_removes_old_states_and_builder_tags_and_keeps_releases() {
    let stack = E2eStack::new();
    stack.with_child("hello");
    let hello = stack.id("hello");
    let run = stack
        .command(&["build", &hello])
        .env("IMAGE_TAG", "2026.10")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Another IMAGE_TAG: everything again, and the old state loses its name.
    stack.gbb(&["build", &hello]).success();
    let identity = stack_label(&stack, "hello:latest");
    let untagged = || {
        docker(&[
            "images",
            "-q",
            "--filter",
            "dangling=true",
            "--filter",
            &format!("label=org.gentoo-bb.stack={identity}"),
        ])
    };
    assert!(!untagged().trim().is_empty(), "an old state without a name");
    assert!(stack.image_id("bob:2026.10").is_some());

    let run = stack.gbb(&["clean", "--dangling"]);
    run.success();
    assert!(run.stderr.contains("removed "), "{}", run.stderr);
    assert_eq!(untagged().trim(), "", "{}", run.stderr);
    assert!(
        stack.image_id("bob:2026.10").is_none(),
        "an old builder tag"
    );
    for kept in [
        "hello:2026.10",
        "hello:2026.11",
        "hello:latest",
        "bob:latest",
        "bob:2026.11",
        "bob-hello:latest",
    ] {
        assert!(stack.image_id(kept).is_some(), "{kept}: {}", run.stderr);
    }
    // What is left still builds without a step.
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert_eq!(run.result_of(&hello), "skipped");
}

/// The ids of the shared cores and stage3 imports (`gbb-core/...:<key>`).
fn shared_cores() -> Vec<String> {
    docker(&[
        "images",
        "--no-trunc",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ])
    .lines()
    .filter(|l| {
        (l.starts_with("gbb-core/") || l.starts_with("gbb-stage3/")) && !l.contains(":stack-")
    })
    .map(str::to_owned)
    .collect()
}

#[test]
fn clean_all_rebuilds_the_stacks_own_core_and_leaves_the_shared_ones() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.gbb(&["build", &hello]).success();
    let identity = stack_label(&stack, "hello:latest");
    let before = shared_cores();
    assert!(!before.is_empty());

    let run = stack.gbb(&["build", "-C", &hello]);
    run.success();
    let mine = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    for own in ["gbb-core", "gbb-stage3"] {
        assert!(
            mine.lines()
                .any(|l| l.starts_with(&format!("{own}/"))
                    && l.ends_with(&format!(":stack-{identity}"))),
            "{own}: {mine}"
        );
    }
    // Every shared name still points where it did (other stacks may have added their own).
    let after = shared_cores();
    for line in &before {
        assert!(after.contains(line), "{line} moved: {after:?}");
    }
    // The stack builds in its own core from now on, without a step.
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert_eq!(run.result_of(&hello), "skipped");

    // clean --images removes its own core and stage3, not the shared ones.
    stack.gbb(&["clean", "--images"]).success();
    let left = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        !left
            .lines()
            .any(|l| l.ends_with(&format!(":stack-{identity}"))),
        "{left}"
    );
    let after = shared_cores();
    for line in &before {
        assert!(after.contains(line), "{line} removed: {after:?}");
    }
}
