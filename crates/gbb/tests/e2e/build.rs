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
    for name in [
        "busybox",
        "glibc",
        "greetlib",
        "greet",
        "greet-tools",
        "hello",
    ] {
        assert_eq!(run.result_of(&stack.id(name)), "built", "{}", run.stderr);
        // Each image's programs were checked for their loader and libraries (issue 15).
        let log = stack.log(name);
        assert!(
            log.contains("gbb: every program of the image can be loaded ("),
            "{name}: {log}"
        );
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
        ("busybox", "skipped"),
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

#[test]
fn force_flags_rebuild_down_to_their_level() {
    let stack = E2eStack::new();
    // So that hello keeps a state, which -f keeps and -F makes again.
    stack.with_child("hello");
    let hello = stack.id("hello");
    let bob = stack.id("bob");
    let run = stack.gbb(&["build", &hello]);
    run.success();
    // The core is named after the build root's file name.
    let core = run
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("core:"))
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    let core = core.as_str();
    let state = |stack: &E2eStack| stack.image_id("bob-hello:latest").unwrap();
    let first_state = state(&stack);

    // -f: phase 2 only; the kept state from phase 1 stays as it was.
    let run = stack.gbb(&["build", "-f", &hello]);
    run.success();
    assert_eq!(
        (
            run.result_of(core),
            run.result_of(&bob),
            run.result_of(&hello).as_str()
        ),
        ("skipped".into(), "skipped".into(), "built")
    );
    assert!(
        run.stderr.contains(&format!("==> {hello}: phase 2")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&format!("==> {hello}: phase 1")),
        "{}",
        run.stderr
    );
    assert_eq!(state(&stack), first_state);

    // -F: phase 1 too.
    let run = stack.gbb(&["build", "-F", &hello]);
    run.success();
    assert!(
        run.stderr.contains(&format!("==> {hello}: phase 1")),
        "{}",
        run.stderr
    );
    assert_ne!(state(&stack), first_state);

    // -c: builders too, not the core.
    let run = stack.gbb(&["build", "-c", &hello]);
    run.success();
    assert_eq!(
        (
            run.result_of(core),
            run.result_of(&bob),
            run.result_of(&hello).as_str()
        ),
        ("skipped".into(), "built".into(), "built")
    );

    // -C: everything, down to the stage3 import.
    let run = stack.gbb(&["build", "-C", &hello]);
    run.success();
    assert_eq!(run.result_of(core), "built");
    assert!(run.stderr.contains("importing"), "{}", run.stderr);
    assert_eq!(
        docker(&["run", "--rm", &hello]).trim(),
        "Hello from a static gentoo-bb image"
    );
}

/// Every helper of the brief's section 6, called from hooks the way build.sh files do, each
/// followed by a check of its effect inside the container (a failed check fails the build).
#[test]
fn helpers_work_in_hooks() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write("hello", "fix.patch", PATCH);
    stack.write(
        "hello",
        "build.sh",
        r#"_packages="app-misc/hello-static dev-util/greet-gen"

check() { "$@" || { echo "check failed: $*"; exit 1; }; }

configure_builder() {
    check test "$ROOT" != /emerge-root
}

configure_rootfs_build() {
    check test "$ROOT" = /emerge-root
    update_use 'app-misc/hello-static' '+static' '-doc'
    check grep -qx 'app-misc/hello-static static -doc' /etc/portage/package.use/gbb
    update_keywords 'app-misc/hello-static' '+~amd64'
    check grep -qx 'app-misc/hello-static ~amd64' /etc/portage/package.accept_keywords/gbb
    mask_package '>=app-misc/greet-2'
    check grep -qx '>=app-misc/greet-2' /etc/portage/package.mask/gbb
    unmask_package 'app-misc/greet'
    check grep -qx 'app-misc/greet' /etc/portage/package.unmask/gbb
    provide_package 'sys-apps/fake-1.0' 'sys-apps/other-2'
    check grep -qx 'sys-apps/fake-1.0' /etc/portage/profile/package.provided
    unprovide_package 'sys-apps/other'
    check bash -c '! grep -q sys-apps/other /etc/portage/profile/package.provided'
    add_patch 'app-misc/hello-static' fix.patch
    check test -f /etc/portage/patches/app-misc/hello-static/fix.patch
    mkdir -p /tmp/overlay/profiles /tmp/overlay/metadata
    echo extra > /tmp/overlay/profiles/repo_name
    echo 'masters = gentoo' > /tmp/overlay/metadata/layout.conf
    add_overlay extra /tmp/overlay
    check grep -q 'location = /tmp/overlay' /etc/portage/repos.conf/extra.conf
    local fetched
    fetched=$(download_file file:///config/fix.patch "fetched-${GBB_ID//\//-}.patch")
    check cmp "$fetched" /config/fix.patch
    log_as_installed manual thing 1.0
}

finish_rootfs_build() {
    check test -x "$EMERGE_ROOT/bin/hello"
    copy_gcc_libs
    check test -f "$EMERGE_ROOT/${_LIB}/libgcc_s.so.1"
    check test -x "$EMERGE_ROOT/usr/bin/greet-gen"
    uninstall_package dev-util/greet-gen
    check test ! -e "$EMERGE_ROOT/usr/bin/greet-gen"
}
"#,
    );
    let run = stack.gbb(&["build", &hello]);
    run.success();
    let log = stack.log("hello");
    assert!(!log.contains("check failed"), "{log}");
    for step in [
        "configure_builder",
        "configure_rootfs_build",
        "finish_rootfs_build",
    ] {
        assert!(
            log.contains(&format!("::gbb:: step {step}")),
            "{step} ran: {log}"
        );
    }
    let packages = std::fs::read_to_string(stack.image_dir("hello").join("PACKAGES.md")).unwrap();
    // kubler's columns: `*GROUP*: NAME`, then INFO where packages show their USE flags.
    assert!(packages.contains("| *manual*: thing | 1.0 |"), "{packages}");
    // add_patch: the program was built with the user patch.
    assert_eq!(
        docker(&["run", "--rm", &hello]).trim(),
        "Hello from a patched gentoo-bb image"
    );
}

/// A user patch for hello-static's source (Portage's /etc/portage/patches).
const PATCH: &str = "\
--- a/hello.c
+++ b/hello.c
@@ -11,6 +11,6 @@
 		for (;;)
 			pause();
 	}
-	printf(\"Hello from a static gentoo-bb image%s%s\\n\", argc > 1 ? \", \" : \"\", argc > 1 ? argv[1] : \"\");
+	printf(\"Hello from a patched gentoo-bb image%s%s\\n\", argc > 1 ? \", \" : \"\", argc > 1 ? argv[1] : \"\");
 	return 0;
 }
";
