//! Why a step is built, as gbb says it: `gbb plan --status` before building, and the WHY
//! column of `gbb build`'s summary.

use crate::harness::E2eStack;

/// The plan table with the test's own names (its namespace, the build root's file name, which
/// names the core) made stable, and its columns separated by `|` (their widths follow the
/// names' lengths).
fn stable(stack: &E2eStack, text: &str) -> String {
    let build_root = stack
        .build_root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    text.replace(&stack.ns, "ns")
        .replace(&build_root, "<build root>")
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn plan_status_names_the_edited_file_and_parent_rebuilt_for_children() {
    let stack = E2eStack::new();
    let greet = stack.id("greet");

    // Before building: every builder and image is new (the shared core may exist already,
    // made by another test or stack).
    let before = stack.gbb(&["plan", "--status", &greet]);
    before.success();
    let rows: Vec<&str> = before
        .stdout
        .lines()
        .filter(|line| line.contains(&stack.ns) && !line.contains(" core "))
        .collect();
    assert_eq!(rows.len(), 4, "{}", before.stdout);
    assert!(
        rows.iter().all(|row| row.ends_with("not built yet")),
        "{}",
        before.stdout
    );

    stack.gbb(&["build", &greet]).success();
    let built = stack.gbb(&["plan", "--status", &greet]);
    built.success();
    insta::assert_snapshot!("status_after_building", stable(&stack, &built.stdout));

    // One file of one image edited: that image names it, its children say their parent.
    let script = stack.image_dir("greetlib").join("build.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, format!("{text}\n# edited by the test\n")).unwrap();
    let edited = stack.gbb(&["plan", "--status", &greet]);
    edited.success();
    insta::assert_snapshot!("status_after_an_edit", stable(&stack, &edited.stdout));

    // The build's summary says the same.
    let run = stack.gbb(&["build", &greet]);
    run.success();
    let why = |id: &str| {
        run.stderr
            .lines()
            .rev()
            .find(|line| line.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no summary row for {id}:\n{}", run.stderr))
            .to_owned()
    };
    assert!(
        why(&stack.id("greetlib")).ends_with("build.sh changed"),
        "{}",
        run.stderr
    );
    assert!(why(&greet).ends_with("parent rebuilt"), "{}", run.stderr);
}
