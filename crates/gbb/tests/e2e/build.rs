//! The example stack built for real: images that run, children without their parents' files,
//! minimal layers, and the rebuild rules.

use crate::harness::{E2eStack, docker, now};

/// The entries of a tar file.
fn tar_entries(path: &std::path::Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    tar::Archive::new(file)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn builds_runs_and_rebuilds_only_what_changed() {
    let stack = E2eStack::new();
    let ns = stack.ns.clone();

    // Cold: everything is built, and the final images run.
    let run = stack.gbb(&["build"]);
    run.success();
    for name in ["glibc", "greetlib", "greet", "greet-tools", "hello"] {
        assert_eq!(run.result_of(&stack.id(name)), "built", "{}", run.stderr);
    }
    assert_eq!(
        docker(&["run", "--rm", &stack.id("hello")]).trim(),
        "Hello from a static gentoo-bb image"
    );
    assert_eq!(
        docker(&["run", "--rm", &stack.id("greet"), "tests"]).trim(),
        "Hello, tests!"
    );
    assert_eq!(
        docker(&["run", "--rm", &stack.id("greet-tools"), "a"]).trim(),
        "Counting, a!"
    );
    assert!(
        stack.image_id("greet:2026.11").is_some(),
        "tagged with IMAGE_TAG too"
    );

    // A child's root holds only what it installed: libgreet comes from the parent image.
    let greet = tar_entries(&stack.output_dir("greet").join("rootfs.tar"));
    assert!(
        greet.iter().any(|e| e.ends_with("usr/bin/greet")),
        "{greet:?}"
    );
    assert!(!greet.iter().any(|e| e.contains("libgreet")), "{greet:?}");
    assert!(
        !greet.iter().any(|e| e.contains("greet-gen")),
        "build-only tools stay out: {greet:?}"
    );
    let greetlib = tar_entries(&stack.output_dir("greetlib").join("rootfs.tar"));
    assert!(
        greetlib
            .iter()
            .any(|e| e.ends_with("usr/lib/libgreet.so.1")),
        "{greetlib:?}"
    );
    let packages_md =
        std::fs::read_to_string(stack.image_dir("greet").join("PACKAGES.md")).unwrap();
    assert!(
        packages_md.contains("| app-misc/greet-1.0 |"),
        "{packages_md}"
    );
    assert!(
        packages_md.contains(&format!(
            "### from {ns}/greetlib\n\n- dev-libs/libgreet-1.0"
        )),
        "{packages_md}"
    );

    // Minimal: one layer with content over the parent, and the size is the parent's plus the
    // root file system's, within 1%.
    let layers = |image: &str| -> Vec<u64> {
        docker(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.Size}}",
            "--human=false",
            image,
        ])
        .lines()
        .map(|s| s.trim().parse().unwrap())
        .collect()
    };
    let parent_layers = layers(&stack.id("greetlib"));
    let child_layers = layers(&stack.id("greet"));
    let added: Vec<u64> = child_layers[..child_layers.len() - parent_layers.len()].to_vec();
    assert_eq!(added.iter().filter(|&&s| s > 0).count(), 1, "{added:?}");
    let size = |image: &str| -> f64 {
        docker(&["image", "inspect", "--format", "{{.Size}}", image])
            .trim()
            .parse()
            .unwrap()
    };
    let rootfs = std::fs::metadata(stack.output_dir("greet").join("rootfs.tar"))
        .unwrap()
        .len() as f64;
    let expected = size(&stack.id("greetlib")) + rootfs;
    let actual = size(&stack.id("greet"));
    assert!(
        (actual - expected).abs() / expected < 0.01,
        "greet is {actual} bytes, parent + rootfs.tar {expected}"
    );

    // Unchanged: everything is skipped and no container starts.
    let since = now();
    let run = stack.gbb(&["build"]);
    run.success();
    for name in ["glibc", "greetlib", "greet", "greet-tools", "hello"] {
        assert!(
            run.result_of(&stack.id(name)).starts_with("skipped"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        stack.containers_created(since, now() + 1),
        0,
        "an unchanged build starts no container"
    );

    // An edited build.sh rebuilds exactly that image and its descendants.
    let script = stack.image_dir("greetlib").join("build.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, format!("{text}\n# edited\n")).unwrap();
    let run = stack.gbb(&["build"]);
    run.success();
    for (name, expected) in [
        ("glibc", "skipped"),
        ("greetlib", "built"),
        ("greet", "built"),
        ("greet-tools", "built"),
        ("hello", "skipped"),
    ] {
        assert!(
            run.result_of(&stack.id(name)).starts_with(expected),
            "{name}: {}",
            run.stderr
        );
    }

    // -F redoes phase 1, from binary packages only: nothing is compiled again.
    let run = stack.gbb(&["build", "-F", &stack.id("greet")]);
    run.success();
    assert_eq!(run.result_of(&stack.id("greet")), "built");
    let log = stack.log("greet");
    let emerges: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(">>> Emerging"))
        .collect();
    assert!(!emerges.is_empty(), "{log}");
    assert!(
        emerges.iter().all(|l| l.starts_with(">>> Emerging binary")),
        "{emerges:?}"
    );
    assert_eq!(
        docker(&["run", "--rm", &stack.id("greet"), "again"]).trim(),
        "Hello, again!"
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}
