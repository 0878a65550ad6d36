//! An image that cannot run is caught at build time (issue 15): after phase 1 gbb checks that
//! every program of the new root can be loaded over its ancestors' files, and fails the step
//! before anything is tagged when one cannot.

use crate::harness::{E2eStack, docker};

/// Writes an image folder: `build.conf` with `parent` (and `conf`, more lines), `build.sh`
/// with `packages` (and `script`, more lines) and a template that runs `entrypoint`.
fn image(stack: &E2eStack, name: &str, parent: &str, packages: &str, conf: &str, script: &str) {
    stack.write(
        name,
        "build.conf",
        &format!("IMAGE_PARENT=\"{parent}\"\n{conf}"),
    );
    stack.write(
        name,
        "build.sh",
        &format!("_packages=\"{packages}\"\n{script}"),
    );
    stack.write(
        name,
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n",
    );
}

/// The ELF files a kept `files.json` lists.
fn indexed_elf_files(stack: &E2eStack, name: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(stack.output_dir(name).join("files.json")).unwrap_or_default();
    let index: serde_json::Value = serde_json::from_str(&text).expect("files.json is JSON");
    index["files"]
        .as_object()
        .expect("an index has files")
        .iter()
        .filter(|(_, entry)| entry.get("elf").is_some())
        .map(|(path, _)| path.clone())
        .collect()
}

/// A dynamically linked program on `scratch` fails with the program and `libc.so.6` named,
/// exit code 1, nothing tagged (the image built earlier on glibc stays as it was), no
/// container left; on the glibc image it builds and runs. `gbb check` says the same of the
/// built image without building.
#[test]
fn a_dynamic_program_on_scratch_fails_and_on_glibc_runs() {
    let stack = E2eStack::new();
    let app = stack.id("app");
    let glibc = stack.id("glibc");
    // A hook plants an index of its own; gbb's replaces it.
    let plant = "finish_rootfs_build() {\n  echo '{\"format\":\"gbb-file-index\",\"version\":1,\"files\":{}}' > \"${GBB_OUT:-/gbb-out}/files.json\"\n}\n";
    image(&stack, "app", &glibc, "app-misc/greet", "", plant);
    // So that app keeps a state, which its failure must leave as it was.
    stack.with_child("app");
    stack.gbb(&["build", &app]).success();
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            "--entrypoint",
            "/usr/bin/greet",
            &app,
            "loader"
        ])
        .trim(),
        "Hello, loader!"
    );
    let log = stack.log("app");
    assert!(
        log.contains("gbb: every program of the image can be loaded ("),
        "{log}"
    );
    let indexed = indexed_elf_files(&stack, "app");
    assert!(
        indexed.contains(&"/usr/bin/greet".to_owned()),
        "gbb's own index is kept, not the planted one: {indexed:?}"
    );
    let check = stack.gbb(&["check", &app]);
    assert!(
        !check.stdout.contains("cannot load"),
        "{}\n{}",
        check.stdout,
        check.stderr
    );

    let image_before = stack.image_id("app:latest").expect("app is tagged");
    let state_before = stack
        .image_id("bob-app:latest")
        .expect("its state is tagged");
    let index_before = std::fs::read(stack.output_dir("app").join("files.json")).unwrap();

    // The same program on scratch: no C library, no loader.
    stack.write("app", "build.conf", "IMAGE_PARENT=\"scratch\"\n");
    let run = stack.gbb(&["build", &app]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.result_of(&app), "failed", "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with("`/usr/bin/greet`:"))
        .unwrap_or_else(|| panic!("no line for the program:\n{}", run.stderr));
    assert!(line.contains("`libc.so.6`"), "{line}");
    assert!(
        line.contains("loader `/lib64/ld-linux-x86-64.so.2`"),
        "{line}"
    );
    assert!(
        line.contains(&format!("`IMAGE_PARENT={glibc}` provides them")),
        "the built glibc image is named: {line}"
    );
    assert!(
        run.stderr.contains("so the image was not tagged"),
        "{}",
        run.stderr
    );
    assert_eq!(stack.image_id("app:latest"), Some(image_before));
    assert_eq!(stack.image_id("bob-app:latest"), Some(state_before));
    assert_eq!(stack.image_id("app:gbb-candidate"), None);
    assert_eq!(stack.image_id("bob-app:gbb-candidate"), None);
    assert_eq!(stack.containers(), Vec::<String>::new());
    assert_eq!(
        std::fs::read(stack.output_dir("app").join("files.json")).unwrap(),
        index_before,
        "the kept outputs are the last good build's"
    );

    // `gbb check` reads the kept index over the ancestors the stack names now: none.
    let check = stack.gbb(&["check", &app]);
    assert_eq!(check.code, Some(1), "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains(&format!(
            "the built image `{app}` cannot load `/usr/bin/greet`: loader `/lib64/ld-linux-x86-64.so.2` and `libc.so.6` not found"
        )),
        "{}",
        check.stdout
    );
}

/// A library of the grandparent is found (greet's C library is in glibc, under greetlib); a
/// run path of `$ORIGIN/../lib` is followed from the program's folder; a program moved away
/// from its library fails, and passes once waived (in `build.sh`, then in `build.conf`).
#[test]
fn grandparents_origin_run_paths_and_waivers() {
    let stack = E2eStack::new();
    let greet = stack.id("greet");
    let glibc = stack.id("glibc");
    stack.gbb(&["build", &greet]).success();
    assert_eq!(
        docker(&["run", "--rm", &greet, "grandparent"]).trim(),
        "Hello, grandparent!"
    );
    let log = stack.log("greet");
    assert!(log.contains("checked over 2 ancestor images in"), "{log}");

    // $ORIGIN: the library is in /opt/hello-origin/lib, which no default path names.
    let origin = stack.id("origin");
    image(&stack, "origin", &glibc, "app-misc/hello-origin", "", "");
    stack.gbb(&["build", &origin]).success();
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            "--entrypoint",
            "/opt/hello-origin/bin/hello-origin",
            &origin
        ])
        .trim(),
        "Hello from a library found through $ORIGIN"
    );

    // Moved to /usr/bin, `$ORIGIN/../lib` is /usr/lib: the library is not found.
    let moved = stack.id("moved");
    let move_it = "finish_rootfs_build() {\n  mkdir -p \"${EMERGE_ROOT}/usr/bin\"\n  mv \"${EMERGE_ROOT}/opt/hello-origin/bin/hello-origin\" \"${EMERGE_ROOT}/usr/bin/\"\n}\n";
    image(
        &stack,
        "moved",
        &glibc,
        "app-misc/hello-origin",
        "",
        move_it,
    );
    let run = stack.gbb(&["build", &moved]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "`/usr/bin/hello-origin`: `libhello-origin.so.1` not found (the image has `/opt/hello-origin/lib/libhello-origin.so.1`, where the loader does not look)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(stack.image_id("moved:latest"), None);

    // Waived in build.sh: it passes, and is tagged.
    image(
        &stack,
        "moved",
        &glibc,
        "app-misc/hello-origin",
        "",
        &format!("_allow_missing_libs=\"/usr/bin/hello-origin\"\n{move_it}"),
    );
    stack.gbb(&["build", &moved]).success();
    let first = stack.image_id("moved:latest").expect("tagged once waived");

    // Waived in build.conf, with a glob: it passes as well.
    image(
        &stack,
        "moved",
        &glibc,
        "app-misc/hello-origin",
        "ALLOW_MISSING_LIBS=\"/usr/bin/hello-*\"\n",
        move_it,
    );
    stack.gbb(&["build", &moved]).success();
    assert_ne!(stack.image_id("moved:latest"), Some(first), "built again");

    // A bad pattern is refused when the stack is read, at its line.
    stack.write(
        "moved",
        "build.conf",
        &format!("IMAGE_PARENT=\"{glibc}\"\n\nALLOW_MISSING_LIBS=\"/usr/bin/[x\"\n"),
    );
    let run = stack.gbb(&["build", &moved]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("ALLOW_MISSING_LIBS at ")
            && run.stderr.contains(
                "/images/moved/build.conf:3:1: `/usr/bin/[x` is not a valid path pattern"
            ),
        "{}",
        run.stderr
    );
}
