//! `gbb sbom`: the kept document printed byte for byte, and the refusals (an image that is not
//! built, whose outputs are incomplete, a builder, a namespace, an unknown id, an unknown
//! format). The documents themselves are made by real builds: see the e2e test `sbom`.

use insta::assert_snapshot;

use crate::harness::{TestStack, small_stack};

/// `small_stack` with kept outputs of `ns/app` as a build leaves them.
fn built_app() -> TestStack {
    small_stack()
        .file(".gbb/build/ns/app/key", "0123abcd")
        .file(
            ".gbb/build/ns/app/sbom.spdx.json",
            "{\"spdxVersion\": \"SPDX-2.3\"}\n",
        )
        .file(
            ".gbb/build/ns/app/sbom.cdx.json",
            "{\"bomFormat\": \"CycloneDX\"}\n",
        )
}

#[test]
fn prints_the_kept_document() {
    let stack = built_app();
    let run = stack.gbb(&["sbom", "ns/app"]);
    run.success();
    assert_eq!(run.stdout, "{\"spdxVersion\": \"SPDX-2.3\"}\n");
    assert_eq!(run.stderr, "");
    let run = stack.gbb(&["sbom", "ns/app", "--format", "cyclonedx"]);
    run.success();
    assert_eq!(run.stdout, "{\"bomFormat\": \"CycloneDX\"}\n");
}

#[test]
fn an_image_that_is_not_built_is_refused() {
    let run = small_stack().gbb(&["sbom", "ns/app"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: `ns/app` has no SBOM: `.gbb/build/ns/app/sbom.spdx.json` is missing; build it with `gbb build ns/app` (`-F` for an image built by a gbb without SBOMs, and for its parents)
    ");
}

#[test]
fn outputs_without_their_key_are_refused() {
    // A build stopped while replacing the outputs: the document may not match the image.
    let stack = built_app();
    std::fs::remove_file(stack.path().join(".gbb/build/ns/app/key")).unwrap();
    let run = stack.gbb(&["sbom", "ns/app", "--format", "cyclonedx"]);
    run.refused();
    assert!(
        run.stderr.contains("`ns/app` has no SBOM: `") && run.stderr.contains("sbom.cdx.json"),
        "{}",
        run.all()
    );
}

#[test]
fn builders_namespaces_and_unknown_ids_are_refused() {
    let stack = built_app();
    let run = stack.gbb(&["sbom", "ns/bob"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: `ns/bob` is a builder; only images have an SBOM
    ");
    let run = stack.gbb(&["sbom", "ns"]);
    run.refused();
    assert_snapshot!(run.all(), @r"
    exit: 2
    --- stdout
    --- stderr
    error: `ns` names a namespace; give one image id
    ");
    let run = stack.gbb(&["sbom", "ns/ap"]);
    run.refused();
    assert!(
        run.stderr.contains("did you mean `ns/app`?"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["sbom", "ns/app", "--format", "xml"]);
    run.refused();
    assert!(run.stderr.contains("invalid value 'xml'"), "{}", run.all());
}
